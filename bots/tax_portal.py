"""The national invoice verification portal (发票查验平台), as an ``InvoiceVerifier``.

The portal puts a verification-code image between the query and the answer. The bot never tries to
read it: the first call returns ``needs_captcha`` with the image and a ``resume_token``; a person types
the code in a Tasklist task, and the second call (``captcha_answer`` + ``resume_token``) submits it in
the same portal session. The token names a file under ``var/bots/tax-resume/`` holding that session's
storage state and the captcha page (readable by the service user only, deleted once used or after
``RESUME_TTL_S``).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Page, Route

from bots.config import BotSettings, accepted_layouts
from bots.erp import raise_for_server_error
from bots.errors import ApplicationError, UnexpectedPage
from bots.runtime import BotRuntime, BotSession, bot_runtime
from smartfin.kernel.settings import Settings, get_settings
from smartfin.ports.verification import VerificationOutcome, VerificationQuery, VerificationStatus

RESUME_TTL_S = 280  # the portal's captcha lives 300 s
RESULT_TEXTS = (
    ("超过该张发票当日查验次数", VerificationStatus.LIMIT_REACHED),
    ("次日方可查验", VerificationStatus.TOO_EARLY),
    ("查无此票", VerificationStatus.NOT_FOUND),
    ("不一致", VerificationStatus.INCONSISTENT),
    ("一致", VerificationStatus.CONSISTENT),
)


@dataclass(frozen=True)
class TaxLayout:
    """Element ids of one verification-portal layout."""

    name: str
    q_form: str
    fpdm: str
    fphm: str
    kprq: str
    kjje: str
    jym: str
    q_btn: str
    captcha_img: str
    captcha_input: str
    verify_btn: str
    result: str
    errors: str


TAX_LAYOUTS = {
    "classic": TaxLayout("classic", "queryForm", "fpdm", "fphm", "kprq", "kjje", "jym", "btnQuery", "yzm_img", "yzm",
                         "checkBtn", "resultText", "errorMsg"),
    "revised": TaxLayout("revised", "cyForm", "invoiceCode", "invoiceNo", "billingDate", "amount", "checkCode",
                         "queryBtn", "captchaImage", "captchaInput", "submitCheck", "cyjg", "tipMsg"),
}


class TaxDriver:
    """The verification portal as the runtime sees it: no login, an anonymous session per item."""

    name = "tax"
    needs_login = False

    def __init__(self, settings: Settings | None = None, bot: BotSettings | None = None) -> None:
        self.settings = settings or get_settings()
        self.layouts = [TAX_LAYOUTS[name] for name in accepted_layouts(bot or get_settings().bot, "tax")
                        if name in TAX_LAYOUTS]

    def base_url(self) -> str:
        return self.settings.tax_url.rstrip("/")

    async def login(self, page: Page, account: Any) -> None:  # the portal has no login
        return None

    async def portal_message(self, page: Page) -> str:
        ids = [f"#{getattr(layout, name)}" for layout in TAX_LAYOUTS.values() for name in ("errors", "result")]
        elements = await page.locator(", ".join([*ids, "#errorText", "h1"])).all()
        texts = [(await element.inner_text()).strip() for element in elements]
        return " | ".join(t for t in texts if t) or (await page.locator("body").inner_text())[:500].strip()

    async def layout_on(self, page: Page, field: str) -> TaxLayout:
        await raise_for_server_error(page)
        for layout in self.layouts:
            if await page.locator(f"#{getattr(layout, field)}").count():
                return layout
        raise UnexpectedPage(f"verification page matches none of the accepted layouts ({page.url})")


class TaxPortalVerifier:
    """``InvoiceVerifier`` on the tax bureau's verification portal (``SMARTFIN_TAX_URL``)."""

    def __init__(self, settings: Settings | None = None, *, runtime: BotRuntime | None = None) -> None:
        self.settings = settings or get_settings()
        self._runtime = runtime

    @property
    def runtime(self) -> BotRuntime:
        return self._runtime or bot_runtime()

    @property
    def resume_folder(self) -> Path:
        return self.settings.var_dir / "bots" / "tax-resume"

    def verify(self, query: VerificationQuery, *, captcha_answer: str | None = None,
               resume_token: str | None = None) -> VerificationOutcome:
        """Ask the portal; ``needs_captcha`` first, the verdict once a person's answer comes back."""
        driver = TaxDriver(self.settings, self.runtime.bot)
        resume = self._take_resume(resume_token) if (resume_token and captcha_answer) else None
        reference = f"verify:{query.code}-{query.number}"

        async def work(session: BotSession) -> VerificationOutcome:
            if resume is not None:
                return await self._answer(session, driver, resume, (captcha_answer or "").strip())
            return await self._ask(session, driver, query)

        try:
            return self.runtime.run(driver, reference, work)
        except ApplicationError as exc:
            return VerificationOutcome(VerificationStatus.UNAVAILABLE,
                                       f"查验平台暂不可用 / verification portal unavailable: {exc}",
                                       {"evidence": exc.evidence})

    # -- steps -----------------------------------------------------------------------------------

    async def _ask(self, session: BotSession, driver: TaxDriver, query: VerificationQuery) -> VerificationOutcome:
        page = session.page
        await page.goto(driver.base_url() + "/")
        if await page.locator("#btnNoticeAck").count():
            await page.click("#btnNoticeAck")
        layout = await driver.layout_on(page, "q_form")
        digital = len(query.number) == 20
        if not digital:
            await page.fill(f"#{layout.fpdm}", query.code)
        await page.fill(f"#{layout.fphm}", query.number)
        await page.fill(f"#{layout.kprq}", query.issue_date.strftime("%Y%m%d"))
        await page.fill(f"#{layout.kjje}", f"{query.amount:.2f}")
        if not digital:
            await page.fill(f"#{layout.jym}", query.check_code_last6)
        await page.click(f"#{layout.q_btn}")
        return await self._after_submit(session, driver)

    async def _after_submit(self, session: BotSession, driver: TaxDriver) -> VerificationOutcome:
        """Read whatever page followed a submit: the captcha step, a verdict, or a refusal."""
        page = session.page
        markers = [f"#{getattr(layout, name)}" for layout in driver.layouts
                   for name in ("captcha_img", "result", "errors")]
        await page.locator(", ".join([*markers, "#errorText", "h1"])).first.wait_for()
        await page.wait_for_load_state("domcontentloaded")  # the amounts below the verdict, not only the verdict
        await raise_for_server_error(page)
        if await page.locator("#errorText").count():  # "页面已过期": the session is gone, start again
            return VerificationOutcome(VerificationStatus.UNAVAILABLE,
                                       (await page.locator("#errorText").inner_text()).strip(), {})
        for layout in driver.layouts:
            if await page.locator(f"#{layout.captcha_img}").count():
                return await self._captcha_step(session, layout)
            if await page.locator(f"#{layout.result}").count():
                return await self._verdict(page, layout)
            if await page.locator(f"#{layout.errors}").count():
                text = (await page.locator(f"#{layout.errors}").inner_text()).strip()
                return VerificationOutcome(VerificationStatus.INCONSISTENT,
                                           f"查验平台不接受所填信息 / the portal refused the query: {text}",
                                           {"portalMessage": text})
        raise UnexpectedPage("verification portal showed an unknown page")

    async def _captcha_step(self, session: BotSession, layout: TaxLayout) -> VerificationOutcome:
        page = session.page
        image = page.locator(f"#{layout.captcha_img}")
        source = await image.get_attribute("src") or ""
        response = await page.request.get(source if source.startswith("http") else
                                          session.base_url + "/" + source.lstrip("/"))
        png = await response.body()
        notice = ""
        if await page.locator(f"#{layout.errors}").count():
            notice = (await page.locator(f"#{layout.errors}").inner_text()).strip()
        token = secrets.token_urlsafe(18)
        self.resume_folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.resume_folder / f"{token}.json"
        path.write_text(json.dumps({"created": time.time(), "layout": layout.name, "html": await page.content(),
                                    "storage_state": await session.context.storage_state()}), encoding="utf-8")
        path.chmod(0o600)
        message = "请人工输入验证码 / a person must type the verification code"
        return VerificationOutcome(VerificationStatus.NEEDS_CAPTCHA, f"{notice}；{message}" if notice else message,
                                   {"portalMessage": notice}, captcha_png=png, resume_token=token)

    async def _answer(self, session: BotSession, driver: TaxDriver, resume: dict[str, Any],
                      answer: str) -> VerificationOutcome:
        page = session.page
        await session.context.add_cookies(resume["storage_state"].get("cookies", []))
        # Show the saved captcha page again under the portal's origin, so its form posts with our session.
        address = f"{driver.base_url()}/query/captcha-resume"

        async def serve(route: Route) -> None:
            await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=resume["html"])

        await page.route(address, serve)
        await page.goto(address)
        layout = TAX_LAYOUTS[resume["layout"]]
        await page.fill(f"#{layout.captcha_input}", answer)
        await page.click(f"#{layout.verify_btn}")
        return await self._after_submit(session, driver)

    async def _verdict(self, page: Page, layout: TaxLayout) -> VerificationOutcome:
        text = (await page.locator(f"#{layout.result}").inner_text()).strip()
        details: dict[str, Any] = {"portalResult": text}
        for name, selector in (("sellerName", "#sellerName"), ("amountExTax", "#amountExTax"),
                               ("taxAmount", "#taxAmount"), ("totalAmount", "#totalAmount"),
                               ("checkCount", "#checkCount")):
            if await page.locator(selector).count():
                shown = (await page.locator(selector).inner_text()).strip()
                details[name] = re.sub(r"[¥￥,，\s]", "", shown) if name != "sellerName" else shown
        for marker, status in RESULT_TEXTS:
            if marker in text:
                return VerificationOutcome(status, text, details)
        raise UnexpectedPage(f"unknown verification result {text!r}")

    def _take_resume(self, token: str) -> dict[str, Any] | None:
        """The saved captcha step of ``token`` (consumed: one answer per image), or None if gone or stale."""
        if not re.fullmatch(r"[A-Za-z0-9_-]{10,64}", token):
            return None
        path = self.resume_folder / f"{token}.json"
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        finally:
            path.unlink(missing_ok=True)
        return data if time.time() - data.get("created", 0) < RESUME_TTL_S else None
