"""Worker adapter of the ``cost-review`` process: each round, from the engine's history, into the tables.

Who explained, what they wrote (explanation, measure, due date), who judged it and how are read from the
engine's history of the completed ``explainCost`` and ``judgeExplanation`` tasks — the authenticated completer
(user operation log), the task's candidate groups, the values the completion itself wrote — never from the
process variables, which are display copies. The review is found by the business key and must belong to this
process instance. A round that does not hold (someone outside the group, the explainer judging their own
explanation, a due date not in the future …) is refused with COST_REVIEW_REFUSED: nothing is recorded, the
task comes back with the reasons in its description, and the refusal is audited.

The gateway after the judgement reads ``reviewOutcome``, which only this worker writes (from the record).
Idempotent (the engine delivers a task at least once): a round recorded before is answered from its record.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from smartfin.camunda.runtime import BusinessError, Job, TopicRegistry
from smartfin.kernel.clock import hospital_today, utc_now
from smartfin.processes.approvals import SignedTask, department_group, engine_instant, members_of, signed_tasks
from smartfin.processes.costreview.reviews import (
    ACCEPT,
    DOCUMENT_TYPE,
    EXPLAIN_TASK,
    EXPLANATION_FIELDS,
    HEAD_GROUP,
    JUDGE_TASK,
    CostReview,
    CostReviewRound,
    explanation_problems,
    judgement_problems,
    parse_due_date,
    review_by_key,
    rounds_of,
)
from smartfin.processes.documents import escalate_open_tasks
from smartfin.store.audit import record_audit
from smartfin.store.db import session_scope

log = logging.getLogger(__name__)
registry = TopicRegistry()

REFUSED = "COST_REVIEW_REFUSED"
ACCEPTED, SENT_BACK = "accepted", "sent back"


def _find_review(session: Any, job: Job) -> CostReview:
    """The review of this process instance, by its business key — never by a variable."""
    if not job.business_key:
        raise LookupError(f"cost review task {job.id}: the process instance has no business key")
    review = review_by_key(session, job.business_key)
    if review.process_instance_id != job.process_instance_id:
        raise LookupError(f"成本分析整改 {review.business_key} 属于流程实例 {review.process_instance_id}，不是 "
                          f"{job.process_instance_id} / cost review {review.business_key} belongs to process "
                          f"instance {review.process_instance_id}, not {job.process_instance_id}; refused")
    return review


def _latest(job: Job, task_key: str) -> SignedTask | None:
    assert job.worker is not None
    completed = [task for task in signed_tasks(job.worker.engine, job.process_instance_id, task_key,
                                               value_names=EXPLANATION_FIELDS) if task.completed]
    return completed[-1] if completed else None


def _refuse(key: str, task: SignedTask | None, problems: list[str], variable: str,
            **reoffer: str) -> BusinessError:
    """The refusal that sends the task back with its reasons; ``reoffer`` variables (``headGroup``, computed
    from the record) decide whom the returned task is offered to, so a task opened before the department's
    head was recorded is offered to her scoped group the second time rather than going round again."""
    with session_scope() as session:
        record_audit(session, actor=(task.user if task else None) or "system", action="cost-review-refused",
                     subject_type=DOCUMENT_TYPE, subject_id=key,
                     details={"task": task.task_id if task else None, "problems": problems})
    text = "\n".join(problems)
    return BusinessError(REFUSED, text[:600], {variable: f"上次提交未被接受 / the last answer was not accepted: "
                                                         f"{text}"[:3000], **reoffer})


def _explained(row: CostReviewRound) -> dict[str, Any]:
    """The recorded round as the finance officer's form shows it (copies of the record)."""
    return {"explainedBy": row.explained_by, "reviewRound": row.round, "explainProblem": "",
            "recordedExplanation": row.explanation, "recordedMeasure": row.measure,
            "recordedDueDate": row.due_on.isoformat()}


@registry.topic("record-cost-explanation")
def record_cost_explanation(job: Job) -> dict[str, Any]:
    """Record the department head's answer as a new round, from the engine's record of the completed task."""
    assert job.worker is not None
    with session_scope() as session:
        review = _find_review(session, job)
        key = review.business_key
        head_group = department_group(session, HEAD_GROUP, review.centre)  # from the record, not the variable
    task = _latest(job, EXPLAIN_TASK)
    with session_scope() as session:
        review = review_by_key(session, key)
        if task is not None:
            known = next((r for r in rounds_of(session, review) if r.explain_task_id == task.task_id), None)
            if known is not None:
                return _explained(known)
    problems = explanation_problems(task, is_member=members_of(job.worker.engine), today=hospital_today(),
                                    group=head_group)
    if problems:
        raise _refuse(key, task, problems, "explainProblem", headGroup=head_group)
    assert task is not None and task.user
    due = parse_due_date(task.values.get("dueDate"))
    assert due is not None
    with session_scope() as session:
        review = review_by_key(session, key)
        rounds = rounds_of(session, review)
        if rounds and rounds[-1].decision is None:
            raise LookupError(f"cost review {key}: round {rounds[-1].round} is still waiting for its judgement")
        assert review.id is not None
        row = CostReviewRound(review_id=review.id, round=len(rounds) + 1, explain_task_id=task.task_id,
                              explained_by=task.user,
                              explained_at=engine_instant(task.ended).astimezone(UTC) if task.ended else utc_now(),
                              explanation=(task.values.get("explanation") or "").strip()[:4000],
                              measure=(task.values.get("measure") or "").strip()[:2000], due_on=due)
        review.status = "explained"
        session.add_all([row, review])
        record_audit(session, actor=task.user, action="cost-review-explained", subject_type=DOCUMENT_TYPE,
                     subject_id=key, details={"task": task.task_id, "round": row.round, "measure": row.measure,
                                              "dueOn": due.isoformat()})
        session.flush()
        answer = _explained(row)
    log.info("cost review %s: round %s explained by %s", key, answer["reviewRound"], task.user)
    return answer


@registry.topic("record-cost-judgement")
def record_cost_judgement(job: Job) -> dict[str, Any]:
    """Record the finance officer's judgement of the current round; accepted closes the review."""
    assert job.worker is not None
    with session_scope() as session:
        review = _find_review(session, job)
        key = review.business_key
        head_group = department_group(session, HEAD_GROUP, review.centre)  # whom a send-back returns to
    task = _latest(job, JUDGE_TASK)
    with session_scope() as session:
        review = review_by_key(session, key)
        rounds = rounds_of(session, review)
        if task is not None:
            known = next((r for r in rounds if r.judge_task_id == task.task_id), None)
            if known is not None:
                return {"reviewOutcome": known.decision, "sendBackReason": known.reason or "", "judgeProblem": "",
                        "headGroup": head_group}
        current = rounds[-1] if rounds and rounds[-1].decision is None else None
        explained_by = current.explained_by if current else None
    if current is None:
        raise LookupError(f"cost review {key}: no explained round waits for a judgement")
    problems = judgement_problems(task, is_member=members_of(job.worker.engine), explained_by=explained_by)
    if problems:
        raise _refuse(key, task, problems, "judgeProblem")
    assert task is not None and task.user
    decision = ACCEPTED if task.outcome == ACCEPT else SENT_BACK
    reason = (task.comment or "").strip()[:2000] or None
    judged_at = engine_instant(task.ended).astimezone(UTC) if task.ended else utc_now()
    with session_scope() as session:
        review = review_by_key(session, key)
        row = next(r for r in rounds_of(session, review) if r.round == current.round)
        row.judge_task_id, row.judged_by, row.judged_at = task.task_id, task.user, judged_at
        row.decision, row.reason = decision, reason
        if decision == ACCEPTED:
            review.status, review.accepted_by, review.accepted_at = "accepted", task.user, judged_at
            review.measure, review.due_on = row.measure, row.due_on
        else:
            review.status = "open"
        session.add_all([row, review])
        record_audit(session, actor=task.user, action=f"cost-review-{decision.replace(' ', '-')}",
                     subject_type=DOCUMENT_TYPE, subject_id=key,
                     details={"task": task.task_id, "round": row.round, "reason": reason})
    log.info("cost review %s: round %s %s by %s", key, current.round, decision, task.user)
    return {"reviewOutcome": decision, "sendBackReason": reason or "", "judgeProblem": "", "headGroup": head_group}


@registry.topic("escalate-cost-review")
def escalate_cost_review(job: Job) -> dict[str, Any]:
    """The department head has not answered in time: raise the task's priority, comment on it, audit it."""
    assert job.worker is not None
    tasks = escalate_open_tasks(job.worker.engine, job.process_instance_id, EXPLAIN_TASK,
                                "催办：成本分析整改未按时说明 / escalated: the cost review has not been answered")
    with session_scope() as session:
        record_audit(session, actor="system", action="cost-review-escalated", subject_type=DOCUMENT_TYPE,
                     subject_id=job.business_key or job.process_instance_id, details={"tasks": tasks})
    return {"escalated": len(tasks)}
