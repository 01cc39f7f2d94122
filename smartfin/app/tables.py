"""Every table of the product, in one list: what the migrations are compared against.

Each business package owns its tables; this module only names the modules, so that importing it puts
every table on ``SQLModel.metadata`` (the test that checks the migrations against the models, and tests
that build a throwaway database with ``create_all``).
"""

from sqlmodel import SQLModel

import smartfin.budgeting.tables
import smartfin.cashflow.tables
import smartfin.costing.tables
import smartfin.insurance.tables
import smartfin.ledger.closing
import smartfin.ledger.department_roles
import smartfin.ledger.departments
import smartfin.ledger.models
import smartfin.ledger.staff
import smartfin.notify.tables
import smartfin.posting.journal
import smartfin.processes.adjustment.adjustments
import smartfin.processes.approvals
import smartfin.processes.assessment.entries
import smartfin.processes.compilation.records
import smartfin.processes.contracts.contracts
import smartfin.processes.costreview.reviews
import smartfin.processes.delegations
import smartfin.processes.insuranceappeal.appeals
import smartfin.processes.procurement.proposals
import smartfin.processes.reimbursement.claims
import smartfin.processes.reimbursement.inbox
import smartfin.processes.spending.requests
import smartfin.reconciliation.models
import smartfin.store.audit

TABLE_MODULES = (
    smartfin.store.audit,
    smartfin.ledger.models,
    smartfin.ledger.departments,
    smartfin.ledger.staff,
    smartfin.ledger.department_roles,
    smartfin.processes.approvals,
    smartfin.processes.delegations,
    smartfin.processes.spending.requests,
    smartfin.processes.reimbursement.claims,
    smartfin.processes.reimbursement.inbox,
    smartfin.processes.procurement.proposals,
    smartfin.posting.journal,
    smartfin.reconciliation.models,
    smartfin.costing.tables,
    smartfin.processes.costreview.reviews,
    smartfin.processes.contracts.contracts,
    smartfin.ledger.closing,
    smartfin.processes.adjustment.adjustments,
    smartfin.budgeting.tables,
    smartfin.processes.assessment.entries,
    smartfin.processes.compilation.records,
    smartfin.notify.tables,
    smartfin.insurance.tables,
    smartfin.processes.insuranceappeal.appeals,
    smartfin.cashflow.tables,
)
metadata = SQLModel.metadata
