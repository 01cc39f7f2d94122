"""The year-end close held back while budget adjustments of the year are in approval (SQLite, PostgreSQL, CLI)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.ledger import BudgetLineKey, LineStatus, create_line
from smartfin.ledger.closing import BudgetYearClosing, ClosingRefused
from smartfin.ledger.control import find_line
from smartfin.processes.adjustment.adjustments import (
    AdjustmentStatus,
    get_adjustment,
    read_submission,
    record_adjustment,
)
from smartfin.processes.adjustment.year_end import close_when_decided
from smartfin.store.db import session_scope

YEAR = 2024
AFTER = date(2025, 1, 3)


def submitted(session: Session, number: str, line: BudgetLineKey, department: str) -> None:
    draft = read_submission({"department": department, "requester": "li.na", "reason": "r",
                             "effectiveOn": f"{YEAR}-11-20", "movements": f"increase; ; {line}; 800.00; x"})
    record_adjustment(session, number, draft, tier="finance-head")
    session.flush()


def test_the_close_names_each_adjustment_in_approval_and_changes_nothing(session: Session) -> None:
    line = BudgetLineKey(YEAR, "CARD", "30218", "fiscal")
    create_line(session, line, actor="t", budget="1000.00")
    submitted(session, f"ADJ-{YEAR}-000007", line, "CARD")
    submitted(session, f"ADJ-{YEAR}-000008", line, "CARD")
    with pytest.raises(ClosingRefused) as refused:
        close_when_decided(session, YEAR, actor="liu.yang", today=AFTER)
    named = [r.split(" ")[1].split("（")[0] for r in refused.value.reasons]
    assert named == [f"ADJ-{YEAR}-000007", f"ADJ-{YEAR}-000008"]
    assert "is still in approval (finance-head)" in refused.value.reasons[0]
    assert session.get(BudgetYearClosing, YEAR) is None
    assert find_line(session, line).status == LineStatus.OPEN  # type: ignore[union-attr]
    # decided either way, the close goes ahead
    for number, status in ((f"ADJ-{YEAR}-000007", AdjustmentStatus.REJECTED),
                           (f"ADJ-{YEAR}-000008", AdjustmentStatus.POSTED)):
        row = get_adjustment(session, number)
        row.status = status
        session.add(row)
    closing = close_when_decided(session, YEAR, actor="liu.yang", today=AFTER)
    assert closing.lines_closed == 1 and find_line(session, line).status == LineStatus.CLOSED  # type: ignore[union-attr]


def test_another_years_adjustment_in_approval_does_not_hold_the_close(session: Session) -> None:
    line = BudgetLineKey(YEAR, "NEUR", "30218", "fiscal")
    following = BudgetLineKey(YEAR + 1, "NEUR", "30218", "fiscal")
    create_line(session, line, actor="t", budget="1000.00")
    create_line(session, following, actor="t", budget="1000.00")
    draft = read_submission({"department": "NEUR", "requester": "li.na", "reason": "r",
                             "effectiveOn": f"{YEAR + 1}-01-02", "movements": f"increase; ; {following}; 5.00; x"})
    record_adjustment(session, f"ADJ-{YEAR + 1}-000001", draft, tier="finance-head")
    assert close_when_decided(session, YEAR, actor="liu.yang", today=AFTER).fiscal_year == YEAR


def test_budget_close_on_the_command_line_refuses_while_an_adjustment_is_in_approval() -> None:
    year = 2019
    line = BudgetLineKey(year, "CLI-HOLD", "30218", "fiscal")
    with session_scope() as session:
        create_line(session, line, actor="test", budget="1000.00")
        draft = read_submission({"department": "CLI-HOLD", "requester": "li.na", "reason": "r",
                                 "effectiveOn": f"{year}-12-01", "movements": f"increase; ; {line}; 5.00; x"})
        record_adjustment(session, f"ADJ-{year}-000001", draft, tier="president")
    runner = CliRunner()
    held = runner.invoke(app, ["budget", "close", "--year", str(year), "--actor", "liu.yang"])
    assert held.exit_code == 3 and f"ADJ-{year}-000001" in held.output and "still in approval" in held.output
    with session_scope() as session:
        assert session.get(BudgetYearClosing, year) is None
