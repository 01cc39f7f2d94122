"""The cost review as the project records it: one review per (month, centre, indicator), its rounds, opening
reviews for a month's breaches exactly once, the checks each round must pass, and the follow-up.

A review (``CostReview``) is opened for a ``Breach`` by the service account as a ``cost-review`` process whose
business key is ``cost-review/<month>/<centre>/<indicator>``. The row is written (``opening``) before the
process is started: a second call for the same breach opens nothing, and a call after a crash between the two
adopts the instance the engine already has. Each answer of the department head is a round
(``CostReviewRound``): who explained, when, the explanation, the measure and its due date, then who judged it,
the decision and the reason — every value read by the worker from the engine's history of the completed tasks,
never from process variables. An accepted round closes the review with its measure.

"Next month shows whether the measure worked": ``review_follow_up`` compares, for each accepted review whose
measure was due before the given month, the indicator of that month with the value at review; a measure that
did not improve it yields a breach for the month, so the month's review re-opens with the history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from smartfin.camunda.client import EngineClient
from smartfin.costing.model import Breach, Direction, MonthResult
from smartfin.kernel.clock import month_days, shift_month, utc_now
from smartfin.kernel.money import format_yuan, from_fen
from smartfin.kernel.settings import get_settings
from smartfin.processes.approvals import SignedTask, department_group, signed_as_member
from smartfin.store.audit import UtcDateTime, record_audit
from smartfin.store.db import session_scope

PROCESS_KEY = "cost-review"
DOCUMENT_TYPE = "cost-review"
HEAD_GROUP = "dept-head"
OFFICER_GROUP = "finance-officer"
EXPLAIN_TASK = "explainCost"
JUDGE_TASK = "judgeExplanation"
EXPLANATION_FIELDS = ("explanation", "measure", "dueDate")
ACCEPT = "accept"
SEND_BACK = "send-back"
MIN_EXPLANATION = 10          # characters: "说明原因" needs more than a word
MAX_MEASURE_HORIZON = timedelta(days=366)   # a measure whose effect no next year's month can show is no measure

INDICATOR_LABELS = {Direction.MAX: "不高于 at most", Direction.MIN: "不低于 at least"}


class CostReview(SQLModel, table=True):
    """One department's review of one indicator in one month (成本分析整改), from opening to accepted."""

    __tablename__ = "cost_review"
    __table_args__ = (UniqueConstraint("month", "centre", "indicator", name="uq_cost_review"),)

    id: int | None = Field(default=None, primary_key=True)
    business_key: str = Field(max_length=200, unique=True)
    month: str = Field(max_length=7, index=True)
    centre: str = Field(max_length=32, index=True)
    centre_name: str = Field(max_length=100)
    indicator: str = Field(max_length=64)
    indicator_name: str = Field(max_length=100)
    value: str = Field(max_length=40, description="the indicator at review, exact decimal text")
    target: str = Field(max_length=40)
    direction: str = Field(max_length=3)
    last_year: str | None = Field(default=None, max_length=40)
    status: str = Field(default="opening", max_length=12, index=True,
                        description="opening, open, explained, accepted")
    process_instance_id: str | None = Field(default=None, max_length=64)
    previous_review_id: int | None = Field(default=None, description="the review this one re-opens")
    opened_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    accepted_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    accepted_by: str | None = Field(default=None, max_length=64)
    measure: str | None = Field(default=None, max_length=2000)
    due_on: date | None = None
    follow_up_month: str | None = Field(default=None, max_length=7)
    follow_up_value: str | None = Field(default=None, max_length=40)
    follow_up_outcome: str | None = Field(default=None, max_length=14, description="improved, not improved")

    @property
    def breach_value(self) -> Decimal:
        return Decimal(self.value)


class CostReviewRound(SQLModel, table=True):
    """One answer of the department head and the finance officer's judgement of it, as the engine recorded."""

    __tablename__ = "cost_review_round"
    __table_args__ = (UniqueConstraint("review_id", "round", name="uq_cost_review_round"),)

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="cost_review.id", index=True)
    round: int
    explain_task_id: str = Field(max_length=64, unique=True)
    explained_by: str = Field(max_length=64)
    explained_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    explanation: str = Field(max_length=4000)
    measure: str = Field(max_length=2000)
    due_on: date
    judge_task_id: str | None = Field(default=None, max_length=64, unique=True)
    judged_by: str | None = Field(default=None, max_length=64)
    judged_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    decision: str | None = Field(default=None, max_length=12, description="accepted or sent back")
    reason: str | None = Field(default=None, max_length=2000)


# ------------------------------------------------------------------------------------------- keys

def review_key(month: str, centre: str, indicator: str) -> str:
    """The business key of a review: ``cost-review/2026-10/CARD/materials_per_100_revenue``."""
    return f"{PROCESS_KEY}/{month}/{centre}/{indicator}"


def check_month(month: str) -> str:
    """``month`` itself when written ``YYYY-MM``; ``ValueError`` naming it otherwise."""
    month_days(month)
    return month


def next_month(month: str) -> str:
    """The month after ``month``: when an accepted measure's effect is looked at."""
    return shift_month(month, 1)


def month_of(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def review_by_key(session: Session, key: str) -> CostReview:
    row = session.exec(select(CostReview).where(CostReview.business_key == key)).first()
    if row is None:
        raise LookupError(f"成本分析整改 {key} 不存在 / cost review {key} does not exist")
    return row


def rounds_of(session: Session, review: CostReview) -> list[CostReviewRound]:
    return list(session.exec(select(CostReviewRound).where(CostReviewRound.review_id == review.id)
                             .order_by(col(CostReviewRound.round))).all())


def list_reviews(session: Session, month: str | None = None) -> list[CostReview]:
    """The reviews of a month (all when None), by month, centre and indicator."""
    query = select(CostReview)
    if month is not None:
        query = query.where(CostReview.month == check_month(month))
    return list(session.exec(query.order_by(col(CostReview.month), col(CostReview.centre),
                                            col(CostReview.indicator))).all())


# ---------------------------------------------------------------------------------------- opening

def cost_structure(result: MonthResult | None, centre: str) -> str:
    """The centre's cost by item, direct and allocated, as the department head reads it in Tasklist."""
    if result is None:
        return "（本月成本结果未提供 / the month's cost result was not given）"
    rows = result.centre_costs[result.centre_costs["centre"] == centre]
    if rows.empty:
        return f"（{centre} 本月无成本记录 / no cost recorded for {centre} this month）"
    total = int(rows["total_fen"].sum())
    lines = [f"合计 Total ¥{format_yuan(from_fen(total))}"]
    for row in rows.sort_values("total_fen", ascending=False).itertuples():
        share = (Decimal(int(row.total_fen)) * 100 / total).quantize(Decimal("0.1")) if total else Decimal(0)
        lines.append(f"{row.cost_item}: ¥{format_yuan(from_fen(int(row.total_fen)))} ({share}%) — 直接 direct "
                     f"¥{format_yuan(from_fen(int(row.direct_fen)))}, 分摊 allocated "
                     f"¥{format_yuan(from_fen(int(row.allocated_fen)))}")
    return "\n".join(lines)


def review_history(session: Session, centre: str, indicator: str, before: str) -> tuple[int | None, str]:
    """Earlier reviews of the same centre and indicator (latest first): the one this review re-opens, and
    what the head sees of them (the measure, its date, whether it worked)."""
    earlier = list(session.exec(select(CostReview).where(
        CostReview.centre == centre, CostReview.indicator == indicator, CostReview.month < before)
        .order_by(col(CostReview.month).desc())).all())
    if not earlier:
        return None, ""
    lines = [f"{row.month}: {row.value}（目标 target {row.target}）→ 措施 measure: "
             f"{row.measure or '（未完成 not closed）'}"
             + (f"，期限 due {row.due_on.isoformat()}" if row.due_on else "")
             + (f"；{row.follow_up_month} 为 {row.follow_up_value}：{row.follow_up_outcome}"
                if row.follow_up_outcome else "") for row in earlier[:6]]
    return earlier[0].id, "\n".join(lines)


def review_variables(review: CostReview, *, structure: str, history: str) -> dict[str, Any]:
    """What the department head sees in Tasklist (display copies; the record is the table)."""
    direction = Direction(review.direction)
    return {
        "reviewKey": review.business_key, "month": review.month, "centre": review.centre,
        "centreName": review.centre_name, "indicator": review.indicator, "indicatorName": review.indicator_name,
        "indicatorValue": review.value, "indicatorTarget": f"{INDICATOR_LABELS[direction]} {review.target}",
        "lastYearValue": review.last_year if review.last_year is not None else "（无 none stored）",
        "costStructure": structure, "reviewHistory": history or "（无 none）", "sendBackReason": "",
        "escalationAfter": get_settings().cost_review_escalation_after,
    }


def _plan(session: Session, breach: Breach) -> CostReview | None:
    """The row of the breach's review, written as ``opening`` if new; None when it is already under way."""
    key = review_key(breach.month, breach.centre, breach.indicator)
    row = session.exec(select(CostReview).where(CostReview.business_key == key)).first()
    if row is not None:
        return row if row.status == "opening" else None
    previous, _ = review_history(session, breach.centre, breach.indicator, breach.month)
    row = CostReview(business_key=key, month=breach.month, centre=breach.centre, centre_name=breach.centre_name,
                     indicator=breach.indicator, indicator_name=breach.indicator_name, value=str(breach.value),
                     target=str(breach.target), direction=Direction(breach.direction).value,
                     last_year=None if breach.last_year is None else str(breach.last_year),
                     previous_review_id=previous)
    session.add(row)
    session.flush()
    return row


def open_cost_reviews(month: str, breaches: list[Breach], *, engine: EngineClient | None = None,
                      result: MonthResult | None = None) -> list[str]:
    """Open one ``cost-review`` process per breach of ``month``; returns the business keys opened by this call.

    Idempotent per (month, centre, indicator): a breach whose review is open or closed opens nothing; a
    review left ``opening`` by a crash adopts the instance the engine started, else starts it. The process
    is started by ``engine``'s user — the service account — so no department head is its starter.
    ``result`` (the month's stored cost result) gives the head the centre's cost structure.
    """
    check_month(month)
    wrong = [b for b in breaches if b.month != month]
    if wrong:
        raise ValueError(f"breaches of other months given for {month}: "
                         + ", ".join(f"{b.month}/{b.centre}/{b.indicator}" for b in wrong))
    client = engine or EngineClient.from_settings()
    opened: list[str] = []
    for breach in breaches:
        with session_scope() as session:
            row = _plan(session, breach)
            if row is None:
                continue
            _, history = review_history(session, breach.centre, breach.indicator, month)
            key = row.business_key
            variables = {**review_variables(row, structure=cost_structure(result, breach.centre), history=history),
                         # the explanation task's candidate group: the recorded centre's heads (dept-head.<code>)
                         "headGroup": department_group(session, HEAD_GROUP, row.centre)}
        started = client.get("/history/process-instance", processDefinitionKey=PROCESS_KEY,
                             processInstanceBusinessKey=key)
        instance_id = started[0]["id"] if started else client.start_process(PROCESS_KEY, key, variables)["id"]
        with session_scope() as session:
            row = review_by_key(session, key)
            row.status, row.process_instance_id = "open", instance_id
            session.add(row)
            record_audit(session, actor="system", action="cost-review-opened", subject_type=DOCUMENT_TYPE,
                         subject_id=key, details={"value": row.value, "target": row.target,
                                                  "processInstance": instance_id})
        opened.append(key)
    return opened


# ------------------------------------------------------------------------------------ the checks

def parse_due_date(text: str | None) -> date | None:
    """The due date as Tasklist's date field sends it (``2026-12-31``, or an ISO date-time); None if not."""
    if not text or not str(text).strip():
        return None
    try:
        return date.fromisoformat(str(text).strip()[:10])
    except ValueError:
        return None


def _identity_problems(task: SignedTask, group: str, is_member: Callable[[str, str], bool]) -> list[str]:
    problems = []
    if task.groups != {group}:
        problems.append(f"任务候选组为 {task.group_label or '(无)'} / the task was offered to "
                        f"{task.group_label or '(nobody)'}, not {group}")
    if not task.user:
        problems.append("无经认证的办理人 / no authenticated user completed the task")
        return problems
    if not signed_as_member(task.user, group, task.ended, is_member):
        problems.append(f"{task.user} 不属于 {group} / {task.user} is not a member of {group}")
    if task.assignee and task.assignee != task.user:
        problems.append(f"由 {task.user} 办理，但任务指派给 {task.assignee} / completed by {task.user} while "
                        f"assigned to {task.assignee}")
    return problems


def explanation_problems(task: SignedTask | None, *, is_member: Callable[[str, str], bool],
                         today: date, group: str = HEAD_GROUP) -> list[str]:
    """Every reason a completed head task cannot stand as the department's answer; empty when it can.

    The head must be an authenticated member of ``group`` — ``dept-head``, or the reviewed department's own
    ``dept-head.<code>`` once department roles are recorded (the caller names it from the record, and a
    scoped group's member is the head recorded on the day she answered) — on a task offered to that group
    only; the
    explanation says something, the measure is named, and its due date lies after ``today`` (the hospital's)
    and within a year — checked here, whatever the form allowed.
    """
    if task is None or not task.completed:
        return ["说明任务没有完成记录 / the engine has no completed explanation task"]
    problems = _identity_problems(task, group, is_member)
    explanation = (task.values.get("explanation") or "").strip()
    measure = (task.values.get("measure") or "").strip()
    if len(explanation) < MIN_EXPLANATION:
        problems.append(f"原因说明少于 {MIN_EXPLANATION} 个字 / the explanation has fewer than {MIN_EXPLANATION} "
                        "characters")
    if not measure:
        problems.append("未填写整改措施 / no measure was named")
    raw = task.values.get("dueDate")
    due = parse_due_date(raw)
    if due is None:
        problems.append(f"完成期限 {raw!r} 不是日期 / the due date {raw!r} is not a date")
    elif due <= today:
        problems.append(f"完成期限 {due.isoformat()} 不在今天（{today.isoformat()}）之后 / the due date "
                        f"{due.isoformat()} is not after today ({today.isoformat()})")
    elif due - today > MAX_MEASURE_HORIZON:
        problems.append(f"完成期限 {due.isoformat()} 超过一年 / the due date {due.isoformat()} is more than a year "
                        "away")
    return problems


def judgement_problems(task: SignedTask | None, *, is_member: Callable[[str, str], bool],
                       explained_by: str | None) -> list[str]:
    """Every reason a completed finance task cannot stand as the judgement of the round; empty when it can.

    An authenticated finance officer, on a task offered to ``finance-officer`` only, who is not the person
    who wrote the explanation (four eyes), decides ``accept`` or ``send-back``; sending back needs a reason.
    """
    if task is None or not task.completed:
        return ["审核任务没有完成记录 / the engine has no completed review of the explanation"]
    problems = _identity_problems(task, OFFICER_GROUP, is_member)
    if task.user and explained_by and task.user == explained_by:
        problems.append(f"{task.user} 不能审核本人的说明 / {task.user} may not judge their own explanation")
    if task.outcome not in (ACCEPT, SEND_BACK):
        problems.append(f"审核结果为 {task.outcome!r} / the decision was {task.outcome!r}, not {ACCEPT} or "
                        f"{SEND_BACK}")
    elif task.outcome == SEND_BACK and not (task.comment or "").strip():
        problems.append("退回未说明理由 / sent back without a reason")
    return problems


# ------------------------------------------------------------------------------------ follow-up

@dataclass(frozen=True)
class FollowUp:
    """Whether an accepted review's measure moved the indicator, in the month after its due date."""

    business_key: str
    centre: str
    indicator: str
    measure: str
    due_on: date
    value_at_review: Decimal
    value_now: Decimal | None
    outcome: str              # improved, not improved, no value
    breach: Breach | None     # for a measure that did not improve it: the month's breach, to re-open the review


IMPROVED, NOT_IMPROVED, NO_VALUE = "improved", "not improved", "no value"


def _decimal(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def follow_up_outcome(direction: Direction, at_review: Decimal, now: Decimal | None) -> str:
    """Improved when the indicator moved the right way from its value at review (down for ``max``)."""
    if now is None:
        return NO_VALUE
    better = now < at_review if direction is Direction.MAX else now > at_review
    return IMPROVED if better else NOT_IMPROVED


def review_follow_up(session: Session, month: str, values: pd.DataFrame) -> list[FollowUp]:
    """For each accepted review whose measure fell due before ``month`` (the month after the due date, or
    later for a review not followed up yet): the indicator of ``month`` (``values``: INDICATOR_COLUMNS of the
    month) against its value at review, recorded on the review once. A measure that did not improve the
    indicator gives a ``Breach`` of ``month`` — opening it (``open_cost_reviews``) re-opens the review with
    this history. Reviews followed up before are answered from their record.
    """
    check_month(month)
    found = {(str(row.centre), str(row.indicator)): _decimal(row.value) for row in values.itertuples()}
    answers = []
    due = session.exec(select(CostReview).where(CostReview.status == "accepted",
                                                col(CostReview.due_on).is_not(None))).all()
    for review in due:
        assert review.due_on is not None
        if next_month(month_of(review.due_on)) > month:
            continue
        if review.follow_up_month not in (None, month):
            continue
        direction = Direction(review.direction)
        now = found.get((review.centre, review.indicator))
        outcome = follow_up_outcome(direction, review.breach_value, now)
        if review.follow_up_month is None and outcome != NO_VALUE:
            review.follow_up_month, review.follow_up_value, review.follow_up_outcome = month, str(now), outcome
            session.add(review)
            record_audit(session, actor="system", action="cost-review-followed-up", subject_type=DOCUMENT_TYPE,
                         subject_id=review.business_key, details={"month": month, "atReview": review.value,
                                                                  "now": str(now), "outcome": outcome})
        breach = None
        if outcome == NOT_IMPROVED and now is not None:
            breach = Breach(month=month, centre=review.centre, centre_name=review.centre_name,
                            indicator=review.indicator, indicator_name=review.indicator_name, value=now,
                            target=Decimal(review.target), direction=direction)
        answers.append(FollowUp(business_key=review.business_key, centre=review.centre,
                                indicator=review.indicator, measure=review.measure or "", due_on=review.due_on,
                                value_at_review=review.breach_value, value_now=now, outcome=outcome,
                                breach=breach))
    session.flush()
    return sorted(answers, key=lambda f: f.business_key)


def describe(review: CostReview, rounds: Sequence[CostReviewRound]) -> dict[str, Any]:
    """A review and its rounds as plain values (``smartfin cost reviews --json``)."""
    return {
        "businessKey": review.business_key, "month": review.month, "centre": review.centre,
        "centreName": review.centre_name, "indicator": review.indicator, "value": review.value,
        "target": review.target, "direction": review.direction, "lastYear": review.last_year,
        "status": review.status, "measure": review.measure,
        "dueOn": review.due_on.isoformat() if review.due_on else None, "acceptedBy": review.accepted_by,
        "followUp": ({"month": review.follow_up_month, "value": review.follow_up_value,
                      "outcome": review.follow_up_outcome} if review.follow_up_outcome else None),
        "rounds": [{"round": r.round, "explainedBy": r.explained_by, "explainedAt": r.explained_at.isoformat(),
                    "explanation": r.explanation, "measure": r.measure, "dueOn": r.due_on.isoformat(),
                    "judgedBy": r.judged_by, "judgedAt": r.judged_at.isoformat() if r.judged_at else None,
                    "decision": r.decision, "reason": r.reason} for r in rounds],
    }

