"""Cost accounting (成本核算): dated cost-centre profiles and allocation drivers, the HIS department map, the
month's imported inputs, and the month's runs with their results.

Revision ID: 0007_cost_accounting
Revises: 0006_department
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007_cost_accounting"
down_revision: str | None = "0006_department"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_table(table: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    # a database made by ``create_all`` before migrations (adopted at the baseline) already has the tables
    if _has_table("cost_run"):
        return
    op.create_table('cost_allocation_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('driver', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('stage', 'subject', 'valid_from', name='uq_cost_allocation_rule_version')
    )
    op.create_table('cost_centre_profile',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('centre', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('service', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('beds', sa.Integer(), nullable=False),
    sa.Column('area_m2', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('headcount', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('centre', 'valid_from', name='uq_cost_centre_profile_version')
    )
    op.create_index(op.f('ix_cost_centre_profile_centre'), 'cost_centre_profile', ['centre'], unique=False)
    op.create_table('cost_his_map',
    sa.Column('his_department', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('centre', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('his_department')
    )
    op.create_table('cost_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('month', 'kind', name='uq_cost_import_month_kind')
    )
    op.create_table('cost_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('inputs', sa.Text(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_cost_run_month_status', 'cost_run', ['month', 'status'], unique=False)
    op.create_table('cost_case_cost',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('case_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('centre', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('drg_group', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('cost_fen', sa.BigInteger(), nullable=False),
    sa.Column('charge_fen', sa.BigInteger(), nullable=False),
    sa.Column('payment_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['cost_run.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_cost_case_cost_month', 'cost_case_cost', ['month'], unique=False)
    op.create_index(op.f('ix_cost_case_cost_run_id'), 'cost_case_cost', ['run_id'], unique=False)
    op.create_table('cost_case_input',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('case_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('centre', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('drg_group', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('payment_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['cost_import.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_cost_case_input_import_id'), 'cost_case_input', ['import_id'], unique=False)
    op.create_index(op.f('ix_cost_case_input_month'), 'cost_case_input', ['month'], unique=False)
    op.create_table('cost_centre_cost',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('centre', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('cost_item', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('direct_fen', sa.BigInteger(), nullable=False),
    sa.Column('allocated_fen', sa.BigInteger(), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['cost_run.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_cost_centre_cost_month_centre', 'cost_centre_cost', ['month', 'centre'], unique=False)
    op.create_index(op.f('ix_cost_centre_cost_run_id'), 'cost_centre_cost', ['run_id'], unique=False)
    op.create_table('cost_charge_input',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('case_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('item_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('item_kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('ordering_centre', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('performing_centre', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('quantity', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['cost_import.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_cost_charge_input_import_id'), 'cost_charge_input', ['import_id'], unique=False)
    op.create_index(op.f('ix_cost_charge_input_month'), 'cost_charge_input', ['month'], unique=False)
    op.create_table('cost_direct_input',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('centre', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('cost_item', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['cost_import.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_cost_direct_input_import_id'), 'cost_direct_input', ['import_id'], unique=False)
    op.create_index(op.f('ix_cost_direct_input_month'), 'cost_direct_input', ['month'], unique=False)
    op.create_table('cost_driver_input',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('centre', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('driver', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('quantity', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['cost_import.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_cost_driver_input_import_id'), 'cost_driver_input', ['import_id'], unique=False)
    op.create_index(op.f('ix_cost_driver_input_month'), 'cost_driver_input', ['month'], unique=False)
    op.create_table('cost_group_cost',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('drg_group', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('centre', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.Column('cost_fen', sa.BigInteger(), nullable=False),
    sa.Column('charge_fen', sa.BigInteger(), nullable=False),
    sa.Column('payment_fen', sa.BigInteger(), nullable=False),
    sa.Column('surplus_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['cost_run.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_cost_group_cost_month', 'cost_group_cost', ['month'], unique=False)
    op.create_index(op.f('ix_cost_group_cost_run_id'), 'cost_group_cost', ['run_id'], unique=False)
    op.create_table('cost_indicator_value',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('centre', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('indicator', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['cost_run.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_cost_indicator_value_month', 'cost_indicator_value', ['month', 'centre'], unique=False)
    op.create_index(op.f('ix_cost_indicator_value_run_id'), 'cost_indicator_value', ['run_id'], unique=False)
    op.create_table('cost_item_cost',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('item_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('quantity', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('cost_fen', sa.BigInteger(), nullable=False),
    sa.Column('unit_cost', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('charge_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['cost_run.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_cost_item_cost_month', 'cost_item_cost', ['month'], unique=False)
    op.create_index(op.f('ix_cost_item_cost_run_id'), 'cost_item_cost', ['run_id'], unique=False)
    op.create_table('cost_item_input',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('item_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('rvu', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('charge_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['cost_import.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_cost_item_input_import_id'), 'cost_item_input', ['import_id'], unique=False)
    op.create_index(op.f('ix_cost_item_input_month'), 'cost_item_input', ['month'], unique=False)
    op.create_table('cost_matrix',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('from_centre', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('to_centre', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('cost_item', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['cost_run.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_cost_matrix_month_to', 'cost_matrix', ['month', 'to_centre'], unique=False)
    op.create_index(op.f('ix_cost_matrix_run_id'), 'cost_matrix', ['run_id'], unique=False)
    op.create_table('cost_revenue_input',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('ordering_centre', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('performing_centre', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('ordering_his', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('performing_his', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['cost_import.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_cost_revenue_input_import_id'), 'cost_revenue_input', ['import_id'], unique=False)
    op.create_index(op.f('ix_cost_revenue_input_month'), 'cost_revenue_input', ['month'], unique=False)
    op.create_table('cost_shared_input',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('cost_item', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['cost_import.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_cost_shared_input_import_id'), 'cost_shared_input', ['import_id'], unique=False)
    op.create_index(op.f('ix_cost_shared_input_month'), 'cost_shared_input', ['month'], unique=False)
    op.create_table('cost_unit_cost',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('centre', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('service', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('units', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('unit_cost', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['cost_run.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_cost_unit_cost_month_centre', 'cost_unit_cost', ['month', 'centre'], unique=False)
    op.create_index(op.f('ix_cost_unit_cost_run_id'), 'cost_unit_cost', ['run_id'], unique=False)
    op.create_table('cost_workload_input',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('centre', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('measure', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('quantity', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['cost_import.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_cost_workload_input_import_id'), 'cost_workload_input', ['import_id'], unique=False)
    op.create_index(op.f('ix_cost_workload_input_month'), 'cost_workload_input', ['month'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_cost_workload_input_import_id'), table_name='cost_workload_input')
    op.drop_index(op.f('ix_cost_workload_input_month'), table_name='cost_workload_input')
    op.drop_table('cost_workload_input')
    op.drop_index('ix_cost_unit_cost_month_centre', table_name='cost_unit_cost')
    op.drop_index(op.f('ix_cost_unit_cost_run_id'), table_name='cost_unit_cost')
    op.drop_table('cost_unit_cost')
    op.drop_index(op.f('ix_cost_shared_input_import_id'), table_name='cost_shared_input')
    op.drop_index(op.f('ix_cost_shared_input_month'), table_name='cost_shared_input')
    op.drop_table('cost_shared_input')
    op.drop_index(op.f('ix_cost_revenue_input_import_id'), table_name='cost_revenue_input')
    op.drop_index(op.f('ix_cost_revenue_input_month'), table_name='cost_revenue_input')
    op.drop_table('cost_revenue_input')
    op.drop_index('ix_cost_matrix_month_to', table_name='cost_matrix')
    op.drop_index(op.f('ix_cost_matrix_run_id'), table_name='cost_matrix')
    op.drop_table('cost_matrix')
    op.drop_index(op.f('ix_cost_item_input_import_id'), table_name='cost_item_input')
    op.drop_index(op.f('ix_cost_item_input_month'), table_name='cost_item_input')
    op.drop_table('cost_item_input')
    op.drop_index('ix_cost_item_cost_month', table_name='cost_item_cost')
    op.drop_index(op.f('ix_cost_item_cost_run_id'), table_name='cost_item_cost')
    op.drop_table('cost_item_cost')
    op.drop_index('ix_cost_indicator_value_month', table_name='cost_indicator_value')
    op.drop_index(op.f('ix_cost_indicator_value_run_id'), table_name='cost_indicator_value')
    op.drop_table('cost_indicator_value')
    op.drop_index('ix_cost_group_cost_month', table_name='cost_group_cost')
    op.drop_index(op.f('ix_cost_group_cost_run_id'), table_name='cost_group_cost')
    op.drop_table('cost_group_cost')
    op.drop_index(op.f('ix_cost_driver_input_import_id'), table_name='cost_driver_input')
    op.drop_index(op.f('ix_cost_driver_input_month'), table_name='cost_driver_input')
    op.drop_table('cost_driver_input')
    op.drop_index(op.f('ix_cost_direct_input_import_id'), table_name='cost_direct_input')
    op.drop_index(op.f('ix_cost_direct_input_month'), table_name='cost_direct_input')
    op.drop_table('cost_direct_input')
    op.drop_index(op.f('ix_cost_charge_input_import_id'), table_name='cost_charge_input')
    op.drop_index(op.f('ix_cost_charge_input_month'), table_name='cost_charge_input')
    op.drop_table('cost_charge_input')
    op.drop_index('ix_cost_centre_cost_month_centre', table_name='cost_centre_cost')
    op.drop_index(op.f('ix_cost_centre_cost_run_id'), table_name='cost_centre_cost')
    op.drop_table('cost_centre_cost')
    op.drop_index(op.f('ix_cost_case_input_import_id'), table_name='cost_case_input')
    op.drop_index(op.f('ix_cost_case_input_month'), table_name='cost_case_input')
    op.drop_table('cost_case_input')
    op.drop_index('ix_cost_case_cost_month', table_name='cost_case_cost')
    op.drop_index(op.f('ix_cost_case_cost_run_id'), table_name='cost_case_cost')
    op.drop_table('cost_case_cost')
    op.drop_index('ix_cost_run_month_status', table_name='cost_run')
    op.drop_table('cost_run')
    op.drop_table('cost_import')
    op.drop_table('cost_his_map')
    op.drop_index(op.f('ix_cost_centre_profile_centre'), table_name='cost_centre_profile')
    op.drop_table('cost_centre_profile')
    op.drop_table('cost_allocation_rule')
