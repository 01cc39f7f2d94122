"""The budget-compilation process: the departments' budget contacts and the approving meetings' minutes.

Revision ID: 0012_compilation_process
Revises: 0011_budget_compilation
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012_compilation_process"
down_revision: str | None = "0011_budget_compilation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_table(table: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    # a database made by ``create_all`` before migrations (adopted at the baseline) already has the tables
    if _has_table("budget_contact"):
        return
    text = sqlmodel.sql.sqltypes.AutoString
    stamp = sa.DateTime(timezone=True)
    op.create_table(
        "budget_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department", text(length=32), nullable=False),
        sa.Column("user_id", text(length=64), nullable=False),
        sa.Column("set_by", text(length=64), nullable=False),
        sa.Column("set_at", stamp, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_budget_contact_department"), "budget_contact", ["department"], unique=False)
    op.create_table(
        "budget_compilation_minutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("body", text(length=32), nullable=False),
        sa.Column("minutes_no", text(length=100), nullable=False),
        sa.Column("meeting_date", sa.Date(), nullable=False),
        sa.Column("filename", text(length=255), nullable=False),
        sa.Column("sha256", text(length=64), nullable=False),
        sa.Column("attached_by", text(length=64), nullable=False),
        sa.Column("attached_at", stamp, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fiscal_year", "body", "minutes_no", name="uq_budget_compilation_minutes"),
    )
    op.create_index(op.f("ix_budget_compilation_minutes_fiscal_year"), "budget_compilation_minutes",
                    ["fiscal_year"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_budget_compilation_minutes_fiscal_year"), table_name="budget_compilation_minutes")
    op.drop_table("budget_compilation_minutes")
    op.drop_index(op.f("ix_budget_contact_department"), table_name="budget_contact")
    op.drop_table("budget_contact")
