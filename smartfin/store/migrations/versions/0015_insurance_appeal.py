"""Insurance appeals (医保拒付扣款申诉): departments' insurance officers and each item's outcome and recovery.

Revision ID: 0015_insurance_appeal
Revises: 0014_insurance_settlement
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015_insurance_appeal"
down_revision: str | None = "0014_insurance_settlement"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_table(table: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    # a database made by ``create_all`` before migrations (adopted at the baseline) already has the tables
    if _has_table("ins_appeal_officer"):
        return
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "ins_appeal_officer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department", text(length=32), nullable=False),
        sa.Column("user_id", text(length=64), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("recorded_by", text(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("department", "user_id", "valid_from", name="uq_ins_appeal_officer"),
    )
    with op.batch_alter_table("ins_appeal_officer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ins_appeal_officer_department"), ["department"], unique=False)
        batch_op.create_index(batch_op.f("ix_ins_appeal_officer_user_id"), ["user_id"], unique=False)
    op.create_table(
        "ins_appeal_item_outcome",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("outcome", text(length=12), nullable=False),
        sa.Column("argument", sa.Text(), nullable=True),
        sa.Column("decided_by", text(length=64), nullable=False),
        sa.Column("decide_task_id", text(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recovered_fen", sa.BigInteger(), nullable=True),
        sa.Column("recovered_on", sa.Date(), nullable=True),
        sa.Column("recovered_by", text(length=64), nullable=True),
        sa.Column("recovery_task_id", text(length=64), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["ins_appeal_batch.id"]),
        sa.ForeignKeyConstraint(["item_id"], ["ins_clearing_item.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id"),
    )
    with op.batch_alter_table("ins_appeal_item_outcome", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ins_appeal_item_outcome_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ins_appeal_item_outcome_decide_task_id"), ["decide_task_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ins_appeal_item_outcome", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ins_appeal_item_outcome_decide_task_id"))
        batch_op.drop_index(batch_op.f("ix_ins_appeal_item_outcome_batch_id"))
    op.drop_table("ins_appeal_item_outcome")
    with op.batch_alter_table("ins_appeal_officer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ins_appeal_officer_user_id"))
        batch_op.drop_index(batch_op.f("ix_ins_appeal_officer_department"))
    op.drop_table("ins_appeal_officer")
