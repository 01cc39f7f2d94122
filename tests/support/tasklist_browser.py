"""Tasklist in a real (Debian) Chromium for the browser tests: one browser per test, one context per person.

The last page of every context is kept as a screenshot in the test's tmp_path, so a failed step can be seen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, sync_playwright

from bots.browser import launch_chromium
from smartfin.kernel.settings import get_settings
from tests.support.engine import DEMO_PASSWORD


@contextmanager
def chromium_keeping_screenshots(folder: Path) -> Iterator[Browser]:
    """Debian's Chromium, closed afterwards with a full-page screenshot of each context's pages in ``folder``."""
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            for number, context in enumerate(browser.contexts):
                for page in context.pages:
                    page.screenshot(path=str(folder / f"last-page-{number}.png"), full_page=True)
            browser.close()


def logged_in(browser: Browser, user: str) -> Page:
    """A fresh Tasklist session (own context) of the demo user ``user``."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN").new_page()
    page.set_default_timeout(60_000)  # Tasklist loads its filters slowly while the other test processes run
    page.goto(get_settings().tasklist_url)
    page.get_by_placeholder("用户名").fill(user)
    page.get_by_placeholder("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    return page


def open_filter(page: Page, name: str) -> None:
    """Click the Tasklist filter ``name`` in the left column. The focused filter's entry carries its task count
    (``我的任务 (1)``: the number is text, the brackets are drawn), so the name is matched with or without a count,
    and never as part of a longer name."""
    page.locator(".task-filter .name a").filter(
        has_text=re.compile(rf"^\s*{re.escape(name)}\s*\(?\d*\)?\s*$")).first.click()


def fill_kept(field: Locator, value: str, attempts: int = 5) -> None:
    """Fill a Camunda Forms field and make sure the value stays: Tasklist may render a task's form a second time
    once its variables have loaded, which puts the stored value back into a field filled too early."""
    field.page.wait_for_load_state("networkidle")
    for _ in range(attempts):
        field.fill(value)
        field.press("Tab")
        field.page.wait_for_timeout(300)
        if field.input_value() == value:
            return
    raise AssertionError(f"the form kept putting back {field.input_value()!r} instead of {value!r}")
