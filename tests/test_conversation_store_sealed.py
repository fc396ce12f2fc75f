"""Conversations outside memory are unreadable at rest, and lose her contact details once the case exists.

Against the machine's real Redis (database 15, emptied) and PostgreSQL (a database made and
dropped here); the raw values and rows are read directly.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.cases.crypto import KeyRing
from connectors.tracker_store import (
    ErasingInMemoryTrackerStore,
    ErasingRedisTrackerStore,
    ErasingSQLTrackerStore,
    redact_contact,
    reseal_conversations,
)

ROOT = Path(__file__).resolve().parent.parent
REDIS_DB = 15
PG_ADMIN_URL = os.environ.get("ND_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
DOMAIN = Domain.load(str(ROOT / "domain.yml"))

WORDS = "il me frappe depuis des mois"
PHONE_TYPED, PHONE = "06 12 34 56 78", "+33612345678"
EMAIL, CODE_WORD, FIRST_NAME = "claire.secret@exemple.fr", "tournesol", "Solveig"
CONTACT = (PHONE_TYPED, PHONE, "612345678", CODE_WORD, FIRST_NAME, EMAIL)


def ring(*keys: bytes, hmac_key: bytes = b"h" * 32) -> KeyRing:
    return KeyRing(list(keys) or [os.urandom(32)], hmac_key)


def before_case(sender: str) -> list:
    return [
        ActionExecuted("action_listen"),
        UserUttered(WORDS, {"name": "violences", "confidence": 0.9}),
        BotUttered("Je vous entends."),
        ActionExecuted("action_listen"),
        UserUttered("je veux parler à quelqu'un", {"name": "demander_referent", "confidence": 0.9}),
        BotUttered("Voulez-vous ?", {"buttons": [{"title": "Oui", "payload": "/consentir_contact"}]}),
        ActionExecuted("action_listen"),
        UserUttered("/consentir_contact", {"name": "consentir_contact", "confidence": 1.0}),
        ActionExecuted("action_consentir_contact"),
        ActionExecuted("contact_form"),
        ActiveLoop("contact_form"),
        BotUttered("Comment préférez-vous être contactée ?"),
        ActionExecuted("action_listen"),
        UserUttered(
            f"c'est le {PHONE_TYPED} ou {EMAIL}",
            {"name": "informer", "confidence": 0.5},
            [{"entity": "telephone", "value": PHONE_TYPED, "start": 9, "end": 23}],
        ),
        SlotSet("contact_canal", "sms"),
        SlotSet("contact_telephone", {"e164": PHONE, "mobile": True}),
        ActionExecuted("action_listen"),
        UserUttered(CODE_WORD, {"name": "informer", "confidence": 0.4}),
        SlotSet("contact_code", CODE_WORD),
        ActionExecuted("action_listen"),
        UserUttered(FIRST_NAME, {"name": "informer", "confidence": 0.4}),
        SlotSet("contact_prenom", FIRST_NAME),
        ActiveLoop(None),
        ActionExecuted("action_confirmer_contact"),
        BotUttered(f"Je récapitule : {PHONE}, mot de code {CODE_WORD}, prénom {FIRST_NAME}."),
        SlotSet("contact_etape", "confirmation"),
        ActionExecuted("action_listen"),
    ]


def case_created() -> list:
    return [
        UserUttered("/confirmer_contact", {"name": "confirmer_contact", "confidence": 1.0}),
        ActionExecuted("action_creer_dossier"),
        BotUttered("C'est transmis. Votre référence : ND-7K3Q. En danger : le 17."),
        SlotSet("contact_etape", "envoyee"),
        SlotSet("dossier_reference", "ND-7K3Q"),
        SlotSet("contact_telephone", None),
        SlotSet("contact_code", None),
        SlotSet("contact_prenom", None),
        ActionExecuted("action_listen"),
    ]


def tracker(sender: str, events: list) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(sender, events, slots=DOMAIN.slots)


def run(coro):
    return asyncio.run(coro)


# -- stores ----------------------------------------------------------------------------------------
@pytest.fixture
def red():
    client = redis.StrictRedis(host="127.0.0.1", port=6379, db=REDIS_DB)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture(scope="module")
def pg_url():
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    name = f"nd_conv_{secrets.token_hex(5)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def sql_store(pg_url):
    stores = []

    def make(keyring, **kwargs):
        store = ErasingSQLTrackerStore(DOMAIN, host=pg_url, keyring=keyring, **kwargs)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.engine.dispose()
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS events")  # each test starts from an empty database
    engine.dispose()


def raw_redis(client) -> str:
    return "\n".join(f"{k!r} {client.get(k)!r}" for k in client.keys("*"))


def raw_sql(url: str) -> str:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM events").fetchall()
    engine.dispose()
    return "\n".join(repr(tuple(r)) for r in rows)


@pytest.fixture(params=["redis", "postgresql"])
def sealed(request, red, sql_store, pg_url):
    """(store factory taking a key ring, raw dump of what is at rest)."""
    if request.param == "redis":
        return (
            lambda keyring, **kw: ErasingRedisTrackerStore(
                DOMAIN, host="127.0.0.1", port=6379, db=REDIS_DB, keyring=keyring, **kw
            ),
            lambda: raw_redis(red),
        )
    return sql_store, lambda: raw_sql(pg_url)


def dump(t: DialogueStateTracker | None) -> str:
    return json.dumps([e.as_dict() for e in t.events], ensure_ascii=False) if t else ""


# -- sealing ----------------------------------------------------------------------------------------
def test_nothing_readable_at_rest_yet_the_conversation_comes_back(sealed):
    make, raw = sealed
    store = make(ring())
    sender = f"telegram-{secrets.token_hex(4)}"
    run(store.save(tracker(sender, before_case(sender))))
    at_rest = raw()
    assert at_rest  # something was stored
    for secret in (WORDS, "frappe", sender, "violences", "urgence", *CONTACT):
        assert secret not in at_rest, secret
    assert "nd1." in at_rest  # the envelope, with its key id
    back = run(store.retrieve(sender))
    assert WORDS in dump(back) and back.get_slot("contact_code") == CODE_WORD  # not yet a case: kept


def test_sealed_conversation_moved_to_another_does_not_open(red):
    keys = ring()
    store = ErasingRedisTrackerStore(DOMAIN, host="127.0.0.1", port=6379, db=REDIS_DB, keyring=keys)
    run(store.save(tracker("a", before_case("a"))))
    run(store.save(tracker("b", [ActionExecuted("action_listen"), UserUttered("bonjour")])))
    red.set(store._key("b"), red.get(store._key("a")))
    assert run(store.retrieve("b")) is None
    assert run(store.retrieve("a")) is not None


def test_another_key_ring_reads_nothing(sealed):
    make, _ = sealed
    run(make(ring()).save(tracker("c", before_case("c"))))
    # another key, same pseudonym secret: the rows are found but do not open
    assert run(make(ring()).retrieve("c")) is None


def test_rotation_reseals_so_old_keys_can_go(sealed):
    make, raw = sealed
    old, new = os.urandom(32), os.urandom(32)
    run(make(ring(old)).save(tracker("d", before_case("d"))))
    rotated = make(ring(new, old))
    assert rotated.reseal() > 0
    assert rotated.reseal() == 0  # already current
    assert run(make(ring(new)).retrieve("d")) is not None  # the old key is no longer needed
    assert rotated.keyring.current_key_id in raw()


def test_reseal_conversations_follows_the_environment(red, pg_url, sql_store):
    old, new = os.urandom(32), os.urandom(32)
    run(
        ErasingRedisTrackerStore(DOMAIN, host="127.0.0.1", port=6379, db=REDIS_DB, keyring=ring(old)).save(
            tracker("e", before_case("e"))
        )
    )
    run(sql_store(ring(old)).save(tracker("e", before_case("e"))))
    done = reseal_conversations(
        {
            "ND_REDIS_HOST": "127.0.0.1",
            "ND_REDIS_PORT": "6379",
            "ND_REDIS_DB": str(REDIS_DB),
            "ND_TRACKER_DB_URL": pg_url,
        },
        keyring=ring(new, old),
    )
    assert done["redis"] == 1 and done["sql"] >= len(before_case("e"))


# -- erase and idle expiry ---------------------------------------------------------------------------
def test_effacer_removes_every_trace(sealed):
    make, raw = sealed
    store = make(ring())
    run(store.save(tracker("f", before_case("f"))))
    run(store.save(tracker("f", before_case("f") + [UserUttered("effacer"), ActionExecuted("action_effacer")])))
    assert run(store.retrieve("f")) is None
    assert raw() == ""


def test_idle_conversations_are_deleted_in_postgresql(sql_store, pg_url):
    clock = [1_000_000.0]
    store = sql_store(ring(), ttl_minutes=1, clock=lambda: clock[0])
    old = [ActionExecuted("action_listen", timestamp=clock[0] - 120), UserUttered("x", timestamp=clock[0] - 120)]
    recent = [ActionExecuted("action_listen", timestamp=clock[0] - 10), UserUttered("y", timestamp=clock[0] - 10)]
    run(store.save(tracker("old", old)))
    run(store.save(tracker("recent", recent)))
    clock[0] += 31  # past the sweep interval
    assert run(store.retrieve("old")) is None
    assert run(store.retrieve("recent")) is not None


def test_sql_sessions_are_kept_apart(sql_store):
    store = sql_store(ring())
    events = [
        ActionExecuted("action_session_start", timestamp=1.0),
        SessionStarted(timestamp=1.0),
        UserUttered("un", timestamp=2.0),
        ActionExecuted("action_session_start", timestamp=3.0),
        SessionStarted(timestamp=3.0),
        UserUttered("deux", timestamp=4.0),
    ]
    run(store.save(tracker("g", events)))
    assert "deux" in dump(run(store.retrieve("g"))) and 'un"' not in dump(run(store.retrieve("g")))
    assert "un" in dump(run(store.retrieve_full_tracker("g")))


# -- contact details leave the conversation once the case exists ---------------------------------------
@pytest.mark.parametrize("kind", ["memory", "redis", "postgresql"])
def test_once_the_case_exists_no_event_or_slot_holds_her_contact(kind, red, sql_store, pg_url):
    if kind == "memory":
        store, raw = ErasingInMemoryTrackerStore(DOMAIN), (lambda: "")
    elif kind == "redis":
        store = ErasingRedisTrackerStore(DOMAIN, host="127.0.0.1", port=6379, db=REDIS_DB, keyring=ring())
        raw = lambda: raw_redis(red)  # noqa: E731
    else:
        store, raw = sql_store(ring()), (lambda: raw_sql(pg_url))
    sender = "h"
    run(store.save(tracker(sender, before_case(sender))))  # turn by turn, as Rasa does
    saved = run(store.retrieve(sender))
    saved.update_with_events(case_created(), DOMAIN)
    run(store.save(saved))
    back = run(store.retrieve(sender))
    text = dump(back)
    for secret in CONTACT:
        assert secret not in text, secret
    assert all(
        not v for k, v in back.current_slot_values().items() if k.startswith("contact_") and k != "contact_etape"
    )
    assert back.get_slot("dossier_reference") == "ND-7K3Q"
    assert WORDS in text and "ND-7K3Q" in text  # the rest of the conversation is untouched
    assert not any(secret in raw() for secret in CONTACT)
    # and it stays so on the next turns
    back.update_with_events([UserUttered("merci", {"name": "remercier"}), ActionExecuted("action_listen")], DOMAIN)
    run(store.save(back))
    assert not any(secret in dump(run(store.retrieve(sender))) for secret in CONTACT)


def test_a_form_left_without_a_case_is_not_blanked():
    events = [e.as_dict() for e in before_case("i")]
    assert redact_contact(events) == (events, False)


def test_redaction_is_idempotent():
    events = [e.as_dict() for e in before_case("j") + case_created()]
    once, changed = redact_contact(events)
    assert changed
    assert redact_contact(once) == (once, False)


# -- python -m bot rotate-keys re-seals the conversations ----------------------------------------------
def test_rotate_keys_command_reseals_redis_conversations(red, tmp_path, monkeypatch):
    from bot.__main__ import main
    from bot.cases.crypto import load_keyring, reset_default_keyring

    for name in ("ND_CASE_KEYS", "ND_HMAC_KEY", "ND_KEY_FILE", "ND_OUTBOX_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ND_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cases.sqlite3'}")
    monkeypatch.setenv("ND_REDIS_HOST", "127.0.0.1")
    monkeypatch.setenv("ND_REDIS_PORT", "6379")
    monkeypatch.setenv("ND_REDIS_DB", str(REDIS_DB))
    reset_default_keyring()
    try:
        first = load_keyring()
        store = ErasingRedisTrackerStore(DOMAIN, host="127.0.0.1", port=6379, db=REDIS_DB, keyring=first)
        run(store.save(tracker("k", before_case("k"))))
        assert main(["rotate-keys"]) == 0
        rotated = load_keyring()
        assert rotated.current_key_id != first.current_key_id
        assert rotated.is_current(red.get(store._key("k")).decode())
        assert main(["rotate-keys", "--drop-old"]) == 0
        only_new = load_keyring()
        assert only_new.key_ids == [rotated.current_key_id]
        back = run(
            ErasingRedisTrackerStore(DOMAIN, host="127.0.0.1", port=6379, db=REDIS_DB, keyring=only_new).retrieve("k")
        )
        assert back is not None and WORDS in dump(back)
    finally:
        reset_default_keyring()


def test_locks_are_filed_under_the_pseudonym(red):
    from connectors.tracker_store import PseudonymousRedisLockStore

    class Config:
        url, kwargs = "127.0.0.1", {"port": "6379", "db": str(REDIS_DB)}

    store = PseudonymousRedisLockStore(Config(), keyring=ring())

    async def hold() -> str:
        async with store.lock("telegram-123456789"):
            return raw_redis(red)

    during = run(hold())
    assert during and "123456789" not in during
    assert raw_redis(red) == ""  # released and removed


def test_a_slow_case_write_also_blanks_the_plan():
    slow = [
        UserUttered("/confirmer_contact", {"name": "confirmer_contact"}),
        ActionExecuted("action_creer_dossier"),
        BotUttered("Votre demande est en cours d'enregistrement."),
        SlotSet("contact_etape", "enregistrement:ND-7K3Q:sms:normal"),
        SlotSet("contact_code", None),
    ]
    events, changed = redact_contact([e.as_dict() for e in before_case("l") + slow])
    assert changed
    text = json.dumps(events, ensure_ascii=False)
    assert not any(secret in text for secret in CONTACT) and WORDS in text
