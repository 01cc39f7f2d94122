"""Tasklist in a real (Debian) Chromium for the browser tests: one browser per test, one context per person.

The last page of every context is kept as a screenshot in the test's tmp_path, so a failed step can be seen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

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
    log_in(page, get_settings().tasklist_url, user)
    return page


def log_in(page: Page, url: str, user: str, password: str = DEMO_PASSWORD) -> None:
    """Open a webapp of the engine (Tasklist, Cockpit, Admin) at ``url`` and log in as ``user`` in Chinese.

    The login view focuses its user field once it has rendered; on a loaded machine that can happen after the
    password field was focused, and the password is then typed into the user field: both are filled until
    both hold what was typed."""
    page.goto(url)
    name, secret = page.get_by_placeholder("用户名"), page.get_by_placeholder("密码")
    with suppress(PlaywrightTimeoutError):  # a webapp that keeps polling: the check below still holds
        page.wait_for_load_state("networkidle", timeout=10_000)
    for _ in range(5):
        name.fill(user)
        secret.fill(password)
        if name.input_value() == user and secret.input_value() == password:
            break
        page.wait_for_timeout(300)
    else:
        raise AssertionError(f"the login form kept losing what was typed for {user}")
    page.get_by_role("button", name="登录").click()


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
