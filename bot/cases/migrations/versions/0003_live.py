"""Live takeover: live sessions and their messages (sealed), operators' display name.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("operators") as batch:
        batch.add_column(sa.Column("display_name", sa.String(64), nullable=True))
    op.create_table(
        "live_sessions",
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator", sa.String(64), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sender_enc", sa.Text(), nullable=False),
        sa.Column("address_enc", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["reference"], ["cases.reference"], ondelete="CASCADE", name="fk_live_sessions_reference_cases"
        ),
        sa.PrimaryKeyConstraint("reference", name="pk_live_sessions"),
    )
    op.create_index("ix_live_sessions_conversation_id", "live_sessions", ["conversation_id"])
    op.create_table(
        "live_messages",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("login", sa.String(64), nullable=True),
        sa.Column("danger", sa.Boolean(), nullable=False),
        sa.Column("body_enc", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reference"], ["cases.reference"], ondelete="CASCADE", name="fk_live_messages_reference_cases"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_live_messages"),
    )
    op.create_index("ix_live_messages_reference", "live_messages", ["reference"])


def downgrade() -> None:
    op.drop_index("ix_live_messages_reference", "live_messages")
    op.drop_table("live_messages")
    op.drop_index("ix_live_sessions_conversation_id", "live_sessions")
    op.drop_table("live_sessions")
    with op.batch_alter_table("operators") as batch:
        batch.drop_column("display_name")
