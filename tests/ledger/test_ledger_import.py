"""Budget import from CSV (UTF-8, BOM, GBK) and xlsx: all rows or nothing, every error located."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import openpyxl
from sqlmodel import Session, func, select

from smartfin.ledger import (
    BudgetLine,
    BudgetLineKey,
    ControlLevel,
    ImportIssue,
    JournalEntry,
    balances,
    close_line,
    create_line,
    import_budget,
)
from smartfin.store.audit import AuditEntry

HEADER = ("fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,"
          "tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to\n")
GOOD = HEADER + (
    "2026,0301,30218,fiscal,,专用材料费,\"1,200,000.00\",control,5,,90,2026-01-01,2026-12-31\n"
    "2026,0301,30215,own,,会议费,50000,advisory,,1000.00,80%,,\n"
    "2026,0302,31002,research,KY-7,设备购置,300000.50,track,,,,2026/3/1,\n"
)
CHINESE = ("年度,科室,经济分类,资金来源,项目,名称,预算金额\n"
           "2026,0401,30213,财政,,维修(护)费,80000.00\n"
           "2026,0401,30216,专项,ZX-1,培训费,12000\n")


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()  # type: ignore[no-any-return]


def test_good_csv_creates_lines_and_budgets(session: Session) -> None:
    report = import_budget(session, GOOD.encode("utf-8"), actor="planner", filename="budget-2026.csv")
    assert report.ok, report.errors
    assert (report.rows, report.lines_created, report.budgets_posted) == (3, 3, 3)
    assert report.total_budget == Decimal("1550000.50")
    key = BudgetLineKey(2026, "0301", "30218", "fiscal")  # type: ignore[arg-type]
    assert balances(session, key).budget == Decimal("1200000.00")
    lines = {line.economic_code: line for line in session.exec(select(BudgetLine)).all()}
    assert lines["30218"].tolerance_bp == 500 and lines["30218"].effective_to == date(2026, 12, 31)
    assert lines["30215"].control == ControlLevel.ADVISORY and lines["30215"].tolerance_fen == 100000
    assert lines["30215"].warning_bp == 8000
    assert lines["31002"].project == "KY-7" and lines["31002"].effective_from == date(2026, 3, 1)
    assert lines["31002"].warning_bp == 9000  # default early warning
    entries = session.exec(select(JournalEntry)).all()
    assert {(e.document_type, e.document_no) for e in entries} == {("budget-import", report.document_no)}
    [audit] = session.exec(select(AuditEntry).where(AuditEntry.action == "budget.imported")).all()
    assert audit.details_dict["sha256"] == report.sha256


def test_reimporting_the_identical_file_changes_nothing(session: Session) -> None:
    first = import_budget(session, GOOD.encode("utf-8-sig"), actor="planner")
    again = import_budget(session, GOOD.encode("utf-8-sig"), actor="planner")
    assert first.ok and again.ok
    assert (again.lines_created, again.budgets_posted, again.unchanged) == (0, 0, 3)
    assert not again.changed
    assert count(session, JournalEntry) == 3 and count(session, BudgetLine) == 3
    assert count(session, AuditEntry) == first.lines_created + 1


def test_line_budgeted_by_another_document_is_rejected(session: Session) -> None:
    assert import_budget(session, GOOD.encode(), actor="planner").ok
    changed = GOOD.replace("50000,advisory", "60000,advisory")
    report = import_budget(session, changed.encode(), actor="planner")
    assert not report.ok
    assert [(e.row, e.column) for e in report.errors] == [(2, "budget"), (3, "budget"), (4, "budget")]
    assert "already budgeted" in report.errors[0].reason and "use an adjustment" in report.errors[0].reason
    assert count(session, JournalEntry) == 3


def test_existing_unbudgeted_line_gets_its_budget_and_closed_line_is_rejected(session: Session) -> None:
    create_line(session, BudgetLineKey(2026, "0401", "30213", "fiscal"), actor="p")  # type: ignore[arg-type]
    report = import_budget(session, CHINESE.encode(), actor="planner")
    assert report.ok, report.errors
    assert (report.lines_created, report.budgets_posted) == (1, 2)
    other = CHINESE.replace("2026,0401,30216", "2026,0402,30216").replace("80000.00", "1.00")
    close_line(session, BudgetLineKey(2026, "0401", "30213", "fiscal"), actor="p",  # type: ignore[arg-type]
               reason="frozen")
    rejected = import_budget(session, other.encode(), actor="planner")
    assert [(e.row, e.column) for e in rejected.errors] == [(2, "key")]
    assert "closed" in rejected.errors[0].reason


def test_every_bad_row_is_reported_and_nothing_changes(session: Session) -> None:
    bad = HEADER + (
        "2026,0301,30218,fiscal,,ok line,1000.00,,,,,,\n"          # row 2 is fine
        "2026,0301,30219,fiscal,,negative,-5.00,,,,,,\n"           # row 3
        "2026,0301,30220,fiscal,,words,abc,,,,,,\n"                # row 4
        "2026,0301,30221,fiscal,,too fine,1.005,,,,,,\n"           # row 5
        "2026,0301,30222,fiscal,,missing,,,,,,,\n"                 # row 6
        "\n"                                                       # row 7 (blank, skipped)
        "2026,,30223,fiscal,,no department,1.00,,,,,,\n"           # row 8
        "2026,0301,,fiscal,,no code,1.00,,,,,,\n"                  # row 9
        "2026,0301,30224,loan,,bad source,1.00,,,,,,\n"            # row 10
        "2026,0301,30225,fiscal,,bad level,1.00,strict,,,,,\n"     # row 11
        "2026,0301,30226,fiscal,,bad dates,1.00,,,,,2026-12-31,2026-01-01\n"  # row 12
        "2026,0301,30218,fiscal,,duplicate,1.00,,,,,,\n"           # row 13
        "2026,0301,30227,fiscal,,bad pct,1.00,,150,,,,\n"          # row 14
        "26x,0301,30228,fiscal,,bad year,1.00,,,,,2026-02-30,\n"   # row 15
    )
    report = import_budget(session, bad.encode(), actor="planner")
    got = {(e.row, e.column): e.reason for e in report.errors}
    assert got[(3, "budget")] == "must not be negative (got '-5.00')"
    assert got[(4, "budget")].startswith("is not a number")
    assert got[(5, "budget")].startswith("has more than 2 decimal places")
    assert got[(6, "budget")] == "is missing"
    assert got[(8, "department")] == "is missing"
    assert got[(9, "economic_code")] == "is missing"
    assert got[(10, "funding_source")].startswith("is unknown")
    assert got[(11, "control_level")].startswith("is unknown")
    assert "before effective_from" in got[(12, "effective_to")]
    assert "already appears in row 2" in got[(13, "key")]
    assert "between 0 and 100" in got[(14, "tolerance_pct")]
    assert "whole year" in got[(15, "fiscal_year")] and "not a valid date" in got[(15, "effective_from")]
    assert len(report.errors) == 13
    assert str(report.errors[0]) == "row 3, column budget: must not be negative (got '-5.00')"
    assert (report.lines_created, report.budgets_posted) == (0, 0)
    assert count(session, BudgetLine) == 0 and count(session, JournalEntry) == 0
    assert count(session, AuditEntry) == 0


def test_header_problems_are_reported_on_row_one(session: Session) -> None:
    report = import_budget(session, b"fiscal_year,department,economic_code,budget,tolerence_pct\n"
                                    b"2026,0301,30218,1.00,5\n", actor="planner")
    assert set(report.errors) == {ImportIssue(1, "tolerence_pct", "unknown column (see the budget import format)"),
                                  ImportIssue(1, "funding_source", "required column is missing")}
    assert import_budget(session, b"", actor="p").errors[0].reason == "the file is empty"
    assert count(session, BudgetLine) == 0


def test_gbk_csv_with_chinese_headers(session: Session) -> None:
    data = CHINESE.encode("gbk")
    report = import_budget(session, data, actor="planner", filename="预算.csv")
    assert report.ok, report.errors
    assert report.lines_created == 2 and report.total_budget == Decimal("92000.00")
    [line] = session.exec(select(BudgetLine).where(BudgetLine.economic_code == "30216")).all()
    assert (line.name, line.funding_source, line.project) == ("培训费", "earmarked", "ZX-1")


def xlsx_bytes(rows: list[list[object]], percent_cells: tuple[str, ...] = ()) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    for ref in percent_cells:
        sheet[ref].number_format = "0%"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_with_numbers_dates_and_percent_cells(session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    data = xlsx_bytes([
        ["年度", "科室", "经济分类", "资金来源", "项目", "名称", "预算金额", "控制方式", "容差比例", "预警比例",
         "生效日期"],
        [2026, "0301", 30218, "财政", None, "专用材料费", 1234.56, "预警", 0.05, 0.85, datetime(2026, 1, 1)],
        [2026, "0302", "30211", "自有", "", "差旅费", 1000, None, None, None, None],
    ], percent_cells=("I2", "J2"))
    path = tmp_path / "budget.xlsx"
    path.write_bytes(data)
    report = import_budget(session, path, actor="planner")
    assert report.ok, report.errors
    assert report.lines_created == 2 and report.total_budget == Decimal("2234.56")
    line = session.exec(select(BudgetLine).where(BudgetLine.economic_code == "30218")).one()
    assert (line.tolerance_bp, line.warning_bp, line.control_level) == (500, 8500, "advisory")
    assert line.effective_from == date(2026, 1, 1)


def test_xlsx_errors_use_sheet_row_numbers(session: Session) -> None:
    data = xlsx_bytes([
        [None],
        ["fiscal_year", "department", "economic_code", "funding_source", "budget"],
        [2026, "0301", "30218", "fiscal", 10.005],
        [2026, "0301", "30219", "fiscal", "12.50"],
    ])
    report = import_budget(session, data, actor="planner", filename="b.xlsx")
    assert [(e.row, e.column) for e in report.errors] == [(3, "budget")]
    assert count(session, BudgetLine) == 0
