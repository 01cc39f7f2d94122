"""HTTP helpers for the portal tests: test accounts, admin calls, CSRF scraping, login."""

from __future__ import annotations

import re
import ssl
from typing import Any

import httpx

from portals.auth import PortalUser
from portals.runner import RunningPortals

ADMIN_TOKEN = "test-admin-token"
ERP_USER = PortalUser("clerk", "clerk-pass-1", "会计 测试员")
BANK_USER = PortalUser("bankop", "bank-pass-1", "网银操作员")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# One TLS context for all clients: building one per httpx.Client costs ~30 ms, and the portals are plain HTTP.
_TLS = ssl.create_default_context()


def new_client(base_url: str = "") -> httpx.Client:
    """A fresh cookie jar, like a new browser profile."""
    return httpx.Client(base_url=base_url, timeout=10, verify=_TLS)


_ADMIN = new_client()


def admin(portals: RunningPortals, portal: str, method: str, path: str, body: Any = None) -> httpx.Response:
    """Call a portal's admin endpoint with the launch token."""
    return _ADMIN.request(method, portals.urls[portal] + path, json=body, headers={"X-Admin-Token": ADMIN_TOKEN})


def csrf_of(page: str) -> str:
    match = CSRF.search(page)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client: httpx.Client, user: PortalUser) -> httpx.Response:
    """Log in like a browser: fetch the form (cookie + token), then post it."""
    page = client.get("/login")
    return client.post(
        "/login", data={"username": user.username, "password": user.password, "csrf_token": csrf_of(page.text)}
    )
