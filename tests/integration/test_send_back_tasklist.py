"""Send back and resubmit through Tasklist in a real (Debian) Chromium: the dept head sends a request back with a
reason, the requester sees the reason, raises the amount and resubmits, and the new chain (with the president
the new amount needs) appears."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from smartfin.processes.approvals import current_chain
from smartfin.processes.spending.requests import SpendingRequest, submit_spending_request
from smartfin.store.db import session_scope
from tests.support.engine import candidate_groups, open_task, wait_for
from tests.support.tasklist_browser import chromium_keeping_screenshots, fill_kept, logged_in, open_filter

pytestmark = [pytest.mark.engine, pytest.mark.browser]


@pytest.fixture
def browser(tmp_path) -> Iterator[Browser]:  # type: ignore[no-untyped-def]
    with chromium_keeping_screenshots(tmp_path) as chromium:
        yield chromium


def test_dept_head_sends_back_and_the_requester_resubmits_in_tasklist(camunda, workers, budget, browser):
    number = submit_spending_request({"department": "T-E2E", "category": "materials", "amount": "800.00",
                                      "fundingSource": "fiscal", "requester": "zhang.wei", "payee": "国药控股",
                                      "purpose": "退回修改浏览器测试 send-back browser test"}, engine=camunda)
    with session_scope() as session:
        pid = session.get(SpendingRequest, number).process_instance_id
    first = open_task(camunda, pid)
    assert candidate_groups(camunda, first["id"]) == ["dept-head"]

    head = logged_in(browser, "li.na")
    open_filter(head, "部门负责人待办")
    head.get_by_text("审批支出申请 Approve spending request").first.click()
    form = head.locator(".fjs-form")
    expect(form.get_by_label("申请单号 Request no.")).to_have_value(number)
    head.get_by_text("认领", exact=True).click()
    form.get_by_label("退回修改 Send back for revision").check()
    fill_kept(form.get_by_label("意见说明 Comment"), "金额不足以覆盖全年用量，请按全年重新申请 ask for the whole year")
    head.get_by_role("button", name="提交").click()

    revise = wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid)
                               if t["taskDefinitionKey"] == "reviseRequest"], 30, message="the revision task")[0]
    assert revise["assignee"] == "zhang.wei"

    requester = logged_in(browser, "zhang.wei")
    open_filter(requester, "我的任务")
    requester.get_by_text("修改后重新提交 Revise and resubmit").first.click()
    form = requester.locator(".fjs-form")
    expect(form.get_by_label("申请单号 Request no.")).to_have_value(number)
    expect(form.get_by_label("退回原因 Reason for sending back")).to_have_value(
        "金额不足以覆盖全年用量，请按全年重新申请 ask for the whole year")
    amount = form.get_by_label("金额(元) Amount (yuan)")
    expect(amount).to_have_value("800.00")
    fill_kept(amount, "9600.00")
    form.get_by_label("重新提交 Resubmit").check()
    requester.get_by_role("button", name="提交").click()

    second = wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid)
                               if t["taskDefinitionKey"] == "approveRequest" and t["id"] != first["id"]], 30,
                      message="the first step of the new round")[0]
    assert candidate_groups(camunda, second["id"]) == ["dept-head"]
    with session_scope() as session:
        chain = current_chain(session, "spending-request", number)
        groups = [s.candidate_group for s in chain]
        assert chain[0].round == 2 and chain[0].amount_fen == 960000
    assert "president" in groups, "9,600 yuan needs the president: the chain was routed from the new amount"
    assert json.loads(camunda.process_variables(pid)["approvalChain"]) == groups

    again = logged_in(browser, "li.na")
    open_filter(again, "部门负责人待办")
    again.get_by_text("审批支出申请 Approve spending request").first.click()
    form = again.locator(".fjs-form")
    expect(form.get_by_label("申请单号 Request no.")).to_have_value(number)
    expect(form.get_by_label("金额(元) Amount (yuan)")).to_have_value("9600.00")
    camunda.correlate("SpendingRequestWithdrawn", number)
