"""Worker adapter of the ``insurance-appeal`` process: the officer's outcomes and finance's recoveries, from the
engine's history, into the tables.

Who decided and what (per item: appeal with an argument, or accept), who recorded the recovery and how much
per item, are read from the engine's history of the completed ``decideAppeal`` and ``recordRecovery`` tasks —
the authenticated completer and the values the completion itself wrote — never from process variables. The
batch is found by the business key and must belong to this process instance; the department's officers come
from ``ins_appeal_officer``. A completion that does not hold is refused with INSURANCE_APPEAL_REFUSED: nothing
is recorded, the task comes back with the reasons in its description, and the refusal is audited.

The gateway after the decisions reads ``appealedCount``, which only this worker writes (from the record).
Idempotent: a task recorded before is answered from its record.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from sqlmodel import Session

from smartfin.camunda.runtime import BusinessError, Job, TopicRegistry
from smartfin.insurance.runs import record_appeal_outcome
from smartfin.insurance.tables import AppealBatch, AppealStatus
from smartfin.kernel.clock import hospital_today, utc_now
from smartfin.processes.approvals import SignedTask, engine_instant, members_of, signed_tasks
from smartfin.processes.documents import escalate_open_tasks
from smartfin.processes.insuranceappeal.appeals import (
    APPEALED,
    DECIDE_FIELDS,
    DECIDE_TASK,
    DOCUMENT_TYPE,
    RECOVERY_FIELDS,
    RECOVERY_TASK,
    AppealItemOutcome,
    batch_by_key,
    decision_problems,
    items_of,
    officers_of,
    outcomes_of,
    recovery_problems,
    recovery_rows,
)
from smartfin.store.audit import record_audit
from smartfin.store.db import session_scope

log = logging.getLogger(__name__)
registry = TopicRegistry()

REFUSED = "INSURANCE_APPEAL_REFUSED"


def _find_batch(session: Session, job: Job) -> AppealBatch:
    """The batch of this process instance, by its business key — never by a variable."""
    if not job.business_key:
        raise LookupError(f"insurance appeal task {job.id}: the process instance has no business key")
    batch = batch_by_key(session, job.business_key)
    if batch.process_instance_id != job.process_instance_id:
        raise LookupError(f"申诉批次 {batch.business_key} 属于流程实例 {batch.process_instance_id} / appeal batch "
                          f"{batch.business_key} belongs to process instance {batch.process_instance_id}, not "
                          f"{job.process_instance_id}; refused")
    return batch


def _latest(job: Job, task_key: str, names: tuple[str, ...]) -> SignedTask | None:
    assert job.worker is not None
    completed = [t for t in signed_tasks(job.worker.engine, job.process_instance_id, task_key, value_names=names)
                 if t.completed]
    return completed[-1] if completed else None


def _refuse(key: str, task: SignedTask | None, problems: list[str], variable: str) -> BusinessError:
    with session_scope() as session:
        record_audit(session, actor=(task.user if task else None) or "system", action="insurance-appeal-refused",
                     subject_type=DOCUMENT_TYPE, subject_id=key,
                     details={"task": task.task_id if task else None, "problems": problems})
    text = "\n".join(problems)
    return BusinessError(REFUSED, text[:600], {variable: f"上次提交未被接受 / the last answer was not accepted: "
                                                         f"{text}"[:3000]})


def _decided(session: Session, batch: AppealBatch) -> dict[str, Any]:
    """The recorded outcomes as the next step needs them (copies of the record)."""
    outcomes = outcomes_of(session, batch)
    appealed = [o for o in outcomes if o.outcome == APPEALED]
    return {"appealedCount": len(appealed), "decideProblem": "",
            "recoveries": recovery_rows(items_of(session, batch), outcomes), "recoveryProblem": ""}


@registry.topic("record-insurance-appeal-decisions")
def record_appeal_decisions(job: Job) -> dict[str, Any]:
    """Record the officer's outcome per item, from the engine's record of the completed task."""
    assert job.worker is not None
    task = _latest(job, DECIDE_TASK, DECIDE_FIELDS)
    with session_scope() as session:
        batch = _find_batch(session, job)
        key, department = batch.business_key, batch.department
        known = outcomes_of(session, batch)
        if task is not None and known and known[0].decide_task_id == task.task_id:
            return _decided(session, batch)
        items = items_of(session, batch)
        officers = officers_of(session, department, hospital_today())
        session.expunge_all()
    decisions, problems = decision_problems(task, items, department=department, officers=officers,
                                            is_member=members_of(job.worker.engine))
    if problems:
        raise _refuse(key, task, problems, "decideProblem")
    assert task is not None and task.user
    decided_at = engine_instant(task.ended).astimezone(UTC) if task.ended else utc_now()
    appealed = sum(1 for d in decisions if d.outcome == APPEALED)
    with session_scope() as session:
        batch = batch_by_key(session, key)
        assert batch.id is not None
        session.add_all([AppealItemOutcome(batch_id=batch.id, item_id=d.item_id, outcome=d.outcome,
                                           argument=d.argument, decided_by=task.user, decide_task_id=task.task_id,
                                           decided_at=decided_at) for d in decisions])
        record_appeal_outcome(session, key, status=AppealStatus.APPEALED if appealed else AppealStatus.ACCEPTED,
                              by=task.user)
        record_audit(session, actor=task.user, action="insurance-appeal-decided", subject_type=DOCUMENT_TYPE,
                     subject_id=key, details={"task": task.task_id, "appealed": appealed,
                                              "accepted": len(decisions) - appealed})
        session.flush()
        answer = _decided(session, batch)
    log.info("insurance appeal %s: %s of %s items appealed by %s", key, appealed, len(decisions), task.user)
    return answer


@registry.topic("record-insurance-appeal-recovery")
def record_appeal_recovery(job: Job) -> dict[str, Any]:
    """Record what the fund paid back per appealed item; the monthly run matches the total to the bank."""
    assert job.worker is not None
    task = _latest(job, RECOVERY_TASK, RECOVERY_FIELDS)
    with session_scope() as session:
        batch = _find_batch(session, job)
        key = batch.business_key
        outcomes = outcomes_of(session, batch)
        if task is not None and any(o.recovery_task_id == task.task_id for o in outcomes):
            return {"recoveredFen": batch.recovered_fen, "recoveryProblem": ""}
        items = items_of(session, batch)
        session.expunge_all()
    recoveries, day, problems = recovery_problems(task, items, outcomes, is_member=members_of(job.worker.engine),
                                                  today=hospital_today())
    if problems:
        raise _refuse(key, task, problems, "recoveryProblem")
    assert task is not None and task.user and day is not None
    total = sum(r.recovered_fen for r in recoveries)
    with session_scope() as session:
        batch = batch_by_key(session, key)
        by_item = {o.item_id: o for o in outcomes_of(session, batch)}
        for r in recoveries:
            row = by_item[r.item_id]
            row.recovered_fen, row.recovered_on, row.recovered_by = r.recovered_fen, day, task.user
            row.recovery_task_id = task.task_id
            session.add(row)
        if total:
            record_appeal_outcome(session, key, status=AppealStatus.RECOVERED, by=task.user, recovered_fen=total,
                                  recovered_on=day, recovered_items={r.item_id: r.recovered_fen for r in recoveries})
        record_audit(session, actor=task.user, action="insurance-appeal-recovery-recorded",
                     subject_type=DOCUMENT_TYPE, subject_id=key,
                     details={"task": task.task_id, "recoveredFen": total, "recoveredOn": day.isoformat(),
                              "items": {str(r.item_id): r.recovered_fen for r in recoveries}})
    log.info("insurance appeal %s: %s fen recovered, recorded by %s", key, total, task.user)
    return {"recoveredFen": total, "recoveryProblem": ""}


@registry.topic("escalate-insurance-appeal")
def escalate_insurance_appeal(job: Job) -> dict[str, Any]:
    """The appeal window is closing and the officer has not answered: raise the task, comment on it, audit it."""
    assert job.worker is not None
    tasks = escalate_open_tasks(job.worker.engine, job.process_instance_id, DECIDE_TASK,
                                "催办：医保拒付扣款申诉即将超过申诉期限 / escalated: the appeal window is closing "
                                "and the refused items have not been answered")
    with session_scope() as session:
        batch = _find_batch(session, job)
        record_audit(session, actor="system", action="insurance-appeal-escalated", subject_type=DOCUMENT_TYPE,
                     subject_id=batch.business_key,
                     details={"tasks": tasks, "dueOn": batch.due_on.isoformat() if batch.due_on else None,
                              "department": batch.department})
    return {"escalated": len(tasks)}
