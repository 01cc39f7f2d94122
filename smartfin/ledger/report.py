"""What the ledger says a line and a document hold: the rows behind `smartfin budget show` and
`smartfin document show`, summed from the journal in one query (never from a copy kept elsewhere).

A line's figures are those budget control uses today (``control.in_force_on``); adjustments that take effect
later are shown apart, as scheduled, so that ``available`` here is what a request would find.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import not_
from sqlmodel import Session, col, select

from smartfin.kernel.clock import hospital_today
from smartfin.kernel.money import format_yuan, from_fen
from smartfin.ledger.balances import ZERO, Balances
from smartfin.ledger.control import bucket_totals, in_force_on
from smartfin.ledger.keys import Bucket
from smartfin.ledger.models import BudgetLine, JournalEntry


@dataclass(frozen=True)
class LineRow:
    """One budget line with its bucket totals and what is still available today, and the adjustments
    already decided that take effect later (``scheduled``, not part of ``balances``)."""

    line: BudgetLine
    balances: Balances
    scheduled: Decimal = ZERO

    def as_json(self) -> dict[str, object]:
        b = self.balances
        key = self.line.key
        return {
            "fiscal_year": key.fiscal_year, "department": key.department, "economic_code": key.economic_code,
            "funding_source": str(key.funding_source), "project": key.project, "name": self.line.name,
            "control_level": self.line.control_level, "status": self.line.status,
            **{name: format_yuan(getattr(b, name)) for name in
               ("budget", "adjustment", "pre_encumbrance", "encumbrance", "actual")},
            "available": format_yuan(b.available), "adjustment_scheduled": format_yuan(self.scheduled),
            "open_commitments": format_yuan(b.open_commitments),
        }


def budget_rows(session: Session, *, year: int | None = None, department: str | None = None) -> list[LineRow]:
    """Every line of ``year`` (all years when None) and ``department``, each with its journal's totals as
    budget control counts them today, and the adjustments scheduled for later."""
    lines_query = select(BudgetLine)
    if year is not None:
        lines_query = lines_query.where(BudgetLine.fiscal_year == year)
    if department is not None:
        lines_query = lines_query.where(BudgetLine.department == department)
    lines = session.exec(lines_query.order_by(col(BudgetLine.fiscal_year), col(BudgetLine.department),
                                              col(BudgetLine.economic_code), col(BudgetLine.funding_source),
                                              col(BudgetLine.project))).all()
    if not lines:
        return []
    ids = [line.id for line in lines if line.id is not None]
    today = hospital_today()
    totals = bucket_totals(session, ids, in_force_on(today))
    later = bucket_totals(session, ids, not_(in_force_on(today)))
    return [LineRow(line, Balances.from_fen_totals(totals.get(line.id or 0, {})),
                    from_fen(later.get(line.id or 0, {}).get(Bucket.ADJUSTMENT.value, 0))) for line in lines]


def document_entries(session: Session, document_no: str) -> list[JournalEntry]:
    """Every journal entry a document made, on any line, in posting order."""
    return list(session.exec(select(JournalEntry).where(JournalEntry.document_no == document_no)
                             .order_by(col(JournalEntry.id))).all())


def total(rows: list[LineRow], bucket: str) -> Decimal:
    """The sum of one bucket (or ``available``) over rows."""
    return sum((getattr(r.balances, bucket) for r in rows), Decimal("0"))
