"""Worker adapters for the spending-approval process: variables in, a ledger or rules call, typed out.

Each handler is idempotent — the engine delivers a task at least once — because the functions it calls
are (registration and closing by request number, reservations by document).
"""

from __future__ import annotations

import logging
from typing import Any

from smartfin.camunda.runtime import BusinessError, Job, TopicRegistry
from smartfin.kernel.money import format_yuan
from smartfin.kernel.settings import get_settings
from smartfin.ledger import BudgetExceeded, CheckOutcome, Override, check_budget, pre_encumber
from smartfin.processes.documents import LINE_OR_EXCEEDED, audit_unregistered, budget_refusal, release_holdings
from smartfin.processes.spending.requests import (
    DOCUMENT_TYPE,
    InvalidRequest,
    RequestStatus,
    SpendingRequest,
    close_request,
    next_request_no,
    record_request,
    split_suspicions,
    validate_request,
)
from smartfin.store.audit import record_audit
from smartfin.store.db import session_scope

log = logging.getLogger(__name__)
registry = TopicRegistry()
ESCALATED_PRIORITY = 80
TASK_UPDATE_FIELDS = ("name", "description", "priority", "assignee", "owner", "delegationState", "due",
                      "followUp", "parentTaskId", "caseInstanceId", "tenantId")


def _request(session: Any, job: Job) -> SpendingRequest:
    request_no = job.var("requestNo", None) or job.business_key
    row = session.get(SpendingRequest, request_no) if request_no else None
    if row is None:
        raise LookupError(f"spending request {request_no!r} is not registered (task {job.id})")
    return row


@registry.topic("register-request")
def register_request(job: Job) -> dict[str, Any]:
    """Validate the submission (also those made in Tasklist) and record it; flag split requests."""
    values = dict(job.variables)
    values.setdefault("requester", values.get("initiator"))
    if not values.get("requester"):
        values["requester"] = values.get("initiator")
    try:
        draft = validate_request(values)
    except InvalidRequest as exc:
        raise BusinessError("REQUEST_INVALID", f"申请无效 / invalid request: {exc}") from exc
    with session_scope() as session:
        request_no = job.var("requestNo", None) or job.business_key or next_request_no(session)
        row = record_request(session, request_no, draft)
        row.process_instance_id = job.process_instance_id
        session.add(row)
        warnings = [s.message() for s in split_suspicions(session, row)]
        if warnings:
            record_audit(session, actor="system", action="split-suspected", subject_type=DOCUMENT_TYPE,
                         subject_id=request_no, details={"warnings": warnings})
    return {
        **draft.process_variables(request_no),
        "escalationAfter": job.var("escalationAfter", get_settings().approval_escalation_after),
        "splitWarning": "；".join(warnings),
    }


@registry.topic("check-budget")
def check_request_budget(job: Job) -> dict[str, Any]:
    """Budget check at submission: within plan, over plan (BUDGET_EXCEEDED), or no usable line."""
    with session_scope() as session:
        request = _request(session, job)
        result = check_budget(session, request.budget_key, request.amount)
    available = format_yuan(result.available) if result.available is not None else ""
    outcome = {"budgetOutcome": result.outcome.value, "budgetMessage": result.message,
               "budgetAvailable": available}
    refusal = budget_refusal(result, LINE_OR_EXCEEDED)
    if refusal is not None:
        code, message = refusal
        variables = outcome if code == LINE_OR_EXCEEDED.line_unavailable else {**outcome, "withinPlan": False}
        raise BusinessError(code, message, variables)
    over = result.outcome == CheckOutcome.OVER_BUDGET
    warning = result.message if result.outcome != CheckOutcome.WITHIN else ""
    return {**outcome, "withinPlan": not over, "budgetWarning": warning}


def _consent(decisions: list[dict[str, Any]]) -> dict[str, Any] | None:
    for record in reversed(decisions):
        if record.get("task") == "consentOverspend" and record.get("outcome") == "approve":
            return record
    return None


@registry.topic("pre-encumber")
def pre_encumber_request(job: Job) -> dict[str, Any]:
    """Reserve the approved amount; over plan it uses the unit head's consent as the override."""
    decisions = job.var("decisions", [])
    override = None
    if job.var("withinPlan", True) is False:
        consent = _consent(decisions)
        if consent is None:
            raise RuntimeError("over-plan request reached pre-encumbrance without the unit head's consent")
        override = Override(user=consent["user"],
                            reason=str(job.var("overspendJustification", "")) or "over-plan consent")
    approver = decisions[-1]["user"] if decisions else "system"
    with session_scope() as session:
        request = _request(session, job)
        try:
            entry = pre_encumber(session, request.budget_key, request.amount, document_type=DOCUMENT_TYPE,
                                 document_no=request.request_no, actor=approver, override=override)
        except BudgetExceeded as exc:
            code, message = budget_refusal(exc, LINE_OR_EXCEEDED)
            raise BusinessError(code, message, {"withinPlan": False, "budgetMessage": message}) from exc
        record_audit(session, actor=approver, action="approved", subject_type=DOCUMENT_TYPE,
                     subject_id=request.request_no, details={"decisions": decisions,
                                                             "journalEntry": entry.id})
    return {"preEncumbranceEntry": entry.id}


@registry.topic("close-request")
def close_spending_request(job: Job) -> dict[str, Any]:
    """Record the outcome; anything but approval gives back whatever the request still holds."""
    outcome = job.var("outcome")
    reason = job.var("closingReason", None)
    with session_scope() as session:
        if outcome == RequestStatus.INVALID and session.get(SpendingRequest, job.var("requestNo", None)
                                                            or job.business_key or "") is None:
            audit_unregistered(session, job, action="refused-invalid", document_type=DOCUMENT_TYPE,
                               subject_id=job.business_key or job.process_instance_id, reason=reason)
            return {"requestStatus": outcome}
        request = _request(session, job)
        if outcome != RequestStatus.APPROVED:
            release_holdings(session, DOCUMENT_TYPE, request.request_no, f"request {outcome}")
        close_request(session, request.request_no, outcome, reason)
        record_audit(session, actor="system", action=f"closed-{outcome}", subject_type=DOCUMENT_TYPE,
                     subject_id=request.request_no, details={"reason": reason,
                                                             "decisions": job.var("decisions", [])})
    return {"requestStatus": outcome}


@registry.topic("escalate-approval")
def escalate_approval(job: Job) -> dict[str, Any]:
    """An approval left idle: raise its priority, say so on the task, and audit it."""
    assert job.worker is not None
    engine = job.worker.engine
    tasks = engine.tasks(processInstanceId=job.process_instance_id, taskDefinitionKey="approveRequest")
    for task in tasks:
        # the update endpoint replaces every field it is given, so send the task's own values back
        update = {field: task.get(field) for field in TASK_UPDATE_FIELDS}
        update["priority"] = max(int(task.get("priority") or 50), ESCALATED_PRIORITY)
        engine.put(f"/task/{task['id']}", update)
        engine.post(f"/task/{task['id']}/comment/create",
                    {"message": "催办：审批已超时 / escalated: this approval has been left idle"})
    with session_scope() as session:
        record_audit(session, actor="system", action="approval-escalated", subject_type=DOCUMENT_TYPE,
                     subject_id=job.business_key or job.var("requestNo", "?"),
                     details={"tasks": [t["id"] for t in tasks]})
    return {"escalated": len(tasks)}
