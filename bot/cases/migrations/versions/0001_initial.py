"""Initial case store: cases, notes, events.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_OPEN = sa.text("status IN ('nouveau', 'pris_en_charge', 'en_cours')")


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("territory", sa.String(3), nullable=True),
        sa.Column("measures", sa.JSON(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contact_enc", sa.Text(), nullable=True),
        sa.Column("eligibility_enc", sa.Text(), nullable=True),
        sa.Column("danger_signals_enc", sa.Text(), nullable=True),
        sa.Column("outcome_enc", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('nouveau', 'pris_en_charge', 'en_cours', 'clos', 'retire')", name="ck_cases_status"
        ),
        sa.CheckConstraint("priority IN ('urgent', 'high', 'normal')", name="ck_cases_priority"),
        sa.PrimaryKeyConstraint("reference", name="pk_cases"),
    )
    op.create_index("ix_cases_conversation_id", "cases", ["conversation_id"])
    op.create_index("ix_cases_territory", "cases", ["territory"])
    op.create_index("ix_cases_queue", "cases", ["status", "priority", "created_at"])
    op.create_index(
        "uq_cases_open_conversation",
        "cases",
        ["conversation_id"],
        unique=True,
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )

    op.create_table(
        "case_notes",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("body_enc", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reference"], ["cases.reference"], ondelete="CASCADE", name="fk_case_notes_reference_cases"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_case_notes"),
    )
    op.create_index("ix_case_notes_reference", "case_notes", ["reference"])

    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("territory", sa.String(3), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_events"),
    )
    op.create_index("ix_case_events_reference", "case_events", ["reference"])


def downgrade() -> None:
    op.drop_table("case_events")
    op.drop_table("case_notes")
    op.drop_table("cases")
