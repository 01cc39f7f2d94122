"""Page objects of the corporate online bank: statements (CSV, Excel, camt.053) and receipts (回单) as files.

Downloads are plain links the bank answers with an attachment; a bot must wait for the download event,
not for a page. A download that does not start within ``SMARTFIN_BOT_DOWNLOAD_TIMEOUT_MS`` is a
``DownloadMissing`` (technical: retried), while a refusal the bank shows as text (period too long,
unknown account) is a ``BankRefused`` (business: a person decides).
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from playwright.async_api import Download, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from bots.config import BotSettings, PortalAccount, accepted_layouts, portal_account
from bots.erp import raise_for_server_error
from bots.errors import BankRefused, DownloadMissing, LoginRefused, SessionExpired, UnexpectedPage
from bots.runtime import BotRuntime, BotSession, bot_runtime
from smartfin.kernel.settings import Settings, get_settings

STATEMENT_FORMATS = ("csv", "xlsx", "camt053")


@dataclass(frozen=True)
class BankLayout:
    """Element ids of one online-bank screen layout."""

    name: str
    login_user: str
    login_pass: str
    login_btn: str
    acct_table: str
    stmt_prefix: str
    q_start: str
    q_end: str
    q_btn: str
    downloads: dict[str, str]
    txn_table: str
    receipt_prefix: str
    errors: str


BANK_LAYOUTS = {
    "classic": BankLayout("classic", "username", "password", "btnLogin", "accountTable", "stmt_", "start_date",
                          "end_date", "btnQuery", {"csv": "btnDownloadCsv", "xlsx": "btnDownloadXlsx",
                                                   "camt053": "btnDownloadCamt"}, "txnTable", "receipt_", "errorMsg"),
    "revised": BankLayout("revised", "userId", "userPwd", "loginSubmit", "acctList", "mx_", "qsrq", "zzrq",
                          "queryBtn", {"csv": "expCsv", "xlsx": "expXls", "camt053": "expXml"}, "mxTable", "hd_",
                          "tipMsg"),
}
LOGIN_FIELDS = ",".join(f"#{layout.login_user}" for layout in BANK_LAYOUTS.values())


@dataclass(frozen=True)
class DownloadedFile:
    """A file fetched from a portal: where it was saved and its SHA-256 (for archiving and dedup)."""

    path: Path
    sha256: str
    filename: str


async def save_download(download: Download, folder: Path, default_name: str) -> DownloadedFile:
    """Keep a portal's download under ``folder``: written to a ``.part`` file first and renamed only when it
    arrived whole and not empty, so a half-written file is never taken for a statement; a failed or empty
    download is ``DownloadMissing`` (retried)."""
    failure = await download.failure()
    if failure:
        raise DownloadMissing(f"download failed: {failure}")
    filename = re.sub(r"[^\w.\-]+", "_", download.suggested_filename) or default_name
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{filename}.part"
    await download.save_as(partial)
    data = partial.read_bytes()
    if not data:
        partial.unlink()
        raise DownloadMissing(f"download {filename} arrived empty")
    target = folder / filename
    partial.replace(target)
    return DownloadedFile(target, hashlib.sha256(data).hexdigest(), filename)


class BankDriver:
    """The online bank as the runtime sees it."""

    name = "bank"
    needs_login = True

    def __init__(self, settings: Settings | None = None, bot: BotSettings | None = None) -> None:
        self.settings = settings or get_settings()
        self.bot = bot or get_settings().bot
        self.layouts = [BANK_LAYOUTS[name] for name in accepted_layouts(self.bot, "bank") if name in BANK_LAYOUTS]

    def base_url(self) -> str:
        return self.settings.bank_url.rstrip("/")

    async def layout_of(self, page: Page, field: str = "login_user") -> BankLayout:
        await raise_for_server_error(page)
        for layout in self.layouts:
            if await page.locator(f"#{getattr(layout, field)}").count():
                return layout
        raise UnexpectedPage(f"bank page matches none of the accepted layouts ({page.url})")

    async def login(self, page: Page, account: PortalAccount) -> None:
        await page.goto(self.base_url() + "/login")
        layout = await self.layout_of(page)
        await page.fill(f"#{layout.login_user}", account.username)
        await page.fill(f"#{layout.login_pass}", account.password)
        await page.click(f"#{layout.login_btn}")
        await page.locator(f"#{layout.acct_table}, #btnNoticeAck, #loginMsg, h1").first.wait_for()
        if await page.locator("#loginMsg").count():
            text = (await page.locator("#loginMsg").inner_text()).strip()
            raise LoginRefused(f"bank refused the login of {account.username}", portal_message=text)
        if await page.locator("#btnNoticeAck").count():
            await page.click("#btnNoticeAck")
            await page.locator(f"#{layout.acct_table}").wait_for()
        await raise_for_server_error(page)

    async def portal_message(self, page: Page) -> str:
        selectors = "#errorText, #loginMsg, h1, " + ", ".join(f"#{layout.errors}" for layout in BANK_LAYOUTS.values())
        texts = [(await e.inner_text()).strip() for e in await page.locator(selectors).all()]
        return " | ".join(t for t in texts if t) or (await page.locator("body").inner_text())[:500].strip()


class BankStatements:
    """The bank's account and statement screens for one work item."""

    def __init__(self, session: BotSession, driver: BankDriver) -> None:
        self.session, self.driver, self.page = session, driver, session.page

    async def _accounts(self) -> BankLayout:
        page = self.page
        await page.goto(self.driver.base_url() + "/accounts")
        tables = ", ".join(f"#{layout.acct_table}" for layout in self.driver.layouts)
        await page.locator(f"{tables}, {LOGIN_FIELDS}, #btnNoticeAck, h1").first.wait_for()
        await page.wait_for_load_state("domcontentloaded")  # the whole list, not the rows parsed so far
        if await page.locator("#btnNoticeAck").count():
            await page.click("#btnNoticeAck")
            await page.locator(tables).first.wait_for()
        if await page.locator(LOGIN_FIELDS).count():
            raise SessionExpired("bank session expired (login page instead of the account list)")
        return await self.driver.layout_of(page, "acct_table")

    async def _statement(self, account_no: str, start: date, end: date) -> BankLayout:
        layout = await self._accounts()
        page = self.page
        link = page.locator(f"#{layout.stmt_prefix}{account_no}")
        if not await link.count():
            raise BankRefused(f"account {account_no} is not listed for this login / 网银中无此账户")
        await link.click()
        await page.locator(f"#{layout.q_start}").fill(start.isoformat())
        await page.locator(f"#{layout.q_end}").fill(end.isoformat())
        await page.locator(f"#{layout.q_btn}").click()
        first_download = next(iter(layout.downloads.values()))
        await page.locator(f"#{first_download}, #{layout.errors}, {LOGIN_FIELDS}, h1").first.wait_for()
        await page.wait_for_load_state("domcontentloaded")  # every receipt link, not the first few
        if await page.locator(LOGIN_FIELDS).count():
            raise SessionExpired("bank session expired during the statement query")
        await raise_for_server_error(page)
        if await page.locator(f"#{layout.errors}").count():
            text = (await page.locator(f"#{layout.errors}").inner_text()).strip()
            raise BankRefused(f"bank refused the statement query: {text}", portal_message=text)
        return layout

    async def _download(self, selector: str, folder: Path) -> DownloadedFile:
        page = self.page
        try:
            async with page.expect_download(timeout=self.driver.bot.download_timeout_ms) as info:
                await page.locator(selector).click()
            download = await info.value
        except PlaywrightTimeout as exc:
            if await page.locator("#errorText").count():
                text = (await page.locator("#errorText").inner_text()).strip()
                raise BankRefused(f"bank refused the download: {text}", portal_message=text) from exc
            raise DownloadMissing(f"download did not start within {self.driver.bot.download_timeout_ms} ms") from exc
        return await save_download(download, folder, "download.bin")

    async def statement(self, account_no: str, start: date, end: date, fmt: str) -> DownloadedFile:
        """Query the period and download it in ``fmt`` (csv, xlsx, camt053)."""
        if fmt not in STATEMENT_FORMATS:
            raise ValueError(f"format must be one of {STATEMENT_FORMATS}, got {fmt!r}")
        layout = await self._statement(account_no, start, end)
        return await self._download(f"#{layout.downloads[fmt]}", self._folder(account_no))

    async def receipt(self, account_no: str, txn_id: str, booked_on: date) -> DownloadedFile:
        """The receipt PDF (回单) of one transaction, found on that day's statement."""
        layout = await self._statement(account_no, booked_on, booked_on)
        link = self.page.locator(f"#{layout.receipt_prefix}{txn_id}")
        if not await link.count():
            raise BankRefused(f"no transaction {txn_id} on {booked_on} in account {account_no} / 当日无此交易")
        return await self._download(f"#{layout.receipt_prefix}{txn_id}", self._folder(account_no) / "receipts")

    def _folder(self, account_no: str) -> Path:
        return self.driver.settings.var_dir / "bots" / "downloads" / "bank" / re.sub(r"\W+", "_", account_no)


def download_statement(account_no: str, start: date, end: date, fmt: str = "camt053", *,
                       runtime: BotRuntime | None = None, settings: Settings | None = None) -> DownloadedFile:
    """Download one account's statement for a period (the function the worker, CLI and flows call)."""
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    runtime = runtime or bot_runtime()
    driver = BankDriver(settings or get_settings(), runtime.bot)

    async def work(session: BotSession) -> DownloadedFile:
        return await BankStatements(session, driver).statement(account_no, start, end, fmt)

    return runtime.run(driver, f"statement:{account_no}:{start}:{end}:{fmt}", work)


def download_day_statements(account_no: str, day: date, folder: Path, formats: tuple[str, ...] = ("camt053",), *,
                            login: str | None = None, runtime: BotRuntime | None = None,
                            settings: Settings | None = None) -> list[Path]:
    """One day's statement in each of ``formats``, copied into ``folder`` (for the daily reconciliation flow).

    ``login`` picks the online-bank user from the secrets file (default: ``SMARTFIN_BANK_ACCOUNT`` or the
    first bank account there).
    """
    runtime = runtime or bot_runtime()
    settings = settings or get_settings()
    driver = BankDriver(settings, runtime.bot)
    account = portal_account("bank", settings, runtime.bot, username=login) if login else None

    async def work(session: BotSession) -> list[DownloadedFile]:
        statements = BankStatements(session, driver)
        return [await statements.statement(account_no, day, day, fmt) for fmt in formats]

    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for downloaded in runtime.run(driver, f"statement:{account_no}:{day}", work, account=account):
        target = folder / downloaded.filename
        shutil.copyfile(downloaded.path, target)
        saved.append(target)
    return saved


def download_receipt(account_no: str, txn_id: str, booked_on: date, *, runtime: BotRuntime | None = None,
                     settings: Settings | None = None) -> DownloadedFile:
    """Download the receipt PDF of one bank transaction."""
    runtime = runtime or bot_runtime()
    driver = BankDriver(settings or get_settings(), runtime.bot)

    async def work(session: BotSession) -> DownloadedFile:
        return await BankStatements(session, driver).receipt(account_no, txn_id, booked_on)

    return runtime.run(driver, f"receipt:{txn_id}", work)
