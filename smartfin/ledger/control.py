"""Budget control: may this amount be charged to this line today? A pure decision plus its database entry.

``evaluate`` decides from a line, its balances and an amount — no database, so every outcome is easy
to test — and ``check_budget`` feeds it from the session. The ledger's posting functions call the same
``evaluate`` again under the line lock, which is what actually protects the budget.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from smartfin.kernel.clock import hospital_today
from smartfin.kernel.money import CENT, format_yuan, parse_amount
from smartfin.ledger.balances import Balances
from smartfin.ledger.keys import Bucket, BudgetLineKey, ControlLevel, LineStatus
from smartfin.ledger.models import BudgetLine, JournalEntry

log = logging.getLogger("smartfin.ledger")

# Business dates are hospital dates; China has one time zone and no daylight saving.


def business_date(on: date | None = None) -> date:
    """``on`` or today's date in China (not the server's zone, which is often UTC)."""
    return on if on is not None else hospital_today()


class CheckOutcome(StrEnum):
    WITHIN = "within"
    EARLY_WARNING = "early_warning"          # fits, but usage passes the line's warning share
    WITHIN_TOLERANCE = "within_tolerance"    # over budget, but within the tolerance: warn
    OVER_BUDGET = "over_budget"              # beyond tolerance: stops a control line
    NO_SUCH_LINE = "no_such_line"
    LINE_CLOSED = "line_closed"
    NOT_YET_EFFECTIVE = "not_yet_effective"  # outside effective_from … effective_to


ERROR_CODES: dict[CheckOutcome, str] = {
    CheckOutcome.OVER_BUDGET: "BUDGET_EXCEEDED",
    CheckOutcome.NO_SUCH_LINE: "BUDGET_LINE_UNKNOWN",
    CheckOutcome.LINE_CLOSED: "BUDGET_LINE_CLOSED",
    CheckOutcome.NOT_YET_EFFECTIVE: "BUDGET_LINE_NOT_EFFECTIVE",
}

ALWAYS_BLOCKING = frozenset({CheckOutcome.NO_SUCH_LINE, CheckOutcome.LINE_CLOSED,
                             CheckOutcome.NOT_YET_EFFECTIVE})


@dataclass(frozen=True, slots=True)
class Override:
    """An authorised person's decision to let an over-budget document through, with the justification.

    Who may override is decided by the process (candidate groups); the ledger records who did, why and
    when, on the journal entry and in the audit log.
    """

    user: str
    reason: str

    def __post_init__(self) -> None:
        if not self.user or not self.user.strip():
            raise ValueError("override: user is missing")
        if not self.reason or not self.reason.strip():
            raise ValueError("override: a written justification (reason) is required")


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    """The answer to one budget check, with the figures behind it and a message for people."""

    outcome: CheckOutcome
    key: BudgetLineKey
    amount: Decimal
    available: Decimal | None
    control_level: ControlLevel | None
    blocking: bool
    code: str | None
    message: str
    line_id: int | None = None
    tolerance: Decimal | None = None
    usage_pct_after: Decimal | None = None

    @property
    def available_after(self) -> Decimal | None:
        return None if self.available is None else self.available - self.amount

    @property
    def warning(self) -> bool:
        """Passes, but somebody should be told (early warning, tolerance used, advisory overspend)."""
        return not self.blocking and self.outcome in (
            CheckOutcome.EARLY_WARNING, CheckOutcome.WITHIN_TOLERANCE, CheckOutcome.OVER_BUDGET)


def tolerance_for(line: BudgetLine, balances: Balances) -> Decimal:
    """How far the line may go over budget: the percentage of the authorised budget or the fixed amount.

    When both are set the stricter (smaller) one applies, so adding a second tolerance never loosens
    control.
    """
    allowances = []
    if line.tolerance_bp > 0 and balances.authorised > 0:
        pct_amount = balances.authorised * line.tolerance_bp / Decimal(10000)
        allowances.append(pct_amount.quantize(CENT, rounding=ROUND_DOWN))
    if line.tolerance_fen > 0:
        allowances.append(line.tolerance_amount)
    return min(allowances) if allowances else Decimal("0.00")


def _y(amount: Decimal) -> str:
    return "¥" + format_yuan(amount)


def evaluate(line: BudgetLine | None, balances: Balances | None, key: BudgetLineKey, amount: Decimal, *,
             on: date | None = None) -> BudgetCheck:
    """Decide the outcome of charging ``amount`` to the line on date ``on``; pure."""
    amount = parse_amount(amount)
    if line is None or balances is None:
        return BudgetCheck(CheckOutcome.NO_SUCH_LINE, key, amount, None, None, True,
                           ERROR_CODES[CheckOutcome.NO_SUCH_LINE],
                           f"预算行不存在：{key} / No budget line for {key}")
    level = line.control
    label = line.label
    if line.status == LineStatus.CLOSED:
        return BudgetCheck(CheckOutcome.LINE_CLOSED, key, amount, None, level, True,
                           ERROR_CODES[CheckOutcome.LINE_CLOSED],
                           f"预算行已关闭：{label} / Budget line {label} is closed", line.id)
    day = business_date(on)
    if (line.effective_from and day < line.effective_from) or (line.effective_to and day > line.effective_to):
        period = f"{line.effective_from or '…'}–{line.effective_to or '…'}"
        return BudgetCheck(CheckOutcome.NOT_YET_EFFECTIVE, key, amount, None, level, True,
                           ERROR_CODES[CheckOutcome.NOT_YET_EFFECTIVE],
                           f"预算行不在有效期内：{label}，有效期 {period}，业务日期 {day} / "
                           f"Budget line {label} is not effective on {day} (effective {period})", line.id)

    available = balances.available
    after = available - amount
    authorised = balances.authorised
    usage = None
    if authorised > 0:
        usage = ((authorised - after) * 100 / authorised).quantize(CENT)
    tolerance = tolerance_for(line, balances)
    figures_cn = f"可用 {_y(available)}，本次 {_y(amount)}"
    figures_en = f"available {format_yuan(available)}, this document {format_yuan(amount)}"

    if after >= 0:
        warning_pct = line.warning_pct
        if warning_pct is not None and usage is not None and usage >= warning_pct:
            outcome = CheckOutcome.EARLY_WARNING
            message = (f"预算预警：{label} 使用率将达 {usage}%（预警线 {warning_pct}%），{figures_cn}，"
                       f"剩余 {_y(after)} / Early warning on {label}: usage reaches {usage}% (warning at "
                       f"{warning_pct}%), {figures_en}, {format_yuan(after)} left")
        else:
            outcome = CheckOutcome.WITHIN
            message = (f"预算充足：{label}，{figures_cn}，剩余 {_y(after)} / Within budget on {label}: "
                       f"{figures_en}, {format_yuan(after)} left")
        return BudgetCheck(outcome, key, amount, available, level, False, None, message, line.id,
                           tolerance, usage)

    over = -after
    if over <= tolerance:
        message = (f"超预算但在容差内：{label}，{figures_cn}，超出 {_y(over)}（容差 {_y(tolerance)}） / "
                   f"Over budget within tolerance on {label}: {figures_en}, over by {format_yuan(over)} "
                   f"(tolerance {format_yuan(tolerance)})")
        return BudgetCheck(CheckOutcome.WITHIN_TOLERANCE, key, amount, available, level, False, None,
                           message, line.id, tolerance, usage)

    blocking = level == ControlLevel.CONTROL
    consequence = {
        ControlLevel.CONTROL: ("已阻止，需超支报告并经授权", "blocked; an overspend report and authorisation "
                                                       "are required"),
        ControlLevel.ADVISORY: ("仅提示，不阻止", "warning only (advisory line)"),
        ControlLevel.TRACK: ("仅记录", "logged only (tracking line)"),
    }[level]
    message = (f"预算超支：{label}，{figures_cn}，超出 {_y(over)}（容差 {_y(tolerance)}），{consequence[0]} / "
               f"Budget exceeded on {label}: {figures_en}, over by {format_yuan(over)} "
               f"(tolerance {format_yuan(tolerance)}); {consequence[1]}")
    return BudgetCheck(CheckOutcome.OVER_BUDGET, key, amount, available, level, blocking,
                       ERROR_CODES[CheckOutcome.OVER_BUDGET], message, line.id, tolerance, usage)


def find_line(session: Session, key: BudgetLineKey, *, lock: bool = False) -> BudgetLine | None:
    """The line for ``key``; with ``lock`` the row is locked (``FOR UPDATE``) until the transaction ends.

    On SQLite the lock is the database write lock taken by ``BEGIN IMMEDIATE`` (see ``smartfin.store.db``);
    ``FOR UPDATE`` is ignored there.
    """
    stmt = select(BudgetLine).where(
        BudgetLine.fiscal_year == key.fiscal_year,
        BudgetLine.department == key.department,
        BudgetLine.economic_code == key.economic_code,
        BudgetLine.funding_source == key.funding_source.value,
        BudgetLine.project == key.project,
    )
    if lock:
        # populate_existing: a line already in the session must be re-read now that it is locked.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.exec(stmt).first()


def in_force_on(day: date) -> ColumnElement[bool]:
    """The entries budget control counts on ``day``: every commitment and the original budget as soon as
    they are posted, an adjustment only from its effective date.

    An adjustment effective 1 July does not authorise spending in May, so ``available`` on a May day leaves
    it out (a later as-of report includes it from July). The original budget takes effect on the line's
    first day; whether a line may be charged before then is its period's question (``evaluate``), not its
    balance's, so the budget is not held back here.
    """
    return or_(col(JournalEntry.bucket) != Bucket.ADJUSTMENT.value, col(JournalEntry.effective_on) <= day)


def effective_by(day: date) -> ColumnElement[bool]:
    """The entries that had taken effect by the end of ``day``: the journal of an "as of" report."""
    return col(JournalEntry.effective_on) <= day


def bucket_totals(session: Session, line_ids: Collection[int],
                  counted: ColumnElement[bool]) -> dict[int, dict[str, int]]:
    """``{line id: {bucket: sum of amount_fen}}`` over the entries ``counted`` selects (``in_force_on`` for
    what may be spent, ``effective_by`` for a report as of a date): the one query every balance comes from."""
    if not line_ids:
        return {}
    totals: dict[int, dict[str, int]] = {}
    for line_id, bucket, total in session.exec(
            select(JournalEntry.line_id, JournalEntry.bucket, func.sum(JournalEntry.amount_fen))
            .where(col(JournalEntry.line_id).in_(list(line_ids)), counted)
            .group_by(JournalEntry.line_id, JournalEntry.bucket)).all():
        totals.setdefault(int(line_id), {})[bucket] = int(total or 0)
    return totals


def line_balances(session: Session, line_id: int, *, on: date | None = None) -> Balances:
    """One line's balances as budget control sees them on ``on`` (default: the hospital's today): every
    commitment, the budget, and the adjustments in force that day (``in_force_on``)."""
    totals = bucket_totals(session, (line_id,), in_force_on(business_date(on)))
    return Balances.from_fen_totals(totals.get(line_id, {}))


def check_budget(session: Session, key: BudgetLineKey, amount: Decimal | str | int, *,
                 on: date | None = None) -> BudgetCheck:
    """Check without reserving — for saving a draft or showing the requester where they stand.

    Takes no lock: the answer can be stale by the time the document is approved, which is why
    ``pre_encumber`` checks again under the line lock.
    """
    line = find_line(session, key)
    balances = line_balances(session, line.id) if line is not None and line.id is not None else None
    result = evaluate(line, balances, key, parse_amount(amount), on=on)
    note_outcome(result)
    return result


def note_outcome(result: BudgetCheck) -> None:
    """Log warnings and tracking-line overspends: track lines are 'log only' by definition."""
    if result.outcome == CheckOutcome.OVER_BUDGET and result.control_level == ControlLevel.TRACK:
        log.info("%s", result.message)
    elif result.warning:
        log.warning("%s", result.message)
