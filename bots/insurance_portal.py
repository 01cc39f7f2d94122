"""Page objects of the medical-insurance settlement portal (医保结算平台): a month's clearing files as downloads.

The fund publishes, per service month, the clearing statement (``clearing``), its refused and deducted items
(``clearing_items``) and the DRG/DIP group settlements (``group``). ``download_month`` logs in with the portal
account (secrets: ``SMARTFIN_INSURANCE_ACCOUNT``/``_PASSWORD`` or the secrets file), opens the month and saves
each published file; a month the portal has not published is ``InsuranceMonthMissing`` (business: nobody can
import what the fund has not released), a download that does not start is ``DownloadMissing`` (retried). The
runtime keeps evidence of a failure. Archiving and importing are the product's (``smartfin.app``).
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from bots.bank import DownloadedFile, save_download
from bots.config import BotSettings, PortalAccount
from bots.erp import raise_for_server_error
from bots.errors import BusinessFailure, DownloadMissing, LoginRefused, SessionExpired, UnexpectedPage
from bots.runtime import BotRuntime, BotSession, bot_runtime
from smartfin.kernel.settings import Settings, get_settings

#: the files of a month in the order they are imported (the items name the statement)
MONTH_FILES = ("clearing", "clearing_items", "group")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class InsuranceMonthMissing(BusinessFailure):
    """The portal has not published the month's clearing (or not all of its statement files)."""


class InsurancePortalDriver:
    """The settlement portal as the runtime sees it."""

    name = "insurance"
    needs_login = True

    def __init__(self, settings: Settings | None = None, bot: BotSettings | None = None) -> None:
        self.settings = settings or get_settings()
        self.bot = bot or get_settings().bot

    def base_url(self) -> str:
        return self.settings.insurance_url.rstrip("/")

    async def login(self, page: Page, account: PortalAccount) -> None:
        await page.goto(self.base_url() + "/login")
        await raise_for_server_error(page)
        if not await page.locator("#username").count():
            raise UnexpectedPage(f"insurance portal login page not recognised ({page.url})")
        await page.fill("#username", account.username)
        await page.fill("#password", account.password)
        await page.click("#btnLogin")
        await page.locator("#monthTable, #btnNoticeAck, #loginMsg, h1").first.wait_for()
        if await page.locator("#loginMsg").count():
            text = (await page.locator("#loginMsg").inner_text()).strip()
            raise LoginRefused(f"insurance portal refused the login of {account.username}", portal_message=text)
        if await page.locator("#btnNoticeAck").count():
            await page.click("#btnNoticeAck")
            await page.locator("#monthTable").wait_for()
        await raise_for_server_error(page)

    async def portal_message(self, page: Page) -> str:
        texts = [(await e.inner_text()).strip() for e in await page.locator("#errorText, #loginMsg, h1").all()]
        return " | ".join(t for t in texts if t) or (await page.locator("body").inner_text())[:500].strip()


class ClearingFiles:
    """The portal's month screens for one work item."""

    def __init__(self, session: BotSession, driver: InsurancePortalDriver) -> None:
        self.session, self.driver, self.page = session, driver, session.page

    async def month(self, month: str, folder: Path) -> dict[str, DownloadedFile]:
        """Open ``month`` from the list of cleared months and save every published file into ``folder``."""
        page = self.page
        await page.goto(self.driver.base_url() + "/months")
        await page.locator("#monthTable, #username, h1").first.wait_for()
        if await page.locator("#username").count():
            raise SessionExpired("insurance portal session expired (login page instead of the months)")
        link = page.locator(f"#month_{month}")
        if not await link.count():
            raise InsuranceMonthMissing(f"the portal has not published the clearing of {month} / {month} "
                                        "尚未发布清算单")
        await link.click()
        await page.locator("#fileTable, h1").first.wait_for()
        await raise_for_server_error(page)
        found = {}
        for kind in MONTH_FILES:
            if await page.locator(f"#dl_{kind}").count():
                found[kind] = await self._download(f"#dl_{kind}", folder)
        missing = [k for k in ("clearing", "clearing_items") if k not in found]
        if missing:
            raise InsuranceMonthMissing(f"the clearing of {month} lacks {', '.join(missing)} on the portal")
        return found

    async def _download(self, selector: str, folder: Path) -> DownloadedFile:
        page = self.page
        try:
            async with page.expect_download(timeout=self.driver.bot.download_timeout_ms) as info:
                await page.locator(selector).click()
            download = await info.value
        except PlaywrightTimeout as exc:
            raise DownloadMissing(f"download did not start within {self.driver.bot.download_timeout_ms} ms") from exc
        return await save_download(download, folder, "download.csv")


def download_month(month: str, *, runtime: BotRuntime | None = None,
                   settings: Settings | None = None) -> dict[str, DownloadedFile]:
    """Download the clearing files of ``month`` (the function the product's import and the flows call)."""
    if not _MONTH.match(month):
        raise ValueError(f"month must be YYYY-MM, got {month!r}")
    runtime = runtime or bot_runtime()
    settings = settings or get_settings()
    driver = InsurancePortalDriver(settings, runtime.bot)
    folder = settings.var_dir / "bots" / "downloads" / "insurance" / month

    async def work(session: BotSession) -> dict[str, DownloadedFile]:
        return await ClearingFiles(session, driver).month(month, folder)

    return runtime.run(driver, f"insurance-month:{month}", work)
