"""Approval chains fixed at routing time and the decisions recorded from the engine's history.

Revision ID: 0003_approval_chain
Revises: 0002_entered_by
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003_approval_chain"
down_revision: str | None = "0002_entered_by"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_table(table: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    # a database made by ``create_all`` before migrations (adopted at the baseline) already has the tables
    if _has_table("approval_chain_step") and _has_table("approval_decision"):
        return
    op.create_table(
        "approval_chain_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("document_no", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("candidate_group", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("within_plan", sa.Boolean(), nullable=False),
        sa.Column("routed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("routing_decision_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("routing_decision_version", sa.Integer(), nullable=False),
        sa.Column("routed_by_task", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_type", "document_no", "round", "step", name="uq_approval_chain_step"),
    )
    op.create_table(
        "approval_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("document_no", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("task_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("candidate_group", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id"),
    )
    with op.batch_alter_table("approval_decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_decision_document_no"), ["document_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_approval_decision_document_type"), ["document_type"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("approval_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_decision_document_type"))
        batch_op.drop_index(batch_op.f("ix_approval_decision_document_no"))
    op.drop_table("approval_decision")
    op.drop_table("approval_chain_step")
