"""Budget execution monitoring (预算执行监控): how far each line has spent against how far the year is.

execution rate (执行率) = actual / (budget + adjustments); time-elapsed progress (序时进度) = elapsed
months / 12, counting the current month by its elapsed days. A line whose execution lags the progress is
*behind*; a line under 40 % is listed (slow execution cuts next year's budget); the balance rate
(结余率 = (authorised − actual) / authorised) is projected to the year end at the current pace and
flagged above the 5 % target. Figures are exact (Decimal yuan); the journal is read as of a date.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, select

from smartfin.kernel.clock import HOSPITAL_TZ
from smartfin.kernel.money import from_fen
from smartfin.ledger.keys import Bucket
from smartfin.ledger.models import BudgetLine, JournalEntry

LOW_EXECUTION = Decimal("40")  # percent: lines below are listed
BALANCE_TARGET = Decimal("5")  # percent: year-end balance rate target
PCT = Decimal("0.01")


@dataclass(frozen=True)
class ExecutionReport:
    """Execution of one fiscal year as of a date, per line and rolled up per department and project."""

    fiscal_year: int
    as_of: date
    progress: Decimal  # 序时进度, percent
    lines: pd.DataFrame
    departments: pd.DataFrame
    projects: pd.DataFrame
    total: dict[str, Decimal]

    @property
    def low_lines(self) -> pd.DataFrame:
        return self.lines[self.lines["under_40"]]

    @property
    def behind_lines(self) -> pd.DataFrame:
        return self.lines[self.lines["behind"]]


def time_progress(as_of: date, fiscal_year: int) -> Decimal:
    """序时进度 in percent: elapsed months of ``fiscal_year`` at the end of ``as_of`` / 12."""
    if as_of.year < fiscal_year:
        return Decimal("0.00")
    if as_of.year > fiscal_year:
        return Decimal("100.00")
    days = calendar.monthrange(as_of.year, as_of.month)[1]
    months = Decimal(as_of.month - 1) + Decimal(as_of.day) / Decimal(days)
    return (months * 100 / 12).quantize(PCT, ROUND_HALF_UP)


def _rate(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if whole <= 0 else (part * 100 / whole).quantize(PCT, ROUND_HALF_UP)


def _projected_balance_rate(execution: Decimal | None, progress: Decimal) -> Decimal | None:
    """结余率 at the year end if spending continues at the pace so far."""
    if execution is None or progress <= 0:
        return None
    projected_execution = min(execution * 100 / progress, Decimal(100))
    return (Decimal(100) - projected_execution).quantize(PCT, ROUND_HALF_UP)


def _measures(authorised: Decimal, actual: Decimal, committed: Decimal, progress: Decimal) -> dict[str, object]:
    execution = _rate(actual, authorised)
    balance = _rate(authorised - actual, authorised)
    projected = _projected_balance_rate(execution, progress)
    return {
        "authorised": authorised, "actual": actual, "committed": committed, "available": authorised - committed,
        "execution_rate": execution, "progress": progress,
        "gap": None if execution is None else (execution - progress).quantize(PCT),
        "balance_rate": balance, "projected_balance_rate": projected,
        "behind": execution is not None and execution < progress,
        "under_40": execution is not None and execution < LOW_EXECUTION,
        "balance_over_target": projected is not None and projected > BALANCE_TARGET,
    }


def execution_report(session: Session, fiscal_year: int, as_of: date) -> ExecutionReport:
    """Read the journal as of the end of ``as_of`` and compute every line's execution."""
    cutoff = datetime.combine(as_of + timedelta(days=1), time(0), HOSPITAL_TZ)
    lines = session.exec(select(BudgetLine).where(BudgetLine.fiscal_year == fiscal_year)
                         .order_by(BudgetLine.department, BudgetLine.economic_code)).all()  # type: ignore[arg-type]
    sums = session.exec(select(JournalEntry.line_id, JournalEntry.bucket, func.sum(JournalEntry.amount_fen))
                        .where(JournalEntry.created_at < cutoff)  # type: ignore[arg-type]
                        .group_by(JournalEntry.line_id, JournalEntry.bucket)).all()
    totals: dict[int, dict[str, int]] = {}
    for line_id, bucket, amount in sums:
        totals.setdefault(int(line_id), {})[bucket] = int(amount or 0)
    progress = time_progress(as_of, fiscal_year)
    rows = []
    for line in lines:
        t = totals.get(int(line.id or 0), {})
        authorised = from_fen(t.get(Bucket.BUDGET.value, 0) + t.get(Bucket.ADJUSTMENT.value, 0))
        actual = from_fen(t.get(Bucket.ACTUAL.value, 0))
        committed = actual + from_fen(t.get(Bucket.PRE_ENCUMBRANCE.value, 0) + t.get(Bucket.ENCUMBRANCE.value, 0))
        rows.append({"line": str(line.key), "name": line.name, "department": line.department,
                     "economic_code": line.economic_code, "funding_source": line.funding_source,
                     "project": line.project, **_measures(authorised, actual, committed, progress)})
    frame = pd.DataFrame(rows, columns=["line", "name", "department", "economic_code", "funding_source", "project",
                                        *_measures(Decimal(0), Decimal(0), Decimal(0), progress)])

    def roll_up(by: str, frame: pd.DataFrame) -> pd.DataFrame:
        out = []
        for key, group in frame.groupby(by, sort=True):
            out.append({by: key, "lines": len(group), **_measures(sum(group["authorised"], Decimal(0)),
                                                                 sum(group["actual"], Decimal(0)),
                                                                 sum(group["committed"], Decimal(0)), progress)})
        return pd.DataFrame(out)

    total = _measures(sum(frame["authorised"], Decimal(0)), sum(frame["actual"], Decimal(0)),
                      sum(frame["committed"], Decimal(0)), progress)
    return ExecutionReport(fiscal_year, as_of, progress, frame, roll_up("department", frame),
                           roll_up("project", frame[frame["project"] != ""]), total)  # type: ignore[arg-type]
