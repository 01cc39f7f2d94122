"""Send back and resubmit an equipment proposal through Tasklist in a real (Debian) Chromium: a committee member
votes 退回修改 with a reason, the proposer sees every reason in the correction form, changes the price and
resubmits, and the committee is asked to vote afresh on the new figures."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from smartfin.kernel.clock import hospital_now
from smartfin.ledger import import_budget
from smartfin.processes.procurement.commands import submit_proposal
from smartfin.processes.procurement.proposals import EquipmentProposalRecord
from smartfin.store.db import session_scope
from tests.security.engine_users import service_actor
from tests.support.engine import as_user, wait_for
from tests.support.tasklist_browser import chromium_keeping_screenshots, fill_kept, logged_in, open_filter

pytestmark = [pytest.mark.engine, pytest.mark.browser]

os.environ["SMARTFIN_PROCUREMENT_COMMITTEE_MEMBERS"] = "wu.hao,xu.jing,he.ping"
YEAR = hospital_now().year
DEPARTMENT = "T-EQSBT"


@pytest.fixture
def browser(tmp_path) -> Iterator[Browser]:  # type: ignore[no-untyped-def]
    with chromium_keeping_screenshots(tmp_path) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def line() -> str:
    csv = ("fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,"
           "tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to\n"
           f"{YEAR},{DEPARTMENT},31003,fiscal,,Send-back in Tasklist,2000000.00,control,0,0,90,"
           f"{YEAR}-01-01,{YEAR}-12-31\n")
    with session_scope() as session:
        assert import_budget(session, csv.encode(), actor="test", filename="procurement-send-back-tasklist.csv").ok
    return DEPARTMENT


def ballots(camunda, pid: str, exclude: frozenset[str] = frozenset()) -> list[dict]:  # type: ignore[no-untyped-def]
    return wait_for(lambda: (lambda found: found if len(found) == 3 else None)(
        [t for t in camunda.tasks(processInstanceId=pid, taskDefinitionKey="committeeVote")
         if t["id"] not in exclude]), 30, message="three ballots")


def test_a_member_sends_back_and_the_proposer_resubmits_in_tasklist(camunda, workers, line, browser):
    number = submit_proposal({
        "proposer": "zhang.wei", "department": DEPARTMENT, "deviceName": "彩超 Ultrasound",
        "equipmentClass": "ordinary", "price": "300000", "monthlyVolume": 300, "pricePerExam": "150",
        "staffCount": 1, "annualCostPerStaff": "60000", "annualMaterials": "36000", "annualMaintenance": "10000",
        "annualUtilities": "1200", "managementFeeRatePct": "1", "fundingSource": "fiscal",
        "economicLifeYears": 6, "depreciationYears": 5, "justification": "床旁检查 / bedside exams"}, engine=camunda)
    with session_scope() as session:
        pid = session.get(EquipmentProposalRecord, number).process_instance_id
    first = ballots(camunda, pid)

    member = logged_in(browser, "wu.hao")
    open_filter(member, "我的任务")
    member.get_by_text("委员表决 Committee member's vote").first.click()
    form = member.locator(".fjs-form")
    expect(form.get_by_label("申请编号 Proposal no.")).to_have_value(number)
    expect(form.get_by_text("退回修改票不少于反对票")).to_be_visible()
    form.get_by_label("退回修改 Send back for revision").check()
    form.get_by_label("表决理由 Reason").fill("请补充同类设备使用率 / add the use of similar devices")
    member.get_by_role("button", name="提交").click()
    wait_for(lambda: len(camunda.tasks(processInstanceId=pid, taskDefinitionKey="committeeVote")) == 2, 30,
             message="wu.hao's ballot completed")
    xu = next(t for t in camunda.tasks(processInstanceId=pid, taskDefinitionKey="committeeVote")
              if t["assignee"] == "xu.jing")
    as_user(camunda, "xu.jing").complete_task(xu["id"], {"decision": "sendBack", "comment": "请比较两家报价"})

    revise = wait_for(lambda: camunda.tasks(processInstanceId=pid, taskDefinitionKey="correctProposal"), 30,
                      message="the correction task")[0]
    assert revise["assignee"] == "zhang.wei"
    proposer = logged_in(browser, "zhang.wei")
    open_filter(proposer, "我的任务")
    proposer.get_by_text("修改申请 Correct the proposal").first.click()
    form = proposer.locator(".fjs-form")
    expect(form.get_by_label("退回原因 Sent back because")).to_have_value(
        re.compile("wu.hao: 请补充同类设备使用率.*\n.*xu.jing: 请比较两家报价", re.S))
    price = form.get_by_label("购置价格(含配件) Price incl. accessories")
    expect(price).to_have_value("300000")
    form.get_by_label("重新提交 Resubmit").check()
    fill_kept(price, "320000")
    proposer.get_by_role("button", name="提交").click()

    ballots(camunda, pid, exclude=frozenset(t["id"] for t in first))
    with session_scope() as session:
        row = session.get(EquipmentProposalRecord, number)
        assert (row.status, row.price_fen, row.proposer) == ("evaluated", 32_000_000, "zhang.wei")
    service_actor(camunda).remove_instance(pid)
