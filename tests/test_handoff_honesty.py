"""The handoff tells the truth: a slow write is « en cours » then gives the reference, a new
request on her open case updates its plan (audited) and says so, and she can withdraw with her
reference and code word from another conversation; real store (SQLite and PostgreSQL) and outbox."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.handoff as handoff_actions
from actions.handoff import ActionCreerDossier, ActionRetirerParReference, handoff_followup
from bot.cases.model import WITHDRAWN, ContactPlan
from bot.cases.outbox import Outbox
from bot.cases.schema import audit_log
from bot.handoff import build_handoff
from tests.cases_support import (  # noqa: F401
    CODE_WORD,
    _case_env,
    clock,
    db_url,
    keyring,
    make_draft,
    pg_database,
    store,
)

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
HANDOFF = build_handoff()


def _tracker(**slots) -> Tracker:
    data = json.loads((ROOT / "tests" / "fixtures" / "trackers" / "contact_a_confirmer.json").read_text("utf-8"))
    tracker = Tracker.from_dict(data)
    tracker.slots.update(slots)
    return tracker


def _slots(events):
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


@pytest.fixture
def outbox(store, tmp_path):
    return Outbox(store, tmp_path / "outbox", attempts=1, sleep=lambda s: None)


def test_a_slow_write_is_en_cours_then_gives_the_reference_never_a_false_failure(store, outbox, monkeypatch):
    gate = threading.Event()
    real = store.create_or_update

    def slow(draft):
        gate.wait(10)
        return real(draft)

    monkeypatch.setattr(store, "create_or_update", slow)
    monkeypatch.setattr(handoff_actions, "CREATE_TIMEOUT_SECONDS", 0.2)
    tracker = _tracker()

    async def scenario():
        dispatcher = CollectingDispatcher()
        events = await ActionCreerDossier(HANDOFF, outbox).run(dispatcher, tracker, DOMAIN)
        first = dispatcher.messages[0]["text"]
        slots = _slots(events)
        later = _tracker(**slots)
        still = handoff_followup(later, "remercier", HANDOFF)  # her next message, too early
        gate.set()
        for _ in range(100):
            await asyncio.sleep(0.05)
            if all(t.done() for t in handoff_actions._writes.values()):
                break
        done = handoff_followup(later, "remercier", HANDOFF)
        return first, slots, still, done

    first, slots, still, done = asyncio.run(scenario())
    assert "en cours d'enregistrement" in first and "pas pu" not in first
    assert slots["contact_telephone"] is None and slots.get("dossier_reference") is None
    assert "en cours d'enregistrement" in still[0][0].text
    replies, events = done
    reference = _slots(events)["dossier_reference"]
    assert reference in replies[0].text and "Votre référence" in replies[0].text
    assert store.get(reference) is not None


def test_after_a_restart_the_reference_is_found_in_the_store_or_the_outbox(store, outbox, keyring, monkeypatch):
    tracker = _tracker()
    monkeypatch.setattr(
        "bot.cases.crypto.conversation_id", lambda raw, channel, ring=None: keyring.conversation_id(raw, channel)
    )
    conv = keyring.conversation_id(tracker.sender_id, "web")
    draft = replace(make_draft(keyring), conversation_id=conv, reference="ABCD2345")
    store.create(draft)
    later = _tracker(contact_etape="enregistrement:ABCD2345:sms:normal")
    replies, events = handoff_actions.recording_followup(later, HANDOFF, outbox)
    assert "ABCD2345" in replies[0].text and _slots(events)["dossier_reference"] == "ABCD2345"
    nothing = _tracker(contact_etape="enregistrement:WXYZ6789:sms:normal")
    replies, events = handoff_actions.recording_followup(nothing, HANDOFF, outbox)
    # Another reference, but her open case took the request: she is given that case's reference.
    assert "ABCD2345" in replies[0].text


def test_a_new_request_on_an_open_case_updates_its_plan_and_is_audited(store, keyring):
    first = store.create(make_draft(keyring, "elle"))
    again = replace(
        make_draft(keyring, "elle"),
        reference="WXYZ6789",
        contact=ContactPlan.validated("appel", "07 00 00 00 01", code_word="Mimosa"),
    )
    case, updated = store.create_or_update(again)
    assert updated and case.reference == first.reference
    assert store.get(first.reference).contact.address == "+33700000001"
    assert store.create_or_update(again) == (store.get(first.reference), False)  # a replay changes nothing
    with store._read() as conn:
        rows = conn.execute(audit_log.select().where(audit_log.c.reference == first.reference)).all()
    assert [(r.action, r.login) for r in rows] == [("plan", "#elle")]
    assert [e.kind for e in store.events_since(0)][-1] == "plan"


def test_she_is_told_her_request_updated_the_open_case(store, outbox, keyring, monkeypatch):
    monkeypatch.setattr(
        "bot.cases.crypto.conversation_id", lambda raw, channel, ring=None: keyring.conversation_id(raw, channel)
    )
    tracker = _tracker()
    existing = store.create(
        replace(
            make_draft(keyring),
            conversation_id=keyring.conversation_id(tracker.sender_id, "web"),
            contact=ContactPlan.validated("email", "autre@exemple.fr"),
        )
    )
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionCreerDossier(HANDOFF, outbox).run(dispatcher, tracker, DOMAIN))
    text = dispatcher.messages[0]["text"]
    assert existing.reference in text and "mise à jour" in text
    assert _slots(events)["dossier_reference"] == existing.reference
    assert store.get(existing.reference).contact.channel == "sms"


def test_withdraw_with_reference_and_code_word(store, keyring):
    case = store.create(make_draft(keyring, "ailleurs"))
    assert store.withdraw_with_code(case.reference, "pas le bon") is None
    assert store.withdraw_with_code("ZZZZ2345", CODE_WORD) is None
    assert store.get(case.reference).is_open
    done = store.withdraw_with_code(case.reference.lower(), "  " + CODE_WORD.upper().replace("-", "-") + " ")
    assert done is not None and done.status == WITHDRAWN and store.get(case.reference).contact is None
    assert store.withdraw_with_code(case.reference, CODE_WORD) is None  # once only
    plain = store.create(
        replace(make_draft(keyring, "sans-code"), contact=ContactPlan.validated("sms", "06 12 34 56 78"))
    )
    assert store.withdraw_with_code(plain.reference, "") is None  # no code word: no match


def test_a_wrong_pair_is_said_plainly_with_a_limited_number_of_tries(store, outbox, keyring):
    case = store.create(make_draft(keyring, "ailleurs"))
    action = ActionRetirerParReference(HANDOFF, outbox)
    tries = 0
    for _ in range(3):
        dispatcher = CollectingDispatcher()
        events = asyncio.run(
            action.run(
                dispatcher,
                _tracker(retrait_reference=case.reference, retrait_code="faux", retrait_essais=tries),
                DOMAIN,
            )
        )
        assert "Je ne trouve pas de demande avec cette référence" in dispatcher.messages[0]["text"]
        tries = _slots(events)["retrait_essais"]
    dispatcher = CollectingDispatcher()
    asyncio.run(
        action.run(
            dispatcher, _tracker(retrait_reference=case.reference, retrait_code=CODE_WORD, retrait_essais=tries), DOMAIN
        )
    )
    assert "Trop d'essais" in dispatcher.messages[0]["text"] and store.get(case.reference).is_open
    # From a fresh conversation, the right pair works (the per-reference limit is 5 a day).
    dispatcher = CollectingDispatcher()
    asyncio.run(
        action.run(
            dispatcher, _tracker(retrait_reference=case.reference, retrait_code=CODE_WORD, retrait_essais=0), DOMAIN
        )
    )
    assert "annulée" in dispatcher.messages[0]["text"] and not store.get(case.reference).is_open
