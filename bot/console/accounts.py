"""Operators, sessions, login throttling, assignments and the audit log of the console.

Staff data only: logins, password hashes (scrypt), which case an operator
took, who looked at or changed what and when. No victim data lives here.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
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
LOCKED = "!"  # prefix of a disabled account's hash (the shadow-file convention): no password matches it
TERRITORY = re.compile(r"^(?:\d{2,3}|2[AB])$")
# scrypt: 2^15 x 8 x 1 = 32 MiB per hash, about 0.1 s here: costly to brute-force, cheap to log in.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSWORD = 12
MAX_PASSWORD = 256


class AccountError(ValueError):
    """A French message for the operator."""


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(password.encode())
    return "scrypt${}${}${}${}${}".format(
        SCRYPT_N, SCRYPT_R, SCRYPT_P, base64.b64encode(salt).decode(), base64.b64encode(key).decode()
    )


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, key = stored.split("$")
        if kind != "scrypt":
            return False
        Scrypt(salt=base64.b64decode(salt), length=32, n=int(n), r=int(r), p=int(p)).verify(
            password.encode(), base64.b64decode(key)
        )
        return True
    except (InvalidKey, ValueError):
        return False


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """What an unknown or disabled login is checked against, so that it costs the same."""
    return hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Operator:
    login: str
    supervisor: bool
    territories: tuple[str, ...]
    active: bool = True

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
    id: int = 0


MAX_LOGIN_INPUT = 64


def normalize_login(text: str | None) -> str:
    """What the throttle, the check and the audit all read: stripped, lower case, capped."""
    return (text or "").strip().lower()[:MAX_LOGIN_INPUT]


class Throttle:
    """Slows password guessing with a growing delay; never locks the owner out.

    Per client address, and per (account, address): after `free` failures in `window`
    seconds, each further try waits `base * 2**(n - free)` seconds (capped), answered 429
    meanwhile. Per account from anywhere: after `account_free` failures the answer itself is
    slowed by a short capped wait (`account_delay`), never refused, so that the owner still
    gets in from another address while someone guesses elsewhere."""

    MAX_KEYS = 10_000

    def __init__(
        self,
        free_pair: int = 5,
        free_address: int = 20,
        free_account: int = 10,
        base: float = 30.0,
        cap: float = 900.0,
        account_step: float = 0.5,
        account_cap: float = 4.0,
        window: float = 3600,
        clock=time.monotonic,
    ):
        self.free = {"p": free_pair, "a": free_address}
        self.free_account = free_account
        self.base, self.cap = base, cap
        self.account_step, self.account_cap = account_step, account_cap
        self.window, self.clock = window, clock
        self._failures: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque:
        q = self._failures[key]
        while q and self.clock() - q[0] > self.window:
            q.popleft()
        return q

    def _keys(self, login: str, address: str) -> tuple[tuple[str, int], ...]:
        return ((f"p:{login}\x00{address}", self.free["p"]), (f"a:{address}", self.free["a"]))

    def delay_after(self, failures: int, free: int) -> float:
        return 0.0 if failures < free else min(self.cap, self.base * 2 ** (failures - free))

    def blocked(self, login: str, address: str) -> bool:
        return self.retry_after(login, address) > 0

    def retry_after(self, login: str, address: str) -> int:
        """Seconds before this login from this address is heard again (0: now)."""
        wait = 0.0
        with self._lock:
            for key, free in self._keys(login, address):
                q = self._recent(key)
                if q:
                    wait = max(wait, q[-1] + self.delay_after(len(q), free) - self.clock())
                else:
                    self._failures.pop(key, None)  # no memory kept for addresses that behave
        return int(wait) + 1 if wait > 0 else 0

    def account_delay(self, login: str) -> float:
        """Seconds to hold the answer for this login (known or not: same rule, no enumeration)."""
        with self._lock:
            q = self._recent(f"u:{login}")
            n = len(q)
            if not q:
                self._failures.pop(f"u:{login}", None)
        if n < self.free_account:
            return 0.0
        return min(self.account_cap, self.account_step * (n - self.free_account + 1))

    def failed(self, login: str, address: str) -> None:
        with self._lock:
            if len(self._failures) > self.MAX_KEYS:  # a spray of logins: forget what has expired
                for key in list(self._failures):
                    if not self._recent(key):
                        del self._failures[key]
            for key in (f"u:{login}", *(k for k, _ in self._keys(login, address))):
                self._recent(key).append(self.clock())

    def succeeded(self, login: str, address: str) -> None:
        with self._lock:
            self._failures.pop(f"u:{login}", None)
            self._failures.pop(self._keys(login, address)[0][0], None)


class Accounts:
    """Operator accounts, sessions, assignments and audit, in the case store's database."""

    def __init__(self, store: CaseStore, session_minutes: int = 30):
        self.store = store
        self.session_minutes = session_minutes
        # CSRF tokens are signed by the server: a value the client makes up never passes.
        self._secret = store.keyring.derive_key("console-csrf")
        _dummy_hash()  # computed now, so that the first unknown login costs one scrypt like the others

    # -- operators -------------------------------------------------------------
    @staticmethod
    def _check_password(password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"mot de passe trop court : au moins {MIN_PASSWORD} caractères")
        if len(password) > MAX_PASSWORD:
            raise AccountError(f"mot de passe trop long : {MAX_PASSWORD} caractères au plus")

    @staticmethod
    def _territories(territories: Iterable[str], supervisor: bool) -> tuple[str, ...]:
        codes = tuple(sorted({t.strip().upper() for t in territories if t.strip()}))
        if any(not TERRITORY.match(t) for t in codes):
            raise AccountError("territoire invalide : un code de département est attendu (ex. 95, 2A, 974)")
        if not supervisor and not codes:
            raise AccountError("un opérateur doit avoir au moins un territoire (ou être superviseur)")
        return codes

    @staticmethod
    def _operator(row) -> Operator:
        return Operator(
            row.login, bool(row.supervisor), tuple(row.territories or ()), not row.password_hash.startswith(LOCKED)
        )

    def add(self, login: str, password: str, supervisor: bool = False, territories: Iterable[str] = ()) -> Operator:
        login = login.strip().lower()
        if not LOGIN.match(login):
            raise AccountError("identifiant invalide : 2 à 32 caractères, lettres minuscules, chiffres, . _ -")
        self._check_password(password)
        codes = self._territories(territories, supervisor)
        with self.store.transaction() as conn:
            if conn.execute(sa.select(operators.c.login).where(operators.c.login == login)).first():
                raise AccountError(f"l'identifiant {login} existe déjà")
            conn.execute(
                operators.insert().values(
                    login=login,
                    password_hash=hash_password(password),
                    supervisor=supervisor,
                    territories=list(codes),
                    created_at=utcnow(),
                )
            )
        return Operator(login, supervisor, codes)

    def count(self) -> int:
        with self.store.reading() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(operators)).scalar_one()

    def all(self) -> list[Operator]:
        with self.store.reading() as conn:
            rows = conn.execute(sa.select(operators).order_by(operators.c.login)).all()
        return [self._operator(r) for r in rows]

    def get(self, login: str) -> Operator | None:
        with self.store.reading() as conn:
            row = conn.execute(sa.select(operators).where(operators.c.login == (login or "").strip().lower())).first()
        return self._operator(row) if row is not None else None

    def update(self, login: str, *, supervisor: bool, territories: Iterable[str], active: bool) -> Operator:
        """Role, territories and whether the account may log in. Disabling ends its sessions.
        The last active supervisor can neither be disabled nor demoted: someone must manage accounts."""
        codes = self._territories(territories, supervisor)
        with self.store.transaction() as conn:
            row = conn.execute(sa.select(operators).where(operators.c.login == login).with_for_update()).first()
            if row is None:
                raise AccountError(f"compte inconnu : {login}")
            current = self._operator(row)
            if current.supervisor and current.active and not (supervisor and active):
                others = [
                    o
                    for o in (self._operator(r) for r in conn.execute(sa.select(operators)).all())
                    if o.supervisor and o.active and o.login != login
                ]
                if not others:
                    raise AccountError("c'est le dernier superviseur actif : nommez-en un autre d'abord")
            stored = row.password_hash.lstrip(LOCKED)
            conn.execute(
                operators.update()
                .where(operators.c.login == login)
                .values(
                    supervisor=supervisor, territories=list(codes), password_hash=stored if active else LOCKED + stored
                )
            )
            if not active:
                conn.execute(console_sessions.delete().where(console_sessions.c.login == login))
        return Operator(login, supervisor, codes, active)

    def set_password(self, login: str, password: str) -> None:
        """A new password (keeps the account disabled if it was); ends the account's sessions."""
        self._check_password(password)
        with self.store.transaction() as conn:
            row = conn.execute(sa.select(operators.c.password_hash).where(operators.c.login == login)).first()
            if row is None:
                raise AccountError(f"compte inconnu : {login}")
            prefix = LOCKED if row.password_hash.startswith(LOCKED) else ""
            conn.execute(
                operators.update()
                .where(operators.c.login == login)
                .values(password_hash=prefix + hash_password(password))
            )
            conn.execute(console_sessions.delete().where(console_sessions.c.login == login))

    def authenticate(self, login: str, password: str) -> Operator | None:
        """The operator if the password is right and the account active; None otherwise, at the same cost."""
        return self.attempt(login, password)[0]

    def attempt(self, login: str, password: str) -> tuple[Operator | None, str | None]:
        """(operator, None) on success; else (None, the existing account's login or None if unknown).
        One query and one scrypt run whatever the case: which accounts exist cannot be timed."""
        login = normalize_login(login)
        with self.store.reading() as conn:
            row = conn.execute(sa.select(operators).where(operators.c.login == login)).first()
        if len(password) > MAX_PASSWORD:
            password = ""  # still one scrypt run (of nothing): the same cost as any other try
        if row is None or row.password_hash.startswith(LOCKED):
            verify_password(password, _dummy_hash())
            return None, row.login if row is not None else None
        if not verify_password(password, row.password_hash) or len(password) == 0:
            return None, row.login
        return self._operator(row), None

    # -- sessions --------------------------------------------------------------
    @staticmethod
    def _digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def _sign(self, purpose: str, value: str) -> str:
        return hmac.new(self._secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def login_token(self) -> str:
        """For the login form (no session yet): a nonce and the server's signature of it."""
        nonce = secrets.token_urlsafe(18)
        return f"{nonce}.{self._sign('login', nonce)[:32]}"

    def login_token_ok(self, cookie: str | None, submitted: str | None) -> bool:
        cookie, submitted = cookie or "", submitted or ""
        nonce, _, signature = submitted.partition(".")
        if not nonce or len(submitted) > 128 or not hmac.compare_digest(cookie, submitted):
            return False
        return hmac.compare_digest(signature, self._sign("login", nonce)[:32])

    def open_session(self, operator: Operator) -> tuple[str, str]:
        token = secrets.token_urlsafe(32)
        csrf = self._sign("session", self._digest(token))  # bound to this session, made by the server
        now = utcnow()
        with self.store.transaction() as conn:
            # Housekeeping: sessions idle for too long are of no use to anyone.
            conn.execute(
                console_sessions.delete().where(
                    console_sessions.c.last_seen < now - dt.timedelta(minutes=self.session_minutes)
                )
            )
            conn.execute(
                console_sessions.insert().values(
                    token_hash=self._digest(token), login=operator.login, csrf=csrf, last_seen=now
                )
            )
        return token, csrf

    def session(self, token: str | None, touch: bool = True) -> Session | None:
        """The live session for a cookie; expired after inactivity. `touch`: this request is her
        doing and counts as activity (not so a live feed or a background refresh of the queue)."""
        if not token or len(token) > 128:
            return None
        digest = self._digest(token)
        now = utcnow()
        with self.store.transaction() as conn:
            row = conn.execute(
                sa.select(console_sessions, operators.c.supervisor, operators.c.territories, operators.c.password_hash)
                .join(operators, operators.c.login == console_sessions.c.login)
                .where(console_sessions.c.token_hash == digest)
            ).first()
            if row is None:
                return None
            if now - row.last_seen > dt.timedelta(minutes=self.session_minutes) or row.password_hash.startswith(LOCKED):
                conn.execute(console_sessions.delete().where(console_sessions.c.token_hash == digest))
                return None
            if touch:
                conn.execute(
                    console_sessions.update().where(console_sessions.c.token_hash == digest).values(last_seen=now)
                )
        return Session(
            Operator(row.login, bool(row.supervisor), tuple(row.territories or ())), self._sign("session", digest)
        )

    def close_session(self, token: str | None) -> None:
        if token:
            with self.store.transaction() as conn:
                conn.execute(console_sessions.delete().where(console_sessions.c.token_hash == self._digest(token)))

    @staticmethod
    def csrf_ok(session: Session, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(session.csrf, submitted or "")

    # -- assignment and audit ----------------------------------------------------
    def assign(self, reference: str, login: str) -> None:
        with self.store.transaction() as conn:
            conn.execute(assignments.delete().where(assignments.c.reference == reference))
            conn.execute(assignments.insert().values(reference=reference, login=login, at=utcnow()))

    def unassign(self, reference: str) -> None:
        with self.store.transaction() as conn:
            conn.execute(assignments.delete().where(assignments.c.reference == reference))

    def assignees(self, references: Iterable[str]) -> dict[str, str]:
        refs = list(references)
        if not refs:
            return {}
        with self.store.reading() as conn:
            rows = conn.execute(sa.select(assignments).where(assignments.c.reference.in_(refs))).all()
        return {r.reference: r.login for r in rows}

    def audit(self, login: str, action: str, reference: str | None = None, detail: str | None = None) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                audit_log.insert().values(
                    at=utcnow(),
                    login=login,
                    action=action,
                    reference=reference,
                    detail=(detail or None) and detail[:64],
                )
            )

    def audit_entries(
        self, limit: int = 200, reference: str | None = None, login: str | None = None, before: int | None = None
    ) -> list[AuditEntry]:
        """Newest first; `before`: an entry id, for the next page."""
        query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if reference:
            query = query.where(audit_log.c.reference == reference)
        if login:
            query = query.where(audit_log.c.login == login)
        if before is not None:
            query = query.where(audit_log.c.id < before)
        with self.store.reading() as conn:
            rows = conn.execute(query).all()
        return [AuditEntry(r.at, r.login, r.action, r.reference, r.detail, r.id) for r in rows]
