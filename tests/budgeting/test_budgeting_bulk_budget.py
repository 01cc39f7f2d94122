"""The ledger's bulk budget posting keeps set_budget's rules: once per line, idempotent per document, refused on a
line budgeted otherwise, effective on the line's first day, audited; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, func, select

from smartfin.ledger import AlreadyBudgeted, BudgetLineKey, JournalEntry, create_line, line_journal
from smartfin.ledger.bulk import BudgetPosting, post_budgets
from smartfin.ledger.keys import FundingSource as F
from smartfin.store.audit import AuditEntry

OFFICE = BudgetLineKey(2027, "CARD", "30201", F.FISCAL)
MATERIALS = BudgetLineKey(2027, "CARD", "30218", F.OWN)
LATE = BudgetLineKey(2027, "RADI", "30213", F.FISCAL)


def _post(session: Session, postings: list[BudgetPosting], document_no: str = "ISSUE-1"):  # type: ignore[no-untyped-def]
    return post_budgets(session, postings, document_type="budget-issue", document_no=document_no, actor="finance",
                        reason="issued")


def _entries(session: Session) -> int:
    return session.exec(select(func.count()).select_from(JournalEntry)).one()


def test_lines_are_created_and_budgeted_once(session: Session) -> None:
    create_line(session, LATE, actor="finance", effective_from=date(2027, 7, 1))  # opened earlier, no budget
    postings = [BudgetPosting(OFFICE, 1_000_000, "办公费"), BudgetPosting(MATERIALS, 250_050),
                BudgetPosting(LATE, 99)]
    first = _post(session, postings)
    assert (first.lines_created, first.budgets_posted, first.unchanged) == (2, 3, 0)
    [office] = line_journal(session, OFFICE)
    assert (office.bucket, office.amount_fen, office.effective_on) == ("budget", 1_000_000, date(2027, 1, 1))
    assert line_journal(session, LATE)[0].effective_on == date(2027, 7, 1)
    count = _entries(session)
    again = _post(session, postings)
    assert (again.lines_created, again.budgets_posted, again.unchanged) == (0, 0, 3)
    assert _entries(session) == count
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "budget.bulk_budget_posted")).one()


@pytest.mark.parametrize("document_no, amount", [("ISSUE-2", 1_000_000), ("ISSUE-1", 1_000_001)])
def test_a_line_budgeted_otherwise_is_refused(session: Session, document_no: str, amount: int) -> None:
    _post(session, [BudgetPosting(OFFICE, 1_000_000)])
    session.commit()
    count = _entries(session)
    with pytest.raises(AlreadyBudgeted, match="2027/CARD/30201/fiscal"):
        _post(session, [BudgetPosting(MATERIALS, 5), BudgetPosting(OFFICE, amount)], document_no)
    session.rollback()
    assert _entries(session) == count


def test_a_key_given_twice_or_a_negative_budget_is_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="given twice"):
        _post(session, [BudgetPosting(OFFICE, 1), BudgetPosting(OFFICE, 2)])
    with pytest.raises(ValueError, match="negative"):
        _post(session, [BudgetPosting(OFFICE, -1)])
