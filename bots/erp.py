"""Page objects of the hospital's legacy ERP (总账 voucher entry), and posting a voucher through it.

The ERP is a frameset: a menu frame on the left, the work frame on the right; its forms carry CSRF
tokens, its search is slow and paginated, saving asks "确认过账吗？" in a JavaScript confirm, errors come
back as page text, and after an idle spell every page is the login page. The vendor has shipped two
screen layouts (element ids renamed, a notice page after login); both are described below as data, so
a third one is a new ``ErpLayout``, not new code. A page matching no accepted layout is an
``UnexpectedPage``, never a guess.

Nothing here knows the stand-in portals: the URL comes from ``SMARTFIN_ERP_URL``, the account from the
secrets (``bots.config``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from playwright.async_api import Dialog, FrameLocator, Page

from bots.config import BotSettings, PortalAccount, accepted_layouts
from bots.errors import LoginRefused, PortalUnavailable, SessionExpired, UnexpectedPage
from bots.runtime import BotRuntime, BotSession, bot_runtime
from smartfin.kernel.settings import Settings, get_settings
from smartfin.ports.vouchers import Voucher, VoucherBook, VoucherLine, VoucherRejected

log = logging.getLogger("smartfin.bots.erp")
T = TypeVar("T")
CONFIRM_POSTING = "确认过账吗？"
SERVER_ERROR_MARKERS = ("HTTP Status 500", "Internal Server Error", "系统繁忙")
SETTLE_LOOKS, SETTLE_PAUSE_S = 50, 0.1


@dataclass(frozen=True)
class ErpLayout:
    """Element ids of one ERP screen layout."""

    name: str
    login_user: str
    login_pass: str
    login_btn: str
    menu_frame: str
    main_frame: str
    menu_new: str
    menu_search: str
    v_form: str
    v_date: str
    v_type: str
    v_summary: str
    v_ref: str
    v_attach: str
    fin_row: str
    bud_row: str
    add_fin: str
    add_bud: str
    save: str
    errors: str
    voucher_no: str
    s_ref: str
    s_btn: str
    s_table: str
    s_next: str
    s_info: str
    notice_ack: str = "btnNoticeAck"


ERP_LAYOUTS = {
    "classic": ErpLayout(
        name="classic", login_user="username", login_pass="password", login_btn="btnLogin",
        menu_frame="menuFrame", main_frame="mainFrame", menu_new="menuVoucherNew", menu_search="menuVoucherSearch",
        v_form="voucherForm", v_date="voucher_date", v_type="voucher_type", v_summary="summary",
        v_ref="external_ref", v_attach="attachments", fin_row="fin", bud_row="bud", add_fin="btnAddFinLine",
        add_bud="btnAddBudLine", save="btnSave", errors="errorMsg", voucher_no="voucherNo", s_ref="ref",
        s_btn="btnSearch", s_table="resultTable", s_next="nextPage", s_info="pageInfo"),
    "revised": ErpLayout(
        name="revised", login_user="loginName", login_pass="loginPwd", login_btn="submitLogin",
        menu_frame="navFrame", main_frame="contentFrame", menu_new="lnkPzlr", menu_search="lnkPzcx",
        v_form="pzForm", v_date="pzrq", v_type="pzz", v_summary="pzzy", v_ref="wbdh", v_attach="fjzs",
        fin_row="cw", bud_row="ys", add_fin="addRowCw", add_bud="addRowYs", save="btnPost", errors="msgBox",
        voucher_no="pzh", s_ref="qWbdh", s_btn="btnQuery", s_table="gridResult", s_next="lnkNext", s_info="pager"),
}
LOGIN_FIELDS = ",".join(f"#{layout.login_user}" for layout in ERP_LAYOUTS.values())
ERROR_TEXT = "#errorText, #loginMsg, " + ", ".join(f"#{layout.errors}" for layout in ERP_LAYOUTS.values())


def _amount(value: Decimal) -> str:
    return f"{value:.2f}" if value else ""


class ErpDriver:
    """The ERP as the runtime sees it: where it is, how to log in, where its messages are."""

    name = "erp"
    needs_login = True

    def __init__(self, settings: Settings | None = None, bot: BotSettings | None = None) -> None:
        self.settings = settings or get_settings()
        self.layouts = [ERP_LAYOUTS[name] for name in accepted_layouts(bot or get_settings().bot, "erp")
                        if name in ERP_LAYOUTS]

    def base_url(self) -> str:
        return self.settings.erp_url.rstrip("/")

    async def detect_layout(self, page: Page) -> ErpLayout:
        """Which accepted layout the login page shows; anything else is an unexpected page."""
        await raise_for_server_error(page)
        for layout in self.layouts:
            if await page.locator(f"#{layout.login_user}").count():
                return layout
        raise UnexpectedPage(f"ERP login page matches none of the accepted layouts "
                             f"{[layout.name for layout in self.layouts]} ({page.url})")

    async def login(self, page: Page, account: PortalAccount) -> None:
        """Log in, acknowledge the system notice if one is shown, and check that the frameset opened."""
        await page.goto(self.base_url() + "/login")
        layout = await self.detect_layout(page)
        await page.fill(f"#{layout.login_user}", account.username)
        await page.fill(f"#{layout.login_pass}", account.password)
        await page.click(f"#{layout.login_btn}")
        outcome = page.locator(f"#{layout.menu_frame}, #{layout.notice_ack}, #loginMsg, h1")
        await outcome.first.wait_for()
        if await page.locator(f"#{layout.notice_ack}").count():
            await page.click(f"#{layout.notice_ack}")
            await page.locator(f"#{layout.menu_frame}").wait_for()
        if await page.locator("#loginMsg").count():
            text = (await page.locator("#loginMsg").inner_text()).strip()
            raise LoginRefused(f"ERP refused the login of {account.username}", portal_message=text)
        await raise_for_server_error(page)

    async def portal_message(self, page: Page) -> str:
        """Error texts of the page and its frames, else the start of the work frame's text."""
        texts = []
        for frame in page.frames:
            for element in await frame.locator(ERROR_TEXT + ", h1").all():
                texts.append((await element.inner_text()).strip())
        if texts:
            return " | ".join(t for t in texts if t)
        frame = page.frames[-1] if page.frames else page.main_frame
        return (await frame.locator("body").inner_text())[:500].strip()


async def raise_for_server_error(page: Page | FrameLocator) -> None:
    """A servlet error page (500) means the portal is unwell: a technical error, retried later."""
    heading = page.locator("h1")
    if await heading.count():
        text = (await heading.first.inner_text()).strip()
        if any(marker in text for marker in SERVER_ERROR_MARKERS):
            raise PortalUnavailable("ERP answered with a server error page", portal_message=text)


SHOWN_JS = """async (element, [markers, table]) => {
    const doc = element.ownerDocument, shown = {};
    if (doc.readyState === 'loading') {  // a slow server still streaming the page: read it whole
        await new Promise(done => doc.addEventListener('DOMContentLoaded', done, {once: true}));
    }
    const text = node => ((node || {}).textContent || '').trim();
    for (const [name, selector] of Object.entries(markers)) {
        const found = doc.querySelector(selector);
        if (found) shown[name] = text(found);
    }
    const rows = table ? [...doc.querySelectorAll(table.rows)].map(
        row => table.cells.map(cell => text(row.querySelector(cell)))) : [];
    return {shown, rows};
}"""


@dataclass(frozen=True)
class Glimpse:
    """What a page showed once it was ready: the text of each named marker present, and table rows."""

    shown: dict[str, str]
    rows: list[list[str]]


async def look(where: Page | FrameLocator, markers: dict[str, str],
               table: tuple[str, tuple[str, ...]] | None = None) -> Glimpse:
    """Wait until any of the named selectors matches, then read every marker (and ``table``'s rows).

    One round trip to the browser for what would otherwise be a wait and a look or two (each Playwright
    call costs CPU in three processes, and on two cores the bot's speed is the number of calls it makes).
    ``table`` is (row selector, cell selectors): the text of those cells in every matching row. The
    page is read once the browser has parsed all of it: a marker near the top of a page still arriving
    must not make the rows below it look absent (a search result read early would say "not posted").
    """
    spec = {"rows": table[0], "cells": list(table[1])} if table else None
    found = await where.locator(", ".join(markers.values())).first.evaluate(SHOWN_JS, [markers, spec])
    return Glimpse(found["shown"], found["rows"])


def raise_for_shown_error(shown: dict[str, str], where: str) -> None:
    """The login page, a servlet error page or the ERP's error page among ``shown`` markers, as errors."""
    if "login" in shown:
        raise SessionExpired(f"ERP session expired ({where}: the login page instead)")
    if any(marker in shown.get("h1", "") for marker in SERVER_ERROR_MARKERS):
        raise PortalUnavailable("ERP answered with a server error page", portal_message=shown["h1"])
    if "error" in shown:
        raise UnexpectedPage("ERP showed an error page", portal_message=shown["error"])


class ErpVoucherBook:
    """The ERP's voucher screens, for one work item (implements ``smartfin.ports.vouchers.VoucherBook``)."""

    def __init__(self, session: BotSession, driver: ErpDriver) -> None:
        self.session = session
        self.driver = driver
        self.page = session.page
        self.layout: ErpLayout | None = None
        self.dialogs: list[str] = []
        self.unexpected_dialog = asyncio.Event()
        self.page.on("dialog", self._on_dialog)

    async def _on_dialog(self, dialog: Dialog) -> None:
        # Playwright dismisses dialogs nobody handles: a silent "cancel" of the posting. Accept only the
        # confirmation we expect; anything else is dismissed and reported as an unexpected page.
        self.dialogs.append(dialog.message)
        if dialog.type == "confirm" and dialog.message.strip() == CONFIRM_POSTING:
            await dialog.accept()
        else:
            await dialog.dismiss()
            self.unexpected_dialog.set()

    async def evidence(self, reason: str) -> str | None:
        return await self.session.evidence(reason)

    # -- navigation ------------------------------------------------------------------------------

    async def _open(self) -> ErpLayout:
        """The frameset, reusing the saved login; a bounce to the login page means the session expired."""
        if self.layout is not None:
            return self.layout
        page = self.page
        await page.goto(self.driver.base_url() + "/main")
        markers = {"notice": "#btnNoticeAck", "login": LOGIN_FIELDS, "h1": "h1",
                   **{layout.name: f"#{layout.menu_frame}" for layout in self.driver.layouts}}
        shown = (await look(page, markers)).shown
        if "notice" in shown:
            await page.click("#btnNoticeAck")
            shown = (await look(page, {k: v for k, v in markers.items() if k != "notice"})).shown
        raise_for_shown_error(shown, "main frameset")
        for layout in self.driver.layouts:
            if layout.name in shown:
                self.layout = layout
                return layout
        raise UnexpectedPage(f"ERP main page matches none of the accepted layouts ({page.url})")

    def _frames(self, layout: ErpLayout) -> tuple[FrameLocator, FrameLocator]:
        return self.page.frame_locator(f"#{layout.menu_frame}"), self.page.frame_locator(f"#{layout.main_frame}")

    async def _settle(self, work: FrameLocator, expected: dict[str, str],
                      table: tuple[str, tuple[str, ...]] | None = None) -> Glimpse:
        """Wait until the work frame shows one of ``expected`` — or the login page, an error page, a 500.

        Returns the text of every marker shown (the voucher number, the paging state) and ``table``'s
        rows, so the caller need not ask again. A page showing none of them (a heading of the page
        being left) is looked at again for a few seconds, then it is an unexpected page.
        """
        markers = {**expected, "login": LOGIN_FIELDS, "error": "#errorText", "h1": "h1"}
        for _ in range(SETTLE_LOOKS):
            glimpse = await look(work, markers, table)
            raise_for_shown_error(glimpse.shown, "work frame")
            if glimpse.shown.keys() & expected.keys():
                return glimpse
            await asyncio.sleep(SETTLE_PAUSE_S)
        raise UnexpectedPage(f"ERP work frame shows none of {sorted(expected.values())}")

    # -- VoucherBook -----------------------------------------------------------------------------

    async def find(self, external_ref: str) -> list[str]:
        """Search by reference (a LIKE search on the portal) and keep exact matches, over all pages."""
        layout = await self._open()
        menu, work = self._frames(layout)
        await menu.locator(f"#{layout.menu_search}").click()
        await self._settle(work, {"form": f"#{layout.s_ref}"})
        await work.locator(f"#{layout.s_ref}").fill(external_ref)
        await work.locator(f"#{layout.s_btn}").click()
        numbers: list[str] = []
        paging = {"info": f"#{layout.s_info}", "next": f"#{layout.s_next}", "page": "#currentPage"}
        results = (f"#{layout.s_table} tbody tr", ("td.ref", "a.voucher-link"))
        for _ in range(1000):  # pages
            glimpse = await self._settle(work, paging, results)
            numbers += [number for ref, number in glimpse.rows if ref == external_ref]
            if "next" not in glimpse.shown:
                return numbers
            await work.locator(f"#{layout.s_next}").click()
            await work.locator("#currentPage").filter(has_not_text=glimpse.shown.get("page", "")).wait_for()
        raise UnexpectedPage(f"ERP search for {external_ref} does not end")

    async def enter(self, voucher: Voucher) -> str:
        """Key the voucher into the entry form, confirm, save; the portal's number or its refusal."""
        layout = await self._open()
        menu, work = self._frames(layout)
        await menu.locator(f"#{layout.menu_new}").click()
        await self._settle(work, {"form": f"#{layout.v_form}"})
        await work.locator(f"#{layout.v_type}").select_option(voucher.voucher_type)
        await work.locator(f"#{layout.v_date}").fill(voucher.booked_on.isoformat())
        await work.locator(f"#{layout.v_attach}").fill(str(voucher.attachments))
        await work.locator(f"#{layout.v_summary}").fill(voucher.summary)
        await work.locator(f"#{layout.v_ref}").fill(voucher.external_ref)
        await self._fill_lines(work, layout.fin_row, layout.add_fin, voucher.lines)
        await self._fill_lines(work, layout.bud_row, layout.add_bud, voucher.budget_lines)
        await work.locator(f"#{layout.save}").click()
        saved = asyncio.ensure_future(self._settle(work, {"number": f"#{layout.voucher_no}",
                                                          "errors": f"#{layout.errors}"}))
        refused = asyncio.ensure_future(self.unexpected_dialog.wait())
        done, _ = await asyncio.wait({saved, refused}, return_when=asyncio.FIRST_COMPLETED)
        for task in (saved, refused):
            if task not in done:
                task.cancel()
        if refused in done:
            raise UnexpectedPage(f"ERP asked something unexpected before saving: {self.dialogs[-1]!r}")
        shown = saved.result().shown
        if "errors" in shown:
            items = [t.strip() for t in await work.locator(f"#{layout.errors} li").all_inner_texts()]
            raise VoucherRejected("；".join(items) or shown["errors"])
        number = shown.get("number", "")
        if not number:
            raise UnexpectedPage("ERP saved the voucher but showed no voucher number")
        log.info("ERP saved %s as %s", voucher.external_ref, number)
        return number

    async def _fill_lines(self, work: FrameLocator, row: str, add: str, lines: tuple[VoucherLine, ...]) -> None:
        rows = await work.locator(f"[id^='{row}_account_']").count() if len(lines) > 2 else len(lines)
        for number, line in enumerate(lines, start=1):
            if number > rows:  # the form shows two blank rows; more only after "增加行"
                await work.locator(f"#{add}").click()
            await work.locator(f"#{row}_account_{number}").fill(line.account)
            await work.locator(f"#{row}_summary_{number}").fill(line.summary)
            await work.locator(f"#{row}_debit_{number}").fill(_amount(line.debit))
            await work.locator(f"#{row}_credit_{number}").fill(_amount(line.credit))


class ErpPortal:
    """The ERP as a ``VoucherPortal``: each voucher gets a fresh browser context and a logged-in book.

    The posting journal (``smartfin.posting.journal.post_voucher``) decides what is keyed and when; this
    class only opens the screens for it.
    """

    def __init__(self, *, runtime: BotRuntime | None = None, settings: Settings | None = None,
                 account: PortalAccount | None = None) -> None:
        self._runtime = runtime
        self.settings = settings
        self.account = account

    def run(self, external_ref: str, work: Callable[[VoucherBook], Awaitable[T]]) -> T:
        runtime = self._runtime or bot_runtime()
        driver = ErpDriver(self.settings or get_settings(), runtime.bot)

        async def item(session: BotSession) -> T:
            return await work(ErpVoucherBook(session, driver))

        return runtime.run(driver, external_ref, item, account=self.account)


def find_vouchers(external_ref: str, *, runtime: BotRuntime | None = None,
                  settings: Settings | None = None) -> list[str]:
    """Numbers of the ERP vouchers carrying exactly ``external_ref`` (read-only)."""
    runtime = runtime or bot_runtime()
    driver = ErpDriver(settings or get_settings(), runtime.bot)

    async def work(session: BotSession) -> list[str]:
        return await ErpVoucherBook(session, driver).find(external_ref)

    return runtime.run(driver, f"find:{external_ref}", work)
