"""Where events come from: the engine's task list, the project's audit log and the result tables.

Each source is read from its stored high-water mark (``NotificationMark``) and every event has a key made of
the source record's identity, so a round that stops half-way, a restart or a second notifier re-reads some
records and stores nothing twice. Recipients come from records only: a task's candidate groups and assignee
from the engine, a document's requester from the project's tables (through ``RequesterLookup``, which the
application supplies), alert recipients from the settings — never from process variables.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from smartfin.camunda.client import EngineClient, EngineError, EngineRequestError
from smartfin.costing.month import breaches
from smartfin.kernel.clock import utc_now
from smartfin.kernel.money import format_yuan, from_fen
from smartfin.kernel.settings import Settings
from smartfin.notify.events import EventKind, event_exists, raise_event
from smartfin.notify.tables import NotificationMark
from smartfin.reconciliation.models import ReconException
from smartfin.store.audit import AuditEntry

#: (session, document type, document number) → the engine user the document belongs to, from its table
RequesterLookup = Callable[[Session, str, str], str | None]
#: (session, process definition key, task definition key, business key) → the engine users who act for that task
#: of that document now (e.g. the department's insurance officers of an appeal batch), from the project's records;
#: empty = the task's candidates as the engine holds them
HolderLookup = Callable[[Session, str, str, str], list[str]]

ENGINE_TIME = "%Y-%m-%dT%H:%M:%S.%f%z"
#: tasks created this long before the mark are read again: the engine's clock and commit order are not ours
TASK_OVERLAP = timedelta(minutes=2)
AUDIT_BATCH = 500
ESCALATIONS = ("approval-escalated", "cost-review-escalated")
APPEAL_ESCALATED = "insurance-appeal-escalated"
APPEAL_PROCESS, APPEAL_TASK = "insurance-appeal", "decideAppeal"
OUTCOME_WORDS = {"approved": "已批准 / approved", "rejected": "未批准 / rejected", "withdrawn": "已撤回 / withdrawn",
                 "cancelled": "已取消 / cancelled", "paid": "已支付 / paid"}


def engine_time(instant: datetime) -> str:
    """An instant in the format the engine's REST API takes (milliseconds and a numeric offset)."""
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}" + instant.strftime("%z")


def parse_engine_time(text: str) -> datetime:
    return datetime.strptime(text, ENGINE_TIME)


def read_mark(session: Session, source: str) -> str | None:
    row = session.get(NotificationMark, source)
    return row.value if row else None


def write_mark(session: Session, source: str, value: str) -> None:
    row = session.get(NotificationMark, source)
    if row is None:
        session.add(NotificationMark(source=source, value=value))
    else:
        row.value, row.updated_at = value, utc_now()
        session.add(row)


def tasklist_link(settings: Settings, task_id: str | None = None) -> str:
    return settings.tasklist_url + (f"#/?task={task_id}" if task_id else "")


def task_recipients(engine: EngineClient, task_id: str, assignee: str | None) -> tuple[list[str], list[str]]:
    """The task's candidate groups and users as the engine holds them, plus its assignee."""
    links = engine.get(f"/task/{task_id}/identity-links") or []
    groups = [str(link["groupId"]) for link in links if link.get("type") == "candidate" and link.get("groupId")]
    users = [str(link["userId"]) for link in links if link.get("type") == "candidate" and link.get("userId")]
    if assignee:
        users.append(assignee)
    return groups, users


class BusinessKeys:
    """The document number of a process instance, from the engine (runtime, else history), asked once."""

    def __init__(self, engine: EngineClient) -> None:
        self.engine = engine
        self.known: dict[str, str] = {}

    def __call__(self, process_instance_id: str | None) -> str:
        if not process_instance_id:
            return "—"
        if process_instance_id not in self.known:
            try:
                found = self.engine.get(f"/history/process-instance/{process_instance_id}")
            except EngineError:
                found = {}
            self.known[process_instance_id] = str(found.get("businessKey") or process_instance_id)
        return self.known[process_instance_id]


def collect_tasks(engine: EngineClient, session: Session, settings: Settings,
                  holders_of: HolderLookup | None = None) -> int:
    """A ``task`` event for every task created since the mark; returns how many were new.

    A task decided between the listing and the question who it is for is skipped, not a failed round: under
    load that happens every few seconds, and failing the round would hold back every other notice.

    A task whose document names the people who act for it (``holders_of``, e.g. an appeal batch's department
    officers while the task is offered to every insurance officer) goes to them and its assignee only.
    """
    mark = read_mark(session, "engine-tasks")
    since = (parse_engine_time(mark) - TASK_OVERLAP if mark
             else utc_now() - timedelta(hours=settings.notify.lookback_hours))
    tasks: list[dict[str, Any]] = engine.post("/task", {
        "createdAfter": engine_time(since), "sorting": [{"sortBy": "created", "sortOrder": "asc"}]}) or []
    business_key = BusinessKeys(engine)
    new = 0
    newest = parse_engine_time(mark) if mark else None
    for task in tasks:
        created = parse_engine_time(task["created"])
        newest = created if newest is None or created > newest else newest
        try:
            groups, users = task_recipients(engine, task["id"], task.get("assignee"))
        except EngineRequestError as exc:
            if exc.status != 404 and "Cannot find task" not in exc.message:
                raise
            continue  # decided between the listing and this question: nobody needs to be told of it any more
        if groups or users:
            key = f"task:{task['id']}"
            if not event_exists(session, key):
                subject = business_key(task.get("processInstanceId"))
                holders = holders_of(session, str(task.get("processDefinitionId") or "").partition(":")[0],
                                     str(task.get("taskDefinitionKey") or ""), subject) if holders_of else []
                if holders:
                    groups, users = [], [*holders, *([task["assignee"]] if task.get("assignee") else [])]
                name = task.get("name") or "任务 task"
                raise_event(session, key=key, kind=EventKind.TASK, subject=subject,
                            title=f"待办：{name} {subject} / New task: {name} {subject}",
                            body=(f"单据 / Document: {subject}\n任务 / Task: {name}\n"
                                  f"请登录 Tasklist 处理。 / Please open it in Tasklist and decide."),
                            link=tasklist_link(settings, task["id"]), groups=groups, users=users)
                new += 1
    if newest is not None:
        write_mark(session, "engine-tasks", engine_time(newest))
    return new


def _escalation(engine: EngineClient, settings: Settings, entry: AuditEntry) -> dict[str, Any] | None:
    groups: set[str] = set()
    users: set[str] = set()
    task_ids = [str(t) for t in entry.details_dict.get("tasks", [])]
    for task_id in task_ids:
        try:
            task = engine.get(f"/task/{task_id}")
            found_groups, found_users = task_recipients(engine, task_id, task.get("assignee"))
        except EngineError:
            continue  # decided in the meantime: nobody needs a reminder
        groups.update(found_groups)
        users.update(found_users)
    if not groups and not users:
        return None
    return {"kind": EventKind.ESCALATION, "groups": groups, "users": users,
            "title": f"催办：{entry.subject_id} 审批已超时 / Escalated: {entry.subject_id} is waiting too long",
            "body": (f"单据 / Document: {entry.subject_id}\n此审批已超过期限，请尽快处理。 / This approval has "
                     f"been left idle past its deadline; please decide it now."),
            "link": tasklist_link(settings, task_ids[0] if task_ids else None)}


def _decision(entry: AuditEntry, requester_of: RequesterLookup, session: Session,
              settings: Settings) -> dict[str, Any] | None:
    action = entry.action
    sent_back = "sent-back" in action
    outcome = action.rpartition("closed-")[2] if "closed-" in action else "sent-back"
    requester = requester_of(session, entry.subject_type, entry.subject_id)
    if not requester:
        return None
    reason = entry.details_dict.get("reason")
    reason_text = f"\n原因 / Reason: {reason}" if reason else ""
    if sent_back:
        return {"kind": EventKind.SENT_BACK, "users": {requester}, "groups": set(),
                "title": f"退回修改：{entry.subject_id} / Sent back for revision: {entry.subject_id}",
                "body": (f"单据 / Document: {entry.subject_id}\n您的单据被退回修改，请在 Tasklist 中修改后重新提交。 / "
                         f"Your document was sent back: revise and resubmit it in Tasklist.{reason_text}"),
                "link": tasklist_link(settings)}
    words = OUTCOME_WORDS.get(outcome, outcome)
    return {"kind": EventKind.DECISION, "users": {requester}, "groups": set(),
            "title": f"审批结果：{entry.subject_id} {words.split(' / ')[0]} / Decision: {entry.subject_id} "
                     f"{words.split(' / ')[-1]}",
            "body": f"单据 / Document: {entry.subject_id}\n结果 / Outcome: {words}{reason_text}",
            "link": tasklist_link(settings)}


def _cost_alert(session: Session, settings: Settings, entry: AuditEntry) -> dict[str, Any] | None:
    month = str(entry.details_dict.get("month", ""))
    found = breaches(session, month) if month else []
    if not found:
        return None
    lines = "\n".join(f"- {b.centre_name} {b.indicator_name}: {b.value} (目标 / target {b.target})" for b in found)
    return {"kind": EventKind.COST, "groups": set(settings.notify.groups_alerted), "users": set(),
            "title": f"成本预警：{month} 有 {len(found)} 项指标超标 / Cost alert: {len(found)} breaches in {month}",
            "body": f"月份 / Month: {month}\n{lines}\n请查看成本报告并安排整改。 / See the cost report and follow up.",
            "link": None}


def _appeal_escalation(engine: EngineClient, settings: Settings, entry: AuditEntry,
                       officers: list[str]) -> dict[str, Any] | None:
    """An appeal batch whose window is closing, for the department's insurance officers of record (the task is
    offered to every insurance officer); without an officer on record, for the task's candidates."""
    if not officers:
        return _escalation(engine, settings, entry)
    details = entry.details_dict
    due = details.get("dueOn") or "—"
    tasks = [str(t) for t in details.get("tasks", [])]
    return {"kind": EventKind.ESCALATION, "groups": set(), "users": set(officers),
            "title": f"催办：医保申诉 {entry.subject_id} 即将超过申诉期限 / Escalated: insurance appeal "
                     f"{entry.subject_id} is due {due}",
            "body": (f"申诉批次 / Appeal batch: {entry.subject_id}\n截止日期 / Due: {due}\n拒付扣款项目尚未答复，"
                     f"请在申诉期限前处理。 / The refused and deducted items are not answered yet; decide them "
                     f"before the appeal window closes."),
            "link": tasklist_link(settings, tasks[0] if tasks else None)}


def collect_audit(engine: EngineClient, session: Session, settings: Settings, requester_of: RequesterLookup,
                  holders_of: HolderLookup | None = None) -> int:
    """Escalations, decisions, send-backs and published cost months from the audit log since its mark; an
    insurance appeal's escalation goes to the officers ``holders_of`` names for its decision task."""
    mark = int(read_mark(session, "audit-log") or 0)
    if mark == 0 and read_mark(session, "audit-log") is None:
        # first start: what was audited before the notifier existed is history, not news
        newest = session.exec(select(AuditEntry.id).order_by(col(AuditEntry.id).desc())).first()
        write_mark(session, "audit-log", str(newest or 0))
        return 0
    entries = session.exec(select(AuditEntry).where(col(AuditEntry.id) > mark)
                           .order_by(col(AuditEntry.id)).limit(AUDIT_BATCH)).all()
    new = 0
    for entry in entries:
        found: dict[str, Any] | None = None
        if entry.action in ESCALATIONS:
            found = _escalation(engine, settings, entry)
        elif "closed-" in entry.action or "sent-back" in entry.action:
            found = _decision(entry, requester_of, session, settings)
        elif entry.action == "cost.month.published":
            found = _cost_alert(session, settings, entry)
        elif entry.action == APPEAL_ESCALATED and holders_of is not None:
            found = _appeal_escalation(engine, settings, entry,
                                       holders_of(session, APPEAL_PROCESS, APPEAL_TASK, entry.subject_id))
        if found is not None and (found["groups"] or found["users"]):
            raise_event(session, key=f"audit:{entry.id}", kind=found["kind"], subject=entry.subject_id,
                        title=found["title"], body=found["body"], link=found["link"], groups=found["groups"],
                        users=found["users"])
            new += 1
        mark = int(entry.id or mark)
    write_mark(session, "audit-log", str(mark))
    return new


def collect_reconciliation(session: Session, settings: Settings) -> int:
    """One alert per reconciliation run with new pending exceptions since the mark."""
    mark_text = read_mark(session, "recon-exceptions")
    if mark_text is None:
        newest = session.exec(select(ReconException.id).order_by(col(ReconException.id).desc())).first()
        write_mark(session, "recon-exceptions", str(newest or 0))
        return 0
    rows = session.exec(select(ReconException).where(col(ReconException.id) > int(mark_text))
                        .order_by(col(ReconException.id))).all()
    by_run: dict[int, list[ReconException]] = {}
    for row in rows:
        if row.status == "pending":
            by_run.setdefault(row.run_id, []).append(row)
    for run_id, found in by_run.items():
        lines = "\n".join(f"- {e.type} {format_yuan(from_fen(e.amount_fen))} 元 {e.detail}".rstrip()
                          for e in found[:20])
        more = f"\n… 另有 {len(found) - 20} 项 / {len(found) - 20} more" if len(found) > 20 else ""
        raise_event(session, key=f"recon:{run_id}:{found[-1].id}", kind=EventKind.RECONCILIATION,
                    subject=f"recon-run {run_id}",
                    title=f"对账异常：{len(found)} 项待处理 / Reconciliation: {len(found)} exceptions waiting",
                    body=f"对账批次 / Run: {run_id}\n{lines}{more}\n请在对账复核中处理。 / Resolve them in the "
                         f"reconciliation review.", groups=settings.notify.groups_alerted)
    if rows:
        write_mark(session, "recon-exceptions", str(rows[-1].id))
    return len(by_run)
