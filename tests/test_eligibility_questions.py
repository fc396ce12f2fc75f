"""Which questions are asked, how an answer is read, and the data's validation."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
import yaml

from bot.config import settings
from bot.eligibility.loader import MEASURES, load_questions, load_rules
from bot.eligibility.questions import UNKNOWN, Situation, measures_in
from bot.eligibility.service import SKIP_PAYLOAD, build_eligibility
from bot.knowledge.loader import KnowledgeError

TODAY = dt.date(2026, 11, 28)
ELIG = build_eligibility(clock=lambda: TODAY)


def needed(measures, **slots):
    return ELIG.needed(tuple(measures), slots)


def test_only_what_the_measures_need_is_asked():
    assert needed(["pack"]) == ["departement"]
    assert needed(["psy"]) == ["etat_psy"]
    assert needed(["hebergement_urgence"]) == ["abri_ce_soir"]
    assert needed(["auu"]) == ["relation", "preuve", "sejour", "auu_recue", "enfants", "revenus"]
    assert needed(["emploi"]) == ["situation_emploi"]
    assert needed(["logement"]) == ["preuve"]
    assert set(needed(MEASURES)) >= {"abri_ce_soir", "departement", "relation", "etat_psy"}


def test_safety_tonight_is_asked_first():
    assert needed(MEASURES)[0] == "abri_ce_soir"


def test_follow_up_questions_appear_only_when_they_matter():
    assert "date_preuve" in needed(["auu"], preuve="plainte")
    assert "date_preuve" not in needed(["auu"], preuve=UNKNOWN)
    # a job: the complaint matters for a legitimate resignation
    assert needed(["emploi"], situation_emploi="emploi") == ["preuve", "situation_emploi"]
    # childcare asks about work only if a child may be under 3
    assert "situation_emploi" in needed(["garde"], enfants={"nombre": 1, "ages_mois": [8]})
    assert "situation_emploi" not in needed(["garde"], enfants={"nombre": 1, "ages_mois": [60]})
    assert "situation_emploi" not in needed(["garde"], enfants={"nombre": 0, "ages_mois": []})


def test_once_the_aid_is_ruled_out_its_other_questions_are_not_asked():
    assert needed(["auu"], relation="autre") == ["relation"]
    assert needed(["auu"], preuve="main_courante") == ["relation", "preuve"]
    assert "revenus" not in needed(["auu"], sejour="non")
    # the children are still asked for childcare
    assert "enfants" in needed(["auu", "garde"], relation="autre")


def test_a_place_given_earlier_is_not_asked_again():
    slots = {"departement": "95"}
    assert needed(["pack"], **slots) == ["departement"]  # required, but already filled
    assert Situation.from_slots(slots).departement == "95"


@pytest.mark.parametrize(
    "text, previous, expected",
    [
        ("suis-je concernée par l'aide d'urgence ?", None, ("auu",)),
        ("est-ce que j'ai droit à une place en crèche", None, ("garde",)),
        ("à quoi ai-je droit ?", None, MEASURES),
        ("/eligibilite", "auu_conditions", ("auu",)),
        ("/eligibilite", "logement_durable", ("logement",)),
        ("j'ai droit au pack et à un logement ?", None, ("pack", "logement")),
    ],
)
def test_measures_she_asks_about(text, previous, expected):
    assert measures_in(text, previous) == expected


def test_every_button_label_reads_back_as_its_option():
    for question in ELIG.questionnaire.questions:
        for option in question.options:
            assert ELIG.read(question.id, option.label).value == option.id, (question.id, option.label)


@pytest.mark.parametrize("question", [q.id for q in ELIG.questionnaire.questions])
def test_skipping_is_accepted_for_every_question(question):
    for text in (SKIP_PAYLOAD, "je préfère ne pas répondre", "je ne sais pas"):
        assert ELIG.read(question, text).status == "skip"


@pytest.mark.parametrize(
    "question, text, value",
    [
        ("relation", "mon ex-mari", "ex"),
        ("relation", "le père de mes enfants", "conjoint"),
        ("preuve", "j'ai juste fait une main courante", "main_courante"),
        ("preuve", "pas de plainte", "aucune"),
        ("sejour", "mon titre de séjour est expiré", "non"),
        ("sejour", "je suis française", "oui"),
        ("abri_ce_soir", "non je ne sais pas où dormir", "non"),
        ("departement", "Marseille", "13"),
        ("departement", "95", "95"),
        ("departement", "la Réunion", "974"),
        ("situation_emploi", "je cherche un emploi", "recherche"),
        ("etat_psy", "je n'en peux plus", "crise"),
        ("enfants", "deux", {"nombre": 2, "ages_mois": []}),
        ("revenus", "1 200 €", {"min": 1200.0, "max": 1200.0}),
        ("date_preuve", "le mois dernier", {"debut": "2026-10-01", "fin": "2026-10-31"}),
    ],
)
def test_answers_in_her_words(question, text, value):
    answer = ELIG.read(question, text)
    assert (answer.status, answer.value) == ("ok", value)


@pytest.mark.parametrize(
    "question, text",
    [
        ("relation", "bof"),
        ("departement", "chez moi"),
        ("enfants", "plein"),
        ("revenus", "ça dépend"),
        ("date_preuve", "dans un mois"),
        ("sejour", "peut-être"),
    ],
)
def test_garbled_answers_are_refused(question, text):
    assert ELIG.read(question, text).status == "invalid"


def test_the_question_gets_an_example_then_an_explanation():
    first = ELIG.ask("revenus", 0).text
    second = ELIG.ask("revenus", 1).text
    third = ELIG.ask("revenus", 2).text
    q = ELIG.questionnaire["revenus"]
    assert q.example not in first and q.example in second
    assert q.explanation in third and q.explanation not in second
    payloads = [b.payload for b in ELIG.ask("revenus", 0).buttons]
    assert SKIP_PAYLOAD in payloads and "/arreter" in payloads


def test_resuming_says_so():
    assert ELIG.questionnaire.texts["reprise"] in ELIG.ask("relation", resumed=True).text


def test_summary_never_promises_and_offers_a_referent():
    slots = {
        "relation": "conjoint",
        "preuve": "plainte",
        "date_preuve": {"debut": "2026-10-01", "fin": "2026-10-31"},
        "sejour": "oui",
        "auu_recue": "non",
        "enfants": {"nombre": 1, "ages_mois": [24]},
        "revenus": {"min": 900.0, "max": 900.0},
    }
    replies = ELIG.summary(("auu",), slots)
    text = "\n".join(r.text for r in replies)
    assert "probablement éligible" in text and "la CAF calcule le montant exact" in text
    assert "€" in text and "vous aurez droit" not in text.lower()
    assert "/parler_humain" in [b.payload for b in replies[-1].buttons]


# -- the data's validation ---------------------------------------------------
@pytest.fixture
def data_copy(tmp_path):
    shutil.copytree(settings().data_dir / "eligibility", tmp_path / "eligibility")
    return tmp_path / "eligibility"


def _edit(path, change):
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["mesures"]["auu"]["textes"].pop("preuve_main_courante"), "preuve_main_courante"),
        (lambda d: d["sources"]["caf_faq"].pop("url"), "source"),
        (lambda d: d["sources"]["caf_faq"].update(last_verified="2999-01-01"), "futur"),
        (lambda d: d["mesures"]["garde"].update(sources=["inconnue"]), "source"),
        (lambda d: d.pop("version"), "version"),
    ],
)
def test_rules_file_errors_are_refused(data_copy, change, message):
    _edit(data_copy / "regles.yml", change)
    with pytest.raises(KnowledgeError, match=message):
        load_rules(data_copy / "regles.yml")


def test_questions_file_errors_are_refused(data_copy):
    _edit(data_copy / "questions.yml", lambda d: d["questions"]["relation"].pop("exemple"))
    with pytest.raises(KnowledgeError, match="exemple"):
        load_questions(data_copy / "questions.yml")


def test_the_rules_version_is_exposed():
    assert ELIG.rules.version


def test_her_raw_text_in_a_slot_is_not_taken_as_an_answer():
    # Before validation the form holds the text she typed; it must not rule anything out.
    assert "preuve" in needed(["auu"], preuve="j'ai juste fait une main courante")
    assert "revenus" in needed(["auu"], relation="mon pere, enfin je crois")


def test_a_shared_place_name_is_ambiguous_not_garbled():
    eligibility = build_eligibility(settings())
    assert eligibility.read("departement", "Saint-Denis").status == "ambiguous"
    assert set(eligibility.read("departement", "Saint-Denis").value) == {"93", "974"}
    assert eligibility.read("departement", "Seine-Saint-Denis (93)").value == "93"
    assert eligibility.read("departement", "zorglub").status == "invalid"
