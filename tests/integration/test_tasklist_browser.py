"""An approver completes a Camunda Form in Tasklist, in a real (Debian) Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from bots.browser import launch_chromium
from smartfin.app.cli import submit_spending_request
from smartfin.kernel.settings import get_settings
from smartfin.processes.spending.requests import SpendingRequest
from smartfin.store.db import session_scope
from tests.support.engine import DEMO_PASSWORD, candidate_groups, open_task, wait_for
from tests.support.tasklist_browser import fill_kept

pytestmark = [pytest.mark.engine, pytest.mark.browser]


@pytest.fixture
def page(tmp_path) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        page = context.new_page()
        try:
            yield page
        finally:
            page.screenshot(path=str(tmp_path / "last-page.png"), full_page=True)
            context.close()
            browser.close()


def test_dept_head_approves_in_tasklist_and_the_process_moves_on(camunda, workers, budget, page):
    number = submit_spending_request({"department": "T-E2E", "category": "materials", "amount": "120.00",
                                      "fundingSource": "fiscal", "requester": "zhang.wei", "payee": "国药控股",
                                      "purpose": "浏览器测试 browser test"}, engine=camunda)
    with session_scope() as session:
        pid = session.get(SpendingRequest, number).process_instance_id
    first = open_task(camunda, pid)
    assert candidate_groups(camunda, first["id"]) == ["dept-head"]

    page.goto(get_settings().tasklist_url)
    page.get_by_placeholder("用户名").fill("li.na")
    page.get_by_placeholder("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_text("部门负责人待办").click()
    page.get_by_text("审批支出申请 Approve spending request").first.click()

    form = page.locator(".fjs-form")
    expect(form.get_by_label("申请单号 Request no.")).to_have_value(number)
    expect(form.get_by_label("金额(元) Amount (yuan)")).to_have_value("120.00")
    page.get_by_text("认领", exact=True).click()
    form.get_by_label("同意 Approve").check()
    fill_kept(form.get_by_label("意见说明 Comment"), "材料用量合理 consumption is reasonable")
    page.get_by_role("button", name="提交").click()

    following = wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid) if t["id"] != first["id"]],
                         message="the next approval task")
    assert candidate_groups(camunda, following[0]["id"]) == ["vice-president"]
    decisions = camunda.process_variables(pid)["decisions"]
    assert decisions[0]["user"] == "li.na"
    assert decisions[0]["outcome"] == "approve"
    assert decisions[0]["comment"] == "材料用量合理 consumption is reasonable"
