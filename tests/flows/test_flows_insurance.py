"""insurance-daily and insurance-monthly once on a temporary database: files in the drop folders, runs and
exceptions stored, reports written; a rerun changes nothing; a refused file fails the run naming it."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from flows.insurance import InsuranceInputRefused, insurance_daily, insurance_monthly
from flows.sources import bank_day_dir, insurance_dir
from smartfin.insurance.daily import exception_truth_keys
from smartfin.insurance.samples import (
    Faults,
    generate_clearing,
    generate_days,
    write_day_files,
    write_month_files,
    write_table,
)
from smartfin.kernel.money import from_fen
from smartfin.kernel.spreadsheet import UNIT_YUAN
from tests.support.workbooks import header, header_row, table_rows

HOSPITAL = "H001"
DAY = date(2031, 11, 3)
MONTH = "2031-10"
ACCOUNT = "6222000011112222"


def _stored_exceptions(run_id: int) -> pd.DataFrame:
    from smartfin.insurance.store import run_exceptions
    from smartfin.store.db import session_scope

    with session_scope() as session:
        return run_exceptions(session, run_id)


def test_insurance_daily_reconciles_the_drop_folder_and_a_rerun_changes_nothing(flow_env: Path) -> None:
    sample = generate_days(DAY, 1, 1_000, seed=31)
    write_day_files(sample, insurance_dir(flow_env, HOSPITAL, DAY.isoformat()), DAY)
    first = insurance_daily(business_date=DAY)
    assert first["status"] == "exceptions"
    stored = _stored_exceptions(first["run_id"])
    assert exception_truth_keys(stored) == sample.truth
    folder = Path(first["reports"])
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert "重复结算 Duplicate" in page and "<svg" in page
    book = openpyxl.load_workbook(io.BytesIO((folder / f"insurance-{DAY.isoformat()}.xlsx").read_bytes()))
    assert book.sheetnames == ["异常 Exceptions", "汇总核对 Totals"]
    sheet = book["异常 Exceptions"]
    assert sheet["A1"].value == "医保日对账异常 Daily insurance exceptions" and DAY.isoformat() in sheet["A2"].value
    assert sheet.freeze_panes == f"A{header_row(sheet) + 1}" and header(sheet)[0] == "类型 Type"
    assert sheet.cell(row=header_row(sheet) - 1, column=len(header(sheet))).value == UNIT_YUAN
    rows = table_rows(sheet, cells=True)
    assert len(rows) == len(sample.truth) == len(stored)
    shown = Counter((r[1].value, None if r[4].value is None else Decimal(str(r[4].value))) for r in rows)
    assert shown == Counter((None if pd.isna(e["settlement_id"]) else str(e["settlement_id"]),
                             None if pd.isna(e["his_fen"]) else from_fen(int(e["his_fen"])))
                            for e in stored.to_dict("records"))
    assert all(r[4].number_format == "#,##0.00" for r in rows if r[4].value is not None)
    again = insurance_daily(business_date=DAY)
    assert again["run_id"] == first["run_id"] and again["run_count"] == 2
    assert set(again["imports"].values()) == {"unchanged"}
    assert len(_stored_exceptions(first["run_id"])) == len(stored)


def test_a_file_for_another_day_fails_the_run_and_is_stored_as_an_exception(flow_env: Path) -> None:
    day = date(2031, 11, 5)
    sample = generate_days(date(2031, 11, 4), 1, 200, seed=32, faults=Faults())
    folder = insurance_dir(flow_env, HOSPITAL, day.isoformat())
    write_day_files(sample, folder, date(2031, 11, 4))
    state = insurance_daily(business_date=day, return_state=True)
    assert state.is_failed()
    with pytest.raises(InsuranceInputRefused, match="holds settlements of 2031-11-04, the file is for 2031-11-05"):
        state.result()
    from sqlmodel import select

    from smartfin.insurance.tables import InsuranceRun
    from smartfin.store.db import session_scope

    with session_scope() as session:
        run = session.exec(select(InsuranceRun).where(InsuranceRun.period == day.isoformat())).one()
        status, run_id = run.status, run.id
    assert status == "refused"
    assert set(_stored_exceptions(run_id)["type"]) == {"input_refused"}


def test_insurance_monthly_matches_the_bank_and_reports_aging(flow_env: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from smartfin.kernel.settings import get_settings

    monkeypatch.setenv("SMARTFIN_BANK_ACCOUNTS", json.dumps([{"account": ACCOUNT, "bank": "icbc"}]))
    monkeypatch.setenv("SMARTFIN_INSURANCE_INCOME_ACCOUNT", ACCOUNT)
    get_settings.cache_clear()
    sample = generate_clearing(MONTH, HOSPITAL, late="resident")
    write_month_files(sample, insurance_dir(flow_env, HOSPITAL, MONTH))
    for receipt in sample.receipts.to_dict("records"):
        folder = bank_day_dir(flow_env, ACCOUNT, receipt["booked_at"])
        folder.mkdir(parents=True, exist_ok=True)
        statement = pd.DataFrame([{"booked_at": receipt["booked_at"].isoformat(), "credit": receipt["amount_fen"],
                                   "reference": receipt["reference"], "memo": receipt["memo"],
                                   "counterparty_name": receipt["counterparty_name"]}])
        statement["贷方发生额"] = statement["credit"].map(lambda f: f"{f // 100}.{f % 100:02d}")
        statement["借方发生额"] = ""
        statement = statement.rename(columns={"booked_at": "交易日期", "reference": "凭证号", "memo": "摘要",
                                              "counterparty_name": "对方户名"}).drop(columns=["credit"])
        (folder / "statement.csv").write_text(statement.to_csv(index=False), encoding="utf-8")
    as_of = date(2031, 12, 31)
    result = insurance_monthly(month=MONTH, as_of=as_of)
    stored = _stored_exceptions(result["run_id"])
    assert set(zip(stored["type"], stored["insurance_type"], strict=True)) == {("disbursement_unmatched",
                                                                                 "resident")}
    assert result["receipts_matched"] == 2
    aging = {a["insurance_type"]: a for a in result["aging"]}
    late = int(sample.statements.set_index("insurance_type").loc["resident", "disbursed_fen"])
    assert aging["resident"]["outstanding_fen"] == late and aging["resident"]["61-90"] == late
    assert aging["employee"]["outstanding_fen"] == 0
    folder = Path(result["reports"])
    book = openpyxl.load_workbook(io.BytesIO((folder / f"insurance-{MONTH}.xlsx").read_bytes()))
    assert book.sheetnames == ["清算单 Statements", "异常 Exceptions", "账龄 Aging", "DRG-DIP"]
    statements = book["清算单 Statements"]
    assert statements["A1"].value == "医保清算单 Insurance clearing statements" and MONTH in statements["A2"].value
    assert header(statements)[8] == "拨付 Disbursed" and statements.freeze_panes == f"A{header_row(statements) + 1}"
    disbursed = {r[1]: Decimal(str(r[8])) for r in table_rows(statements)}
    assert disbursed == {str(r["statement_no"]): from_fen(int(r["disbursed_fen"]))
                         for r in sample.statements.to_dict("records")}
    assert "拨付未到账" in (folder / "index.html").read_text(encoding="utf-8")
    again = insurance_monthly(month=MONTH, as_of=as_of)
    assert again["entries_booked"] == 0 and again["run_count"] == 2


def test_an_unbalanced_statement_with_its_month_named_in_the_file(flow_env: Path, tmp_path: Path) -> None:
    month = "2031-08"
    sample = generate_clearing(month, HOSPITAL, unbalanced="employee", late=None)
    folder = insurance_dir(flow_env, HOSPITAL, month)
    folder.mkdir(parents=True)
    write_table(sample.statements, "clearing", folder / "clearing.csv", encoding="gbk", chinese_codes=True)
    result = insurance_monthly(month=month, as_of=date(2031, 10, 1))
    assert result["status"] == "exceptions"
    stored = _stored_exceptions(result["run_id"])
    assert "statement_unbalanced" in set(stored["type"])


def test_smartfin_up_fetches_from_the_stand_in_and_opens_appeals_unless_configured() -> None:
    from flows.services import stack_flow_environment
    from smartfin.kernel.settings import Settings

    assert stack_flow_environment(Settings(stand_in_portals=True), {}) == {
        "SMARTFIN_INSURANCE_APPEALS": "true", "SMARTFIN_INSURANCE_SOURCE": "portal"}
    assert stack_flow_environment(Settings(stand_in_portals=False), {}) == {"SMARTFIN_INSURANCE_APPEALS": "true"}
    assert stack_flow_environment(Settings(stand_in_portals=True), {"SMARTFIN_INSURANCE_SOURCE": "folder",
                                                                    "SMARTFIN_INSURANCE_APPEALS": "false"}) == {}
