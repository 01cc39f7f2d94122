"""Cost reviews (成本分析整改): one review per month, cost centre and indicator, and each round of it.

Revision ID: 0008_cost_review
Revises: 0007_cost_accounting
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008_cost_review"
down_revision: str | None = "0007_cost_accounting"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_table(table: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    # a database made by ``create_all`` before migrations (adopted at the baseline) already has the tables
    if _has_table("cost_review"):
        return
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "cost_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_key", text(length=200), nullable=False),
        sa.Column("month", text(length=7), nullable=False),
        sa.Column("centre", text(length=32), nullable=False),
        sa.Column("centre_name", text(length=100), nullable=False),
        sa.Column("indicator", text(length=64), nullable=False),
        sa.Column("indicator_name", text(length=100), nullable=False),
        sa.Column("value", text(length=40), nullable=False),
        sa.Column("target", text(length=40), nullable=False),
        sa.Column("direction", text(length=3), nullable=False),
        sa.Column("last_year", text(length=40), nullable=True),
        sa.Column("status", text(length=12), nullable=False),
        sa.Column("process_instance_id", text(length=64), nullable=True),
        sa.Column("previous_review_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", text(length=64), nullable=True),
        sa.Column("measure", text(length=2000), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("follow_up_month", text(length=7), nullable=True),
        sa.Column("follow_up_value", text(length=40), nullable=True),
        sa.Column("follow_up_outcome", text(length=14), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("business_key"),
        sa.UniqueConstraint("month", "centre", "indicator", name="uq_cost_review"),
    )
    with op.batch_alter_table("cost_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cost_review_month"), ["month"], unique=False)
        batch_op.create_index(batch_op.f("ix_cost_review_centre"), ["centre"], unique=False)
        batch_op.create_index(batch_op.f("ix_cost_review_status"), ["status"], unique=False)
    op.create_table(
        "cost_review_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("explain_task_id", text(length=64), nullable=False),
        sa.Column("explained_by", text(length=64), nullable=False),
        sa.Column("explained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("explanation", text(length=4000), nullable=False),
        sa.Column("measure", text(length=2000), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("judge_task_id", text(length=64), nullable=True),
        sa.Column("judged_by", text(length=64), nullable=True),
        sa.Column("judged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", text(length=12), nullable=True),
        sa.Column("reason", text(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["review_id"], ["cost_review.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("explain_task_id"),
        sa.UniqueConstraint("judge_task_id"),
        sa.UniqueConstraint("review_id", "round", name="uq_cost_review_round"),
    )
    with op.batch_alter_table("cost_review_round", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cost_review_round_review_id"), ["review_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cost_review_round", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cost_review_round_review_id"))
    op.drop_table("cost_review_round")
    with op.batch_alter_table("cost_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cost_review_status"))
        batch_op.drop_index(batch_op.f("ix_cost_review_centre"))
        batch_op.drop_index(batch_op.f("ix_cost_review_month"))
    op.drop_table("cost_review")
