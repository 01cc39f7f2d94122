"""Send back and resubmit a budget adjustment through Tasklist in a real (Debian) Chromium: the finance head sends
it back with a reason from the decision form; the requester sees the reason in her revision form, raises the
amount past the finance head's limit and resubmits; the adjustment comes back as a new round to the president's
office meeting."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, expect

from smartfin.kernel.clock import hospital_today
from smartfin.ledger import BudgetLineKey, create_line
from smartfin.processes.adjustment.adjustments import BudgetAdjustment, submit_adjustment
from smartfin.processes.approvals import current_chain
from smartfin.store.db import session_scope
from tests.support.engine import as_user, candidate_groups, process_ended, wait_for
from tests.support.tasklist_browser import chromium_keeping_screenshots, fill_kept, logged_in, open_filter

pytestmark = [pytest.mark.engine, pytest.mark.browser]

REASON = "请把全年的调剂合并为一次 put the year's transfers into one adjustment"
YEAR = hospital_today().year


@pytest.fixture
def browser(tmp_path) -> Iterator[Browser]:  # type: ignore[no-untyped-def]
    with chromium_keeping_screenshots(tmp_path) as chromium:
        yield chromium


def task_of(camunda, pid: str, key: str) -> dict:  # type: ignore[no-untyped-def]
    return wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid) if t["taskDefinitionKey"] == key], 60,
                    message=f"task {key}")[0]


def test_finance_head_sends_an_adjustment_back_and_the_requester_resubmits_it_in_tasklist(camunda, workers,
                                                                                           browser):
    dept = f"TT{uuid.uuid4().hex[:6].upper()}"
    source = BudgetLineKey(YEAR, dept, "30218", "fiscal")  # type: ignore[arg-type]
    target = BudgetLineKey(YEAR, dept, "30201", "fiscal")  # type: ignore[arg-type]
    with session_scope() as session:
        create_line(session, source, actor="test", budget="300000.00")
        create_line(session, target, actor="test", budget="10000.00")
    number = submit_adjustment({"department": dept, "reason": "办公费不足",
                                "movements": f"transfer; {source}; {target}; 3000.00; 办公用品"},
                               engine=as_user(camunda, "zhang.wei"))
    with session_scope() as session:
        row = session.get(BudgetAdjustment, number)
        assert row is not None and row.process_instance_id
        pid = row.process_instance_id
    task_of(camunda, pid, "approveAdjustment")

    head = logged_in(browser, "guo.hua")
    head.get_by_text("财务处长待办").click()
    head.get_by_text("财务处长审批 Finance head decides").first.click()
    form = head.locator(".fjs-form")
    expect(form.get_by_label("调整单号 Adjustment no.")).to_have_value(number)
    head.get_by_text("认领", exact=True).click()
    form.get_by_label("退回修改 Send back for revision").check()
    fill_kept(form.get_by_label("意见 Comment"), REASON)
    head.get_by_role("button", name="提交").click()

    revise = task_of(camunda, pid, "reviseAdjustment")
    assert revise["assignee"] == "zhang.wei"

    requester = logged_in(browser, "zhang.wei")
    open_filter(requester, "我的任务")
    requester.get_by_text("修改后重新提交 Revise and resubmit").first.click()
    form = requester.locator(".fjs-form")
    expect(form.get_by_label("调整单号 Adjustment no.")).to_have_value(number)
    expect(form.get_by_label("退回原因 Reason for sending back")).to_have_value(REASON)
    movements = form.get_by_label("调整明细 Movements")
    expect(movements).to_have_value(f"transfer; {source}; {target}; 3000.00; 办公用品")
    fill_kept(movements, f"transfer; {source}; {target}; 110000.00; 全年办公及耗材调剂")
    form.get_by_label("重新提交 Resubmit").check()
    requester.get_by_role("button", name="提交").click()

    meeting = task_of(camunda, pid, "presidentOfficeMeeting")
    assert candidate_groups(camunda, meeting["id"]) == ["president"]
    with session_scope() as session:
        chain = current_chain(session, "budget-adjustment", number)
        assert (chain[0].round, chain[0].candidate_group, chain[0].amount) == (2, "president", Decimal("110000.00"))
    as_user(camunda, "zhao.lei").complete_task(meeting["id"], {"decision": "reject", "comment": "测试结束 end of test",
                                                               "minutesNo": "院办会〔2026〕30号"})
    process_ended(camunda, pid)
