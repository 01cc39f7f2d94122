"""Worker adapters for the spending-approval process: variables in, a ledger or rules call, typed out.

Each handler is idempotent — the engine delivers a task at least once — because the functions it calls
are (registration and closing by request number, reservations by document).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import select

from smartfin.camunda.runtime import BusinessError, Job, TopicRegistry
from smartfin.kernel.money import InvalidAmount, format_yuan, parse_amount
from smartfin.kernel.settings import get_settings
from smartfin.ledger import BudgetCheck, BudgetExceeded, CheckOutcome, Override, check_budget, pre_encumber
from smartfin.ledger.control import ALWAYS_BLOCKING
from smartfin.processes.approvals import (
    APPROVE,
    RESUBMIT,
    SEND_BACK,
    SignedTask,
    audit_verification,
    audited_for_task,
    chain_problems,
    chain_started,
    chain_variables,
    current_chain,
    decision_history_text,
    members_of,
    record_answer,
    record_signed,
    recorded_decisions,
    refuse_if_broken,
    requester_answer,
    round_signatures,
    route_document,
    send_back_problems,
    signed_tasks,
)
from smartfin.processes.delegations import deputies_of_signers
from smartfin.processes.documents import (
    LINE_OR_EXCEEDED,
    audit_unregistered,
    budget_line_text,
    budget_refusal,
    escalate_open_tasks,
    hold_document,
    release_holdings,
)
from smartfin.processes.spending.requests import (
    DOCUMENT_TYPE,
    REVISABLE_FIELDS,
    InvalidRequest,
    RequestDraft,
    RequestStatus,
    SpendingRequest,
    apply_revision,
    close_request,
    next_request_no,
    record_request,
    revision_values,
    split_suspicions,
    validate_request,
)
from smartfin.store.audit import record_audit
from smartfin.store.db import session_scope

log = logging.getLogger(__name__)
registry = TopicRegistry()


ROUTING_DECISION = "spending-approval-routing"
APPROVAL_TASK = "approveRequest"
CONSENT_TASK = "consentOverspend"
CHAIN_ACTIVITY = "approvalChain"


class RecordMismatch(RuntimeError):
    """A process variable that copies the request disagrees with the record: the step refuses to act."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def _find_request(session: Any, job: Job) -> SpendingRequest:
    """The request of this process instance: by its business key, else by the instance id the record holds.

    Never by the ``requestNo`` variable: a variable names whatever the last writer wanted it to name.
    """
    if job.business_key:
        row = session.get(SpendingRequest, job.business_key)
    else:
        row = session.exec(select(SpendingRequest).where(
            SpendingRequest.process_instance_id == job.process_instance_id)).first()
    if row is None:
        raise LookupError(f"spending request {job.business_key or job.process_instance_id!r} is not registered "
                          f"(task {job.id})")
    return row


def record_problems(request: SpendingRequest, job: Job) -> list[str]:
    """How the task's copies of the request (number, amount, requester, instance) disagree with the record."""
    problems = []
    if request.process_instance_id != job.process_instance_id:
        problems.append(f"申请 {request.request_no} 属于流程实例 {request.process_instance_id}，不是 "
                        f"{job.process_instance_id} / request {request.request_no} belongs to process instance "
                        f"{request.process_instance_id}, not {job.process_instance_id}")
    number = job.var("requestNo", None)
    if number is not None and str(number) != request.request_no:
        problems.append(f"变量 requestNo={number!r}，记录为 {request.request_no} / variable requestNo is "
                        f"{number!r}, the record says {request.request_no}")
    amount = job.var("amount", None)
    if amount is not None:
        try:
            same = parse_amount(str(amount)) == request.amount
        except InvalidAmount:
            same = False
        if not same:
            problems.append(f"变量 amount={amount!r}，记录为 {format_yuan(request.amount)} / variable amount is "
                            f"{amount!r}, the record says {format_yuan(request.amount)}")
    requester = job.var("requester", None)
    if requester is not None and str(requester) != request.requester:
        problems.append(f"变量 requester={requester!r}，记录为 {request.requester} / variable requester is "
                        f"{requester!r}, the record says {request.requester}")
    return problems


def _request(session: Any, job: Job) -> SpendingRequest:
    """The request of this instance, refusing when any copy of it in the variables disagrees."""
    row = _find_request(session, job)
    problems = record_problems(row, job)
    if problems:
        record_audit(session, actor="system", action="record-mismatch", subject_type=DOCUMENT_TYPE,
                     subject_id=row.request_no, details={"task": job.id, "topic": job.topic, "problems": problems})
        session.commit()
        raise RecordMismatch(problems)
    return row


@registry.topic("register-request")
def register_request(job: Job) -> dict[str, Any]:
    """Validate the submission (also those made in Tasklist: the department against the master data too),
    record it, flag split requests, then check its budget and, within plan, fix its approval chain — one
    step, so the requester waits for one engine round trip less before the first approver sees the request.

    The budget check gives: within plan; over plan on a control line (BUDGET_EXCEEDED: overspend report and
    consent, then ``route-request``); or no usable line (BUDGET_LINE_UNAVAILABLE). An advisory or tracking
    line that is overspent only warns: the request goes on, warning attached.
    """
    values = dict(job.variables)
    values.setdefault("requester", values.get("initiator"))
    if not values.get("requester"):
        values["requester"] = values.get("initiator")
    try:
        with session_scope() as session:
            draft = validate_request(values, session=session)
    except InvalidRequest as exc:
        raise BusinessError("REQUEST_INVALID", f"申请无效 / invalid request: {exc}") from exc
    row, warnings, result = _registered(job, draft)
    return _checked_and_routed(job, row, draft, warnings, result)


def _registered(job: Job, draft: RequestDraft) -> tuple[SpendingRequest, list[str], BudgetCheck]:
    """The request recorded for this instance (recorded now when started in Tasklist), its split warnings and
    its budget check. A request submitted from the command line is held first: its submission may not have
    committed yet when the engine hands this step over (``hold_document``)."""
    with session_scope() as session:
        number = job.var("requestNo", None)
        if number is not None and job.business_key and number != job.business_key:
            raise RecordMismatch([f"variable requestNo {number!r} is not the business key {job.business_key!r}"])
        if job.business_key:
            hold_document(session, DOCUMENT_TYPE, job.business_key)
        request_no = job.business_key or next_request_no(session)
        row = record_request(session, request_no, draft)
        if row.process_instance_id not in (None, job.process_instance_id):
            raise BusinessError("REQUEST_INVALID", f"申请单号 {request_no} 已被另一流程使用 / request number "
                                f"{request_no} belongs to another process instance")
        if row.requester != draft.requester or row.amount != draft.amount:
            raise RecordMismatch([f"request {request_no} was recorded for {row.requester} with "
                                  f"{format_yuan(row.amount)}, the start says {draft.requester} with "
                                  f"{format_yuan(draft.amount)}"])
        row.process_instance_id = job.process_instance_id
        session.add(row)
        warnings = [s.message() for s in split_suspicions(session, row)]
        if warnings:
            record_audit(session, actor="system", action="split-suspected", subject_type=DOCUMENT_TYPE,
                         subject_id=request_no, details={"warnings": warnings})
        result = check_budget(session, row.budget_key, row.amount)
        session.expunge(row)
    return row, warnings, result


def _checked_and_routed(job: Job, row: SpendingRequest, draft: RequestDraft, warnings: list[str],
                        result: BudgetCheck, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """After (re)registration: the form copies of the recorded request, then the budget check's outcome —
    within plan the chain is fixed now (a new round), over plan or without a line the BPMN error says so."""
    registered = {
        **draft.process_variables(row.request_no),
        "departmentName": draft.department_name or draft.department,  # display only (Tasklist)
        "escalationAfter": job.var("escalationAfter", get_settings().approval_escalation_after),
        "splitWarning": "；".join(warnings),
        "budgetOutcome": result.outcome.value, "budgetMessage": result.message,
        "budgetAvailable": format_yuan(result.available) if result.available is not None else "",
        **(extra or {}),
    }
    refusal = budget_refusal(result, LINE_OR_EXCEEDED)
    if refusal is not None:
        code, message = refusal
        raise BusinessError(code, message, registered if code == LINE_OR_EXCEEDED.line_unavailable
                            else {**registered, "withinPlan": False})
    return {**registered, **_fix_route(job, row, result)}


def _budget_warning(session: Any, request: SpendingRequest, result: BudgetCheck) -> str:
    """The warning approvers see; an overspend on an advisory or tracking line is also put in the audit log."""
    if result.outcome == CheckOutcome.OVER_BUDGET and not result.blocking:
        record_audit(session, actor="system", action="budget-warning", subject_type=DOCUMENT_TYPE,
                     subject_id=request.request_no, details={"control_level": result.control_level,
                                                             "message": result.message})
    return result.message if result.warning else ""


def _fix_route(job: Job, request: SpendingRequest, check: BudgetCheck) -> dict[str, Any]:
    """Route the recorded request as the ledger's ``check`` has it now; the copies for the forms come back."""
    within_plan = not (check.outcome == CheckOutcome.OVER_BUDGET and check.blocking)
    inputs = {"amount": format_yuan(request.amount), "category": request.category,
              "fundingSource": request.funding_source, "withinPlan": within_plan}
    steps = route_document(job, decision_key=ROUTING_DECISION, document_type=DOCUMENT_TYPE,
                           document_no=request.request_no, amount=request.amount, within_plan=within_plan,
                           inputs=inputs, department=request.department)
    with session_scope() as session:
        warning = _budget_warning(session, request, check)
    return {**inputs, "requestNo": request.request_no, "requester": request.requester,
            **chain_variables(steps), "budgetWarning": warning}


@registry.topic("route-request")
def route_request(job: Job) -> dict[str, Any]:
    """Fix the approval chain after the unit head's prior consent to an overspend: the routing table evaluated
    on the record's amount, category, funding source and plan status (the ledger's check now).

    A request within plan is routed by ``register-request`` in the same step.
    """
    with session_scope() as session:
        request = _request(session, job)
        check = check_budget(session, request.budget_key, request.amount)
        session.expunge(request)
    return _fix_route(job, request, check)


def _signatures(job: Job, request: SpendingRequest) -> tuple[list[Any], Any, set[str]]:
    """The current round's approvals, the latest consent and the users who may not sign, from the engine."""
    assert job.worker is not None
    engine = job.worker.engine
    since = chain_started(engine, job.process_instance_id, CHAIN_ACTIVITY)
    approvals = signed_tasks(engine, job.process_instance_id, APPROVAL_TASK, since)
    consents = [t for t in signed_tasks(engine, job.process_instance_id, CONSENT_TASK) if t.completed]
    starter = engine.historic_process(job.process_instance_id).get("startUserId")
    # a send-back the control refused stays in the history but signs nothing
    return round_signatures(approvals), (consents[-1] if consents else None), {request.requester, starter or ""}


@registry.topic("show-approval-step")
def show_approval_step(job: Job) -> dict[str, Any]:
    """What the next approver reads beside the request: its budget line now and after it, and every decision
    taken on it so far (earlier rounds too), from the ledger and the engine's history.

    Texts for people only: the control steps check the signatures and the budget from the same sources again
    and never read these variables, so a hostile write to them changes nothing but what is shown.
    """
    assert job.worker is not None
    with session_scope() as session:
        request = _find_request(session, job)
        budget = budget_line_text(session, request.budget_key, request.amount)
    history = decision_history_text(job.worker.engine, job.process_instance_id,
                                    [CONSENT_TASK, APPROVAL_TASK, REVISION_TASK], outcome_names=("revisionAction",))
    return {"budgetLineText": budget, "approvalHistoryText": history}


@registry.topic("verify-approvals")
def verify_approvals(job: Job) -> dict[str, Any]:
    """The control step before money moves: the stored chain against what the engine's history says.

    Every reason found is kept in the audit log; any reason sends the request to a finance officer
    (APPROVALS_INCOMPLETE) and nothing is reserved.
    """
    assert job.worker is not None
    with session_scope() as session:
        request = _find_request(session, job)
        problems = record_problems(request, job)
        chain = current_chain(session, DOCUMENT_TYPE, request.request_no)
        session.expunge_all()
    approvals, consent, excluded = _signatures(job, request)
    is_member = members_of(job.worker.engine)
    deputies = deputies_of_signers([t.user for t in [*approvals, *([consent] if consent else [])]], is_member)
    problems += chain_problems(chain, approvals, amount=request.amount, excluded=excluded, is_member=is_member,
                               consent=consent, deputies=deputies)
    with session_scope() as session:
        if chain:
            record_signed(session, document_type=DOCUMENT_TYPE, document_no=request.request_no,
                          round_no=chain[0].round, chain=chain, approvals=approvals,
                          consent=consent if not chain[0].within_plan else None)
        audit_verification(session, document_type=DOCUMENT_TYPE, document_no=request.request_no, chain=chain,
                           approvals=approvals, problems=problems, consent=consent.user if consent else None)
    refuse_if_broken(problems)
    return {"approvalsVerified": True}


@registry.topic("pre-encumber")
def pre_encumber_request(job: Job) -> dict[str, Any]:
    """Reserve the approved amount once the control step passed; over plan the recorded consent is the override.

    Who signed comes from the decisions recorded from the engine's history, never from the ``decisions``
    variable. An overspend on an advisory or tracking line is reserved with its warning in the audit log.
    """
    with session_scope() as session:
        request = _request(session, job)
        chain = current_chain(session, DOCUMENT_TYPE, request.request_no)
        decisions = recorded_decisions(session, DOCUMENT_TYPE, request.request_no)
        signed = {d.step: d for d in decisions if d.round == (chain[0].round if chain else None) and d.step}
        missing = [s.step for s in chain if s.step not in signed or signed[s.step].outcome != APPROVE]
        if not chain or missing:
            raise RuntimeError(f"request {request.request_no} reached pre-encumbrance without its recorded "
                               f"approvals (missing steps {missing or 'all'})")
        override = None
        if not chain[0].within_plan:
            consent = next((d for d in reversed(decisions) if d.task_key == CONSENT_TASK
                            and d.outcome == APPROVE and d.user_id), None)
            if consent is None or consent.user_id is None:
                raise RuntimeError(f"over-plan request {request.request_no} has no recorded prior consent")
            override = Override(user=consent.user_id,
                                reason=str(job.var("overspendJustification", "")) or "over-plan consent")
        approver = signed[chain[-1].step].user_id or "system"
        check = check_budget(session, request.budget_key, request.amount)
        try:
            entry = pre_encumber(session, request.budget_key, request.amount, document_type=DOCUMENT_TYPE,
                                 document_no=request.request_no, actor=approver, override=override)
        except BudgetExceeded as exc:
            code, message = budget_refusal(exc, LINE_OR_EXCEEDED)
            raise BusinessError(code, message, {"withinPlan": False, "budgetMessage": message}) from exc
        warning = check.message if check.outcome == CheckOutcome.OVER_BUDGET and not check.blocking else None
        record_audit(session, actor=approver, action="approved", subject_type=DOCUMENT_TYPE,
                     subject_id=request.request_no, details={
                         "decisions": [[d.step, d.candidate_group, d.user_id, d.outcome] for d in decisions
                                       if d.round == chain[0].round or d.task_key == CONSENT_TASK],
                         "journalEntry": entry.id, "budgetWarning": warning})
    return {"preEncumbranceEntry": entry.id}


@registry.topic("close-request")
def close_spending_request(job: Job) -> dict[str, Any]:
    """Record the outcome; anything but approval gives back whatever the request still holds.

    Closing as approved requires the variables to agree with the record; any other outcome closes the
    record of this instance whatever the copies say (closing moves no money, it gives money back).
    """
    outcome = job.var("outcome")
    reason = job.var("closingReason", None)
    with session_scope() as session:
        known = session.get(SpendingRequest, job.business_key or "")
        if outcome == RequestStatus.INVALID and (known is None
                                                 or known.process_instance_id != job.process_instance_id):
            audit_unregistered(session, job, action="refused-invalid", document_type=DOCUMENT_TYPE,
                               subject_id=job.business_key or job.process_instance_id, reason=reason)
            return {"requestStatus": outcome}
        if outcome == RequestStatus.APPROVED:
            request = _request(session, job)
        else:
            request = _find_request(session, job)
            if request.process_instance_id != job.process_instance_id:
                raise RecordMismatch(record_problems(request, job))
            release_holdings(session, DOCUMENT_TYPE, request.request_no, f"request {outcome}")
        close_request(session, request.request_no, outcome, reason)
        number = request.request_no
        chain = current_chain(session, DOCUMENT_TYPE, number)
        session.expunge_all()
    if chain and outcome != RequestStatus.APPROVED and job.worker is not None:
        # keep who decided a rejected or voided request too, from the engine's history
        approvals, consent, _ = _signatures(job, request)
        with session_scope() as session:
            record_signed(session, document_type=DOCUMENT_TYPE, document_no=number, round_no=chain[0].round,
                          chain=chain, approvals=approvals, consent=consent)
    with session_scope() as session:
        record_audit(session, actor="system", action=f"closed-{outcome}", subject_type=DOCUMENT_TYPE,
                     subject_id=number, details={"reason": reason})
    return {"requestStatus": outcome}


CONSENT_SEND_BACK = "recordConsentSendBack"
CONSENT_GROUP = "president"


def _sent_back_task(job: Job, chain: list[Any]) -> tuple[SignedTask | None, list[SignedTask], str, int | str]:
    """The completed task whose send-back this job records, the round's signatures before it, the group that
    was asked and the step's name — read from the engine's history, never from the variables.

    Which step sent the request back is the engine's own record of the job (the activity the external task
    belongs to): the unit head's consent, or the next step of the stored chain.
    """
    assert job.worker is not None
    engine = job.worker.engine
    if job.activity_id == CONSENT_SEND_BACK:
        consents = [t for t in signed_tasks(engine, job.process_instance_id, CONSENT_TASK) if t.completed]
        task = consents[-1] if consents and consents[-1].outcome == SEND_BACK else None
        return task, [], CONSENT_GROUP, "consent"
    since = chain_started(engine, job.process_instance_id, CHAIN_ACTIVITY)
    completed = [t for t in signed_tasks(engine, job.process_instance_id, APPROVAL_TASK, since) if t.completed]
    task = completed[-1] if completed and completed[-1].outcome == SEND_BACK else None
    signatures = round_signatures(completed[:-1]) if task else []
    step = len(signatures) + 1
    group = chain[step - 1].candidate_group if chain and step <= len(chain) else ""
    return task, signatures, group, step


@registry.topic("send-back-request")
def send_back_request(job: Job) -> dict[str, Any]:
    """An approver, or the unit head asked for prior consent to an overspend, sent the request back for
    revision (退回修改): check the send-back against the stored chain (the consent group for the consent) and
    the engine's history, keep the round's decisions, tell the requester (audit ``sent-back``).

    A send-back that does not hold (no reason, not the step's group or one of its members, the requester)
    is refused with SEND_BACK_REFUSED: the same step is asked again and the task shows why. Nothing was
    reserved during approval or consent, so nothing moves; the record waits for the requester's revision.
    """
    assert job.worker is not None
    engine = job.worker.engine
    with session_scope() as session:
        request = _request(session, job)
        chain = current_chain(session, DOCUMENT_TYPE, request.request_no)
        session.expunge_all()
    task, signatures, group, step = _sent_back_task(job, chain)
    starter = engine.historic_process(job.process_instance_id).get("startUserId")
    is_member = members_of(engine)
    if not group:
        problems = [f"退回不对应审批链的任何一级 / the send-back matches no step of the stored chain (step {step})"]
    else:
        deputies = deputies_of_signers([task.user] if task and task.user else [], is_member)
        problems = send_back_problems(task, group, {request.requester, starter or ""}, is_member, deputies)
    if problems:
        text = "\n".join(problems)
        with session_scope() as session:
            record_audit(session, actor=task.user if task and task.user else "system", action="send-back-refused",
                         subject_type=DOCUMENT_TYPE, subject_id=request.request_no,
                         details={"task": task.task_id if task else None, "step": step, "problems": problems})
        raise BusinessError("SEND_BACK_REFUSED", f"退回未被接受 / send-back refused: {text}"[:600])
    assert task is not None and task.user
    reason = (task.comment or "").strip()[:1000]
    with session_scope() as session:
        if chain and job.activity_id == CONSENT_SEND_BACK:
            # the consent precedes the next round's chain: kept beside the round it answers
            record_signed(session, document_type=DOCUMENT_TYPE, document_no=request.request_no,
                          round_no=chain[0].round, chain=chain, approvals=[], others=[task])
        elif chain:
            record_signed(session, document_type=DOCUMENT_TYPE, document_no=request.request_no,
                          round_no=chain[0].round, chain=chain, approvals=[*signatures, task])
        record_audit(session, actor=task.user, action="sent-back", subject_type=DOCUMENT_TYPE,
                     subject_id=request.request_no, details={
                         "reason": reason, "round": chain[0].round if chain else None, "step": step,
                         "group": group, "task": task.task_id})
    log.info("request %s sent back by %s at step %s", request.request_no, task.user, step)
    # the requester of the record owns the revision task, whatever a variable said before
    return {"sendBackReason": reason, "sendBackProblem": "", "revisionProblem": "", "requester": request.requester}


REVISION_TASK = "reviseRequest"
@registry.topic("resubmit-request")
def resubmit_request(job: Job) -> dict[str, Any]:
    """The requester's answer to a send-back, read from the engine's history of the revision task (who
    completed it, the values that completion wrote), never from the process variables.

    Withdraw closes the request. Resubmit validates the edited request exactly like intake (the department
    against the master data too) and, when it holds, writes it into the record (audited as ``resubmitted``,
    with each change), checks its budget and fixes a new round of the chain from the new amount: the old
    round's signatures never count again. A revision that does not hold goes back to the requester with the
    reasons, the record unchanged.
    """
    assert job.worker is not None
    with session_scope() as session:
        request = _find_request(session, job)
        if request.process_instance_id != job.process_instance_id:
            raise RecordMismatch(record_problems(request, job))
        session.expunge(request)
    answer = requester_answer(job.worker.engine, job.process_instance_id, REVISION_TASK, request.requester,
                              REVISABLE_FIELDS, document_type=DOCUMENT_TYPE, document_no=request.request_no,
                              closing_reason="申请人撤回 / withdrawn by the requester")
    if answer.reply is not None:
        return answer.reply
    task, again = answer.task, answer.again
    assert task is not None and task.user
    try:
        with session_scope() as session:
            draft = validate_request(revision_values(request, task.values), session=session)
    except InvalidRequest as exc:
        return {**again, "revisionProblem": str(exc)}
    with session_scope() as session:
        row = session.get(SpendingRequest, request.request_no)
        assert row is not None
        check = check_budget(session, draft.budget_key, draft.amount)
        if check.outcome in ALWAYS_BLOCKING:
            return {**again, "revisionProblem": f"预算指标不可用 / no usable budget line: {check.message}"}
        changes = apply_revision(row, draft)
        session.add(row)
        record_answer(session, DOCUMENT_TYPE, row.request_no, task, RESUBMIT)
        if not audited_for_task(session, DOCUMENT_TYPE, row.request_no, "resubmitted", task.task_id):
            record_audit(session, actor=task.user, action="resubmitted", subject_type=DOCUMENT_TYPE,
                         subject_id=row.request_no, details={"task": task.task_id, "changes": changes})
        warnings = [s.message() for s in split_suspicions(session, row)]
        result = check_budget(session, row.budget_key, row.amount)
        session.flush()
        session.expunge(row)
    return _checked_and_routed(job, row, draft, warnings, result,
                               {"revisionOutcome": RESUBMIT, "revisionProblem": "", "sendBackReason": ""})


@registry.topic("escalate-approval")
def escalate_approval(job: Job) -> dict[str, Any]:
    """An approval left idle: raise its priority, say so on the task, and audit it."""
    assert job.worker is not None
    engine = job.worker.engine
    tasks = escalate_open_tasks(engine, job.process_instance_id, APPROVAL_TASK,
                                "催办：审批已超时 / escalated: this approval has been left idle")
    with session_scope() as session:
        record_audit(session, actor="system", action="approval-escalated", subject_type=DOCUMENT_TYPE,
                     subject_id=job.business_key or job.var("requestNo", "?"),
                     details={"tasks": tasks})
    return {"escalated": len(tasks)}
