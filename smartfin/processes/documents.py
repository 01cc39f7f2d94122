"""What every business document (spending request, claim, equipment proposal) has in common.

Reading a submission field by field: requests and claims arrive as loose dicts of strings from Tasklist
forms, the CLI and the inbox. A person fixing a submission wants every problem at once, each naming its
field, so fields are read through a ``FieldReader`` that collects problems instead of stopping at the first.

Then the document's life in the ledger: the budget line it books to (``BudgetLineDocument``), its
sequential number (``next_document_no``), the BPMN error a budget refusal becomes (``budget_refusal``),
and giving back what it holds when it closes without being paid (``release_holdings``); what an approver
reads about the line (``budget_line_text``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, overload

from sqlalchemy import func
from sqlmodel import Session, select

from rules.spending.categories import UnknownCategory, category_for
from smartfin.camunda.client import EngineClient
from smartfin.camunda.runtime import Job
from smartfin.kernel.money import InvalidAmount, format_yuan, parse_amount
from smartfin.ledger import (
    Bucket,
    BudgetCheck,
    BudgetExceeded,
    BudgetLineKey,
    InvalidBudgetKey,
    check_budget,
    release,
)
from smartfin.ledger.control import ALWAYS_BLOCKING
from smartfin.store.audit import record_audit
from smartfin.store.db import hold_until_commit


class SubmissionRefused(ValueError):
    """A submission that cannot be accepted; ``problems`` lists (field, reason) for every wrong field."""

    label = "submission refused"

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__(f"{self.label}: " + "; ".join(f"{name}: {reason}" for name, reason in problems))


class FieldReader:
    """Reads fields of ``values`` and remembers each problem under its field name."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.problems: list[tuple[str, str]] = []

    def problem(self, field: str, reason: str) -> None:
        self.problems.append((field, reason))

    def text(self, name: str, limit: int, *, required: bool = True) -> str:
        value = self.values.get(name)
        value = "" if value is None else str(value).strip()
        if required and not value:
            self.problem(name, "is missing / 未填写")
        elif len(value) > limit:
            self.problem(name, f"is longer than {limit} characters")
        return value

    def amount(self, name: str, *, required: bool = True) -> Decimal | None:
        if not required and self.values.get(name) in (None, ""):
            return None
        try:
            return parse_amount(self.values.get(name), field=name)
        except InvalidAmount as exc:
            self.problem(name, exc.reason)
            return None

    def fiscal_year(self, default: int) -> int:
        raw = self.values.get("fiscalYear")
        if raw in (None, ""):
            return default
        try:
            return int(str(raw))
        except ValueError:
            self.problem("fiscalYear", f"is not a year: {raw!r}")
            return default

    def budget_key(self, *, fiscal_year: int, department: str, category: str, funding_source: str,
                   project: str, on: date, economic_code: str = "") -> BudgetLineKey | None:
        """The budget line the submission books to: the category gives the economic code unless one is given."""
        if category:
            try:
                economic_code = economic_code or category_for(category, on).economic_code
            except UnknownCategory as exc:
                self.problem("category", str(exc).split(": ", 1)[1])
        if self.problems:
            return None
        try:
            return BudgetLineKey(fiscal_year, department, economic_code, funding_source, project)
        except InvalidBudgetKey as exc:
            self.problem(exc.field, exc.reason)
            return None


class Refused(Exception):
    """A user-facing refusal of a document (no budget line, already submitted …): shown without a traceback."""


# ------------------------------------------------------------------------------------- budget line

class BudgetLineDocument:
    """A document that books to one budget line: ``budget_key`` from its five key fields.

    A plain mixin (no fields of its own): each table keeps declaring its columns in its own order, so
    the tables stay exactly as the migrations make them.
    """

    if TYPE_CHECKING:
        fiscal_year: int
        department: str
        economic_code: str
        funding_source: str
        project: str

    @property
    def budget_key(self) -> BudgetLineKey:
        return BudgetLineKey(self.fiscal_year, self.department, self.economic_code, self.funding_source,
                             self.project)


def next_document_no(session: Session, column: Any, prefix: str, year: int) -> str:
    """``{prefix}-2026-000042``: sequential per year in ``column``, allocated inside the caller's transaction.

    Allocations of one prefix and year queue until the allocating transaction ends: on PostgreSQL two
    submissions at once would otherwise both read the same highest number, and the second would fail on
    the duplicate key only after the first committed.
    """
    start = f"{prefix}-{year}-"
    hold_until_commit(session, f"document-no:{start}")
    last = session.exec(select(func.max(column)).where(column.startswith(start))).one()
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{start}{number:06d}"


def hold_document(session: Session, document_type: str, number: str) -> None:
    """Hold one document's number until this transaction ends.

    A submission records its document and starts the process in one transaction (a failed start leaves no
    record), so the engine can hand the first step to a worker before that transaction commits. The
    submission and the worker's registration both hold the document first: the worker then waits the
    moment until the commit and finds the record, instead of missing it (PostgreSQL, READ COMMITTED) and
    failing on the duplicate key or retrying seconds later.
    """
    hold_until_commit(session, f"document:{document_type}:{number}")


# ------------------------------------------------------------------------------- budget refusals

@dataclass(frozen=True)
class BudgetErrorCodes:
    """The BPMN error codes a process model catches for a budget line it cannot use and for overspending."""

    line_unavailable: str
    exceeded: str


LINE_OR_EXCEEDED = BudgetErrorCodes(line_unavailable="BUDGET_LINE_UNAVAILABLE", exceeded="BUDGET_EXCEEDED")


@overload
def budget_refusal(outcome: BudgetCheck, codes: BudgetErrorCodes) -> tuple[str, str] | None: ...
@overload
def budget_refusal(outcome: Exception, codes: BudgetErrorCodes) -> tuple[str, str]: ...
def budget_refusal(outcome: BudgetCheck | Exception, codes: BudgetErrorCodes) -> tuple[str, str] | None:
    """The (BPMN error code, message) a budget check or a ledger refusal becomes; None when the check passes.

    No usable line (none, closed, not yet effective) and any other refusal are ``line_unavailable``; an
    amount that does not fit a line under control is ``exceeded``.
    """
    if isinstance(outcome, BudgetCheck):
        if outcome.outcome in ALWAYS_BLOCKING:
            return codes.line_unavailable, outcome.message
        if outcome.blocking:
            return codes.exceeded, outcome.message
        return None
    message = getattr(outcome, "message", None) or str(outcome)
    if isinstance(outcome, BudgetExceeded):
        return codes.exceeded, message
    return codes.line_unavailable, message


def budget_line_text(session: Session, key: BudgetLineKey, amount: Decimal, *, held: Decimal = Decimal("0.00")) -> str:
    """The budget line as an approver reads it: available before this document and after it.

    ``held`` is what the document already reserves on the line (a claim is reserved before its chain, a
    request only after it): it is added back for "before", so both kinds read the same. A text for people;
    the control steps check the ledger again and never read it.
    """
    check = check_budget(session, key, amount)
    if check.available is None:
        return f"{key}: {check.message}"
    before = check.available + held
    return (f"{key}\n可用 available {format_yuan(before)} → 本单后 after this document "
            f"{format_yuan(before - amount)}")


# ------------------------------------------------------------------------------------------ closing

def release_holdings(session: Session, document_type: str, document_no: str, reason: str) -> Decimal:
    """Give back what the document still holds (pre-encumbrance, encumbrance); the amount given back."""
    released = Decimal("0.00")
    for bucket in (Bucket.PRE_ENCUMBRANCE, Bucket.ENCUMBRANCE):
        entry = release(session, document_type=document_type, document_no=document_no, bucket=bucket,
                        actor="system", reason=reason)
        if entry is not None:
            released += -entry.amount
    return released


def audit_unregistered(session: Session, job: Job, *, action: str, document_type: str, subject_id: str,
                       reason: Any) -> None:
    """A document closed before it was ever registered (its fields were invalid): keep what was submitted."""
    submitted = {k: v for k, v in job.variables.items() if isinstance(v, str | int | bool)}
    record_audit(session, actor=str(job.var("initiator", "system")), action=action, subject_type=document_type,
                 subject_id=subject_id, details={"reason": reason, "submitted": submitted})


ESCALATED_PRIORITY = 80
#: the task update endpoint replaces every field it is given, so an update sends all of them back
TASK_UPDATE_FIELDS = ("name", "description", "priority", "assignee", "owner", "delegationState", "due",
                      "followUp", "parentTaskId", "caseInstanceId", "tenantId")


def escalate_open_tasks(engine: EngineClient, process_instance_id: str, task_key: str, message: str) -> list[str]:
    """A task left idle (催办): raise the priority of the instance's open ``task_key`` tasks and say so on each
    with a comment; returns their ids. The escalation timers of the processes end here."""
    tasks = engine.tasks(processInstanceId=process_instance_id, taskDefinitionKey=task_key)
    for task in tasks:
        update = {name: task.get(name) for name in TASK_UPDATE_FIELDS}
        update["priority"] = max(int(task.get("priority") or 50), ESCALATED_PRIORITY)
        engine.put(f"/task/{task['id']}", update)
        engine.post(f"/task/{task['id']}/comment/create", {"message": message})
    return [str(task["id"]) for task in tasks]
