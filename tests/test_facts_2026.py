"""Issue 10: the facts of December 2026, and nothing untrue. Fixed dates only, never today's."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.answers import build_answers, discretion_topic
from bot.config import DEFAULT_DELAYS, PROJECT_ROOT, response_delays, settings
from bot.eligibility.service import build_eligibility
from bot.knowledge.amounts import bareme_warnings, load_bareme
from bot.knowledge.loader import KnowledgeError, load_knowledge

CONFIG = settings()
BAREME = CONFIG.eligibility_dir / "auu_bareme.yml"
DEC_2026 = dt.date(2026, 12, 1)
AFTER_LAST = dt.date(2027, 4, 2)  # past the last period's end (31 March 2027)
EUROS = re.compile(r"\d[\d\u202f ]*\s?€")
ELIGIBLE = {
    "relation": "conjoint",
    "preuve": "plainte",
    "date_preuve": {"debut": "2026-10-01", "fin": "2026-10-31"},
    "sejour": "oui",
    "auu_recue": "non",
    "revenus": {"min": 0.0, "max": 0.0},
}


def answers_on(day: dt.date):
    return build_answers(clock=lambda: day)


def summary_text(slots, day=DEC_2026, measures=("auu",)):
    elig = build_eligibility(clock=lambda: day)
    return "\n".join(r.text for r in elig.summary(measures, slots))


# -- the barème ----------------------------------------------------------------
def test_the_2026_bareme_is_used_from_april_2026():
    b = load_bareme(BAREME, DEC_2026)
    assert (b.debut, b.fin, b.rsa_base, b.smic_net) == (dt.date(2026, 4, 1), dt.date(2027, 3, 31), 652.34, 1443.11)
    assert not b.expired
    assert [round(b.amount(n, 0), 2) for n in range(5)] == [652.34, 978.51, 1174.21, 1435.15, 1696.08]
    # each parameter carries its source and reliability (both estimates for now)
    assert {name: p.reliability for name, p in b.parameters} == {
        "rsa_montant_forfaitaire": "a_verifier",
        "smic_net_mensuel": "a_verifier",
    }
    assert load_bareme(BAREME, dt.date(2026, 3, 31)).rsa_base == 646.52


def test_amounts_say_environ_and_name_the_period():
    text = answers_on(DEC_2026).render("auu_montant").text
    assert "selon le barème d'avril 2026 à mars 2027" in text
    assert "environ 261" in text and "environ 652" in text
    assert "dernier barème connu" not in text
    summary = summary_text(ELIGIBLE)
    assert "environ 652" in summary and "avril 2026 à mars 2027" in summary and "la CAF calcule" in summary


def test_past_the_last_period_the_wording_says_it_is_the_last_known_one():
    text = answers_on(AFTER_LAST).render("auu_montant").text
    assert "selon le dernier barème connu (avril 2026 – mars 2027)" in text
    summary = summary_text({**ELIGIBLE, "date_preuve": {"debut": "2027-03-01", "fin": "2027-03-15"}}, AFTER_LAST)
    assert "selon le dernier barème connu (avril 2026 – mars 2027)" in summary


def test_the_same_answers_object_follows_its_clock():
    day = [dt.date(2026, 3, 15)]
    answers = build_answers(clock=lambda: day[0])
    assert "avril 2025 à mars 2026" in answers.render("auu_montant").text
    day[0] = DEC_2026
    assert "avril 2026 à mars 2027" in answers.render("auu_montant").text


def test_load_bareme_never_falls_back_silently():
    with pytest.raises(TypeError):
        load_bareme(BAREME)  # type: ignore[call-arg]
    with pytest.raises(KnowledgeError):
        load_bareme(BAREME, dt.date(2024, 1, 1))  # before the first period: no guess
    assert load_bareme(BAREME, AFTER_LAST).expired


def test_check_knowledge_warns_after_the_period_without_failing():
    assert not any("expiré" in w for w in bareme_warnings(BAREME, DEC_2026))
    assert any("expiré le 2027-03-31" in w for w in bareme_warnings(BAREME, AFTER_LAST))


# -- overseas --------------------------------------------------------------------
def test_mayotte_gets_the_cssm_and_never_a_national_amount():
    answers = answers_on(DEC_2026)
    for intent in ("auu_montant", "auu_info", "auu_conditions", "auu_demarche"):
        text = " ".join(r.text for r in answers.for_intent(intent, False, departement="976"))
        assert "CSSM" in text and not EUROS.search(text), intent
    summary = summary_text({**ELIGIBLE, "departement": "976"})
    assert "CSSM" in summary and not EUROS.search(summary)
    territory = answers.territory(answers.territories.by_code["976"], False)[0].text
    assert "CSSM" in territory


@pytest.mark.parametrize("code,local", [("988", "05 30 30"), ("987", "CIDFF"), ("986", "+33 1 80 52 33 76")])
def test_collectivities_without_auu_get_local_numbers_never_an_amount(code, local):
    answers = answers_on(DEC_2026)
    text = " ".join(r.text for r in answers.for_intent("auu_montant", False, departement=code))
    assert "ne s'applique pas" in text and local in text and not EUROS.search(text)
    summary = summary_text({**ELIGIBLE, "departement": code}, measures=("auu", "pack"))
    assert "ne s'applique pas" in summary and local in summary and not EUROS.search(summary)
    territory = answers.territory(answers.territories.by_code[code], False)[0].text
    assert local in territory and not EUROS.search(territory)


def test_elsewhere_the_amount_answer_is_unchanged():
    text = answers_on(DEC_2026).for_intent("auu_montant", False, departement="95")[0].text
    assert "environ 652" in text


# -- true sentences ----------------------------------------------------------------
def test_the_loan_is_suspended_not_cancelled():
    answers = answers_on(DEC_2026)
    text = answers.render("auu_montant").text
    assert "suspendu" in text and "pas à rembourser" not in text
    rules = build_eligibility(clock=lambda: DEC_2026).rules
    assert "suspendu (pas annulé)" in rules.text("auu", "pret")


def test_confidentiality_states_its_legal_limits():
    from bot.handoff import build_handoff

    proposal = build_handoff().proposal([]).text
    assert "sans votre accord, sauf" in proposal
    assert "danger immédiat" in proposal and "enfant en danger" in proposal
    privacy = answers_on(DEC_2026).render("confidentialite").text
    assert "danger immédiat" in privacy and "enfant en danger" in privacy


def test_response_delays_come_from_configuration():
    assert response_delays({}) == DEFAULT_DELAYS
    assert "dans l'heure" not in DEFAULT_DELAYS["urgent"].text  # nothing staffed backs it by default
    assert DEFAULT_DELAYS["urgent"].text == "au plus vite, sous 24 h en semaine"
    got = response_delays({"ND_URGENT_RESPONSE": "1|dans l'heure"})
    assert (got["urgent"].hours, got["urgent"].text) == (1, "dans l'heure")
    for bad in ("1", "x|dans l'heure", "0|tout de suite", "12|"):
        with pytest.raises(ValueError):
            response_delays({"ND_HIGH_RESPONSE": bad})


def test_handoff_and_console_read_the_same_delays(monkeypatch):
    from bot.console.app import response_targets
    from bot.handoff import build_handoff

    monkeypatch.setenv("ND_URGENT_RESPONSE", "2|sous 2 heures, astreinte comprise")
    assert response_targets()["urgent"] == 2
    assert "sous 2 heures, astreinte comprise" in build_handoff().proposal(["danger"]).text
    monkeypatch.delenv("ND_URGENT_RESPONSE")
    assert response_targets() == {"urgent": 24, "high": 48, "normal": 120}
    assert "au plus vite, sous 24 h en semaine" in build_handoff().proposal(["danger"]).text


def test_privacy_says_what_is_kept_once_a_case_exists(monkeypatch):
    monkeypatch.setenv("ND_RETENTION_DAYS", "45")
    answers = answers_on(DEC_2026)
    without = " ".join(r.text for r in answers.for_intent("confidentialite", False, has_case=False))
    assert "prénom" not in without
    with_case = " ".join(r.text for r in answers.for_intent("confidentialite", False, has_case=True))
    assert "prénom" in with_case and "plan de contact" in with_case
    assert "45 jours" in with_case and "annuler ma demande" in with_case


@pytest.mark.parametrize(
    "channel,expected,absent",
    [
        ("socketio", "Sortie rapide", None),
        ("telegram", "/effacer", "Sortie rapide"),
        ("rest", "« effacer »", "Sortie rapide"),
        (None, "« effacer »", "Sortie rapide"),
    ],
)
def test_the_quick_exit_line_only_on_the_web_widget(channel, expected, absent):
    replies = answers_on(DEC_2026).for_intent("saluer", True, channel)
    line = replies[-1].text
    assert expected in line and (absent is None or absent not in line)
    assert discretion_topic(channel) in answers_on(DEC_2026).kb


def test_no_answer_mentions_the_button_outside_the_web_line():
    kb = answers_on(DEC_2026).kb
    with_button = {t.id for t in kb.topics.values() if "Sortie rapide" in t.answer}
    assert with_button == {"discretion"}
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    for name, variants in domain["responses"].items():
        for v in variants:
            if "Sortie rapide" in v.get("text", ""):
                assert v.get("channel") == "socketio", name
    variants = domain["responses"]["utter_urgence_agresseur_present"]
    assert {v.get("channel") for v in variants} >= {"socketio", "telegram", None}


# -- new facts ----------------------------------------------------------------------
def test_new_facts_of_2026():
    kb = answers_on(DEC_2026).kb
    assert "du lundi au vendredi de 13 h à 20 h" in kb["parler_humain"].answer
    assert "ne peut pas exiger une plainte ni un certificat médical" in kb["hebergement_urgence"].answer
    assert "OPPI" in kb["protection"].answer and "24 h" in kb["protection"].answer
    violence = kb["qualifier_violence"].answer
    assert "contrôle coercitif" in violence and "forme de violence" in violence
    everything = " ".join(t.answer for t in kb.topics.values())
    assert not re.search(r"contr[ôo]le coercitif[^.]*(d[ée]lit|infraction)", everything, re.I)


# -- sources -------------------------------------------------------------------------
def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(CONFIG.knowledge_dir, target)
    return target


def _first_fact(directory: Path, fn) -> None:
    path = directory / "droits_et_protection.yml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    fn(doc["topics"][0]["facts"][0])
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize("url", ["https://www.caf.fr/", "https://www.legifrance.gouv.fr", "https://service-public.nc/"])
def test_an_official_fact_cannot_cite_a_home_page(tmp_path, url):
    d = _copy(tmp_path)
    _first_fact(d, lambda f: (f.update(reliability="officiel", last_verified=DEC_2026), f["source"].update(url=url)))
    with pytest.raises(KnowledgeError, match="page précise"):
        load_knowledge(d, today=DEC_2026)


def test_an_unchecked_fact_says_so_instead_of_a_made_up_date(tmp_path):
    d = _copy(tmp_path)
    _first_fact(d, lambda f: f.update(reliability="officiel", last_verified=None))
    with pytest.raises(KnowledgeError, match="a_verifier"):
        load_knowledge(d, today=DEC_2026)
    _first_fact(d, lambda f: f.update(reliability="a_verifier", last_verified=None))
    load_knowledge(d, today=DEC_2026)


def test_no_official_fact_in_the_data_points_at_a_home_page_or_the_old_date():
    kb = load_knowledge(CONFIG.knowledge_dir, today=DEC_2026)
    for topic in kb.topics.values():
        for fact in topic.facts:
            assert fact.last_verified != dt.date(2026, 11, 28), topic.id  # nothing was checked that day
    for path in list(CONFIG.knowledge_dir.glob("*.yml")) + list(CONFIG.eligibility_dir.glob("*.yml")):
        assert "last_verified: 2026-11-28" not in path.read_text(encoding="utf-8") or path.name == "questions.yml"
