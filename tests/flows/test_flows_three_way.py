"""Daily three-way reconciliation flow: a clean day, exceptions stored, and bad or missing inputs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from conftest import set_accounts
from recon_days import WECHAT_HEADER, bank_accounts_env, three_way_day, write
from sqlmodel import select

from flows.bank import ReconciliationInputRejected
from flows.threeway import daily_three_way_reconciliation
from smartfin.reconciliation.models import ReconciliationRun, ReconException
from smartfin.store.db import session_scope


def setup_hospital(monkeypatch, hospital: str, account: str) -> None:
    monkeypatch.setenv("SMARTFIN_HOSPITAL", hospital)
    set_accounts(monkeypatch, bank_accounts_env(account))


def stored(hospital: str, day: date) -> tuple[ReconciliationRun, list[ReconException]]:
    with session_scope() as session:
        run = session.exec(select(ReconciliationRun).where(
            ReconciliationRun.kind == "three-way", ReconciliationRun.scope == hospital,
            ReconciliationRun.business_date == day)).one()
        return run, list(session.exec(select(ReconException).where(ReconException.run_id == run.id)).all())


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_clean_day_matches_every_level(flow_env: Path, monkeypatch, encoding: str):
    hospital, day = f"H-CLEAN-{encoding}", date(2024, 3, 1)
    setup_hospital(monkeypatch, hospital, "S-CLEAN")
    three_way_day(flow_env, hospital, "S-CLEAN", day, encoding=encoding)
    out = daily_three_way_reconciliation(business_date=day, open_reviews=False)
    assert out["outcome"] == "reconciled" and out["exceptions"] == 0
    assert out["auto_matched"] == 3  # two WeChat payments + the WeChat T+1 settlement
    run, exceptions = stored(hospital, day)
    assert exceptions == [] and run.run_count == 1


def test_exceptions_are_stored_pending_and_a_rerun_is_idempotent(flow_env: Path, monkeypatch):
    hospital, day = "H-EXC", date(2024, 3, 1)
    setup_hospital(monkeypatch, hospital, "S-EXC")
    three_way_day(flow_env, hospital, "S-EXC", day, his_only=True)
    write(flow_env / "three-way" / hospital / day.isoformat() / "cash.csv", "cashier,amount\nC1,25.00\n")
    for _ in range(2):
        out = daily_three_way_reconciliation(business_date=day, open_reviews=False)
    run, exceptions = stored(hospital, day)
    assert run.run_count == 2 and out["exceptions"] == 2
    assert sorted(e.type for e in exceptions) == ["CASHIER_LONG", "HIS_ONLY"]
    assert {e.status for e in exceptions} == {"pending"}


def test_day_without_files_is_an_explicit_exception(flow_env: Path, monkeypatch):
    hospital, day = "H-NOFILES", date(2024, 3, 1)
    setup_hospital(monkeypatch, hospital, "S-NOFILES")
    out = daily_three_way_reconciliation(business_date=day, open_reviews=False)
    assert out["outcome"] == "no_data"
    _, [exc] = stored(hospital, day)
    assert exc.type == "NO_DATA"


def test_missing_settlement_statement_fails_the_run_with_a_record(flow_env: Path, monkeypatch):
    hospital, day = "H-NOT1", date(2024, 3, 1)
    setup_hospital(monkeypatch, hospital, "S-NOT1")
    three_way_day(flow_env, hospital, "S-NOT1", day)
    (flow_env / "bank" / "S-NOT1" / "2024-03-02" / "statement.csv").unlink()
    with pytest.raises(ReconciliationInputRejected, match="2024-03-02"):
        daily_three_way_reconciliation(business_date=day, open_reviews=False)
    run, [exc] = stored(hospital, day)
    assert run.outcome == "input_rejected" and exc.type == "INPUT_REJECTED"


def test_channel_bill_with_a_renamed_column_is_refused(flow_env: Path, monkeypatch):
    hospital, day = "H-COLS", date(2024, 3, 1)
    setup_hospital(monkeypatch, hospital, "S-COLS")
    folder = three_way_day(flow_env, hospital, "S-COLS", day)
    write(folder / "wechat.csv", WECHAT_HEADER.replace("商户订单号", "订单编号")
          + "2024-03-01 09:00:00,W1,O1,SUCCESS,10.00,,,0.06\n", "gbk")
    with pytest.raises(ReconciliationInputRejected, match="order_id"):
        daily_three_way_reconciliation(business_date=day, open_reviews=False)
    _, [exc] = stored(hospital, day)
    assert "wechat.csv" in exc.references


def test_missing_his_export_is_refused(flow_env: Path, monkeypatch):
    hospital, day = "H-NOHIS", date(2024, 3, 1)
    setup_hospital(monkeypatch, hospital, "S-NOHIS")
    (three_way_day(flow_env, hospital, "S-NOHIS", day) / "his.csv").unlink()
    with pytest.raises(ReconciliationInputRejected, match="HIS export"):
        daily_three_way_reconciliation(business_date=day, open_reviews=False)
