"""Worker adapters for the budget-adjustment process: the record in, a rules or ledger call, copies out.

Every handler is idempotent (the engine delivers a task at least once): the adjustment is recorded once under
its number, the chain is fixed once per routing task, the ledger answers a repeated posting with the entries
already posted. The adjustment is always found by the business key or the instance the record holds, never by
a variable.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from smartfin.camunda.runtime import BusinessError, Job, TopicRegistry
from smartfin.kernel.clock import utc_now
from smartfin.kernel.money import format_yuan
from smartfin.ledger import BudgetError
from smartfin.ledger.control import find_line, line_balances
from smartfin.processes.adjustment.adjustments import (
    DOCUMENT_TYPE,
    FINANCE_HEAD,
    PRESIDENT_MEETING,
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
    standards_for,
    tier_of,
)
from smartfin.processes.approvals import (
    SignedTask,
    audit_verification,
    chain_problems,
    current_chain,
    fix_chain,
    members_of,
    record_signed,
    refuse_if_broken,
    signed_tasks_by_key,
)
from smartfin.store.audit import record_audit
from smartfin.store.db import session_scope

registry = TopicRegistry()

#: the user task in which each tier decides
DECISION_TASKS = {FINANCE_HEAD: "approveAdjustment", PRESIDENT_MEETING: "presidentOfficeMeeting"}
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
    """The record as the forms show it (display copies; nothing reads them back)."""
    return {"adjustmentNo": row.adjustment_no, "department": row.department, "requester": row.requester,
            "effectiveOn": row.effective_on.isoformat(), "totalAmount": format_yuan(row.total),
            "crossDepartment": "是 yes" if row.cross_department else "否 no", "reason": row.reason,
            "movementsText": movements_text(movements_of(session, row.adjustment_no)), "tier": row.tier,
            "budgetFigures": _figures(session, row)}


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
        steps = fix_chain(session, document_type=DOCUMENT_TYPE, document_no=row.adjustment_no, groups=[tier],
                          amount=row.total, within_plan=True, decision_id=STANDARDS_TABLE,
                          decision_version=int(standards.effective_from.strftime("%Y%m%d")), routed_by=job.id)
        record_audit(session, actor="system", action="approval-chain-fixed", subject_type=DOCUMENT_TYPE,
                     subject_id=row.adjustment_no, details={"round": steps[0].round, "groups": [tier],
                                                            "total": format_yuan(row.total),
                                                            "crossDepartment": row.cross_department,
                                                            "limit": format_yuan(standards.finance_head_limit)})
        return _copies(session, row)


def decisions_of(job: Job) -> list[SignedTask]:
    """Every completed decision task of the instance (either tier), oldest first, from the engine's history."""
    assert job.worker is not None
    found = signed_tasks_by_key(job.worker.engine, job.process_instance_id, list(DECISION_TASKS.values()),
                                value_names=("decision", "comment", "minutesNo"))
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
    approvals = decisions_of(job)
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
                          chain=chain, approvals=decisions_of(job))
    with session_scope() as session:
        record_audit(session, actor="system", action=f"closed-{outcome}", subject_type=DOCUMENT_TYPE,
                     subject_id=number, details={"reason": reason})
    return {"adjustmentStatus": outcome}
