"""Department roles: who holds a department-scoped role (the head) in which dated period.

Revision ID: 0019_department_role
Revises: 0018_staff_grade
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0019_department_role"
down_revision: str | None = "0018_staff_grade"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a database made by ``create_all`` before migrations (adopted at the baseline) already has the table
    if sa.inspect(op.get_bind()).has_table("department_role"):
        return
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "department_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department", text(length=32), nullable=False),
        sa.Column("role", text(length=32), nullable=False),
        sa.Column("user_id", text(length=64), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("recorded_by", text(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("department", "role", "valid_from", name="uq_department_role_from"),
    )
    with op.batch_alter_table("department_role", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_department_role_department"), ["department"], unique=False)
        batch_op.create_index(batch_op.f("ix_department_role_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("department_role", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_department_role_user_id"))
        batch_op.drop_index(batch_op.f("ix_department_role_department"))
    op.drop_table("department_role")
