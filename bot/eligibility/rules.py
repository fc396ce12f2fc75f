"""The rules engine: a situation in, an outcome per measure out, with its reasons.

Parameters and wording come from data (regles.yml, auu_bareme.yml, the
territories); this module only decides which text applies. Never a promise:
an outcome is « probablement éligible », « pas éligible en l'état » or
« à vérifier », and amounts are estimates the CAF makes final.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.eligibility.loader import RuleSet
from bot.eligibility.questions import Situation, proof_age
from bot.knowledge.amounts import Bareme, euros
from bot.knowledge.territory import ABSENT, ACTIVE, ANNOUNCED, OUT_OF_SCOPE, SETTING_UP, Territories

PROBABLE, NOT_NOW, TO_CHECK = "probablement_eligible", "pas_eligible", "a_verifier"


@dataclass(frozen=True)
class Finding:
    """One sentence of a result: a text id of regles.yml and its values."""

    text_id: str
    values: tuple[tuple[str, str], ...] = ()


def _f(text_id: str, **values: str) -> Finding:
    return Finding(text_id, tuple(sorted(values.items())))


@dataclass(frozen=True)
class Estimate:
    """AUU amount range in euros and whether it would be a loan (None: it depends)."""

    low: float
    high: float
    loan: bool | None
    period: str


@dataclass(frozen=True)
class MeasureResult:
    measure: str
    outcome: str
    reasons: tuple[Finding, ...]
    steps: tuple[Finding, ...]
    estimate: Estimate | None = None

    def text_ids(self) -> list[str]:
        return [f.text_id for f in self.reasons + self.steps]


@dataclass(frozen=True)
class Context:
    rules: RuleSet
    bareme: Bareme
    territories: Territories
    today: dt.date = field(default_factory=dt.date.today)

    def place_label(self, code: str) -> str:
        dep = self.territories.by_code.get(code)
        return dep.label if dep else code

    def pack_status(self, code: str | None) -> str | None:
        dep = self.territories.by_code.get(code) if code else None
        return self.territories.pack_status(dep).statut if dep else None


def evaluate(measures: tuple[str, ...], situation: Situation, ctx: Context) -> list[MeasureResult]:
    """Results for the requested measures, in the summary's order."""
    evaluators = {
        "hebergement_urgence": _shelter,
        "pack": _pack,
        "auu": _auu,
        "logement": _housing,
        "garde": _childcare,
        "emploi": _job,
        "psy": _psy,
    }
    return [evaluators[m](situation, ctx) for m in ctx.rules.measures if m in measures]


def _result(
    measure: str, outcome: str, reasons: list[Finding], steps: list[Finding], estimate: Estimate | None = None
) -> MeasureResult:
    return MeasureResult(measure, outcome, tuple(reasons), tuple(steps), estimate)


# -- each measure ------------------------------------------------------------
def _shelter(s: Situation, ctx: Context) -> MeasureResult:
    # The 115 is unconditional: the answer only changes what to do now.
    if s.abri_ce_soir == "non":
        return _result("hebergement_urgence", PROBABLE, [_f("sans_abri")], [_f("etape_maintenant")])
    if s.abri_ce_soir == "oui":
        return _result("hebergement_urgence", PROBABLE, [_f("abri")], [_f("etape_plus_tard")])
    return _result("hebergement_urgence", PROBABLE, [_f("abri_inconnu")], [_f("etape_plus_tard")])


def _pack(s: Situation, ctx: Context) -> MeasureResult:
    status = ctx.pack_status(s.departement)
    if status is None:
        return _result("pack", TO_CHECK, [_f("lieu_inconnu"), _f("sans_plainte")], [_f("etape_lieu")])
    place = ctx.place_label(s.departement or "")
    if status == ACTIVE:
        return _result("pack", PROBABLE, [_f("actif", departement=place), _f("sans_plainte")], [_f("etape_entrer")])
    if status == SETTING_UP:
        return _result(
            "pack", TO_CHECK, [_f("mise_en_place", departement=place), _f("sans_plainte")], [_f("etape_ailleurs")]
        )
    text_id = {ANNOUNCED: "annonce", ABSENT: "absent", OUT_OF_SCOPE: "hors_champ"}[status]
    return _result("pack", NOT_NOW, [_f(text_id, departement=place)], [_f("etape_ailleurs")])


def _auu(s: Situation, ctx: Context) -> MeasureResult:
    code = s.departement or ""
    help_here = ctx.territories.local_help.get(code)
    if help_here is not None:
        # Own social system (Nouvelle-Calédonie, Polynésie, Wallis-et-Futuna): no AUU, never an amount.
        return _result(
            "auu",
            NOT_NOW,
            [_f("hors_champ", departement=ctx.place_label(code))],
            [_f("etape_hors_champ", numeros=help_here.numeros)],
        )
    params = ctx.rules.measures["auu"].params
    labels = ctx.rules.measures["auu"].proof_labels
    blockers: list[Finding] = []
    unknowns: list[Finding] = []
    fine: list[Finding] = []

    if s.relation is None:
        unknowns.append(_f("relation_inconnue"))
    elif s.relation in params["relations_couvertes"]:
        fine.append(_f("relation_ok"))
    else:
        blockers.append(_f("relation_autre"))

    proof_step = False
    if s.preuve is None:
        unknowns.append(_f("preuve_inconnue"))
    elif s.preuve in params["preuves_valables"]:
        label = labels[s.preuve]
        age = proof_age(s.date_preuve, ctx.today, params["validite_preuve_mois"]) if s.date_preuve else None
        if age == "recente":
            fine.append(_f("preuve_ok", preuve=label))
        elif age == "ancienne":
            blockers.append(_f("preuve_ancienne", preuve=label))
            proof_step = True
        else:
            unknowns.append(_f("preuve_date_inconnue", preuve=label))
    else:
        blockers.append(_f("preuve_main_courante" if s.preuve == "main_courante" else "preuve_aucune"))
        proof_step = True

    if s.sejour is None:
        unknowns.append(_f("sejour_inconnu"))
    elif s.sejour == "oui":
        fine.append(_f("sejour_ok"))
    else:
        blockers.append(_f("sejour_non"))

    if s.auu_recue is None:
        unknowns.append(_f("recue_inconnue"))
    elif s.auu_recue == "non":
        fine.append(_f("pas_recue"))
    else:
        blockers.append(_f("deja_recue"))

    if blockers:
        steps = ([_f("etape_preuve")] if proof_step else []) + [_f("etape_autres_aides")]
        return _result("auu", NOT_NOW, blockers + unknowns, steps)
    if code in ctx.territories.cssm:
        # Mayotte: the CSSM's own barème, which we do not have: no national amount.
        estimate, amount_findings = None, [_f("mayotte_montant")]
        apply_step = _f("etape_demander_mayotte")
    else:
        estimate, amount_findings = _auu_estimate(s, ctx)
        apply_step = _f("etape_demander")
    if unknowns:
        return _result("auu", TO_CHECK, unknowns + fine + amount_findings, [_f("etape_verifier")], estimate)
    return _result("auu", PROBABLE, fine + amount_findings, [apply_step], estimate)


def _auu_estimate(s: Situation, ctx: Context) -> tuple[Estimate, list[Finding]]:
    b = ctx.bareme
    age_limit = ctx.rules.measures["auu"].params["age_max_enfant_ans"]
    findings: list[Finding] = []
    if s.enfants is None:
        children = 0
        findings.append(_f("enfants_inconnus"))
    else:
        under = s.enfants.under(age_limit)
        children = s.enfants.count if under is None else under  # ages not all given: all counted
    period = b.period_phrase()
    threshold = b.loan_threshold(children)
    if s.revenus is None:
        low, high = b.amount_range(children)
        findings.append(_f("montant_sans_revenus", min=euros(low), max=euros(high), periode=period))
        findings.append(_f("don_ou_pret", seuil=euros(threshold)))
        return Estimate(low, high, None, period), findings
    low = b.amount(children, s.revenus.high)
    high = b.amount(children, s.revenus.low)
    if round(low) == round(high):
        findings.append(_f("montant_environ", montant=euros(low), periode=period))
    else:
        findings.append(_f("montant_fourchette", min=euros(low), max=euros(high), periode=period))
    # A loan only above the threshold (D. 214-13): equal to it is still a gift.
    if s.revenus.low > threshold:
        loan: bool | None = True
        findings.append(_f("pret", seuil=euros(threshold)))
    elif s.revenus.high <= threshold:
        loan = False
        findings.append(_f("don"))
    else:
        loan = None
        findings.append(_f("don_ou_pret", seuil=euros(threshold)))
    return Estimate(low, high, loan, period), findings


def _housing(s: Situation, ctx: Context) -> MeasureResult:
    reasons = [_f("prioritaire")]
    reasons.append(_f("avec_ordonnance") if s.preuve == "ordonnance" else _f("sans_ordonnance"))
    reasons.append(_f("visale"))
    return _result("logement", PROBABLE, reasons, [_f("etape_demande")])


def _childcare(s: Situation, ctx: Context) -> MeasureResult:
    params = ctx.rules.measures["garde"].params
    steps = [_f("etape_creche")]
    bonus = [_f("coupe_file")] if ctx.pack_status(s.departement) == ACTIVE else []
    if s.enfants is None:
        return _result("garde", TO_CHECK, [_f("enfants_inconnus"), _f("rendez_vous")], steps)
    if s.enfants.count == 0:
        return _result("garde", NOT_NOW, [_f("sans_enfant")], [])
    young = s.enfants.under(params["age_max_creche_ans"])
    if young == 0:
        return _result("garde", NOT_NOW, [_f("plus_de_3_ans"), _f("rendez_vous")], [])
    with_plan = s.situation_emploi in params["situations_avec_projet"]
    if young is None:
        reasons = [_f("ages_inconnus")] + bonus + [_f("rendez_vous")]
        return _result("garde", TO_CHECK, reasons, steps)
    if s.situation_emploi is None:
        return _result("garde", TO_CHECK, [_f("projet_inconnu")] + bonus + [_f("rendez_vous")], steps)
    if with_plan:
        return _result("garde", PROBABLE, [_f("creche_projet")] + bonus, steps)
    return _result("garde", NOT_NOW, [_f("creche_sans_projet"), _f("rendez_vous")], [])


def _job(s: Situation, ctx: Context) -> MeasureResult:
    extra = [_f("accompagnement_auu")]
    steps = [_f("etape_france_travail")]
    if s.situation_emploi is None:
        return _result("emploi", TO_CHECK, [_f("situation_inconnue")] + extra, steps)
    if s.situation_emploi == "emploi":
        reasons = [_f("en_emploi")] + ([_f("plainte_faite")] if s.preuve == "plainte" else [])
        return _result("emploi", PROBABLE, reasons + extra, steps)
    text_id = "en_recherche" if s.situation_emploi == "recherche" else "autre"
    return _result("emploi", PROBABLE, [_f(text_id)] + extra, steps)


def _psy(s: Situation, ctx: Context) -> MeasureResult:
    if s.etat_psy == "crise":
        return _result(
            "psy", PROBABLE, [_f("crise"), _f("tres_difficile")], [_f("etape_3114"), _f("etape_association")]
        )
    text_id = s.etat_psy if s.etat_psy in ("difficile", "tres_difficile") else "inconnu"
    return _result("psy", PROBABLE, [_f(text_id)], [_f("etape_association")])
