"""Worker adapter of the ``cash-alert`` process: the chief accountant's decision, from the engine's history.

Who decided and what (act or accept the risk, the measure or reason) are read from the engine's history of the
completed ``acknowledgeCashAlert`` task — the authenticated completer, the task's candidate groups, the values
the completion itself wrote — never from process variables. The alert is found by the business key and must
belong to this process instance. An answer that does not hold is refused with CASH_ALERT_REFUSED: nothing is
recorded, the task comes back with the reasons, and the refusal is audited. Idempotent: an answer recorded
before is answered from its record.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from smartfin.camunda.runtime import BusinessError, Job, TopicRegistry
from smartfin.kernel.clock import utc_now
from smartfin.processes.approvals import engine_instant, members_of, signed_tasks
from smartfin.processes.cashalert.alerts import ANSWER_FIELDS, DOCUMENT_TYPE, TASK, alert_by_key, answer_problems
from smartfin.store.audit import record_audit
from smartfin.store.db import session_scope

log = logging.getLogger(__name__)
registry = TopicRegistry()

REFUSED = "CASH_ALERT_REFUSED"


@registry.topic("record-cash-alert")
def record_cash_alert(job: Job) -> dict[str, Any]:
    """Record the chief accountant's decision on the alert, from the engine's record of the completed task."""
    assert job.worker is not None
    if not job.business_key:
        raise LookupError(f"cash alert task {job.id}: the process instance has no business key")
    key = job.business_key
    with session_scope() as session:
        alert = alert_by_key(session, key)
        if alert.process_instance_id != job.process_instance_id:
            raise LookupError(f"资金预警 {key} 属于流程实例 {alert.process_instance_id} / cash alert {key} belongs to "
                              f"process instance {alert.process_instance_id}, not {job.process_instance_id}; refused")
    completed = [t for t in signed_tasks(job.worker.engine, job.process_instance_id, TASK, value_names=ANSWER_FIELDS)
                 if t.completed]
    task = completed[-1] if completed else None
    with session_scope() as session:
        alert = alert_by_key(session, key)
        if task is not None and alert.task_id == task.task_id:
            return {"recordedDecision": alert.decision, "decidedBy": alert.decided_by, "alertProblem": ""}
    problems = answer_problems(task, is_member=members_of(job.worker.engine))
    if problems:
        with session_scope() as session:
            record_audit(session, actor=(task.user if task else None) or "system", action="cash-alert-refused",
                         subject_type=DOCUMENT_TYPE, subject_id=key,
                         details={"task": task.task_id if task else None, "problems": problems})
        text = "\n".join(problems)
        raise BusinessError(REFUSED, text[:600], {"alertProblem": f"上次提交未被接受 / the last answer was not "
                                                                  f"accepted: {text}"[:3000]})
    assert task is not None and task.user
    with session_scope() as session:
        alert = alert_by_key(session, key)
        alert.task_id, alert.decided_by = task.task_id, task.user
        alert.decided_at = engine_instant(task.ended).astimezone(UTC) if task.ended else utc_now()
        alert.decision = task.values.get("decision")
        alert.measure = (task.values.get("measure") or "").strip()[:2000]
        alert.status = "acknowledged"
        session.add(alert)
        record_audit(session, actor=task.user, action="cash-alert-decided", subject_type=DOCUMENT_TYPE,
                     subject_id=key, details={"task": task.task_id, "decision": alert.decision,
                                              "measure": alert.measure})
    log.info("cash alert %s: %s by %s", key, task.values.get("decision"), task.user)
    return {"recordedDecision": task.values.get("decision"), "decidedBy": task.user, "alertProblem": ""}
