"""The weekly cash forecast (`cash-forecast`) once on a temporary database: files imported through the CLI from
a generated hospital, a bank statement's balance, the flow's stored runs (base and the standing scenario), its
report and workbook, a rerun that stores nothing new, and a scenario with an equipment payment from the CLI."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from flows.cash import cash_forecast
from smartfin.app.cash import IMPORTED_RECEIVABLES
from smartfin.app.cli import app
from smartfin.cashflow.samples import SampleHospital, generate_hospital
from smartfin.cashflow.tables import CashAlert, CashForecastRun
from smartfin.kernel.money import from_fen
from smartfin.kernel.spreadsheet import UNIT_YUAN
from smartfin.reconciliation.models import StatementImport
from smartfin.store.db import get_engine, session_scope
from tests.flows.conftest import set_accounts
from tests.support.workbooks import header, header_row, table_rows

ACCOUNT = "6222000000000001"
START = date(2025, 1, 1)
AS_OF = START + timedelta(days=520)


@pytest.fixture
def cash_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flow_env: Path) -> Iterator[Path]:
    from smartfin.kernel.settings import get_settings

    monkeypatch.setenv("SMARTFIN_DATABASE_URL", f"sqlite:///{tmp_path / 'cash.db'}")
    set_accounts(monkeypatch, json.dumps([{"account": ACCOUNT}]))
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield tmp_path
    get_engine.cache_clear()
    get_settings.cache_clear()


def _csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _files(h: SampleHospital, folder: Path) -> list[tuple[str, Path]]:
    inputs = h.inputs_at(AS_OF)
    history = ([["patient-receipt", d.day, _yuan(d.amount_fen), "", ""] for d in inputs.patient_history]
               + [["insurance-collection", c.collected_on, _yuan(c.amount_fen), c.insurance_type, c.service_month]
                  for c in inputs.insurance_history]
               + [["payroll", d.day, _yuan(d.amount_fen), "", ""] for d in inputs.payroll_history])
    receivables = [[AS_OF, r.insurance_type, r.service_month, _yuan(r.outstanding_fen), _yuan(r.billed_fen or 0)]
                   for r in inputs.receivables]
    payables = [[p.reference, p.supplier, p.category, p.accepted_on, _yuan(p.amount_fen), p.due_on,
                 paid if paid <= AS_OF else ""] for p, paid in h.invoices
                if p.accepted_on <= AS_OF and p.accepted_on > AS_OF - timedelta(days=70)]
    return [("history", _csv(folder / "history.csv", ["kind", "date", "amount", "insurance_type", "service_month"],
                             history)),
            ("receivables", _csv(folder / "receivables.csv",
                                 ["as_of", "insurance_type", "service_month", "outstanding", "billed"], receivables)),
            ("payables", _csv(folder / "payables.csv", ["reference", "supplier", "category", "accepted_on", "amount",
                                                        "due_on", "paid_on"], payables))]


def test_weekly_cash_forecast_on_a_temporary_database(cash_db: Path) -> None:
    hospital = generate_hospital(START, days=700, seed=3)
    runner = CliRunner()
    # no statement yet: the forecast names the account it cannot start from
    refused = runner.invoke(app, ["cash", "forecast"])
    assert refused.exit_code == 3 and f"without statements: {ACCOUNT}" in refused.output
    for kind, path in _files(hospital, cash_db):
        done = runner.invoke(app, ["cash", "import", kind, str(path)])
        assert done.exit_code == 0, done.output
    again = runner.invoke(app, ["cash", "import", "history", str(cash_db / "history.csv")])
    assert again.exit_code == 3 and "imported before" in again.output
    with session_scope() as session:
        session.add(StatementImport(account=ACCOUNT, fingerprint="f" * 64, source="camt053", period_start=AS_OF,
                                    period_end=AS_OF, line_count=12,
                                    closing_balance_fen=hospital.closing_balance(AS_OF)))

    result = cash_forecast(open_alert=False)
    assert result["as_of"] == AS_OF.isoformat() and result["alert"] is None and len(result["runs"]) == 2
    assert result["receivables"] == IMPORTED_RECEIVABLES       # no insurance ledger yet: the imported stand-in
    with session_scope() as session:
        runs = {r.scenario: r for r in session.exec(select(CashForecastRun)).all()}
        assert set(runs) == {"base", "insurance-30-days-late"}
        base, late = runs["base"], runs["insurance-30-days-late"]
        assert len(base.weeks) == 13 and len(base.days) == 14 and base.opening_fen == hospital.closing_balance(AS_OF)
        assert late.weeks[12]["closingFen"] < base.weeks[12]["closingFen"]
        assert session.exec(select(CashAlert)).all() == []
    # the forecast against what happened in the generated hospital, four weeks on
    actual = hospital.closing_balance(AS_OF + timedelta(days=28))
    assert abs(base.weeks[3]["closingFen"] - actual) / actual < 0.10
    page, workbook = Path(result["report"]), Path(result["workbook"])
    assert "<svg" in page.read_text(encoding="utf-8") and "insurance-30-days-late" in page.read_text(encoding="utf-8")
    assert "1 base 周 weeks" in openpyxl.load_workbook(workbook).sheetnames

    rerun = cash_forecast(open_alert=False)
    assert rerun["runs"] == result["runs"]
    shown = runner.invoke(app, ["cash", "forecast", "--as-of", AS_OF.isoformat()])
    assert shown.exit_code == 0 and f"insurance receivables from: {IMPORTED_RECEIVABLES}" in shown.output
    written = runner.invoke(app, ["cash", "report", "--as-of", AS_OF.isoformat(), "--out", str(cash_db / "out")])
    assert written.exit_code == 0, written.output
    assert (cash_db / "out" / f"cash-forecast-{AS_OF}.xlsx").is_file()
    _check_forecast_workbook(runner, cash_db / "forecast.xlsx", [base, late])
    listed = runner.invoke(app, ["cash", "alerts"])
    assert listed.exit_code == 0 and listed.output == ""

    shown = runner.invoke(app, ["cash", "forecast", "--as-of", AS_OF.isoformat(), "--scenario", "ct-scanner",
                                "--payment", f"{AS_OF + timedelta(days=10)}:60000000:CT-2026-01", "--json"])
    assert shown.exit_code == 0, shown.output
    [base_json, ct] = json.loads(shown.output)
    assert ct["scenario"] == "ct-scanner"
    assert base_json["weeks"][1]["closingFen"] - ct["weeks"][1]["closingFen"] == 60_000_000_00
    bad = runner.invoke(app, ["cash", "forecast", "--scenario", "x", "--payment", "2026-02-30:1"])
    assert bad.exit_code == 3 and "is not YYYY-MM-DD" in bad.output


def _check_forecast_workbook(runner: CliRunner, target: Path, runs: list[CashForecastRun]) -> None:
    """`cash report --xlsx`: one titled workbook whose weeks, days and drivers are the stored runs' figures."""
    written = runner.invoke(app, ["cash", "report", "--as-of", AS_OF.isoformat(), "--xlsx", str(target)])
    assert written.exit_code == 0, written.output
    again = runner.invoke(app, ["cash", "report", "--as-of", AS_OF.isoformat(), "--xlsx", str(target)])
    assert again.exit_code == 3 and "--force" in again.output
    none = runner.invoke(app, ["cash", "report", "--as-of", "2020-01-01", "--xlsx", str(target), "--force"])
    assert none.exit_code == 3 and "no forecast run stored for 2020-01-01" in none.output
    book = openpyxl.load_workbook(target)
    assert len(book.sheetnames) == 3 * len(runs)
    for number, run in enumerate(runs, start=1):
        weeks = book[f"{number} {run.scenario}"[:19] + " 周 weeks"]
        assert weeks["A1"].value == "资金预测（13 周）13-week cash forecast"
        assert AS_OF.isoformat() in weeks["A2"].value and run.scenario in weeks["A2"].value
        assert header(weeks)[:3] == ["周起 From", "至 To", "期初余额 Opening"]
        assert header(weeks)[-2:] == ["期末余额 Closing", "低于最低余额 Below minimum"]
        assert weeks.cell(row=header_row(weeks) - 1, column=len(header(weeks))).value == UNIT_YUAN
        assert weeks.freeze_panes == f"A{header_row(weeks) + 1}"
        rows = table_rows(weeks, cells=True)
        assert len(rows) == len(run.weeks) == 13
        for row, week in zip(rows, run.weeks, strict=True):
            assert row[0].value.date() == date.fromisoformat(week["start"])
            assert Decimal(str(row[2].value)) == from_fen(week["openingFen"])
            assert Decimal(str(row[-2].value)) == from_fen(week["closingFen"])
            assert row[-2].number_format == "#,##0.00"
            assert row[-1].value == ("是 yes" if week["closingFen"] < run.minimum_fen else "否 no")
        days = table_rows(book[f"{number} {run.scenario}"[:19] + " 日 days"])
        assert [Decimal(str(r[-2])) for r in days] == [from_fen(d["closingFen"]) for d in run.days]
        drivers = table_rows(book[f"{number} {run.scenario}"[:19] + " 驱动 drivers"])
        assert [Decimal(str(r[2])) for r in drivers] == [from_fen(d["amountFen"]) for d in run.drivers]
