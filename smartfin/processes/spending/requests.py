"""Spending requests (支出申请): what a requester submits, its record in the project's tables, its fate.

A request is validated here before it reaches the engine (command line) and again by the
``register-request`` worker (Tasklist start form), with the same function, so both paths refuse the
same input with the same words — including a department the master data does not have in force that day,
once the hospital has loaded its departments. The request number is the process's business key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Field, Session, SQLModel, select

from rules.spending.routing import tier_thresholds
from rules.spending.split import RequestSummary, SplitSuspicion, detect_splits
from smartfin.camunda.client import EngineClient, EngineError, EngineRequestError
from smartfin.kernel.clock import hospital_now, utc_now
from smartfin.kernel.money import format_yuan, from_fen, to_fen
from smartfin.ledger import check_budget, department_name, department_problem
from smartfin.ledger.control import ALWAYS_BLOCKING
from smartfin.processes.approvals import AWAITING_REVISION, shown_statuses
from smartfin.processes.documents import (
    BudgetLineDocument,
    FieldReader,
    Refused,
    SubmissionRefused,
    hold_document,
    next_document_no,
)
from smartfin.processes.submitters import named_or_self, record_entry, resolve_submitter, start
from smartfin.store.audit import record_audit
from smartfin.store.db import session_scope

DOCUMENT_TYPE = "spending-request"


class InvalidRequest(SubmissionRefused):
    """A request that cannot be submitted; ``problems`` names every field that is wrong."""

    label = "支出申请无效 / invalid request"


class RequestStatus:
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    NO_BUDGET_LINE = "no-budget-line"
    INVALID = "invalid"
    FINAL = ("approved", "rejected", "withdrawn", "no-budget-line", "invalid")


class SpendingRequest(BudgetLineDocument, SQLModel, table=True):
    """One spending request as the project keeps it (amounts in fen)."""

    __tablename__ = "spending_request"

    request_no: str = Field(primary_key=True, max_length=40)
    requester: str = Field(index=True, max_length=64)
    department: str = Field(max_length=32)
    category: str = Field(max_length=32)
    economic_code: str = Field(max_length=10)
    funding_source: str = Field(max_length=16)
    project: str = Field(default="", max_length=32)
    fiscal_year: int
    amount_fen: int
    payee: str = Field(index=True, max_length=200)
    purpose: str = Field(max_length=2000)
    status: str = Field(default=RequestStatus.SUBMITTED, max_length=20)
    closing_reason: str | None = Field(default=None, max_length=1000)
    process_instance_id: str | None = Field(default=None, max_length=64)
    submitted_at: datetime = Field(default_factory=utc_now)
    closed_at: datetime | None = None
    #: who keyed the request in when not the requester: a proxy (代录) or the service's intake
    entered_by: str | None = Field(default=None, max_length=64)

    @property
    def amount(self) -> Decimal:
        return from_fen(self.amount_fen)


@dataclass(frozen=True)
class RequestDraft(BudgetLineDocument):
    """A validated request, not yet stored."""

    requester: str
    department: str
    category: str
    economic_code: str
    funding_source: str
    project: str
    fiscal_year: int
    amount: Decimal
    payee: str
    purpose: str
    #: the department's name on the day of submission, for Tasklist only (never used for authority)
    department_name: str = ""

    def process_variables(self, request_no: str) -> dict[str, Any]:
        """The start variables of the spending-approval process (money as an exact string).

        Only fields of the start form: the engine refuses any other start variable. ``departmentName`` is
        added by ``register-request``.
        """
        return {
            "requestNo": request_no, "requester": self.requester, "department": self.department,
            "category": self.category, "economicCode": self.economic_code,
            "fundingSource": self.funding_source, "project": self.project,
            "fiscalYear": self.fiscal_year, "amount": format_yuan(self.amount),
            "payee": self.payee, "purpose": self.purpose,
        }


def validate_request(values: dict[str, Any], *, today: datetime | None = None,
                     session: Session | None = None) -> RequestDraft:
    """Check every field of a submission and collect all problems before refusing it.

    With a ``session`` (both submission paths pass one) the department must also be in force that day in
    the master data, once any is loaded, and the draft carries its name; without one only the fields' form
    is checked.
    """
    now = today or hospital_now()
    fields = FieldReader(values)
    requester = fields.text("requester", 64)
    department = fields.text("department", 32)
    category = fields.text("category", 32)
    funding_source = fields.text("fundingSource", 16)
    project = fields.text("project", 32, required=False)
    payee = fields.text("payee", 200)
    purpose = fields.text("purpose", 2000)
    amount = fields.amount("amount")
    key = fields.budget_key(fiscal_year=fields.fiscal_year(now.year), department=department, category=category,
                            funding_source=funding_source, project=project, on=now.date(),
                            economic_code=str(values.get("economicCode") or "").strip())
    name = ""
    if session is not None and key is not None:
        problem = department_problem(session, key.department, now.date())
        if problem is not None:
            fields.problem("department", problem)
        name = department_name(session, key.department, now.date())
    if fields.problems or key is None or amount is None:
        raise InvalidRequest(fields.problems)
    return RequestDraft(requester, key.department, category, key.economic_code, key.funding_source.value,
                        key.project, key.fiscal_year, amount, payee, purpose, name)


def next_request_no(session: Session, on: datetime | None = None) -> str:
    """``REQ-2026-000042``: sequential per year, allocated inside the caller's transaction."""
    return next_document_no(session, SpendingRequest.request_no, "REQ", (on or hospital_now()).year)


def record_request(session: Session, request_no: str, draft: RequestDraft,
                   submitted_at: datetime | None = None) -> SpendingRequest:
    """Store the request once; a second registration of the same number returns the first row."""
    existing = session.get(SpendingRequest, request_no)
    if existing is not None:
        return existing
    row = SpendingRequest(
        request_no=request_no, requester=draft.requester, department=draft.department,
        category=draft.category, economic_code=draft.economic_code, funding_source=draft.funding_source,
        project=draft.project, fiscal_year=draft.fiscal_year, amount_fen=to_fen(draft.amount),
        payee=draft.payee, purpose=draft.purpose, submitted_at=submitted_at or utc_now(),
    )
    session.add(row)
    session.flush()
    return row


#: the start form's fields a requester may change when a request is sent back for revision (退回修改)
REVISABLE_FIELDS = ("department", "category", "fundingSource", "project", "amount", "payee", "purpose")


def revision_values(row: SpendingRequest, edit: dict[str, Any]) -> dict[str, Any]:
    """What a resubmission says: the record, with the revisable fields the requester wrote replaced.

    The requester stays the recorded one whatever the edit holds; the economic code is kept only while the
    category is, else the new category gives it (as at intake).
    """
    values: dict[str, Any] = {"requester": row.requester, "department": row.department, "category": row.category,
                              "fundingSource": row.funding_source, "project": row.project,
                              "fiscalYear": row.fiscal_year, "amount": format_yuan(row.amount), "payee": row.payee,
                              "purpose": row.purpose}
    values.update({name: edit[name] for name in REVISABLE_FIELDS if edit.get(name) is not None})
    if str(values["category"]).strip() == row.category:
        values["economicCode"] = row.economic_code
    return values


def apply_revision(row: SpendingRequest, draft: RequestDraft) -> dict[str, list[str]]:
    """Write a validated revision into the record; returns each changed column as [before, after]."""
    new = {"department": draft.department, "category": draft.category, "economic_code": draft.economic_code,
           "funding_source": draft.funding_source, "project": draft.project, "fiscal_year": draft.fiscal_year,
           "amount_fen": to_fen(draft.amount), "payee": draft.payee, "purpose": draft.purpose}
    changes = {name: [str(getattr(row, name)), str(value)] for name, value in new.items()
               if getattr(row, name) != value}
    for name, value in new.items():
        setattr(row, name, value)
    return changes


def split_suspicions(session: Session, request: SpendingRequest,
                     window: timedelta = timedelta(days=30)) -> list[SplitSuspicion]:
    """Earlier requests of the same requester or payee that, with this one, straddle a tier."""
    since = request.submitted_at - window
    rows = session.exec(select(SpendingRequest).where(
        SpendingRequest.submitted_at >= since,
        (SpendingRequest.requester == request.requester) | (SpendingRequest.payee == request.payee),
        SpendingRequest.status.notin_([RequestStatus.REJECTED, RequestStatus.WITHDRAWN,
                                       RequestStatus.INVALID]),
    )).all()

    def summary(row: SpendingRequest) -> RequestSummary:
        submitted = row.submitted_at if row.submitted_at.tzinfo else row.submitted_at.replace(tzinfo=UTC)
        return RequestSummary(row.request_no, row.requester, row.payee, row.amount, submitted, row.category)

    return detect_splits(summary(request), [summary(r) for r in rows], tier_thresholds(), window=window)


def close_request(session: Session, request_no: str, outcome: str, reason: str | None = None) -> SpendingRequest:
    """Record the final outcome once; closing again with the same outcome changes nothing."""
    if outcome not in RequestStatus.FINAL:
        raise ValueError(f"outcome: {outcome!r} is not one of {RequestStatus.FINAL}")
    row = session.get(SpendingRequest, request_no)
    if row is None:
        raise LookupError(f"spending request {request_no} is not registered")
    if row.status == outcome:
        return row
    if row.status in RequestStatus.FINAL:
        raise ValueError(f"spending request {request_no} is already closed as {row.status}")
    row.status = outcome
    row.closing_reason = reason
    row.closed_at = utc_now()
    session.add(row)
    return row


def submit_spending_request(values: dict[str, Any], *, request_no: str | None = None,
                            engine: EngineClient | None = None) -> str:
    """Validate, record and start one request, all or nothing: a failed start leaves no record.

    ``engine`` is who submits. A user's client (``smartfin login``) starts the process as that user, who
    is the requester; naming another ``requester`` is a proxy entry (only for the ``proxy-entry`` group).
    The service account's client (the default: tests, benchmarks, batch intake) submits for the named
    ``requester``. See ``smartfin.processes.submitters``.
    """
    engine = engine or EngineClient.from_settings()
    with session_scope() as session:
        draft = validate_request({**values, "requester": named_or_self(engine, values.get("requester"))},
                                 session=session)
    submitter = resolve_submitter(engine, draft.requester, role="requester")
    with session_scope() as session:
        check = check_budget(session, draft.budget_key, draft.amount)
        if check.outcome in ALWAYS_BLOCKING:
            raise Refused(check.message)
        number = request_no or next_request_no(session)
        hold_document(session, DOCUMENT_TYPE, number)
        if session.get(SpendingRequest, number) is not None:
            raise Refused(f"request {number} was already submitted")
        row = record_request(session, number, draft)
        row.entered_by = submitter.entered_by
        record_entry(session, submitter, document_type=DOCUMENT_TYPE, number=number)
        instance = start(submitter, "spending-approval", number, draft.process_variables(number))
        row.process_instance_id = instance["id"]
        session.add(row)
    return number


WITHDRAW_ATTEMPTS = 5


def withdraw_request(request_no: str, *, by: str, engine: EngineClient | None = None) -> None:
    """Withdraw a request still in approval or sent back for revision, for its requester or the proxy who
    entered it (in Tasklist the requester can also withdraw from the revision task).

    ``by`` is the authenticated user (the caller checked the login). Requesters hold no right to change
    process instances in the engine, so the service account correlates the withdrawal after this check,
    and the audit log records who asked for it.
    """
    with session_scope() as session:
        row = session.get(SpendingRequest, request_no)
        if row is None:
            raise Refused(f"request {request_no} is not registered")
        if by not in (row.requester, row.entered_by):
            raise Refused(f"request {request_no} is {row.requester}'s; only the requester (or the proxy who entered "
                          f"it) may withdraw it, not {by}")
        if row.status in RequestStatus.FINAL:
            raise Refused(f"request {request_no} is already closed ({row.status})")
        record_audit(session, actor=by, action="withdrawal-requested", subject_type=DOCUMENT_TYPE,
                     subject_id=request_no, details={})
        engine = engine or EngineClient.from_settings()
        for attempt in range(WITHDRAW_ATTEMPTS):
            try:
                engine.correlate("SpendingRequestWithdrawn", request_no)
                return
            except EngineRequestError as exc:
                # a worker completing a step of the same instance at that moment: try again
                if exc.kind != "OptimisticLockingException" or attempt + 1 == WITHDRAW_ATTEMPTS:
                    raise Refused(f"request {request_no} cannot be withdrawn (not in approval?): {exc}") from exc
                time.sleep(0.2 * (attempt + 1))
            except EngineError as exc:
                raise Refused(f"request {request_no} cannot be withdrawn (not in approval?): {exc}") from exc


def list_requests(session: Session, *, year: int | None = None, department: str | None = None,
                  status: str | None = None) -> list[SpendingRequest]:
    """The stored requests, oldest first, narrowed by fiscal year, department and status when given: what
    ``smartfin document requests`` lists and writes to Excel. ``status`` is the status lists show
    (``request_statuses``): ``sent-back`` finds the requests waiting for their requester's revision."""
    query = select(SpendingRequest)
    if year is not None:
        query = query.where(SpendingRequest.fiscal_year == year)
    if department is not None:
        query = query.where(SpendingRequest.department == department)
    if status is not None:
        stored = RequestStatus.SUBMITTED if status == AWAITING_REVISION else status
        query = query.where(SpendingRequest.status == stored)
    found = list(session.exec(query.order_by(SpendingRequest.submitted_at, SpendingRequest.request_no)).all())  # type: ignore[arg-type]
    if status in (RequestStatus.SUBMITTED, AWAITING_REVISION):
        shown = request_statuses(session, found)
        found = [r for r in found if shown[r.request_no] == status]
    return found


def request_statuses(session: Session, requests: list[SpendingRequest]) -> dict[str, str]:
    """Each request's status as lists show it: ``sent-back`` while a send-back waits for the requester."""
    return shown_statuses(session, DOCUMENT_TYPE, {r.request_no: r.status for r in requests})
