"""Daily bank reconciliation flow: a clean day, reruns, and every kind of bad input at the flow level."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from conftest import set_accounts
from recon_days import (
    bank_accounts_env,
    clean_bank_day,
    ledger_csv,
    statement_csv,
    write,
)
from sqlmodel import select

from flows.bank import ReconciliationInputRejected, daily_bank_reconciliation
from smartfin.reconciliation.models import ReconciliationRun, ReconException, StatementImport
from smartfin.store.db import session_scope

DAY = date(2024, 3, 1)


def run_row(account: str, day: date = DAY) -> ReconciliationRun:
    with session_scope() as session:
        return session.exec(select(ReconciliationRun).where(
            ReconciliationRun.scope == account, ReconciliationRun.business_date == day)).one()


def exceptions_of(run_id: int) -> list[ReconException]:
    with session_scope() as session:
        return list(session.exec(select(ReconException).where(ReconException.run_id == run_id)).all())


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_clean_day_in_either_encoding_balances_and_reruns_idempotently(flow_env: Path, monkeypatch, encoding):
    account = f"A-CLEAN-{encoding}"
    set_accounts(monkeypatch, bank_accounts_env(account))
    clean_bank_day(flow_env, account, DAY, encoding)
    rows = daily_bank_reconciliation(business_date=DAY, open_reviews=False)
    assert rows[0]["outcome"] == "reconciled" and rows[0]["balanced"] is True
    assert rows[0]["auto_matched"] == 2 and rows[0]["exceptions"] == 0
    first = run_row(account)
    rows = daily_bank_reconciliation(business_date=DAY, open_reviews=False)  # rerun: no duplicate refusal
    again = run_row(account)
    assert again.id == first.id and again.run_count == 2 and again.auto_matched_count == 2
    with session_scope() as session:
        assert len(session.exec(select(StatementImport).where(StatementImport.account == account)).all()) == 1


def test_unmatched_items_and_imbalance_become_exceptions(flow_env: Path, monkeypatch):
    account = "A-OPEN"
    set_accounts(monkeypatch, bank_accounts_env(account))
    folder = clean_bank_day(flow_env, account, DAY)
    d = DAY.isoformat()
    write(folder / "statement.csv", statement_csv(account, [
        (f"{d} 09:12:00", "000123", "国药控股股份有限公司", "货款", "\"1,200.50\"", "", "98799.50"),
        (f"{d} 15:00:00", "000124", "北京市医疗保障事务中心", "医保结算款", "", "25000.00", "123799.50"),
        (f"{d} 16:00:00", "000125", "中国工商银行", "手续费", "12.00", "", "123787.50"),
    ]))
    rows = daily_bank_reconciliation(business_date=DAY, open_reviews=False)
    assert rows[0]["balanced"] is True  # the fee is a bank-only item on the 余额调节表
    types = sorted(e.type for e in exceptions_of(rows[0]["run_id"]))
    assert types == ["BANK_ONLY"]
    write(folder / "ledger.csv", ledger_csv([
        ("J-1", d, "-1200.50", "000123", "国药控股股份有限公司"),
        ("J-2", d, "25000.00", "", "北京市医疗保障事务中心"),
    ], "123700.00"))  # a ledger balance that no open item explains
    rows = daily_bank_reconciliation(business_date=DAY, open_reviews=False)
    types = sorted(e.type for e in exceptions_of(rows[0]["run_id"]))
    assert types == ["BALANCE_DIFFERENCE", "BANK_ONLY"]


def test_day_without_files_is_an_explicit_exception(flow_env: Path, monkeypatch):
    account = "A-EMPTY"
    set_accounts(monkeypatch, bank_accounts_env(account))
    rows = daily_bank_reconciliation(business_date=DAY, open_reviews=False)
    assert rows[0]["outcome"] == "no_data"
    [exc] = exceptions_of(rows[0]["run_id"])
    assert exc.type == "NO_DATA" and str(DAY) in exc.detail and exc.status == "pending"


def refused(account: str) -> ReconException:
    [exc] = exceptions_of(run_row(account).id)
    assert exc.type == "INPUT_REJECTED" and run_row(account).outcome == "input_rejected"
    return exc


def test_same_statement_twice_refused(flow_env: Path, monkeypatch):
    account = "A-TWICE"
    set_accounts(monkeypatch, bank_accounts_env(account))
    folder = clean_bank_day(flow_env, account, DAY, "gbk")
    (folder / "statement-again.csv").write_bytes((folder / "statement.csv").read_bytes().decode("gbk")
                                                 .encode("utf-8"))
    with pytest.raises(ReconciliationInputRejected, match=r"already imported|same statement"):
        daily_bank_reconciliation(business_date=DAY, open_reviews=False)
    assert "statement-again.csv" in refused(account).detail


def test_overlapping_statement_refused(flow_env: Path, monkeypatch):
    account = "A-OVERLAP"
    set_accounts(monkeypatch, bank_accounts_env(account))
    clean_bank_day(flow_env, account, DAY)
    daily_bank_reconciliation(business_date=DAY, open_reviews=False)
    nxt = date(2024, 3, 2)
    folder = flow_env / "bank" / account / nxt.isoformat()
    write(folder / "statement.csv", statement_csv(account, [
        (f"{DAY} 18:00:00", "000200", "某某物业", "物业费", "300.00", "", "123499.50"),
        (f"{nxt} 09:00:00", "000201", "某某物业", "物业费", "100.00", "", "123399.50"),
    ]))
    write(folder / "ledger.csv", ledger_csv([("J-9", nxt.isoformat(), "-100.00", "000201", "某某物业")], None))
    state = daily_bank_reconciliation(business_date=nxt, open_reviews=False, return_state=True)
    assert state.is_failed()
    assert "overlapping" in refused_on(account, nxt).detail


def test_rerun_with_a_corrected_statement_replaces_the_days_import(flow_env: Path, monkeypatch):
    account = "A-CORRECTED"
    set_accounts(monkeypatch, bank_accounts_env(account))
    folder = clean_bank_day(flow_env, account, DAY)
    first = daily_bank_reconciliation(business_date=DAY, open_reviews=False)[0]
    d = DAY.isoformat()
    write(folder / "statement.csv", statement_csv(account, [  # the bank reissued the day with its fee line
        (f"{d} 09:12:00", "000123", "国药控股股份有限公司", "货款", "\"1,200.50\"", "", "98799.50"),
        (f"{d} 15:00:00", "000124", "北京市医疗保障事务中心", "医保结算款", "", "25000.00", "123799.50"),
        (f"{d} 16:00:00", "000125", "中国工商银行", "手续费", "12.00", "", "123787.50"),
    ]))
    again = daily_bank_reconciliation(business_date=DAY, open_reviews=False)[0]
    assert again["run_id"] == first["run_id"] and again["statement_lines"] == 3
    with session_scope() as session:
        imports = session.exec(select(StatementImport).where(StatementImport.account == account)).all()
    assert [i.line_count for i in imports] == [3], "the reissued statement replaced the day's first import"
    assert sorted(e.type for e in exceptions_of(again["run_id"])) == ["BANK_ONLY"]


def refused_on(account: str, day: date) -> ReconException:
    [exc] = exceptions_of(run_row(account, day).id)
    assert exc.type == "INPUT_REJECTED"
    return exc


def test_renamed_column_named_in_the_error(flow_env: Path, monkeypatch):
    account = "A-COLUMNS"
    set_accounts(monkeypatch, bank_accounts_env(account))
    folder = clean_bank_day(flow_env, account, DAY)
    text = (folder / "statement.csv").read_text(encoding="utf-8").replace("交易时间", "交易时刻")
    write(folder / "statement.csv", text)
    with pytest.raises(ReconciliationInputRejected, match="booked_at"):
        daily_bank_reconciliation(business_date=DAY, open_reviews=False)
    assert "交易时刻" in refused(account).detail  # the headers seen are listed


def test_currency_mismatch_refused(flow_env: Path, monkeypatch):
    account = "A-USD"
    set_accounts(monkeypatch, bank_accounts_env(account))
    folder = clean_bank_day(flow_env, account, DAY)
    write(folder / "statement.csv", statement_csv(account, [
        (f"{DAY} 09:12:00", "000123", "国药控股股份有限公司", "货款", "\"1,200.50\"", "", "98799.50")],
        currency="美元"))
    with pytest.raises(ReconciliationInputRejected, match="currency USD"):
        daily_bank_reconciliation(business_date=DAY, open_reviews=False)
    refused(account)


def test_missing_ledger_export_refused(flow_env: Path, monkeypatch):
    account = "A-NOLEDGER"
    set_accounts(monkeypatch, bank_accounts_env(account))
    (clean_bank_day(flow_env, account, DAY) / "ledger.csv").unlink()
    with pytest.raises(ReconciliationInputRejected, match="journal export"):
        daily_bank_reconciliation(business_date=DAY, open_reviews=False)


def test_statement_download_runs_per_account_under_the_portal_limit(flow_env: Path, monkeypatch):
    account = "A-DOWNLOAD"
    set_accounts(monkeypatch, bank_accounts_env(account))
    source = flow_env.parent / "portal-files"
    clean_bank_day(source, account, DAY)
    calls: list[tuple[str, date]] = []

    def downloader(acct, day: date, folder: Path) -> list[Path]:
        calls.append((acct.account, day))
        saved = []
        for name in ("statement.csv", "ledger.csv"):
            target = folder / name
            target.write_bytes((source / "bank" / account / day.isoformat() / name).read_bytes())
            saved.append(target)
        return saved

    rows = daily_bank_reconciliation(business_date=DAY, open_reviews=False, downloader=downloader)
    assert calls == [(account, DAY)] and rows[0]["auto_matched"] == 2
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(f"portal:bank:login-{account}")
    assert limit.limit == 1
