"""Retention that runs: the scheduler purges, replays the outbox at start and every minute, and
flags late cases once a day; `python -m bot scheduler` really started replays a waiting request."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager

from bot.cases.crypto import load_keyring
from bot.cases.model import CLOSED, IN_PROGRESS, NEW
from bot.cases.outbox import Outbox
from bot.cases.scheduler import LATE, Scheduler, flag_late
from bot.cases.schema import audit_log
from bot.cases.store import CaseStore, make_engine
from tests.cases_support import (  # noqa: F401
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
from tests.conftest import ROOT

TARGETS = {"urgent": 1, "high": 24, "normal": 120}


@contextmanager
def database_down(store):
    real = store.engine
    store.engine = make_engine(dead_url(), timeout=1)
    try:
        yield
    finally:
        store.engine.dispose()
        store.engine = real


def scheduler_for(store, tmp_path, clock):
    outbox = Outbox(store, tmp_path / "outbox", attempts=1, sleep=lambda s: None, clock=clock)
    return Scheduler(store, outbox, targets=TARGETS, retention_days=30, clock=clock), outbox


def test_each_job_runs_at_start_then_on_its_period(store, keyring, clock, tmp_path):
    jobs, outbox = scheduler_for(store, tmp_path, clock)
    assert set(jobs.tick()) == {"outbox", "purge", "retard"}  # at start, everything
    assert jobs.tick() == {}  # nothing due a second later
    with database_down(store):
        assert outbox.submit(make_draft(keyring, "a")).pending
    clock.advance(seconds=61)
    assert jobs.tick() == {"outbox": 1}  # the minute's replay
    assert store.open_case(keyring.conversation_id("a", "web")) is not None
    clock.advance(hours=24)
    assert set(jobs.tick()) == {"outbox", "purge", "retard"}


def test_a_job_that_fails_is_retried_at_the_next_tick(store, keyring, clock, tmp_path):
    jobs, _ = scheduler_for(store, tmp_path, clock)
    with database_down(store):
        done = jobs.tick()
    assert "purge" not in done and "retard" not in done
    assert set(jobs.tick()) >= {"purge", "retard"}  # the database is back


def test_purge_erases_what_retention_allows(store, keyring, clock, tmp_path):
    jobs, _ = scheduler_for(store, tmp_path, clock)
    old = store.create(make_draft(keyring, "old")).reference
    store.update_status(old, IN_PROGRESS)
    store.update_status(old, CLOSED, outcome="contactée")
    recent = store.create(make_draft(keyring, "recent")).reference
    clock.advance(days=31)
    assert jobs.tick()["purge"] == 1
    assert store.get(old) is None and store.get(recent) is not None


def test_late_cases_are_flagged_once_and_only_when_still_waiting(store, keyring, clock, tmp_path):
    urgent = store.create(make_draft(keyring, "u", signals=["danger"])).reference
    normal = store.create(make_draft(keyring, "n")).reference
    contacted = store.create(make_draft(keyring, "c", signals=["danger"])).reference
    store.update_status(contacted, IN_PROGRESS)
    clock.advance(hours=2)  # past the urgent target only
    late = flag_late(store, TARGETS, clock())
    assert [c.reference for c in late] == [urgent]
    flag_late(store, TARGETS, clock.advance(days=6))  # now the normal one too; urgent not twice
    with store._read() as conn:
        rows = conn.execute(audit_log.select().where(audit_log.c.action == LATE)).all()
    assert sorted(r.reference for r in rows) == sorted([urgent, normal])
    assert all(r.login == "#planificateur" for r in rows)
    assert store.get(normal).status == NEW  # flagged, not moved: a person decides


def test_the_scheduler_process_replays_the_outbox_at_start(tmp_path, monkeypatch):
    state = tmp_path / "state"
    env = {**os.environ, "ND_STATE_DIR": str(state)}
    for name in ("DATABASE_URL", "ND_CASE_KEYS", "ND_HMAC_KEY", "ND_KEY_FILE", "ND_OUTBOX_DIR"):
        env.pop(name, None)
    ring = load_keyring({"ND_STATE_DIR": str(state)})
    store = CaseStore(f"sqlite:///{state / 'cases.sqlite3'}", keyring=ring)
    dead = CaseStore(dead_url(), keyring=ring, timeout=1)
    waiting = Outbox(dead, state / "outbox", attempts=1, sleep=lambda s: None).submit(make_draft(ring, "la-nuit"))
    assert waiting.pending and store.get(waiting.reference) is None
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "scheduler"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while store.get(waiting.reference) is None and time.monotonic() < deadline:
            time.sleep(0.3)
        assert store.get(waiting.reference) is not None  # replayed at start, no new case needed
        assert proc.poll() is None  # and it keeps running
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0
    for secret in SECRETS:
        assert secret not in out  # nothing personal in its log
