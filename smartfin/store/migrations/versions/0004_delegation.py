"""Delegations (授权): deputies recorded with their validity period, mirrored into the engine's deputy groups.

Revision ID: 0004_delegation
Revises: 0003_approval_chain
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004_delegation"
down_revision: str | None = "0003_approval_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_table(table: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    # a database made by ``create_all`` before migrations (adopted at the baseline) already has the table
    if _has_table("delegation"):
        return
    op.create_table(
        "delegation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delegator", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("deputy", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("groups", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("valid_from", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("valid_to", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("granted_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("granted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("delegation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delegation_delegator"), ["delegator"], unique=False)
        batch_op.create_index(batch_op.f("ix_delegation_deputy"), ["deputy"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("delegation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delegation_deputy"))
        batch_op.drop_index(batch_op.f("ix_delegation_delegator"))
    op.drop_table("delegation")
