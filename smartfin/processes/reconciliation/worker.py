"""Worker adapter of the ``reconciliation-review`` process: the reviewer's decision, from the engine's history,
into the tables.

Who decided, what and when is read from the engine's history of the completed ``reviewExceptions`` task
(the authenticated completer and the ``decision``/``comment`` values of the completion), never from the
``decisions``, ``reviewKey`` or ``exceptionDecisions`` variables, which are copies anyone with a say over the
process could have written. The review is found by the business key. The decision is kept as an
``ApprovalDecision`` (document type ``reconciliation-review``) and in the audit log; the reviewer must be a
finance officer and must not be a cashier whose own cash difference is among the exceptions. A decision
that does not hold goes back to the review task (REVIEW_REFUSED) with the reasons, for another officer.

Idempotent (the engine delivers a task at least once): a resolved review is answered from its record.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session

from smartfin.camunda.runtime import BusinessError, Job, TopicRegistry
from smartfin.processes.approvals import SignedTask, members_of, record_signed, signed_tasks
from smartfin.reconciliation.models import ReconReview
from smartfin.reconciliation.store import record_review_resolution, review_by_key, review_exceptions
from smartfin.store.audit import record_audit
from smartfin.store.db import session_scope

log = logging.getLogger(__name__)
registry = TopicRegistry()

DOCUMENT_TYPE = "reconciliation-review"
REVIEW_TASK = "reviewExceptions"
REVIEWER_GROUP = "finance-officer"
REFUSED = "REVIEW_REFUSED"
#: exception levels whose references name the person whose work caused the difference
PERSONAL_LEVELS = ("cashier",)


def _find_review(session: Session, job: Job) -> ReconReview:
    """The review of this process instance: by its business key, and it must name this instance.

    Never by the ``reviewKey`` variable: a variable names whatever its last writer wanted.
    """
    if not job.business_key:
        raise LookupError(f"reconciliation review task {job.id}: the process instance has no business key")
    review = review_by_key(session, job.business_key)
    if review.process_instance_id not in (None, job.process_instance_id):
        raise LookupError(f"对账复核 {review.business_key} 属于流程实例 {review.process_instance_id}，不是 "
                          f"{job.process_instance_id} / review {review.business_key} belongs to process instance "
                          f"{review.process_instance_id}, not {job.process_instance_id}; refused")
    return review


def caused_by(session: Session, review: ReconReview) -> set[str]:
    """The people whose own work the review's exceptions are about, where the data names them.

    A cashier's long or short cash (level ``cashier``) names the cashier; bank and channel differences name
    no person in the data the product keeps, so nobody is excluded for them.
    """
    return {str(reference) for row in review_exceptions(session, review) if row.level in PERSONAL_LEVELS
            for reference in row.references}


def review_problems(task: SignedTask | None, *, is_member: Any, excluded: set[str]) -> list[str]:
    """Every reason the completed review task cannot stand as the review's decision; empty when it can."""
    if task is None:
        return ["复核任务没有完成记录 / the engine has no completed review task"]
    problems = []
    if not task.user:
        problems.append("无经认证的办理人 / no authenticated user completed the review")
    else:
        if not is_member(task.user, REVIEWER_GROUP):
            problems.append(f"{task.user} 不属于 {REVIEWER_GROUP} / {task.user} is not a member of {REVIEWER_GROUP}")
        if task.user in excluded:
            problems.append(f"{task.user} 不能处理本人造成的差异 / {task.user} may not resolve differences of "
                            "their own cash")
        if task.assignee and task.assignee != task.user:
            problems.append(f"由 {task.user} 办理，但任务指派给 {task.assignee} / completed by {task.user} while "
                            f"assigned to {task.assignee}")
    if REVIEWER_GROUP not in task.groups:
        problems.append(f"任务候选组为 {task.group_label or '(无)'} / the task was offered to "
                        f"{task.group_label or '(nobody)'}, not {REVIEWER_GROUP}")
    if not task.outcome:
        problems.append("完成时未填写处理结果 / the completion carried no outcome")
    if not (task.comment or "").strip():
        problems.append("完成时未填写处理说明 / the completion carried no comment")
    return problems


@registry.topic("record-reconciliation-resolution")
def record_reconciliation_resolution(job: Job) -> dict[str, Any]:
    """Mark the batch's pending exceptions resolved or written off by the reviewer the engine recorded."""
    assert job.worker is not None
    engine = job.worker.engine
    with session_scope() as session:
        review = _find_review(session, job)
        if review.status == "resolved":
            return {"resolvedBy": review.resolved_by, "resolvedCount": review.exception_count}
        excluded = caused_by(session, review)
        key = review.business_key
    completed = [task for task in signed_tasks(engine, job.process_instance_id, REVIEW_TASK) if task.completed]
    task = completed[-1] if completed else None
    problems = review_problems(task, is_member=members_of(engine), excluded=excluded)
    with session_scope() as session:
        if task is not None:
            record_signed(session, document_type=DOCUMENT_TYPE, document_no=key, round_no=len(completed),
                          chain=[], approvals=[task])
        if not problems:
            assert task is not None and task.user
            try:
                review = record_review_resolution(session, key, by=task.user, decision=str(task.outcome),
                                                  comment=str(task.comment))
            except ValueError as exc:
                problems = [str(exc)]
            else:
                record_audit(session, actor=task.user, action="reconciliation-reviewed", subject_type=DOCUMENT_TYPE,
                             subject_id=key, details={"task": task.task_id, "decision": task.outcome,
                                                      "comment": task.comment, "decidedAt": task.ended,
                                                      "exceptions": review.exception_count})
                count = review.exception_count
        if problems:
            record_audit(session, actor=(task.user if task else None) or "system",
                         action="reconciliation-review-refused", subject_type=DOCUMENT_TYPE, subject_id=key,
                         details={"task": task.task_id if task else None, "problems": problems})
    if problems:
        text = "\n".join(problems)
        raise BusinessError(REFUSED, text[:600], {"reviewProblem": f"上次处理未被接受 / the last decision was "
                                                                   f"not accepted: {text}"[:3000]})
    log.info("reconciliation review %s: %s by %s", key, task.outcome, task.user)  # type: ignore[union-attr]
    return {"resolvedBy": task.user, "resolvedCount": count}  # type: ignore[union-attr]
