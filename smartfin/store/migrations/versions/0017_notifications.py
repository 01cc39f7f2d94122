"""Notifications: user preferences, events, the outbox (one row per event, recipient and channel), source marks.

Revision ID: 0017_notifications
Revises: 0016_cash_forecast
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017_notifications"
down_revision: str | None = "0016_cash_forecast"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_table(table: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    # a database made by ``create_all`` before migrations (adopted at the baseline) already has the tables
    if _has_table("notify_event"):
        return
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "notify_preference",
        sa.Column("user_id", text(length=64), nullable=False),
        sa.Column("email", text(length=200), nullable=True),
        sa.Column("webhook", sa.Boolean(), nullable=False),
        sa.Column("digest", text(length=12), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", text(length=64), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "notify_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_key", text(length=200), nullable=False),
        sa.Column("kind", text(length=32), nullable=False),
        sa.Column("subject", text(length=120), nullable=False),
        sa.Column("title", text(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", text(length=500), nullable=True),
        sa.Column("groups", text(length=1000), nullable=False),
        sa.Column("users", text(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expanded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_key"),
    )
    with op.batch_alter_table("notify_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_event_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_notify_event_expanded_at"), ["expanded_at"], unique=False)
    op.create_table(
        "notify_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("recipient", text(length=64), nullable=False),
        sa.Column("channel", text(length=12), nullable=False),
        sa.Column("address", text(length=200), nullable=True),
        sa.Column("status", text(length=12), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", text(length=500), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["notify_event.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "recipient", "channel", name="uq_notify_outbox"),
    )
    with op.batch_alter_table("notify_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_outbox_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notify_outbox_status"), ["status"], unique=False)
    op.create_table(
        "notify_mark",
        sa.Column("source", text(length=40), nullable=False),
        sa.Column("value", text(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )


def downgrade() -> None:
    op.drop_table("notify_mark")
    with op.batch_alter_table("notify_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_outbox_status"))
        batch_op.drop_index(batch_op.f("ix_notify_outbox_event_id"))
    op.drop_table("notify_outbox")
    with op.batch_alter_table("notify_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_event_expanded_at"))
        batch_op.drop_index(batch_op.f("ix_notify_event_kind"))
    op.drop_table("notify_event")
    op.drop_table("notify_preference")
