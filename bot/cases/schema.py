"""Tables of the case store. Columns ending in ``_enc`` hold AES-GCM envelopes
(see crypto.py); everything else is in clear and must stay free of personal data.
Any change here needs an Alembic revision in migrations/versions."""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

import sqlalchemy as sa

from bot.cases.model import OPEN_STATUSES, PRIORITIES, STATUSES

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(sa.types.TypeDecorator):
    """Aware UTC datetimes on both backends (SQLite has no time zones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass an aware UTC datetime")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def _in(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


OPEN_CASE_WHERE = sa.text(_in("status", OPEN_STATUSES))

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("reference", sa.String(16), primary_key=True),
    sa.Column("conversation_id", sa.String(64), nullable=False, index=True),  # HMAC
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("priority", sa.String(8), nullable=False),
    sa.Column("territory", sa.String(3), nullable=True, index=True),
    sa.Column("measures", sa.JSON, nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("closed_at", UTCDateTime, nullable=True),
    sa.Column("contact_enc", sa.Text, nullable=True),
    sa.Column("eligibility_enc", sa.Text, nullable=True),
    sa.Column("danger_signals_enc", sa.Text, nullable=True),
    sa.Column("outcome_enc", sa.Text, nullable=True),
    sa.CheckConstraint(_in("status", STATUSES), name="status"),
    sa.CheckConstraint(_in("priority", PRIORITIES), name="priority"),
    # Never two open cases for one conversation, even under a race: the database decides.
    sa.Index(
        "uq_cases_open_conversation",
        "conversation_id",
        unique=True,
        sqlite_where=OPEN_CASE_WHERE,
        postgresql_where=OPEN_CASE_WHERE,
    ),
    sa.Index("ix_cases_queue", "status", "priority", "created_at"),
)

case_notes = sa.Table(
    "case_notes",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "reference", sa.String(16), sa.ForeignKey("cases.reference", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("author", sa.String(64), nullable=False),  # référent login, not the victim's data
    sa.Column("body_enc", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

case_events = sa.Table(
    "case_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("reference", sa.String(16), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("priority", sa.String(8), nullable=False),
    sa.Column("territory", sa.String(3), nullable=True),
    sa.Column("at", UTCDateTime, nullable=False),
)


# -- operator console (bot/console): staff data only, never the victim's ---------
operators = sa.Table(
    "operators",
    metadata,
    sa.Column("login", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.String(255), nullable=False),  # scrypt, see bot/console/accounts.py
    sa.Column("supervisor", sa.Boolean, nullable=False, default=False),
    sa.Column("territories", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("display_name", sa.String(64), nullable=True),  # « Claire », shown to her in a live takeover
)

console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),  # SHA-256 of the cookie value
    sa.Column("login", sa.String(64), sa.ForeignKey("operators.login", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
)

assignments = sa.Table(
    "case_assignments",
    metadata,
    sa.Column("reference", sa.String(16), sa.ForeignKey("cases.reference", ondelete="CASCADE"), primary_key=True),
    sa.Column("login", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False, index=True),
    sa.Column("login", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),  # vue, prise, statut, note, connexion…
    sa.Column("reference", sa.String(16), nullable=True, index=True),
    sa.Column("detail", sa.String(64), nullable=True),  # e.g. the new status; never free text
)


# -- live takeover (bot/live): a référent writes to her in the conversation ---------
live_sessions = sa.Table(
    "live_sessions",
    metadata,
    sa.Column("reference", sa.String(16), sa.ForeignKey("cases.reference", ondelete="CASCADE"), primary_key=True),
    sa.Column("conversation_id", sa.String(64), nullable=False, index=True),  # the case's HMAC id
    sa.Column("channel", sa.String(16), nullable=False),  # socketio | telegram
    sa.Column("state", sa.String(16), nullable=False),  # attente | rejoint | expire | fini
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("deadline", UTCDateTime, nullable=False),
    sa.Column("operator", sa.String(64), nullable=True),  # login of the référent who joined
    sa.Column("joined_at", UTCDateTime, nullable=True),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Column("sender_enc", sa.Text, nullable=False),  # Rasa's sender id, sealed
    sa.Column("address_enc", sa.Text, nullable=True),  # Telegram chat id, sealed
)

live_messages = sa.Table(
    "live_messages",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),  # time-ordered, like notes
    sa.Column(
        "reference", sa.String(16), sa.ForeignKey("cases.reference", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("author", sa.String(16), nullable=False),  # elle | referente | assistant | info
    sa.Column("login", sa.String(64), nullable=True),
    sa.Column("danger", sa.Boolean, nullable=False, default=False),
    sa.Column("body_enc", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)
