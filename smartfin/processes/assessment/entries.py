"""The year-end entry of a department's actual indicator values as the project records it.

Finance opens one entry per (fiscal year, department) and names the department's head who must answer
(``AssessmentEntry.head``): that record — not a process variable — says who may enter the department's values.
The entry is written (``opening``) before its ``budget-assessment`` process is started by the service account with
the business key ``budget-assessment/<year>/<department>``; a second call opens nothing, and a call after a crash
between the two adopts the instance the engine already has. The worker records who entered the values (from the
engine's history) and when.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, select

from smartfin.budgeting.assessment import department_targets, value_lines
from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_today, utc_now
from smartfin.ledger.department_roles import holds_role
from smartfin.ledger.departments import department_name, department_problem_during
from smartfin.processes.approvals import department_group
from smartfin.store.audit import UtcDateTime, record_audit
from smartfin.store.db import session_scope

PROCESS_KEY = "budget-assessment"
DOCUMENT_TYPE = "budget-assessment"
HEAD_GROUP = "dept-head"
ENTRY_TASK = "enterActualValues"
VALUES_FIELD = "actualValues"


class AssessmentEntry(SQLModel, table=True):
    """One department's year-end entry of actual indicator values, from opening to entered."""

    __tablename__ = "budget_assessment_entry"
    __table_args__ = (UniqueConstraint("fiscal_year", "department", name="uq_budget_assessment_entry"),)

    id: int | None = Field(default=None, primary_key=True)
    business_key: str = Field(max_length=80, unique=True)
    fiscal_year: int
    department: str = Field(max_length=32)
    head: str = Field(max_length=64, description="the department's head who must enter the values")
    status: str = Field(default="opening", max_length=12, description="opening, open, entered")
    process_instance_id: str | None = Field(default=None, max_length=64)
    opened_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    opened_by: str = Field(max_length=64)
    entered_task_id: str | None = Field(default=None, max_length=64, unique=True)
    entered_by: str | None = Field(default=None, max_length=64)
    entered_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    values_entered: int = 0


def entry_key(fiscal_year: int, department: str) -> str:
    """``budget-assessment/2026/CARD``."""
    return f"{PROCESS_KEY}/{fiscal_year}/{department}"


def entry_by_key(session: Session, key: str) -> AssessmentEntry:
    row = session.exec(select(AssessmentEntry).where(AssessmentEntry.business_key == key)).first()
    if row is None:
        raise LookupError(f"绩效填报 {key} 不存在 / assessment entry {key} does not exist")
    return row


def entry_variables(session: Session, entry: AssessmentEntry, problem: str = "") -> dict[str, Any]:
    """What the head sees in Tasklist (display copies; the record is the table and the project pool)."""
    targets = department_targets(session, entry.fiscal_year, entry.department)
    listing = "\n".join(f"{p.code} {p.name} · {'产出' if t.kind == 'output' else '效益'} {t.indicator}: 目标 "
                        f"{t.direction} {t.target_value} {t.unit}" for p, t in targets)
    return {"fiscalYear": str(entry.fiscal_year), "department": entry.department,
            "departmentName": department_name(session, entry.department, date(entry.fiscal_year, 12, 31)),
            "head": entry.head, "targetList": listing or "（无 none）",
            VALUES_FIELD: value_lines(session, entry.fiscal_year, entry.department), "entryProblem": problem}


class EntryRefused(ValueError):
    """An entry that cannot be opened (unknown department, no targets, no head); names why."""


def _plan(session: Session, fiscal_year: int, department: str, head: str, actor: str) -> AssessmentEntry | None:
    key = entry_key(fiscal_year, department)
    row = session.exec(select(AssessmentEntry).where(AssessmentEntry.business_key == key)).first()
    if row is not None:
        return row if row.status == "opening" else None
    problem = department_problem_during(session, department, date(fiscal_year, 1, 1), date(fiscal_year, 12, 31))
    if problem:
        raise EntryRefused(problem)
    if not department_targets(session, fiscal_year, department):
        raise EntryRefused(f"{department} has no pool project with performance targets in {fiscal_year}: "
                           f"nothing to enter")
    row = AssessmentEntry(business_key=key, fiscal_year=fiscal_year, department=department, head=head,
                          opened_by=actor)
    session.add(row)
    session.flush()
    return row


def open_entries(fiscal_year: int, heads: dict[str, str], *, actor: str,
                 engine: EngineClient | None = None) -> list[str]:
    """Open one ``budget-assessment`` process per department of ``heads`` (department → head's user id);
    returns the business keys opened by this call.

    The head must be an engine user in ``dept-head`` and, once department roles are recorded, the department's
    recorded head today; the task is then offered to ``dept-head.<department>`` only. The process is started
    by ``engine``'s user — the service account — so no department head is its starter. Idempotent per
    (year, department).
    """
    client = engine or EngineClient.from_settings()
    opened: list[str] = []
    for department, head in sorted(heads.items()):
        head = head.strip()
        if not head or HEAD_GROUP not in {str(g["id"]) for g in client.get("/group", member=head) or []}:
            raise EntryRefused(f"{department}: {head!r} is not a member of {HEAD_GROUP}")
        with session_scope() as session:
            row = _plan(session, fiscal_year, department, head, actor)
            if row is None:
                continue
            key = row.business_key
            head_group = department_group(session, HEAD_GROUP, department)
            if head_group != HEAD_GROUP and not holds_role(session, head, head_group, hospital_today()):
                raise EntryRefused(f"{department}: {head!r} is not the head recorded for {department} today "
                                   "(smartfin departments roles list)")
            # the task's candidate group: the department's own heads (dept-head.<code>) once roles are recorded
            variables = {**entry_variables(session, row), "headGroup": head_group}
        started = client.get("/history/process-instance", processDefinitionKey=PROCESS_KEY,
                             processInstanceBusinessKey=key)
        instance_id = started[0]["id"] if started else client.start_process(PROCESS_KEY, key, variables)["id"]
        with session_scope() as session:
            row = entry_by_key(session, key)
            row.status, row.process_instance_id = "open", instance_id
            session.add(row)
            record_audit(session, actor=actor, action="budget-assessment-opened", subject_type=DOCUMENT_TYPE,
                         subject_id=key, details={"head": head, "processInstance": instance_id})
        opened.append(key)
    return opened
