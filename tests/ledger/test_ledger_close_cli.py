"""``smartfin budget close`` on the session's database: the summary, closing again, a refusal with exit code 2."""

from __future__ import annotations

from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.ledger import BudgetLineKey, create_line, encumber, pre_encumber
from smartfin.store.db import session_scope

YEAR = 2021


def test_budget_close_carries_reports_and_answers_again_with_the_first_close() -> None:
    key = BudgetLineKey(YEAR, "CLI-CLOSE", "30218", "fiscal", "P-CLI")  # type: ignore[arg-type]
    with session_scope() as session:
        create_line(session, key, actor="test", budget="1000.00")
        pre_encumber(session, key, "400.00", document_type="spending-request", document_no="SR-CLI-1", actor="t")
        encumber(session, document_type="spending-request", document_no="SR-CLI-1", actor="t")
    runner = CliRunner()
    first = runner.invoke(app, ["budget", "close", "--year", str(YEAR), "--actor", "liu.yang"])
    assert first.exit_code == 0, first.output
    assert "carried 1000.00" in first.output and f"{key} → 2022/CLI-CLOSE/30218/fiscal/P-CLI" in first.output
    again = runner.invoke(app, ["budget", "close", "--year", str(YEAR), "--actor", "someone"])
    assert again.exit_code == 0 and "closed by liu.yang" in again.output
    early = runner.invoke(app, ["budget", "close", "--year", "2099"])
    assert early.exit_code == 3 and "has not ended" in early.output
