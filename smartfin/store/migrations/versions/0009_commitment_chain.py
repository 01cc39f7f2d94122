"""The commitment chain: links between documents that consume each other's holdings, and contracts with
their payment schedules and status (pending over-run approval, registered, complete, cancelled).

Revision ID: 0009_commitment_chain
Revises: 0008_cost_review
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009_commitment_chain"
down_revision: str | None = "0008_cost_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_table(table: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    # a database made by ``create_all`` before migrations (adopted at the baseline) already has the tables
    if _has_table("document_link"):
        return
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "document_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cited_type", text(length=40), nullable=False),
        sa.Column("cited_no", text(length=80), nullable=False),
        sa.Column("citing_type", text(length=40), nullable=False),
        sa.Column("citing_no", text(length=80), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("from_bucket", text(length=20), nullable=False),
        sa.Column("to_bucket", text(length=20), nullable=False),
        sa.Column("consumed_fen", sa.BigInteger(), nullable=False),
        sa.Column("posted_fen", sa.BigInteger(), nullable=False),
        sa.Column("excess_fen", sa.BigInteger(), nullable=False),
        sa.Column("within_tolerance", sa.Boolean(), nullable=False),
        sa.Column("actor", text(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["budget_line.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("citing_type", "citing_no", "cited_type", "cited_no", name="uq_document_link"),
    )
    with op.batch_alter_table("document_link", schema=None) as batch_op:
        batch_op.create_index("ix_document_link_cited", ["cited_type", "cited_no"], unique=False)
    op.create_table(
        "contract",
        sa.Column("contract_no", text(length=40), nullable=False),
        sa.Column("request_no", text(length=40), nullable=False),
        sa.Column("supplier", text(length=200), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("department", text(length=32), nullable=False),
        sa.Column("registered_by", text(length=64), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", text(length=20), nullable=False),
        sa.Column("overrun_approved_by", text(length=64), nullable=True),
        sa.Column("closed_by", text(length=64), nullable=True),
        sa.ForeignKeyConstraint(["line_id"], ["budget_line.id"]),
        sa.PrimaryKeyConstraint("contract_no"),
    )
    with op.batch_alter_table("contract", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contract_request_no"), ["request_no"], unique=False)
    op.create_table(
        "contract_payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_no", text(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["contract_no"], ["contract.contract_no"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contract_no", "position", name="uq_contract_payment_position"),
    )
    with op.batch_alter_table("contract_payment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contract_payment_contract_no"), ["contract_no"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contract_payment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_payment_contract_no"))
    op.drop_table("contract_payment")
    with op.batch_alter_table("contract", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_request_no"))
    op.drop_table("contract")
    with op.batch_alter_table("document_link", schema=None) as batch_op:
        batch_op.drop_index("ix_document_link_cited")
    op.drop_table("document_link")
