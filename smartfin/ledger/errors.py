"""Errors the ledger raises: each carries a BPMN-style ``code`` and a bilingual message.

Workers turn ``code`` into a BPMN error (``BUDGET_EXCEEDED`` routes the request to the overspend path)
and show ``message`` to the person who submitted the document, so both must be stable and readable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smartfin.ledger.control import BudgetCheck


class BudgetError(Exception):
    """Base of every ledger refusal; ``code`` is the BPMN error code, ``message`` is 中文 / English."""

    code: str = "BUDGET_ERROR"

    def __init__(self, message: str, *, check: BudgetCheck | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.check = check
        if code is not None:
            self.code = code


class InvalidBudgetKey(BudgetError, ValueError):
    """A budget line key with a missing or malformed part; ``field`` names the part."""

    code = "BUDGET_LINE_INVALID"

    def __init__(self, field: str, reason: str, value: object = None) -> None:
        self.field = field
        self.reason = reason
        self.value = value
        super().__init__(f"预算行键无效：{field} {reason} / invalid budget line key: {field} {reason}"
                         + (f" (got {value!r})" if value not in (None, "") else ""))


class BudgetExceeded(BudgetError):
    """The amount does not fit the line beyond its tolerance, and the line is under hard control."""

    code = "BUDGET_EXCEEDED"


class NoSuchBudgetLine(BudgetError):
    """No budget line exists for the key: every activity needs a line (full-caliber budgeting)."""

    code = "BUDGET_LINE_UNKNOWN"


class BudgetLineClosed(BudgetError):
    """The line has been closed; nothing more may be charged to it."""

    code = "BUDGET_LINE_CLOSED"


class BudgetLineNotEffective(BudgetError):
    """The date falls outside the line's effective period."""

    code = "BUDGET_LINE_NOT_EFFECTIVE"


class DocumentConflict(BudgetError):
    """The same source document was posted again with a different amount or against another line."""

    code = "BUDGET_DOCUMENT_CONFLICT"


class NoSuchDocument(BudgetError):
    """A move (encumber, actual) was asked for a document that holds nothing and named no line."""

    code = "BUDGET_DOCUMENT_UNKNOWN"


class AlreadyBudgeted(BudgetError):
    """The line already has its budget; later changes go through an adjustment."""

    code = "BUDGET_ALREADY_SET"


class LineAlreadyExists(BudgetError):
    """A line with the same key exists already."""

    code = "BUDGET_LINE_EXISTS"


class JournalIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete a journal entry; corrections are reversals."""
