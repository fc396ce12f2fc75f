"""python -m bot purge / rotate-keys / migrate / flush-outbox."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.__main__ import main
from bot.cases.crypto import KeyRing, UnknownKeyError, load_keyring
from bot.cases.model import CLOSED, utcnow
from bot.cases.outbox import Outbox
from bot.cases.schema import cases
from bot.cases.store import CaseStore, make_engine
from tests.cases_support import (  # noqa: F401
    NOTE,
    _case_env,
    db_url,
    dead_url,
    make_draft,
    pg_database,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def env_db(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    return db_url


def envelopes(url: str) -> list[str]:
    engine = make_engine(url)
    with engine.connect() as c:
        rows = c.exec_driver_sql(
            "SELECT contact_enc, eligibility_enc, danger_signals_enc, outcome_enc FROM cases "
            "UNION ALL SELECT body_enc, NULL, NULL, NULL FROM case_notes"
        ).all()
    engine.dispose()
    return [t for row in rows for t in row if t is not None]


def seed_closed_cases(url: str, days_ago: int, count: int) -> list[str]:
    store = CaseStore(url)
    refs = []
    for i in range(count):
        case = store.create(make_draft(store.keyring, f"old-{days_ago}-{i}"))
        store.update_status(case.reference, CLOSED)
        refs.append(case.reference)
    # Move the closing back in time rather than waiting for it.
    closed_at = utcnow() - dt.timedelta(days=days_ago)
    with store.engine.begin() as c:
        c.execute(sa.update(cases).where(cases.c.reference.in_(refs)).values(closed_at=closed_at))
    store.close()
    return refs


def test_purge_command(env_db, monkeypatch, capsys):
    old = seed_closed_cases(env_db, 32, 2)
    recent = seed_closed_cases(env_db, 20, 1)
    assert main(["purge"]) == 0  # ND_RETENTION_DAYS unset: 30 days
    assert "2 dossier(s)" in capsys.readouterr().out
    store = CaseStore(env_db)
    assert [store.get(r) for r in old] == [None, None] and store.get(recent[0]).status == CLOSED
    monkeypatch.setenv("ND_RETENTION_DAYS", "10")
    assert main(["purge"]) == 0
    assert "1 dossier(s)" in capsys.readouterr().out
    assert store.get(recent[0]) is None
    store.close()


def test_purge_through_the_entry_point(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ND_CASE_KEYS", "ND_HMAC_KEY")}
    env["ND_STATE_DIR"] = str(tmp_path / "state")
    out = subprocess.run(
        [sys.executable, "-m", "bot", "purge", "--days", "7"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "0 dossier(s)" in out.stdout and "7 jours" in out.stdout
    assert (tmp_path / "state" / "cases.sqlite3").exists()


def test_unreachable_database_is_reported(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", dead_url())
    monkeypatch.setenv("ND_DB_TIMEOUT_SECONDS", "2")
    assert main(["purge"]) == 1
    err = capsys.readouterr().err
    assert "indisponible" in err and "Traceback" not in err


def test_migrate_command(env_db, capsys):
    assert main(["migrate"]) == 0
    assert "0003" in capsys.readouterr().out


def test_rotate_keys_reencrypts_everything(env_db, tmp_path, capsys):
    store = CaseStore(env_db)
    old_ring = store.keyring
    old_id = old_ring.current_key_id
    a = store.create(make_draft(old_ring, "a", signals=["danger"]))
    store.add_note(a, "referent.95", NOTE)
    outbox = Outbox(store)
    down = CaseStore(dead_url(), keyring=old_ring, timeout=1)
    Outbox(down, attempts=1).submit(make_draft(old_ring, "waiting"))
    assert {old_ring.token_key_id(t) for t in envelopes(env_db)} == {old_id}

    assert main(["rotate-keys"]) == 0
    assert "rechiffré" in capsys.readouterr().out
    ring = load_keyring()
    new_id = ring.current_key_id
    assert ring.key_ids == [new_id, old_id]
    assert {ring.token_key_id(t) for t in envelopes(env_db)} == {new_id}
    [pending] = outbox.directory.glob("*.case")
    assert ring.token_key_id(pending.read_text()) == new_id

    assert main(["rotate-keys", "--drop-old"]) == 0
    ring = load_keyring()
    assert ring.key_ids == [new_id]
    fresh = CaseStore(env_db, keyring=ring)
    assert fresh.get(a.reference).contact.code_word == a.contact.code_word
    assert [n.text for n in fresh.notes(a.reference)] == [NOTE]
    assert fresh.get(a.reference).conversation_id == ring.conversation_id("a", "web")  # HMAC kept
    assert Outbox(fresh).flush().replayed == 1
    # The old key alone opens nothing any more.
    only_old = CaseStore(env_db, keyring=KeyRing([old_ring._keys[old_id]], os.urandom(32)))
    with pytest.raises(UnknownKeyError):
        only_old.get(a.reference)
    for s in (store, fresh, only_old, down):
        s.close()


def test_drop_old_refused_while_data_still_needs_them(env_db, capsys):
    store = CaseStore(env_db)
    assert main(["rotate-keys"]) == 0
    # A server started before the rotation still writes with the old key.
    store.create(make_draft(store.keyring, "late"))
    capsys.readouterr()
    assert main(["rotate-keys", "--drop-old"]) == 1
    assert "ancienne clé" in capsys.readouterr().err
    assert len(load_keyring().key_ids) == 2
    assert main(["rotate-keys"]) == 0 and main(["rotate-keys", "--drop-old"]) == 0
    store.close()


def test_rotate_keys_with_keys_in_the_environment(env_db, monkeypatch, capsys):
    from bot.cases.crypto import generate_key

    k_old = generate_key()
    monkeypatch.setenv("ND_CASE_KEYS", k_old)
    store = CaseStore(env_db)
    case = store.create(make_draft(store.keyring))
    assert main(["rotate-keys", "--generate"]) == 0
    k_new = capsys.readouterr().out.strip()
    monkeypatch.setenv("ND_CASE_KEYS", f"{k_new},{k_old}")
    assert main(["rotate-keys"]) == 0
    ring = load_keyring()
    assert {ring.token_key_id(t) for t in envelopes(env_db)} == {ring.current_key_id}
    monkeypatch.setenv("ND_CASE_KEYS", k_new)
    assert CaseStore(env_db, keyring=load_keyring()).get(case.reference).contact == case.contact
    store.close()


def test_check_knowledge_still_works(capsys):
    assert main(["check-knowledge"]) == 0
    assert "sujets" in capsys.readouterr().out


def test_key_file_is_json_with_private_rights(env_db, tmp_path):
    main(["migrate"])
    path = tmp_path / "state" / "keys" / "case.keys"
    data = json.loads(path.read_text())
    assert len(data["case_keys"]) == 1 and data["hmac_key"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_flush_outbox_command(env_db, capsys):
    ring = load_keyring()
    down = CaseStore(dead_url(), keyring=ring, timeout=1)
    pending = Outbox(down, attempts=1).submit(make_draft(ring, "waiting"))
    assert pending.pending
    assert main(["flush-outbox"]) == 0
    assert "1 demande(s) transmise(s)" in capsys.readouterr().out
    assert CaseStore(env_db, keyring=ring).get(pending.reference).status == "nouveau"
    down.close()
