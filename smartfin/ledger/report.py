"""What the ledger says a line and a document hold: the rows behind `smartfin budget show` and
`smartfin document show`, summed from the journal in one query (never from a copy kept elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from smartfin.kernel.money import format_yuan
from smartfin.ledger.balances import Balances
from smartfin.ledger.models import BudgetLine, JournalEntry


@dataclass(frozen=True)
class LineRow:
    """One budget line with its bucket totals and what is still available."""

    line: BudgetLine
    balances: Balances

    def as_json(self) -> dict[str, object]:
        b = self.balances
        key = self.line.key
        return {
            "fiscal_year": key.fiscal_year, "department": key.department, "economic_code": key.economic_code,
            "funding_source": str(key.funding_source), "project": key.project, "name": self.line.name,
            "control_level": self.line.control_level, "status": self.line.status,
            **{name: format_yuan(getattr(b, name)) for name in
               ("budget", "adjustment", "pre_encumbrance", "encumbrance", "actual")},
            "available": format_yuan(b.available),
        }


def budget_rows(session: Session, *, year: int | None = None, department: str | None = None) -> list[LineRow]:
    """Every line of ``year`` (all years when None) and ``department``, each with its journal's totals."""
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
    ids = [line.id for line in lines]
    totals: dict[int, dict[str, int]] = {}
    for line_id, bucket, total in session.exec(
            select(JournalEntry.line_id, JournalEntry.bucket, func.sum(JournalEntry.amount_fen))
            .where(col(JournalEntry.line_id).in_(ids)).group_by(JournalEntry.line_id, JournalEntry.bucket)).all():
        totals.setdefault(line_id, {})[bucket] = int(total or 0)
    return [LineRow(line, Balances.from_fen_totals(totals.get(line.id or 0, {}))) for line in lines]


def document_entries(session: Session, document_no: str) -> list[JournalEntry]:
    """Every journal entry a document made, on any line, in posting order."""
    return list(session.exec(select(JournalEntry).where(JournalEntry.document_no == document_no)
                             .order_by(col(JournalEntry.id))).all())


def total(rows: list[LineRow], bucket: str) -> Decimal:
    """The sum of one bucket (or ``available``) over rows."""
    return sum((getattr(r.balances, bucket) for r in rows), Decimal("0"))
