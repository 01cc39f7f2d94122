"""The budget upload page over real HTTP (uvicorn, requests), passwords checked by the real engine: log in,
download one's own template, upload a draft; refusals named by sheet!cell; other departments, other origins,
missing tokens, other file types and oversized files refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import expect, sync_playwright

from bots.browser import launch_chromium
from smartfin.app.budget_upload import create_app
from smartfin.app.demo_users import demo_password
from smartfin.budgeting import current_drafts, template_workbook
from smartfin.kernel.settings import get_settings
from smartfin.ledger.keys import FundingSource as F
from smartfin.store.db import session_scope
from tests.budgeting.workbooks import fill
from tests.support.compilation import page_login as logged_in
from tests.support.compilation import page_upload as send
from tests.support.compilation import prepare_year
from tests.support.web import served

pytestmark = pytest.mark.engine
YEAR = 2035
LIMIT = 512 * 1024


@pytest.fixture(scope="module")
def upload_page(camunda: Any) -> Iterator[str]:
    prepare_year(YEAR)
    settings = get_settings().model_copy(update={"upload_page_max_bytes": LIMIT})
    with served(create_app(settings)) as base:
        yield base


def test_login_is_checked_by_the_engine_and_never_cross_site(upload_page: str) -> None:
    assert requests.post(f"{upload_page}/login", data={"user": "no.such.user", "password": "wrong"},
                         headers={"Origin": upload_page}).status_code == 401
    assert requests.post(f"{upload_page}/login", data={"user": "li.na", "password": demo_password()},
                         headers={"Origin": "http://evil.example"}).status_code == 403
    assert requests.get(f"{upload_page}/", allow_redirects=False).status_code == 303
    forged = requests.Session()
    forged.cookies.set("smartfin_budget", f"li.na|{int(time.time()) + 999}|00|{'0' * 64}")
    assert forged.get(f"{upload_page}/", allow_redirects=False).status_code == 303


def test_a_head_downloads_her_template_and_uploads_her_draft(upload_page: str) -> None:
    browser, token = logged_in(upload_page, "li.na")
    template = browser.get(f"{upload_page}/template", params={"department": "CARD", "year": YEAR})
    assert template.status_code == 200 and template.content[:2] == b"PK"
    assert browser.get(f"{upload_page}/template", params={"department": "RAD", "year": YEAR}).status_code == 403

    refused = send(browser, upload_page, token, "CARD", fill(template.content, {("30201", F.FISCAL): -5}))
    assert refused.status_code == 422 and "基本支出!" in refused.text, refused.text
    accepted = send(browser, upload_page, token, "CARD", fill(template.content, {("30201", F.FISCAL): 12345}))
    assert accepted.status_code == 200, accepted.text
    with session_scope() as session:
        drafts = [d for d in current_drafts(session, YEAR, "first") if d.department == "CARD"]
    assert len(drafts) == 1 and drafts[0].uploaded_by == "li.na" and drafts[0].total_fen == 1_234_500


def test_uploads_refused_without_token_from_elsewhere_for_others_or_not_xlsx(upload_page: str) -> None:
    browser, token = logged_in(upload_page, "li.na")
    workbook = browser.get(f"{upload_page}/template", params={"department": "CARD", "year": YEAR}).content
    good = fill(workbook, {("30201", F.FISCAL): 1})
    assert send(browser, upload_page, None, "CARD", good).status_code == 403
    assert send(browser, upload_page, "0" * 64, "CARD", good).status_code == 403
    assert send(browser, upload_page, token, "CARD", good, origin="http://evil.example").status_code == 403
    assert send(browser, upload_page, token, "CARD", b"a,b\n1,2\n", name="draft.csv").status_code == 415
    assert send(browser, upload_page, token, "CARD", b"PK" + b"0" * (LIMIT + 1)).status_code == 413
    # the head of radiology, logged in as herself, cannot submit cardiology's workbook
    other, other_token = logged_in(upload_page, "qian.yu")
    assert send(other, upload_page, other_token, "CARD", good).status_code == 403
    refused = send(other, upload_page, other_token, "RAD", good)
    assert refused.status_code == 422 and "CARD" in refused.text, refused.text


def test_a_head_uploads_in_a_real_browser(upload_page: str, tmp_path: Any) -> None:
    """Chromium: log in on the page, upload a refused workbook (cells named), then a good one."""
    with session_scope() as session:
        template = template_workbook(session, YEAR, "LAB")
    bad, good = tmp_path / "bad.xlsx", tmp_path / "good.xlsx"
    bad.write_bytes(fill(template, {("30201", F.FISCAL): "12,000"}))
    good.write_bytes(fill(template, {("30201", F.FISCAL): 4321}))
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.goto(f"{upload_page}/login")
            page.fill("input[name=user]", "feng.tao")
            page.fill("input[name=password]", demo_password())
            page.click("button")
            expect(page.locator("h2")).to_have_text("LAB")
            page.set_input_files("input[name=draft]", str(bad))
            page.click("text=上传草案 Upload draft")
            expect(page.locator("ul.problems li").first).to_contain_text("基本支出!")
            page.go_back()
            page.set_input_files("input[name=draft]", str(good))
            page.click("text=上传草案 Upload draft")
            expect(page.locator("h1")).to_contain_text("Draft accepted")
        finally:
            browser.close()
    with session_scope() as session:
        drafts = [d for d in current_drafts(session, YEAR, "first") if d.department == "LAB"]
    assert len(drafts) == 1 and drafts[0].uploaded_by == "feng.tao" and drafts[0].total_fen == 432_100
