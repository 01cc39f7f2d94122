"""Reconciliation exceptions reviewed in Tasklist on the real engine, the decision recorded back.

The daily bank flow runs against a local Prefect server, opens one ``reconciliation-review`` process per
exception batch (never two for the same exceptions, also when the day is re-run), a finance officer
resolves it, and the worker writes the decision into the reconciliation tables.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select

from smartfin.reconciliation.models import ReconciliationRun, ReconException, ReconReview
from smartfin.store.db import session_scope
from tests.support.engine import as_user, candidate_groups, open_task, process_ended, wait_for

pytestmark = pytest.mark.engine

DAY = date(2024, 4, 1)
ACCOUNT = "R-REVIEW-1"
STATEMENT = (f"账号：{ACCOUNT}\n交易时间,凭证号,对方单位名称,对方账号,摘要,借方发生额,贷方发生额,余额,币种\n"
             f"{DAY} 09:00:00,000501,国药控股股份有限公司,6222,货款,800.00,,9200.00,人民币\n"
             f"{DAY} 16:00:00,000502,中国工商银行,,手续费,12.00,,9188.00,人民币\n"
             f"{DAY} 17:00:00,000503,某某物业,,退款,,30.00,9218.00,人民币\n")
LEDGER = ("entry_id,date,amount,reference,counterparty,balance\n"
          f"J-501,{DAY},-800.00,000501,国药控股股份有限公司,9200.00\n")


@pytest.fixture
def bank_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from smartfin.kernel.settings import get_settings

    root = tmp_path / "reconciliation"
    folder = root / "bank" / ACCOUNT / DAY.isoformat()
    folder.mkdir(parents=True)
    (folder / "statement.csv").write_bytes(STATEMENT.encode("gbk"))
    (folder / "ledger.csv").write_text(LEDGER, encoding="utf-8")
    monkeypatch.setenv("SMARTFIN_RECONCILIATION_DIR", str(root))
    monkeypatch.setenv("SMARTFIN_BANK_ACCOUNTS", f'[{{"account": "{ACCOUNT}", "bank": "icbc"}}]')
    get_settings.cache_clear()
    yield root
    get_settings.cache_clear()


def review_instances(camunda, key: str) -> list[dict]:
    return camunda.get("/history/process-instance", processDefinitionKey="reconciliation-review",
                       processInstanceBusinessKey=key)


def test_exceptions_reviewed_in_tasklist_and_recorded(camunda, workers, prefect_server, bank_day):
    from flows.bank import daily_bank_reconciliation

    rows = daily_bank_reconciliation(business_date=DAY)
    key = rows[0]["review_key"]
    assert key == f"bank/{ACCOUNT}/{DAY}/1" and rows[0]["exceptions"] == 2
    with session_scope() as session:
        reviews = len(session.exec(select(ReconReview)).all())  # other tests of the session keep theirs
    daily_bank_reconciliation(business_date=DAY)  # a rerun opens no second review
    [instance] = review_instances(camunda, key)
    with session_scope() as session:
        assert len(session.exec(select(ReconReview)).all()) == reviews
        assert len(session.exec(select(ReconReview).where(ReconReview.business_key == key)).all()) == 1

    task = open_task(camunda, instance["id"])
    assert task["taskDefinitionKey"] == "reviewExceptions"
    assert candidate_groups(camunda, task["id"]) == ["finance-officer"]
    officer = as_user(camunda, "wang.fang")
    assert [t["id"] for t in officer.tasks(processInstanceBusinessKey=key)] == [task["id"]]
    variables = camunda.process_variables(instance["id"])
    assert variables["exceptionCount"] == 2 and variables["totalAmount"] == "42.00"
    assert "BANK_ONLY" in variables["exceptionSummary"] and "手续费" in variables["exceptionSummary"]
    assert as_user(camunda, "zhang.wei").tasks(processInstanceBusinessKey=key) == []  # not finance

    officer.complete_task(task["id"], {"decision": "written off",
                                       "comment": "手续费已补记凭证 记-0412；退款已核实 fee booked, refund checked"})
    process_ended(camunda, instance["id"])

    def recorded() -> list[ReconException]:
        with session_scope() as session:
            run = session.exec(select(ReconciliationRun).where(ReconciliationRun.scope == ACCOUNT)).one()
            rows = session.exec(select(ReconException).where(ReconException.run_id == run.id)).all()
            return list(rows) if all(r.status == "written off" for r in rows) else []

    exceptions = wait_for(recorded, 20, message="the resolution recorded in the tables")
    assert {e.resolved_by for e in exceptions} == {"wang.fang"}
    assert all("记-0412" in (e.resolution or "") for e in exceptions)
    with session_scope() as session:
        review = session.exec(select(ReconReview).where(ReconReview.business_key == key)).one()
        assert review.status == "resolved" and review.resolved_by == "wang.fang"

    daily_bank_reconciliation(business_date=DAY)  # rerun after the decision: kept, nothing reopened
    assert len(review_instances(camunda, key)) == 1
    assert review_instances(camunda, f"bank/{ACCOUNT}/{DAY}/2") == []
    with session_scope() as session:
        runs = [r.id for r in session.exec(select(ReconciliationRun).where(ReconciliationRun.scope == ACCOUNT))]
        statuses = [e.status for e in session.exec(select(ReconException).where(ReconException.run_id.in_(runs)))
                    if e.detail and "手续费" in e.detail]
    assert statuses == ["written off"]
