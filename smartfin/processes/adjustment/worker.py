"""Worker adapters for the budget-adjustment process: the record in, a rules or ledger call, copies out.

Every handler is idempotent (the engine delivers a task at least once): the adjustment is recorded once under
its number, the chain is fixed once per routing task, the ledger answers a repeated posting with the entries
already posted. The adjustment is always found by the business key or the instance the record holds, never by
a variable.

Send back for revision (退回修改): either tier's decider may send the adjustment back with a reason.
``send-back-adjustment`` checks that send-back against the stored chain and the engine's history like a
signature (the tier's own task, a member of its group who is not the requester, a reason, and for the
president's office meeting its minutes number) before the requester of the record gets the revision task;
``resubmit-adjustment`` reads her answer from the engine's history, checks the edited adjustment with the
same rules as registration and fixes a new round of the chain from the new total (or closes it as
withdrawn). ``post-adjustment`` counts only the latest round's decisions.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from rules.budget import AdjustmentStandards
from smartfin.camunda.runtime import BusinessError, Job, TopicRegistry
from smartfin.kernel.clock import utc_now
from smartfin.kernel.money import format_yuan
from smartfin.ledger import BudgetError
from smartfin.ledger.control import find_line, line_balances
from smartfin.processes.adjustment.adjustments import (
    DOCUMENT_TYPE,
    FINANCE_HEAD,
    PRESIDENT_MEETING,
    REVISABLE_FIELDS,
    AdjustmentRefused,
    AdjustmentStatus,
    BudgetAdjustment,
    adjustment_problems,
    draft_of,
    movements_of,
    movements_text,
    next_adjustment_no,
    parse_key,
    post_adjustment,
    read_submission,
    record_adjustment,
    revise_adjustment,
    revision_values,
    standards_for,
    tier_of,
)
from smartfin.processes.approvals import (
    NO_DECISIONS_YET,
    RESUBMIT,
    SEND_BACK,
    SignedTask,
    audit_verification,
    audited_for_task,
    chain_problems,
    current_chain,
    decision_history_text,
    fix_chain,
    members_of,
    record_answer,
    record_signed,
    refuse_if_broken,
    requester_answer,
    round_signatures,
    send_back_problems,
    signed_tasks_by_key,
)
from smartfin.store.audit import record_audit
from smartfin.store.db import session_scope

registry = TopicRegistry()

#: the user task in which each tier decides
DECISION_TASKS = {FINANCE_HEAD: "approveAdjustment", PRESIDENT_MEETING: "presidentOfficeMeeting"}
#: the requester's task after a send-back: revise and resubmit, or withdraw
REVISION_TASK = "reviseAdjustment"
STANDARDS_TABLE = "rules/budget/adjustment_standards.csv"


def _own(session: Session, job: Job) -> BudgetAdjustment | None:
    """This instance's adjustment, or None before it is recorded; refuses a record of another instance."""
    if job.business_key:
        row = session.get(BudgetAdjustment, job.business_key)
    else:
        row = session.exec(select(BudgetAdjustment).where(
            BudgetAdjustment.process_instance_id == job.process_instance_id)).first()
    named = job.var("adjustmentNo", None)
    if row is not None and (row.process_instance_id not in (None, job.process_instance_id)
                            or named not in (None, row.adjustment_no)):
        raise LookupError(f"预算调整 {row.adjustment_no} 不属于流程实例 {job.process_instance_id} / adjustment "
                          f"{row.adjustment_no} (instance {row.process_instance_id}) does not belong to process "
                          f"instance {job.process_instance_id} (adjustmentNo copy {named!r}); refused")
    return row


def _adjustment(session: Session, job: Job) -> BudgetAdjustment:
    row = _own(session, job)
    if row is None:
        raise LookupError(f"adjustment {job.business_key or job.process_instance_id!r} is not registered")
    return row


def _figures(session: Session, row: BudgetAdjustment) -> str:
    """Each line the adjustment touches with what it holds now: what the decider reads before signing."""
    seen: list[str] = []
    text = []
    for movement in movements_of(session, row.adjustment_no):
        for key_text in (movement.from_line, movement.to_line):
            if not key_text or key_text in seen:
                continue
            seen.append(key_text)
            line = find_line(session, parse_key(key_text))
            if line is None or line.id is None:
                continue
            b = line_balances(session, line.id)
            text.append(f"{line.label}: 批准 ¥{format_yuan(b.authorised)}，已占用 ¥{format_yuan(b.committed)}，"
                        f"可用 ¥{format_yuan(b.available)}")
    return "\n".join(text)


def _copies(session: Session, row: BudgetAdjustment) -> dict[str, Any]:
    """The record as the forms show it (display copies; nothing reads them back). ``movements`` is what the
    revision form offers the requester to edit after a send-back."""
    movements = movements_text(movements_of(session, row.adjustment_no))
    return {"adjustmentNo": row.adjustment_no, "department": row.department, "requester": row.requester,
            "effectiveOn": row.effective_on.isoformat(), "totalAmount": format_yuan(row.total),
            "crossDepartment": "是 yes" if row.cross_department else "否 no", "reason": row.reason,
            "movementsText": movements, "tier": row.tier, "budgetFigures": _figures(session, row),
            "movements": movements}


@registry.topic("register-adjustment")
def register_adjustment(job: Job) -> dict[str, Any]:
    """Check the submission (a Tasklist start included) against the rules, record it, fix who decides.

    The requester is the authenticated starter (``initiator``) unless the service account named one (a proxy
    entry). Any broken rule → ADJUSTMENT_INVALID naming each movement and line. The tier comes from the
    recorded adjustment and the dated standards, and is stored as the approval chain.
    """
    with session_scope() as session:
        row = _own(session, job)
        if row is not None:
            draft = draft_of(session, row)
        else:
            values = dict(job.variables)
            values["requester"] = values.get("requester") or values.get("initiator")
            try:
                draft = read_submission(values)
            except AdjustmentRefused as refused:
                raise BusinessError("ADJUSTMENT_INVALID", str(refused)[:600]) from refused
        standards = standards_for(draft.effective_on)
        problems = adjustment_problems(session, draft, standards=standards,
                                       adjustment_no=row.adjustment_no if row else None)
        if problems:
            text = str(AdjustmentRefused(problems))
            if row is not None:
                row.status, row.closing_reason = AdjustmentStatus.INVALID, text[:2000]
                session.add(row)
            raise BusinessError("ADJUSTMENT_INVALID", text[:600], {"closingReason": text[:1000]})
        tier = tier_of(draft, standards)
        if row is None:
            number = job.business_key or next_adjustment_no(session, draft.effective_on)
            row = record_adjustment(session, number, draft, tier=tier, process_instance_id=job.process_instance_id)
            record_audit(session, actor=draft.requester, action="submitted", subject_type=DOCUMENT_TYPE,
                         subject_id=number, details={"total": format_yuan(draft.total), "tier": tier,
                                                     "movements": movements_text(draft.movements)})
        row.process_instance_id = job.process_instance_id
        row.tier = tier
        session.add(row)
        # a registration is the first round (a revision comes back through resubmit-adjustment)
        return {**_fix_tier(session, job, row, standards), "approvalHistoryText": NO_DECISIONS_YET}


def _fix_tier(session: Session, job: Job, row: BudgetAdjustment,
              standards: AdjustmentStandards) -> dict[str, Any]:
    """Store the recorded tier as a new round of the chain (once per routing job) and give the forms' copies:
    registration and every accepted resubmission route through here, each from the record's total."""
    tier = row.tier
    steps = fix_chain(session, document_type=DOCUMENT_TYPE, document_no=row.adjustment_no, groups=[tier],
                      amount=row.total, within_plan=True, decision_id=STANDARDS_TABLE,
                      decision_version=int(standards.effective_from.strftime("%Y%m%d")), routed_by=job.id)
    record_audit(session, actor="system", action="approval-chain-fixed", subject_type=DOCUMENT_TYPE,
                 subject_id=row.adjustment_no, details={"round": steps[0].round, "groups": [tier],
                                                        "total": format_yuan(row.total),
                                                        "crossDepartment": row.cross_department,
                                                        "limit": format_yuan(standards.finance_head_limit)})
    return _copies(session, row)


def round_started(job: Job) -> str | None:
    """When the latest round began: the end of the requester's latest completed revision (the one that was
    accepted, or the process would not ask for a decision again), or None in the first round. Read from the
    engine's history, so no variable can move a decision of an earlier round into the current one."""
    assert job.worker is not None
    rows = job.worker.engine.get("/history/task", processInstanceId=job.process_instance_id,
                                 taskDefinitionKey=REVISION_TASK, finished="true", sortBy="endTime",
                                 sortOrder="desc") or []
    return rows[0]["endTime"] if rows else None


def decisions_of(job: Job) -> list[SignedTask]:
    """Every completed decision task of the latest round (either tier), oldest first, from the engine's
    history: a round that ended in a send-back never counts for the next one."""
    assert job.worker is not None
    found = signed_tasks_by_key(job.worker.engine, job.process_instance_id, list(DECISION_TASKS.values()),
                                since=round_started(job), value_names=("decision", "comment", "minutesNo"))
    return sorted((t for tasks in found.values() for t in tasks if t.completed), key=lambda t: t.started)


def decision_problems(job: Job, row: BudgetAdjustment, chain: list[Any], approvals: list[SignedTask]) -> list[str]:
    """The control step: the stored chain against the signatures, the decision in the tier's own task, and for
    the president's office meeting a minutes number."""
    assert job.worker is not None
    engine = job.worker.engine
    starter = engine.historic_process(job.process_instance_id).get("startUserId")
    excluded = {row.requester, row.entered_by or "", starter or ""}
    problems = chain_problems(chain, approvals, amount=row.total, excluded=excluded, is_member=members_of(engine))
    if chain:
        wanted = DECISION_TASKS.get(chain[0].candidate_group)
        for task in approvals:
            if task.task_key != wanted:
                problems.append(f"{task.task_key}: 不是本调整的审批层级（应为 {wanted}） / not the decision this "
                                f"adjustment's tier requires ({wanted})")
        if chain[0].candidate_group == PRESIDENT_MEETING and approvals \
                and not (approvals[-1].values.get("minutesNo") or "").strip():
            problems.append("院长办公会未记录会议纪要编号 / the president's office meeting recorded no minutes number")
    return problems


@registry.topic("post-adjustment")
def post_adjustment_task(job: Job) -> dict[str, Any]:
    """Verify who decided against the stored chain (APPROVALS_INCOMPLETE), check the rules again under the
    lines' locks (ADJUSTMENT_REFUSED), then post every line in one transaction."""
    with session_scope() as session:
        row = _adjustment(session, job)
        chain = current_chain(session, DOCUMENT_TYPE, row.adjustment_no)
        session.expunge_all()
    if row.status == AdjustmentStatus.POSTED:
        return {"adjustmentStatus": row.status}
    # a send-back the control refused stays in the history but signs nothing
    approvals = round_signatures(decisions_of(job))
    problems = decision_problems(job, row, chain, approvals)
    with session_scope() as session:
        if chain:
            record_signed(session, document_type=DOCUMENT_TYPE, document_no=row.adjustment_no,
                          round_no=chain[0].round, chain=chain, approvals=approvals)
        audit_verification(session, document_type=DOCUMENT_TYPE, document_no=row.adjustment_no, chain=chain,
                           approvals=approvals, problems=problems)
    refuse_if_broken(problems, "审批异常，调整单作废 / approvals do not hold, adjustment voided")
    signer = approvals[-1]
    try:
        with session_scope() as session:
            row = _adjustment(session, job)
            entries = post_adjustment(session, row, actor=signer.user or "system")
            row.status, row.posted_at, row.approved_by = AdjustmentStatus.POSTED, utc_now(), signer.user
            row.minutes_no = (signer.values.get("minutesNo") or "").strip()[:100] or None
            session.add(row)
            record_audit(session, actor=signer.user or "system", action="posted", subject_type=DOCUMENT_TYPE,
                         subject_id=row.adjustment_no, details={"entries": entries, "minutesNo": row.minutes_no,
                                                                "tier": row.tier, "total": format_yuan(row.total)})
    except (AdjustmentRefused, BudgetError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        raise BusinessError("ADJUSTMENT_REFUSED", message[:600], {"closingReason": message[:1000]}) from exc
    return {"adjustmentStatus": AdjustmentStatus.POSTED, "journalEntries": len(entries)}


@registry.topic("close-adjustment")
def close_adjustment(job: Job) -> dict[str, Any]:
    """Record the outcome on the adjustment; nothing is posted here (a refused or voided one moved no money)."""
    outcome = str(job.var("outcome"))
    reason = job.var("closingReason", None)
    with session_scope() as session:
        row = _own(session, job)
        if row is None:  # refused before it was ever recorded
            record_audit(session, actor=str(job.var("initiator", "system")), action=f"closed-{outcome}",
                         subject_type=DOCUMENT_TYPE, subject_id=job.business_key or job.process_instance_id,
                         details={"reason": reason})
            return {"adjustmentStatus": outcome}
        if outcome != AdjustmentStatus.POSTED and row.status != AdjustmentStatus.POSTED:
            row.status = outcome
            row.closing_reason = (str(reason) if reason else row.closing_reason or outcome)[:2000]
        session.add(row)
        number = row.adjustment_no
        chain = current_chain(session, DOCUMENT_TYPE, number)
        session.expunge_all()
    if outcome == AdjustmentStatus.REJECTED and chain and job.worker is not None:
        with session_scope() as session:
            record_signed(session, document_type=DOCUMENT_TYPE, document_no=number, round_no=chain[0].round,
                          chain=chain, approvals=round_signatures(decisions_of(job)))
    with session_scope() as session:
        record_audit(session, actor="system", action=f"closed-{outcome}", subject_type=DOCUMENT_TYPE,
                     subject_id=number, details={"reason": reason})
    return {"adjustmentStatus": outcome}


@registry.topic("send-back-adjustment")
def send_back_adjustment(job: Job) -> dict[str, Any]:
    """The decider sent the adjustment back for revision (退回修改): check the send-back against the stored
    chain and the engine's history like a signature, keep it in the round it ends, tell the requester (audit
    ``sent-back``), and hand the revision to the requester of the record.

    A send-back that does not hold (no reason; not the tier's own task, group or one of its members; the
    requester or whoever keyed it in; at the president's office meeting, no minutes number) is refused with
    SEND_BACK_REFUSED and audited: the same decision is asked again and the task shows why. Nothing was
    posted during approval, so nothing moves.
    """
    assert job.worker is not None
    engine = job.worker.engine
    with session_scope() as session:
        row = _adjustment(session, job)
        chain = current_chain(session, DOCUMENT_TYPE, row.adjustment_no)
        session.expunge_all()
    completed = decisions_of(job)
    task = completed[-1] if completed and completed[-1].outcome == SEND_BACK else None
    group = chain[0].candidate_group if chain else ""
    starter = engine.historic_process(job.process_instance_id).get("startUserId")
    excluded = {row.requester, row.entered_by or "", starter or ""}
    problems = send_back_problems(task, group, excluded, members_of(engine)) if group else [
        "未确定审批链 / no approval chain was fixed for this adjustment"]
    if task is not None and group:
        wanted = DECISION_TASKS.get(group)
        if task.task_key != wanted:
            problems.append(f"{task.task_key}: 不是本调整的审批层级（应为 {wanted}） / not the decision this "
                            f"adjustment's tier requires ({wanted})")
        if group == PRESIDENT_MEETING and not (task.values.get("minutesNo") or "").strip():
            problems.append("院长办公会未记录会议纪要编号 / the president's office meeting recorded no minutes number")
    if problems:
        text = "\n".join(problems)
        with session_scope() as session:
            record_audit(session, actor=task.user if task and task.user else "system", action="send-back-refused",
                         subject_type=DOCUMENT_TYPE, subject_id=row.adjustment_no,
                         details={"task": task.task_id if task else None, "group": group, "problems": problems})
        raise BusinessError("SEND_BACK_REFUSED", f"退回未被接受 / send-back refused: {text}"[:600],
                            {"approvalHistoryText": history_of(job)})
    assert task is not None and task.user
    reason = (task.comment or "").strip()[:1000]
    with session_scope() as session:
        record_signed(session, document_type=DOCUMENT_TYPE, document_no=row.adjustment_no, round_no=chain[0].round,
                      chain=chain, approvals=[task])
        if not audited_for_task(session, DOCUMENT_TYPE, row.adjustment_no, "sent-back", task.task_id):
            record_audit(session, actor=task.user, action="sent-back", subject_type=DOCUMENT_TYPE,
                         subject_id=row.adjustment_no, details={
                             "reason": reason, "round": chain[0].round, "group": group, "task": task.task_id,
                             "minutesNo": (task.values.get("minutesNo") or "").strip() or None})
    # the requester of the record owns the revision task, whatever a variable said before
    return {"sendBackReason": reason, "sendBackProblem": "", "revisionProblem": "", "requester": row.requester}


@registry.topic("resubmit-adjustment")
def resubmit_adjustment(job: Job) -> dict[str, Any]:
    """The requester's answer to a send-back, read from the engine's history of the revision task (who
    completed it, the values that completion wrote), never from the process variables.

    Withdraw closes the adjustment (``close-adjustment`` as withdrawn: it no longer counts against the yearly
    limit; nothing was posted). Resubmit reads the edited adjustment exactly like a submission, checks it with
    the rules of registration and, when it holds, writes it into the record (audited as ``resubmitted`` with
    each change) and fixes a new round of the chain from the new total: an adjustment that grew past the
    finance head's limit goes to the president's office meeting. A revision that does not hold goes back to
    the requester with the reasons, the record unchanged.
    """
    assert job.worker is not None
    with session_scope() as session:
        row = _adjustment(session, job)
        session.expunge(row)
    answer = requester_answer(job.worker.engine, job.process_instance_id, REVISION_TASK, row.requester,
                              REVISABLE_FIELDS, document_type=DOCUMENT_TYPE, document_no=row.adjustment_no,
                              closing_reason="申请人撤回 / withdrawn by the requester")
    if answer.reply is not None:
        return answer.reply
    task, again = answer.task, answer.again
    assert task is not None and task.user
    with session_scope() as session:
        row = _adjustment(session, job)
        try:
            draft = read_submission(revision_values(row, movements_of(session, row.adjustment_no), task.values))
        except AdjustmentRefused as refused:
            return {**again, "revisionProblem": str(refused)[:3000]}
        standards = standards_for(draft.effective_on)
        problems_found = adjustment_problems(session, draft, standards=standards, adjustment_no=row.adjustment_no)
        if problems_found:
            return {**again, "revisionProblem": str(AdjustmentRefused(problems_found))[:3000]}
        record_answer(session, DOCUMENT_TYPE, row.adjustment_no, task, RESUBMIT)
        changes = revise_adjustment(session, row, draft, tier=tier_of(draft, standards))
        if not audited_for_task(session, DOCUMENT_TYPE, row.adjustment_no, "resubmitted", task.task_id):
            record_audit(session, actor=task.user, action="resubmitted", subject_type=DOCUMENT_TYPE,
                         subject_id=row.adjustment_no, details={"task": task.task_id, "changes": changes,
                                                                "total": format_yuan(row.total), "tier": row.tier})
        answer = {**_fix_tier(session, job, row, standards), "revisionOutcome": RESUBMIT, "revisionProblem": "",
                  "sendBackReason": ""}
    return {**answer, "approvalHistoryText": history_of(job)}


def history_of(job: Job) -> str:
    """Every decision and revision of the adjustment so far, for the next decider's form (a text for people,
    read from the engine's history, never an input)."""
    assert job.worker is not None
    return decision_history_text(job.worker.engine, job.process_instance_id,
                                 [*dict.fromkeys(DECISION_TASKS.values()), REVISION_TASK],
                                 outcome_names=("revisionAction",))
