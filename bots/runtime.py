"""The bot runtime: one Chromium per process, a fresh context per work item, logins reused and redone.

Playwright's sync API belongs to the thread that created it, while the worker runs each task in a
thread of its own. So the runtime owns one event-loop thread with the async API and one Browser;
callers in any thread hand it a work item (``run``) and wait for the result. Per item it:

- waits for a free session slot of the portal account (``SMARTFIN_BOT_SESSIONS_PER_ACCOUNT``; many
  portals allow one session per user) — a file lock per slot, so the limit holds across processes;
- opens a fresh context from the account's saved storage state (logging in once when there is none),
  because a context kept open grows without bound;
- records a trace (actions and network; DOM snapshots on every step cost ~40% of the throughput, so
  the DOM of every frame is saved once, at the failure), and on failure keeps evidence — screenshot,
  trace, page HTML, the portal's message — with secrets removed, and puts its folder into the error;
- when the portal sends it back to the login page, logs in again (once for all items that noticed)
  and repeats the item once; technical errors are tried ``SMARTFIN_BOT_ATTEMPTS`` times with backoff;
  business failures are never repeated.

Work items must be idempotent: a repeated item looks its reference up before acting again.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import fcntl
import hashlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from bots.browser import launch_chromium_async
from bots.config import BotSettings, PortalAccount, portal_account
from bots.errors import (
    BotError,
    LoginRefused,
    PortalUnavailable,
    SessionExpired,
    UnexpectedPage,
    worth_retrying,
)
from bots.evidence import new_evidence_folder, prune_evidence, redact, redact_trace, secret_variants
from smartfin.kernel.settings import Settings, get_settings

log = logging.getLogger("smartfin.bots")
T = TypeVar("T")
NETWORK_ERRORS = ("ERR_CONNECTION_REFUSED", "ERR_CONNECTION_RESET", "ERR_EMPTY_RESPONSE", "ERR_NAME_NOT_RESOLVED",
                  "ERR_ADDRESS_UNREACHABLE", "ERR_CONNECTION_CLOSED", "ERR_TIMED_OUT", "ERR_NETWORK_CHANGED")


class PortalDriver(Protocol):
    """What the runtime needs to know of a portal; the page objects implement it."""

    name: str
    needs_login: bool

    def base_url(self) -> str: ...

    async def login(self, page: Page, account: PortalAccount) -> None:
        """Log in on a fresh page; raise ``LoginRefused`` or ``UnexpectedPage``."""
        ...

    async def portal_message(self, page: Page) -> str:
        """The text the portal shows as its message on the current page (for evidence)."""
        ...


@dataclass
class BotSession:
    """What a work item gets: its own context and page, logged in, plus evidence on demand."""

    runtime: BotRuntime
    driver: PortalDriver
    account: PortalAccount | None
    reference: str
    context: BrowserContext
    page: Page
    evidence_path: str | None = None

    @property
    def base_url(self) -> str:
        return self.driver.base_url().rstrip("/")

    async def evidence(self, reason: str) -> str:
        """Keep evidence of the current page once per item; returns its folder."""
        if self.evidence_path is None:
            self.evidence_path = await self.runtime.capture_evidence(self, reason)
        return self.evidence_path


@dataclass
class _Login:
    """The saved login of one account: storage state (cookies), a version bumped on each new login."""

    state: dict[str, Any] | None = None
    version: int = 0
    refused_fingerprint: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class RuntimeStats:
    items: int = 0
    failures: int = 0
    logins: int = 0
    relogins: int = 0
    contexts_open: int = 0
    max_contexts_open: int = 0


class BotRuntime:
    """One browser for this process and the item loop around it (see the module docstring)."""

    def __init__(self, settings: Settings | None = None, bot: BotSettings | None = None) -> None:
        self.settings = settings or get_settings()
        self.bot = bot or get_settings().bot
        self.stats = RuntimeStats()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._browser_lock: asyncio.Lock | None = None
        self._logins: dict[str, _Login] = {}
        self._slots: dict[str, asyncio.Semaphore] = {}
        prune_evidence(self.evidence_root, self.bot.evidence_days)

    # -- folders ---------------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        return self.settings.var_dir / "bots"

    @property
    def evidence_root(self) -> Path:
        return self.root / "evidence"

    def _state_file(self, account: PortalAccount) -> Path:
        return self.root / "sessions" / f"{account.key}.json"

    # -- the loop thread -------------------------------------------------------------------------

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._thread_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="bot-browser", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def run(self, driver: PortalDriver, reference: str, work: Callable[[BotSession], Awaitable[T]],
            *, account: PortalAccount | None = None) -> T:
        """Run one work item from any (non-async) thread and wait for its result or error."""
        loop = self._ensure_loop()
        future = asyncio.run_coroutine_threadsafe(self.run_async(driver, reference, work, account=account), loop)
        return future.result()

    def close(self) -> None:
        """Close the browser and stop the loop thread (idempotent)."""
        with self._thread_lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None:
            return

        async def shutdown() -> None:
            if self._browser is not None:
                with contextlib.suppress(PlaywrightError):
                    await self._browser.close()
            if self._playwright is not None:
                with contextlib.suppress(Exception):
                    await self._playwright.stop()
            self._browser = self._playwright = None

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(10)
        loop.close()

    async def browser(self) -> Browser:
        """The process's browser, launched on first use and again if it crashed."""
        if self._browser_lock is None:
            self._browser_lock = asyncio.Lock()
        async with self._browser_lock:
            if self._browser is None or not self._browser.is_connected():
                if self._playwright is None:
                    self._playwright = await async_playwright().start()
                self._browser = await launch_chromium_async(self._playwright, headless=self.bot.headless)
                log.info("browser started (Chromium %s)", self._browser.version)
            return self._browser

    # -- one item --------------------------------------------------------------------------------

    async def run_async(self, driver: PortalDriver, reference: str, work: Callable[[BotSession], Awaitable[T]],
                        *, account: PortalAccount | None = None) -> T:
        """The item loop: slot, context, work; re-login once on expiry; retry technical errors."""
        if driver.needs_login and account is None:
            account = portal_account(driver.name, self.settings, self.bot)
        attempt, relogged = 0, False
        async with self._account_slot(driver, account):
            while True:
                attempt += 1
                login = self._login_of(account)
                used_version = login.version if login else 0
                try:
                    return await asyncio.wait_for(self._attempt(driver, account, reference, work),
                                                  self.bot.item_timeout_s)
                except SessionExpired:
                    if relogged:
                        raise
                    relogged = True
                    self.stats.relogins += 1
                    log.info("%s session expired during %s: logging in again", driver.name, reference)
                    await self._ensure_login(driver, account, stale_version=used_version)
                except TimeoutError as exc:
                    if attempt >= self.bot.attempts:
                        raise PortalUnavailable(f"{reference}: no result within {self.bot.item_timeout_s:.0f} s") \
                            from exc
                    await asyncio.sleep(self.bot.retry_delay_s * 2 ** (attempt - 1))
                except Exception as exc:
                    if not worth_retrying(exc) or attempt >= self.bot.attempts:
                        raise
                    log.warning("%s: attempt %d failed (%s); trying again", reference, attempt, exc)
                    await asyncio.sleep(self.bot.retry_delay_s * 2 ** (attempt - 1))

    async def _attempt(self, driver: PortalDriver, account: PortalAccount | None, reference: str,
                       work: Callable[[BotSession], Awaitable[T]]) -> T:
        state = await self._ensure_login(driver, account) if account is not None else None
        browser = await self.browser()
        context = await browser.new_context(storage_state=state, locale="zh-CN", accept_downloads=True)  # type: ignore[arg-type]
        self.stats.contexts_open += 1
        self.stats.max_contexts_open = max(self.stats.max_contexts_open, self.stats.contexts_open)
        self.stats.items += 1
        tracing = self.bot.trace
        try:
            context.set_default_timeout(self.bot.step_timeout_ms)
            if tracing:
                await context.tracing.start(snapshots=False, screenshots=False)
            page = await context.new_page()
            session = BotSession(self, driver, account, reference, context, page)
            try:
                return await work(session)
            except SessionExpired:
                raise  # routine: logged in again and repeated, no evidence needed
            except Exception as exc:
                self.stats.failures += 1
                error = classify(exc, reference)
                if error is not exc and isinstance(error, BotError):
                    error.portal_message = error.portal_message or await _safe_message(driver, page)
                path = await session.evidence(f"{type(error).__name__}: {error}")
                if hasattr(error, "evidence") and not getattr(error, "evidence", None):
                    error.evidence = path  # type: ignore[union-attr]
                if error is exc:
                    raise
                raise error from exc
        finally:
            if tracing:
                with contextlib.suppress(PlaywrightError):
                    await context.tracing.stop()
            with contextlib.suppress(PlaywrightError):
                await context.close()
            self.stats.contexts_open -= 1

    # -- logins ----------------------------------------------------------------------------------

    def _login_of(self, account: PortalAccount | None) -> _Login | None:
        if account is None:
            return None
        return self._logins.setdefault(account.key, _Login())

    async def _ensure_login(self, driver: PortalDriver, account: PortalAccount | None,
                            stale_version: int | None = None) -> dict[str, Any] | None:
        """The account's storage state; logs in when there is none or ``stale_version`` is still current."""
        if account is None:
            return None
        login = self._login_of(account)
        assert login is not None
        async with login.lock:
            if login.state is None and stale_version is None:
                login.state = _read_state(self._state_file(account))
            if login.state is not None and (stale_version is None or login.version != stale_version):
                return login.state
            fingerprint = hashlib.sha256(f"{account.key}\0{account.password}".encode()).hexdigest()
            if login.refused_fingerprint == fingerprint:
                raise LoginRefused(f"{driver.name} refused the password of {account.username} before; not trying "
                                   "the same password again (fix the secrets file, then retry)")
            browser = await self.browser()
            context = await browser.new_context(locale="zh-CN")
            try:
                context.set_default_timeout(self.bot.step_timeout_ms)
                page = await context.new_page()
                try:
                    await driver.login(page, account)
                except LoginRefused:
                    login.refused_fingerprint = fingerprint
                    raise
                except Exception as exc:
                    raise classify(exc, f"login {account.username}") from exc
                state = await context.storage_state()
            finally:
                with contextlib.suppress(PlaywrightError):
                    await context.close()
            login.state, login.version = dict(state), login.version + 1
            self.stats.logins += 1
            _write_state(self._state_file(account), login.state)
            log.info("logged in to %s as %s", driver.name, account.username)
            return login.state

    # -- concurrency per account -----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _account_slot(self, driver: PortalDriver, account: PortalAccount | None) -> AsyncIterator[None]:
        """At most ``sessions_per_account`` items of one account at once, in this process and on this host."""
        key = account.key if account is not None else f"{driver.name}-anonymous"
        limit = self.bot.sessions_per_account
        semaphore = self._slots.setdefault(key, asyncio.Semaphore(limit))
        async with semaphore:
            folder = self.root / "locks" / "accounts"
            folder.mkdir(parents=True, exist_ok=True)
            while True:
                for slot in range(limit):
                    handle = (folder / f"{key}.{slot}.lock").open("a+")
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        handle.close()
                        continue
                    try:
                        yield
                    finally:
                        handle.close()
                    return
                await asyncio.sleep(0.05)

    # -- evidence --------------------------------------------------------------------------------

    async def capture_evidence(self, session: BotSession, reason: str) -> str:
        """Screenshot (password fields masked), redacted trace, the portal's message, and what happened."""
        folder = new_evidence_folder(self.evidence_root, session.driver.name, session.reference)
        page, context = session.page, session.context
        secrets = [session.account.password] if session.account else []
        with contextlib.suppress(PlaywrightError):
            secrets += [cookie["value"] for cookie in await context.cookies()]
        message = await _safe_message(session.driver, page)
        dom = []
        for frame in page.frames:
            with contextlib.suppress(PlaywrightError):
                dom.append(f"<!-- frame {frame.name or '(top)'}: {frame.url} -->\n{await frame.content()}")
        scrub = secret_variants(secrets)
        (folder / "page.html").write_bytes(redact("\n".join(dom).encode(), scrub))
        with contextlib.suppress(PlaywrightError):
            masks = [frame.locator("input[type=password]") for frame in page.frames]
            await page.screenshot(path=str(folder / "screenshot.png"), full_page=True, mask=masks, timeout=5000)
        if self.bot.trace:
            raw = folder / "trace.raw.zip"
            try:
                await context.tracing.stop(path=str(raw))
                redact_trace(raw, folder / "trace.zip", secrets)
            except PlaywrightError as exc:
                log.warning("no trace for %s: %s", session.reference, exc)
            finally:
                raw.unlink(missing_ok=True)
            with contextlib.suppress(PlaywrightError):
                await context.tracing.start(snapshots=False, screenshots=False)
        text = "\n".join([f"reference: {session.reference}", f"portal: {session.driver.name}",
                          f"account: {session.account.username if session.account else '-'}",
                          f"url: {_safe_url(page)}", f"reason: {reason}", "", message])
        for value in scrub:
            text = text.replace(value.decode(errors="ignore"), "[REDACTED]")
        (folder / "message.txt").write_text(text, encoding="utf-8")
        log.warning("evidence of %s kept in %s", session.reference, folder)
        return str(folder)


def classify(exc: BaseException, reference: str) -> BaseException:
    """Playwright's errors as application errors of the named kinds; everything else unchanged."""
    if isinstance(exc, BotError) or getattr(exc, "business", False):
        return exc
    if isinstance(exc, PlaywrightTimeout):
        return UnexpectedPage(f"{reference}: the page did not show what was expected in time "
                              f"({str(exc).splitlines()[0]})")
    if isinstance(exc, PlaywrightError):
        text = str(exc)
        if any(code in text for code in NETWORK_ERRORS):
            return PortalUnavailable(f"{reference}: portal unreachable ({text.splitlines()[0]})")
        return UnexpectedPage(f"{reference}: browser error ({text.splitlines()[0]})")
    return exc


async def _safe_message(driver: PortalDriver, page: Page) -> str:
    try:
        return await asyncio.wait_for(driver.portal_message(page), 5)
    except Exception:  # the evidence must not fail because the page is broken
        return ""


def _safe_url(page: Page) -> str:
    try:
        return page.url
    except PlaywrightError:
        return "?"


def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_state(path: Path, state: dict[str, Any]) -> None:
    """Storage state holds session cookies: written atomically, readable by the service user only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(f".{time.monotonic_ns()}.tmp")
    temporary.write_text(json.dumps(state), encoding="utf-8")
    temporary.chmod(0o600)
    temporary.replace(path)


_RUNTIME: BotRuntime | None = None
_RUNTIME_LOCK = threading.Lock()


def bot_runtime() -> BotRuntime:
    """The process's runtime (one browser per process), created on first use and closed at exit."""
    global _RUNTIME
    with _RUNTIME_LOCK:
        if _RUNTIME is None:
            _RUNTIME = BotRuntime()
            atexit.register(_RUNTIME.close)
        return _RUNTIME


def reset_bot_runtime() -> None:
    """Close the process runtime (tests and settings changes); the next call builds a new one."""
    global _RUNTIME
    with _RUNTIME_LOCK:
        runtime, _RUNTIME = _RUNTIME, None
    if runtime is not None:
        runtime.close()
