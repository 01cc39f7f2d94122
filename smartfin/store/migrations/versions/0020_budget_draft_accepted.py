"""Budget drafts: the draft a department's task was accepted with (its submission) is marked, with who submitted.

Drafts stored before this revision carry no mark: they stay replaceable until their department's task is
accepted again, as they were.

Revision ID: 0020_budget_draft_accepted
Revises: 0019_department_role
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0020_budget_draft_accepted"
down_revision: str | None = "0019_department_role"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a database made by ``create_all`` before migrations (adopted at the baseline) already has the columns
    if "accepted_at" in {column["name"] for column in sa.inspect(op.get_bind()).get_columns("budget_draft")}:
        return
    with op.batch_alter_table("budget_draft", schema=None) as batch_op:
        batch_op.add_column(sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("accepted_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("budget_draft", schema=None) as batch_op:
        batch_op.drop_column("accepted_by")
        batch_op.drop_column("accepted_at")
