"""The staff grade register: each person's travel grade, in dated versions.

Revision ID: 0018_staff_grade
Revises: 0017_notifications
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0018_staff_grade"
down_revision: str | None = "0017_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a database made by ``create_all`` before migrations (adopted at the baseline) already has the table
    if sa.inspect(op.get_bind()).has_table("staff_grade"):
        return
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "staff_grade",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person", text(length=64), nullable=False),
        sa.Column("grade", text(length=16), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("recorded_by", text(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person", "valid_from", name="uq_staff_grade_from"),
    )
    with op.batch_alter_table("staff_grade", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_grade_person"), ["person"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_grade", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_grade_person"))
    op.drop_table("staff_grade")
