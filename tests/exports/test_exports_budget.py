"""The budget exports finance opens in Excel: `smartfin budget export` and the monthly execution workbook.

A budget line is named like the finance user's report, ``=cmd|' /C calc'!A0``; the exports must show that
name as text and keep every amount an exact number.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.app.exports import BUDGET_HEADER, execution_report_xlsx
from smartfin.kernel.clock import hospital_today
from smartfin.ledger import BudgetLineKey, adjust, create_line, pre_encumber, record_actual, set_budget
from smartfin.ledger.monitor import execution_report
from smartfin.store.db import get_engine, session_scope
from tests.support.settings import environment

runner = CliRunner()
EVIL = "=cmd|' /C calc'!A0"
YEAR = hospital_today().year  # the adjustment below is in force today and in June
CARD = BudgetLineKey(YEAR, "CARD", "30218", "fiscal")
RAD = BudgetLineKey(YEAR, "RAD", "30213", "own", "PRJ-CT")
EMPTY = BudgetLineKey(YEAR, "LAB", "30201", "fiscal")  # no budget yet: its rates cannot be computed


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Path]:
    """A fresh SQLite database with three lines of this year, one named to run a command in a spreadsheet."""
    with environment({"SMARTFIN_VAR_DIR": str(tmp_path / "var"), "SMARTFIN_DATABASE_URL": ""}):
        get_engine.cache_clear()
        with session_scope() as session:
            create_line(session, CARD, actor="finance", name=EVIL, budget="800000.00", document_no="B-2031")
            create_line(session, RAD, actor="finance", name="@SUM(1+1) 放射科", document_no="B-2031")
            set_budget(session, RAD, Decimal("600000.00"), document_no="B-2031-RAD", actor="finance")
            create_line(session, EMPTY, actor="finance", name="检验科 试剂")
            adjust(session, CARD, "-50000.00", document_no="ADJ-1", actor="finance", reason="mid-year",
                   effective_on=date(YEAR, 1, 1))
            pre_encumber(session, CARD, "12000.69", document_type="spending-request", document_no="REQ-1",
                         actor="svc")
            pre_encumber(session, RAD, "3000.07", document_type="spending-request", document_no="REQ-2",
                         actor="svc")
            record_actual(session, document_type="spending-request", document_no="REQ-2", actor="svc")
        yield tmp_path
    get_engine.cache_clear()


def _export(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["budget", "export", "--year", str(YEAR), *args])
    return result.exit_code, result.output


def _sheet_xml(data: bytes, number: int = 1) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return book.read(f"xl/worksheets/sheet{number}.xml").decode("utf-8")


def test_budget_export_csv_shows_the_name_as_text_and_amounts_exactly(ledger: Path) -> None:
    target = ledger / "lines.csv"
    code, output = _export("--format", "csv", "--output", str(target))
    assert code == 0, output
    assert f"3 budget lines of {YEAR} written to" in output
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    header, *rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert header == list(BUDGET_HEADER)
    by_key = {row[0]: row for row in rows}
    card = by_key[f"{YEAR}/CARD/30218/fiscal"]
    assert card[1] == "CARD"  # no department master data loaded: the code
    assert card[2] == "'" + EVIL  # shown as text, never run
    assert card[3:] == ["control", "open", "800000.00", "-50000.00", "12000.69", "0.00", "0.00", "737999.31"]
    assert by_key[f"{YEAR}/RAD/30213/own/PRJ-CT"][2] == "'@SUM(1+1) 放射科"
    assert by_key[f"{YEAR}/RAD/30213/own/PRJ-CT"][5:] == ["600000.00", "0.00", "0.00", "0.00", "3000.07",
                                                       "596999.93"]
    assert by_key[f"{YEAR}/LAB/30201/fiscal"][2] == "检验科 试剂"
    assert by_key["合计 total"][5:] == ["1400000.00", "-50000.00", "12000.69", "0.00", "3000.07", "1334999.24"]


def test_budget_export_xlsx_has_no_formula_and_numbers_to_the_fen(ledger: Path) -> None:
    target = ledger / "lines.xlsx"
    code, output = _export("--department", "CARD", "--format", "xlsx", "--output", str(target))
    assert code == 0, output
    data = target.read_bytes()
    assert "<f>" not in _sheet_xml(data) and "<f " not in _sheet_xml(data)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[1]] == list(BUDGET_HEADER)
    name = sheet["C2"]
    assert (name.data_type, name.value) == ("s", "'" + EVIL)
    amounts = sheet[2][5:]
    assert [c.data_type for c in amounts] == ["n"] * 6
    assert [Decimal(repr(c.value)).quantize(Decimal("0.01")) for c in amounts] == [
        Decimal("800000.00"), Decimal("-50000.00"), Decimal("12000.69"), Decimal("0"), Decimal("0"),
        Decimal("737999.31")]
    assert {c.number_format for c in amounts} == {"#,##0.00"}
    assert sheet["A3"].value == "合计 total" and sheet.max_row == 3  # CARD only, then the total


def test_budget_export_refuses_a_wrong_suffix_an_existing_file_and_an_empty_year(ledger: Path) -> None:
    wrong = ledger / "lines.csv"
    code, output = _export("--format", "xlsx", "--output", str(wrong))
    assert code == 3 and "must be written to a file ending in .xlsx" in output and not wrong.exists()

    taken = ledger / "taken.csv"
    taken.write_text("a colleague's file", encoding="utf-8")
    code, output = _export("--format", "csv", "--output", str(taken))
    assert code == 3 and "already exists" in output and "--force" in output
    assert taken.read_text(encoding="utf-8") == "a colleague's file"
    code, output = _export("--format", "csv", "--output", str(taken), "--force")
    assert code == 0, output
    assert "'" + EVIL in taken.read_bytes().decode("utf-8-sig")

    nothing = ledger / "2030.csv"
    result = runner.invoke(app, ["budget", "export", "--year", "2030", "--format", "csv", "--output", str(nothing)])
    assert result.exit_code == 3 and "no budget lines for 2030" in result.output and not nothing.exists()


def test_execution_report_workbook_neutralises_names_and_leaves_missing_rates_empty(ledger: Path) -> None:
    with session_scope() as session:
        report = execution_report(session, YEAR, hospital_today())  # the spending was posted today
    data = execution_report_xlsx(report)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["汇总 Summary", "预算项目 Lines", "科室 Departments", "项目 Projects"]
    for number in range(1, 5):
        xml = _sheet_xml(data, number)
        assert "<f>" not in xml and "<f " not in xml
        assert not re.search(r"<t[^>]*>(None|nan|NaN)</t>", xml)

    lines = book["预算项目 Lines"]
    assert lines["A1"].value == "预算项目执行情况 Execution by budget line" and lines.freeze_panes == "A4"
    heading = {cell.value: cell.column - 1 for cell in lines[3]}
    rows = {row[0].value: row for row in lines.iter_rows(min_row=4)}
    card = rows[f"{YEAR}/CARD/30218/fiscal"]
    assert (card[heading["名称 Name"]].data_type, card[heading["名称 Name"]].value) == ("s", "'" + EVIL)
    assert rows[f"{YEAR}/RAD/30213/own/PRJ-CT"][heading["名称 Name"]].value == "'@SUM(1+1) 放射科"
    authorised = card[heading["预算数 Budget"]]
    assert (authorised.data_type, authorised.value, authorised.number_format) == ("n", 750000, "#,##0.00")
    progress = card[heading["序时进度 Time elapsed"]]
    assert (progress.value, progress.number_format) == (pytest.approx(float(report.progress) / 100), "0.00%")
    rad_rate = rows[f"{YEAR}/RAD/30213/own/PRJ-CT"][heading["执行率 Execution"]]
    assert (rad_rate.data_type, rad_rate.value) == ("n", 0.005)  # 3000.07 / 600000 = 0.50 %
    lab = rows[f"{YEAR}/LAB/30201/fiscal"]
    for rate in ("执行率 Execution", "与序时进度差 vs time", "结余率 Balance rate", "预计年末结余率 Projected balance"):
        assert lab[heading[rate]].value is None, rate  # nothing authorised: an empty cell, not "None"

    departments = {row[0].value: row for row in book["科室 Departments"].iter_rows(min_row=4)}
    assert set(departments) == {"CARD", "LAB", "RAD"}
    assert departments["LAB"][3].value == 0 and departments["LAB"][7].value is None
    projects = [row[0].value for row in book["项目 Projects"].iter_rows(min_row=4)]
    assert projects == ["PRJ-CT"]
    summary = {row[0].value: row[1] for row in book["汇总 Summary"].iter_rows(min_row=4)}
    assert book["汇总 Summary"]["B2"].value == "单位：元"
    assert summary["年度 Fiscal year"].value == YEAR
    assert summary["预算数 Budget"].value == 1350000 and summary["预算数 Budget"].number_format == "#,##0.00"
    assert summary["执行数 Spent"].value == 3000.07


def test_budget_export_names_the_department_and_neutralises_the_name(ledger: Path) -> None:
    """Department names come from master data, which is imported text too."""
    from smartfin.ledger.department_import import import_departments

    with session_scope() as session:
        report = import_departments(session, ("code,name,class,valid_from\n"
                                              "CARD,心血管内科,临床服务类,2020-01-01\n"
                                              "RAD,=HYPERLINK(\"http://x\") 放射科,医疗技术类,2020-01-01\n"
                                              "LAB,检验科,医疗技术类,2020-01-01\n").encode(),
                                    actor="finance", filename="departments.csv")
        assert report.ok, report.errors
    target = ledger / "named.csv"
    code, output = _export("--format", "csv", "--output", str(target))
    assert code == 0, output
    header, *rows = list(csv.reader(io.StringIO(target.read_bytes().decode("utf-8-sig"), newline="")))
    by_key = {row[0]: row for row in rows}
    assert header[1] == "科室 Department"
    assert by_key[f"{YEAR}/CARD/30218/fiscal"][1] == "心血管内科"
    assert by_key[f"{YEAR}/RAD/30213/own/PRJ-CT"][1] == "'=HYPERLINK(\"http://x\") 放射科"
