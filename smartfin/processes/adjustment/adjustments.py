"""Budget adjustments (预算调整) as the project keeps them: submission, the rules, the tier, and posting.

An adjustment is one decision with one or more movements: an increase of a line, a decrease, or a transfer
(调剂) from line X to line Y, each with its amount and reason, all effective on one date. It arrives from the
Tasklist start form or the command line as text, one movement per line::

    transfer; 2026/CARD/30218/fiscal; 2026/CARD/30201/fiscal; 5000.00; 耗材节余调剂至办公费
    increase; ; 2026/CARD/30218/fiscal; 20000.00; 新增介入手术
    decrease; 2026/CARD/30201/fiscal; ; 3000.00; 会议压减

and is recorded here (``BudgetAdjustment`` and its ``AdjustmentMovement`` rows): the record, never the
process variables, is what is routed, verified and posted.

The rules (``adjustment_problems``), checked at submission and again when the money moves: the department
exists; every line exists, is open and in force on the effective date; earmarked funds (专项) never move to
basic expenditure; no line goes below what is already committed; no department's yearly count of subject
adjustments (``rules/budget/adjustment_standards.csv``) is exceeded — each changed line counts, or each decision
once per department it changes, as the dated standard's ``count_by`` says. The tier (``tier_of``): within one
department and below the finance head's limit → ``finance-head``; across departments or at/above the limit →
the president's office meeting (group ``president``, minutes number recorded).

``post_adjustment`` posts every movement with ``journal.adjust`` under the adjustment's number, both sides of
a transfer in the caller's one transaction; posting again answers with what was posted.

An adjustment sent back for revision (退回修改) stays ``submitted`` (it still counts in flight) until its
requester resubmits it — ``revision_values`` + ``read_submission`` read the edit exactly like a submission,
``revise_adjustment`` writes it into the record — or withdraws it (``withdrawn``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Column, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from rules.budget import AdjustmentStandards, CountBy, adjustment_standards_on
from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_today, utc_now
from smartfin.kernel.money import InvalidAmount, format_yuan, from_fen, parse_amount, to_fen
from smartfin.ledger import (
    BudgetLineKey,
    FundingSource,
    InvalidBudgetKey,
    LineStatus,
    adjust,
    department_problem,
)
from smartfin.ledger.control import find_line, line_balances
from smartfin.ledger.keys import parse_key
from smartfin.ledger.models import BudgetLine
from smartfin.processes.documents import SubmissionRefused, next_document_no
from smartfin.processes.submitters import named_or_self, record_entry, resolve_submitter, start
from smartfin.store.audit import UtcDateTime, record_audit
from smartfin.store.db import session_scope

DOCUMENT_TYPE = "budget-adjustment"
PROCESS_KEY = "budget-adjustment"
FINANCE_HEAD = "finance-head"
PRESIDENT_MEETING = "president"
KINDS = ("increase", "decrease", "transfer")
KIND_ALIASES = {"increase": "increase", "追加": "increase", "调增": "increase",
                "decrease": "decrease", "调减": "decrease",
                "transfer": "transfer", "调剂": "transfer"}


class AdjustmentStatus:
    SUBMITTED = "submitted"
    POSTED = "posted"
    REJECTED = "rejected"
    REFUSED = "refused"      # a rule stopped it when the money was to move
    VOIDED = "voided"        # the approvals did not hold
    INVALID = "invalid"
    WITHDRAWN = "withdrawn"  # the requester withdrew it after a send-back; it no longer counts in flight
    CLOSED = ("rejected", "refused", "voided", "invalid", "withdrawn")


class BudgetAdjustment(SQLModel, table=True):
    """One adjustment decision: who asked, for which department, when it takes effect, and its fate."""

    __tablename__ = "budget_adjustment"

    adjustment_no: str = Field(primary_key=True, max_length=40)
    department: str = Field(index=True, max_length=32)
    fiscal_year: int = Field(index=True)
    requester: str = Field(max_length=64)
    entered_by: str | None = Field(default=None, max_length=64)
    effective_on: date
    reason: str = Field(max_length=2000)
    total_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    cross_department: bool = False
    tier: str = Field(max_length=32)
    status: str = Field(default=AdjustmentStatus.SUBMITTED, max_length=12, index=True)
    minutes_no: str | None = Field(default=None, max_length=100)
    approved_by: str | None = Field(default=None, max_length=64)
    closing_reason: str | None = Field(default=None, max_length=2000)
    process_instance_id: str | None = Field(default=None, max_length=64)
    submitted_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    posted_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))

    @property
    def total(self) -> Decimal:
        return from_fen(self.total_fen)


class AdjustmentMovement(SQLModel, table=True):
    """One movement of an adjustment: ``from_line`` loses, ``to_line`` gains (a transfer has both)."""

    __tablename__ = "budget_adjustment_movement"
    __table_args__ = (UniqueConstraint("adjustment_no", "position", name="uq_adjustment_movement"),)

    id: int | None = Field(default=None, primary_key=True)
    adjustment_no: str = Field(index=True, max_length=40)
    position: int
    kind: str = Field(max_length=10)
    from_line: str = Field(default="", max_length=200)
    to_line: str = Field(default="", max_length=200)
    amount_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    reason: str = Field(max_length=1000)

    @property
    def amount(self) -> Decimal:
        return from_fen(self.amount_fen)


# ------------------------------------------------------------------------------------------- submission

@dataclass(frozen=True)
class Movement:
    """A parsed movement: where money leaves (``source``), where it arrives (``target``), how much, why."""

    kind: str
    source: BudgetLineKey | None
    target: BudgetLineKey | None
    amount: Decimal
    reason: str

    def changes(self) -> list[tuple[BudgetLineKey, Decimal]]:
        """The signed change on each line it touches."""
        return [(k, -self.amount) for k in [self.source] if k] + [(k, self.amount) for k in [self.target] if k]


@dataclass(frozen=True)
class AdjustmentDraft:
    """A submission read field by field: department, requester, effective date, reason, movements."""

    department: str
    requester: str
    effective_on: date
    reason: str
    movements: tuple[Movement, ...]

    @property
    def fiscal_year(self) -> int:
        return self.effective_on.year

    @property
    def total(self) -> Decimal:
        return sum((m.amount for m in self.movements), Decimal("0.00"))

    @property
    def cross_department(self) -> bool:
        return any(key.department != self.department for m in self.movements for key, _ in m.changes())


class AdjustmentRefused(SubmissionRefused):
    label = "预算调整不予受理 / adjustment refused"


def parse_movements(text: str, problems: list[tuple[str, str]]) -> list[Movement]:
    """Movements from text, one per line: ``kind; from line; to line; amount; reason``; problems name the line."""
    found = []
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if not lines:
        problems.append(("movements", "至少一项调整 / at least one movement is required"))
    for number, line in enumerate(lines, start=1):
        where = f"movements line {number}"
        parts = [p.strip() for p in line.replace("；", ";").split(";")]
        if len(parts) != 5:
            problems.append((where, "须为 类型; 调出行; 调入行; 金额; 理由 / must read kind; from line; to line; "
                                    f"amount; reason (got {len(parts)} parts)"))
            continue
        kind_text, source_text, target_text, amount_text, reason = parts
        kind = KIND_ALIASES.get(kind_text.lower())
        if kind is None:
            problems.append((f"{where}, kind", f"须为 increase/decrease/transfer, got {kind_text!r}"))
            continue
        keys: dict[str, BudgetLineKey | None] = {"from": None, "to": None}
        for side, raw, needed in (("from", source_text, kind in ("decrease", "transfer")),
                                  ("to", target_text, kind in ("increase", "transfer"))):
            if needed and not raw:
                problems.append((f"{where}, {side}", f"{kind} 须指定预算行 / a {kind} needs this line"))
            elif not needed and raw:
                problems.append((f"{where}, {side}", f"{kind} 不应有此预算行 / a {kind} has no {side} line"))
            elif raw:
                try:
                    keys[side] = parse_key(raw)
                except (InvalidBudgetKey, ValueError) as exc:
                    problems.append((f"{where}, {side}", str(exc)))
        try:
            amount = parse_amount(amount_text, field="amount")
        except InvalidAmount as exc:
            problems.append((f"{where}, amount", exc.reason))
            continue
        if not reason:
            problems.append((f"{where}, reason", "必填 / is required"))
        if keys["from"] is not None and keys["from"] == keys["to"]:
            problems.append((where, "调出与调入为同一预算行 / from and to are the same line"))
        found.append(Movement(kind, keys["from"], keys["to"], amount, reason))
    return found


def read_submission(values: Mapping[str, Any], *, today: date | None = None) -> AdjustmentDraft:
    """The submission's fields, or ``AdjustmentRefused`` naming every wrong field (no database needed)."""
    problems: list[tuple[str, str]] = []

    def text(name: str, limit: int) -> str:
        value = str(values.get(name) or "").strip()
        if not value:
            problems.append((name, "必填 / is required"))
        elif len(value) > limit:
            problems.append((name, f"不得超过 {limit} 个字符 / is longer than {limit} characters"))
        return value

    department = text("department", 32)
    requester = text("requester", 64)
    reason = text("reason", 2000)
    effective = today or hospital_today()
    raw_date = values.get("effectiveOn")
    if raw_date not in (None, ""):
        try:
            effective = date.fromisoformat(str(raw_date).strip()[:10])
        except ValueError:
            problems.append(("effectiveOn", f"不是日期 / is not a YYYY-MM-DD date: {raw_date!r}"))
    movements = parse_movements(str(values.get("movements") or ""), problems)
    if problems:
        raise AdjustmentRefused(problems)
    return AdjustmentDraft(department, requester, effective, reason, tuple(movements))


# ------------------------------------------------------------------------------------------------ rules

def is_earmarked_project(line: BudgetLine) -> bool:
    return line.funding_source == FundingSource.EARMARKED.value and bool(line.project)


def net_changes(movements: Sequence[Movement]) -> dict[BudgetLineKey, Decimal]:
    """The signed net change per line over all movements (a line touched twice answers once)."""
    net: dict[BudgetLineKey, Decimal] = {}
    for movement in movements:
        for key, change in movement.changes():
            net[key] = net.get(key, Decimal("0.00")) + change
    return net


def subject_adjustments(movements: Sequence[Movement], count_by: CountBy) -> Counter[str]:
    """What one decision counts against each department's yearly limit: with ``line`` every line of the
    department whose amount it changes, with ``decision`` one for each department whose lines it changes."""
    changed = [key.department for key, change in net_changes(movements).items() if change != 0]
    return Counter(changed) if count_by == CountBy.LINE else Counter(set(changed))


def adjustment_counts(session: Session, year: int, count_by: CountBy, *, excluding: str | None = None,
                      in_flight: bool = False) -> Counter[str]:
    """Each department's subject adjustments of the year so far: from posted adjustments, and with
    ``in_flight`` those still in approval too. Year-end carry-overs are no adjustments of this table."""
    statuses = [AdjustmentStatus.POSTED] + ([AdjustmentStatus.SUBMITTED] if in_flight else [])
    query = select(AdjustmentMovement).join(
        BudgetAdjustment, col(BudgetAdjustment.adjustment_no) == col(AdjustmentMovement.adjustment_no)).where(
        BudgetAdjustment.fiscal_year == year, col(BudgetAdjustment.status).in_(statuses))
    if excluding:
        query = query.where(BudgetAdjustment.adjustment_no != excluding)
    decisions: dict[str, list[Movement]] = {}
    for row in session.exec(query.order_by(col(AdjustmentMovement.adjustment_no), col(AdjustmentMovement.position))):
        decisions.setdefault(row.adjustment_no, []).append(_movement(row))
    found: Counter[str] = Counter()
    for movements in decisions.values():
        found.update(subject_adjustments(movements, count_by))
    return found


def adjustment_problems(session: Session, draft: AdjustmentDraft, *, standards: AdjustmentStandards,
                        adjustment_no: str | None = None, in_flight: bool = True,
                        lock: bool = False) -> list[tuple[str, str]]:
    """Every rule the adjustment breaks, each naming the movement and line; empty when it may go ahead.

    With ``lock`` the lines are locked (posting): the commitments read are those the posting will see.
    """
    problems: list[tuple[str, str]] = []
    day = draft.effective_on
    problem = department_problem(session, draft.department, day)
    if problem:
        problems.append(("department", problem))
    lines: dict[BudgetLineKey, BudgetLine] = {}
    for number, movement in enumerate(draft.movements, start=1):
        where = f"movements line {number}"
        for side, key in (("from", movement.source), ("to", movement.target)):
            if key is None or key in lines:
                continue
            line = find_line(session, key, lock=lock)
            if line is None:
                problems.append((f"{where}, {side}", f"预算行不存在 / no budget line {key}"))
                continue
            first, last = line.period
            if line.status == LineStatus.CLOSED:
                problems.append((f"{where}, {side}", f"预算行已关闭 / line {line.label} is closed"))
            elif not first <= day <= last:
                problems.append((f"{where}, {side}", f"预算行 {line.label} 在 {day} 不在有效期 {first}–{last} / "
                                                     f"is not in force on {day}"))
            if key.fiscal_year != draft.fiscal_year:
                problems.append((f"{where}, {side}", f"预算行属于 {key.fiscal_year} 年，调整生效于 {day} / line "
                                                     f"{key} is of {key.fiscal_year}, the adjustment is of {day}"))
            lines[key] = line
        source = lines.get(movement.source) if movement.source else None
        target = lines.get(movement.target) if movement.target else None
        if movement.kind == "transfer" and source is not None and target is not None \
                and source.funding_source == FundingSource.EARMARKED.value and not is_earmarked_project(target):
            problems.append((where, f"专项资金不得调入基本支出：{source.label} → {target.label} / earmarked funds "
                                    f"may not move to basic expenditure ({target.label} is not an earmarked project)"))
    for key, change in net_changes(draft.movements).items():
        line = lines.get(key)
        if change >= 0 or line is None or line.id is None:
            continue
        balances = line_balances(session, line.id, on=max(day, hospital_today()))
        if balances.available + change < 0:
            problems.append((f"line {key}", f"调减后低于已占用：可用 ¥{format_yuan(balances.available)}，调减 "
                                            f"¥{format_yuan(-change)}（已占用 ¥{format_yuan(balances.committed)}） / "
                                            f"would leave {line.label} below its commitments: available "
                                            f"{format_yuan(balances.available)}, cut {format_yuan(-change)}"))
    limit, count_by = standards.yearly_adjustment_limit, standards.count_by
    used = adjustment_counts(session, draft.fiscal_year, count_by, excluding=adjustment_no, in_flight=in_flight)
    for department, adds in sorted(subject_adjustments(draft.movements, count_by).items()):
        if used[department] + adds > limit:
            field = "department" if department == draft.department else f"department {department}"
            so_far = used[department]
            problems.append((field, f"{department} 本年已有 {so_far} 次科目调整，本次 {adds} 次，上限 {limit} 次 / "
                                    f"department {department} has {so_far} subject adjustments in "
                                    f"{draft.fiscal_year}, this one adds {adds} (counted by {count_by}), the limit "
                                    f"is {limit}"))
    return problems


def tier_of(draft: AdjustmentDraft | BudgetAdjustment, standards: AdjustmentStandards) -> str:
    """Who decides: the finance head within one department below the limit, else the president's office meeting."""
    total = draft.total
    if draft.cross_department or total >= standards.finance_head_limit:
        return PRESIDENT_MEETING
    return FINANCE_HEAD


def standards_for(day: date) -> AdjustmentStandards:
    return adjustment_standards_on(day)


# ------------------------------------------------------------------------------------------------ record

def next_adjustment_no(session: Session, on: date | None = None) -> str:
    """``ADJ-2026-000042``: sequential per year, allocated inside the caller's transaction."""
    return next_document_no(session, BudgetAdjustment.adjustment_no, "ADJ", (on or hospital_today()).year)


def record_adjustment(session: Session, adjustment_no: str, draft: AdjustmentDraft, *, tier: str,
                      entered_by: str | None = None,
                      process_instance_id: str | None = None) -> BudgetAdjustment:
    """Store the adjustment and its movements once; a second delivery gets the first record back."""
    row = session.get(BudgetAdjustment, adjustment_no)
    if row is not None:
        return row
    row = BudgetAdjustment(adjustment_no=adjustment_no, department=draft.department, fiscal_year=draft.fiscal_year,
                           requester=draft.requester, entered_by=entered_by, effective_on=draft.effective_on,
                           reason=draft.reason, total_fen=to_fen(draft.total),
                           cross_department=draft.cross_department, tier=tier,
                           process_instance_id=process_instance_id)
    session.add(row)
    _add_movements(session, adjustment_no, draft.movements)
    session.flush()
    return row


def _add_movements(session: Session, adjustment_no: str, movements: Sequence[Movement]) -> None:
    for position, movement in enumerate(movements, start=1):
        session.add(AdjustmentMovement(adjustment_no=adjustment_no, position=position, kind=movement.kind,
                                       from_line=str(movement.source or ""), to_line=str(movement.target or ""),
                                       amount_fen=to_fen(movement.amount), reason=movement.reason[:1000]))


#: what the requester may change when an adjustment is sent back for revision: the request form's fields
REVISABLE_FIELDS = ("department", "effectiveOn", "reason", "movements")


def revision_values(row: BudgetAdjustment, movements: Sequence[AdjustmentMovement],
                    edit: Mapping[str, Any]) -> dict[str, Any]:
    """What a resubmission says: the record as the request form shows it, with the fields the requester wrote
    in the revision replaced; the requester stays the recorded one whatever the edit holds."""
    values: dict[str, Any] = {"requester": row.requester, "department": row.department,
                              "effectiveOn": row.effective_on.isoformat(), "reason": row.reason,
                              "movements": movements_text(movements)}
    values.update({name: edit[name] for name in REVISABLE_FIELDS if edit.get(name) is not None})
    values["requester"] = row.requester
    return values


def revise_adjustment(session: Session, row: BudgetAdjustment, draft: AdjustmentDraft, *,
                      tier: str) -> dict[str, list[str]]:
    """Write a validated revision into the record — its fields, its tier and its movements, replaced as a
    whole — in the caller's transaction; returns each changed field as [before, after] for the audit log,
    which keeps what every round asked for (nothing was posted: the journal holds no entry of it yet)."""
    if row.status != AdjustmentStatus.SUBMITTED:
        raise ValueError(f"预算调整 {row.adjustment_no} 状态为 {row.status}，不能修改 / adjustment "
                         f"{row.adjustment_no} is {row.status}; only a submitted one may be revised")
    before_movements = movements_text(movements_of(session, row.adjustment_no))
    new = {"department": draft.department, "fiscal_year": draft.fiscal_year, "effective_on": draft.effective_on,
           "reason": draft.reason, "total_fen": to_fen(draft.total), "cross_department": draft.cross_department,
           "tier": tier}
    changes = {name: [str(getattr(row, name)), str(value)] for name, value in new.items()
               if getattr(row, name) != value}
    for name, value in new.items():
        setattr(row, name, value)
    after_movements = movements_text(draft.movements)
    if after_movements != before_movements:
        changes["movements"] = [before_movements, after_movements]
        for old in movements_of(session, row.adjustment_no):
            session.delete(old)
        session.flush()
        _add_movements(session, row.adjustment_no, draft.movements)
    session.add(row)
    session.flush()
    return changes


def movements_of(session: Session, adjustment_no: str) -> list[AdjustmentMovement]:
    return list(session.exec(select(AdjustmentMovement).where(AdjustmentMovement.adjustment_no == adjustment_no)
                             .order_by(col(AdjustmentMovement.position))).all())


def draft_of(session: Session, row: BudgetAdjustment) -> AdjustmentDraft:
    """The recorded adjustment as a draft again, for the rules at posting time."""
    movements = tuple(_movement(m) for m in movements_of(session, row.adjustment_no))
    return AdjustmentDraft(row.department, row.requester, row.effective_on, row.reason, movements)


def _movement(row: AdjustmentMovement) -> Movement:
    return Movement(row.kind, parse_key(row.from_line) if row.from_line else None,
                    parse_key(row.to_line) if row.to_line else None, row.amount, row.reason)


def get_adjustment(session: Session, adjustment_no: str) -> BudgetAdjustment:
    row = session.get(BudgetAdjustment, adjustment_no)
    if row is None:
        raise LookupError(f"预算调整 {adjustment_no} 不存在 / budget adjustment {adjustment_no} is not registered")
    return row


def movements_text(movements: Sequence[AdjustmentMovement | Movement]) -> str:
    """The movements as the form shows them (one per line)."""
    def side(value: object) -> str:
        return "" if value in (None, "") else str(value)
    rows = []
    for m in movements:
        source = m.from_line if isinstance(m, AdjustmentMovement) else m.source
        target = m.to_line if isinstance(m, AdjustmentMovement) else m.target
        rows.append(f"{m.kind}; {side(source)}; {side(target)}; {format_yuan(m.amount)}; {m.reason}")
    return "\n".join(rows)


# ------------------------------------------------------------------------------------------------ posting

def post_adjustment(session: Session, row: BudgetAdjustment, *, actor: str) -> list[int]:
    """Post every movement under the adjustment's number in the caller's transaction; the entry ids.

    The rules are checked again first under the lines' locks (``AdjustmentRefused`` names what fails) —
    between submission and approval the lines may have been committed or closed. Every line is cut with
    ``journal.adjust``, one entry per line (the net of the movements touching it) under the adjustment's number;
    a line that is not under hard control is held to its commitments here too.
    """
    draft = draft_of(session, row)
    problems = adjustment_problems(session, draft, standards=standards_for(row.effective_on),
                                   adjustment_no=row.adjustment_no, in_flight=False, lock=True)
    if problems:
        raise AdjustmentRefused(problems)
    reasons = "; ".join(m.reason for m in draft.movements)
    ids = []
    for key, change in net_changes(draft.movements).items():
        if change == 0:
            continue
        entry = adjust(session, key, change, document_no=row.adjustment_no, actor=actor,
                       reason=f"{row.adjustment_no}: {reasons}"[:2000], document_type=DOCUMENT_TYPE,
                       effective_on=row.effective_on, multi_line=True)
        assert entry.id is not None
        ids.append(entry.id)
    return ids


# ------------------------------------------------------------------------------------------------ intake

def submit_adjustment(values: Mapping[str, Any], *, engine: EngineClient | None = None) -> str:
    """Check, record and start one adjustment, all or nothing: a refused or failed start leaves no record.

    ``engine`` is who submits: a user's login starts the process as that user (the requester); the service
    account submits for a named ``requester`` (see ``smartfin.processes.submitters``). The rules are checked
    here so the command line answers at once; the process checks them again on its own.
    """
    engine = engine or EngineClient.from_settings()
    draft = read_submission({**values, "requester": named_or_self(engine, values.get("requester"))})
    submitter = resolve_submitter(engine, draft.requester, role="requester")
    with session_scope() as session:
        standards = standards_for(draft.effective_on)
        problems = adjustment_problems(session, draft, standards=standards)
        if problems:
            raise AdjustmentRefused(problems)
        number = next_adjustment_no(session, draft.effective_on)
        row = record_adjustment(session, number, draft, tier=tier_of(draft, standards),
                                entered_by=submitter.entered_by)
        record_entry(session, submitter, document_type=DOCUMENT_TYPE, number=number)
        record_audit(session, actor=submitter.actor, action="submitted", subject_type=DOCUMENT_TYPE,
                     subject_id=number, details={"total": format_yuan(draft.total), "tier": row.tier,
                                                 "movements": movements_text(draft.movements),
                                                 **submitter.audit_details()})
        instance = start(submitter, PROCESS_KEY, number, {
            "department": draft.department, "effectiveOn": draft.effective_on.isoformat(), "reason": draft.reason,
            "movements": movements_text(draft.movements), "requester": draft.requester})
        row.process_instance_id = instance["id"]
        session.add(row)
    return number
