"""Live sessions and their messages in the case store (same database, same key ring).

Everything she or the référent writes is sealed (AES-GCM, the case's reference as associated
data), goes with her case (withdrawn, purged: erased with it, see bot/cases/store.py), and
every change is a case event, so the console's live feed sees it. No text in events.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from typing import Any

import sqlalchemy as sa

from bot.cases.schema import cases, live_messages, live_sessions, operators
from bot.cases.store import CaseStore
from bot.live import ACTIVE, ENDED, EXPIRED, JOINABLE, JOINED, WAITING, LiveMessage, LiveSession

REQUESTED, CHANGED, MESSAGE, DANGER = "direct", "direct_etat", "direct_msg", "direct_danger"


class NotJoinable(Exception):
    """Nobody waits, or another référent holds the conversation (`holder`)."""

    def __init__(self, holder: str | None = None):
        super().__init__(holder or "")
        self.holder = holder


class LiveStore:
    def __init__(self, store: CaseStore):
        self.store = store
        self.keyring = store.keyring

    # -- helpers ----------------------------------------------------------------
    def _now(self) -> dt.datetime:
        return self.store.clock()

    def _seal(self, value: str, reference: str, field: str) -> str:
        return self.keyring.encrypt(value, case_id=reference, field=f"live:{field}")

    def _open(self, token: str, reference: str, field: str) -> str:
        return self.keyring.decrypt(token, case_id=reference, field=f"live:{field}").decode()

    def _session(self, row: Any, name: str | None = None) -> LiveSession:
        return LiveSession(
            reference=row.reference,
            conversation_id=row.conversation_id,
            channel=row.channel,
            state=row.state,
            requested_at=row.requested_at,
            deadline=row.deadline,
            sender_id=self._open(row.sender_enc, row.reference, "sender"),
            operator=row.operator,
            operator_name=name,
            joined_at=row.joined_at,
            ended_at=row.ended_at,
            has_address=row.address_enc is not None,
        )

    def _event(self, conn: Any, kind: str, reference: str) -> None:
        row = conn.execute(
            sa.select(cases.c.status, cases.c.priority, cases.c.territory).where(cases.c.reference == reference)
        ).first()
        if row is not None:
            self.store._emit(conn, kind, reference, row.status, row.priority, row.territory, self._now())

    def display_name(self, login: str | None) -> str:
        if not login:
            return "Votre référente"
        with self.store._read() as conn:
            name = conn.execute(sa.select(operators.c.display_name).where(operators.c.login == login)).scalar()
        return name or login.capitalize()

    def set_display_name(self, login: str, name: str) -> None:
        with self.store._tx() as conn:
            conn.execute(operators.update().where(operators.c.login == login).values(display_name=name[:64]))

    # -- her request ------------------------------------------------------------------
    def request(
        self, reference: str, conversation_id: str, channel: str, sender_id: str, minutes: float
    ) -> LiveSession:
        now = self._now()
        values = dict(
            conversation_id=conversation_id,
            channel=channel,
            state=WAITING,
            requested_at=now,
            deadline=now + dt.timedelta(minutes=minutes),
            operator=None,
            joined_at=None,
            ended_at=None,
            sender_enc=self._seal(sender_id, reference, "sender"),
        )
        with self.store._tx() as conn:
            found = conn.execute(
                sa.select(live_sessions.c.reference).where(live_sessions.c.reference == reference)
            ).first()
            if found is None:
                conn.execute(live_sessions.insert().values(reference=reference, **values))
            else:
                conn.execute(live_sessions.update().where(live_sessions.c.reference == reference).values(**values))
            self._event(conn, REQUESTED, reference)
        found = self.get(reference)
        assert found is not None
        return found

    def set_address(self, conversation_id: str, chat_id: str) -> bool:
        """Telegram: the chat id, sealed, so that the référent's words can be pushed to her."""
        with self.store._tx() as conn:
            rows = conn.execute(
                sa.select(live_sessions.c.reference).where(
                    live_sessions.c.conversation_id == conversation_id,
                    live_sessions.c.state.in_(ACTIVE),
                    live_sessions.c.address_enc.is_(None),
                )
            ).all()
            for row in rows:
                conn.execute(
                    live_sessions.update()
                    .where(live_sessions.c.reference == row.reference)
                    .values(address_enc=self._seal(str(chat_id), row.reference, "address"))
                )
        return bool(rows)

    def address(self, reference: str) -> str | None:
        with self.store._read() as conn:
            token = conn.execute(
                sa.select(live_sessions.c.address_enc).where(live_sessions.c.reference == reference)
            ).scalar()
        return self._open(token, reference, "address") if token else None

    # -- reading ----------------------------------------------------------------------
    def get(self, reference: str) -> LiveSession | None:
        with self.store._read() as conn:
            row = conn.execute(sa.select(live_sessions).where(live_sessions.c.reference == reference)).first()
        return (
            self._session(row, self.display_name(row.operator) if row is not None and row.operator else None)
            if row is not None
            else None
        )

    def active_for(self, conversation_id: str) -> LiveSession | None:
        with self.store._read() as conn:
            row = conn.execute(
                sa.select(live_sessions)
                .where(live_sessions.c.conversation_id == conversation_id, live_sessions.c.state.in_(ACTIVE))
                .order_by(live_sessions.c.requested_at.desc())
            ).first()
        return (
            self._session(row, self.display_name(row.operator) if row.operator else None) if row is not None else None
        )

    def waiting(self, references: list[str]) -> dict[str, LiveSession]:
        if not references:
            return {}
        with self.store._read() as conn:
            rows = conn.execute(
                sa.select(live_sessions).where(
                    live_sessions.c.reference.in_(references), live_sessions.c.state.in_(ACTIVE)
                )
            ).all()
        return {r.reference: self._session(r) for r in rows}

    # -- the référent ---------------------------------------------------------------------
    def join(self, reference: str, login: str) -> LiveSession:
        now = self._now()
        with self.store._tx() as conn:
            row = conn.execute(
                sa.select(live_sessions.c.state, live_sessions.c.operator).where(live_sessions.c.reference == reference)
            ).first()
            if row is None:
                raise NotJoinable()
            if row.state == JOINED and row.operator != login:
                raise NotJoinable(row.operator)
            if row.state not in JOINABLE + (JOINED,):
                raise NotJoinable()
            done = conn.execute(
                live_sessions.update()
                .where(live_sessions.c.reference == reference, live_sessions.c.state == row.state)
                .values(state=JOINED, operator=login, joined_at=now)
            )
            if done.rowcount != 1:
                raise NotJoinable()
            self._event(conn, CHANGED, reference)
        return self.get(reference)  # type: ignore[return-value]

    def end(self, reference: str, login: str | None = None) -> LiveSession | None:
        """Handed back (by `login`, the holder) or ended by her (`login` None)."""
        now = self._now()
        with self.store._tx() as conn:
            cond = [live_sessions.c.reference == reference, live_sessions.c.state.in_(ACTIVE)]
            if login is not None:
                cond.append(live_sessions.c.operator == login)
            done = conn.execute(live_sessions.update().where(*cond).values(state=ENDED, ended_at=now))
            if done.rowcount != 1:
                return None
            self._event(conn, CHANGED, reference)
        return self.get(reference)

    def expire_due(self) -> list[LiveSession]:
        """Sessions nobody joined in time, each claimed by exactly one caller (several workers)."""
        now = self._now()
        with self.store._read() as conn:
            refs = [
                r.reference
                for r in conn.execute(
                    sa.select(live_sessions.c.reference).where(
                        live_sessions.c.state == WAITING, live_sessions.c.deadline < now
                    )
                ).all()
            ]
        claimed = []
        for ref in refs:
            with self.store._tx() as conn:
                done = conn.execute(
                    live_sessions.update()
                    .where(live_sessions.c.reference == ref, live_sessions.c.state == WAITING)
                    .values(state=EXPIRED)
                )
                if done.rowcount == 1:
                    self._event(conn, CHANGED, ref)
                    claimed.append(ref)
        return [s for s in (self.get(r) for r in claimed) if s is not None]

    # -- the exchange ------------------------------------------------------------------------
    def add_message(
        self, reference: str, author: str, text: str, *, login: str | None = None, danger: bool = False
    ) -> LiveMessage:
        message_id = f"{time.time_ns():016x}{secrets.token_hex(8)}"
        now = self._now()
        with self.store._tx() as conn:
            conn.execute(
                live_messages.insert().values(
                    id=message_id,
                    reference=reference,
                    author=author,
                    login=login,
                    danger=danger,
                    at=now,
                    body_enc=self._seal(text, reference, message_id),
                )
            )
            self._event(conn, DANGER if danger else MESSAGE, reference)
        return LiveMessage(message_id, reference, author, text, now, login, danger)

    def messages(self, reference: str) -> list[LiveMessage]:
        with self.store._read() as conn:
            rows = conn.execute(
                sa.select(live_messages)
                .where(live_messages.c.reference == reference)
                .order_by(live_messages.c.at, live_messages.c.id)
            ).all()
        return [
            LiveMessage(
                r.id, r.reference, r.author, self._open(r.body_enc, r.reference, r.id), r.at, r.login, bool(r.danger)
            )
            for r in rows
        ]
