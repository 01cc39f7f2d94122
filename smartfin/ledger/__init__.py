"""The budget ledger: budget lines, the append-only journal, budget control and budget import, and the
department master data the lines (and every document) are keyed by.

Everything a worker, flow or screen needs is importable from here; see ``journal`` for the life of a
document's money and ``control`` for the decision rules.
"""

from smartfin.ledger.balances import Balances, DocumentHoldings, balances_from_entries
from smartfin.ledger.commitments import (
    Citation,
    CitationRefused,
    Consumption,
    Lapse,
    assess_citation,
    consume,
    lapse,
    links_of,
    payment_problems,
    release_saving,
)
from smartfin.ledger.control import BudgetCheck, CheckOutcome, Override, check_budget, evaluate
from smartfin.ledger.department_import import DepartmentImportReport, import_departments
from smartfin.ledger.departments import (
    Department,
    DepartmentClass,
    DepartmentNames,
    department_name,
    department_names,
    department_problem,
)
from smartfin.ledger.errors import (
    AlreadyBudgeted,
    BudgetError,
    BudgetExceeded,
    BudgetLineClosed,
    BudgetLineNotEffective,
    DocumentConflict,
    InvalidBudgetKey,
    JournalIsAppendOnly,
    LineAlreadyExists,
    NoSuchBudgetLine,
    NoSuchDocument,
)
from smartfin.ledger.importer import ImportIssue, ImportReport, import_budget
from smartfin.ledger.journal import (
    adjust,
    balances,
    close_line,
    create_line,
    document_holdings,
    encumber,
    line_journal,
    pre_encumber,
    record_actual,
    release,
    reverse_entry,
    set_budget,
)
from smartfin.ledger.keys import Bucket, BudgetLineKey, ControlLevel, FundingSource, LineStatus
from smartfin.ledger.models import BudgetLine, DocumentLink, JournalEntry

__all__ = [
    "AlreadyBudgeted",
    "Balances",
    "Bucket",
    "BudgetCheck",
    "BudgetError",
    "BudgetExceeded",
    "BudgetLine",
    "BudgetLineClosed",
    "BudgetLineKey",
    "BudgetLineNotEffective",
    "CheckOutcome",
    "Citation",
    "CitationRefused",
    "Consumption",
    "ControlLevel",
    "Department",
    "DepartmentClass",
    "DepartmentImportReport",
    "DepartmentNames",
    "DocumentConflict",
    "DocumentHoldings",
    "DocumentLink",
    "FundingSource",
    "ImportIssue",
    "ImportReport",
    "InvalidBudgetKey",
    "JournalEntry",
    "JournalIsAppendOnly",
    "Lapse",
    "LineAlreadyExists",
    "LineStatus",
    "NoSuchBudgetLine",
    "NoSuchDocument",
    "Override",
    "adjust",
    "assess_citation",
    "balances",
    "balances_from_entries",
    "check_budget",
    "close_line",
    "consume",
    "create_line",
    "department_name",
    "department_names",
    "department_problem",
    "document_holdings",
    "encumber",
    "evaluate",
    "import_budget",
    "import_departments",
    "lapse",
    "line_journal",
    "links_of",
    "payment_problems",
    "pre_encumber",
    "record_actual",
    "release",
    "release_saving",
    "reverse_entry",
    "set_budget",
]
