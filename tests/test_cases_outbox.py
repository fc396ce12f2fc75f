"""Outbox: the store dies mid-creation, requests wait encrypted on disk, flush replays
them: no request lost, none duplicated, a withdrawal always wins over older requests."""

import sqlite3
import stat
import threading
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from bot.cases.model import NEW, WITHDRAWN
from bot.cases.outbox import Outbox
from bot.cases.store import StoreUnavailable, make_engine
from tests.cases_support import (  # noqa: F401
    PG_ADMIN_URL,
    SECRETS,
    _case_env,
    clock,
    db_url,
    dead_url,
    keyring,
    make_draft,
    pg_database,
    store,
)


@pytest.fixture
def outbox(store, tmp_path):
    return Outbox(store, tmp_path / "outbox", attempts=3, backoff=0.25, sleep=lambda s: None, clock=store.clock)


@contextmanager
def database_down(store):
    real = store.engine
    store.engine = make_engine(dead_url(), timeout=1)
    try:
        yield
    finally:
        store.engine.dispose()
        store.engine = real


@contextmanager
def killed_mid_creation(store):
    """The database dies after the case row is sent, before the commit."""
    admin = sa.create_engine(PG_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT")

    def kill(conn, cursor, statement, *_):
        if not statement.lstrip().upper().startswith("INSERT INTO CASE_EVENTS"):
            return
        if conn.dialect.name == "postgresql":
            pid = cursor.connection.get_backend_pid()
            with admin.connect() as c:
                c.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        else:
            raise sqlite3.OperationalError("disk I/O error")

    event.listen(store.engine, "before_cursor_execute", kill)
    try:
        yield
    finally:
        event.remove(store.engine, "before_cursor_execute", kill)
        admin.dispose()


def cases_of(store, conversation_id):
    return [c for c in store.list_queue(statuses=[NEW, WITHDRAWN]) if c.conversation_id == conversation_id]


def test_database_down_then_flush(store, outbox, keyring):
    draft = make_draft(keyring)
    with database_down(store):
        first = outbox.submit(draft)
        again = outbox.submit(make_draft(keyring))  # she retries while it is down
    assert first.pending and again.pending and first.case is None
    assert again.reference == first.reference
    [path] = list(outbox.directory.glob("*.case"))
    assert path.name == f"{draft.conversation_id}.case"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(outbox.directory.stat().st_mode) == 0o700
    assert not [s for s in SECRETS if s in path.read_text()]

    report = outbox.flush()
    assert (report.replayed, report.remaining, report.quarantined) == (1, 0, 0)
    assert not list(outbox.directory.glob("*.case"))
    [case] = cases_of(store, draft.conversation_id)
    assert case.reference == first.reference  # the reference she was given is the real one
    assert outbox.flush().replayed == 0
    assert outbox.submit(make_draft(keyring)).reference == first.reference
    assert len(cases_of(store, draft.conversation_id)) == 1


def test_store_killed_mid_creation(store, outbox, keyring):
    draft = make_draft(keyring, signals=["danger"])
    with killed_mid_creation(store):
        result = outbox.submit(draft)
    assert result.pending
    assert store.list_queue() == []  # rolled back: nothing half-written
    assert store.events_since() == []
    assert outbox.flush().replayed == 1
    [case] = store.list_queue()
    assert case.reference == result.reference and case.priority == "urgent"
    assert len(store.events_since()) == 1
    assert outbox.flush().replayed == 0 and len(store.list_queue()) == 1


def test_commit_done_but_answer_lost(store, outbox, keyring, monkeypatch):
    real_create = store.create_or_update

    def create_then_fail(draft):
        real_create(draft)
        raise StoreUnavailable("connexion perdue après le commit")

    monkeypatch.setattr(store, "create_or_update", create_then_fail)
    result = outbox.submit(make_draft(keyring))
    assert result.pending
    monkeypatch.setattr(store, "create_or_update", real_create)
    assert [c.reference for c in store.list_queue()] == [result.reference]
    assert outbox.flush().replayed == 1
    assert [c.reference for c in store.list_queue()] == [result.reference]  # no duplicate
    assert len(store.events_since()) == 1


def test_short_outage_absorbed_by_retries(store, keyring, tmp_path, monkeypatch):
    waits = []
    outbox = Outbox(store, tmp_path / "outbox", attempts=3, backoff=0.25, sleep=waits.append)
    real_create, calls = store.create_or_update, []

    def flaky(draft):
        calls.append(1)
        if len(calls) < 3:
            raise StoreUnavailable("pas encore")
        return real_create(draft)

    monkeypatch.setattr(store, "create_or_update", flaky)
    result = outbox.submit(make_draft(keyring))
    assert not result.pending and result.case is not None
    assert waits == [0.25, 0.5]
    assert outbox.pending() == []


def test_withdraw_while_down_cancels_the_waiting_request(store, outbox, keyring):
    draft = make_draft(keyring)
    with database_down(store):
        outbox.submit(draft)
        result = outbox.withdraw(draft.conversation_id)
    assert result.status == "pending"
    outbox.flush()
    assert cases_of(store, draft.conversation_id) == []  # never created
    assert outbox.pending() == []


def test_withdraw_while_down_then_a_new_request(store, outbox, keyring, clock):
    old = outbox.submit(make_draft(keyring))
    assert not old.pending
    clock.advance(minutes=1)
    with database_down(store):
        assert outbox.withdraw(old.case.conversation_id).status == "pending"
    clock.advance(minutes=1)
    new = outbox.submit(make_draft(keyring))  # the database is back: the withdrawal goes first
    assert not new.pending and new.reference != old.reference
    assert store.get(old.reference).status == WITHDRAWN
    assert store.get(old.reference).contact is None
    assert store.get(new.reference).status == NEW
    assert outbox.pending() == []
    outbox.flush()
    assert store.get(new.reference).status == NEW


def test_withdraw_while_down_of_a_stored_case(store, outbox, keyring, clock):
    case = outbox.submit(make_draft(keyring)).case
    clock.advance(minutes=1)
    with database_down(store):
        outbox.withdraw(case.conversation_id)
        assert outbox.flush().remaining == 1  # still down: kept
    assert store.get(case.reference).status == NEW
    assert outbox.flush().replayed == 1
    assert store.get(case.reference).status == WITHDRAWN
    assert outbox.withdraw(case.conversation_id).status == "done"  # twice: fine


def test_damaged_file_is_quarantined_and_the_others_replayed(store, outbox, keyring):
    a, b = make_draft(keyring, "a"), make_draft(keyring, "b")
    with database_down(store):
        outbox.submit(a)
        outbox.submit(b)
    path = outbox.directory / f"{a.conversation_id}.case"
    path.write_text(path.read_text()[:-4] + "AAAA")
    report = outbox.flush()
    assert (report.replayed, report.quarantined) == (1, 1)
    assert (outbox.directory / "quarantine" / path.name).exists()
    assert [c.conversation_id for c in store.list_queue()] == [b.conversation_id]


def test_concurrent_flushes_do_not_duplicate(store, outbox, keyring):
    drafts = [make_draft(keyring, f"chat-{i}") for i in range(6)]
    with database_down(store):
        for d in drafts:
            outbox.submit(d)
    assert len(outbox.pending()) == 6
    threads = [threading.Thread(target=outbox.flush) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outbox.pending() == []
    assert sorted(c.conversation_id for c in store.list_queue()) == sorted(d.conversation_id for d in drafts)
    assert len(store.events_since()) == 6


def test_background_flusher(store, outbox, keyring):
    with database_down(store):
        outbox.submit(make_draft(keyring))
    stop = outbox.start_flusher(interval=0.05)
    try:
        for _ in range(100):
            if not outbox.pending():
                break
            threading.Event().wait(0.05)
    finally:
        stop.set()
    assert outbox.pending() == [] and len(store.list_queue()) == 1


def test_a_refused_replay_is_kept_and_does_not_block_the_others(store, outbox, keyring, monkeypatch):
    a, b = make_draft(keyring, "a"), make_draft(keyring, "b")
    with database_down(store):
        outbox.submit(a)
        outbox.submit(b)
    real_create = store.create

    def refuse_a(draft):
        if draft.conversation_id == a.conversation_id:
            raise RuntimeError("bug")
        return real_create(draft)

    monkeypatch.setattr(store, "create", refuse_a)
    report = outbox.flush()
    assert (report.replayed, report.remaining) == (1, 1)
    assert outbox.pending() == [a.conversation_id]
    monkeypatch.setattr(store, "create", real_create)
    assert outbox.flush().replayed == 1 and len(store.list_queue()) == 2


def test_outbox_logs_carry_no_personal_value(store, outbox, keyring, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    draft = make_draft(keyring)
    with database_down(store):
        outbox.submit(draft)
        outbox.withdraw(draft.conversation_id)
        outbox.submit(make_draft(keyring))
    outbox.flush()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "attente" in text
    assert not [s for s in SECRETS if s in text]
    assert draft.conversation_id not in text and "chat-42" not in text
