"""The flows' part of `smartfin demo`: reconciliation days with exceptions in Tasklist, the voucher in the ERP.

The generated inputs are checked through the real parsers and matchers (each planted exception found, and
nothing else); the step itself runs twice against the session's engine, workers, stand-in portals and
Prefect server, and everything it adds must be there exactly once.
"""

from __future__ import annotations

import inspect
import json
import tomllib
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest
from sqlmodel import select

from extractors.exports.reconciliation import read_cash_export, read_his_export, read_ledger_export
from extractors.statements import ColumnMap, parse_channel_bill, parse_statement
from flows.demo.inputs import (
    CHANNELS,
    demo_statement,
    journal_closing,
    journal_csv,
    journal_with,
    patient_refund,
    plan_bank_day,
    statement_csv,
    three_way_day,
    transposed,
)
from flows.demo.runs import DemoStepFailed
from smartfin.kernel.money import from_fen
from smartfin.kernel.settings import PROJECT_ROOT, get_settings
from smartfin.reconciliation import MatchSettings, balance_statement_for, match_bank, reconcile_three_way
from smartfin.reconciliation.store import bank_open_item_exceptions

DAY = date(2026, 3, 10)  # a Tuesday
WINDOW = MatchSettings().date_window_days


# ------------------------------------------------------------------------------ the generated inputs


def reconcile_bank_day(folder: Path, account: str, bank: str, day: date, statement_file: tuple[str, bytes]
                       ) -> tuple[list[dict], bool, object]:
    """Write a statement, plan and write the journal (and the refund), match them as the flow does."""
    folder.mkdir(parents=True, exist_ok=True)
    name, data = statement_file
    (folder / name).write_bytes(data)
    statement = parse_statement(folder / name, account=account, bank=bank)
    plan = plan_bank_day(day, statement.lines)
    refund = patient_refund(day - timedelta(days=WINDOW))
    (folder / "refund.csv").write_text(journal_with(None, refund), encoding="utf-8")
    closing = journal_closing(statement.closing_balance_fen, plan, refund.amount_fen)
    (folder / "ledger.csv").write_text(journal_csv(plan.journal, closing), encoding="utf-8")
    ledger = read_ledger_export(folder / "ledger.csv")
    entries = pd.concat([ledger.entries, read_ledger_export(folder / "refund.csv").entries], ignore_index=True)
    result = match_bank(statement.lines, entries)
    balance = balance_statement_for(result, statement.closing_balance_fen, ledger.closing_balance_fen)
    return bank_open_item_exceptions(result, business_date=day, balance=balance), balance.balanced, plan


@pytest.mark.parametrize("bank", ["citybank", "icbc", "abc", "boc", "ccb"])
def test_bank_day_leaves_exactly_the_planted_exceptions_and_balances(tmp_path: Path, bank: str) -> None:
    account = "33010201040012345"
    lines = demo_statement(account, DAY, DAY - timedelta(days=1))
    text = statement_csv(account, lines, ColumnMap.load(bank)).encode("gbk")
    exceptions, balanced, plan = reconcile_bank_day(tmp_path, account, bank, DAY, ("statement.csv", text))
    found = sorted((e["type"], e["amount_fen"]) for e in exceptions)
    fees = [line for line in lines if "手续费" in line.memo]
    payments = [line for line in lines if line.amount_fen < 0 and line not in fees]
    refund = patient_refund(DAY - timedelta(days=WINDOW))
    assert found == sorted([("BANK_ONLY", fees[0].amount_fen), ("BANK_ONLY", payments[-1].amount_fen),
                            ("LEDGER_ONLY", refund.amount_fen)])
    assert balanced, "the 余额调节表 balances: every difference is an open item"
    assert plan.mistyped is not None and plan.mistyped.amount_fen == transposed(payments[-1].amount_fen)
    assert set(plan.settlements) == {c.name for c in CHANNELS} and all(v > 0 for v in plan.settlements.values())
    assert any("医疗保障" in line.counterparty for line in lines) and len(refund.counterparty) == 3  # a patient


def test_the_same_date_gives_the_same_files_and_another_date_other_files() -> None:
    cmap = ColumnMap.load("citybank")
    again = [statement_csv("A-1", demo_statement("A-1", DAY, DAY - timedelta(days=1)), cmap) for _ in range(2)]
    other = statement_csv("A-1", demo_statement("A-1", DAY + timedelta(days=1), DAY), cmap)
    assert again[0] == again[1] and again[0] != other
    settlements = {"wechat": 2_512_417, "alipay": 1_336_495, "unionpay": 3_032_412}
    assert three_way_day(DAY, settlements).files == three_way_day(DAY, settlements).files
    assert three_way_day(DAY, settlements).files != three_way_day(DAY + timedelta(days=1), settlements).files


def test_three_way_day_nets_to_the_bank_credits_and_plants_two_exceptions(tmp_path: Path) -> None:
    settled = DAY + timedelta(days=1)
    lines = demo_statement("33010201040012345", settled, DAY)
    (tmp_path / "statement.csv").write_bytes(
        statement_csv("33010201040012345", lines, ColumnMap.load("citybank")).encode("gbk"))
    statement = parse_statement(tmp_path / "statement.csv", account="33010201040012345", bank="citybank")
    plan = plan_bank_day(settled, statement.lines)
    day = three_way_day(DAY, plan.settlements)
    for name, data in day.files.items():
        (tmp_path / name).write_bytes(data)
    bills = pd.concat([parse_channel_bill(tmp_path / f"{c.name}.csv", ColumnMap.load(c.name)) for c in CHANNELS],
                      ignore_index=True)
    his = read_his_export(tmp_path / "his.csv")
    result = reconcile_three_way(his, bills, statement.lines, business_date=DAY,
                                 cash_deposits=read_cash_export(tmp_path / "cash.csv"))
    found = sorted((e["type"], e["amount_fen"]) for e in result.exceptions.to_dict("records"))
    assert found == [("CASHIER_SHORT", -day.short_fen), ("CHANNEL_ONLY", day.missing_fen)]
    assert (result.settlements["difference_fen"] == 0).all() and len(result.settlements) == 3
    assert day.missing_in_his.startswith("WX") and day.missing_in_his not in set(his["order_id"])
    assert (bills["kind"] == "refund").sum() == 2  # a same-day refund in WeChat and in Alipay
    assert day.files["alipay.csv"].decode("gbk").startswith("#支付宝业务明细查询")


def test_the_journal_fits_the_stand_in_banks_own_statements(tmp_path: Path) -> None:
    """With the portal source the statement is the online bank's; the journal and bills are fitted to it."""
    from portals.bank.exports import statement_camt053
    from portals.bank.statements import StatementBook

    book = StatementBook()
    account = book.account("33010201040012345")
    assert account is not None
    for back in range(7):  # a week: weekdays with transfers and fees, weekends with settlements only
        day = DAY - timedelta(days=back)
        folder = tmp_path / day.isoformat()
        exceptions, balanced, plan = reconcile_bank_day(
            folder, account.number, "citybank", day, ("statement.xml", statement_camt053(book.statement(account, day,
                                                                                                         day))))
        types = sorted(e["type"] for e in exceptions)
        fees = len([t for t in book.day(account, day) if t.debit_fen and "手续费" in t.purpose])
        assert types == sorted(["BANK_ONLY"] * (fees + 1) + ["LEDGER_ONLY"]), (day, types)
        assert balanced, day
        tw = three_way_day(day - timedelta(days=1), plan.settlements)
        assert tw.missing_fen > 0 and sorted(tw.files) == ["alipay.csv", "cash.csv", "his.csv", "unionpay.csv",
                                                            "wechat.csv"]


def test_transposed_amounts_and_a_journal_extended_once() -> None:
    assert transposed(-1_285_000) == -1_258_000  # ¥12,850.00 keyed as ¥12,580.00
    assert transposed(1_285_000, smaller=True) == 1_258_000
    assert transposed(1_258_000, smaller=True) == 1_250_800  # a receipt is only ever keyed lower
    assert transposed(111_100) == 120_100  # no two neighbouring digits differ: ¥90 off
    entry = patient_refund(DAY)
    assert journal_with(journal_with(None, entry), entry).count(entry.entry_id) == 1
    kept = journal_with("entry_id,date,amount,reference,counterparty,balance\n"
                        "J-1,2026-03-10,-10.00,,某供应商,990.00\n", entry).splitlines()
    assert kept[1].startswith("J-1,") and kept[2].startswith(entry.entry_id)
    assert kept[2].split(",")[-1] == str(from_fen(99_000 + entry.amount_fen))  # the running balance carried on


def test_the_demo_plugs_into_the_core_demo_by_entry_point() -> None:
    declared = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert declared["project"]["entry-points"]["smartfin.demo"] == {"flows": "flows.demo:step"}
    from flows.demo import step

    assert list(inspect.signature(step).parameters)[:2] == ["settings", "echo"]


def test_without_configured_accounts_the_demo_reconciles_the_stand_in_banks_account(monkeypatch) -> None:
    from flows.demo.reconciliation import DEMO_ACCOUNT, demo_bank_accounts
    from flows.threeway import settlement_account

    monkeypatch.delenv("SMARTFIN_BANK_ACCOUNTS", raising=False)
    get_settings.cache_clear()
    with demo_bank_accounts(get_settings()) as flows:
        assert settlement_account(flows) == DEMO_ACCOUNT
        assert get_settings().flows.bank_accounts == [DEMO_ACCOUNT]  # what the flows themselves read
    assert get_settings().flows.bank_accounts == []
    monkeypatch.setenv("SMARTFIN_BANK_ACCOUNTS", json.dumps([{"account": "A-OWN", "bank": "icbc"}]))
    get_settings.cache_clear()
    with demo_bank_accounts(get_settings()) as flows:
        assert settlement_account(flows).account == "A-OWN"
    get_settings.cache_clear()


# ------------------------------------------------------------------------------------ the voucher wait


def test_the_voucher_wait_fails_clearly_when_no_voucher_arrives(tmp_path: Path) -> None:
    from flows.demo.vouchers import await_vouchers
    from smartfin.store.db import get_engine

    empty = get_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    said: list[str] = []
    with pytest.raises(DemoStepFailed, match=r"posting outbox .* is empty"):
        await_vouchers(tmp_path / "posting", said.append, timeout_s=0.3, poll_s=0.05, engine=empty)
    assert "no approved voucher arrived" in said[-1]
    outbox = tmp_path / "posting" / "outbox"
    outbox.mkdir(parents=True)
    (outbox / "BX-1.json").write_text("{}", encoding="utf-8")
    await_vouchers(tmp_path / "posting", said.append, timeout_s=0, engine=empty)  # returns at once


# ------------------------------------------------------------------------------- the step, end to end

ACCOUNT = "33010288880004321"  # this test's own account, so no other test's statements overlap its days
HOSPITAL = "H-DEMO"


@pytest.fixture
def demo_env(flow_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The flows' settings of the demo; the demo departments the test loads (the cost month works them out)
    are removed after it: the suite's other tests run without department master data."""
    from sqlmodel import col, select

    from smartfin.app.demo import DEPARTMENTS_FILE
    from smartfin.ledger import Department
    from smartfin.store.db import session_scope

    monkeypatch.setenv("SMARTFIN_BANK_ACCOUNTS", json.dumps([{"account": ACCOUNT, "bank": "citybank"}]))
    monkeypatch.setenv("SMARTFIN_HOSPITAL", HOSPITAL)
    get_settings.cache_clear()
    codes = {line.split(",")[0] for line in DEPARTMENTS_FILE.read_text(encoding="utf-8").splitlines()[1:]}
    # the insurance step publishes last month on the stand-in settlement portal with its admin token, kept
    # where `smartfin up`'s stand-ins keep theirs
    from flows.demo.insurance import ADMIN_TOKEN_FILE
    from tests.conftest import STAND_IN_ADMIN_TOKEN

    token = get_settings().var_dir / "portals" / ADMIN_TOKEN_FILE
    token.parent.mkdir(parents=True, exist_ok=True)
    token.write_text(STAND_IN_ADMIN_TOKEN, encoding="utf-8")
    try:
        yield flow_env
    finally:
        token.unlink(missing_ok=True)
        with session_scope() as session:
            for row in session.exec(select(Department).where(col(Department.code).in_(codes))).all():
                session.delete(row)


def approved_claim_voucher_in_outbox() -> dict:
    """An approved claim with its payable amount reserved, its voucher where the posting batch takes it."""
    from smartfin.kernel.clock import hospital_today
    from smartfin.processes.reimbursement.vouchers import recorded_claim_voucher
    from smartfin.store.db import session_scope
    from tests.security.posting_claims import recorded_claim

    number = recorded_claim("1280.00")
    with session_scope() as session:
        voucher = recorded_claim_voucher(session, number, hospital_today()).as_variable()
    outbox = get_settings().flows.posting_root / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    (outbox / f"{number}.json").write_text(json.dumps(voucher, ensure_ascii=False), encoding="utf-8")
    return voucher


@pytest.mark.engine
@pytest.mark.browser
def test_the_step_twice_adds_each_day_review_and_voucher_once(camunda, workers, stand_in_portals, prefect_server,
                                                             demo_env) -> None:
    from flows.demo import step
    from flows.demo.reconciliation import DemoDays
    from smartfin.app.demo import import_demo_departments
    from smartfin.reconciliation.models import ReconciliationRun, ReconException, ReconReview
    from smartfin.store.db import session_scope
    from tests.conftest import STAND_IN_ADMIN_TOKEN
    from tests.support.engine import as_user, candidate_groups

    voucher = approved_claim_voucher_in_outbox()
    ref = voucher["externalRef"]
    import_demo_departments()  # as the core demo does before its plugins (removed by the fixture)
    said: list[str] = []
    first = step(get_settings(), said.append)
    second = step(get_settings(), said.append)

    days = DemoDays.latest()
    assert days.three_way == days.bank - timedelta(days=1)
    officer = as_user(camunda, "wang.fang")
    expected = {("bank", ACCOUNT, days.bank): ["BANK_ONLY", "BANK_ONLY", "LEDGER_ONLY"],
                ("three-way", HOSPITAL, days.three_way): ["CASHIER_SHORT", "CHANNEL_ONLY"]}
    for (kind, scope, day), types in expected.items():
        with session_scope() as session:
            [run] = session.exec(select(ReconciliationRun).where(
                ReconciliationRun.kind == kind, ReconciliationRun.scope == scope,
                ReconciliationRun.business_date == day)).all()
            stored = session.exec(select(ReconException).where(ReconException.run_id == run.id)).all()
            [review] = session.exec(select(ReconReview).where(ReconReview.run_id == run.id)).all()
        assert run.run_count == 2 and run.outcome not in ("no_data", "input_rejected")
        assert sorted(e.type for e in stored) == types and {e.status for e in stored} == {"pending"}
        assert review.business_key == f"{kind}/{scope}/{day}/1" and review.status == "open"
        started = camunda.get("/history/process-instance", processDefinitionKey="reconciliation-review",
                              processInstanceBusinessKey=review.business_key)
        assert len(started) == 1, f"one review process for {review.business_key}"
        [task] = officer.tasks(processInstanceBusinessKey=review.business_key)
        assert task["taskDefinitionKey"] == "reviewExceptions"
        assert candidate_groups(camunda, task["id"]) == ["finance-officer"]
        assert camunda.process_variables(task["processInstanceId"])["exceptionCount"] == len(types)
        guidance = [text for user, text in first if review.business_key in text]
        assert len(guidance) == 1 and f"{len(types)} exceptions" in guidance[0]
        assert [u for u, text in first if review.business_key in text] == ["wang.fang"]

    held = httpx.get(f"{stand_in_portals.urls['erp']}/__admin/vouchers", params={"ref": ref},
                     headers={"X-Admin-Token": STAND_IN_ADMIN_TOKEN}, timeout=15).json()
    assert held["count"] == 1, "the claim's voucher is in the ERP exactly once"
    number = held["vouchers"][0]["number"]
    assert not list((get_settings().flows.posting_root / "outbox").glob("*.json"))
    for guidance in (first, second):
        assert any(user == "wang.fang" and number in text and "voucher/search" in text for user, text in guidance)
    assert sorted(first) == sorted(second), "a re-run says the same"
    assert not any("no approved voucher" in line for line in said)
    assert any("fetched by the portal bot" in line for line in said), "the insurance month came from the portal"

    # last month's cost accounting of the demo departments: published once, with its pages and workbook
    from flows.cost import last_closed_month, report_folder
    from smartfin.costing.month import stored_result
    from smartfin.costing.tables import CostRun

    month = last_closed_month()
    assert sum(f"cost-monthly {month}:" in line for line in said) == 1
    assert any(f"cost month {month}: published by an earlier run" in line for line in said)
    with session_scope() as session:
        runs = session.exec(select(CostRun).where(CostRun.month == month)).all()
        result = stored_result(session, month)
    assert [r.status for r in runs] == ["published"] and result is not None
    totals = result.centre_costs.groupby("centre")["total_fen"].sum()
    assert set(totals[totals != 0].index) == {"MED", "CARD"}, "after allocation only the clinical centres hold cost"
    folder = report_folder(month)
    assert {p.name for p in folder.glob("*.html")} == {"MED.html", "CARD.html"}
    assert (folder / f"cost-{month}.xlsx").exists()
    assert any(str(folder / "CARD.html") in text for user, text in first if user == "liu.yang")
