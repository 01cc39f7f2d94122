"""Send back and resubmit a reimbursement claim through Tasklist in a real (Debian) Chromium: the dept head reads
the budget line and the decisions so far in the form and sends the claim back with a reason; the claimant sees
the reason, takes the second invoice out and resubmits; the claim is read and verified again and comes back to
the dept head as a new round with the smaller amount reserved."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, expect

from extractors.invoice.samples import xml_invoice
from smartfin.kernel.clock import hospital_now
from smartfin.ledger import Bucket, document_holdings, import_budget
from smartfin.processes.approvals import current_chain
from smartfin.processes.reimbursement.claims import Claim, submit_claim
from smartfin.store.db import session_scope
from tests.support.engine import as_user, candidate_groups, wait_for
from tests.support.tasklist_browser import chromium_keeping_screenshots, fill_kept, logged_in, open_filter

pytestmark = [pytest.mark.engine, pytest.mark.browser]

REASON = "第二张发票是私人消费，请去掉 invoice 2 is private, take it out"
YEAR = hospital_now().year
LINE = f"""\
fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to
{YEAR},T-BXTL,30201,fiscal,,Claims sent back in Tasklist,50000.00,control,0,0,95,{YEAR}-01-01,{YEAR}-12-31
"""


@pytest.fixture(scope="module")
def line() -> str:
    with session_scope() as session:
        report = import_budget(session, LINE.encode(), actor="test", filename="claim-send-back-tasklist.csv")
    assert report.ok, report.errors
    return "T-BXTL"


@pytest.fixture
def browser(tmp_path) -> Iterator[Browser]:  # type: ignore[no-untyped-def]
    with chromium_keeping_screenshots(tmp_path) as chromium:
        yield chromium


def task_of(camunda, pid: str, key: str, other_than: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    return wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid)
                             if t["taskDefinitionKey"] == key and t["id"] != other_than], 60,
                    message=f"task {key}")[0]


def verify_by_hand(camunda, pid: str) -> None:  # type: ignore[no-untyped-def]
    task = task_of(camunda, pid, "verifyManually")
    as_user(camunda, "wang.fang").complete_task(task["id"], {"decision": "consistent", "comment": "查验一致"})


def test_dept_head_sends_a_claim_back_and_the_claimant_resubmits_it_in_tasklist(camunda, workers, line, browser):
    files = [xml_invoice("tasklist-sendback-a", total=Decimal("150.00"))[:2],
             xml_invoice("tasklist-sendback-b", total=Decimal("90.00"))[:2]]
    number = submit_claim(files, claimant="zhang.wei", department=line, category="office",
                          purpose="退回修改浏览器测试 claim send-back browser test", engine=camunda)
    with session_scope() as session:
        pid = session.get(Claim, number).process_instance_id
    verify_by_hand(camunda, pid)
    first = task_of(camunda, pid, "approveClaim")
    assert candidate_groups(camunda, first["id"]) == ["dept-head"]

    head = logged_in(browser, "li.na")
    open_filter(head, "部门负责人待办")
    head.get_by_text("审批报销单 Approve claim").first.click()
    form = head.locator(".fjs-form")
    expect(form.get_by_label("报销单号 Claim no.")).to_have_value(number)
    expect(form.get_by_label("预算指标（本单前后可用） Budget line: available before and after this claim")) \
        .to_have_value(camunda.process_variables(pid)["budgetLineText"])
    expect(form.get_by_label("审批记录（含各轮） Decisions so far, every round")).to_have_value(
        "尚无审批记录 no decisions yet")
    head.get_by_text("认领", exact=True).click()
    form.get_by_label("退回修改 Send back for revision").check()
    fill_kept(form.get_by_label("意见说明 Comment"), REASON)
    head.get_by_role("button", name="提交").click()

    revise = task_of(camunda, pid, "reviseClaim")
    assert revise["assignee"] == "zhang.wei"

    claimant = logged_in(browser, "zhang.wei")
    open_filter(claimant, "我的任务")
    claimant.get_by_text("修改后重新提交 Revise and resubmit the claim").first.click()
    form = claimant.locator(".fjs-form")
    expect(form.get_by_label("报销单号 Claim no.")).to_have_value(number)
    expect(form.get_by_label("退回原因 Reason for sending back")).to_have_value(REASON)
    fill_kept(form.get_by_label("去掉的文件序号(可选) Files to take out (numbers, optional)"), "2")
    form.get_by_label("重新提交 Resubmit").check()
    claimant.get_by_role("button", name="提交").click()

    verify_by_hand(camunda, pid)  # the revised claim is verified again
    second = task_of(camunda, pid, "approveClaim", other_than=first["id"])
    assert candidate_groups(camunda, second["id"]) == ["dept-head"]
    with session_scope() as session:
        chain = current_chain(session, "reimbursement-claim", number)
        assert chain[0].round == 2 and chain[0].amount_fen == 15000
        assert document_holdings(session, "reimbursement-claim", number)[Bucket.PRE_ENCUMBRANCE] == Decimal("150.00")

    again = logged_in(browser, "li.na")
    open_filter(again, "部门负责人待办")
    again.get_by_text("审批报销单 Approve claim").first.click()
    form = again.locator(".fjs-form")
    expect(form.get_by_label("报销单号 Claim no.")).to_have_value(number)
    expect(form.get_by_label("审批记录（含各轮） Decisions so far, every round")).to_have_value(
        re.compile(re.escape(REASON) + ".*zhang.wei 重新提交 resubmitted", re.S))
    as_user(camunda, "li.na").complete_task(second["id"], {"decision": "reject", "comment": "测试结束 end of test"})
