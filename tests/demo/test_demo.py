"""``smartfin demo`` as a newcomer runs it: twice, on a fresh var/, in its own process.

One demo installation serves the whole module (it starts its own engine, portals, workers and Prefect on
free ports, so it never meets the test session's engine), and ``smartfin down`` stops it at the end even
when a run fails. The checks read what the demo left: its database, the engine's history and tasks, the
stand-in ERP. After two runs each capability's demo data must be there exactly once.
"""

from __future__ import annotations

import csv
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from smartfin.app.demo_budget_loop import COMPILATION_HEADS, DEMO_ADJUSTMENTS, chain_numbers
from smartfin.app.demo_users import candidate_groups, demo_password
from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_now
from smartfin.kernel.settings import Settings
from smartfin.ledger import Bucket, document_holdings
from smartfin.posting.journal import VoucherPosting
from smartfin.processes.adjustment.adjustments import BudgetAdjustment
from smartfin.processes.approvals import recorded_decisions
from smartfin.processes.contracts.contracts import Contract, ContractPayment
from smartfin.processes.procurement.proposals import EquipmentProposalRecord
from smartfin.processes.reimbursement.claims import Claim, ClaimFile, InvoiceRegistration
from smartfin.processes.spending.requests import SpendingRequest
from smartfin.store.db import make_engine
from tests.support.tasklist_browser import log_in

pytestmark = [pytest.mark.engine, pytest.mark.own_engine]

ROOT = Path(__file__).resolve().parents[2]
YEAR = hospital_now().year
CLAIMS = [f"DEMO-BX-{YEAR}-0{i}" for i in range(1, 5)]
CLEAN, IN_REVIEW, DUPLICATE, PAID = CLAIMS
PROPOSAL = f"DEMO-EQ-{YEAR}-01"
REQUESTS = [f"DEMO-{YEAR}-{i:03d}" for i in range(1, 9)]
COMMITTEE = ["he.ping", "wu.hao", "xu.jing"]
CHAIN_REQUEST, CHAIN_CONTRACT, CHAIN_CLAIM = chain_numbers(YEAR)
DEMO_TIMEOUT_S = 900


@dataclass
class DemoInstall:
    """The demo installation after its two runs."""

    settings: Settings
    outputs: list[str]
    db: Engine
    engine: EngineClient

    def rows(self, table: Any, *where: Any) -> list[Any]:
        with Session(self.db) as session:
            return list(session.exec(select(table).where(*where)).all())

    def instances(self, business_key: str) -> list[dict[str, Any]]:
        """Every process instance the engine ever started with this business key."""
        return list(self.engine.get("/history/process-instance", processInstanceBusinessKey=business_key))

    def open_tasks(self, business_key: str) -> list[dict[str, Any]]:
        return list(self.engine.get("/task", processInstanceBusinessKey=business_key))

    def erp_vouchers(self, ref: str) -> list[dict[str, Any]]:
        token = (self.settings.var_dir / "portals" / "admin-token").read_text(encoding="utf-8").strip()
        response = httpx.get(f"{self.settings.erp_url}/__admin/vouchers", params={"ref": ref},
                             headers={"X-Admin-Token": token}, timeout=15)
        response.raise_for_status()
        return list(response.json()["vouchers"])


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _demo_environment(var: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """A user's environment (nothing of the test session's SmartFin or Prefect settings), with its own
    var/ and ports; returns it with the matching settings values."""
    engine, erp, bank, tax, insurance, upload, dashboard, prefect = _free_ports(8)
    values: dict[str, Any] = {
        "var_dir": var, "engine_url": f"http://127.0.0.1:{engine}", "erp_url": f"http://127.0.0.1:{erp}",
        "bank_url": f"http://127.0.0.1:{bank}", "tax_url": f"http://127.0.0.1:{tax}",
        "insurance_url": f"http://127.0.0.1:{insurance}", "upload_page_port": upload, "dashboard_port": dashboard,
    }
    env = {name: value for name, value in os.environ.items() if not name.startswith(("SMARTFIN_", "PREFECT_"))}
    env.update({f"SMARTFIN_{name.upper()}": str(value) for name, value in values.items()})
    env.update({"SMARTFIN_PREFECT_PORT": str(prefect), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "DO_NOT_TRACK": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))})
    return env, values


def _cli(env: dict[str, str], *args: str, timeout: float = DEMO_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """The command line as a user runs it: the repository's Python, from the repository root."""
    return subprocess.run([sys.executable, "-m", "smartfin.app.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoInstall]:
    var = tmp_path_factory.mktemp("demo-var")
    env, values = _demo_environment(var)
    outputs: list[str] = []
    try:
        for attempt in (1, 2):
            run = _cli(env, "demo")
            outputs.append(run.stdout)
            if run.returncode != 0:
                pytest.fail(f"smartfin demo run {attempt} failed (exit {run.returncode}):\n"
                            f"{run.stdout[-4000:]}\n{run.stderr[-6000:]}", pytrace=False)
        settings = Settings(**values)
        db = make_engine(f"sqlite:///{var / 'smartfin.db'}")
        engine = EngineClient.from_settings(settings)
        yield DemoInstall(settings, outputs, db, engine)
        engine.close()
        db.dispose()
    finally:
        _cli(env, "down", timeout=300)


# ------------------------------------------------------------------------------------------ the runs

def test_the_second_run_adds_nothing(demo: DemoInstall) -> None:
    first, second = demo.outputs
    assert "submitted by zhang.wei" in first and f"{PROPOSAL}: 128排CT submitted by zhang.wei" in first
    assert "spending requests: DEMO-" in first
    assert "submitted by" not in second, second
    assert "spending requests: already submitted" in second
    assert f"equipment proposal {PROPOSAL}: already submitted" in second
    assert all(f"{number}: " in second and "(set up by an earlier run)" in second for number in CLAIMS)
    assert re.search(r"budget \d{4}: \d+ lines budgeted already", second)


# ---------------------------------------------------------------------------------- spending requests

def test_each_spending_request_exists_once_and_waits_at_its_tier(demo: DemoInstall) -> None:
    rows = demo.rows(SpendingRequest, col(SpendingRequest.request_no).startswith("DEMO-"),
                     col(SpendingRequest.request_no) != CHAIN_REQUEST)
    assert sorted(row.request_no for row in rows) == REQUESTS
    waiting = {}
    for number in REQUESTS:
        assert len(demo.instances(number)) == 1, f"{number} was started more than once"
        [task] = demo.open_tasks(number)
        waiting[number] = task["assignee"] or candidate_groups(demo.engine, task["id"])
    over_budget = REQUESTS[4]
    assert waiting.pop(over_budget) == "zhang.wei", "the overspend report waits for the requester"
    # each at its own department's head (the demo records every department's head: dept-head.<code>)
    department = {row.request_no: row.department for row in rows}
    assert waiting == {number: [f"dept-head.{department[number]}"] for number in waiting}
    assert {groups[0] for groups in waiting.values()} == {"dept-head.CARD", "dept-head.RAD"}


# ----------------------------------------------------------------------------------------- the claims

def test_the_four_claims_exist_once_each_where_the_demo_left_them(demo: DemoInstall) -> None:
    claims = {row.claim_no: row for row in demo.rows(Claim, col(Claim.claim_no).startswith("DEMO-BX-"))}
    assert sorted(claims) == CLAIMS
    for number in CLAIMS:
        assert len(demo.instances(number)) == 1, f"{number} was started more than once"
    files = Counter(row.claim_no for row in demo.rows(ClaimFile, col(ClaimFile.claim_no).in_(CLAIMS)))
    assert files == {CLEAN: 1, IN_REVIEW: 2, DUPLICATE: 1, PAID: 1}, "no file attached twice"

    clean = claims[CLEAN]
    [task] = demo.open_tasks(CLEAN)
    assert (clean.status, task["taskDefinitionKey"]) == ("submitted", "approveClaim")
    assert candidate_groups(demo.engine, task["id"]) == [f"dept-head.{clean.department}"]
    assert not [f for f in clean.findings_list if f["severity"] == "block"]

    review = claims[IN_REVIEW]
    [task] = demo.open_tasks(IN_REVIEW)
    assert task["taskDefinitionKey"] == "reviewInvoices"
    assert candidate_groups(demo.engine, task["id"]) == ["finance-officer"]
    assert "LODGING_OVER_STANDARD" in [f["code"] for f in review.findings_list]

    duplicate = claims[DUPLICATE]
    assert duplicate.status == "rejected" and not demo.open_tasks(DUPLICATE)
    [found] = [f for f in duplicate.findings_list if f["code"] == "INVOICE_DUPLICATE"]
    assert CLEAN in found["message"] and CLEAN in (duplicate.closing_reason or "")

    paid = claims[PAID]
    assert paid.status == "paid" and paid.voucher_no and not demo.open_tasks(PAID)


def test_each_invoice_is_held_by_one_claim_only(demo: DemoInstall) -> None:
    live = demo.rows(InvoiceRegistration, col(InvoiceRegistration.claim_no).in_(CLAIMS),
                     col(InvoiceRegistration.released_at).is_(None))
    holders = Counter(row.invoice_key for row in live)
    assert set(holders.values()) == {1}
    assert sorted(row.claim_no for row in live) == [CLEAN, IN_REVIEW, IN_REVIEW, PAID], \
        "the duplicate holds nothing; the first claim keeps its invoice"


def test_the_paid_claim_was_signed_once_per_step_and_posted_once(demo: DemoInstall) -> None:
    with Session(demo.db) as session:
        decisions = recorded_decisions(session, "reimbursement-claim", PAID)
        held = document_holdings(session, "reimbursement-claim", PAID)
        clean_held = document_holdings(session, "reimbursement-claim", CLEAN)
        paid = session.get(Claim, PAID)
        clean = session.get(Claim, CLEAN)
    assert paid is not None and clean is not None
    signed = [(d.task_key, d.candidate_group, d.user_id) for d in decisions]
    assert paid.department == "CARD"
    assert signed == [("approveClaim", "dept-head.CARD", "li.na"), ("approveClaim", "vice-president", "chen.jie"),
                      ("approveClaim", "finance-officer", "wang.fang"),
                      ("approveClaim", "chief-accountant", "liu.yang"),
                      ("financeAudit", "finance-officer", "wang.fang")]
    assert (held[Bucket.PRE_ENCUMBRANCE], held[Bucket.ACTUAL]) == (0, paid.payable)
    assert clean_held[Bucket.PRE_ENCUMBRANCE] == clean.payable, "the claim waiting for approval is reserved"

    [voucher] = demo.erp_vouchers(f"reimbursement-claim:{PAID}")
    assert voucher["number"] == paid.voucher_no
    [posting] = demo.rows(VoucherPosting, VoucherPosting.document_no == PAID)
    assert (posting.state, posting.voucher_no) == ("posted", paid.voucher_no)


def test_the_generated_e_invoices_are_there_to_open(demo: DemoInstall) -> None:
    folder = demo.settings.var_dir / "demo" / "invoices"
    names = {number: sorted(p.name for p in (folder / number).iterdir()) for number in CLAIMS}
    assert names[CLEAN] == names[DUPLICATE] and names[CLEAN][0].startswith("dzfp_")
    assert sorted(Path(n).suffix for n in names[IN_REVIEW]) == [".pdf", ".xml"]
    xml = (folder / CLEAN / names[CLEAN][0]).read_text(encoding="utf-8")
    assert "滨江市第一人民医院" in xml and "一次性使用压力延长管" in xml


# ---------------------------------------------------------------------------------------- procurement

def test_the_ct_proposal_exists_once_and_waits_for_the_committee(demo: DemoInstall) -> None:
    [proposal] = demo.rows(EquipmentProposalRecord,
                           col(EquipmentProposalRecord.proposal_no).startswith("DEMO-EQ-"))
    assert (proposal.proposal_no, proposal.proposer, proposal.total_investment) == (PROPOSAL, "zhang.wei",
                                                                                     12_420_000)
    assert len(demo.instances(PROPOSAL)) == 1
    ballots = demo.open_tasks(PROPOSAL)
    assert {t["taskDefinitionKey"] for t in ballots} == {"committeeVote"}
    assert sorted(t["assignee"] for t in ballots) == COMMITTEE


# ------------------------------------------------------------------------------------ budget closed loop

def test_next_years_compilation_waits_for_the_heads_first_drafts(demo: DemoInstall) -> None:
    from smartfin.budgeting import current_drafts, pool_projects, project_targets
    from smartfin.budgeting.rounds import get_round

    year = YEAR + 1
    with Session(demo.db) as session:
        compilation_round = get_round(session, year)
        projects = pool_projects(session, year)
        targets = {p.department: len(project_targets(session, p.id)) for p in projects if p.id is not None}
        drafts = [(d.department, d.uploaded_by) for d in current_drafts(session, year, "first")]
    assert compilation_round.stage == "first" and compilation_round.guidance
    assert compilation_round.first_deadline > hospital_now().date()
    assert set(targets) == set(COMPILATION_HEADS) and all(targets.values()), "projects with targets per department"
    assert drafts == [("CARD", "li.na")], "one 一上 draft, uploaded once"
    [instance] = demo.instances(f"BUDGET-{year}")
    waiting = demo.engine.tasks(processInstanceId=instance["id"], taskDefinitionKey="firstSubmitDraft")
    assert sorted(t["assignee"] for t in waiting) == ["feng.tao", "qian.yu"]
    done = demo.engine.get("/history/task", processInstanceId=instance["id"], taskDefinitionKey="firstSubmitDraft",
                           taskAssignee="li.na", finished="true")
    assert len(done) == 1, "li.na completed her 一上 task once"
    for head in ("qian.yu", "feng.tao"):
        block = _block(demo.outputs[1], head)
        assert any(line.startswith("Tasklist") and f"BUDGET-{year}" in line for line in block), block
        assert any(f":{demo.settings.upload_page_port}" in line and "upload it" in line for line in block), block


def test_the_two_adjustments_exist_once_and_wait_at_their_tiers(demo: DemoInstall) -> None:
    rows = demo.rows(BudgetAdjustment, col(BudgetAdjustment.reason).in_([a[0] for a in DEMO_ADJUSTMENTS]))
    by_reason = {row.reason: row for row in rows}
    assert len(rows) == len(by_reason) == 2, "each demo adjustment submitted once"
    small, cross = (by_reason[a[0]] for a in DEMO_ADJUSTMENTS)
    assert (small.cross_department, small.requester, small.status) == (False, "zhang.wei", "submitted")
    assert (cross.cross_department, cross.status) == (True, "submitted")
    for row, group in ((small, "finance-head"), (cross, "president")):
        assert len(demo.instances(row.adjustment_no)) == 1
        [task] = demo.open_tasks(row.adjustment_no)
        assert candidate_groups(demo.engine, task["id"]) == [group], (row.adjustment_no, task["name"])
    output = demo.outputs[1]
    assert any(small.adjustment_no in line for line in _block(output, "guo.hua"))
    assert any(cross.adjustment_no in line for line in _block(output, "zhao.lei"))


def test_the_commitment_chain_carries_one_reservation(demo: DemoInstall) -> None:
    with Session(demo.db) as session:
        request = document_holdings(session, "spending-request", CHAIN_REQUEST)
        contract = document_holdings(session, "contract", CHAIN_CONTRACT)
        claim = document_holdings(session, "reimbursement-claim", CHAIN_CLAIM)
        row = session.get(Contract, CHAIN_CONTRACT)
        payments = list(session.exec(select(ContractPayment).where(ContractPayment.contract_no == CHAIN_CONTRACT)))
        claimed = session.get(Claim, CHAIN_CLAIM)
    assert row is not None and (row.request_no, row.amount, row.registered_by) == (CHAIN_REQUEST,
                                                                                   Decimal("8850.00"), "wang.fang")
    assert sum(p.amount for p in payments) == row.amount and len(payments) == 2
    assert claimed is not None and claimed.references_dict == {"contract_no": CHAIN_CONTRACT}
    assert request[Bucket.PRE_ENCUMBRANCE] == 0, "the saving of ¥750 went back to the line"
    assert claim[Bucket.PRE_ENCUMBRANCE] == claimed.payable == Decimal("4425.00")
    assert contract[Bucket.ENCUMBRANCE] == row.amount - claimed.payable, "the claim took its instalment over"
    for number in (CHAIN_REQUEST, CHAIN_CLAIM):
        assert len(demo.instances(number)) == 1, f"{number} was started more than once"
    [task] = demo.open_tasks(CHAIN_CLAIM)
    assert task["taskDefinitionKey"] == "approveClaim"
    assert candidate_groups(demo.engine, task["id"]) == [f"dept-head.{claimed.department}"]
    assert any(f"smartfin document chain {CHAIN_REQUEST}" in line for line in _block(demo.outputs[1], "zhang.wei"))
    assert any(CHAIN_CLAIM in line for line in _block(demo.outputs[1], "li.na"))


def test_the_assessment_report_of_the_year_so_far_is_written(demo: DemoInstall) -> None:
    pages = sorted((demo.settings.var_dir / "reports").glob(f"assessment-{YEAR}-*.html"))
    assert pages and pages[-1].with_suffix(".xlsx").exists()
    text = pages[-1].read_text(encoding="utf-8")
    assert "CARD" in text or "心血管内科" in text
    assert any(str(pages[-1]) in line for line in _block(demo.outputs[1], "liu.yang"))


# ------------------------------------------------------------------------------------------- guidance

def _block(output: str, user: str) -> list[str]:
    """The guidance lines printed under one demo user."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{user} "))
    block = []
    for line in lines[start + 1:]:
        if not line.startswith("    · "):
            break
        block.append(line.removeprefix("    · "))
    return block


def test_the_guidance_tells_each_person_what_to_open(demo: DemoInstall) -> None:
    output = demo.outputs[1]
    assert f"Tasklist: {demo.settings.tasklist_url}" in output
    officer = _block(output, "wang.fang")
    assert next(line for line in output.splitlines() if line.startswith("wang.fang ")).split()[1:] == \
        ["王芳", "finance-officer"]
    assert any("财务审核员待办" in line and "复核发票" in line and IN_REVIEW in line
               for line in officer), officer
    assert any(f"reimbursement-claim:{PAID}" in line and demo.settings.erp_url in line for line in officer)
    assert any(f"smartfin claim show {DUPLICATE}" in line for line in officer)
    head = _block(output, "li.na")
    assert any("审批报销单 Approve claim" in line and CLEAN in line for line in head)
    assert any("审批支出申请 Approve spending request" in line and REQUESTS[0] in line for line in head)
    for member in COMMITTEE:
        assert any("委员表决" in line and PROPOSAL in line for line in _block(output, member)), member
    assert any(f"smartfin claim show {CLEAN}" in line for line in _block(output, "zhang.wei"))
    assert _block(output, "liu.yang") and _block(output, "ma.lin")


# ------------------------------------------------------------------------------------------ the browser

@pytest.mark.browser
def test_the_finance_officer_finds_the_demo_review_in_tasklist(demo: DemoInstall) -> None:
    from playwright.sync_api import expect, sync_playwright

    from bots.browser import launch_chromium

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        page = context.new_page()
        try:
            log_in(page, demo.settings.tasklist_url, "wang.fang", demo_password())
            page.get_by_text("财务审核员待办").click()
            page.get_by_text("复核发票 Review and correct invoices").first.click()
            form = page.locator(".fjs-form")
            expect(form.get_by_label("报销单号 Claim no.")).to_have_value(IN_REVIEW)
            expect(form.get_by_label("问题 Findings")).to_have_value(re.compile("LODGING_OVER_STANDARD"))
            if _flows_plugin_installed():  # the reconciliations' exceptions wait in the same list
                page.get_by_text("财务审核员待办").click()
                expect(page.get_by_text("处理对账差异 Review reconciliation exceptions").first).to_be_visible()
        finally:
            context.close()
            browser.close()


# -------------------------------------------------------------------------------- the flows' demo data

def _flows_plugin_installed() -> bool:
    return any(point.name == "flows" for point in entry_points(group="smartfin.demo"))


@pytest.mark.skipif(not _flows_plugin_installed(),
                    reason="the flows' demo step (entry point smartfin.demo: flows = flows.demo:step) is not installed")
def test_the_flows_demo_data_exists_once(demo: DemoInstall) -> None:
    """Posting into the stand-in ERP and yesterday's bank and three-way reconciliation, from the flows'
    plugin step: every voucher posted once, every reconciliation day run and reviewed once."""
    assert all("— flows —" in output for output in demo.outputs)

    posting = demo.settings.var_dir / "posting"  # the default SMARTFIN_POSTING_DIR
    assert not list((posting / "outbox").glob("*.json")), "nothing left waiting in the outbox"
    posted = [json.loads(path.read_text(encoding="utf-8")) for path in (posting / "posted").glob("*.result.json")]
    with sqlite3.connect(demo.settings.var_dir / "portals" / "erp.sqlite3") as erp:
        refs = Counter(ref for (ref,) in erp.execute("SELECT external_ref FROM vouchers"))
    assert refs[f"reimbursement-claim:{PAID}"] == 1, "the paid claim's voucher is in the ERP once"
    assert all(refs[note["externalRef"]] == 1 for note in posted), refs
    assert set(refs.values()) == {1}, refs

    with demo.db.connect() as connection:
        runs = connection.exec_driver_sql("SELECT kind, scope, business_date FROM recon_run").fetchall()
        reviews = connection.exec_driver_sql("SELECT business_key, process_instance_id FROM recon_review").fetchall()
    assert {"bank", "three-way"} <= {kind for kind, _, _ in runs}
    assert len(runs) == len(set(runs))
    assert reviews, "the reconciliations' exceptions wait for review"
    open_reviews = 0
    for business_key, instance in reviews:
        assert instance and len(demo.instances(business_key)) == 1, f"review {business_key} started twice"
        for task in demo.open_tasks(business_key):
            assert candidate_groups(demo.engine, task["id"]) == ["finance-officer"]
            open_reviews += 1
    assert open_reviews, "at least one reconciliation review waits in Tasklist"


def _demo_budget_total() -> Decimal:
    with (ROOT / "smartfin" / "app" / "demo_budget.csv").open(encoding="utf-8", newline="") as handle:
        return sum((Decimal(row["budget"]) for row in csv.DictReader(handle)), Decimal("0"))


@pytest.mark.skipif(not _flows_plugin_installed(),
                    reason="the flows' demo step (entry point smartfin.demo: flows = flows.demo:step) is not installed")
def test_the_budget_report_of_last_month_shows_the_demo_budget(demo: DemoInstall) -> None:
    """The demo budget takes effect on 1 January: the report as of the month just closed shows all of it,
    with department names, and no None anywhere — however late in the year the demo was first run."""
    from flows.demo.budget import report_day

    day = report_day()
    page = demo.settings.var_dir / "reports" / f"budget-execution-{day.year}-{day:%m-%d}.html"
    assert page.exists() and page.with_suffix(".xlsx").exists(), sorted(page.parent.glob("*"))
    text = page.read_text(encoding="utf-8")
    assert f"¥{_demo_budget_total():,.2f}" in text, "the whole demo budget is in force on the report's day"
    assert "¥0.00</div>" not in text.split("已执行")[0], "the total budget is not zero"
    assert "心血管内科" in text and "放射科" in text, "departments by name"
    assert "None" not in text and not re.search(r"\bnan\b", text)
    liu = _block(demo.outputs[1], "liu.yang")
    assert any(str(page) in line and "xlsx" in line for line in liu), liu


@pytest.mark.skipif(not _flows_plugin_installed(),
                    reason="the flows' demo step (entry point smartfin.demo: flows = flows.demo:step) is not installed")
def test_the_cost_month_of_the_demo_departments_exists_once(demo: DemoInstall) -> None:
    """Last month worked out for the demo departments once, with a page per clinical department, the month's
    workbook, and each cost review started once."""
    from flows.cost import last_closed_month

    month = last_closed_month()
    with demo.db.connect() as connection:
        runs = connection.exec_driver_sql("SELECT status FROM cost_run WHERE month = ?", (month,)).fetchall()
        reviews = connection.exec_driver_sql("SELECT business_key FROM cost_review WHERE month = ?",
                                             (month,)).fetchall()
    assert [status for (status,) in runs] == ["published"], "the second demo run works nothing out again"
    folder = demo.settings.var_dir / "reports" / "cost" / month
    assert {p.name for p in folder.glob("*.html")} == {"MED.html", "CARD.html"}
    assert (folder / f"cost-{month}.xlsx").exists()
    assert "心血管内科" in (folder / "CARD.html").read_text(encoding="utf-8")
    for (business_key,) in reviews:
        assert len(demo.instances(business_key)) == 1, f"cost review {business_key} started twice"
    assert any(str(folder / "CARD.html") in line for line in _block(demo.outputs[1], "liu.yang"))


@pytest.mark.skipif(not _flows_plugin_installed(),
                    reason="the flows' demo step (entry point smartfin.demo: flows = flows.demo:step) is not installed")
def test_the_cash_forecast_alerts_the_chief_accountant_once(demo: DemoInstall) -> None:
    """The generated history imported once, the base and the standing scenario stored once for the demo day,
    the breach's alert open once for the chief accountant with her notification, the report under reports/cash."""
    with demo.db.connect() as connection:
        imports = connection.exec_driver_sql(
            "SELECT kind FROM cash_import WHERE source LIKE 'demo-cash-%'").fetchall()
        runs = connection.exec_driver_sql("SELECT as_of, scenario, breach_start FROM cash_forecast_run").fetchall()
        alerts = connection.exec_driver_sql("SELECT business_key, status FROM cash_alert").fetchall()
        events = connection.exec_driver_sql(
            "SELECT event_key, groups FROM notify_event WHERE kind = 'cash'").fetchall()
    assert sorted(kind for (kind,) in imports) == ["history", "payables", "receivables"], "imported once"
    assert len(runs) == len({(day, scenario) for day, scenario, _ in runs}) and runs
    (day, _, breach), = [r for r in runs if r[1] == "base"]
    assert breach is not None, "from the demo statement's balance the forecast falls below the minimum"
    [(key, status)] = alerts
    assert status == "open" and len(demo.instances(key)) == 1
    assert [candidate_groups(demo.engine, t["id"]) for t in demo.open_tasks(key)] == [["chief-accountant"]]
    assert events == [(key, "chief-accountant")], "the chief accountants are told once"
    page = demo.settings.var_dir / "reports" / "cash" / f"cash-forecast-{day}.html"
    assert page.exists() and page.with_suffix(".xlsx").exists()
    liu = _block(demo.outputs[1], "liu.yang")
    assert any(key in line and str(page) in line for line in liu), liu


@pytest.mark.skipif(not _flows_plugin_installed(),
                    reason="the flows' demo step (entry point smartfin.demo: flows = flows.demo:step) is not installed")
def test_the_insurance_month_is_fetched_once_and_its_appeals_wait_for_the_officers(demo: DemoInstall) -> None:
    """Officers recorded once, yesterday and last month each run once (the month's three files fetched by the
    bot), one appeal per demo department waiting in Tasklist, and gao.yan told where hers is."""
    with demo.db.connect() as connection:
        officers = connection.exec_driver_sql("SELECT department, user_id FROM ins_appeal_officer").fetchall()
        runs = connection.exec_driver_sql("SELECT kind, run_count FROM ins_run").fetchall()
        fetched = connection.exec_driver_sql(
            "SELECT subject_id FROM audit_entry WHERE action = 'insurance-file-fetched'").fetchall()
        batches = connection.exec_driver_sql("SELECT department, business_key FROM ins_appeal_batch").fetchall()
    assert sorted(officers) == [("CARD", "gao.yan"), ("MED", "tang.bo")]
    assert sorted(runs) == [("daily", 1), ("monthly", 1)]
    assert len(fetched) == 3, "the month's clearing, items and group files fetched and imported once"
    keys = dict(batches)
    assert sorted(keys) == ["CARD", "MED"]
    for key in keys.values():
        assert len(demo.instances(key)) == 1
        assert [t["taskDefinitionKey"] for t in demo.open_tasks(key)] == ["decideAppeal"]
    assert any(keys["CARD"] in line for line in _block(demo.outputs[1], "gao.yan"))


def test_the_dashboard_shows_the_demo_hospital_to_each_person_as_far_as_she_may_see(demo: DemoInstall) -> None:
    base = f"http://127.0.0.1:{demo.settings.dashboard_port}"

    def overview(user: str) -> str:
        browser = httpx.Client(base_url=base, follow_redirects=True, timeout=60)
        try:
            answer = browser.post("/login", data={"user": user, "password": demo_password()},
                                  headers={"Origin": base})
            assert answer.status_code == 200, answer.text
            return answer.text
        finally:
            browser.close()

    def departments(page: str) -> set[str]:
        return set(re.findall(r"<tr class='department' data-department='([^']+)'>", page))

    chief, head = overview("liu.yang"), overview("li.na")
    assert "CARD" in departments(chief) and departments(head) == {"CARD"}
    assert "id='cash'" in chief and "id='cost'" in chief and "id='money'" not in head
    assert any(f":{demo.settings.dashboard_port}/" in line for line in demo.outputs[0].splitlines())
