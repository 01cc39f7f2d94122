"""Budget execution monitoring (预算执行监控): how far each line has spent against how far the year is.

execution rate (执行率) = actual / (budget + adjustments); time-elapsed progress (序时进度) = elapsed
months / 12, counting the current month by its elapsed days. A line whose execution lags the progress is
*behind*; a line under 40 % is listed (slow execution cuts next year's budget); the balance rate
(结余率 = (authorised − actual) / authorised) is projected to the year end at the current pace and
flagged above the 5 % target. Figures are exact (Decimal yuan); the journal is read as of a date by
each entry's effective date (``JournalEntry.effective_on``), so a budget imported in June for the whole year
is in the report as of January's end, and an adjustment effective in July is not in June's.

A rate of a line with no authorised budget is undefined and stays None in the figures; whatever shows
them to people goes through ``rate_or_reason``, which says why in words, never "None" or "nan".
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd
from sqlmodel import Session, select

from smartfin.ledger.balances import PCT, Balances, percent
from smartfin.ledger.control import bucket_totals, effective_by
from smartfin.ledger.departments import department_names
from smartfin.ledger.models import BudgetLine

LOW_EXECUTION = Decimal("40")  # percent: lines below are listed
BALANCE_TARGET = Decimal("5")  # percent: year-end balance rate target
RATES = ("execution_rate", "gap", "balance_rate", "projected_balance_rate")
NO_BUDGET = "无预算 no budget"
YEAR_NOT_STARTED = "年度未开始 year not started"


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


def _projected_balance_rate(execution: Decimal | None, progress: Decimal) -> Decimal | None:
    """结余率 at the year end if spending continues at the pace so far."""
    if execution is None or progress <= 0:
        return None
    projected_execution = min(execution * 100 / progress, Decimal(100))
    return (Decimal(100) - projected_execution).quantize(PCT, ROUND_HALF_UP)


def _measures(authorised: Decimal, actual: Decimal, committed: Decimal, progress: Decimal) -> dict[str, object]:
    execution = percent(actual, authorised)
    balance = percent(authorised - actual, authorised)
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


def rate_or_reason(row: Mapping[str, Any], key: str) -> Decimal | str:
    """The rate ``key`` of a report row (a line, a roll-up or the total), or the words saying why it has
    none: what a report shows in its place, so that no reader ever sees "None", "nan" or a bare dash.

    A row without authorised budget has no rates ("无预算 no budget"); a budgeted row's projected balance
    is unknown before its fiscal year has begun ("年度未开始 year not started").
    """
    value = row[key]
    if value is not None and not pd.isna(value):
        return value if isinstance(value, Decimal) else Decimal(str(value))
    if not row["authorised"] > 0:
        return NO_BUDGET
    return YEAR_NOT_STARTED


def execution_report(session: Session, fiscal_year: int, as_of: date,
                     department: str | None = None) -> ExecutionReport:
    """Read the journal as it stood in effect at the end of ``as_of`` and compute every line's execution
    (of one ``department`` only, when given: a department's workbook needs no other).

    Entries count by their effective date, not by when they were posted: a budget loaded today with the
    line's 1 January start is part of every month of the year.
    """
    query = select(BudgetLine).where(BudgetLine.fiscal_year == fiscal_year)
    if department is not None:
        query = query.where(BudgetLine.department == department)
    lines = session.exec(query.order_by(BudgetLine.department, BudgetLine.economic_code)).all()  # type: ignore[arg-type]
    totals = bucket_totals(session, [line.id for line in lines if line.id is not None], effective_by(as_of))
    names = department_names(session, as_of)  # as the department was called then; the code without master data
    progress = time_progress(as_of, fiscal_year)
    rows = []
    for line in lines:
        held = Balances.from_fen_totals(totals.get(int(line.id or 0), {}))
        rows.append({"line": str(line.key), "name": line.name, "department": line.department,
                     "department_name": names[line.department], "economic_code": line.economic_code,
                     "funding_source": line.funding_source, "project": line.project,
                     **_measures(held.authorised, held.actual, held.committed, progress)})
    frame = pd.DataFrame(rows, columns=["line", "name", "department", "department_name", "economic_code",
                                        "funding_source", "project",
                                        *_measures(Decimal(0), Decimal(0), Decimal(0), progress)])

    def roll_up(by: str, frame: pd.DataFrame) -> pd.DataFrame:
        out = []
        for key, group in frame.groupby(by, sort=True):
            named = {"department_name": names[str(key)]} if by == "department" else {}
            out.append({by: key, **named, "lines": len(group), **_measures(sum(group["authorised"], Decimal(0)),
                                                                 sum(group["actual"], Decimal(0)),
                                                                 sum(group["committed"], Decimal(0)), progress)})
        return pd.DataFrame(out)

    total = _measures(sum(frame["authorised"], Decimal(0)), sum(frame["actual"], Decimal(0)),
                      sum(frame["committed"], Decimal(0)), progress)
    return ExecutionReport(fiscal_year, as_of, progress, frame, roll_up("department", frame),
                           roll_up("project", frame[frame["project"] != ""]), total)  # type: ignore[arg-type]
