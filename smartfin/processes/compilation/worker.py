"""Worker adapters of the ``budget-compilation`` process (两上两下): each reads the project's records — the round,
the drafts, the control numbers, the contacts, the minutes — and the engine's history, calls
``smartfin.budgeting``, and writes display copies back.

Nothing here trusts a process variable for authority: the year comes from the business key, who may submit for a
department from the contacts table, who completed a task from the engine's operation log, what was approved from
the stored chain and the minutes on record. Every handler is idempotent (a task is delivered at least once): the
round's stage moves only forward and the same stage again changes nothing, the chain is fixed once per routing
task, the issue of the same budget returns the version already issued.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from typing import Any

from smartfin.budgeting import (
    CompilationError,
    Stage,
    advance_round,
    consolidate,
    consolidation_html,
    consolidation_workbook,
    current_drafts,
    get_round,
    issue_budget,
)
from smartfin.budgeting.rounds import departments_without_control_numbers
from smartfin.camunda.client import EngineClient
from smartfin.camunda.runtime import BusinessError, Job, TopicRegistry
from smartfin.kernel.clock import HOSPITAL_TZ
from smartfin.kernel.money import format_yuan, from_fen
from smartfin.ledger.departments import department_problem_during
from smartfin.processes.approvals import (
    audit_verification,
    chain_problems,
    chain_started,
    chain_variables,
    current_chain,
    members_of,
    record_signed,
    refuse_if_broken,
    route_document,
    signed_tasks,
)
from smartfin.processes.compilation.records import (
    DOCUMENT_TYPE,
    contact_of,
    contacts,
    document_no,
    fiscal_year_of,
    minutes_for,
)
from smartfin.store.archive import archive_file
from smartfin.store.audit import record_audit
from smartfin.store.db import session_scope

log = logging.getLogger(__name__)
registry = TopicRegistry()
SYSTEM = "budget-compilation"
ROUTING_DECISION = "budget-compilation-routing"
APPROVAL_TASK, APPROVAL_ACTIVITY = "approveBudget", "approvalChain"
CONTROLS_TASK, CONTROLS_GROUP = "setControlNumbers", "budget-committee"
DRAFT_TASKS = {Stage.FIRST.value: "firstSubmitDraft", Stage.SECOND.value: "secondSubmitDraft"}
DRAFT_NOT_ACCEPTED, CONTROLS_MISSING, DRAFTS_NOT_READY = "DRAFT_NOT_ACCEPTED", "CONTROLS_MISSING", "DRAFTS_NOT_READY"


def _year(job: Job) -> int:
    """The fiscal year of this instance, from its business key (``BUDGET-YYYY``), never from a variable."""
    if not job.business_key:
        raise LookupError(f"budget-compilation instance {job.process_instance_id} has no business key")
    return fiscal_year_of(job.business_key)


def _engine(job: Job) -> EngineClient:
    if job.worker is None:
        raise RuntimeError("the engine's history cannot be read without a worker")
    return job.worker.engine


def _due(day: Any) -> datetime:
    """The end of a deadline day in the hospital's time zone (what the task's due date and timer use)."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=HOSPITAL_TZ)


def _summary(fiscal_year: int, round_name: str) -> tuple[str, int]:
    """A short text of a round's consolidation (per department, total) for the forms, and its total in fen."""
    with session_scope() as session:
        result = consolidate(session, fiscal_year, round_name)
    lines = [f"{d.department} {d.name}: ¥{format_yuan(from_fen(d.total))}" for d in result.departments]
    lines.append(f"合计 Total: ¥{format_yuan(from_fen(result.total))}")
    if result.missing:
        lines.append(f"未报送 No draft: {', '.join(result.missing)}")
    return "\n".join(lines), result.total


# ----------------------------------------------------------------------------------------------- 一上 / 二上

@registry.topic("open-compilation")
def open_compilation(job: Job) -> dict[str, Any]:
    """The departments that compile (those with a budget contact, in the master data for the year) and the
    round's deadlines; the round must have been opened by finance (``smartfin budget round open``)."""
    year = _year(job)
    with session_scope() as session:
        row = get_round(session, year)
        if Stage(row.stage) != Stage.FIRST:
            raise CompilationError(f"the compilation of {year} is at stage {row.stage}, not first: it was started "
                                   f"before")
        named = contacts(session)
        departments = [d for d in named
                       if not department_problem_during(session, d, date(year, 1, 1), date(year, 12, 31))]
        if not departments:
            raise CompilationError("没有预算编制联系人 / no department has a budget contact "
                                   "(smartfin budget compilation contact)")
        record_audit(session, actor=SYSTEM, action="budget.compilation_started", subject_type=DOCUMENT_TYPE,
                     subject_id=document_no(year), details={"departments": departments,
                                                            "process_instance": job.process_instance_id})
        return {"fiscalYear": year, "guidance": row.guidance, "departments": departments,
                "firstDue": _due(row.first_deadline), "secondDue": _due(row.second_deadline)}


@registry.topic("assign-draft-task")
def assign_draft_task(job: Job) -> dict[str, Any]:
    """Offer the department's draft task to its budget contact as finance recorded it now."""
    department = str(job.var("department"))
    with session_scope() as session:
        contact = contact_of(session, department)
    if contact is None:
        raise LookupError(f"department {department} has no budget contact (smartfin budget compilation contact)")
    return {"departmentHead": contact}


@registry.topic("escalate-overdue-draft")
def escalate_overdue_draft(job: Job) -> dict[str, Any]:
    """A department's draft task passed its deadline: recorded in the audit log for finance (催办)."""
    year, department = _year(job), str(job.var("department"))
    round_name = str(job.var("draftRound"))
    with session_scope() as session:
        contact = contact_of(session, department)
        drafts = [d for d in current_drafts(session, year, round_name) if d.department == department]
        record_audit(session, actor=SYSTEM, action="budget.draft_overdue", subject_type=DOCUMENT_TYPE,
                     subject_id=document_no(year), details={"department": department, "round": round_name,
                                                            "contact": contact, "draft_stored": bool(drafts)})
    log.warning("budget draft of %s (%s, %s) is overdue", department, year, round_name)
    return {}


def draft_task_completer(job: Job, task_key: str) -> str | None:
    """Who completed this department's draft task: the task in the same sub-process instance as this job,
    its authenticated completer from the engine's operation log."""
    engine = _engine(job)
    own = engine.get(f"/history/activity-instance/{job.task._context['activityInstanceId']}")
    parent = own.get("parentActivityInstanceId")
    rows = [row for row in engine.get("/history/activity-instance", processInstanceId=job.process_instance_id,
                                      activityId=task_key, finished="true", sortBy="endTime",
                                      sortOrder="desc") or []
            if row.get("parentActivityInstanceId") == parent and row.get("taskId")]
    if not rows:
        return None
    for op in engine.get("/history/user-operation", taskId=rows[0]["taskId"], operationType="Complete") or []:
        if op.get("userId"):
            return str(op["userId"])
    return None


@registry.topic("accept-draft")
def accept_draft(job: Job) -> dict[str, Any]:
    """Accept a department's completed draft task only when its draft of the round is stored and the task was
    completed by the department's budget contact; otherwise the task is offered again (DRAFT_NOT_ACCEPTED)."""
    year, department = _year(job), str(job.var("department"))
    round_name = Stage(str(job.var("draftRound"))).value
    completer = draft_task_completer(job, DRAFT_TASKS[round_name])
    with session_scope() as session:
        contact = contact_of(session, department)
        drafts = [d for d in current_drafts(session, year, round_name) if d.department == department]
        problems = []
        if completer is None or completer != contact:
            problems.append(f"任务由 {completer or '(无认证用户)'} 完成，{department} 的预算编制联系人是 {contact} / "
                            f"the task was completed by {completer or '(no authenticated user)'}, the budget "
                            f"contact of {department} is {contact}")
        if not drafts:
            problems.append(f"{department} 尚未上传{'一上' if round_name == 'first' else '二上'}预算草案 / no "
                            f"{round_name}-round draft of {department} is stored")
        record_audit(session, actor=completer or SYSTEM,
                     action="budget.draft_task_refused" if problems else "budget.draft_task_accepted",
                     subject_type=DOCUMENT_TYPE, subject_id=document_no(year), details={
                         "department": department, "round": round_name, "contact": contact,
                         "draft": drafts[0].id if drafts else None, "problems": problems})
    if problems:
        raise BusinessError(DRAFT_NOT_ACCEPTED, "; ".join(problems)[:600])
    return {}


# ------------------------------------------------------------------------------------------- 一下

@registry.topic("consolidate-proposals")
def consolidate_proposals(job: Job) -> dict[str, Any]:
    """一下: the round moves to consolidation; the proposals are consolidated into a workbook and an HTML page,
    both archived and named in the audit log, for the budget committee."""
    year = _year(job)
    with session_scope() as session:
        advance_round(session, year, Stage.CONSOLIDATION, actor=SYSTEM)
        result = consolidate(session, year, Stage.FIRST.value)
        workbook = archive_file(consolidation_workbook(result))
        page = archive_file(consolidation_html(result).encode("utf-8"))
        record_audit(session, actor=SYSTEM, action="budget.consolidated", subject_type=DOCUMENT_TYPE,
                     subject_id=document_no(year), details={"round": Stage.FIRST.value, "workbook": workbook,
                                                            "html": page, "total": from_fen(result.total),
                                                            "missing": result.missing})
    summary, _total = _summary(year, Stage.FIRST.value)
    return {"consolidationSummary": summary, "consolidationWorkbook": workbook, "consolidationHtml": page,
            "controlProblem": None}


@registry.topic("confirm-control-numbers")
def confirm_control_numbers(job: Job) -> dict[str, Any]:
    """The committee's task is done only when a member of the budget committee completed it and every
    department that proposed has control numbers on record; then the round opens 二上."""
    year = _year(job)
    engine = _engine(job)
    done = [t for t in signed_tasks(engine, job.process_instance_id, CONTROLS_TASK) if t.completed]
    user = done[-1].user if done else None
    problems = []
    if user is None or not members_of(engine)(user, CONTROLS_GROUP):
        problems.append(f"控制数任务由 {user or '(无认证用户)'} 完成，不是预算管理委员会成员 / the control-number "
                        f"task was completed by {user or '(no authenticated user)'}, not a member of {CONTROLS_GROUP}")
    with session_scope() as session:
        missing = departments_without_control_numbers(session, year)
        if missing:
            problems.append(f"以下科室尚无控制数：{', '.join(missing)} / no control numbers on record for "
                            f"{', '.join(missing)}")
        if problems:
            record_audit(session, actor=user or SYSTEM, action="budget.control_numbers_refused",
                         subject_type=DOCUMENT_TYPE, subject_id=document_no(year), details={"problems": problems})
        else:
            advance_round(session, year, Stage.SECOND, actor=user or SYSTEM)
    if problems:
        raise BusinessError(CONTROLS_MISSING, "; ".join(problems)[:600])
    return {"controlProblem": None}


# ------------------------------------------------------------------------------------------- approval

@registry.topic("route-compilation")
def route_compilation(job: Job) -> dict[str, Any]:
    """二上 done: the round goes to approval (every proposing department's draft within its control numbers as
    they stand, else back to 二上), and the approval chain is fixed from the routing table and stored."""
    year = _year(job)
    try:
        with session_scope() as session:
            advance_round(session, year, Stage.APPROVAL, actor=SYSTEM)
    except CompilationError as exc:
        raise BusinessError(DRAFTS_NOT_READY, str(exc)[:600]) from exc
    summary, total = _summary(year, Stage.SECOND.value)
    amount = from_fen(total)
    steps = route_document(job, decision_key=job.extension("routingDecision", ROUTING_DECISION) or ROUTING_DECISION,
                           document_type=DOCUMENT_TYPE, document_no=document_no(year), amount=amount,
                           within_plan=True, inputs={"amount": str(amount)})
    return {**chain_variables(steps), "budgetTotal": format_yuan(amount), "consolidationSummary": summary}


def approval_problems(job: Job, year: int) -> tuple[list[str], Any, list[Any]]:
    """Every reason the recorded decisions do not carry the budget: the stored chain against the engine's
    history (``chain_problems``), and each meeting's minutes number on record for its body and year."""
    engine = _engine(job)
    _summary_text, total = _summary(year, Stage.SECOND.value)
    with session_scope() as session:
        chain = current_chain(session, DOCUMENT_TYPE, document_no(year))
        session.expunge_all()
    since = chain_started(engine, job.process_instance_id, APPROVAL_ACTIVITY)
    approvals = signed_tasks(engine, job.process_instance_id, APPROVAL_TASK, since,
                             value_names=("decision", "comment", "minutesNo"))
    problems = chain_problems(chain, approvals, amount=from_fen(total), excluded=(), is_member=members_of(engine))
    completed = [task for task in approvals if task.completed]
    with session_scope() as session:
        for step, task in zip(chain, completed, strict=False):
            number = (task.values.get("minutesNo") or "").strip()
            if not number:
                problems.append(f"{step.candidate_group}: 未填会议纪要编号 / no minutes number")
            elif minutes_for(session, year, step.candidate_group, number) is None:
                problems.append(f"{step.candidate_group}: 会议纪要 {number} 未附 / minutes {number} are not attached "
                                f"for {year}")
    return problems, chain, approvals


@registry.topic("verify-compilation-approvals")
def verify_compilation_approvals(job: Job) -> dict[str, Any]:
    """The control step before the issue: budget committee → president's office meeting → Party committee,
    each signed by an authenticated member with its minutes on record; any gap → APPROVALS_INCOMPLETE."""
    year = _year(job)
    problems, chain, approvals = approval_problems(job, year)
    with session_scope() as session:
        if chain:
            record_signed(session, document_type=DOCUMENT_TYPE, document_no=document_no(year),
                          round_no=chain[0].round, chain=chain, approvals=approvals)
        audit_verification(session, document_type=DOCUMENT_TYPE, document_no=document_no(year), chain=chain,
                           approvals=approvals, problems=problems)
    refuse_if_broken(problems, "预算审批记录异常，未下达 / budget approvals broken, not issued")
    with session_scope() as session:
        advance_round(session, year, Stage.APPROVED, actor=SYSTEM)
    return {"approvalProblems": None}


@registry.topic("record-compilation-rejection")
def record_compilation_rejection(job: Job) -> dict[str, Any]:
    """A body rejected the budget: recorded with who rejected it (from the engine's history)."""
    year = _year(job)
    approvals = [t for t in signed_tasks(_engine(job), job.process_instance_id, APPROVAL_TASK) if t.completed]
    last = approvals[-1] if approvals else None
    with session_scope() as session:
        record_audit(session, actor=(last.user if last and last.user else SYSTEM), action="budget.rejected",
                     subject_type=DOCUMENT_TYPE, subject_id=document_no(year),
                     details={"group": last.group_label if last else None, "comment": last.comment if last else None})
    return {}


# ------------------------------------------------------------------------------------------------ 二下

@registry.topic("issue-compilation-budget")
def issue_compilation_budget(job: Job) -> dict[str, Any]:
    """二下: the approved budget into the ledger, one transaction; a repeat returns the version issued."""
    year = _year(job)
    with session_scope() as session:
        issue = issue_budget(session, year, actor=SYSTEM)
        result = {"issueDocumentNo": issue.document_no, "issueVersion": issue.version, "issuedLines": issue.lines,
                  "issuedTotal": format_yuan(from_fen(issue.total_fen))}
    return result
