"""Fixtures for the case store tests (imported by the test_cases_* modules).

`db_url` runs a test on SQLite and on PostgreSQL. PostgreSQL is the server on
127.0.0.1:5432 (ND_TEST_PG_ADMIN_URL to change it); the session creates its
own database `nd_test_<random>` and drops it at the end. An unreachable
server fails the PostgreSQL tests: CI has one, a skip would hide a regression.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket

import pytest
import sqlalchemy as sa

from bot.cases.crypto import KeyRing, reset_default_keyring
from bot.cases.model import CaseDraft, ContactPlan
from bot.cases.store import CaseStore, make_engine

PG_ADMIN_URL = os.environ.get("ND_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
CASE_ENV = (
    "DATABASE_URL",
    "ND_CASE_KEYS",
    "ND_HMAC_KEY",
    "ND_KEY_FILE",
    "ND_OUTBOX_DIR",
    "ND_RETENTION_DAYS",
    "ND_DB_TIMEOUT_SECONDS",
)

# Personal values that must never appear in clear anywhere in the database.
PHONE_TYPED, PHONE = "06 12 34 56 78", "+33612345678"
EMAIL = "claire.secret@exemple.fr"
CODE_WORD = "Hirondelle-Bleue"
FIRST_NAME = "Solveig"
TIME_WINDOW = "mardi entre 14h et 15h30"
ANSWER = "hébergée chez ma sœur Bérénice"
NOTE = "Rappel prévu, voisine de confiance Ophélie"
OUTCOME = "orientée vers le CHRS Tournesol"
SECRETS = (
    PHONE,
    PHONE.lstrip("+"),
    "612345678",
    EMAIL,
    CODE_WORD,
    FIRST_NAME,
    TIME_WINDOW,
    ANSWER,
    NOTE,
    OUTCOME,
    "Bérénice",
    "Ophélie",
    "Tournesol",
)


@pytest.fixture(autouse=True)
def _case_env(tmp_path, monkeypatch):
    """Never touch the repository's var/ nor a developer's keys."""
    for name in CASE_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ND_STATE_DIR", str(tmp_path / "state"))
    reset_default_keyring()  # the process-wide ring follows this test's key file
    yield
    reset_default_keyring()


class Clock:
    def __init__(self, start: dt.datetime | None = None):
        self.now = start or dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dead_url() -> str:
    """A PostgreSQL URL on a port nobody listens on: refused at once."""
    return f"postgresql://postgres@127.0.0.1:{free_port()}/nd_nowhere"


@pytest.fixture(scope="session")
def pg_database():
    url = sa.engine.make_url(PG_ADMIN_URL)
    name = f"nd_test_{secrets.token_hex(5)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", future=True, connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL injoignable sur {url.host}:{url.port} ({type(exc).__name__}) : "
            "les tests PostgreSQL en ont besoin (ND_TEST_PG_ADMIN_URL)",
            pytrace=False,
        )
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _truncate(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            exists = conn.exec_driver_sql("SELECT to_regclass('public.cases')").scalar()
            if exists:
                conn.exec_driver_sql(
                    "TRUNCATE cases, case_notes, case_events, case_assignments, audit_log, console_sessions, operators,"
                    " live_sessions, live_messages RESTART IDENTITY"
                )
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cases.sqlite3'}"
    url = request.getfixturevalue("pg_database")
    _truncate(url)  # one database per session, empty tables per test
    return url


@pytest.fixture
def keyring() -> KeyRing:
    return KeyRing([os.urandom(32)], os.urandom(32))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(db_url, keyring, clock):
    s = CaseStore(db_url, keyring=keyring, clock=clock)
    yield s
    s.close()


def conv(keyring: KeyRing, raw: str = "chat-42", channel: str = "web") -> str:
    return keyring.conversation_id(raw, channel)


def make_draft(
    keyring: KeyRing,
    raw: str = "chat-42",
    *,
    signals=(),
    territory="95",
    measures=("aide_universelle_urgence",),
    via="sms",
    **kw,
) -> CaseDraft:
    contact = kw.pop("contact", None) or ContactPlan.validated(
        via,
        EMAIL if via == "email" else PHONE_TYPED,
        time_windows=[TIME_WINDOW],
        may_leave_message=False,
        code_word=CODE_WORD,
        first_name=FIRST_NAME,
    )
    return CaseDraft(
        conversation_id=conv(keyring, raw),
        channel="web",
        contact=contact,
        territory=territory,
        measures=list(measures),
        danger_signals=list(signals),
        eligibility={
            "answers": {"logement": ANSWER, "enfants": 2},
            "outcomes": {"auu": "eligible"},
            "rules_version": "2026-01",
        },
        **kw,
    )


def raw_dump(url: str) -> str:
    """Every row of every table, as the database returns it."""
    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect() as conn:
            out = []
            for table in sa.inspect(conn).get_table_names():
                for row in conn.exec_driver_sql(f'SELECT * FROM "{table}"'):
                    out.append(f"{table}: {tuple(row)!r}")
            return "\n".join(out)
    finally:
        engine.dispose()
