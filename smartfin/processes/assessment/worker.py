"""Worker adapter of the ``budget-assessment`` process: the head's completed task, from the engine's history, into
the project pool's actual values.

Who entered the values and what they entered are read from the engine's history of the completed
``enterActualValues`` task — the authenticated completer (user operation log), the task's candidate groups, the
``actualValues`` text the completion itself wrote — never from process variables. The entry is found by the
business key and must belong to this process instance; the completer must be the head the entry records for the
department (finance named her when opening it) and a member of ``dept-head``; the values may only concern the
department's own pool projects (``enter_actual_values`` checks that against the pool). A completion that does not
hold is refused with ASSESSMENT_REFUSED: nothing is stored, the task comes back with the reasons in its
description, and the refusal is audited. Idempotent: a completion recorded before is answered from its record.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from smartfin.budgeting.assessment import ActualValuesRefused, enter_actual_values, parse_value_lines
from smartfin.camunda.runtime import BusinessError, Job, TopicRegistry
from smartfin.kernel.clock import utc_now
from smartfin.processes.approvals import (
    SignedTask,
    department_group,
    engine_instant,
    members_of,
    signed_as_member,
    signed_tasks,
)
from smartfin.processes.assessment.entries import (
    DOCUMENT_TYPE,
    ENTRY_TASK,
    HEAD_GROUP,
    VALUES_FIELD,
    AssessmentEntry,
    entry_by_key,
)
from smartfin.store.audit import record_audit
from smartfin.store.db import session_scope

log = logging.getLogger(__name__)
registry = TopicRegistry()

REFUSED = "ASSESSMENT_REFUSED"


def entry_problems(task: SignedTask | None, entry: AssessmentEntry, is_member: Any,
                   group: str = HEAD_GROUP) -> list[str]:
    """Every reason a completed task cannot stand as the department's entry; empty when it can.

    The authenticated completer must be the head the entry records for the department, a member of ``group``
    (``dept-head``, or ``dept-head.<department>`` once department roles are recorded: the caller names it from
    the record, and its member is the head recorded on the day she entered), on a task offered to that group
    only, and not completing a task assigned to someone else.
    """
    if task is None or not task.completed:
        return ["填报任务没有完成记录 / the engine has no completed entry task"]
    problems: list[str] = []
    if task.groups != {group}:
        problems.append(f"任务候选组为 {task.group_label or '(无)'} / the task was offered to "
                        f"{task.group_label or '(nobody)'}, not {group}")
    if not task.user:
        return [*problems, "无经认证的办理人 / no authenticated user completed the task"]
    if task.user != entry.head:
        problems.append(f"{task.user} 不是 {entry.department} 的负责人（登记为 {entry.head}） / {task.user} is not "
                        f"the head recorded for department {entry.department} ({entry.head})")
    if not signed_as_member(task.user, group, task.ended, is_member):
        problems.append(f"{task.user} 不属于 {group} / {task.user} is not a member of {group}")
    if task.assignee and task.assignee != task.user:
        problems.append(f"由 {task.user} 办理，但任务指派给 {task.assignee} / completed by {task.user} while "
                        f"assigned to {task.assignee}")
    if VALUES_FIELD not in task.values:
        problems.append("提交中没有实际值 / the completion carried no actual values")
    return problems


def _find_entry(job: Job) -> AssessmentEntry:
    """The entry of this process instance, by its business key — never by a variable."""
    if not job.business_key:
        raise LookupError(f"assessment task {job.id}: the process instance has no business key")
    with session_scope() as session:
        entry = entry_by_key(session, job.business_key)
        session.expunge(entry)
    if entry.process_instance_id != job.process_instance_id:
        raise LookupError(f"绩效填报 {entry.business_key} 属于流程实例 {entry.process_instance_id}，不是 "
                          f"{job.process_instance_id} / assessment entry {entry.business_key} belongs to process "
                          f"instance {entry.process_instance_id}, not {job.process_instance_id}; refused")
    return entry


def _refuse(key: str, task: SignedTask | None, problems: list[str], head_group: str) -> BusinessError:
    """The refusal that returns the entry task with its reasons, offered again to ``head_group`` as the record
    names it today (an entry opened before department roles were recorded is not refused round and round)."""
    with session_scope() as session:
        record_audit(session, actor=(task.user if task else None) or "system", action="budget-assessment-refused",
                     subject_type=DOCUMENT_TYPE, subject_id=key,
                     details={"task": task.task_id if task else None, "problems": problems})
    text = "\n".join(problems)
    return BusinessError(REFUSED, text[:600], {"entryProblem": f"上次提交未被接受 / the last entry was not "
                                                              f"accepted: {text}"[:3000], "headGroup": head_group})


@registry.topic("record-actual-values")
def record_actual_values(job: Job) -> dict[str, Any]:
    """Store the head's actual indicator values in the project pool, from the engine's record of the task."""
    assert job.worker is not None
    entry = _find_entry(job)
    completed = [t for t in signed_tasks(job.worker.engine, job.process_instance_id, ENTRY_TASK,
                                         value_names=(VALUES_FIELD,)) if t.completed]
    task = completed[-1] if completed else None
    if task is not None and entry.entered_task_id == task.task_id:
        return {"valuesEntered": entry.values_entered, "enteredBy": entry.entered_by, "entryProblem": ""}
    with session_scope() as session:
        head_group = department_group(session, HEAD_GROUP, entry.department)  # from the record
    problems = entry_problems(task, entry, members_of(job.worker.engine), head_group)
    if problems:
        raise _refuse(entry.business_key, task, problems, head_group)
    assert task is not None and task.user
    values, issues = parse_value_lines(task.values.get(VALUES_FIELD) or "")
    if issues:
        raise _refuse(entry.business_key, task, [f"第 {i.row} 行 line {i.row}: {i.reason}" for i in issues],
                      head_group)
    try:
        with session_scope() as session:
            count = enter_actual_values(session, entry.fiscal_year, entry.department, values, actor=task.user,
                                        column="value")
            row = entry_by_key(session, entry.business_key)
            row.status, row.entered_task_id, row.entered_by = "entered", task.task_id, task.user
            row.entered_at = engine_instant(task.ended).astimezone(UTC) if task.ended else utc_now()
            row.values_entered = count
            session.add(row)
            record_audit(session, actor=task.user, action="budget-assessment-entered", subject_type=DOCUMENT_TYPE,
                         subject_id=entry.business_key, details={"task": task.task_id, "values": count})
    except ActualValuesRefused as exc:
        raise _refuse(entry.business_key, task, [f"第 {i.row} 行 line {i.row}: {i.reason}"
                                                 for i in exc.issues], head_group) from None
    log.info("assessment entry %s: %s values by %s", entry.business_key, count, task.user)
    return {"valuesEntered": count, "enteredBy": task.user, "entryProblem": ""}
