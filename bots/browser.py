"""Launching Debian's Chromium for Playwright: the one place that knows the binary and its flags.

Playwright's own browser download is impossible on the hospital's closed network, so every browser in
the product — bots and end-to-end tests — is the system Chromium, started with the flags that keep it
from calling home.

Headless runs use Debian's ``chromium-headless-shell`` when it is installed: the same engine without
the desktop browser's user interface, which costs about half the CPU per page (on two cores it is the
difference between 0.7 and 1.4 vouchers a second). A headed run (a person watching the bot) needs the
full browser.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from playwright.async_api import Browser as AsyncBrowser
from playwright.async_api import Playwright as AsyncPlaywright
from playwright.sync_api import Browser, Playwright

from smartfin.kernel.settings import get_settings

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
HEADLESS_SHELL_CANDIDATES = ("/usr/bin/chromium-headless-shell",)
CLOSED_NETWORK_FLAGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--disable-gpu",
    "--disable-dev-shm-usage",
)


class BrowserUnavailable(RuntimeError):
    """No system Chromium: the message names the Debian package to install."""


def chromium_path(*, headless: bool = True) -> Path:
    """``SMARTFIN_CHROMIUM`` if set, else Debian's headless shell (headless runs only), else its Chromium."""
    configured = str(get_settings().chromium or "")
    shells = HEADLESS_SHELL_CANDIDATES if headless else ()
    candidates = [configured] if configured else [*shells, *CHROMIUM_CANDIDATES, shutil.which("chromium") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return Path(candidate)
    raise BrowserUnavailable("Chromium is not installed: `apt-get install chromium` (Debian), "
                             "or set SMARTFIN_CHROMIUM to its path; never `playwright install`")


def launch_chromium(playwright: Playwright, *, headless: bool = True) -> Browser:
    """A headless system Chromium; ``--no-sandbox`` only when running as root, where it is required."""
    return playwright.chromium.launch(executable_path=str(chromium_path(headless=headless)), headless=headless,
                                      args=chromium_flags())


def chromium_flags() -> list[str]:
    """The command-line flags every product browser starts with."""
    flags = list(CLOSED_NETWORK_FLAGS)
    if os.geteuid() == 0:
        flags.append("--no-sandbox")
    return flags


async def launch_chromium_async(playwright: AsyncPlaywright, *, headless: bool = True) -> AsyncBrowser:
    """The same system Chromium for the async API (the bot runtime shares one browser across items)."""
    return await playwright.chromium.launch(executable_path=str(chromium_path(headless=headless)), headless=headless,
                                            args=chromium_flags())
