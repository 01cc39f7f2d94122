"""Budget compilation (预算编制, 两上两下): the project pool with its performance targets, the compilation round of a
fiscal year, the departments' workbooks and drafts, consolidation with the budget committee's control numbers,
and the issue of the approved budget into the ledger.

A plain library over its own tables and the ledger: the ``budget-compilation`` process, the CLI and the benchmark
call the same functions, importable from here. The authenticated user and the department a task acts for are
passed in by the caller (``upload_draft(..., uploaded_by=..., department=...)``), never read from a file.
"""

from smartfin.budgeting.consolidate import Consolidation, consolidate, consolidation_html, consolidation_workbook
from smartfin.budgeting.controls import ControlSetting, control_numbers, import_control_numbers, set_control_numbers
from smartfin.budgeting.drafts import (
    DraftProblem,
    DraftRefused,
    accept_submission,
    current_draft,
    current_drafts,
    draft_history,
    reopen_submission,
    upload_draft,
)
from smartfin.budgeting.issue import issue_budget
from smartfin.budgeting.projects import import_projects, pool_projects, project_targets, record_actual_value
from smartfin.budgeting.rounds import (
    CompilationError,
    Stage,
    advance_round,
    find_round,
    get_round,
    open_round,
    set_template_version,
)
from smartfin.budgeting.workbook import template_workbook

__all__ = [
    "CompilationError",
    "Consolidation",
    "ControlSetting",
    "DraftProblem",
    "DraftRefused",
    "Stage",
    "accept_submission",
    "advance_round",
    "consolidate",
    "consolidation_html",
    "consolidation_workbook",
    "control_numbers",
    "current_draft",
    "current_drafts",
    "draft_history",
    "find_round",
    "get_round",
    "import_control_numbers",
    "import_projects",
    "issue_budget",
    "open_round",
    "pool_projects",
    "project_targets",
    "record_actual_value",
    "reopen_submission",
    "set_control_numbers",
    "set_template_version",
    "template_workbook",
    "upload_draft",
]
