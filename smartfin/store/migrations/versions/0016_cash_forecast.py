"""Cash forecast (资金预测): imported history, receivables and payables; stored runs; minimum-balance alerts.

Revision ID: 0016_cash_forecast
Revises: 0015_insurance_appeal
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016_cash_forecast"
down_revision: str | None = "0015_insurance_appeal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_table(table: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(table)


def _index(table: str, *columns: str, unique: bool = False) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_{'_'.join(columns)}"), list(columns), unique=unique)


def upgrade() -> None:
    # a database made by ``create_all`` before migrations (adopted at the baseline) already has the tables
    if _has_table("cash_import"):
        return
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "cash_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", text(length=16), nullable=False),
        sa.Column("fingerprint", text(length=64), nullable=False),
        sa.Column("source", text(length=255), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("imported_by", text(length=64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fingerprint"),
    )
    op.create_table(
        "cash_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("kind", text(length=24), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("insurance_type", text(length=32), nullable=True),
        sa.Column("service_month", text(length=7), nullable=True),
        sa.ForeignKeyConstraint(["import_id"], ["cash_import.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("cash_history", "import_id")
    with op.batch_alter_table("cash_history", schema=None) as batch_op:
        batch_op.create_index("ix_cash_history_kind_day", ["kind", "day"], unique=False)
    op.create_table(
        "cash_receivable",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("insurance_type", text(length=32), nullable=False),
        sa.Column("service_month", text(length=7), nullable=False),
        sa.Column("outstanding_fen", sa.BigInteger(), nullable=False),
        sa.Column("billed_fen", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["import_id"], ["cash_import.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("as_of", "insurance_type", "service_month", name="uq_cash_receivable"),
    )
    _index("cash_receivable", "import_id")
    _index("cash_receivable", "as_of")
    op.create_table(
        "cash_payable",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("reference", text(length=64), nullable=False),
        sa.Column("supplier", text(length=200), nullable=False),
        sa.Column("category", text(length=32), nullable=False),
        sa.Column("accepted_on", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["import_id"], ["cash_import.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
    )
    _index("cash_payable", "import_id")
    _index("cash_payable", "accepted_on")
    op.create_table(
        "cash_forecast_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("scenario", text(length=64), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("opening_fen", sa.BigInteger(), nullable=False),
        sa.Column("minimum_fen", sa.BigInteger(), nullable=False),
        sa.Column("breach_start", sa.Date(), nullable=True),
        sa.Column("breach_end", sa.Date(), nullable=True),
        sa.Column("breach_closing_fen", sa.BigInteger(), nullable=True),
        sa.Column("days", sa.JSON(), nullable=False),
        sa.Column("weeks", sa.JSON(), nullable=False),
        sa.Column("drivers", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("created_by", text(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("as_of", "scenario", name="uq_cash_forecast_run"),
    )
    _index("cash_forecast_run", "as_of")
    op.create_table(
        "cash_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("business_key", text(length=200), nullable=False),
        sa.Column("status", text(length=12), nullable=False),
        sa.Column("process_instance_id", text(length=64), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("task_id", text(length=64), nullable=True),
        sa.Column("decided_by", text(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", text(length=16), nullable=True),
        sa.Column("measure", text(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["cash_forecast_run.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id"),
        sa.UniqueConstraint("business_key"),
    )
    _index("cash_alert", "status")


def downgrade() -> None:
    with op.batch_alter_table("cash_alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cash_alert_status"))
    op.drop_table("cash_alert")
    with op.batch_alter_table("cash_forecast_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cash_forecast_run_as_of"))
    op.drop_table("cash_forecast_run")
    with op.batch_alter_table("cash_payable", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cash_payable_accepted_on"))
        batch_op.drop_index(batch_op.f("ix_cash_payable_import_id"))
    op.drop_table("cash_payable")
    with op.batch_alter_table("cash_receivable", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cash_receivable_as_of"))
        batch_op.drop_index(batch_op.f("ix_cash_receivable_import_id"))
    op.drop_table("cash_receivable")
    with op.batch_alter_table("cash_history", schema=None) as batch_op:
        batch_op.drop_index("ix_cash_history_kind_day")
        batch_op.drop_index(batch_op.f("ix_cash_history_import_id"))
    op.drop_table("cash_history")
    op.drop_table("cash_import")
