"""Budget adjustments (预算调整) with their movements, and the record of each fiscal year's close.

Revision ID: 0010_budget_adjustment
Revises: 0009_commitment_chain
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010_budget_adjustment"
down_revision: str | None = "0009_commitment_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_table(table: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    # a database made by ``create_all`` before migrations (adopted at the baseline) already has the tables
    if _has_table("budget_adjustment"):
        return
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "budget_adjustment",
        sa.Column("adjustment_no", text(length=40), nullable=False),
        sa.Column("department", text(length=32), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("requester", text(length=64), nullable=False),
        sa.Column("entered_by", text(length=64), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("reason", text(length=2000), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("cross_department", sa.Boolean(), nullable=False),
        sa.Column("tier", text(length=32), nullable=False),
        sa.Column("status", text(length=12), nullable=False),
        sa.Column("minutes_no", text(length=100), nullable=True),
        sa.Column("approved_by", text(length=64), nullable=True),
        sa.Column("closing_reason", text(length=2000), nullable=True),
        sa.Column("process_instance_id", text(length=64), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("adjustment_no"),
    )
    with op.batch_alter_table("budget_adjustment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_budget_adjustment_department"), ["department"], unique=False)
        batch_op.create_index(batch_op.f("ix_budget_adjustment_fiscal_year"), ["fiscal_year"], unique=False)
        batch_op.create_index(batch_op.f("ix_budget_adjustment_status"), ["status"], unique=False)
    op.create_table(
        "budget_adjustment_movement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("adjustment_no", text(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", text(length=10), nullable=False),
        sa.Column("from_line", text(length=200), nullable=False),
        sa.Column("to_line", text(length=200), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reason", text(length=1000), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("adjustment_no", "position", name="uq_adjustment_movement"),
    )
    with op.batch_alter_table("budget_adjustment_movement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_budget_adjustment_movement_adjustment_no"), ["adjustment_no"],
                              unique=False)
    op.create_table(
        "budget_year_closing",
        sa.Column("fiscal_year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("closed_by", text(length=64), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rules_on", sa.Date(), nullable=False),
        sa.Column("lines_closed", sa.Integer(), nullable=False),
        sa.Column("carried_fen", sa.BigInteger(), nullable=False),
        sa.Column("lapsed_fen", sa.BigInteger(), nullable=False),
        sa.Column("details_json", text(), nullable=False),
        sa.PrimaryKeyConstraint("fiscal_year"),
    )


def downgrade() -> None:
    op.drop_table("budget_year_closing")
    with op.batch_alter_table("budget_adjustment_movement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_budget_adjustment_movement_adjustment_no"))
    op.drop_table("budget_adjustment_movement")
    with op.batch_alter_table("budget_adjustment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_budget_adjustment_status"))
        batch_op.drop_index(batch_op.f("ix_budget_adjustment_fiscal_year"))
        batch_op.drop_index(batch_op.f("ix_budget_adjustment_department"))
    op.drop_table("budget_adjustment")
