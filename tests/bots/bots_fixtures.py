"""Shared set-up of the bot tests: stand-in portals on free ports, test accounts, a bot runtime."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx

from bots.config import BotSettings
from bots.runtime import BotRuntime
from portals.auth import PortalUser
from portals.runner import RunningPortals
from smartfin.kernel.settings import Settings

ADMIN_TOKEN = "bots-test-admin-token"
ERP_USER = PortalUser("kuaiji-test", "erp-Secret-7xq", "会计 测试")
BANK_USER = PortalUser("wangyin-test", "bank-Secret-9kz", "网银 测试")
_ADMIN = httpx.Client(timeout=15)


def admin(portals: RunningPortals, portal: str, method: str, path: str, body: Any = None) -> Any:
    """Call a stand-in portal's admin endpoint (faults, voucher counts, captcha answers)."""
    response = _ADMIN.request(method, portals.urls[portal] + path, json=body, headers={"X-Admin-Token": ADMIN_TOKEN})
    response.raise_for_status()
    return response.json()


def vouchers_with(portals: RunningPortals, ref: str) -> list[dict[str, Any]]:
    """The ERP's own record of vouchers carrying exactly ``ref`` (its admin endpoint)."""
    return list(admin(portals, "erp", "GET", f"/__admin/vouchers?ref={quote(ref, safe='')}")["vouchers"])


def portal_environ(portals: RunningPortals) -> dict[str, str]:
    """Environment that points the product at the stand-ins with the test accounts."""
    return {
        "SMARTFIN_ERP_URL": portals.urls["erp"], "SMARTFIN_BANK_URL": portals.urls["bank"],
        "SMARTFIN_TAX_URL": portals.urls["tax"],
        "SMARTFIN_ERP_ACCOUNT": ERP_USER.username, "SMARTFIN_ERP_PASSWORD": ERP_USER.password,
        "SMARTFIN_BANK_ACCOUNT": BANK_USER.username, "SMARTFIN_BANK_PASSWORD": BANK_USER.password,
    }


def quick_runtime(settings: Settings, **overrides: Any) -> BotRuntime:
    """A runtime with short waits, so failure tests fail fast."""
    values: dict[str, Any] = {"step_timeout_ms": 8000, "retry_delay_s": 0.2, "item_timeout_s": 60}
    values.update(overrides)
    return BotRuntime(settings, BotSettings(**values))


def logged_in(runtime: BotRuntime) -> None:
    """Make sure the runtime holds a saved ERP login (an empty work item logs in when needed)."""
    from bots.erp import ErpDriver

    async def nothing(session: object) -> None:
        return None

    runtime.run(ErpDriver(runtime.settings, runtime.bot), "login-check", nothing)


def seed_erp_vouchers(portals: RunningPortals, refs: list[str]) -> None:
    """Key vouchers straight into the stand-in ERP over HTTP (test set-up, not the bot)."""
    with httpx.Client(base_url=portals.urls["erp"], timeout=15) as client:
        page = client.get("/login").text
        client.post("/login", data={"username": ERP_USER.username, "password": ERP_USER.password,
                                    "csrf_token": _csrf(page)})
        for ref in refs:
            form = client.get("/voucher/new").text
            client.post("/voucher/new", data={
                "csrf_token": _csrf(form), "voucher_date": "2026-05-06", "voucher_type": "记", "summary": "seed",
                "external_ref": ref, "attachments": "0", "fin_account": ["5001", "2302"], "fin_summary": ["s", "s"],
                "fin_debit": ["1.00", ""], "fin_credit": ["", "1.00"]}).raise_for_status()


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)
