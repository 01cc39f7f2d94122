"""The insurance appeal as the project records it: who may act for which department, the outcome of each
refused or deducted item, opening one ``insurance-appeal`` process per appeal batch, and the checks each
completed task must pass.

Batches (``AppealBatch``) and their items (``ClearingItem``) belong to the insurance settlement package; this
process adds two records. ``AppealOfficer`` says which engine user is a department's insurance officer (医保
专管员) from which day: the engine's ``insurance-officer`` group only offers the task, the department comes from
here. ``AppealItemOutcome`` is one item's outcome — appealed with an argument, or accepted — with the officer
and the task the engine recorded, and later the amount the fund paid back and who recorded it. Every value is
read by the worker from the engine's history of the completed tasks, never from process variables (which are
display copies): the items, their amounts and the department come from the tables.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, Text, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from rules.insurance.appeal_window import window_on
from smartfin.camunda.client import EngineClient
from smartfin.insurance.runs import batch_appeals
from smartfin.insurance.tables import AppealBatch, AppealStatus, ClearingItem, ClearingStatement
from smartfin.kernel.clock import HOSPITAL_TZ, hospital_today, utc_now
from smartfin.kernel.money import InvalidAmount, format_yuan, from_fen, parse_amount, to_fen
from smartfin.processes.approvals import SignedTask
from smartfin.store.audit import UtcDateTime, record_audit
from smartfin.store.db import session_scope

PROCESS_KEY = "insurance-appeal"
DOCUMENT_TYPE = "ins_appeal_batch"
OFFICER_GROUP = "insurance-officer"
FINANCE_GROUP = "finance-officer"
DECIDE_TASK = "decideAppeal"
RECOVERY_TASK = "recordRecovery"
DECIDE_FIELDS = ("itemOutcomes", "appealItems", "appealArguments")
RECOVERY_FIELDS = ("recoveries", "recoveredOn")
APPEAL, ACCEPT = "appeal", "accept"
APPEALED, ACCEPTED = "appealed", "accepted"
MIN_ARGUMENT = 10       # characters: an appeal the fund can weigh says more than a word


class AppealOfficer(SQLModel, table=True):
    """An engine user who is a department's insurance officer (医保专管员) from ``valid_from`` to ``valid_to``."""

    __tablename__ = "ins_appeal_officer"
    __table_args__ = (UniqueConstraint("department", "user_id", "valid_from", name="uq_ins_appeal_officer"),)

    id: int | None = Field(default=None, primary_key=True)
    department: str = Field(max_length=32, index=True)
    user_id: str = Field(max_length=64, index=True)
    valid_from: date
    valid_to: date | None = Field(default=None, description="last day in office; None while in office")
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))


class AppealItemOutcome(SQLModel, table=True):
    """What became of one refused or deducted item: the officer's outcome, then finance's recovery."""

    __tablename__ = "ins_appeal_item_outcome"

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(sa_column=Column(Integer, ForeignKey("ins_appeal_batch.id"), nullable=False, index=True))
    item_id: int = Field(sa_column=Column(Integer, ForeignKey("ins_clearing_item.id"), nullable=False,
                                          unique=True))
    outcome: str = Field(max_length=12, description="appealed or accepted")
    argument: str | None = Field(default=None, sa_column=Column(Text))
    decided_by: str = Field(max_length=64)
    decide_task_id: str = Field(max_length=64, index=True)
    decided_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    recovered_fen: int | None = Field(default=None, sa_column=Column(BigInteger))
    recovered_on: date | None = None
    recovered_by: str | None = Field(default=None, max_length=64)
    recovery_task_id: str | None = Field(default=None, max_length=64)


# ------------------------------------------------------------------------------------------ officers

def assign_officer(session: Session, department: str, user: str, *, valid_from: date, actor: str) -> AppealOfficer:
    """Record ``user`` as ``department``'s insurance officer from ``valid_from`` (audited)."""
    department, user = department.strip(), user.strip()
    if not department or not user:
        raise ValueError("department and user are both required")
    row = AppealOfficer(department=department, user_id=user, valid_from=valid_from, recorded_by=actor)
    session.add(row)
    record_audit(session, actor=actor, action="insurance-officer-assigned", subject_type="ins_appeal_officer",
                 subject_id=f"{department}/{user}", details={"validFrom": valid_from.isoformat()})
    session.flush()
    return row


def end_officer(session: Session, department: str, user: str, *, last_day: date, actor: str) -> int:
    """Close ``user``'s open terms as ``department``'s officer on ``last_day``; returns how many were closed."""
    rows = session.exec(select(AppealOfficer).where(AppealOfficer.department == department,
                                                    AppealOfficer.user_id == user,
                                                    col(AppealOfficer.valid_to).is_(None))).all()
    for row in rows:
        row.valid_to = last_day
        session.add(row)
    if rows:
        record_audit(session, actor=actor, action="insurance-officer-ended", subject_type="ins_appeal_officer",
                     subject_id=f"{department}/{user}", details={"lastDay": last_day.isoformat()})
    return len(rows)


def officers_of(session: Session, department: str, on: date) -> list[str]:
    """The users who act for ``department`` on ``on``, from the record."""
    rows = session.exec(select(AppealOfficer).where(AppealOfficer.department == department,
                                                    AppealOfficer.valid_from <= on)).all()
    return sorted({r.user_id for r in rows if r.valid_to is None or r.valid_to >= on})


# ------------------------------------------------------------------------------------------- batches

def batch_by_key(session: Session, key: str) -> AppealBatch:
    row = session.exec(select(AppealBatch).where(AppealBatch.business_key == key)).first()
    if row is None:
        raise LookupError(f"申诉批次 {key} 不存在 / appeal batch {key} does not exist")
    return row


def items_of(session: Session, batch: AppealBatch) -> list[ClearingItem]:
    return list(session.exec(select(ClearingItem).where(ClearingItem.appeal_batch_id == batch.id)
                             .order_by(col(ClearingItem.id))).all())


def outcomes_of(session: Session, batch: AppealBatch) -> list[AppealItemOutcome]:
    return list(session.exec(select(AppealItemOutcome).where(AppealItemOutcome.batch_id == batch.id)
                             .order_by(col(AppealItemOutcome.item_id))).all())


def item_no(index: int) -> str:
    """How the form names the n-th item of a batch (1-based), the key the officer's answers are matched by."""
    return f"{index:03d}"


def issued_on(session: Session, items: Sequence[ClearingItem]) -> date:
    """The latest issue date of the statements the items come from: the appeal window runs from it."""
    ids = sorted({i.statement_id for i in items})
    statements = session.exec(select(ClearingStatement).where(col(ClearingStatement.id).in_(ids))).all()
    return max(s.issued_on for s in statements)


def decision_rows(items: Sequence[ClearingItem]) -> list[dict[str, Any]]:
    """The officer's dynamic list, one row per item: the fund's facts (read only) and empty answers."""
    return [{"itemNo": item_no(n), "settlementId": i.settlement_id, "itemName": f"{i.item_code} {i.item_name}",
             "kind": "拒付 refused" if i.kind == "refused" else "扣款 deducted",
             "amount": format_yuan(from_fen(i.amount_fen)), "reason": f"{i.reason_code} {i.reason}",
             "outcome": "", "argument": ""} for n, i in enumerate(items, start=1)]


def item_choices(items: Sequence[ClearingItem]) -> list[dict[str, str]]:
    """The options of the officer's checklist in Tasklist: one per item, valued by its number."""
    return [{"label": f"{item_no(n)} {i.item_code} {i.item_name} ¥{format_yuan(from_fen(i.amount_fen))}",
             "value": item_no(n)} for n, i in enumerate(items, start=1)]


def item_list(items: Sequence[ClearingItem]) -> str:
    """The items as the officer reads them in Tasklist, one line each (the form shows no dynamic list)."""
    return "\n".join(f"{r['itemNo']}  {r['kind']}  ¥{r['amount']}  {r['itemName']}  结算号 {r['settlementId']}  "
                     f"原因 {r['reason']}" for r in decision_rows(items))


def recovery_rows(items: Sequence[ClearingItem], outcomes: Sequence[AppealItemOutcome]) -> list[dict[str, Any]]:
    """Finance's dynamic list: the appealed items with their amounts, the recovered amount to fill in."""
    appealed = {o.item_id for o in outcomes if o.outcome == APPEALED}
    return [{"itemNo": item_no(n), "itemName": f"{i.item_code} {i.item_name}",
             "amount": format_yuan(from_fen(i.amount_fen)), "recovered": ""}
            for n, i in enumerate(items, start=1) if i.id in appealed]


def escalate_at(due: date, escalate_on: date) -> str:
    """The escalation timer's date: 09:00 hospital time on ``escalate_on`` (never after the due date)."""
    day = min(escalate_on, due)
    return datetime.combine(day, time(9, 0), tzinfo=HOSPITAL_TZ).isoformat(timespec="seconds")


def appeal_variables(batch: AppealBatch, items: Sequence[ClearingItem], *, escalate: str) -> dict[str, Any]:
    """What the officer sees in Tasklist (display copies; the record is the tables)."""
    assert batch.due_on is not None
    return {"batchKey": batch.business_key, "month": batch.month, "department": batch.department,
            "itemCount": batch.item_count, "batchAmount": format_yuan(from_fen(batch.amount_fen)),
            "dueDate": batch.due_on.isoformat(), "escalateAt": escalate, "itemOutcomes": decision_rows(items),
            "itemChoices": item_choices(items), "itemList": item_list(items), "decideProblem": ""}


def open_appeals(month: str, *, engine: EngineClient | None = None, actor: str = "system") -> list[str]:
    """Batch the month's open refused and deducted items per department and open one ``insurance-appeal``
    process per batch not yet under way; returns the business keys opened by this call.

    Idempotent: items already batched are not batched again (``batch_appeals``), a batch with a process opens
    nothing, and a batch left without one by a crash adopts the instance the engine already has. The due date
    comes from the appeal window in force when the statement was issued; the process is started by
    ``engine``'s user, the service account.
    """
    client = engine or EngineClient.from_settings()
    with session_scope() as session:
        batch_appeals(session, month, actor=actor)
        keys = [b.business_key for b in session.exec(select(AppealBatch).where(
            AppealBatch.month == month, AppealBatch.status == AppealStatus.OPEN,
            col(AppealBatch.process_instance_id).is_(None)).order_by(col(AppealBatch.id))).all()]
    opened = []
    for key in keys:
        with session_scope() as session:
            batch = batch_by_key(session, key)
            items = items_of(session, batch)
            issued = issued_on(session, items)
            window = window_on(issued)
            batch.due_on = window.due_on(issued)
            session.add(batch)
            variables = appeal_variables(batch, items, escalate=escalate_at(batch.due_on, window.escalate_on(issued)))
        started = client.get("/history/process-instance", processDefinitionKey=PROCESS_KEY,
                             processInstanceBusinessKey=key)
        instance_id = started[0]["id"] if started else client.start_process(PROCESS_KEY, key, variables)["id"]
        with session_scope() as session:
            batch = batch_by_key(session, key)
            batch.process_instance_id = instance_id
            session.add(batch)
            record_audit(session, actor=actor, action="insurance-appeal-opened", subject_type=DOCUMENT_TYPE,
                         subject_id=key, details={"processInstance": instance_id, "items": batch.item_count,
                                                  "amountFen": batch.amount_fen,
                                                  "dueOn": batch.due_on.isoformat() if batch.due_on else None})
        opened.append(key)
    return opened


# -------------------------------------------------------------------------------------------- checks

@dataclass(frozen=True)
class ItemDecision:
    """One item's outcome as the officer's completion wrote it, matched to the stored item."""

    item_id: int
    outcome: str          # appealed or accepted
    argument: str | None


@dataclass(frozen=True)
class ItemRecovery:
    item_id: int
    recovered_fen: int


def _rows(raw: str | None, name: str) -> tuple[list[dict[str, Any]], list[str]]:
    if raw is None or not str(raw).strip():
        return [], [f"未提交 {name} / the completion carried no {name}"]
    try:
        rows = json.loads(raw)
    except ValueError:
        return [], [f"{name} 不是有效的列表 / {name} is not a readable list"]
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return [], [f"{name} 不是列表 / {name} is not a list of rows"]
    return rows, []


def checklist_rows(ticked: str, arguments: str | None, items: Sequence[ClearingItem]
                   ) -> tuple[list[dict[str, Any]], list[str]]:
    """The Tasklist form's answer as the per-item rows the checks read: the ticked items appealed with the
    argument on their line of ``arguments`` (``001 理由``), every other item of the batch accepted.

    Tasklist (7.24) keeps its Complete button disabled on a form with a dynamic list (it counts the list's
    per-row error slots as errors), so the form answers with a checklist and a text instead; the same checks
    then apply to every item.
    """
    numbers, problems = _rows_of(ticked, "appealItems")
    said: dict[str, str] = {}
    for line in (arguments or "").splitlines():
        number, _, text = line.strip().partition(" ")
        if not number:
            continue
        if number in said:
            problems.append(f"第 {number} 项的理由写了两行 / item {number} has two argument lines")
        said[number] = text.strip()
    ticked_numbers = [str(n).strip() for n in numbers]
    known = {item_no(n) for n in range(1, len(items) + 1)}
    problems += [f"第 {n} 项有理由但未勾选申诉 / item {n} has an argument but is not ticked for appeal"
                 for n in said if n not in ticked_numbers and n in known]
    problems += [f"理由行 {n!r} 不是本批次的项目序号 / argument line {n!r} does not start with an item number of "
                 "this batch" for n in said if n not in known]
    rows = [{"itemNo": n, "outcome": APPEAL, "argument": said.get(n, "")} for n in ticked_numbers]
    rows += [{"itemNo": item_no(n), "outcome": ACCEPT, "argument": ""} for n in range(1, len(items) + 1)
             if item_no(n) not in ticked_numbers]
    return rows, problems


def _rows_of(raw: str, name: str) -> tuple[list[Any], list[str]]:
    try:
        values = json.loads(raw)
    except ValueError:
        return [], [f"{name} 不是有效的列表 / {name} is not a readable list"]
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return [], [f"{name} 不是序号列表 / {name} is not a list of item numbers"]
    return values, []


def identity_problems(task: SignedTask | None, group: str, is_member: Callable[[str, str], bool]) -> list[str]:
    """The task was completed by an authenticated member of ``group`` on a task offered to ``group`` only."""
    if task is None or not task.completed:
        return ["任务没有完成记录 / the engine has no completed task"]
    problems = []
    if task.groups != {group}:
        problems.append(f"任务候选组为 {task.group_label or '(无)'} / the task was offered to "
                        f"{task.group_label or '(nobody)'}, not {group}")
    if not task.user:
        return [*problems, "无经认证的办理人 / no authenticated user completed the task"]
    if not is_member(task.user, group):
        problems.append(f"{task.user} 不属于 {group} / {task.user} is not a member of {group}")
    if task.assignee and task.assignee != task.user:
        problems.append(f"由 {task.user} 办理，但任务指派给 {task.assignee} / completed by {task.user} while "
                        f"assigned to {task.assignee}")
    return problems


def decision_problems(task: SignedTask | None, items: Sequence[ClearingItem], *, department: str,
                      officers: Sequence[str], is_member: Callable[[str, str], bool]
                      ) -> tuple[list[ItemDecision], list[str]]:
    """The officer's outcome per item and every reason it cannot stand (empty when it can).

    The completer is an ``insurance-officer`` recorded as the department's officer today; every item of the
    batch has exactly one answer, ``appeal`` with an argument of at least ``MIN_ARGUMENT`` characters or
    ``accept``; rows naming no item of the batch are refused. The answer is the ``itemOutcomes`` rows (REST)
    or, from the Tasklist form, the ticked ``appealItems`` with their ``appealArguments`` lines. Amounts and
    reasons the completion carried are
    ignored: the stored items are the record.
    """
    problems = identity_problems(task, OFFICER_GROUP, is_member)
    if task is None or not task.completed:
        return [], problems
    if task.user and task.user not in officers:
        problems.append(f"{task.user} 不是科室 {department} 的医保专管员 / {task.user} is not recorded as "
                        f"{department}'s insurance officer")
    ticked = task.values.get("appealItems")
    if ticked is not None and str(ticked).strip():
        rows, bad = checklist_rows(str(ticked), task.values.get("appealArguments"), items)
    else:
        rows, bad = _rows(task.values.get("itemOutcomes"), "itemOutcomes")
    problems += bad
    by_no = {item_no(n): i for n, i in enumerate(items, start=1)}
    seen: dict[str, ItemDecision] = {}
    for row in rows:
        number = str(row.get("itemNo") or "").strip()
        item = by_no.get(number)
        if item is None:
            problems.append(f"第 {number or '?'} 项不属于本批次 / item {number or '?'} is not in this batch")
            continue
        if number in seen:
            problems.append(f"第 {number} 项答复了两次 / item {number} was answered twice")
            continue
        outcome = str(row.get("outcome") or "").strip()
        argument = str(row.get("argument") or "").strip()
        if outcome == APPEAL:
            if len(argument) < MIN_ARGUMENT:
                problems.append(f"第 {number} 项申诉理由少于 {MIN_ARGUMENT} 个字 / item {number}: the appeal's "
                                f"argument has fewer than {MIN_ARGUMENT} characters")
            assert item.id is not None
            seen[number] = ItemDecision(item.id, APPEALED, argument)
        elif outcome == ACCEPT:
            assert item.id is not None
            seen[number] = ItemDecision(item.id, ACCEPTED, argument or None)
        else:
            problems.append(f"第 {number} 项结果为 {outcome!r} / item {number}: the outcome {outcome!r} is not "
                            f"{APPEAL} or {ACCEPT}")
    missing = [n for n in by_no if n not in seen and not any(str(r.get("itemNo") or "").strip() == n
                                                             for r in rows)]
    if missing:
        problems.append(f"未答复的项目 / items without an answer: {', '.join(missing)}")
    return [seen[n] for n in by_no if n in seen], problems


def recovery_problems(task: SignedTask | None, items: Sequence[ClearingItem],
                      outcomes: Sequence[AppealItemOutcome], *, is_member: Callable[[str, str], bool],
                      today: date) -> tuple[list[ItemRecovery], date | None, list[str]]:
    """The recovered amount per appealed item and every reason it cannot stand (empty when it can).

    A finance officer who did not decide the appeal records, for each appealed item, what the fund paid back:
    an exact yuan amount from 0 to the item's stored amount, and the day it was paid (not in the future).
    """
    problems = identity_problems(task, FINANCE_GROUP, is_member)
    if task is None or not task.completed:
        return [], None, problems
    deciders = {o.decided_by for o in outcomes}
    if task.user and task.user in deciders:
        problems.append(f"{task.user} 不能登记本人申诉的追回款 / {task.user} may not record the recovery of "
                        "their own appeal")
    raw_day = (task.values.get("recoveredOn") or "").strip()[:10]
    day: date | None = None
    try:
        day = date.fromisoformat(raw_day)
    except ValueError:
        problems.append(f"追回日期 {raw_day!r} 不是日期 / recoveredOn {raw_day!r} is not a date")
    if day is not None and day > today:
        problems.append(f"追回日期 {day.isoformat()} 晚于今天 / recoveredOn {day.isoformat()} is in the future")
    rows, bad = _rows(task.values.get("recoveries"), "recoveries")
    problems += bad
    appealed = {o.item_id for o in outcomes if o.outcome == APPEALED}
    by_no = {item_no(n): i for n, i in enumerate(items, start=1) if i.id in appealed}
    found: dict[str, ItemRecovery] = {}
    for row in rows:
        number = str(row.get("itemNo") or "").strip()
        item = by_no.get(number)
        if item is None:
            problems.append(f"第 {number or '?'} 项不是本批次申诉的项目 / item {number or '?'} is not an appealed "
                            "item of this batch")
            continue
        if number in found:
            problems.append(f"第 {number} 项登记了两次 / item {number} was recorded twice")
            continue
        try:
            amount = parse_amount(row.get("recovered"), field=f"item {number} recovered", allow_zero=True)
        except InvalidAmount as exc:
            problems.append(f"第 {number} 项追回金额无效 / {exc}")
            continue
        fen = to_fen(amount)
        if fen > item.amount_fen:
            problems.append(f"第 {number} 项追回 ¥{format_yuan(amount)} 超过该项金额 ¥"
                            f"{format_yuan(from_fen(item.amount_fen))} / item {number}: recovered more than "
                            "the item's amount")
            continue
        assert item.id is not None
        found[number] = ItemRecovery(item.id, fen)
    missing = [n for n in by_no if n not in found and not any(str(r.get("itemNo") or "").strip() == n
                                                              for r in rows)]
    if missing:
        problems.append(f"未登记追回金额的项目 / appealed items without a recovered amount: {', '.join(missing)}")
    return [found[n] for n in by_no if n in found], day, problems


def describe(session: Session, batch: AppealBatch) -> dict[str, Any]:
    """A batch, its items and their outcomes as plain values (``smartfin insurance appeals --json``)."""
    outcomes = {o.item_id: o for o in outcomes_of(session, batch)}
    items = []
    for n, item in enumerate(items_of(session, batch), start=1):
        o = outcomes.get(item.id or 0)
        items.append({"itemNo": item_no(n), "settlementId": item.settlement_id, "kind": item.kind,
                      "item": f"{item.item_code} {item.item_name}", "amount": str(from_fen(item.amount_fen)),
                      "reason": item.reason, "outcome": o.outcome if o else None,
                      "argument": o.argument if o else None, "decidedBy": o.decided_by if o else None,
                      "recovered": str(from_fen(o.recovered_fen)) if o and o.recovered_fen is not None else None,
                      "recoveredBy": o.recovered_by if o else None})
    return {"businessKey": batch.business_key, "month": batch.month, "department": batch.department,
            "status": batch.status, "itemCount": batch.item_count, "amount": str(from_fen(batch.amount_fen)),
            "dueOn": batch.due_on.isoformat() if batch.due_on else None,
            "recovered": str(from_fen(batch.recovered_fen)), "recoveryReference": batch.recovery_reference,
            "overdue": bool(batch.due_on and batch.status == AppealStatus.OPEN and batch.due_on < hospital_today()),
            "items": items}
