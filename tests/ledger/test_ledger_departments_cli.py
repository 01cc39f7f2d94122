"""`smartfin departments import|list`, and department names beside the codes in `budget show` and
`document show` — each on a database of its own (a fresh var/ directory)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.ledger import BudgetLineKey, create_line
from smartfin.processes.spending.requests import SpendingRequest
from smartfin.store.db import get_engine, session_scope
from tests.support.settings import environment

runner = CliRunner()
DEPARTMENTS = ("科室编码,科室名称,英文名称,科室类别,上级科室,生效日期,失效日期\n"
               "MED,内科,Internal Medicine,临床服务类,,2020-01-01,\n"
               "CARD,心内科,Cardiology,临床服务类,MED,2020-01-01,2023-12-31\n"
               "CARD,心血管内科,Cardiology,临床服务类,MED,2024-01-01,\n"
               "RAD,放射科,Radiology,医疗技术类,,2020-01-01,\n")


@pytest.fixture
def var_dir(tmp_path: Path) -> Iterator[Path]:
    with environment({"SMARTFIN_VAR_DIR": str(tmp_path), "SMARTFIN_DATABASE_URL": ""}):
        get_engine.cache_clear()
        yield tmp_path
    get_engine.cache_clear()


def test_import_then_list_as_a_tree_on_a_date(var_dir: Path) -> None:
    path = var_dir / "科室.csv"
    path.write_bytes(DEPARTMENTS.encode("gbk"))
    imported = runner.invoke(app, ["departments", "import", str(path)])
    assert imported.exit_code == 0, imported.output
    assert "4 rows, 4 versions opened, 0 closed, 0 unchanged" in imported.output
    assert "0 versions opened, 0 closed, 4 unchanged" in runner.invoke(app, ["departments", "import",
                                                                             str(path)]).output

    listed = runner.invoke(app, ["departments", "list", "--on", "2022-06-01"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0] == "科室 departments on 2022-06-01:"
    assert [line.split("·")[0].rstrip() for line in lines[1:]] == [
        "  MED 内科 (Internal Medicine)", "    CARD 心内科 (Cardiology)", "  RAD 放射科 (Radiology)"]
    assert "医疗技术类 medical technical" in lines[3] and "2023-12-31" in lines[2]

    today = json.loads(runner.invoke(app, ["departments", "list", "--json"]).output)
    card = next(d for d in today["departments"] if d["code"] == "CARD")
    assert card == {"code": "CARD", "name": "心血管内科", "name_en": "Cardiology", "class": "clinical",
                    "parent": "MED", "valid_from": "2024-01-01", "valid_to": None}
    assert "no departments in force on 2019-01-01" in runner.invoke(app, ["departments", "list", "--on",
                                                                          "2019-01-01"]).output


def test_a_bad_file_lists_every_problem_and_imports_nothing(var_dir: Path) -> None:
    path = var_dir / "bad.csv"
    path.write_text("code,name,class,parent\nMED,,clinical,\nCARD,心内科,surgical,NOPE\n", encoding="utf-8")
    result = runner.invoke(app, ["departments", "import", str(path)])
    assert result.exit_code == 3
    assert "nothing was imported" in result.output
    assert "row 2, column name: is missing" in result.output
    assert "row 3, column class: is unknown" in result.output
    assert runner.invoke(app, ["departments", "list", "--json"]).output.count('"code"') == 0
    assert runner.invoke(app, ["departments", "import", str(var_dir / "missing.csv")]).exit_code == 3


def test_budget_show_and_document_show_name_the_department(var_dir: Path) -> None:
    with session_scope() as session:
        create_line(session, BudgetLineKey(2023, "CARD", "30218", "fiscal"), actor="finance",  # type: ignore[arg-type]
                    budget="1000.00", document_no="B-2023")
        create_line(session, BudgetLineKey(2025, "CARD", "30218", "fiscal"), actor="finance",  # type: ignore[arg-type]
                    budget="2000.00", document_no="B-2025")
        create_line(session, BudgetLineKey(2025, "LAB", "30218", "fiscal"), actor="finance",  # type: ignore[arg-type]
                    budget="3000.00", document_no="B-2025")
        session.add(SpendingRequest(
            request_no="REQ-2023-000007", requester="zhang.wei", department="CARD", category="materials",
            economic_code="30218", funding_source="fiscal", fiscal_year=2023, amount_fen=12345, payee="国药控股",
            purpose="导管", submitted_at=datetime(2023, 6, 1, 2, 0, tzinfo=UTC)))
    before = json.loads(runner.invoke(app, ["budget", "show", "--json"]).output)
    assert [line["department_name"] for line in before["lines"]] == ["CARD", "CARD", "LAB"], "codes until loaded"

    path = var_dir / "departments.csv"
    path.write_text(DEPARTMENTS, encoding="utf-8")
    assert runner.invoke(app, ["departments", "import", str(path)]).exit_code == 0

    shown = json.loads(runner.invoke(app, ["budget", "show", "--json"]).output)
    assert [(line["fiscal_year"], line["department"], line["department_name"]) for line in shown["lines"]] == [
        (2023, "CARD", "心内科"), (2025, "CARD", "心血管内科"), (2025, "LAB", "LAB")]
    table = runner.invoke(app, ["budget", "show", "--year", "2025"])
    assert table.exit_code == 0, table.output
    assert "科室 department" in table.output
    [card_row] = [line for line in table.output.splitlines() if line.startswith("2025/CARD")]
    assert "心血管内科" in card_row and "2000.00" in card_row

    document = json.loads(runner.invoke(app, ["document", "show", "REQ-2023-000007", "--json"]).output)
    assert (document["department"], document["department_name"]) == ("CARD", "心内科")  # the name on its day
    text = runner.invoke(app, ["document", "show", "REQ-2023-000007"])
    assert "科室 department: CARD 心内科" in text.output
