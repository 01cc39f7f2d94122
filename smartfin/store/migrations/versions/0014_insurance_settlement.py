"""Medical-insurance settlement (医保结算): HIS and platform settlements, platform daily totals, monthly
clearing statements with their refused and deducted items, DRG/DIP group settlements, reconciliation runs and
exceptions, DRG/DIP group results, the receivables ledger and appeal batches.

Revision ID: 0014_insurance_settlement
Revises: 0013_budget_assessment
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014_insurance_settlement"
down_revision: str | None = "0013_budget_assessment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_table(table: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    # a database made by ``create_all`` before migrations (adopted at the baseline) already has the tables
    if _has_table("ins_run"):
        return
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table('ins_appeal_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('business_key', text(length=128), nullable=False),
    sa.Column('month', text(length=7), nullable=False),
    sa.Column('department', text(length=32), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('item_count', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', text(length=24), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('recovered_fen', sa.BigInteger(), nullable=False),
    sa.Column('recovery_reference', text(length=128), nullable=True),
    sa.Column('recovered_on', sa.Date(), nullable=True),
    sa.Column('process_instance_id', text(length=64), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', text(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('business_key'),
    sa.UniqueConstraint('month', 'department', 'sequence', name='uq_ins_appeal_batch')
    )
    with op.batch_alter_table('ins_appeal_batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ins_appeal_batch_month'), ['month'], unique=False)
        batch_op.create_index(batch_op.f('ix_ins_appeal_batch_status'), ['status'], unique=False)

    op.create_table('ins_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', text(length=24), nullable=False),
    sa.Column('period', text(length=10), nullable=False),
    sa.Column('file_name', text(length=255), nullable=False),
    sa.Column('fingerprint', text(length=64), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('status', text(length=24), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', text(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'fingerprint', name='uq_ins_import_file')
    )
    with op.batch_alter_table('ins_import', schema=None) as batch_op:
        batch_op.create_index('ix_ins_import_period', ['kind', 'period'], unique=False)

    op.create_table('ins_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', text(length=24), nullable=False),
    sa.Column('hospital', text(length=32), nullable=False),
    sa.Column('period', text(length=10), nullable=False),
    sa.Column('status', text(length=24), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('exception_count', sa.Integer(), nullable=False),
    sa.Column('run_count', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('actor', text(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'hospital', 'period', name='uq_ins_run_period')
    )
    with op.batch_alter_table('ins_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ins_run_period'), ['period'], unique=False)
        batch_op.create_index(batch_op.f('ix_ins_run_status'), ['status'], unique=False)

    op.create_table('ins_clearing_statement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('month', text(length=7), nullable=False),
    sa.Column('hospital', text(length=32), nullable=False),
    sa.Column('insurance_type', text(length=24), nullable=False),
    sa.Column('statement_no', text(length=64), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('declared_fen', sa.BigInteger(), nullable=False),
    sa.Column('approved_fen', sa.BigInteger(), nullable=False),
    sa.Column('refused_fen', sa.BigInteger(), nullable=False),
    sa.Column('deducted_fen', sa.BigInteger(), nullable=False),
    sa.Column('retained_fen', sa.BigInteger(), nullable=False),
    sa.Column('disbursed_fen', sa.BigInteger(), nullable=False),
    sa.Column('balanced', sa.Boolean(), nullable=False),
    sa.Column('source_row', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['ins_import.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('month', 'insurance_type', name='uq_ins_clearing_month_type')
    )
    with op.batch_alter_table('ins_clearing_statement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ins_clearing_statement_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ins_clearing_statement_month'), ['month'], unique=False)

    op.create_table('ins_exception',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('exception_key', text(length=64), nullable=False),
    sa.Column('type', text(length=32), nullable=False),
    sa.Column('settlement_id', text(length=64), nullable=True),
    sa.Column('insurance_type', text(length=24), nullable=True),
    sa.Column('component', text(length=24), nullable=True),
    sa.Column('his_fen', sa.BigInteger(), nullable=True),
    sa.Column('other_fen', sa.BigInteger(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('status', text(length=24), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('resolved_by', text(length=64), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['ins_run.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'exception_key', name='uq_ins_exception_key')
    )
    with op.batch_alter_table('ins_exception', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ins_exception_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ins_exception_status'), ['status'], unique=False)
        batch_op.create_index('ix_ins_exception_type', ['run_id', 'type'], unique=False)

    op.create_table('ins_group_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('month', text(length=7), nullable=False),
    sa.Column('method', text(length=8), nullable=False),
    sa.Column('group_code', text(length=64), nullable=False),
    sa.Column('department', text(length=32), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.Column('payment_fen', sa.BigInteger(), nullable=False),
    sa.Column('charge_fen', sa.BigInteger(), nullable=False),
    sa.Column('charge_surplus_fen', sa.BigInteger(), nullable=False),
    sa.Column('costed_cases', sa.Integer(), nullable=False),
    sa.Column('cost_fen', sa.BigInteger(), nullable=True),
    sa.Column('cost_surplus_fen', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['ins_run.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ins_group_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ins_group_result_month'), ['month'], unique=False)
        batch_op.create_index('ix_ins_group_result_run', ['run_id', 'department'], unique=False)
        batch_op.create_index(batch_op.f('ix_ins_group_result_run_id'), ['run_id'], unique=False)

    op.create_table('ins_group_settlement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('month', text(length=7), nullable=False),
    sa.Column('case_id', text(length=64), nullable=False),
    sa.Column('settlement_id', text(length=64), nullable=False),
    sa.Column('insurance_type', text(length=24), nullable=False),
    sa.Column('department', text(length=32), nullable=False),
    sa.Column('method', text(length=8), nullable=False),
    sa.Column('group_code', text(length=64), nullable=False),
    sa.Column('weight', text(length=40), nullable=False),
    sa.Column('rate', text(length=40), nullable=False),
    sa.Column('payment_fen', sa.BigInteger(), nullable=False),
    sa.Column('charge_fen', sa.BigInteger(), nullable=False),
    sa.Column('source_row', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['ins_import.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('month', 'case_id', name='uq_ins_group_case')
    )
    with op.batch_alter_table('ins_group_settlement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ins_group_settlement_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ins_group_settlement_month'), ['month'], unique=False)

    op.create_table('ins_platform_settlement',
    sa.Column('settled_on', sa.Date(), nullable=False),
    sa.Column('settlement_id', text(length=64), nullable=False),
    sa.Column('insured_id', text(length=64), nullable=False),
    sa.Column('insurance_type', text(length=24), nullable=False),
    sa.Column('medical_category', text(length=24), nullable=False),
    sa.Column('reverses', text(length=64), nullable=True),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('pooled_fen', sa.BigInteger(), nullable=False),
    sa.Column('personal_account_fen', sa.BigInteger(), nullable=False),
    sa.Column('cash_fen', sa.BigInteger(), nullable=False),
    sa.Column('serious_illness_fen', sa.BigInteger(), nullable=False),
    sa.Column('assistance_fen', sa.BigInteger(), nullable=False),
    sa.Column('source_row', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['ins_import.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ins_platform_settlement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ins_platform_settlement_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ins_platform_settlement_settled_on'), ['settled_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_ins_platform_settlement_settlement_id'), ['settlement_id'], unique=False)

    op.create_table('ins_platform_total',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('settled_on', sa.Date(), nullable=False),
    sa.Column('insurance_type', text(length=24), nullable=False),
    sa.Column('medical_category', text(length=24), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('pooled_fen', sa.BigInteger(), nullable=False),
    sa.Column('personal_account_fen', sa.BigInteger(), nullable=False),
    sa.Column('cash_fen', sa.BigInteger(), nullable=False),
    sa.Column('serious_illness_fen', sa.BigInteger(), nullable=False),
    sa.Column('assistance_fen', sa.BigInteger(), nullable=False),
    sa.Column('source_row', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['ins_import.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ins_platform_total', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ins_platform_total_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ins_platform_total_settled_on'), ['settled_on'], unique=False)

    op.create_table('ins_receivable',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', text(length=7), nullable=False),
    sa.Column('insurance_type', text(length=24), nullable=False),
    sa.Column('entry_kind', text(length=24), nullable=False),
    sa.Column('bucket', text(length=24), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('booked_on', sa.Date(), nullable=False),
    sa.Column('reference', text(length=128), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['ins_run.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('month', 'insurance_type', 'entry_kind', 'reference', name='uq_ins_receivable_entry')
    )
    with op.batch_alter_table('ins_receivable', schema=None) as batch_op:
        batch_op.create_index('ix_ins_receivable_type', ['insurance_type', 'month'], unique=False)

    op.create_table('ins_settlement',
    sa.Column('settled_on', sa.Date(), nullable=False),
    sa.Column('settlement_id', text(length=64), nullable=False),
    sa.Column('insured_id', text(length=64), nullable=False),
    sa.Column('insurance_type', text(length=24), nullable=False),
    sa.Column('medical_category', text(length=24), nullable=False),
    sa.Column('reverses', text(length=64), nullable=True),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('pooled_fen', sa.BigInteger(), nullable=False),
    sa.Column('personal_account_fen', sa.BigInteger(), nullable=False),
    sa.Column('cash_fen', sa.BigInteger(), nullable=False),
    sa.Column('serious_illness_fen', sa.BigInteger(), nullable=False),
    sa.Column('assistance_fen', sa.BigInteger(), nullable=False),
    sa.Column('source_row', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', text(length=64), nullable=False),
    sa.Column('department', text(length=32), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['ins_import.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ins_settlement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ins_settlement_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ins_settlement_settled_on'), ['settled_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_ins_settlement_settlement_id'), ['settlement_id'], unique=False)

    op.create_table('ins_clearing_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('month', text(length=7), nullable=False),
    sa.Column('insurance_type', text(length=24), nullable=False),
    sa.Column('kind', text(length=24), nullable=False),
    sa.Column('settlement_id', text(length=64), nullable=False),
    sa.Column('department', text(length=32), nullable=False),
    sa.Column('item_code', text(length=64), nullable=False),
    sa.Column('item_name', text(length=200), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('reason_code', text(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', text(length=24), nullable=False),
    sa.Column('appeal_batch_id', sa.Integer(), nullable=True),
    sa.Column('source_row', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['appeal_batch_id'], ['ins_appeal_batch.id'], ),
    sa.ForeignKeyConstraint(['statement_id'], ['ins_clearing_statement.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ins_clearing_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ins_clearing_item_appeal_batch_id'), ['appeal_batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ins_clearing_item_month'), ['month'], unique=False)
        batch_op.create_index('ix_ins_clearing_item_open', ['status', 'department'], unique=False)
        batch_op.create_index(batch_op.f('ix_ins_clearing_item_statement_id'), ['statement_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ins_clearing_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ins_clearing_item_statement_id'))
        batch_op.drop_index('ix_ins_clearing_item_open')
        batch_op.drop_index(batch_op.f('ix_ins_clearing_item_month'))
        batch_op.drop_index(batch_op.f('ix_ins_clearing_item_appeal_batch_id'))

    op.drop_table('ins_clearing_item')
    with op.batch_alter_table('ins_settlement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ins_settlement_settlement_id'))
        batch_op.drop_index(batch_op.f('ix_ins_settlement_settled_on'))
        batch_op.drop_index(batch_op.f('ix_ins_settlement_import_id'))

    op.drop_table('ins_settlement')
    with op.batch_alter_table('ins_receivable', schema=None) as batch_op:
        batch_op.drop_index('ix_ins_receivable_type')

    op.drop_table('ins_receivable')
    with op.batch_alter_table('ins_platform_total', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ins_platform_total_settled_on'))
        batch_op.drop_index(batch_op.f('ix_ins_platform_total_import_id'))

    op.drop_table('ins_platform_total')
    with op.batch_alter_table('ins_platform_settlement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ins_platform_settlement_settlement_id'))
        batch_op.drop_index(batch_op.f('ix_ins_platform_settlement_settled_on'))
        batch_op.drop_index(batch_op.f('ix_ins_platform_settlement_import_id'))

    op.drop_table('ins_platform_settlement')
    with op.batch_alter_table('ins_group_settlement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ins_group_settlement_month'))
        batch_op.drop_index(batch_op.f('ix_ins_group_settlement_import_id'))

    op.drop_table('ins_group_settlement')
    with op.batch_alter_table('ins_group_result', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ins_group_result_run_id'))
        batch_op.drop_index('ix_ins_group_result_run')
        batch_op.drop_index(batch_op.f('ix_ins_group_result_month'))

    op.drop_table('ins_group_result')
    with op.batch_alter_table('ins_exception', schema=None) as batch_op:
        batch_op.drop_index('ix_ins_exception_type')
        batch_op.drop_index(batch_op.f('ix_ins_exception_status'))
        batch_op.drop_index(batch_op.f('ix_ins_exception_run_id'))

    op.drop_table('ins_exception')
    with op.batch_alter_table('ins_clearing_statement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ins_clearing_statement_month'))
        batch_op.drop_index(batch_op.f('ix_ins_clearing_statement_import_id'))

    op.drop_table('ins_clearing_statement')
    with op.batch_alter_table('ins_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ins_run_status'))
        batch_op.drop_index(batch_op.f('ix_ins_run_period'))

    op.drop_table('ins_run')
    with op.batch_alter_table('ins_import', schema=None) as batch_op:
        batch_op.drop_index('ix_ins_import_period')

    op.drop_table('ins_import')
    with op.batch_alter_table('ins_appeal_batch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ins_appeal_batch_status'))
        batch_op.drop_index(batch_op.f('ix_ins_appeal_batch_month'))

    op.drop_table('ins_appeal_batch')
