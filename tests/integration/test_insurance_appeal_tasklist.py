"""The department's insurance officer answers an appeal batch in Tasklist, in a real (Debian) Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from bots.browser import launch_chromium
from smartfin.insurance.tables import AppealStatus
from smartfin.kernel.settings import get_settings
from smartfin.processes.insuranceappeal.appeals import batch_by_key, open_appeals, outcomes_of
from smartfin.store.db import session_scope
from tests.security.test_insurance_appeal_control import ARGUMENT, OFFICER, clearing_month
from tests.support.engine import candidate_groups, wait_for
from tests.support.tasklist_browser import fill_kept, log_in

pytestmark = [pytest.mark.engine, pytest.mark.browser]


@pytest.fixture
def page(tmp_path) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport={"width": 1400, "height": 1400}, locale="zh-CN")
        page = context.new_page()
        try:
            yield page
        finally:
            page.screenshot(path=str(tmp_path / "last-page.png"), full_page=True)
            context.close()
            browser.close()


def test_the_officer_answers_each_item_in_tasklist_and_the_process_moves_on(camunda, workers, page):
    month, department = clearing_month()
    [key] = open_appeals(month, engine=camunda)
    with session_scope() as session:
        pid = batch_by_key(session, key).process_instance_id
    assert pid
    [task] = wait_for(lambda: camunda.tasks(processInstanceId=pid), message="the officer's task")
    assert candidate_groups(camunda, task["id"]) == ["insurance-officer"]

    log_in(page, get_settings().tasklist_url, OFFICER)
    page.get_by_text("我可办理的任务").click()
    page.goto(f"{get_settings().tasklist_url}#/?filter=&task={task['id']}")

    form = page.locator(".fjs-form")
    expect(form.get_by_label("科室 Department")).to_have_value(department)
    page.get_by_text("认领", exact=True).click()
    form.get_by_label("001 ", exact=False).check()
    form.get_by_label("003 ", exact=False).check()
    fill_kept(form.get_by_label("申诉理由 Arguments"), f"001 {ARGUMENT}\n003 {ARGUMENT}")
    submit = page.get_by_role("button", name="提交")
    expect(submit).to_be_enabled()
    submit.click()

    following = wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid) if t["id"] != task["id"]],
                         60, message="the finance officer's recovery task")
    assert following[0]["taskDefinitionKey"] == "recordRecovery"
    with session_scope() as session:
        batch = batch_by_key(session, key)
        assert batch.status == AppealStatus.APPEALED
        assert [(o.outcome, o.decided_by) for o in outcomes_of(session, batch)] == [
            ("appealed", OFFICER), ("accepted", OFFICER), ("appealed", OFFICER)]
