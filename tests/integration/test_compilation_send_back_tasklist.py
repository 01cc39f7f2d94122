"""Send back and resubmit the hospital budget through Tasklist in a real (Debian) Chromium: the president's office
meeting member opens the approval form, cites the minutes and sends the budget back with a reason; the budget
office sees the reason and the decisions so far in its revision form and resubmits; a new approval round starts.

What this proves beyond the REST tests: the approval and revision forms complete in Tasklist as they are
deployed (the engine's write guard accepts what the forms send, read-only copies included)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from smartfin.processes.approvals import all_steps
from smartfin.processes.compilation.records import DOCUMENT_TYPE, document_no
from smartfin.store.db import session_scope
from tests.support.compilation import (
    BUDGET_OFFICE,
    SIGNERS,
    attach,
    decide,
    prepare_year,
    start,
    tasks_of,
    through_second_round,
    unopened_year,
)
from tests.support.tasklist_browser import chromium_keeping_screenshots, fill_kept, logged_in, open_filter

pytestmark = [pytest.mark.engine, pytest.mark.browser]

REASON = "放射科设备维护费偏高，请压减 / cut radiology's maintenance"


@pytest.fixture
def browser(tmp_path) -> Iterator[Browser]:  # type: ignore[no-untyped-def]
    with chromium_keeping_screenshots(tmp_path) as chromium:
        yield chromium


def test_the_meeting_sends_the_budget_back_and_the_budget_office_resubmits_in_tasklist(camunda, workers, browser):
    year = unopened_year()
    prepare_year(year)
    pid = start(camunda, year)
    through_second_round(camunda, pid, year, {"CARD": 100000, "RAD": 75000, "LAB": 40000})
    decide(camunda, pid, year, "budget-committee", number="预委-43")
    attach(camunda, year, "president", "院办-43")
    first = tasks_of(camunda, pid, "approveBudget", 1)[0]

    member = logged_in(browser, SIGNERS["president"])
    open_filter(member, "我可办理的任务")
    member.get_by_text("审议预算 Decide on the budget").first.click()
    form = member.locator(".fjs-form")
    expect(form.get_by_label("预算年度 Fiscal year")).to_have_value(str(year))
    member.get_by_text("认领", exact=True).click()
    fill_kept(form.get_by_label("会议纪要编号 Minutes no."), "院办-43")
    form.get_by_label("退回修改 Send back for revision").check()
    fill_kept(form.get_by_label("说明 Comment"), REASON)
    member.get_by_role("button", name="提交").click()

    revise = tasks_of(camunda, pid, "reviseBudget", 1)[0]
    assert revise["assignee"] == BUDGET_OFFICE, "the budget office of the round's record revises"

    office = logged_in(browser, BUDGET_OFFICE)
    open_filter(office, "我的任务")
    office.get_by_text("修改后重新报批 Revise and resubmit the budget").first.click()
    form = office.locator(".fjs-form")
    expect(form.get_by_label("退回原因 Reason for sending back")).to_have_value(
        f"president {SIGNERS['president']}: {REASON}")
    expect(form.get_by_label("审批记录 Decisions so far")).to_have_value(
        re.compile(rf"{SIGNERS['president']} 退回修改 sent back：{re.escape(REASON)}"))
    form.get_by_label("重新报批 Resubmit for approval").check()
    fill_kept(form.get_by_label("说明 Comment"), "已按意见复核 / reviewed as asked")
    office.get_by_role("button", name="提交").click()

    second = [t for t in tasks_of(camunda, pid, "approveBudget", 1) if t["id"] != first["id"]]
    assert second, "a new approval round starts with its first step"
    with session_scope() as session:
        assert {step.round for step in all_steps(session, DOCUMENT_TYPE, document_no(year))} == {1, 2}, \
            "both rounds are kept"
