"""Budget compilation (预算编制): the project pool with its performance targets, the compilation round of a fiscal
year, the departments' drafts and their lines, the control numbers and the issued versions.

Revision ID: 0011_budget_compilation
Revises: 0010_budget_adjustment
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011_budget_compilation"
down_revision: str | None = "0010_budget_adjustment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_table(table: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    # a database made by ``create_all`` before migrations (adopted at the baseline) already has the tables
    if _has_table("budget_project"):
        return
    text = sqlmodel.sql.sqltypes.AutoString
    stamp = sa.DateTime(timezone=True)
    op.create_table(
        "budget_project",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("code", text(length=32), nullable=False),
        sa.Column("name", text(length=200), nullable=False),
        sa.Column("department", text(length=32), nullable=False),
        sa.Column("funding_source", text(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", text(length=16), nullable=False),
        sa.Column("created_at", stamp, nullable=False),
        sa.Column("created_by", text(length=64), nullable=False),
        sa.Column("updated_at", stamp, nullable=False),
        sa.Column("updated_by", text(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fiscal_year", "code", name="uq_budget_project"),
    )
    op.create_index(op.f("ix_budget_project_department"), "budget_project", ["department"], unique=False)
    op.create_index(op.f("ix_budget_project_fiscal_year"), "budget_project", ["fiscal_year"], unique=False)
    op.create_table(
        "budget_project_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", text(length=8), nullable=False),
        sa.Column("dimension", text(length=20), nullable=False),
        sa.Column("indicator", text(length=200), nullable=False),
        sa.Column("unit", text(length=32), nullable=False),
        sa.Column("direction", text(length=2), nullable=False),
        sa.Column("target_value", text(length=40), nullable=False),
        sa.Column("actual_value", text(length=40), nullable=True),
        sa.Column("actual_by", text(length=64), nullable=True),
        sa.Column("actual_at", stamp, nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["budget_project.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "indicator", name="uq_budget_project_target"),
    )
    op.create_index(op.f("ix_budget_project_target_project_id"), "budget_project_target", ["project_id"],
                    unique=False)
    op.create_table(
        "budget_compilation_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("guidance", text(length=4000), nullable=False),
        sa.Column("first_deadline", sa.Date(), nullable=False),
        sa.Column("second_deadline", sa.Date(), nullable=False),
        sa.Column("template_version", text(length=32), nullable=False),
        sa.Column("stage", text(length=16), nullable=False),
        sa.Column("opened_at", stamp, nullable=False),
        sa.Column("opened_by", text(length=64), nullable=False),
        sa.Column("stage_changed_at", stamp, nullable=False),
        sa.Column("stage_changed_by", text(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fiscal_year"),
    )
    op.create_table(
        "budget_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("department", text(length=32), nullable=False),
        sa.Column("round", text(length=8), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", text(length=8), nullable=False),
        sa.Column("filename", text(length=255), nullable=False),
        sa.Column("sha256", text(length=64), nullable=False),
        sa.Column("template_version", text(length=32), nullable=False),
        sa.Column("digest", text(length=64), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_at", stamp, nullable=False),
        sa.Column("uploaded_by", text(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fiscal_year", "department", "round", "revision", name="uq_budget_draft"),
    )
    op.create_index("ix_budget_draft_round", "budget_draft", ["fiscal_year", "round", "status"], unique=False)
    op.create_table(
        "budget_draft_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("kind", text(length=8), nullable=False),
        sa.Column("economic_code", text(length=10), nullable=False),
        sa.Column("funding_source", text(length=16), nullable=False),
        sa.Column("project", text(length=32), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("cell", text(length=64), nullable=False),
        sa.ForeignKeyConstraint(["draft_id"], ["budget_draft.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_budget_draft_line_draft_id"), "budget_draft_line", ["draft_id"], unique=False)
    op.create_table(
        "budget_control_number",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("department", text(length=32), nullable=False),
        sa.Column("funding_source", text(length=16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("decision", text(length=200), nullable=False),
        sa.Column("decided_by", text(length=64), nullable=False),
        sa.Column("decided_at", stamp, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_budget_control_number_key", "budget_control_number",
                    ["fiscal_year", "department", "funding_source"], unique=False)
    op.create_table(
        "budget_issue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document_no", text(length=64), nullable=False),
        sa.Column("digest", text(length=64), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("lines_created", sa.Integer(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("issued_at", stamp, nullable=False),
        sa.Column("issued_by", text(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_no"),
        sa.UniqueConstraint("fiscal_year", "version", name="uq_budget_issue"),
    )


def downgrade() -> None:
    op.drop_table("budget_issue")
    op.drop_index("ix_budget_control_number_key", table_name="budget_control_number")
    op.drop_table("budget_control_number")
    op.drop_index(op.f("ix_budget_draft_line_draft_id"), table_name="budget_draft_line")
    op.drop_table("budget_draft_line")
    op.drop_index("ix_budget_draft_round", table_name="budget_draft")
    op.drop_table("budget_draft")
    op.drop_table("budget_compilation_round")
    op.drop_index(op.f("ix_budget_project_target_project_id"), table_name="budget_project_target")
    op.drop_table("budget_project_target")
    op.drop_index(op.f("ix_budget_project_department"), table_name="budget_project")
    op.drop_index(op.f("ix_budget_project_fiscal_year"), table_name="budget_project")
    op.drop_table("budget_project")
