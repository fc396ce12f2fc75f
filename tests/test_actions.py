"""Custom actions run on tracker fixtures (tests/fixtures/trackers), no Rasa server needed."""

import asyncio
import json
from pathlib import Path

from rasa_sdk import Tracker
from rasa_sdk.events import Restarted
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionEffacer, ActionRepondre, ActionTerritoire

FIXTURES = Path(__file__).parent / "fixtures" / "trackers"


def _tracker(name: str) -> Tracker:
    return Tracker.from_dict(json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8")))


def _run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e["event"] == "slot"}, events


def test_first_answer_adds_the_discretion_line_once():
    messages, slots, _ = _run(ActionRepondre(), _tracker("premier_message_montant"))
    assert "€" in messages[0]["text"] and "CAF" in messages[0]["text"]
    # The fixture's channel is REST: no quick-exit button there, « effacer » instead.
    assert messages[-1]["text"].startswith("Discrétion") and "effacer" in messages[-1]["text"]
    assert "Sortie rapide" not in messages[-1]["text"]
    assert slots["discretion_annoncee"] is True


def test_second_garbled_place_explains_and_offers_to_skip():
    messages, slots, _ = _run(ActionRepondre(), _tracker("lieu_en_attente"))
    assert slots["echecs_question"] == 2
    assert any(b["payload"] == "/refuser_repondre" for m in messages for b in m["buttons"])
    assert not messages[-1]["text"].startswith("Discrétion")


def test_place_entity_answers_and_is_remembered():
    messages, slots, _ = _run(ActionTerritoire(), _tracker("lieu_donne"))
    assert "Val-d'Oise (95)" in messages[0]["text"]
    assert slots["departement"] == "95" and slots["question_en_cours"] is None


def test_effacer_confirms_and_restarts():
    messages, _, events = _run(ActionEffacer(), _tracker("lieu_donne"))
    assert "effac" in messages[0]["text"].lower()
    assert events[-1] == Restarted()


def test_erasing_with_a_farewell_in_the_message_gives_the_3114_first():
    # « …que mes comptes soient supprimés avant que je parte, ce soir »: erased, and the numbers first.
    tracker = _tracker("lieu_donne")
    tracker.latest_message["safety"] = {"kind": None, "source": "", "net": ["suicide"], "minor": False}
    messages, _, events = _run(ActionEffacer(), tracker)
    assert "3114" in messages[0]["text"] and "effac" in messages[-1]["text"].lower()
    assert events[-1] == Restarted()
