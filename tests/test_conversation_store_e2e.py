"""`make run-scaled` for real (two Rasa workers, Redis, the action server): after a consented
handoff, the raw Redis keys and values hold none of her words or contact details, and the
stored conversation, opened with the service's own keys, no longer holds the contact plan."""

from __future__ import annotations

import json
import uuid

import redis

from bot.cases.crypto import load_keyring
from connectors.tracker_store import PSEUDONYM_CHANNEL, REDIS_KEY_PREFIX, SEAL_FIELD

PHONE_TYPED, PHONE = "06 12 34 56 78", "+33612345678"
CODE_WORD, FIRST_NAME = "tournesol", "Sarah"
CONTACT = (PHONE_TYPED, PHONE, "612345678", CODE_WORD, FIRST_NAME)


def raw_redis(db: int) -> str:
    client = redis.StrictRedis(host="127.0.0.1", port=6379, db=db)
    return "\n".join(f"{k!r} {client.get(k)!r}" for k in client.keys("*") if client.type(k) == b"string")


def test_after_a_handoff_redis_holds_nothing_readable_and_no_contact_plan(scaled_bot):
    bot, sender = scaled_bot, f"test-{uuid.uuid4().hex[:12]}"
    assert bot.text(sender, "il me frappe depuis des mois, j'ai peur")
    offer = bot.say(sender, "je voudrais parler à quelqu'un")
    assert "/consentir_contact" in [b["payload"] for m in offer for b in m.get("buttons", [])]
    assert "Comment préférez-vous être contactée" in bot.text(sender, "oui")
    assert "À quel numéro" in bot.text(sender, "par sms")
    assert "À quels moments" in bot.text(sender, f"c'est le {PHONE_TYPED}")
    assert "laisser un message" in bot.text(sender, "le matin ou le soir")
    assert "mot de code" in bot.text(sender, "non")
    bot.text(sender, CODE_WORD)
    recap = bot.text(sender, FIRST_NAME)
    assert PHONE in recap and CODE_WORD in recap
    # Before the case, the conversation in Redis is sealed: nothing readable.
    at_rest = raw_redis(12)
    assert at_rest and "nd1." in at_rest
    for secret in (*CONTACT, "frappe", "parler", sender):
        assert secret not in at_rest, secret
    done = bot.text(sender, "/confirmer_contact")
    assert "Votre référence" in done
    at_rest = raw_redis(12) + raw_redis(13)
    for secret in (*CONTACT, "frappe", "parler", "matin", sender):
        assert secret not in at_rest, secret
    # Opened with the service's keys: the plan has left the conversation, the rest is there.
    ring = load_keyring({"ND_STATE_DIR": str(bot.state_dir)})
    pseudonym = ring.conversation_id(sender, PSEUDONYM_CHANNEL)
    sealed = redis.StrictRedis(host="127.0.0.1", port=6379, db=12).get(REDIS_KEY_PREFIX + pseudonym)
    conversation = json.loads(ring.decrypt(sealed.decode(), case_id=pseudonym, field=SEAL_FIELD))
    text = json.dumps(conversation, ensure_ascii=False)
    for secret in CONTACT:
        assert secret not in text, secret
    assert "il me frappe" in text and "Votre référence" in text
    # the next turns do not bring it back, and « effacer » still erases
    bot.text(sender, "merci")
    assert "effac" in bot.text(sender, "effacer").lower()
    assert redis.StrictRedis(host="127.0.0.1", port=6379, db=12).get(REDIS_KEY_PREFIX + pseudonym) is None


# -- the sealed PostgreSQL store under a really started Rasa -----------------------------------------
import os  # noqa: E402
import secrets  # noqa: E402

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from tests.conftest import _start_bot  # noqa: E402

PG_ADMIN_URL = os.environ.get("ND_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="module")
def sql_bot(tmp_path_factory):
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    name = f"nd_conv_e2e_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    endpoints = tmp_path_factory.mktemp("endpoints") / "endpoints.sql.yml"
    endpoints.write_text(
        "action_endpoint:\n  url: ${ND_ACTION_ENDPOINT}\n  token: ${ND_ACTION_TOKEN}\n"
        "tracker_store:\n  type: connectors.tracker_store.ErasingSQLTrackerStore\n"
        "  url: ${ND_TRACKER_DB_URL}\n"
    )
    try:
        for bot in _start_bot(
            tmp_path_factory, extra_env={"ND_TRACKER_DB_URL": url}, rasa_args=("--endpoints", str(endpoints))
        ):  # the last --endpoints wins
            bot.db_url = url
            yield bot
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_postgresql_rows_hold_nothing_readable_and_the_conversation_goes_on(sql_bot):
    sender = f"test-{uuid.uuid4().hex[:12]}"
    assert "département" in sql_bot.text(sender, "est-ce que le pack nouveau départ existe chez moi ?").lower()
    assert "Bouches-du-Rhône (13)" in sql_bot.text(sender, "Marseille")  # the pending question came back
    assert "17" in sql_bot.text(sender, "il rentre, il va me tuer")
    engine = sa.create_engine(sql_bot.db_url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM events").fetchall()
    engine.dispose()
    raw = "\n".join(repr(tuple(r)) for r in rows)
    assert len(rows) > 5 and "nd1." in raw
    for secret in ("Marseille", "tuer", "pack", sender, "urgence", "action_territoire"):
        assert secret not in raw, secret
    assert "effac" in sql_bot.text(sender, "effacer").lower()
    engine = sa.create_engine(sql_bot.db_url)
    with engine.connect() as conn:
        left = conn.exec_driver_sql("SELECT count(*) FROM events").scalar()
    engine.dispose()
    assert left == 0
