"""What the ledger says about the years before the one being compiled: the figures a department's workbook shows
beside its input cells, and the base of the consolidation's year-on-year change.

Compiling year Y happens in the autumn of Y-1, so "last year" is Y-2 (its budget and its actuals, closed) and
"this year" is Y-1 (its budget and its execution to date). Budget here is the original budget plus the
adjustments in force on the day; actual is the ``actual`` bucket. Summed from the journal in one grouped query,
never from a copy.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from smartfin.kernel.clock import hospital_today
from smartfin.ledger.control import effective_by
from smartfin.ledger.keys import Bucket
from smartfin.ledger.models import BudgetLine, JournalEntry


@dataclass(slots=True)
class CodeHistory:
    """One department's figures for one economic code, in fen (all funding sources and projects together)."""

    last_budget: int = 0       # Y-2 budget + adjustments
    last_actual: int = 0       # Y-2 actual
    current_budget: int = 0    # Y-1 budget + adjustments in force
    current_actual: int = 0    # Y-1 actual to date


History = dict[tuple[str, str], CodeHistory]   # (department, economic code) → figures


def ledger_history(session: Session, fiscal_year: int, department: str | None = None,
                   *, on: date | None = None) -> History:
    """The figures of years ``fiscal_year - 2`` and ``fiscal_year - 1`` as of ``on`` (default today), by
    department and economic code; one department's when ``department`` is given."""
    day = on or hospital_today()
    query = (select(BudgetLine.fiscal_year, BudgetLine.department, BudgetLine.economic_code, JournalEntry.bucket,
                    func.sum(JournalEntry.amount_fen))
             .join(JournalEntry, col(JournalEntry.line_id) == col(BudgetLine.id))
             .where(col(BudgetLine.fiscal_year).in_([fiscal_year - 2, fiscal_year - 1]), effective_by(day),
                    col(JournalEntry.bucket).in_([Bucket.BUDGET.value, Bucket.ADJUSTMENT.value,
                                                  Bucket.ACTUAL.value]))
             .group_by(BudgetLine.fiscal_year, BudgetLine.department, BudgetLine.economic_code,
                       JournalEntry.bucket))
    if department is not None:
        query = query.where(BudgetLine.department == department)
    history: History = defaultdict(CodeHistory)
    for year, dept, code, bucket, total in session.exec(query).all():
        figures = history[(dept, code)]
        amount = int(total or 0)
        last = year == fiscal_year - 2
        if bucket == Bucket.ACTUAL:
            if last:
                figures.last_actual += amount
            else:
                figures.current_actual += amount
        elif last:
            figures.last_budget += amount
        else:
            figures.current_budget += amount
    return dict(history)
