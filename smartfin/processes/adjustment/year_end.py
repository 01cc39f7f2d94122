"""The year-end close as the command line runs it: refused while budget adjustments of the year are in approval.

The ledger's ``close_year`` knows lines and journal entries, not the adjustment process; an adjustment still
waiting for the finance head or the president's office meeting would, once approved, try to move money on
lines the close has frozen (and be refused then, after the decision was taken). So the close is held back
here, where both are visible, until every adjustment of the year is decided: posted, rejected or closed.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from smartfin.kernel.money import format_yuan
from smartfin.ledger.closing import BudgetYearClosing, ClosingRefused, close_year
from smartfin.processes.adjustment.adjustments import AdjustmentStatus, BudgetAdjustment


def adjustments_in_approval(session: Session, year: int) -> list[BudgetAdjustment]:
    """The year's adjustments submitted and not yet decided, oldest number first."""
    return list(session.exec(select(BudgetAdjustment).where(
        BudgetAdjustment.fiscal_year == year, BudgetAdjustment.status == AdjustmentStatus.SUBMITTED)
        .order_by(col(BudgetAdjustment.adjustment_no))).all())


def close_when_decided(session: Session, year: int, *, actor: str, today: date | None = None) -> BudgetYearClosing:
    """Close ``year`` (``ledger.closing.close_year``) unless adjustments of that year are still in approval:
    then ``ClosingRefused`` names each (number, department, amount, who decides) and nothing changes.
    A year already closed answers with its record, as ``close_year`` does."""
    done = session.get(BudgetYearClosing, year)
    if done is not None:
        return done
    pending = adjustments_in_approval(session, year)
    if pending:
        raise ClosingRefused(year, [
            f"预算调整 {row.adjustment_no}（{row.department}，¥{format_yuan(row.total)}）待 {row.tier} 审批 / "
            f"budget adjustment {row.adjustment_no} of {row.department} ({format_yuan(row.total)}) is still in "
            f"approval ({row.tier}); decide it before the close" for row in pending])
    return close_year(session, year, actor=actor, today=today)
