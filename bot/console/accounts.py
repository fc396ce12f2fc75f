"""Operators, sessions, login throttling, assignments and the audit log of the console.

Staff data only: logins, password hashes (scrypt), which case an operator
took, who looked at or changed what and when. No victim data lives here.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Iterable

import sqlalchemy as sa
from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from bot.cases.model import utcnow
from bot.cases.schema import assignments, audit_log, console_sessions, operators
from bot.cases.store import CaseStore

LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
TERRITORY = re.compile(r"^(?:\d{2,3}|2[AB])$")
# scrypt: 2^15 x 8 x 1 = 32 MiB per hash, about 0.1 s here: costly to brute-force, cheap to log in.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 15, 8, 1
MIN_PASSWORD = 12


class AccountError(ValueError):
    """A French message for the operator."""


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(password.encode())
    return "scrypt${}${}${}${}${}".format(SCRYPT_N, SCRYPT_R, SCRYPT_P, base64.b64encode(salt).decode(),
                                           base64.b64encode(key).decode())


def verify_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, key = stored.split("$")
        Scrypt(salt=base64.b64decode(salt), length=32, n=int(n), r=int(r), p=int(p)).verify(
            password.encode(), base64.b64decode(key))
        return True
    except (InvalidKey, ValueError):
        return False


@dataclass(frozen=True)
class Operator:
    login: str
    supervisor: bool
    territories: tuple[str, ...]

    def may_see(self, territory: str | None) -> bool:
        return self.supervisor or (territory is not None and territory in self.territories)

    @property
    def scope(self) -> list[str] | None:
        """Territories for CaseStore.list_queue: None means all."""
        return None if self.supervisor else list(self.territories)


@dataclass(frozen=True)
class Session:
    operator: Operator
    csrf: str


@dataclass(frozen=True)
class AuditEntry:
    at: dt.datetime
    login: str
    action: str
    reference: str | None
    detail: str | None


class Throttle:
    """Refuses logins after repeated failures in `window` seconds: per account, and per address
    (higher, since several operators may share one office address)."""

    def __init__(self, per_account: int = 5, per_address: int = 20, window: float = 900, clock=time.monotonic):
        self.limits = {"u": per_account, "a": per_address}
        self.window, self.clock = window, clock
        self._failures: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque:
        q = self._failures[key]
        while q and self.clock() - q[0] > self.window:
            q.popleft()
        return q

    def blocked(self, login: str, address: str) -> bool:
        with self._lock:
            return (len(self._recent(f"u:{login}")) >= self.limits["u"]
                    or len(self._recent(f"a:{address}")) >= self.limits["a"])

    def failed(self, login: str, address: str) -> None:
        with self._lock:
            for key in (f"u:{login}", f"a:{address}"):
                self._recent(key).append(self.clock())

    def succeeded(self, login: str) -> None:
        with self._lock:
            self._failures.pop(f"u:{login}", None)


class Accounts:
    """Operator accounts, sessions, assignments and audit, in the case store's database."""

    def __init__(self, store: CaseStore, session_minutes: int = 30):
        self.store = store
        self.session_minutes = session_minutes

    def _tx(self):
        return self.store._tx()  # same engine, same migrations, same timeouts

    def _read(self):
        return self.store._read()

    # -- operators -------------------------------------------------------------
    def add(self, login: str, password: str, supervisor: bool = False,
            territories: Iterable[str] = ()) -> Operator:
        login = login.strip().lower()
        if not LOGIN.match(login):
            raise AccountError("identifiant invalide : 2 à 32 caractères, lettres minuscules, chiffres, . _ -")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"mot de passe trop court : au moins {MIN_PASSWORD} caractères")
        codes = tuple(sorted({t.strip().upper() for t in territories}))
        if any(not TERRITORY.match(t) for t in codes):
            raise AccountError("territoire invalide : un code de département est attendu (ex. 95, 2A, 974)")
        if not supervisor and not codes:
            raise AccountError("un opérateur doit avoir au moins un territoire (ou être superviseur)")
        with self._tx() as conn:
            if conn.execute(sa.select(operators.c.login).where(operators.c.login == login)).first():
                raise AccountError(f"l'identifiant {login} existe déjà")
            conn.execute(operators.insert().values(login=login, password_hash=hash_password(password),
                                                   supervisor=supervisor, territories=list(codes),
                                                   created_at=utcnow()))
        return Operator(login, supervisor, codes)

    def count(self) -> int:
        with self._read() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(operators)).scalar_one()

    def all(self) -> list[Operator]:
        with self._read() as conn:
            rows = conn.execute(sa.select(operators).order_by(operators.c.login)).all()
        return [Operator(r.login, bool(r.supervisor), tuple(r.territories)) for r in rows]

    def authenticate(self, login: str, password: str) -> Operator | None:
        with self._read() as conn:
            row = conn.execute(sa.select(operators).where(operators.c.login == login.strip().lower())).first()
        if row is None:
            verify_password(password, hash_password("x" * MIN_PASSWORD))  # same cost: no user enumeration
            return None
        if not verify_password(password, row.password_hash):
            return None
        return Operator(row.login, bool(row.supervisor), tuple(row.territories))

    # -- sessions --------------------------------------------------------------
    @staticmethod
    def _digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def open_session(self, operator: Operator) -> tuple[str, str]:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self._tx() as conn:
            conn.execute(console_sessions.insert().values(token_hash=self._digest(token), login=operator.login,
                                                          csrf=csrf, last_seen=utcnow()))
        return token, csrf

    def session(self, token: str | None) -> Session | None:
        """The live session for a cookie; expired after inactivity, refreshed on use."""
        if not token:
            return None
        digest = self._digest(token)
        now = utcnow()
        with self._tx() as conn:
            row = conn.execute(sa.select(console_sessions, operators.c.supervisor, operators.c.territories)
                               .join(operators, operators.c.login == console_sessions.c.login)
                               .where(console_sessions.c.token_hash == digest)).first()
            if row is None:
                return None
            if now - row.last_seen > dt.timedelta(minutes=self.session_minutes):
                conn.execute(console_sessions.delete().where(console_sessions.c.token_hash == digest))
                return None
            conn.execute(console_sessions.update().where(console_sessions.c.token_hash == digest)
                         .values(last_seen=now))
        return Session(Operator(row.login, bool(row.supervisor), tuple(row.territories)), row.csrf)

    def close_session(self, token: str | None) -> None:
        if token:
            with self._tx() as conn:
                conn.execute(console_sessions.delete().where(console_sessions.c.token_hash == self._digest(token)))

    @staticmethod
    def csrf_ok(session: Session, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(session.csrf, submitted or "")

    # -- assignment and audit ----------------------------------------------------
    def assign(self, reference: str, login: str) -> None:
        with self._tx() as conn:
            conn.execute(assignments.delete().where(assignments.c.reference == reference))
            conn.execute(assignments.insert().values(reference=reference, login=login, at=utcnow()))

    def assignees(self, references: Iterable[str]) -> dict[str, str]:
        refs = list(references)
        if not refs:
            return {}
        with self._read() as conn:
            rows = conn.execute(sa.select(assignments).where(assignments.c.reference.in_(refs))).all()
        return {r.reference: r.login for r in rows}

    def audit(self, login: str, action: str, reference: str | None = None, detail: str | None = None) -> None:
        with self._tx() as conn:
            conn.execute(audit_log.insert().values(at=utcnow(), login=login, action=action,
                                                   reference=reference, detail=(detail or None) and detail[:64]))

    def audit_entries(self, limit: int = 200, reference: str | None = None) -> list[AuditEntry]:
        query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if reference:
            query = query.where(audit_log.c.reference == reference)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [AuditEntry(r.at, r.login, r.action, r.reference, r.detail) for r in rows]
