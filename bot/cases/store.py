"""CaseStore: the one class that reads and writes cases.

SQLite by default, PostgreSQL when DATABASE_URL says so. Personal fields go
through the key ring before any SQL; every I/O is bounded by a timeout; the
schema is brought to head on first use.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import os
import secrets
import threading
import time
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import (
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ResourceClosedError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.cases import config
from bot.cases.crypto import KeyRing, default_keyring
from bot.cases.migrate import migrate
from bot.cases.model import (
    CLOSED,
    CREATED,
    FINAL_STATUSES,
    NEW,
    OPEN_STATUSES,
    PRIORITIES,
    STATUS_CHANGED,
    STATUSES,
    TRANSITIONS,
    WITHDRAWN,
    Case,
    CaseDraft,
    CaseEvent,
    ContactPlan,
    Note,
    is_conversation_id,
    new_reference,
    normalize_reference,
    priority_for,
    utcnow,
)
from bot.cases.schema import audit_log, case_events, case_notes, cases, live_messages, live_sessions

log = logging.getLogger(__name__)
PLAN_CHANGED = "plan"  # event kind and audit action: she sent a new contact plan for her open case
SELF_LOGIN = "#elle"  # the audit log's author for what she did herself (never her name or id)


def _code_key(text: str | None) -> str:
    """A code word as compared: accents, case and spacing do not count."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())[:200]


class StoreError(Exception):
    """Base class; messages never carry SQL parameters or personal values."""


class StoreUnavailable(StoreError):
    """The database did not answer in time or refused the connection."""


class CaseNotFound(StoreError, LookupError):
    pass


class InvalidTransition(StoreError, ValueError):
    pass


def make_engine(url: str, timeout: float | None = None) -> Engine:
    timeout = config.db_timeout_seconds() if timeout is None else timeout
    options: dict[str, Any] = {"future": True, "hide_parameters": True}
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": timeout}  # wait this long for a locked file
        database = sa.engine.make_url(url).database
        if database and database != ":memory:":
            path = Path(database).resolve()
            config.make_private_dir(path.parent)
            # Owner-only from the start; SQLite gives its -wal and -shm files the same rights.
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    elif url.startswith("postgresql"):
        ms = int(timeout * 1000)
        options.update(
            pool_pre_ping=True,
            pool_timeout=timeout,
            connect_args={
                "connect_timeout": max(2, int(round(timeout))),  # libpq's minimum is 2 s
                "options": f"-c statement_timeout={ms} -c lock_timeout={ms} "
                f"-c idle_in_transaction_session_timeout={ms * 10}",
                # A silent network drop must not hang a worker forever.
                "keepalives": 1,
                "keepalives_idle": 10,
                "keepalives_interval": 3,
                "keepalives_count": 3,
                "application_name": "nouveau-depart",
            },
        )
    engine = sa.create_engine(url, **options)
    if engine.dialect.name == "sqlite":

        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
            cur.execute("PRAGMA secure_delete=ON")  # erased and purged data is overwritten
            cur.close()

        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


_PRIORITY_RANK = sa.case({p: i for i, p in enumerate(PRIORITIES)}, value=cases.c.priority)


class CaseStore:
    """Cases, their notes and events. Thread-safe: one instance per process is enough."""

    def __init__(
        self,
        url: str | None = None,
        *,
        keyring: KeyRing | None = None,
        engine: Engine | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        timeout: float | None = None,
        auto_migrate: bool = True,
    ):
        # No I/O here: a database that is down at start-up must not stop the bot,
        # the outbox takes over until it answers.
        self.url = url or config.database_url()
        self.engine = engine or make_engine(self.url, timeout)
        self.keyring = keyring or default_keyring()
        self.clock = clock
        self._auto_migrate = auto_migrate
        self._ready = False
        self._ready_lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------
    def migrate(self) -> None:
        with self._errors():
            migrate(self.engine)
        self._ready = True

    def _ensure_ready(self) -> None:
        if self._ready or not self._auto_migrate:
            return
        with self._ready_lock:
            if not self._ready:
                self.migrate()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (
            OperationalError,
            InterfaceError,
            PoolTimeout,
            DisconnectionError,
            ResourceClosedError,
            TimeoutError,
            ConnectionError,
        ) as exc:
            # The class name only: driver messages may quote statements.
            raise StoreUnavailable(f"base de données indisponible ({type(exc).__name__})") from exc

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in one transaction, committed on exit; errors become StoreUnavailable.

        For the console's and the live takeover's tables, which share this engine and its migrations.
        """
        self._ensure_ready()
        with self._errors(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads only; errors become StoreUnavailable."""
        self._ensure_ready()
        with self._errors(), self.engine.connect() as conn:
            yield conn

    # Private names still used by bot/live/store.py and bot/cases/scheduler.py.
    _tx = transaction
    _read = reading

    def close(self) -> None:
        self.engine.dispose()

    def _now(self) -> dt.datetime:
        return self.clock()

    # -- encryption helpers -------------------------------------------------------
    def _enc(self, value: Any, reference: str, field: str) -> str:
        return self.keyring.encrypt_json(value, case_id=reference, field=field)

    def _dec(self, token: str | None, reference: str, field: str, default: Any = None) -> Any:
        if token is None:
            return default
        return self.keyring.decrypt_json(token, case_id=reference, field=field)

    def _case(self, row: Any) -> Case:
        ref = row.reference
        contact = self._dec(row.contact_enc, ref, "contact")
        return Case(
            reference=ref,
            conversation_id=row.conversation_id,
            status=row.status,
            priority=row.priority,
            territory=row.territory,
            measures=list(row.measures or []),
            danger_signals=self._dec(row.danger_signals_enc, ref, "danger_signals", []),
            eligibility=self._dec(row.eligibility_enc, ref, "eligibility", {}),
            contact=ContactPlan.from_dict(contact) if contact is not None else None,
            channel=row.channel,
            created_at=row.created_at,
            updated_at=row.updated_at,
            closed_at=row.closed_at,
            outcome=self._dec(row.outcome_enc, ref, "outcome"),
        )

    def _emit(
        self,
        conn: Connection,
        kind: str,
        reference: str,
        status: str,
        priority: str,
        territory: str | None,
        at: dt.datetime,
    ) -> None:
        if conn.dialect.name == "postgresql":
            # Ids come from a sequence at insert time but become visible at commit: serialise
            # event writers until commit so a poller's cursor never skips a slower transaction.
            conn.exec_driver_sql("LOCK TABLE case_events IN SHARE ROW EXCLUSIVE MODE")
        conn.execute(
            case_events.insert().values(
                reference=reference, kind=kind, status=status, priority=priority, territory=territory, at=at
            )
        )

    # -- creation -------------------------------------------------------------------
    def create(self, draft: CaseDraft) -> Case:
        """The open case of this conversation, created if there is none. Idempotent:
        a retry (same conversation, or same draft reference) returns the same case."""
        return self.create_or_update(draft)[0]

    def create_or_update(self, draft: CaseDraft) -> tuple[Case, bool]:
        """(case, updated). A new request (another draft reference) on her open case replaces
        its contact plan, audited as a plan change so that the référent sees it; a retry of
        the same request, or the same plan again, changes nothing."""
        existing = self._existing_for(draft)
        if existing is not None:
            if (
                draft.reference
                and draft.reference != existing.reference
                and existing.is_open
                and existing.contact != draft.contact
            ):
                return self._update_plan(existing, draft), True
            return existing, False
        reference = draft.reference or new_reference()
        for _ in range(5):
            try:
                case = self._insert(draft, reference)
                log.info("dossier %s créé (priorité %s)", case.reference, case.priority)
                return case, False
            except IntegrityError:
                # Lost a race for this conversation (the unique open-case index), or the
                # reference is taken: the winner's case, else a fresh reference.
                existing = self._existing_for(draft)
                if existing is not None:
                    return existing, False
                reference = new_reference()
        raise StoreError("impossible d'attribuer une référence")

    def _update_plan(self, case: Case, draft: CaseDraft) -> Case:
        now = self._now()
        with self.transaction() as conn:
            done = conn.execute(
                cases.update()
                .where(cases.c.reference == case.reference, cases.c.status.in_(OPEN_STATUSES))
                .values(contact_enc=self._enc(draft.contact.to_dict(), case.reference, "contact"), updated_at=now)
            )
            if done.rowcount != 1:
                raise InvalidTransition("dossier clos entre-temps")
            conn.execute(
                audit_log.insert().values(
                    at=now,
                    login=SELF_LOGIN,
                    action=PLAN_CHANGED,
                    reference=case.reference,
                    detail=f"canal {draft.contact.channel}",
                )
            )
            self._emit(conn, PLAN_CHANGED, case.reference, case.status, case.priority, case.territory, now)
        log.info("dossier %s : plan de contact mis à jour à sa demande", case.reference)
        updated = self.get(case.reference)
        assert updated is not None
        return updated

    def withdraw_with_code(self, reference: str, code_word: str) -> Case | None:
        """She withdraws from another conversation with her reference and code word. None if the
        pair does not match an open case (same answer whatever was wrong: nothing to learn)."""
        ref = normalize_reference(reference)
        given = _code_key(code_word)
        case = self.get(ref) if ref else None
        stored = _code_key(case.contact.code_word) if case and case.is_open and case.contact else ""
        # Compared in constant time, and compared even when there is no case.
        match = hmac.compare_digest(stored.encode() or b"\x00", given.encode() or b"\x01")
        if not (match and case and stored):
            return None
        done = self.withdraw(case.reference)
        return done[0] if done else None

    def _existing_for(self, draft: CaseDraft) -> Case | None:
        with self.reading() as conn:
            if draft.reference:
                row = conn.execute(sa.select(cases).where(cases.c.reference == draft.reference)).first()
                if row is not None and row.conversation_id == draft.conversation_id:
                    return self._case(row)  # whatever its status: a replay never re-creates
            row = conn.execute(
                sa.select(cases).where(
                    cases.c.conversation_id == draft.conversation_id, cases.c.status.in_(OPEN_STATUSES)
                )
            ).first()
            return self._case(row) if row is not None else None

    def _insert(self, draft: CaseDraft, reference: str) -> Case:
        now = self._now()
        created = (draft.created_at or now).astimezone(dt.timezone.utc)
        priority = priority_for(draft.danger_signals)
        with self.transaction() as conn:
            conn.execute(
                cases.insert().values(
                    reference=reference,
                    conversation_id=draft.conversation_id,
                    status=NEW,
                    priority=priority,
                    territory=draft.territory,
                    measures=list(draft.measures),
                    channel=draft.channel,
                    created_at=created,
                    updated_at=now,
                    closed_at=None,
                    contact_enc=self._enc(draft.contact.to_dict(), reference, "contact"),
                    eligibility_enc=self._enc(draft.eligibility, reference, "eligibility"),
                    danger_signals_enc=self._enc(list(draft.danger_signals), reference, "danger_signals"),
                    outcome_enc=None,
                )
            )
            self._emit(conn, CREATED, reference, NEW, priority, draft.territory, now)
        return Case(
            reference=reference,
            conversation_id=draft.conversation_id,
            status=NEW,
            priority=priority,
            territory=draft.territory,
            measures=list(draft.measures),
            danger_signals=list(draft.danger_signals),
            eligibility=draft.eligibility,
            contact=draft.contact,
            channel=draft.channel,
            created_at=created,
            updated_at=now,
        )

    # -- reading --------------------------------------------------------------------
    def get(self, reference: str) -> Case | None:
        ref = normalize_reference(reference)
        if ref is None:
            return None
        with self.reading() as conn:
            row = conn.execute(sa.select(cases).where(cases.c.reference == ref)).first()
        return self._case(row) if row is not None else None

    def open_case(self, conversation_id: str) -> Case | None:
        with self.reading() as conn:
            row = conn.execute(
                sa.select(cases).where(cases.c.conversation_id == conversation_id, cases.c.status.in_(OPEN_STATUSES))
            ).first()
        return self._case(row) if row is not None else None

    def list_queue(
        self, territories: Iterable[str] | None = None, statuses: Iterable[str] | None = None, limit: int | None = None
    ) -> list[Case]:
        """Open cases (or `statuses`), urgent first, then the longest waiting."""
        query = sa.select(cases).where(cases.c.status.in_(list(statuses or OPEN_STATUSES)))
        if territories is not None:
            query = query.where(cases.c.territory.in_([t.upper() for t in territories]))
        query = query.order_by(_PRIORITY_RANK, cases.c.created_at, cases.c.reference)
        if limit is not None:
            query = query.limit(limit)
        with self.reading() as conn:
            rows = conn.execute(query).all()
        return [self._case(r) for r in rows]

    # -- status ---------------------------------------------------------------------
    def update_status(self, reference: str, status: str, *, outcome: str | None = None) -> Case:
        if status not in STATUSES:
            raise InvalidTransition(f"statut inconnu : {status}")
        if status == WITHDRAWN:
            done = self.withdraw(reference)
            if not done:
                raise CaseNotFound(reference)
            return done[0]
        ref = normalize_reference(reference) or reference
        now = self._now()
        with self.transaction() as conn:
            row = conn.execute(
                sa.select(cases.c.status, cases.c.priority, cases.c.territory).where(cases.c.reference == ref)
            ).first()
            if row is None:
                raise CaseNotFound(ref)
            if row.status != status:
                if status not in TRANSITIONS[row.status]:
                    raise InvalidTransition(f"{row.status} -> {status} interdit")
                values: dict[str, Any] = {"status": status, "updated_at": now}
                if status == CLOSED:
                    values["closed_at"] = now
                if outcome is not None:
                    values["outcome_enc"] = self._enc(outcome, ref, "outcome")
                # Conditional on the status read: a concurrent change makes this a no-op.
                done = conn.execute(
                    cases.update().where(cases.c.reference == ref, cases.c.status == row.status).values(**values)
                )
                if done.rowcount != 1:
                    raise InvalidTransition("statut modifié en même temps ailleurs")
                self._emit(conn, STATUS_CHANGED, ref, status, row.priority, row.territory, now)
            elif outcome is not None:
                conn.execute(
                    cases.update()
                    .where(cases.c.reference == ref)
                    .values(outcome_enc=self._enc(outcome, ref, "outcome"), updated_at=now)
                )
        log.info("dossier %s : statut %s", ref, status)
        case = self.get(ref)
        assert case is not None
        return case

    def withdraw(self, key: str, *, requested_at: dt.datetime | None = None) -> list[Case]:
        """She withdraws: by conversation id (all her cases) or by reference. Personal
        fields and notes are erased at once; what remains is only what retention needs.
        requested_at: only cases created up to then (an outbox replay never cancels a
        request she made after withdrawing)."""
        if is_conversation_id(key):
            cond = cases.c.conversation_id == key
        else:
            ref = normalize_reference(key)
            if ref is None:
                return []
            cond = cases.c.reference == ref
        cond = sa.and_(cond, cases.c.status != WITHDRAWN)
        if requested_at is not None:
            cond = sa.and_(cond, cases.c.created_at <= requested_at)
        now = self._now()
        withdrawn = []
        with self.transaction() as conn:
            rows = conn.execute(sa.select(cases.c.reference, cases.c.priority, cases.c.territory).where(cond)).all()
            for row in rows:
                done = conn.execute(
                    cases.update()
                    .where(cases.c.reference == row.reference, cases.c.status != WITHDRAWN)
                    .values(
                        status=WITHDRAWN,
                        updated_at=now,
                        closed_at=now,
                        contact_enc=None,
                        eligibility_enc=None,
                        danger_signals_enc=None,
                        outcome_enc=None,
                    )
                )
                if done.rowcount == 1:
                    conn.execute(case_notes.delete().where(case_notes.c.reference == row.reference))
                    # A live exchange goes with her case (and ends: nothing left to join).
                    conn.execute(live_messages.delete().where(live_messages.c.reference == row.reference))
                    conn.execute(live_sessions.delete().where(live_sessions.c.reference == row.reference))
                    self._emit(conn, STATUS_CHANGED, row.reference, WITHDRAWN, row.priority, row.territory, now)
                    withdrawn.append(row.reference)
        for ref in withdrawn:
            log.info("dossier %s retiré et effacé", ref)
        return [c for c in (self.get(r) for r in withdrawn) if c is not None]

    # -- notes ----------------------------------------------------------------------
    def add_note(self, case: Case | str, author: str, text: str) -> Note:
        ref = case.reference if isinstance(case, Case) else (normalize_reference(case) or case)
        author = (author or "").strip()
        if not author or len(author) > 64:
            raise ValueError("author: identifiant du référent attendu (64 caractères au plus)")
        # Time-ordered, so notes written within one clock tick keep their order.
        note_id = f"{time.time_ns():016x}{secrets.token_hex(8)}"
        now = self._now()
        with self.transaction() as conn:
            status = conn.execute(sa.select(cases.c.status).where(cases.c.reference == ref)).scalar()
            if status is None:
                raise CaseNotFound(ref)
            if status == WITHDRAWN:
                raise InvalidTransition("dossier retiré : plus de notes")
            conn.execute(
                case_notes.insert().values(
                    id=note_id,
                    reference=ref,
                    author=author,
                    created_at=now,
                    body_enc=self._enc({"text": text}, ref, f"note:{note_id}"),
                )
            )
            conn.execute(cases.update().where(cases.c.reference == ref).values(updated_at=now))
        return Note(id=note_id, reference=ref, author=author, text=text, created_at=now)

    def notes(self, reference: str) -> list[Note]:
        ref = normalize_reference(reference) or reference
        with self.reading() as conn:
            rows = conn.execute(
                sa.select(case_notes)
                .where(case_notes.c.reference == ref)
                .order_by(case_notes.c.created_at, case_notes.c.id)
            ).all()
        return [
            Note(
                id=r.id,
                reference=r.reference,
                author=r.author,
                created_at=r.created_at,
                text=self._dec(r.body_enc, r.reference, f"note:{r.id}")["text"],
            )
            for r in rows
        ]

    # -- retention ------------------------------------------------------------------
    def purge(self, older_than_days: int) -> int:
        """Delete closed and withdrawn cases (with their notes and events) whose
        closing is older than the retention period. Returns the number of cases."""
        if older_than_days < 0:
            raise ValueError("older_than_days >= 0")
        cutoff = self._now() - dt.timedelta(days=older_than_days)
        expired = sa.and_(cases.c.status.in_(FINAL_STATUSES), cases.c.closed_at < cutoff)
        refs = sa.select(cases.c.reference).where(expired).scalar_subquery()
        with self.transaction() as conn:
            conn.execute(case_notes.delete().where(case_notes.c.reference.in_(refs)))
            conn.execute(live_messages.delete().where(live_messages.c.reference.in_(refs)))
            conn.execute(live_sessions.delete().where(live_sessions.c.reference.in_(refs)))
            conn.execute(case_events.delete().where(case_events.c.reference.in_(refs)))
            count = int(conn.execute(cases.delete().where(expired)).rowcount)
        log.info("purge : %d dossier(s) effacé(s), plus de %d jours", count, older_than_days)
        return count

    # -- events ---------------------------------------------------------------------
    def events_since(self, cursor: int = 0, limit: int = 100) -> list[CaseEvent]:
        """Events after `cursor` (the id of the last one seen; 0 for all), oldest first."""
        with self.reading() as conn:
            rows = conn.execute(
                sa.select(case_events).where(case_events.c.id > cursor).order_by(case_events.c.id).limit(limit)
            ).all()
        return [
            CaseEvent(
                id=r.id,
                reference=r.reference,
                kind=r.kind,
                status=r.status,
                priority=r.priority,
                territory=r.territory,
                at=r.at,
            )
            for r in rows
        ]

    def last_event_id(self) -> int:
        """The cursor of the newest event (0 if none): where a live feed starts."""
        with self.reading() as conn:
            return conn.execute(sa.select(sa.func.max(case_events.c.id))).scalar() or 0

    def follow(
        self, cursor: int = 0, *, interval: float = 1.0, stop: threading.Event | None = None
    ) -> Iterator[CaseEvent]:
        """Yield events as they come, polling every `interval` seconds until `stop` is set."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                batch = self.events_since(cursor)
            except StoreUnavailable:
                batch = []
            for ev in batch:
                cursor = ev.id
                yield ev
            if not batch:
                stop.wait(interval)

    # -- key rotation -----------------------------------------------------------------
    def reencrypt(self, batch: int = 200) -> int:
        """Re-encrypt every field not under the current key; returns how many."""
        count = 0
        for table, pk, columns, aad in self._encrypted_columns():
            last = ""
            while True:
                with self.transaction() as conn:
                    rows = conn.execute(
                        sa.select(table).where(table.c[pk] > last).order_by(table.c[pk]).limit(batch)
                    ).all()
                    for row in rows:
                        values = {}
                        for col in columns:
                            token = row._mapping[col]
                            if token is not None and not self.keyring.is_current(token):
                                case_id, field = aad(row, col)
                                values[col] = self.keyring.reencrypt(token, case_id=case_id, field=field)
                        if values:
                            conn.execute(table.update().where(table.c[pk] == row._mapping[pk]).values(**values))
                            count += len(values)
                if len(rows) < batch:
                    break
                last = rows[-1]._mapping[pk]
        return count

    def count_stale(self) -> int:
        """Encrypted fields still under an older key (0 before old keys may be dropped)."""
        count = 0
        for table, _pk, columns, _aad in self._encrypted_columns():
            with self.reading() as conn:
                for row in conn.execute(sa.select(*[table.c[c] for c in columns])):
                    count += sum(1 for t in row if t is not None and not self.keyring.is_current(t))
        return count

    @staticmethod
    def _encrypted_columns() -> Sequence[tuple[sa.Table, str, tuple[str, ...], Callable[[Any, str], tuple[str, str]]]]:
        return (
            (
                cases,
                "reference",
                ("contact_enc", "eligibility_enc", "danger_signals_enc", "outcome_enc"),
                lambda row, col: (row.reference, col[: -len("_enc")]),
            ),
            (case_notes, "id", ("body_enc",), lambda row, col: (row.reference, f"note:{row.id}")),
            (
                live_sessions,
                "reference",
                ("sender_enc", "address_enc"),
                lambda row, col: (row.reference, f"live:{col[: -len('_enc')]}"),
            ),
            (live_messages, "id", ("body_enc",), lambda row, col: (row.reference, f"live:{row.id}")),
        )
