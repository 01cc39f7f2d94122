"""`smartfin flows run bank-daily|three-way-daily --xlsx`: the day's 余额调节表 and exceptions as finance files them.

Each workbook is read back with openpyxl: the statement's both sides equal the figures of the day's files (bank
balance + receipts in transit − payments in transit = ledger balance + bank-only credits − bank-only debits), the
matches and exceptions equal the rows the run stored, to the fen.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from conftest import set_accounts
from recon_days import bank_accounts_env, ledger_csv, statement_csv, three_way_day, write
from sqlmodel import select
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.kernel.money import from_fen
from smartfin.kernel.spreadsheet import MONEY_FORMAT, UNIT_YUAN
from smartfin.reconciliation.models import Match, ReconciliationRun, ReconException
from smartfin.store.db import session_scope

DAY = date(2024, 5, 6)
runner = CliRunner()


def _yuan(value: Any) -> Decimal:
    assert isinstance(value, int | float), value
    return Decimal(repr(value)).quantize(Decimal("0.01"))


def _run(kind: str, day: date, account: str | None = None) -> tuple[ReconciliationRun, list[Match],
                                                                      list[ReconException]]:
    with session_scope() as session:
        query = select(ReconciliationRun).where(ReconciliationRun.kind == kind, ReconciliationRun.business_date == day)
        if account:
            query = query.where(ReconciliationRun.scope == account)
        run = session.exec(query).one()
        matches = list(session.exec(select(Match).where(Match.run_id == run.id).order_by(Match.id)).all())
        exceptions = list(session.exec(select(ReconException).where(ReconException.run_id == run.id)
                                       .order_by(ReconException.id)).all())
        return run, matches, exceptions


def test_bank_day_workbook_holds_the_balanced_statement_matches_and_open_items(flow_env: Path, monkeypatch) -> None:
    account = "A-BOOK"
    set_accounts(monkeypatch, bank_accounts_env(account))
    folder = flow_env / "bank" / account / DAY.isoformat()
    d = DAY.isoformat()
    write(folder / "statement.csv", statement_csv(account, [
        (f"{d} 09:12:00", "000123", "国药控股股份有限公司", "货款", "\"1,200.50\"", "", "98799.50"),
        (f"{d} 15:00:00", "000124", "北京市医疗保障事务中心", "医保结算款", "", "25000.00", "123799.50"),
        (f"{d} 16:00:00", "000125", "中国工商银行", "手续费", "12.00", "", "123787.50"),
    ]))
    write(folder / "ledger.csv", ledger_csv([
        ("J-1", d, "-1200.50", "000123", "国药控股股份有限公司"),
        ("J-2", d, "25000.00", "", "北京市医疗保障事务中心"),
        ("J-3", d, "500.00", "R-77", "某区卫健委"),  # deposited late in the day: the bank books it tomorrow
    ], "124299.50"))
    target = flow_env.parent / "bank.xlsx"
    target.write_bytes(b"an earlier file")
    refused = runner.invoke(app, ["flows", "run", "bank-daily", "--date", d, "--no-review", "--xlsx", str(target)])
    assert refused.exit_code == 3 and "already exists" in refused.output
    with session_scope() as session:
        assert session.exec(select(ReconciliationRun).where(ReconciliationRun.scope == account)).first() is None, \
            "a file in the way is refused before the run"

    done = runner.invoke(app, ["flows", "run", "bank-daily", "--date", d, "--no-review", "--xlsx", str(target),
                               "--force"])
    assert done.exit_code == 0, done.output
    book = openpyxl.load_workbook(io.BytesIO(target.read_bytes()))
    statement = book["余额调节表 1"]
    assert statement["A1"].value == "银行存款余额调节表 Bank reconciliation statement"
    assert account in statement["A2"].value and "平衡 balanced" in statement["A3"].value
    assert statement["D3"].value == UNIT_YUAN and statement.freeze_panes == "A5"
    rows = [[c.value for c in row] for row in statement.iter_rows(min_row=5)]
    bank_side = [_yuan(row[1]) for row in rows]
    ledger_side = [_yuan(row[3]) for row in rows]
    # bank balance, + ledger-only receipts, − ledger-only payments, adjusted; and the ledger's side
    assert bank_side == [Decimal("123787.50"), Decimal("500.00"), Decimal("0.00"), Decimal("124287.50")]
    assert ledger_side == [Decimal("124299.50"), Decimal("0.00"), Decimal("12.00"), Decimal("124287.50")]
    adjusted_bank = bank_side[0] + bank_side[1] - bank_side[2]
    adjusted_ledger = ledger_side[0] + ledger_side[1] - ledger_side[2]
    assert adjusted_bank == bank_side[3] == adjusted_ledger
    assert {statement.cell(row=r, column=c).number_format for r in range(5, 9) for c in (2, 4)} == {MONEY_FORMAT}

    _, matches, exceptions = _run("bank", DAY, account)
    matched = [[c.value for c in row] for row in book["匹配 Matches"].iter_rows(min_row=4)]
    assert [(row[0], row[2], _yuan(row[5])) for row in matched] == [
        (account, m.rule, from_fen(m.amount_fen)) for m in matches]
    assert len(matches) == 2
    listed = [[c.value for c in row] for row in book["未达及例外 Exceptions"].iter_rows(min_row=4)]
    assert [(row[1], _yuan(row[5]), row[6]) for row in listed] == [
        (e.id, from_fen(e.amount_fen), e.status) for e in exceptions]
    assert [e.type for e in exceptions] == ["BANK_ONLY"] and listed[0][2].startswith("银行已记单位未记")


def test_three_way_day_workbook_lists_the_stored_exceptions_by_type(flow_env: Path, monkeypatch) -> None:
    hospital, account = "H-BOOK", "S-BOOK"
    monkeypatch.setenv("SMARTFIN_HOSPITAL", hospital)
    set_accounts(monkeypatch, bank_accounts_env(account))
    three_way_day(flow_env, hospital, account, DAY, his_only=True)
    write(flow_env / "three-way" / hospital / DAY.isoformat() / "cash.csv", "cashier,amount\nC1,25.00\n")
    target = flow_env.parent / "three-way.xlsx"
    done = runner.invoke(app, ["flows", "run", "three-way-daily", "--date", DAY.isoformat(), "--no-review",
                               "--xlsx", str(target)])
    assert done.exit_code == 0, done.output
    _, _, exceptions = _run("three-way", DAY)
    book = openpyxl.load_workbook(io.BytesIO(target.read_bytes()))
    summary = book["汇总 Summary"]
    assert summary["A1"].value == "三方对账差异汇总 Three-way exceptions by type" and summary.freeze_panes == "A4"
    counted = {row[0]: (row[2], _yuan(row[3])) for row in summary.iter_rows(min_row=4, values_only=True)}
    assert counted["HIS 单边 HIS only"] == (1, Decimal("30.00"))
    assert counted["长款 Cashier long"] == (1, Decimal("5.00"))
    assert counted["合计 total"] == (len(exceptions), sum((from_fen(e.amount_fen) for e in exceptions), Decimal(0)))
    detail = list(book["差异明细 Exceptions"].iter_rows(min_row=4, values_only=True))
    assert [(row[1], _yuan(row[5]), row[7]) for row in detail] == [
        (e.id, from_fen(e.amount_fen), e.detail) for e in exceptions]
    assert book["差异明细 Exceptions"]["K2"].value == UNIT_YUAN


def test_each_report_flow_names_the_workbook_its_run_wrote(tmp_path: Path, monkeypatch) -> None:
    """`flows run --xlsx` hands out what the run returned as its workbook; the bank flow's is found by its day."""
    from flows.deployments import run_workbook
    from smartfin.kernel.settings import get_settings

    monkeypatch.setenv("SMARTFIN_REPORTS_DIR", str(tmp_path / "reports"))
    get_settings.cache_clear()
    try:
        assert run_workbook("bank-daily", [{"business_date": "2024-05-06", "account": "A"}]) == (
            tmp_path / "reports" / "bank" / "2024-05-06" / "bank-reconciliation-2024-05-06.xlsx")
        for name in ("three-way-daily", "budget-monthly", "cost-monthly", "insurance-daily", "insurance-monthly",
                     "cash-forecast"):
            assert run_workbook(name, {"workbook": str(tmp_path / f"{name}.xlsx")}) == tmp_path / f"{name}.xlsx"
        assert run_workbook("insurance-daily", {"refused": {"his.csv": "bad"}}) is None
        assert run_workbook("bank-daily", []) is None
    finally:
        get_settings.cache_clear()
