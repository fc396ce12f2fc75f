"""AUU barème: amounts as ranges for the answers, from data/eligibility/auu_bareme.yml.

The formula (CASF D. 214-14): RSA lump sum x household coefficient x a rate set
by the victim's own resources. The CAF computes the real figure; we only show
ranges, for the period the data holds for.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import yaml

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")


@dataclass(frozen=True)
class Bareme:
    debut: dt.date
    fin: dt.date
    rsa_base: float
    smic_net: float
    coefficients: tuple[float, ...]
    extra_child_coefficient: float
    rates: tuple[tuple[float | None, float], ...]  # (upper bound in Smic or None, rate)
    loan_thresholds_smic: tuple[float, ...]

    def coefficient(self, children: int) -> float:
        if children < len(self.coefficients):
            return self.coefficients[children]
        extra = children - (len(self.coefficients) - 1)
        return self.coefficients[-1] + extra * self.extra_child_coefficient

    def full_amount(self, children: int) -> float:
        return self.rsa_base * self.coefficient(children)

    def amount_range(self, children: int) -> tuple[float, float]:
        full = self.full_amount(children)
        rates = [rate for _, rate in self.rates]
        return full * min(rates), full * max(rates)

    def rate(self, income: float) -> float:
        """The share of the full amount for her own monthly net resources."""
        for bound, rate in self.rates:
            if bound is None or income <= bound * self.smic_net:
                return rate
        return self.rates[-1][1]

    def amount(self, children: int, income: float) -> float:
        return self.full_amount(children) * self.rate(income)

    def loan_threshold(self, children: int) -> float:
        index = min(children, len(self.loan_thresholds_smic) - 1)
        return self.loan_thresholds_smic[index] * self.smic_net

    def period_label(self) -> str:
        return f"{MONTHS[self.debut.month - 1]} {self.debut.year} à {MONTHS[self.fin.month - 1]} {self.fin.year}"


def euros(value: float) -> str:
    """1422.34 -> '1 422 €' (rounded to the euro: these are estimates)."""
    return f"{round(value):,}".replace(",", "\u202f") + "\u00a0€"


def load_bareme(path: Path, on: dt.date | None = None) -> Bareme:
    """The period in force on `on`; past its end, the latest one (answers say which period)."""
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    periods = sorted(doc["periodes"], key=lambda p: p["debut"])
    on = on or dt.date.today()
    chosen = next((p for p in periods if p["debut"] <= on <= p["fin"]), periods[-1])
    return Bareme(
        debut=chosen["debut"], fin=chosen["fin"],
        rsa_base=float(chosen["rsa_montant_forfaitaire"]),
        smic_net=float(chosen["smic_net_mensuel"]),
        coefficients=tuple(float(c) for c in chosen["coefficients_foyer"]),
        extra_child_coefficient=float(chosen["coefficient_enfant_supplementaire"]),
        rates=tuple((r["jusqu_a_smic"], float(r["taux"])) for r in chosen["taux_par_ressources"]),
        loan_thresholds_smic=tuple(float(s) for s in chosen["seuils_pret_smic"]),
    )


def placeholders(bareme: Bareme) -> dict[str, str]:
    """Values the knowledge answers may use, e.g. {auu_seul_min}."""
    seul_min, seul_max = bareme.amount_range(0)
    values = {
        "auu_periode": bareme.period_label(),
        "auu_seul_min": euros(seul_min),
        "auu_seul_max": euros(seul_max),
        "smic_net": euros(bareme.smic_net),
    }
    for n, label in ((1, "1enfant"), (2, "2enfants"), (3, "3enfants")):
        values[f"auu_{label}_max"] = euros(bareme.amount_range(n)[1])
    for n, label in ((0, "seul"), (1, "1enfant"), (2, "2enfants"), (3, "3enfants")):
        values[f"pret_seuil_{label}"] = euros(bareme.loan_threshold(n))
    return values
