"""Posting batch (vouchers → the posting function, exactly once) and the monthly budget execution monitor."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from flows.budget import budget_execution_monitor
from flows.deployments import deployments, scheduled_flows
from flows.posting import PostingReceipt, VoucherRejected, posting_batch
from smartfin.kernel.clock import hospital_today
from smartfin.ledger import BudgetLineKey, create_line, import_budget, pre_encumber, record_actual, set_budget
from smartfin.ledger.monitor import time_progress
from smartfin.ports.vouchers import payment_voucher
from smartfin.store.db import session_scope


def voucher(no: str, amount: str = "1200.00", credit: str | None = None) -> dict:
    """An approved payment voucher as the processes hand it over (``Voucher.as_variable()``)."""
    body = payment_voucher(document_type="claim", document_no=no, booked_on=date(2024, 3, 1),
                           summary=f"报销 {no}", amount=Decimal(amount), attachments=1).as_variable()
    if credit is not None:  # unbalanced: what a hand-edited export might contain
        body["lines"][1]["credit"] = credit
    return body


def test_posting_batch_posts_each_voucher_once_and_sets_aside_refusals(flow_env: Path, tmp_path: Path):
    root = tmp_path / "posting"
    (root / "outbox").mkdir(parents=True)
    for name, body in (("a", voucher("PB-1")), ("b", voucher("PB-2")), ("c", voucher("PB-3", credit="1.00")),
                       ("d", voucher("PB-4", amount="66.00"))):
        (root / "outbox" / f"{name}.json").write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    posted: list[str] = []

    def poster(v: dict) -> PostingReceipt:
        if v["documentNo"] == "PB-4":
            raise VoucherRejected("科目 5001 已停用 account 5001 is closed")
        posted.append(v["documentNo"])
        return PostingReceipt(f"记-{len(posted):04d}", "2024-03-01T18:00:00+08:00")

    out = posting_batch(folder=root, poster=poster)
    by_status = {o["voucher"]: o["status"] for o in out}
    assert by_status == {"claim:PB-1": "posted", "claim:PB-2": "posted", "c.json": "rejected",
                         "claim:PB-4": "rejected"}
    assert sorted(posted) == ["PB-1", "PB-2"]
    assert sorted(p.name for p in (root / "posted").glob("*.json") if ".result" not in p.name) == ["a.json", "b.json"]
    reason = json.loads((root / "rejected" / "c.result.json").read_text(encoding="utf-8"))["reason"]
    assert "1.00" in reason or "balance" in reason.lower() or "平" in reason
    # the same voucher approved again (re-exported) is recognised as posted, not handed to the bot
    (root / "outbox" / "a-again.json").write_text(json.dumps(voucher("PB-1")), encoding="utf-8")
    [again] = posting_batch(folder=root, poster=poster)
    assert again["status"] == "posted" and again["voucher_no"] == "记-0001" and sorted(posted) == ["PB-1", "PB-2"]


def test_time_progress_is_elapsed_months_over_twelve():
    assert time_progress(date(2026, 6, 30), 2026) == Decimal("50.00")
    assert time_progress(date(2026, 1, 31), 2026) == Decimal("8.33")
    assert time_progress(date(2027, 1, 1), 2026) == Decimal("100.00")


def test_budget_monitor_flags_slow_lines_and_writes_the_report(flow_env: Path, tmp_path: Path):
    year = 2031
    fast = BudgetLineKey(year, "T-BM-FAST", "30218", "fiscal")
    slow = BudgetLineKey(year, "T-BM-SLOW", "30215", "own", "PRJ-BM")
    with session_scope() as session:
        for key, name, budget in ((fast, "心内科耗材", "100000.00"), (slow, "学术会议", "50000.00")):
            create_line(session, key, actor="test", name=name)
            set_budget(session, key, Decimal(budget), document_no=f"B-{key.department}", actor="test")
        pre_encumber(session, fast, Decimal("60000.00"), document_type="claim", document_no="BM-1", actor="t")
        record_actual(session, document_type="claim", document_no="BM-1", actor="t", voucher_no="记-1")
        pre_encumber(session, slow, Decimal("5000.00"), document_type="claim", document_no="BM-2", actor="t")
        record_actual(session, document_type="claim", document_no="BM-2", actor="t", voucher_no="记-2")
    result = budget_execution_monitor(as_of=date(2031, 12, 31), fiscal_year=year)
    assert result["lines_under_40"] == 1 and result["lines_behind"] == 2
    assert result["execution_rate"] == "43.33" and result["progress"] == "100.00"
    page = Path(result["report"]).read_text(encoding="utf-8")
    assert "T-BM-SLOW" in page and "序时进度" in page and "<svg" in page and "10.00%" in page
    assert "学术会议" in page and "PRJ-BM" in page


def _artifacts(flow_run_id: Any) -> dict[str, str]:
    """What the finance director sees of one run in Prefect: its artifacts' content by key."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        # by REST: the 3.8 sync client sends the flow- and task-run filters it is not given as null (refused)
        artifacts = client.request("POST", "/artifacts/filter", json={
            "artifacts": {"flow_run_id": {"any_": [str(flow_run_id)]}}, "limit": 50, "offset": 0,
            "sort": "CREATED_DESC"}).json()
    return {a["key"] or a["type"]: _readable(a) for a in artifacts}


def _readable(artifact: dict[str, Any]) -> str:
    if artifact["type"] == "table":  # its rows come back as JSON text with \u escapes
        return json.dumps(json.loads(artifact["data"]), ensure_ascii=False)
    return str(artifact["data"])


@pytest.fixture
def run_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The flow-run log lines (the tests' Prefect logs only warnings, and not to the root logger)."""
    logger = logging.getLogger("prefect.flow_runs")
    caplog.set_level(logging.INFO, logger=logger.name)
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def test_budget_monitor_reads_unspent_and_unbudgeted_lines_in_words_never_none(
        flow_env: Path, run_log: pytest.LogCaptureFixture):
    """A demo-like ledger: lines imported with their year's budget and nothing spent yet, and one line with no
    budget. The report, the artifacts and the log show 0.00 % and "no budget", never None, nan or a dash."""
    year = 2032
    csv = ("fiscal_year,department,economic_code,funding_source,name,budget,effective_from,effective_to\n"
           f"{year},T-NONE-CARD,30218,fiscal,心内科 专用材料费,800000.00,{year}-01-01,{year}-12-31\n"
           f"{year},T-NONE-RAD,30213,fiscal,放射科 维修(护)费,600000.00,,\n"
           f"{year},T-NONE-ZERO,30215,own,无预算项目,0.00,,\n")
    with session_scope() as session:
        assert import_budget(session, csv.encode(), actor="finance", filename="none.csv").ok
    state = budget_execution_monitor(as_of=date(year, 3, 31), fiscal_year=year, return_state=True)
    result = state.result()
    assert result["execution_rate"] == "0.00" and result["lines_under_40"] == 2
    page = Path(result["report"]).read_text(encoding="utf-8")
    artifacts = _artifacts(state.state_details.flow_run_id)
    log = run_log.text
    assert {"budget-execution-summary", "budget-execution-by-department", "budget-lines-under-40"} <= set(artifacts)
    assert "¥1,400,000.00" in page and "¥1,400,000.00" in artifacts["budget-execution-summary"]
    for shown in (page, *artifacts.values(), log, json.dumps(result, ensure_ascii=False)):
        assert "None" not in shown and not re.search(r"\bnan\b", shown, re.IGNORECASE), shown[:2000]
    assert "0.00%" in page and "0.00%" in artifacts["budget-execution-summary"] and "0.00% vs" in log
    assert "无预算 no budget" in page and "无预算 no budget" in artifacts["budget-execution-by-department"]
    assert ">—<" not in page and "| — |" not in artifacts["budget-execution-summary"]

    # a year with no budget in effect at all: the headline figures say so in words
    run_log.clear()
    empty = budget_execution_monitor(as_of=date(year, 3, 31), fiscal_year=year + 1, return_state=True)
    summary = _artifacts(empty.state_details.flow_run_id)["budget-execution-summary"]
    assert empty.result()["execution_rate"] == "无预算 no budget"
    assert "None" not in summary + run_log.text and "无预算 no budget" in summary + run_log.text
    assert "无预算 no budget" in Path(empty.result()["report"]).read_text(encoding="utf-8")


def test_every_flow_is_deployed_with_a_cron_schedule(flow_env: Path):
    names = [f.name for f in scheduled_flows()]
    assert names == ["bank-daily", "three-way-daily", "inbox-scan", "posting-batch", "budget-monthly",
                     "budget-lapse", "cost-monthly", "insurance-daily", "insurance-monthly", "cash-forecast",
                     "delegation-sync"]
    built = deployments()
    assert [d.name for d in built] == names
    assert all(d.schedules and d.schedules[0].schedule.cron for d in built)
    assert built[0].schedules[0].schedule.timezone == "Asia/Shanghai"
    pooled = deployments(work_pool="smartfin")  # the cluster's: run by the pool's workers from the installed project
    assert {d.work_pool_name for d in pooled} == {"smartfin"}
    assert pooled[0].entrypoint == "flows.bank.daily_bank_reconciliation" and pooled[0].storage is None
    assert [d.schedules[0].schedule.cron for d in pooled] == [d.schedules[0].schedule.cron for d in built]


def test_posting_batch_posts_a_claims_recorded_voucher_and_sets_aside_a_changed_copy(flow_env: Path,
                                                                                     tmp_path: Path):
    """A claim's voucher in the outbox is only compared with the one its record justifies: a copy with
    another amount, or of a claim not approved for payment, is set aside; the recorded one is what is posted."""
    from smartfin.processes.reimbursement.claims import ClaimStatus
    from smartfin.processes.reimbursement.vouchers import recorded_claim_voucher
    from tests.security.posting_claims import recorded_claim

    good, unpaid = recorded_claim("880.00"), recorded_claim("90.00", status=ClaimStatus.SUBMITTED)
    pay_day = date(hospital_today().year, 3, 1)  # inside the claim's budget year: the payment re-checks the line
    with session_scope() as session:
        genuine = recorded_claim_voucher(session, good, pay_day).as_variable()
    changed = json.loads(json.dumps(genuine))
    for line in (*changed["lines"], *changed["budgetLines"]):
        for side in ("debit", "credit"):
            if line[side] != "0.00":
                line[side] = "8800.00"
    unpaid_copy = {**genuine, "documentNo": unpaid, "externalRef": None, "summary": f"报销 {unpaid}"}
    root = tmp_path / "posting"
    (root / "outbox").mkdir(parents=True)
    for name, body in (("a-changed", changed), ("b-unpaid", unpaid_copy)):
        (root / "outbox" / f"{name}.json").write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    posted: list[dict] = []

    def poster(v: dict) -> PostingReceipt:
        posted.append(v)
        return PostingReceipt(f"付-{len(posted):04d}", "2024-03-01T18:00:00+08:00")

    out = posting_batch(folder=root, poster=poster)
    assert [o["status"] for o in out] == ["rejected", "rejected"] and posted == []
    assert "8800.00" in json.loads((root / "rejected" / "a-changed.result.json").read_text(encoding="utf-8"))["reason"]
    next_day = (pay_day + timedelta(days=1)).isoformat()
    (root / "outbox" / "c-genuine.json").write_text(json.dumps({**genuine, "bookedOn": next_day}), encoding="utf-8")
    out = posting_batch(folder=root, poster=poster)
    assert [o["status"] for o in out] == ["posted"]
    assert [(v["documentNo"], v["lines"][0]["debit"]) for v in posted] == [(good, "880.00")]


def test_budget_monitor_names_departments_and_writes_the_workbook(flow_env: Path):
    """The director reads department names (as they were called on the report's day), in the page and in the
    Excel workbook beside it; the workbook never holds a formula, whatever a name says."""
    import io
    import zipfile

    import openpyxl
    from sqlmodel import col, select

    from smartfin.ledger import Department, import_departments

    year = 2033
    codes = ("T-DN-CARD", "T-DN-RAD")
    departments = ("code,name,class,valid_from,valid_to\n"
                   f"T-DN-CARD,心内科,临床服务类,{year}-01-01,{year}-06-30\n"
                   f"T-DN-CARD,心血管内科,临床服务类,{year}-07-01,\n"
                   f"T-DN-RAD,=1+2 放射科,医疗技术类,{year}-01-01,\n")
    lines = ("fiscal_year,department,economic_code,funding_source,name,budget,effective_from,effective_to\n"
             f"{year},T-DN-CARD,30218,fiscal,专用材料费,800000.00,{year}-01-01,{year}-12-31\n"
             f"{year},T-DN-RAD,30213,fiscal,维修(护)费,600000.00,{year}-01-01,{year}-12-31\n")
    try:
        with session_scope() as session:
            assert import_departments(session, departments.encode(), actor="finance", filename="d.csv").ok
            assert import_budget(session, lines.encode(), actor="finance", filename="dn.csv").ok
        march = budget_execution_monitor(as_of=date(year, 3, 31), fiscal_year=year)
        page = Path(march["report"]).read_text(encoding="utf-8")
        assert "心内科" in page and "心血管内科" not in page  # the name in force on 31 March
        december = budget_execution_monitor(as_of=date(year, 12, 31), fiscal_year=year)
        assert "心血管内科" in Path(december["report"]).read_text(encoding="utf-8")
        workbook = Path(december["workbook"])
        assert workbook.suffix == ".xlsx" and workbook.parent == Path(december["report"]).parent
        data = workbook.read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            assert not any("<f>" in book.read(n).decode() or "<f " in book.read(n).decode()
                           for n in book.namelist() if n.startswith("xl/worksheets/"))
        sheet = openpyxl.load_workbook(io.BytesIO(data))["科室 Departments"]
        names = {row[0].value: row[1].value for row in sheet.iter_rows(min_row=4)}  # below title, year and header
        assert names == {"T-DN-CARD": "心血管内科", "T-DN-RAD": "'=1+2 放射科"}
    finally:
        with session_scope() as session:  # the suite's other tests run without department master data
            for row in session.exec(select(Department).where(col(Department.code).in_(codes))).all():
                session.delete(row)
