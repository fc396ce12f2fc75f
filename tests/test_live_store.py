"""The live takeover's store and wording (SQLite and PostgreSQL, a fixed clock): sealed exchange,
one holder, one expiry claim, erased with her case, re-sealed by key rotation; what she reads."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot import live
from bot.cases.model import CLOSED, IN_PROGRESS, TAKEN
from bot.live.store import LiveStore, NotJoinable
from tests.cases_support import (  # noqa: F401
    SECRETS,
    _case_env,
    clock,
    db_url,
    keyring,
    make_draft,
    pg_database,
    store,
)


def waiting(store, keyring, clock, raw="chat-live", channel="socketio", minutes=10.0):
    case = store.create(make_draft(keyring, raw))
    lv = LiveStore(store)
    lv.request(case.reference, case.conversation_id, channel, "session-id-" + raw, minutes)
    return lv, case


def test_the_exchange_is_sealed_and_read_back_in_order(store, keyring, clock):
    lv, case = waiting(store, keyring, clock)
    lv.join(case.reference, "alice")
    lv.add_message(case.reference, live.REFERENT, "Bonjour, je suis Claire", login="alice")
    clock.advance(seconds=1)
    lv.add_message(case.reference, live.HER, "je suis seule ce soir")
    assert [m.text for m in lv.messages(case.reference)] == ["Bonjour, je suis Claire", "je suis seule ce soir"]
    with store.engine.connect() as conn:
        rows = [tuple(map(str, r)) for r in conn.execute(sa.text("SELECT * FROM live_messages"))]
        rows += [tuple(map(str, r)) for r in conn.execute(sa.text("SELECT * FROM live_sessions"))]
    dump = repr(rows)
    assert "seule ce soir" not in dump and "Claire" not in dump and "session-id-chat-live" not in dump
    assert lv.active_for(case.conversation_id).sender_id == "session-id-chat-live"


def test_only_one_referent_holds_it_and_only_the_holder_hands_back(store, keyring, clock):
    lv, case = waiting(store, keyring, clock)
    assert lv.join(case.reference, "alice").held
    with pytest.raises(NotJoinable) as refused:
        lv.join(case.reference, "ines")
    assert refused.value.holder == "alice"
    assert lv.end(case.reference, "ines") is None  # not hers to hand back
    assert lv.end(case.reference, "alice").state == live.ENDED
    with pytest.raises(NotJoinable):
        lv.join(case.reference, "alice")  # nobody waits any more


def test_a_wait_expires_once_at_its_deadline_and_telegram_may_still_be_joined(store, keyring, clock):
    lv, case = waiting(store, keyring, clock, channel="telegram", minutes=10)
    clock.advance(minutes=9)
    assert lv.expire_due() == []
    clock.advance(minutes=2)
    assert [s.reference for s in lv.expire_due()] == [case.reference]
    assert lv.expire_due() == []  # claimed once, whichever worker asks
    assert lv.get(case.reference).state == live.EXPIRED
    assert lv.join(case.reference, "alice").held  # the chat stays open: a référent may answer later


def test_the_exchange_goes_with_her_case_withdrawn_or_purged(store, keyring, clock):
    lv, case = waiting(store, keyring, clock)
    lv.add_message(case.reference, live.HER, "un message")
    store.withdraw(case.reference)
    assert lv.get(case.reference) is None and lv.messages(case.reference) == []
    lv2, other = waiting(store, keyring, clock, raw="chat-2")
    lv2.add_message(other.reference, live.HER, "autre")
    for status in (TAKEN, IN_PROGRESS, CLOSED):
        store.update_status(other.reference, status, outcome="contactée" if status == CLOSED else None)
    clock.advance(days=31)
    assert store.purge(30) == 2  # the withdrawn one and the closed one
    assert lv2.messages(other.reference) == [] and lv2.get(other.reference) is None


def test_key_rotation_reseals_the_exchange(store, keyring, clock, db_url):
    import os

    from bot.cases.crypto import KeyRing
    from bot.cases.store import CaseStore

    lv, case = waiting(store, keyring, clock)
    lv.add_message(case.reference, live.HER, "avant rotation")
    lv.set_address(case.conversation_id, "7364519200")
    old = keyring._keys[keyring.current_key_id]
    rotated = CaseStore(db_url, keyring=KeyRing([os.urandom(32), old], keyring._hmac_key), clock=clock)
    assert rotated.count_stale() >= 3  # (the case's own fields too)
    rotated.reencrypt()
    assert rotated.count_stale() == 0
    again = LiveStore(rotated)
    assert again.messages(case.reference)[0].text == "avant rotation"
    assert again.address(case.reference) == "7364519200"
    rotated.close()


def test_live_events_reach_the_feed_without_text(store, keyring, clock):
    start = store.last_event_id()
    lv, case = waiting(store, keyring, clock)
    lv.add_message(case.reference, live.HER, "au secours il arrive", danger=True)
    kinds = [e.kind for e in store.events_since(start)]
    assert kinds == ["cree", "direct", "direct_danger"]


def test_what_she_reads():
    assert "Gardez cette page ouverte" in live.waiting_text("socketio", 10)
    assert "10 minutes" in live.waiting_text("socketio", 10)
    assert "plus tard" in live.waiting_text("telegram", 10) and "page" not in live.waiting_text("telegram", 10)
    fallback = live.expired_text("socketio")
    for needed in ("3919", "24 h/24", "13 h à 20 h", "114", "17", "recontactée"):
        assert needed in fallback
    assert live.joined_text("Claire").startswith("Claire, référente, a rejoint la conversation")
    assert "de nouveau avec l'assistant" in live.left_text("Claire")
    for erase in ("effacer", "Effacer", "/effacer", " effacer ! ", "effacer la conversation"):
        assert live.is_erase(erase), erase
    for other in ("il faut effacer mes traces ?", "bonjour"):
        assert not live.is_erase(other), other
    assert live.wait_minutes({}) == 10 and live.wait_minutes({"ND_LIVE_WAIT_MINUTES": "0.5"}) == 0.5
    assert live.wait_minutes({"ND_LIVE_WAIT_MINUTES": "beaucoup"}) == 10
    with pytest.raises(ValueError):
        live.clean_operator_text("   ")
    with pytest.raises(ValueError):
        live.clean_operator_text("x" * 2001)
