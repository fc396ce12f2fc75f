"""AUU barème: amounts as ranges for the answers, from data/eligibility/auu_bareme.yml.

The formula (CASF D. 214-14): RSA lump sum x household coefficient x a rate set
by the victim's own resources. The CAF computes the real figure; we only show
ranges « environ », naming the period the figures are for. The reference date
is always passed in: past the last period, the wording says it is the last
known barème instead of silently presenting it as current.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.loader import KnowledgeError

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


@dataclass(frozen=True)
class Parameter:
    """One value of the barème with where it comes from."""

    value: float
    source_title: str
    source_url: str
    reliability: str


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
    expired: bool = False  # the reference date is past this period's end
    parameters: tuple[tuple[str, Parameter], ...] = ()

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

    def period_phrase(self) -> str:
        """How an answer names the figures' period: current, or the last one known."""
        if self.expired:
            short = f"{MONTHS[self.debut.month - 1]} {self.debut.year} – {MONTHS[self.fin.month - 1]} {self.fin.year}"
            return f"selon le dernier barème connu ({short})"
        return (
            f"selon le barème d'{self.period_label()}"
            if self.debut.month in (4, 8, 10)
            else f"selon le barème de {self.period_label()}"
        )


def euros(value: float) -> str:
    """1422.34 -> '1 422 €' (rounded to the euro: these are estimates)."""
    return f"{round(value):,}".replace(",", "\u202f") + "\u00a0€"


@lru_cache(maxsize=8)
def _periods(path: str, mtime: float) -> tuple[dict[str, Any], ...]:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    periods = sorted(doc["periodes"], key=lambda p: p["debut"])
    if not periods:
        raise KnowledgeError(f"{path}: aucune période de barème")
    return tuple(periods)


def _parameter(period: dict[str, Any], key: str, source_key: str) -> Parameter:
    src = period.get(source_key) or period.get("source") or {}
    return Parameter(
        float(period[key]),
        str(src.get("title", "")),
        str(src.get("url", "")),
        str(src.get("reliability") or period.get("reliability") or ""),
    )


def load_bareme(path: Path, on: dt.date) -> Bareme:
    """The period in force on `on`; past the last period's end, that one marked `expired`.

    `on` has no default on purpose: the caller's clock decides, tests pass a fixed date.
    A date before the first period is an error, not a guess.
    """
    if not isinstance(on, dt.date):
        raise TypeError("load_bareme needs the reference date")
    path = Path(path)
    periods = _periods(str(path), path.stat().st_mtime)
    if on < periods[0]["debut"]:
        raise KnowledgeError(f"{path}: aucun barème pour le {on.isoformat()}")
    current = next((p for p in periods if p["debut"] <= on <= p["fin"]), None)
    chosen = current or [p for p in periods if p["debut"] <= on][-1]
    return Bareme(
        debut=chosen["debut"],
        fin=chosen["fin"],
        rsa_base=float(chosen["rsa_montant_forfaitaire"]),
        smic_net=float(chosen["smic_net_mensuel"]),
        coefficients=tuple(float(c) for c in chosen["coefficients_foyer"]),
        extra_child_coefficient=float(chosen["coefficient_enfant_supplementaire"]),
        rates=tuple((r["jusqu_a_smic"], float(r["taux"])) for r in chosen["taux_par_ressources"]),
        loan_thresholds_smic=tuple(float(s) for s in chosen["seuils_pret_smic"]),
        expired=current is None,
        parameters=(
            ("rsa_montant_forfaitaire", _parameter(chosen, "rsa_montant_forfaitaire", "source_rsa")),
            ("smic_net_mensuel", _parameter(chosen, "smic_net_mensuel", "source_smic")),
        ),
    )


def bareme_warnings(path: Path, on: dt.date) -> list[str]:
    """What check-knowledge says without failing: an expired period, an unconfirmed value."""
    bareme = load_bareme(path, on)
    warnings = []
    if bareme.expired:
        warnings.append(
            f"barème AUU expiré le {bareme.fin.isoformat()} : ajoutez la période suivante "
            f"(les réponses disent « {bareme.period_phrase()} »)"
        )
    for name, param in bareme.parameters:
        if param.reliability != "officiel":
            warnings.append(
                f"barème AUU {bareme.period_label()} : {name} = {param.value} "
                f"est « {param.reliability} » ({param.source_title})"
            )
    return warnings


def placeholders(bareme: Bareme) -> dict[str, str]:
    """Values the knowledge answers may use, e.g. {auu_seul_min}."""
    seul_min, seul_max = bareme.amount_range(0)
    values = {
        "auu_periode": bareme.period_label(),
        "auu_bareme": bareme.period_phrase(),
        "auu_seul_min": euros(seul_min),
        "auu_seul_max": euros(seul_max),
        "smic_net": euros(bareme.smic_net),
    }
    for n, label in ((1, "1enfant"), (2, "2enfants"), (3, "3enfants")):
        values[f"auu_{label}_max"] = euros(bareme.amount_range(n)[1])
    for n, label in ((0, "seul"), (1, "1enfant"), (2, "2enfants"), (3, "3enfants")):
        values[f"pret_seuil_{label}"] = euros(bareme.loan_threshold(n))
    return values
