"""A department asks for a budget adjustment from the start form in Tasklist, in a real (Debian) Chromium."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlmodel import select

from bots.browser import launch_chromium
from smartfin.kernel.clock import hospital_today
from smartfin.kernel.settings import get_settings
from smartfin.ledger import BudgetLineKey, create_line
from smartfin.processes.adjustment.adjustments import BudgetAdjustment
from smartfin.store.db import session_scope
from tests.support.engine import candidate_groups, open_task, wait_for
from tests.support.tasklist_browser import log_in

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


def test_a_requester_starts_an_adjustment_from_the_tasklist_start_form(camunda, workers, page):
    department = f"TB{uuid.uuid4().hex[:6].upper()}"
    year = hospital_today().year
    materials = BudgetLineKey(year, department, "30218", "fiscal")  # type: ignore[arg-type]
    office = BudgetLineKey(year, department, "30201", "fiscal")  # type: ignore[arg-type]
    with session_scope() as session:
        create_line(session, materials, actor="test", budget="50000.00")
        create_line(session, office, actor="test", budget="8000.00")

    log_in(page, get_settings().tasklist_url, "li.na")
    page.get_by_text("发起流程").first.click()
    page.get_by_text("预算调整 Budget adjustment").first.click()

    form = page.locator(".fjs-form")
    form.get_by_label("申请科室编码 Department code").fill(department)
    form.get_by_label("生效日期 Effective on (YYYY-MM-DD)").fill(hospital_today().isoformat())
    form.get_by_label("调整理由 Reason").fill("耗材节余调剂至办公费")
    form.get_by_label("调整明细 Movements").fill(f"transfer; {materials}; {office}; 3000.00; 办公用品不足")
    page.get_by_role("button", name="发起", exact=True).click()
    expect(page.get_by_text("流程已发起。")).to_be_visible()

    def recorded() -> list[BudgetAdjustment]:
        with session_scope() as session:
            rows = list(session.exec(select(BudgetAdjustment).where(BudgetAdjustment.department == department)))
            for row in rows:
                session.expunge(row)
            return rows

    [row] = wait_for(recorded, message="the adjustment registered from the start form")
    assert (row.requester, row.tier, str(row.total)) == ("li.na", "finance-head", "3000.00")
    task = open_task(camunda, row.process_instance_id)
    assert task["taskDefinitionKey"] == "approveAdjustment"
    assert candidate_groups(camunda, task["id"]) == ["finance-head"]
