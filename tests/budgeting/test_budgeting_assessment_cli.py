"""``smartfin budget actuals`` and ``smartfin budget assess`` on a database of their own: the workbook of actual
values entered all or nothing, and the report written as HTML and Excel with the figures of the small case."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.budgeting.projects import import_projects
from smartfin.ledger import BudgetLineKey, import_budget, import_departments, record_actual
from smartfin.store.db import get_engine, session_scope
from tests.budgeting.conftest import DEPARTMENTS_CSV
from tests.budgeting.test_budgeting_assessment import BUDGET, PROJECTS, YEAR
from tests.support.settings import environment

runner = CliRunner()
D = Decimal


@pytest.fixture
def var_dir(tmp_path: Path) -> Iterator[Path]:
    with environment({"SMARTFIN_VAR_DIR": str(tmp_path), "SMARTFIN_DATABASE_URL": ""}):
        get_engine.cache_clear()
        with session_scope() as session:
            assert import_departments(session, DEPARTMENTS_CSV.encode(), actor="finance", filename="d.csv").ok
            assert import_projects(session, PROJECTS.encode(), actor="finance", filename="p.csv").ok
            assert import_budget(session, BUDGET.encode(), actor="finance", filename="b.csv").ok
            for number, (key, amount) in enumerate(((BudgetLineKey(YEAR, "CARD", "30218", "fiscal"), "90000"),
                                                    (BudgetLineKey(YEAR, "CARD", "31002", "fiscal", "P2025-01"),
                                                     "20000"),
                                                    (BudgetLineKey(YEAR, "RADI", "30218", "own"), "196000"))):
                record_actual(session, document_type="voucher", document_no=f"V{number}", actor="finance",
                              amount=Decimal(amount), key=key)
        yield tmp_path
    get_engine.cache_clear()


def test_actual_values_from_a_workbook_then_the_report(var_dir: Path) -> None:
    bad = var_dir / "bad.csv"
    bad.write_text("项目编码,指标名称,实际值\nP2025-01,设备台数,8\nP2025-01,满意度,很好\n", encoding="utf-8")
    refused = runner.invoke(app, ["budget", "actuals", str(bad), "--year", str(YEAR), "--department", "CARD",
                                  "--actor", "li.na"])
    assert refused.exit_code == 3
    assert "row 3, column actual: '很好' is not a number" in refused.output
    good = var_dir / "good.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (("项目编码", "指标名称", "实际值"), ("P2025-01", "设备台数", 8), ("P2025-01", "完成天数", 40),
                ("P2025-01", "满意度", 95)):
        sheet.append(row)
    book.save(good)
    entered = runner.invoke(app, ["budget", "actuals", str(good), "--year", str(YEAR), "--department", "CARD",
                                  "--actor", "li.na"])
    assert entered.exit_code == 0, entered.output
    assert "3 actual values of CARD" in entered.output

    html, xlsx = var_dir / "assess.html", var_dir / "assess.xlsx"
    result = runner.invoke(app, ["budget", "assess", "--year", str(YEAR), "--as-of", date(YEAR, 12, 31).isoformat(),
                                 "--html", str(html), "--xlsx", str(xlsx)])
    assert result.exit_code == 0, result.output
    assert "CARD 心血管内科: 66.37 中 fair" in result.output and "→ cut 5%" in result.output
    assert "RADI 放射科: 98.67 优 excellent" in result.output
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "66.37" in page and "<svg" in page
    departments = list(openpyxl.load_workbook(xlsx)["科室 departments"].iter_rows(values_only=True))
    assert [(row[0], Decimal(str(row[-3]))) for row in departments[1:]] == [("CARD", D("66.37")),
                                                                            ("RADI", D("98.67"))]
    again = runner.invoke(app, ["budget", "assess", "--year", str(YEAR), "--html", str(html)])
    assert again.exit_code == 3 and "--force" in again.output
