"""A real browser operates the ERP the way a bot will: login, iframe, dynamic row, confirm dialog."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Dialog, sync_playwright
from portal_http import ERP_USER, admin

from portals.runner import RunningPortals

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-gpu",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.mark.browser
def test_bot_posts_a_voucher_through_the_iframe(portals: RunningPortals, browser: Browser) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(portals.urls["erp"] + "/login")
        page.fill("#username", ERP_USER.username)
        page.fill("#password", ERP_USER.password)
        page.click("#btnLogin")
        page.frame_locator("iframe[name=menuFrame]").locator("#menuVoucherNew").click()
        form = page.frame_locator("iframe[name=mainFrame]")
        form.locator("#voucher_date").fill("2034-02-03")
        form.locator("#voucher_type").select_option("付")
        form.locator("#summary").fill("支付药品款")
        form.locator("#external_ref").fill("BOT-0001")
        form.locator("#btnAddFinLine").click()  # the third financial row only exists after this click
        for row, (account, debit, credit) in enumerate(
            [("5001", "100.00", ""), ("5101", "50.00", ""), ("1002", "", "150.00")], start=1
        ):
            form.locator(f"#fin_account_{row}").fill(account)
            form.locator(f"#fin_debit_{row}").fill(debit)
            form.locator(f"#fin_credit_{row}").fill(credit)
        for row, (account, debit, credit) in enumerate([("7201", "150.00", ""), ("8001", "", "150.00")], start=1):
            form.locator(f"#bud_account_{row}").fill(account)
            form.locator(f"#bud_debit_{row}").fill(debit)
            form.locator(f"#bud_credit_{row}").fill(credit)

        messages: list[str] = []

        def dismiss(dialog: Dialog) -> None:
            messages.append(dialog.message)
            dialog.dismiss()

        page.once("dialog", dismiss)
        form.locator("#btnSave").click()
        assert messages == ["确认过账吗？"]
        assert admin(portals, "erp", "GET", "/__admin/vouchers?ref=BOT-0001").json()["count"] == 0  # cancelled

        page.once("dialog", lambda dialog: dialog.accept())
        form.locator("#btnSave").click()
        number = form.locator("#voucherNo").inner_text()
        assert re.fullmatch(r"付-2034-02-\d{4}", number)
        assert admin(portals, "erp", "GET", "/__admin/vouchers?ref=BOT-0001").json()["vouchers"][0]["number"] == number
    finally:
        context.close()
