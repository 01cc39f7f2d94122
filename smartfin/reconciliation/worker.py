"""Worker adapter of the ``reconciliation-review`` process: the reviewer's decision into the tables.

The user task records who decided what (``decisions``, appended by the engine on completion); this
handler applies it to every exception of the batch that is still pending. It is idempotent — a second
delivery finds the batch resolved and changes nothing — because the engine delivers tasks at least once.
"""

from __future__ import annotations

import logging
from typing import Any

from smartfin.camunda.runtime import Job, TopicRegistry
from smartfin.reconciliation.store import record_review_resolution
from smartfin.store.db import session_scope

log = logging.getLogger(__name__)
registry = TopicRegistry()


def _reviewer_decision(job: Job) -> dict[str, Any]:
    """The latest decision on the review task, as the engine recorded it."""
    for record in reversed(job.var("decisions", [])):
        if record.get("task") == "reviewExceptions":
            return dict(record)
    raise LookupError(f"review {job.business_key}: no recorded decision of task reviewExceptions "
                      f"(task {job.id}); the process model must record decisions on the review task")


@registry.topic("record-reconciliation-resolution")
def record_reconciliation_resolution(job: Job) -> dict[str, Any]:
    """Mark the batch's pending exceptions resolved or written off by the reviewer, with the comment."""
    decision = _reviewer_decision(job)
    review_key = job.var("reviewKey", None) or job.business_key
    per_exception = job.var("exceptionDecisions", None) or None
    with session_scope() as session:
        review = record_review_resolution(
            session, review_key, by=str(decision["user"]), decision=str(decision.get("outcome") or ""),
            comment=str(decision.get("comment") or ""), per_exception=per_exception)
        count = review.exception_count
    log.info("reconciliation review %s: %s by %s", review_key, decision.get("outcome"), decision["user"])
    return {"resolvedBy": str(decision["user"]), "resolvedCount": count}
