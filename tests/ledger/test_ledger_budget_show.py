"""`smartfin budget show`: the finance officer's view of every line, summed from the journal."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.kernel.clock import hospital_today
from smartfin.ledger import (
    BudgetError,
    BudgetLineKey,
    adjust,
    balances,
    create_line,
    encumber,
    pre_encumber,
    record_actual,
)
from smartfin.store.db import get_engine, session_scope
from tests.support.settings import environment

runner = CliRunner()
YEAR = hospital_today().year  # the adjustment below takes effect today, which must fall in the line's year


def test_budget_show_lists_each_bucket_and_available(tmp_path: Path) -> None:
    with environment({"SMARTFIN_VAR_DIR": str(tmp_path), "SMARTFIN_DATABASE_URL": ""}):
        get_engine.cache_clear()
        card = BudgetLineKey(YEAR, "CARD", "30218", "fiscal")
        rad = BudgetLineKey(YEAR, "RAD", "30213", "fiscal")
        with session_scope() as session:
            create_line(session, card, actor="finance", name="心内科 专用材料费", budget="800000.00",
                        document_no="B-2031")
            create_line(session, rad, actor="finance", budget="600000.00", document_no="B-2031")
            adjust(session, card, "-50000.00", document_no="ADJ-1", actor="finance", reason="mid-year")
            pre_encumber(session, card, "12000.00", document_type="spending-request", document_no="REQ-1",
                         actor="svc")
            pre_encumber(session, card, "3000.00", document_type="spending-request", document_no="REQ-2",
                         actor="svc")
            encumber(session, document_type="spending-request", document_no="REQ-2", actor="svc")
            record_actual(session, document_type="spending-request", document_no="REQ-2", actor="svc")

        shown = runner.invoke(app, ["budget", "show", "--year", str(YEAR), "--department", "CARD", "--json"])
        assert shown.exit_code == 0, shown.output
        data = json.loads(shown.output)
        assert [line["department"] for line in data["lines"]] == ["CARD"]
        line = data["lines"][0]
        assert (line["budget"], line["adjustment"], line["pre_encumbrance"], line["encumbrance"], line["actual"],
                line["available"]) == ("800000.00", "-50000.00", "12000.00", "0.00", "3000.00", "735000.00")

        everything = json.loads(runner.invoke(app, ["budget", "show", "--json"]).output)
        assert everything["totals"]["budget"] == "1400000.00"
        assert everything["totals"]["available"] == "1335000.00"

        table = runner.invoke(app, ["budget", "show", "--year", str(YEAR)])
        assert table.exit_code == 0 and "735000.00" in table.output and "600000.00" in table.output
        earlier = runner.invoke(app, ["budget", "show", "--year", str(YEAR - 1)])
        assert f"no budget lines for {YEAR - 1}" in earlier.output
    get_engine.cache_clear()


def test_budget_show_keeps_a_later_dated_adjustment_apart_until_its_day(tmp_path: Path) -> None:
    """An adjustment posted (after its approval) effective next month waits for its day in `budget show`:
    shown as scheduled, not available; a day outside the line's period is refused and posts nothing."""
    with environment({"SMARTFIN_VAR_DIR": str(tmp_path), "SMARTFIN_DATABASE_URL": ""}):
        get_engine.cache_clear()
        today = hospital_today()
        next_month = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
        card = BudgetLineKey(YEAR, "CARD", "30218", "fiscal")
        with session_scope() as session:  # in force until next month's end, even in December
            create_line(session, card, actor="finance", budget="800000.00", document_no="B-1",
                        effective_to=(next_month + timedelta(days=31)).replace(day=1) - timedelta(days=1))
            adjust(session, card, "-50000.00", document_no="院办会-7", actor="finance", reason="院长办公会 第7次")
            ahead = adjust(session, card, "20000", document_no="院办会-8", actor="finance",
                           reason="院长办公会 第8次", effective_on=next_month)
            assert ahead.effective_on == next_month

        def shown() -> dict:
            return json.loads(runner.invoke(app, ["budget", "show", "--json"]).output)["lines"][0]  # type: ignore[no-any-return]

        before = shown()
        assert (before["adjustment"], before["available"], before["adjustment_scheduled"]) == (
            "-50000.00", "750000.00", "20000.00")
        assert "take effect later" in runner.invoke(app, ["budget", "show"]).output

        with pytest.raises(BudgetError, match="cannot take effect on"), session_scope() as session:
            adjust(session, card, "1.00", document_no="院办会-9", actor="finance", reason="x",
                   effective_on=date(YEAR - 1, 12, 31))
        assert shown() == before
    get_engine.cache_clear()


def test_budget_adjust_without_a_login_posts_nothing(tmp_path: Path) -> None:
    """`smartfin budget adjust` asks for an adjustment through the process as the logged-in user: with no
    login it is refused and the line does not move (nothing on the command line posts around the process);
    a date that is not one is refused before anything else."""
    with environment({"SMARTFIN_VAR_DIR": str(tmp_path), "SMARTFIN_DATABASE_URL": "",
                      "SMARTFIN_CREDENTIALS_DIR": str(tmp_path / "credentials")}):
        get_engine.cache_clear()
        card = BudgetLineKey(YEAR, "CARD", "30218", "fiscal")
        with session_scope() as session:
            create_line(session, card, actor="finance", budget="800000.00", document_no="B-1")
        line = ["budget", "adjust", "--year", str(YEAR), "--department", "CARD", "--economic-code", "30218"]
        refused = runner.invoke(app, [*line, "--amount", "-50000.00", "--reason", "院长办公会 第7次"])
        assert refused.exit_code == 3 and "smartfin login" in refused.output, refused.output
        not_a_date = runner.invoke(app, [*line, "--amount", "1.00", "--reason", "x", "--effective", f"{YEAR}-13-01"])
        assert not_a_date.exit_code == 2 and "YYYY-MM-DD" in not_a_date.output, not_a_date.output
        with session_scope() as session:
            assert balances(session, card).available == Decimal("800000.00")
    get_engine.cache_clear()
