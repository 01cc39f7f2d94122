"""Budget performance assessment (预算绩效评价): the year-end entry of each department's actual indicator values,
with the head recorded for the department and who entered the values.

Revision ID: 0013_budget_assessment
Revises: 0012_compilation_process
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013_budget_assessment"
down_revision: str | None = "0012_compilation_process"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_table(table: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    # a database made by ``create_all`` before migrations (adopted at the baseline) already has the table
    if _has_table("budget_assessment_entry"):
        return
    text = sqlmodel.sql.sqltypes.AutoString
    stamp = sa.DateTime(timezone=True)
    op.create_table(
        "budget_assessment_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_key", text(length=80), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("department", text(length=32), nullable=False),
        sa.Column("head", text(length=64), nullable=False),
        sa.Column("status", text(length=12), nullable=False),
        sa.Column("process_instance_id", text(length=64), nullable=True),
        sa.Column("opened_at", stamp, nullable=False),
        sa.Column("opened_by", text(length=64), nullable=False),
        sa.Column("entered_task_id", text(length=64), nullable=True),
        sa.Column("entered_by", text(length=64), nullable=True),
        sa.Column("entered_at", stamp, nullable=True),
        sa.Column("values_entered", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("business_key"),
        sa.UniqueConstraint("entered_task_id"),
        sa.UniqueConstraint("fiscal_year", "department", name="uq_budget_assessment_entry"),
    )


def downgrade() -> None:
    op.drop_table("budget_assessment_entry")
