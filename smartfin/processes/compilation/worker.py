"""Worker adapters of the ``budget-compilation`` process (两上两下): each reads the project's records — the round,
the drafts, the control numbers, the contacts, the minutes — and the engine's history, calls
``smartfin.budgeting``, and writes display copies back.

Nothing here trusts a process variable for authority: the year comes from the business key, who may submit for a
department from the contacts table, who completed a task from the engine's operation log, what was approved from
the stored chain and the minutes on record. Every handler is idempotent (a task is delivered at least once): the
round's stage moves only forward and the same stage again changes nothing, the chain is fixed once per routing
task, the issue of the same budget returns the version already issued.

Send back for revision (退回修改): a deciding body's send-back is verified like a signature (the step's group, an
authenticated member, its minutes on record) plus a reason before the round goes back to 二上; the budget office
that opened the round, from the round's record, answers it — reopening named departments' drafts and resubmitting
(a new round of the chain, routed from the new totals; earlier rounds' decisions and minutes never count again) or
withdrawing it from approval (the process ends, the round stays at 二上; starting the process again resumes there).
The compilation reserves nothing in the ledger before the issue, so a withdrawal has nothing to release.
"""

from __future__ import annotations

import logging
from datetime import datetime, time
from typing import Any

from sqlmodel import col, select

from smartfin.budgeting import (
    CompilationError,
    Stage,
    accept_submission,
    advance_round,
    consolidate,
    consolidation_html,
    consolidation_workbook,
    current_draft,
    get_round,
    issue_budget,
    reopen_submission,
)
from smartfin.budgeting.rounds import departments_without_control_numbers, return_to_drafts
from smartfin.camunda.client import EngineClient
from smartfin.camunda.runtime import BusinessError, Job, TopicRegistry
from smartfin.kernel.clock import HOSPITAL_TZ
from smartfin.kernel.money import format_yuan, from_fen
from smartfin.processes.approvals import (
    RESUBMIT,
    SEND_BACK,
    WITHDRAW,
    SignedTask,
    audit_verification,
    audited_for_task,
    chain_problems,
    chain_started,
    chain_variables,
    current_chain,
    decision_history_text,
    engine_instant,
    latest_revision,
    members_of,
    record_answer,
    record_signed,
    refuse_if_broken,
    refuse_revision,
    round_signatures,
    route_document,
    send_back_problems,
    signed_tasks,
)
from smartfin.processes.compilation.records import (
    DOCUMENT_TYPE,
    CompilationRefused,
    budget_office,
    compiling_departments,
    contact_of,
    departments_to_reopen,
    document_no,
    fiscal_year_of,
    minutes_for,
)
from smartfin.store.archive import archive_file
from smartfin.store.audit import AuditEntry, record_audit
from smartfin.store.db import session_scope

log = logging.getLogger(__name__)
registry = TopicRegistry()
SYSTEM = "budget-compilation"
ROUTING_DECISION = "budget-compilation-routing"
APPROVAL_TASK, APPROVAL_ACTIVITY = "approveBudget", "approvalChain"
CONTROLS_TASK, CONTROLS_GROUP = "setControlNumbers", "budget-committee"
DRAFT_TASKS = {Stage.FIRST.value: "firstSubmitDraft", Stage.SECOND.value: "secondSubmitDraft"}
DRAFT_NOT_ACCEPTED, CONTROLS_MISSING, DRAFTS_NOT_READY = "DRAFT_NOT_ACCEPTED", "CONTROLS_MISSING", "DRAFTS_NOT_READY"
SEND_BACK_REFUSED = "SEND_BACK_REFUSED"
REVISION_TASK = "reviseBudget"
APPROVAL_VALUES = ("decision", "comment", "minutesNo")
REVISION_VALUES = ("revisionAction", "reopenDepartments", "comment")
#: the process's lifecycle in the audit log: a withdrawal from approval lets a new start resume at 二上
STARTED, WITHDRAWN = "budget.compilation_started", "budget.compilation_withdrawn"


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
        resume = Stage(row.stage) == Stage.SECOND and _resumable(session, year, job.process_instance_id)
        if Stage(row.stage) != Stage.FIRST and not resume:
            raise CompilationError(f"the compilation of {year} is at stage {row.stage}, not first: it was started "
                                   f"before")
        departments = compiling_departments(session, year)
        if not departments:
            raise CompilationError("没有预算编制联系人 / no department has a budget contact "
                                   "(smartfin budget compilation contact)")
        record_audit(session, actor=SYSTEM, action=STARTED, subject_type=DOCUMENT_TYPE,
                     subject_id=document_no(year), details={"departments": departments, "resumed": resume,
                                                            "process_instance": job.process_instance_id})
        return {"fiscalYear": year, "guidance": row.guidance, "departments": departments,
                "draftDepartments": departments, "resumeAt": Stage.SECOND.value if resume else Stage.FIRST.value,
                "sendBackReason": "",
                "firstDue": _due(row.first_deadline), "secondDue": _due(row.second_deadline)}


def _resumable(session: Any, year: int, process_instance_id: str) -> bool:
    """Whether a compilation at 二上 may be (re)started by this instance: the latest run was withdrawn from
    approval by the budget office, or this instance is the one that resumed it (a task delivered again)."""
    latest = session.exec(select(AuditEntry).where(
        AuditEntry.subject_type == DOCUMENT_TYPE, AuditEntry.subject_id == document_no(year),
        col(AuditEntry.action).in_((STARTED, WITHDRAWN))).order_by(col(AuditEntry.id).desc())).first()
    if latest is None:
        return False
    return latest.action == WITHDRAWN or latest.details_dict.get("process_instance") == process_instance_id


@registry.topic("assign-draft-task")
def assign_draft_task(job: Job) -> dict[str, Any]:
    """Offer the department's draft task to its budget contact as finance recorded it now. A draft the
    department submitted earlier in this round (a send-back reopened it, the round went back to 二上, a start
    resumed after a withdrawal) may be replaced again until the task is accepted anew."""
    year, department = _year(job), str(job.var("department"))
    round_name = Stage(str(job.var("draftRound"))).value
    with session_scope() as session:
        contact = contact_of(session, department)
        if contact is None:
            raise LookupError(f"department {department} has no budget contact (smartfin budget compilation contact)")
        reopen_submission(session, year, department, round_name, actor=SYSTEM,
                          reason=f"draft task offered again by process instance {job.process_instance_id}")
    return {"departmentHead": contact}


@registry.topic("escalate-overdue-draft")
def escalate_overdue_draft(job: Job) -> dict[str, Any]:
    """A department's draft task passed its deadline: recorded in the audit log for finance (催办)."""
    year, department = _year(job), str(job.var("department"))
    round_name = str(job.var("draftRound"))
    with session_scope() as session:
        contact = contact_of(session, department)
        stored = current_draft(session, year, department, round_name) is not None
        record_audit(session, actor=SYSTEM, action="budget.draft_overdue", subject_type=DOCUMENT_TYPE,
                     subject_id=document_no(year), details={"department": department, "round": round_name,
                                                            "contact": contact, "draft_stored": stored})
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
    completed by the department's budget contact; otherwise the task is offered again (DRAFT_NOT_ACCEPTED).
    The accepted draft becomes the department's submission: no upload replaces it until the task is offered
    again."""
    year, department = _year(job), str(job.var("department"))
    round_name = Stage(str(job.var("draftRound"))).value
    completer = draft_task_completer(job, DRAFT_TASKS[round_name])
    with session_scope() as session:
        contact = contact_of(session, department)
        draft = current_draft(session, year, department, round_name)
        problems = []
        if completer is None or completer != contact:
            problems.append(f"任务由 {completer or '(无认证用户)'} 完成，{department} 的预算编制联系人是 {contact} / "
                            f"the task was completed by {completer or '(no authenticated user)'}, the budget "
                            f"contact of {department} is {contact}")
        if draft is None:
            problems.append(f"{department} 尚未上传{'一上' if round_name == 'first' else '二上'}预算草案 / no "
                            f"{round_name}-round draft of {department} is stored")
        if not problems:  # marked under the round's lock: the draft current then, an upload meanwhile included
            draft = accept_submission(session, year, department, round_name, accepted_by=completer or SYSTEM)
        record_audit(session, actor=completer or SYSTEM,
                     action="budget.draft_task_refused" if problems else "budget.draft_task_accepted",
                     subject_type=DOCUMENT_TYPE, subject_id=document_no(year), details={
                         "department": department, "round": round_name, "contact": contact,
                         "draft": draft.id if draft else None, "problems": problems})
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
        # back to 二上 for every compiling department (not only those a send-back reopened), from the record
        with session_scope() as session:
            everyone = compiling_departments(session, year)
        raise BusinessError(DRAFTS_NOT_READY, str(exc)[:600], {"draftDepartments": everyone}) from exc
    summary, total = _summary(year, Stage.SECOND.value)
    amount = from_fen(total)
    steps = route_document(job, decision_key=job.extension("routingDecision", ROUTING_DECISION) or ROUTING_DECISION,
                           document_type=DOCUMENT_TYPE, document_no=document_no(year), amount=amount,
                           within_plan=True, inputs={"amount": str(amount)})
    # for reading only: what earlier rounds decided (a send-back's reason, the budget office's answer)
    history = decision_history_text(_engine(job), job.process_instance_id, (APPROVAL_TASK, REVISION_TASK),
                                    outcome_names=("revisionAction",))
    return {**chain_variables(steps), "budgetTotal": format_yuan(amount), "consolidationSummary": summary,
            "approvalHistoryText": history}


def round_tasks(job: Job) -> tuple[list[SignedTask], set[tuple[str, str]]]:
    """The completed decisions of the latest approval round (the chain's latest run), oldest first, and every
    ``(body, minutes number)`` cited by a decision of an earlier round — both from the engine's history."""
    engine = _engine(job)
    since = chain_started(engine, job.process_instance_id, APPROVAL_ACTIVITY)
    current: list[SignedTask] = []
    earlier: set[tuple[str, str]] = set()
    for task in signed_tasks(engine, job.process_instance_id, APPROVAL_TASK, value_names=APPROVAL_VALUES):
        if not task.completed:
            continue
        if since and engine_instant(task.started) < engine_instant(since):
            earlier |= {(group, (task.values.get("minutesNo") or "").strip()) for group in task.groups}
        else:
            current.append(task)
    return current, earlier


def minutes_problems(session: Any, year: int, group: str, task: SignedTask,
                     cited_before: set[tuple[str, str]]) -> list[str]:
    """Why the minutes a decision cites cannot carry it: none given, none attached for the body and year, or
    the minutes of an earlier round's meeting (a new round is decided by a new meeting)."""
    number = (task.values.get("minutesNo") or "").strip()
    if not number:
        return [f"{group}: 未填会议纪要编号 / no minutes number"]
    if minutes_for(session, year, group, number) is None:
        return [f"{group}: 会议纪要 {number} 未附 / minutes {number} are not attached for {year}"]
    if (group, number) in cited_before:
        return [f"{group}: 会议纪要 {number} 已用于上一轮审批 / minutes {number} were cited in an earlier round; "
                f"the new round needs its meeting's minutes"]
    return []


def approval_problems(job: Job, year: int) -> tuple[list[str], Any, list[Any]]:
    """Every reason the recorded decisions do not carry the budget: the stored chain (its latest round) against
    the latest round's signatures in the engine's history (``chain_problems``; a send-back the control refused
    is not a signature), and each meeting's minutes on record for its body and year, not an earlier round's."""
    engine = _engine(job)
    _summary_text, total = _summary(year, Stage.SECOND.value)
    with session_scope() as session:
        chain = current_chain(session, DOCUMENT_TYPE, document_no(year))
        session.expunge_all()
    current, earlier = round_tasks(job)
    approvals = round_signatures(current)
    problems = chain_problems(chain, approvals, amount=from_fen(total), excluded=(), is_member=members_of(engine))
    with session_scope() as session:
        for step, task in zip(chain, approvals, strict=False):
            problems += minutes_problems(session, year, step.candidate_group, task, earlier)
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


@registry.topic("send-back-compilation")
def send_back_compilation(job: Job) -> dict[str, Any]:
    """A deciding body sent the budget back for revision (退回修改): verified from the engine's history against
    the stored chain before anything moves — the latest round's next step, its group, an authenticated member,
    a reason, the meeting's minutes on record. Then the round's decisions are kept, the round returns to 二上
    and the revision task goes to the budget office of the round's record (audit ``sent-back``, which the
    notifier tells her). A send-back that does not hold is audited and refused (SEND_BACK_REFUSED): the same
    body is asked again, the task showing why, and the round stays in approval."""
    year = _year(job)
    engine = _engine(job)
    number = document_no(year)
    with session_scope() as session:
        chain = current_chain(session, DOCUMENT_TYPE, number)
        office = budget_office(session, year)
        session.expunge_all()
    current, earlier = round_tasks(job)
    task = current[-1] if current and current[-1].outcome == SEND_BACK else None
    signatures = round_signatures(current[:-1]) if task else []
    step = len(signatures) + 1
    group = chain[step - 1].candidate_group if chain and step <= len(chain) else ""
    if not group:
        problems = [f"退回不对应审批链的任何一级 / the send-back matches no step of the stored chain (step {step})"]
    else:
        problems = send_back_problems(task, group, set(), members_of(engine))
        if task is not None:
            with session_scope() as session:
                problems += minutes_problems(session, year, group, task, earlier)
    if problems:
        with session_scope() as session:
            record_audit(session, actor=task.user if task and task.user else SYSTEM, action="send-back-refused",
                         subject_type=DOCUMENT_TYPE, subject_id=number,
                         details={"task": task.task_id if task else None, "step": step, "problems": problems})
        raise BusinessError(SEND_BACK_REFUSED, f"退回未被接受 / send-back refused: {chr(10).join(problems)}"[:600])
    assert task is not None and task.user
    reason = (task.comment or "").strip()[:1000]
    with session_scope() as session:
        record_signed(session, document_type=DOCUMENT_TYPE, document_no=number, round_no=chain[0].round,
                      chain=chain, approvals=[*signatures, task])
        if not audited_for_task(session, DOCUMENT_TYPE, number, "sent-back", task.task_id):
            return_to_drafts(session, year, actor=task.user, reason=reason)
            record_audit(session, actor=task.user, action="sent-back", subject_type=DOCUMENT_TYPE, subject_id=number,
                         details={"reason": reason, "round": chain[0].round, "step": step, "group": group,
                                  "task": task.task_id, "minutes_no": task.values.get("minutesNo"),
                                  "budget_office": office})
    log.info("budget %s sent back by %s (%s) at step %s", number, task.user, group, step)
    history = decision_history_text(engine, job.process_instance_id, (APPROVAL_TASK, REVISION_TASK),
                                    outcome_names=("revisionAction",))
    # the budget office of the record owns the revision task, whatever a variable said before
    return {"sendBackReason": f"{group} {task.user}: {reason}", "sendBackProblem": "", "revisionProblem": "",
            "requester": office, "approvalHistoryText": history}


@registry.topic("resubmit-compilation")
def resubmit_compilation(job: Job) -> dict[str, Any]:
    """The budget office's answer to a send-back, read from the engine's history of the revision task (who
    completed it, the values that completion wrote), never from the process variables; only the budget office
    of the round's record may answer.

    Resubmit: the departments to reopen are checked like at the start (``departments_to_reopen``); their 二上
    tasks are offered again (the same draft task and checks), else the budget goes straight to routing, where a
    new round of the chain is fixed from the new totals. Withdraw: the process ends, the round stays at 二上 and
    a later start resumes there (audit ``budget.compilation_withdrawn``). An answer that does not hold goes back
    to the budget office with the reasons."""
    year = _year(job)
    number = document_no(year)
    with session_scope() as session:
        office = budget_office(session, year)
    task, problems = latest_revision(_engine(job), job.process_instance_id, REVISION_TASK, office, REVISION_VALUES)
    again = {"revisionOutcome": "revise", "requester": office, "draftsReopened": False}
    if not problems and task is not None and task.values.get("revisionAction") == RESUBMIT:
        try:
            with session_scope() as session:
                reopened = departments_to_reopen(session, year, task.values.get("reopenDepartments"))
        except CompilationRefused as exc:
            problems = [str(exc)]
    if problems:
        return {**again, "revisionProblem": refuse_revision(DOCUMENT_TYPE, number, task, problems)}
    assert task is not None and task.user
    action = WITHDRAW if task.values.get("revisionAction") == WITHDRAW else RESUBMIT
    with session_scope() as session:
        record_answer(session, DOCUMENT_TYPE, number, task, action)
        if not audited_for_task(session, DOCUMENT_TYPE, number, WITHDRAWN if action == WITHDRAW else "resubmitted",
                                task.task_id):
            if action == WITHDRAW:
                record_audit(session, actor=task.user, action=WITHDRAWN, subject_type=DOCUMENT_TYPE, subject_id=number,
                             details={"task": task.task_id, "comment": task.comment,
                                      "process_instance": job.process_instance_id})
            else:
                record_audit(session, actor=task.user, action="resubmitted", subject_type=DOCUMENT_TYPE,
                             subject_id=number, details={"task": task.task_id, "reopened": reopened,
                                                         "comment": task.comment})
    if action == WITHDRAW:
        return {"revisionOutcome": WITHDRAW, "revisionProblem": "", "draftsReopened": False}
    # the reason stays for the reopened departments' draft tasks to show
    return {"revisionOutcome": RESUBMIT, "revisionProblem": "", "draftsReopened": bool(reopened),
            "draftDepartments": reopened}


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
