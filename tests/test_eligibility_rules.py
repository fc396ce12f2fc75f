"""The rules engine, table-driven: each measure, each threshold's boundary, unknown answers."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import settings as app_settings
from bot.eligibility.loader import load_rules
from bot.eligibility.parsers import Amount, Children, DateRange
from bot.eligibility.questions import Situation
from bot.eligibility.rules import NOT_NOW, PROBABLE, TO_CHECK, Context, evaluate
from bot.knowledge.amounts import load_bareme
from bot.knowledge.territory import load_territories

TODAY = dt.date(2026, 11, 28)
CONFIG = app_settings()
BAREME = load_bareme(CONFIG.eligibility_dir / "auu_bareme.yml", TODAY)
CTX = Context(load_rules(CONFIG.eligibility_dir / "regles.yml"), BAREME, load_territories(CONFIG.knowledge_dir), TODAY)
SMIC = BAREME.smic_net
RECENT = DateRange(dt.date(2026, 10, 1), dt.date(2026, 10, 31))
OLD = DateRange(dt.date(2024, 3, 1), dt.date(2024, 3, 31))
# Everything the aid needs, with a recent complaint: change one thing per case.
ELIGIBLE = dict(relation="conjoint", preuve="plainte", date_preuve=RECENT, sejour="oui", auu_recue="non")


def income(value: float) -> Amount:
    return Amount(value, value)


def result(measure: str, **answers):
    (only,) = evaluate((measure,), Situation(**answers), CTX)
    return only


CASES = [
    # -- aide universelle d'urgence: who, proof, residence, frequency
    ("auu", dict(ELIGIBLE), PROBABLE, {"relation_ok", "preuve_ok", "sejour_ok", "pas_recue", "etape_demander"}),
    ("auu", {**ELIGIBLE, "relation": "ex"}, PROBABLE, {"relation_ok"}),
    ("auu", {**ELIGIBLE, "relation": "relation"}, PROBABLE, {"relation_ok"}),
    ("auu", {**ELIGIBLE, "relation": "autre"}, NOT_NOW, {"relation_autre", "etape_autres_aides"}),
    ("auu", {**ELIGIBLE, "preuve": "signalement"}, PROBABLE, {"preuve_ok"}),
    ("auu", {**ELIGIBLE, "preuve": "ordonnance"}, PROBABLE, {"preuve_ok"}),
    (
        "auu",
        {**ELIGIBLE, "preuve": "main_courante", "date_preuve": None},
        NOT_NOW,
        {"preuve_main_courante", "etape_preuve"},
    ),
    ("auu", {**ELIGIBLE, "preuve": "aucune", "date_preuve": None}, NOT_NOW, {"preuve_aucune", "etape_preuve"}),
    ("auu", {**ELIGIBLE, "date_preuve": OLD}, NOT_NOW, {"preuve_ancienne"}),
    ("auu", {**ELIGIBLE, "sejour": "non"}, NOT_NOW, {"sejour_non"}),
    ("auu", {**ELIGIBLE, "auu_recue": "oui"}, NOT_NOW, {"deja_recue"}),
    # proof dated exactly 12 months ago is too old; the day after, it is recent
    (
        "auu",
        {**ELIGIBLE, "date_preuve": DateRange(dt.date(2025, 11, 28), dt.date(2025, 11, 28))},
        NOT_NOW,
        {"preuve_ancienne"},
    ),
    (
        "auu",
        {**ELIGIBLE, "date_preuve": DateRange(dt.date(2025, 11, 29), dt.date(2025, 11, 29))},
        PROBABLE,
        {"preuve_ok"},
    ),
    # a date that straddles the limit (« il y a un an ») is to be checked, not refused
    (
        "auu",
        {**ELIGIBLE, "date_preuve": DateRange(dt.date(2025, 8, 28), dt.date(2026, 2, 28))},
        TO_CHECK,
        {"preuve_date_inconnue", "etape_verifier"},
    ),
    # unknown or skipped answers: « à vérifier », never a refusal
    ("auu", {**ELIGIBLE, "relation": None}, TO_CHECK, {"relation_inconnue"}),
    ("auu", {**ELIGIBLE, "preuve": None, "date_preuve": None}, TO_CHECK, {"preuve_inconnue"}),
    ("auu", {**ELIGIBLE, "date_preuve": None}, TO_CHECK, {"preuve_date_inconnue"}),
    ("auu", {**ELIGIBLE, "sejour": None}, TO_CHECK, {"sejour_inconnu"}),
    ("auu", {**ELIGIBLE, "auu_recue": None}, TO_CHECK, {"recue_inconnue"}),
    (
        "auu",
        {},
        TO_CHECK,
        {
            "relation_inconnue",
            "preuve_inconnue",
            "sejour_inconnu",
            "recue_inconnue",
            "montant_sans_revenus",
            "enfants_inconnus",
        },
    ),
    # a blocker wins over unknowns
    ("auu", {"preuve": "main_courante"}, NOT_NOW, {"preuve_main_courante", "relation_inconnue"}),
    # overseas collectivities where the CASF does not apply
    # no AUU where the social system is the collectivity's own: the local numbers, never an amount
    ("auu", {**ELIGIBLE, "departement": "988"}, NOT_NOW, {"hors_champ", "etape_hors_champ"}),
    ("auu", {**ELIGIBLE, "departement": "986"}, NOT_NOW, {"hors_champ", "etape_hors_champ"}),
    # Mayotte: the CSSM and its own barème, never the national amounts
    ("auu", {**ELIGIBLE, "departement": "976"}, PROBABLE, {"mayotte_montant", "etape_demander_mayotte"}),
    # -- gift or loan, alone: loan only strictly above 150 % of the Smic
    ("auu", {**ELIGIBLE, "revenus": income(1.5 * SMIC)}, PROBABLE, {"don"}),
    ("auu", {**ELIGIBLE, "revenus": income(1.5 * SMIC + 0.01)}, PROBABLE, {"pret"}),
    ("auu", {**ELIGIBLE, "revenus": income(2.25 * SMIC), "enfants": Children(1)}, PROBABLE, {"don"}),
    ("auu", {**ELIGIBLE, "revenus": income(2.25 * SMIC + 0.01), "enfants": Children(1)}, PROBABLE, {"pret"}),
    ("auu", {**ELIGIBLE, "revenus": income(3.3 * SMIC), "enfants": Children(5)}, PROBABLE, {"don"}),
    ("auu", {**ELIGIBLE, "revenus": income(3.3 * SMIC + 1), "enfants": Children(5)}, PROBABLE, {"pret"}),
    ("auu", {**ELIGIBLE, "revenus": Amount(2000, 2300)}, PROBABLE, {"don_ou_pret", "montant_fourchette"}),
    ("auu", {**ELIGIBLE, "revenus": income(1000)}, PROBABLE, {"montant_environ", "don"}),
    # -- pack nouveau départ by territory
    ("pack", {"departement": "95"}, PROBABLE, {"actif", "sans_plainte", "etape_entrer"}),
    ("pack", {"departement": "974"}, PROBABLE, {"actif"}),
    ("pack", {"departement": "85"}, NOT_NOW, {"annonce", "etape_ailleurs"}),
    ("pack", {"departement": "75"}, NOT_NOW, {"absent"}),
    ("pack", {"departement": "13"}, TO_CHECK, {"mise_en_place", "etape_ailleurs"}),
    ("pack", {"departement": "987"}, NOT_NOW, {"hors_champ"}),
    ("pack", {}, TO_CHECK, {"lieu_inconnu", "etape_lieu"}),
    # -- childcare: children under 3 and a job or training plan
    ("garde", {"enfants": Children(1, (8,)), "situation_emploi": "recherche"}, PROBABLE, {"creche_projet"}),
    (
        "garde",
        {"enfants": Children(1, (8,)), "situation_emploi": "emploi", "departement": "95"},
        PROBABLE,
        {"creche_projet", "coupe_file"},
    ),
    ("garde", {"enfants": Children(1, (35,)), "situation_emploi": "emploi"}, PROBABLE, {"creche_projet"}),
    ("garde", {"enfants": Children(1, (36,)), "situation_emploi": "emploi"}, NOT_NOW, {"plus_de_3_ans"}),
    ("garde", {"enfants": Children(1, (8,)), "situation_emploi": "autre"}, NOT_NOW, {"creche_sans_projet"}),
    ("garde", {"enfants": Children(0)}, NOT_NOW, {"sans_enfant"}),
    ("garde", {"enfants": Children(2)}, TO_CHECK, {"ages_inconnus"}),
    ("garde", {"enfants": Children(1, (8,))}, TO_CHECK, {"projet_inconnu"}),
    ("garde", {}, TO_CHECK, {"enfants_inconnus"}),
    # -- job and training
    ("emploi", {"situation_emploi": "emploi", "preuve": "plainte"}, PROBABLE, {"en_emploi", "plainte_faite"}),
    ("emploi", {"situation_emploi": "emploi", "preuve": "main_courante"}, PROBABLE, {"en_emploi"}),
    ("emploi", {"situation_emploi": "recherche"}, PROBABLE, {"en_recherche", "accompagnement_auu"}),
    ("emploi", {"situation_emploi": "autre"}, PROBABLE, {"autre"}),
    ("emploi", {}, TO_CHECK, {"situation_inconnue"}),
    # -- shelter tonight: the 115 is unconditional, the answer sets the urgency
    ("hebergement_urgence", {"abri_ce_soir": "non"}, PROBABLE, {"sans_abri", "etape_maintenant"}),
    ("hebergement_urgence", {"abri_ce_soir": "oui"}, PROBABLE, {"abri", "etape_plus_tard"}),
    ("hebergement_urgence", {}, PROBABLE, {"abri_inconnu"}),
    # -- longer-term housing
    ("logement", {"preuve": "ordonnance"}, PROBABLE, {"prioritaire", "avec_ordonnance", "visale"}),
    ("logement", {"preuve": "plainte"}, PROBABLE, {"prioritaire", "sans_ordonnance"}),
    ("logement", {}, PROBABLE, {"prioritaire", "sans_ordonnance"}),
    # -- psychological support, by level; 3114 in crisis
    ("psy", {"etat_psy": "crise"}, PROBABLE, {"crise", "etape_3114"}),
    ("psy", {"etat_psy": "tres_difficile"}, PROBABLE, {"tres_difficile"}),
    ("psy", {"etat_psy": "difficile"}, PROBABLE, {"difficile"}),
    ("psy", {}, PROBABLE, {"inconnu"}),
]


@pytest.mark.parametrize("measure, answers, outcome, text_ids", CASES)
def test_rules_table(measure, answers, outcome, text_ids):
    got = result(measure, **answers)
    assert got.outcome == outcome
    assert text_ids <= set(got.text_ids()), got.text_ids()


def test_no_crisis_number_when_she_is_not_in_crisis():
    assert "etape_3114" not in result("psy", etat_psy="difficile").text_ids()


@pytest.mark.parametrize(
    "value, rate",
    [
        (0.5 * SMIC, 1.0),
        (0.5 * SMIC + 0.01, 0.8),
        (SMIC, 0.8),
        (SMIC + 0.01, 0.6),
        (1.5 * SMIC, 0.6),
        (1.5 * SMIC + 0.01, 0.4),
        (0, 1.0),
    ],
)
def test_amount_rate_boundaries(value, rate):
    got = result("auu", **ELIGIBLE, revenus=income(value))
    assert got.estimate.low == pytest.approx(BAREME.rsa_base * rate)


def test_only_children_under_21_raise_the_amount():
    with_young = result("auu", **ELIGIBLE, revenus=income(0), enfants=Children(1, (20 * 12 + 11,)))
    with_adult = result("auu", **ELIGIBLE, revenus=income(0), enfants=Children(1, (21 * 12,)))
    assert with_young.estimate.low == pytest.approx(BAREME.rsa_base * 1.5)
    assert with_adult.estimate.low == pytest.approx(BAREME.rsa_base)


def test_the_main_courante_answer_says_what_would_be_enough():
    (res,) = evaluate(("auu",), Situation(preuve="main_courante"), CTX)
    text = CTX.rules.text("auu", "preuve_main_courante")
    assert res.outcome == NOT_NOW
    for accepted in ("plainte", "signalement au procureur", "ordonnance de protection"):
        assert accepted in text


def test_summary_order_follows_the_rules_file():
    measures = ("psy", "auu", "hebergement_urgence", "pack")
    order = [r.measure for r in evaluate(measures, Situation(), CTX)]
    assert order == ["hebergement_urgence", "pack", "auu", "psy"]


# -- properties ------------------------------------------------------------
incomes = st.floats(min_value=0, max_value=20_000, allow_nan=False)
children_counts = st.integers(min_value=0, max_value=12)


@settings(max_examples=300, deadline=None)
@given(incomes, incomes, children_counts)
def test_more_income_never_raises_the_amount(a, b, children):
    low, high = sorted((a, b))
    poorer = result("auu", **ELIGIBLE, revenus=income(low), enfants=Children(children))
    richer = result("auu", **ELIGIBLE, revenus=income(high), enfants=Children(children))
    assert richer.estimate.high <= poorer.estimate.high + 1e-9


@settings(max_examples=300, deadline=None)
@given(incomes, children_counts)
def test_more_children_never_lower_the_amount_and_stay_in_the_barème(value, children):
    fewer = result("auu", **ELIGIBLE, revenus=income(value), enfants=Children(children))
    more = result("auu", **ELIGIBLE, revenus=income(value), enfants=Children(children + 1))
    assert more.estimate.low >= fewer.estimate.low
    full = BAREME.full_amount(children)
    assert 0.4 * full - 1e-6 <= fewer.estimate.low <= fewer.estimate.high <= full + 1e-6


@settings(max_examples=300, deadline=None)
@given(incomes, children_counts)
def test_a_loan_only_above_the_threshold(value, children):
    got = result("auu", **ELIGIBLE, revenus=income(value), enfants=Children(children))
    assert got.estimate.loan == (value > BAREME.loan_threshold(children))


@settings(max_examples=200, deadline=None)
@given(incomes, incomes, children_counts)
def test_an_income_range_gives_an_amount_range_that_contains_both_ends(a, b, children):
    low, high = sorted((a, b))
    ranged = result("auu", **ELIGIBLE, revenus=Amount(low, high), enfants=Children(children)).estimate
    for end in (low, high):
        point = result("auu", **ELIGIBLE, revenus=income(end), enfants=Children(children)).estimate
        assert ranged.low - 1e-9 <= point.low <= ranged.high + 1e-9
