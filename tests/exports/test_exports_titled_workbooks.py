"""The titled workbooks of the command line, read back with openpyxl and compared with the ledger and the tables.

`budget show --xlsx`, `budget journal LINE --xlsx`, `document requests --xlsx`, `document claims --xlsx`: a title,
the unit 单位：元, the header frozen beneath them, amounts as numbers formatted to the fen that equal the ledger's
Decimals exactly, and the same figures in `--json`.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.app.exports import BUDGET_HEADER, CLAIM_HEADER, JOURNAL_HEADER, REQUEST_HEADER
from smartfin.kernel.clock import hospital_today
from smartfin.kernel.spreadsheet import MONEY_FORMAT, UNIT_YUAN
from smartfin.ledger import BudgetLineKey, adjust, create_line, pre_encumber, record_actual, set_budget
from smartfin.ledger.journal import balances, line_journal
from smartfin.ledger.report import budget_rows
from smartfin.processes.reimbursement.claims import Claim
from smartfin.processes.spending.requests import SpendingRequest
from smartfin.store.db import get_engine, session_scope
from tests.support.settings import environment

runner = CliRunner()
YEAR = hospital_today().year
CARD = BudgetLineKey(YEAR, "CARD", "30218", "fiscal")
RAD = BudgetLineKey(YEAR, "RAD", "30213", "own", "PRJ-CT")
EVIL = "=HYPERLINK(\"http://x\")"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Path]:
    """Two lines with money in every bucket, two requests and two claims, on a fresh SQLite database."""
    with environment({"SMARTFIN_VAR_DIR": str(tmp_path / "var"), "SMARTFIN_DATABASE_URL": ""}):
        get_engine.cache_clear()
        with session_scope() as session:
            create_line(session, CARD, actor="finance", name="心内科 专用材料", budget="800000.00", document_no="B-1")
            create_line(session, RAD, actor="finance", name=EVIL, document_no="B-1")
            set_budget(session, RAD, Decimal("600000.00"), document_no="B-1-RAD", actor="finance")
            adjust(session, CARD, "-50000.01", document_no="ADJ-1", actor="finance", reason="年中调整",
                   effective_on=date(YEAR, 1, 1))
            pre_encumber(session, CARD, "12000.69", document_type="spending-request", document_no="REQ-1",
                         actor="svc")
            pre_encumber(session, RAD, "3000.07", document_type="spending-request", document_no="REQ-2", actor="svc")
            record_actual(session, document_type="spending-request", document_no="REQ-2", actor="svc")
            for number, line, fen, status in (("REQ-1", CARD, 1200069, "approved"), ("REQ-2", RAD, 300007, "approved"),
                                              ("REQ-3", CARD, 99, "rejected")):
                session.add(SpendingRequest(
                    request_no=number, requester="li.na", department=line.department, category="materials",
                    economic_code=line.economic_code, funding_source=line.funding_source.value,
                    project=line.project, fiscal_year=YEAR, amount_fen=fen, payee=EVIL, purpose="导管 catheters",
                    status=status, submitted_at=datetime(YEAR, 3, 1, 2, 30, tzinfo=UTC)))
            session.add(Claim(claim_no="CLM-1", claimant="wang.fang", department="CARD", category="travel",
                              economic_code="30211", funding_source="fiscal", fiscal_year=YEAR, purpose="差旅",
                              claimed_total_fen=123456, payable_fen=120000, status="paid", voucher_no="V-9",
                              submitted_at=datetime(YEAR, 4, 2, 1, 0, tzinfo=UTC)))
            session.add(Claim(claim_no="CLM-2", claimant="wang.fang", department="RAD", category="meeting",
                              economic_code="30215", funding_source="own", fiscal_year=YEAR, purpose="会议",
                              claimed_total_fen=5001, payable_fen=None, status="submitted",
                              submitted_at=datetime(YEAR, 4, 3, 1, 0, tzinfo=UTC)))
        yield tmp_path
    get_engine.cache_clear()


def _book(path: Path) -> Any:
    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert not any("<f>" in archive.read(name).decode("utf-8") for name in archive.namelist()
                       if name.startswith("xl/worksheets/")), "a workbook written by SmartFin holds no formula"
    return openpyxl.load_workbook(io.BytesIO(data))


def _exact(value: object) -> Decimal:
    """A number cell as the Decimal it holds: the file carries the exact digits (``<v>12000.69</v>``)."""
    assert isinstance(value, int | float), value
    return Decimal(repr(value)).quantize(Decimal("0.01"))


def _table(sheet: Any, header_row: int) -> list[list[Any]]:
    return [[cell.value for cell in row] for row in sheet.iter_rows(min_row=header_row + 1)]


def _check_frame(sheet: Any, title: str, header: tuple[str, ...], header_row: int = 4) -> None:
    """Title in A1, the unit above the last column, the header frozen beneath them and filterable."""
    assert sheet["A1"].value == title and sheet["A1"].font.bold
    assert sheet.cell(row=header_row - 1, column=len(header)).value == UNIT_YUAN
    assert [c.value for c in sheet[header_row]] == list(header)
    assert sheet.freeze_panes == f"A{header_row + 1}"
    assert sheet.auto_filter.ref.startswith(f"A{header_row}:")


def test_budget_show_xlsx_matches_the_ledger_to_the_fen(ledger: Path) -> None:
    target = ledger / "execution.xlsx"
    result = runner.invoke(app, ["budget", "show", "--year", str(YEAR), "--xlsx", str(target)])
    assert result.exit_code == 0, result.output
    sheet = _book(target).active
    _check_frame(sheet, "预算执行情况表 Budget execution", BUDGET_HEADER, header_row=3)
    assert f"截至 as of {hospital_today().isoformat()}" in sheet["A2"].value
    rows = _table(sheet, 3)
    with session_scope() as session:
        expected = {str(row.line.key): row.balances for row in budget_rows(session, year=YEAR)}
    buckets = ("budget", "adjustment", "pre_encumbrance", "encumbrance", "actual", "available")
    assert {row[0] for row in rows[:-1]} == set(expected)
    for row in rows[:-1]:
        assert [_exact(v) for v in row[5:]] == [getattr(expected[row[0]], b) for b in buckets]
    assert rows[-1][0] == "合计 total"
    assert [_exact(v) for v in rows[-1][5:]] == [sum((getattr(b, bucket) for b in expected.values()), Decimal(0))
                                                 for bucket in buckets]
    assert {sheet.cell(row=4, column=c).number_format for c in range(6, 12)} == {MONEY_FORMAT}
    rad = next(row for row in rows if row[0] == str(RAD))
    assert rad[2] == "'" + EVIL, "the imported name is shown as text, never run"

    again = runner.invoke(app, ["budget", "show", "--xlsx", str(target)])
    assert again.exit_code == 3 and "already exists" in again.output and "--force" in again.output
    replaced = runner.invoke(app, ["budget", "show", "--xlsx", str(target), "--force", "--json"])
    assert replaced.exit_code == 0
    assert json.loads(replaced.stdout)["totals"]["adjustment"] == "-50000.01", "stdout stays one JSON document"


def test_budget_journal_lists_every_entry_and_its_totals(ledger: Path) -> None:
    target = ledger / "journal.xlsx"
    result = runner.invoke(app, ["budget", "journal", str(CARD), "--xlsx", str(target), "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    with session_scope() as session:
        entries = list(line_journal(session, CARD))
        held = balances(session, CARD)
    assert [e["id"] for e in shown["entries"]] == [e.id for e in entries]
    assert [Decimal(e["amount"]) for e in shown["entries"]] == [e.amount for e in entries]
    assert Decimal(shown["totals"]["pre_encumbrance"]) == held.pre_encumbrance == Decimal("12000.69")
    assert shown["entries"][0]["posted_at"].endswith("+08:00")

    sheet = _book(target).active
    _check_frame(sheet, "预算项目明细账 Budget line journal", JOURNAL_HEADER)
    rows = _table(sheet, 4)
    assert [row[0] for row in rows[:len(entries)]] == [e.id for e in entries]
    assert [_exact(row[4]) for row in rows[:len(entries)]] == [e.amount for e in entries]
    assert isinstance(rows[0][1], datetime) and rows[0][1].date() == entries[0].effective_on
    totals = {row[3]: _exact(row[4]) for row in rows[len(entries):]}
    assert totals["合计 total: 预算 Budget"] == held.budget == Decimal("800000.00")
    assert totals["合计 total: 调整 Adjustment"] == held.adjustment == Decimal("-50000.01")
    assert sheet.cell(row=5, column=5).number_format == MONEY_FORMAT

    unknown = runner.invoke(app, ["budget", "journal", f"{YEAR}/CARD/30299/fiscal"])
    assert unknown.exit_code == 3 and "30299" in unknown.output
    malformed = runner.invoke(app, ["budget", "journal", "CARD-30218"])
    assert malformed.exit_code == 2


def test_request_and_claim_lists_as_workbooks_and_json(ledger: Path) -> None:
    requests_file, claims_file = ledger / "requests.xlsx", ledger / "claims.xlsx"
    listed = runner.invoke(app, ["document", "requests", "--status", "approved", "--xlsx", str(requests_file),
                                 "--json"])
    assert listed.exit_code == 0, listed.output
    shown = json.loads(listed.stdout)["requests"]
    assert [(r["request_no"], r["amount"]) for r in shown] == [("REQ-1", "12000.69"), ("REQ-2", "3000.07")]
    assert shown[0]["submitted_at"] == f"{YEAR}-03-01T10:30:00+08:00"

    sheet = _book(requests_file).active
    _check_frame(sheet, "支出申请清单 Spending requests", REQUEST_HEADER, header_row=3)
    rows = _table(sheet, 3)
    with session_scope() as session:
        stored = {r.request_no: r for r in session.query(SpendingRequest).all()}
    assert [row[0] for row in rows] == ["REQ-1", "REQ-2", "合计 total"]
    assert [_exact(row[6]) for row in rows[:2]] == [stored["REQ-1"].amount, stored["REQ-2"].amount]
    assert _exact(rows[2][6]) == Decimal("15000.76")
    assert rows[0][7] == "'" + EVIL
    assert rows[0][10] == datetime(YEAR, 3, 1, 10, 30), "submitted on the hospital's clock"

    claims = runner.invoke(app, ["document", "claims", "--xlsx", str(claims_file)])
    assert claims.exit_code == 0, claims.output
    sheet = _book(claims_file).active
    _check_frame(sheet, "报销单清单 Reimbursement claims", CLAIM_HEADER, header_row=3)
    rows = _table(sheet, 3)
    assert [row[0] for row in rows] == ["CLM-1", "CLM-2", "合计 total"]
    assert [_exact(rows[0][6]), _exact(rows[0][7])] == [Decimal("1234.56"), Decimal("1200.00")]
    assert rows[1][7] is None, "a claim not yet audited has no payable amount"
    assert [_exact(rows[2][6]), _exact(rows[2][7])] == [Decimal("1284.57"), Decimal("1200.00")]
    assert sheet.cell(row=4, column=7).number_format == MONEY_FORMAT
