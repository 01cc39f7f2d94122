"""`smartfin budget show`: the finance officer's view of every line, summed from the journal."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.kernel.clock import hospital_today
from smartfin.ledger import BudgetLineKey, adjust, create_line, encumber, pre_encumber, record_actual
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

