"""Questionnaire actions on tracker fixtures (tests/fixtures/trackers/questionnaire_*.json)."""

import asyncio
import datetime as dt
import json
from pathlib import Path

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionRepondre
from actions.eligibility import (
    ActionAskRevenus,
    ActionEligibiliteDebut,
    ActionPauseQuestionnaire,
    ActionResultatsEligibilite,
    ValidateEligibiliteForm,
)
from bot.eligibility.service import build_eligibility

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "trackers"
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
ELIG = build_eligibility(clock=lambda: dt.date(2026, 11, 28))


def _tracker(name: str) -> Tracker:
    return Tracker.from_dict(json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8")))


def _run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    return dispatcher.messages, slots, events


def test_a_garbled_income_is_refused_and_counted():
    messages, slots, _ = _run(ValidateEligibiliteForm(ELIG), _tracker("questionnaire_revenus_brouille"))
    assert slots["revenus"] is None and slots["echecs_question"] == 2
    assert slots["requested_slot"] == "revenus"
    assert messages == []  # the form asks again through action_ask_revenus


def test_after_two_failures_the_question_is_explained_with_a_skip_button():
    tracker = _tracker("questionnaire_revenus_brouille")
    tracker.slots["echecs_question"] = 2
    messages, _, _ = _run(ActionAskRevenus(ELIG), tracker)
    assert ELIG.questionnaire["revenus"].explanation in messages[0]["text"]
    assert "/refuser_repondre" in [b["payload"] for b in messages[0]["buttons"]]


def test_a_question_in_the_middle_is_answered_then_the_question_comes_back():
    messages, slots, _ = _run(ValidateEligibiliteForm(ELIG), _tracker("questionnaire_question_au_milieu"))
    assert messages and "€" in messages[0]["text"]  # the amount topic, from the knowledge base
    assert slots["enfants"] is None and slots["reprise"] is True
    assert "echecs_question" not in slots  # not counted as a failure
    assert slots["requested_slot"] == "enfants"


def test_a_main_courante_ends_the_aid_questions():
    _, slots, _ = _run(ValidateEligibiliteForm(ELIG), _tracker("questionnaire_main_courante"))
    assert slots["preuve"] == "main_courante"
    assert slots["requested_slot"] is None  # nothing more to ask for this aid


def test_the_summary_is_measure_by_measure_and_offers_a_referent():
    messages, slots, _ = _run(ActionResultatsEligibilite(ELIG), _tracker("questionnaire_complet"))
    texts = [m["text"] for m in messages]
    assert any(t.startswith("Aide universelle d'urgence : probablement éligible") for t in texts)
    assert any(t.startswith("Garde d'enfants : probablement éligible") for t in texts)
    assert "/parler_humain" in [b["payload"] for b in messages[-1]["buttons"]]
    assert slots["questionnaire"] == "termine"


def test_the_questionnaire_starts_on_the_aid_she_was_reading_about():
    messages, slots, _ = _run(ActionEligibiliteDebut(ELIG), _tracker("questionnaire_debut_auu"))
    assert slots["mesures_demandees"] == ["auu"]
    assert "6 au plus" in messages[0]["text"]


def test_danger_pauses_the_form_and_keeps_her_answers():
    _, slots, events = _run(ActionPauseQuestionnaire(), _tracker("questionnaire_revenus_brouille"))
    assert {"event": "active_loop", "name": None} in [{k: e.get(k) for k in ("event", "name")} for e in events]
    assert slots["questionnaire"] == "en_pause" and "relation" not in slots


def test_yes_after_a_pause_resumes_where_she_was():
    _, slots, events = _run(ActionRepondre(), _tracker("questionnaire_en_pause_oui"))
    assert slots["questionnaire"] == "en_cours" and slots["reprise"] is True
    assert events[-1] == {"event": "followup", "name": "eligibilite_form", "timestamp": None}


def test_resuming_keeps_the_answers_given_before():
    # On activation the form re-validates filled slots; her earlier answers must survive it.
    tracker = _tracker("questionnaire_question_au_milieu")
    tracker.slots["requested_slot"] = None
    tracker.events.append({"event": "slot", "name": "relation", "value": "ex"})
    tracker.events.append({"event": "slot", "name": "enfants", "value": {"nombre": 2, "ages_mois": [8, 84]}})
    _, slots, _ = _run(ValidateEligibiliteForm(ELIG), tracker)
    assert slots["relation"] == "ex" and slots["enfants"] == {"nombre": 2, "ages_mois": [8, 84]}


def test_recorded_live_tracker_a_vague_income_is_asked_again():
    # Recorded from a real conversation: « est-ce que j'ai droit à l'aide de la caf ? », « mon ex »,
    # « une plainte », « le mois dernier », « oui », « non », « deux enfants de 2 et 9 ans », « beaucoup ».
    tracker = _tracker("enregistre_revenus_brouille")
    messages, slots, _ = _run(ValidateEligibiliteForm(ELIG), tracker)
    assert slots["revenus"] is None and slots["echecs_question"] == 1 and slots["requested_slot"] == "revenus"
    assert tracker.slots["enfants"] == {"nombre": 2, "ages_mois": [24, 108]}


def test_a_risk_in_the_message_that_starts_the_questionnaire_comes_first():
    # « Si je meurs, est-ce qu'il touche ma pension ? … j'ai fixé le jour »: the 3114 before the intro.
    tracker = _tracker("questionnaire_debut_auu")
    tracker.latest_message["safety"] = {"kind": None, "source": "", "net": ["suicide"], "minor": False}
    messages, _, _ = _run(ActionEligibiliteDebut(ELIG), tracker)
    assert "3114" in messages[0]["text"] and "6 au plus" in messages[1]["text"]
