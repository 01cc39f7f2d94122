"""Logging hospital staff into the project's own web pages with their engine login.

The budget upload page and the finance dashboard both let a person in with the user name and password she
uses in Tasklist. The password is checked by the engine's identity service (``POST /identity/verify``, asked
by the service account) and never stored; the browser keeps a session cookie signed with a key that lives
only in the serving process (a restart logs everyone out); forms carry a token bound to that cookie (CSRF)
and state-changing requests must come from the page's own origin. Which groups a person is in is read from
the engine at login (``GET /group?member=``), never taken from the browser.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
import time

from starlette.requests import Request
from starlette.responses import HTMLResponse

from smartfin.camunda.client import EngineClient
from smartfin.kernel.settings import Settings

SESSION_SECONDS = 8 * 3600
SECURITY_HEADERS = {"X-Frame-Options": "DENY", "Content-Security-Policy": "default-src 'self'",
                    "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class SignedSessions:
    """Signed session cookies ``user|expiry|nonce|mac`` and the CSRF token derived from each."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def _mac(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def issue(self, user: str) -> str:
        """A new cookie value for ``user``, valid for ``SESSION_SECONDS``."""
        body = f"{user}|{int(time.time()) + SESSION_SECONDS}|{secrets.token_hex(8)}"
        return f"{body}|{self._mac(body)}"

    def user(self, cookie: str | None) -> str | None:
        """The user a cookie was issued to, or None when it is missing, forged or expired."""
        if not cookie or cookie.count("|") != 3:
            return None
        body, _, mac = cookie.rpartition("|")
        user, expiry, _nonce = body.split("|")
        if not hmac.compare_digest(mac, self._mac(body)) or not expiry.isdigit() or int(expiry) < time.time():
            return None
        return user

    def csrf(self, cookie: str) -> str:
        """The form token of one session: a form posted without it (or with another session's) is refused."""
        return self._mac("csrf|" + cookie)


def verify_password(settings: Settings, user: str, password: str) -> bool:
    """The engine's identity service checks the password (the service account asks; nothing is stored)."""
    service = EngineClient.from_settings(settings)
    try:
        answer = service.post("/identity/verify", {"username": user, "password": password})
    finally:
        service.close()
    return bool(answer and answer.get("authenticated"))


def engine_groups(settings: Settings, user: str) -> frozenset[str]:
    """The ids of the engine groups ``user`` is a member of, as the engine records them now."""
    service = EngineClient.from_settings(settings)
    try:
        return frozenset(str(group["id"]) for group in service.get("/group", member=user) or [])
    finally:
        service.close()


def same_origin(request: Request) -> bool:
    """A state-changing request must name the page's own origin (Origin, else Referer)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return False
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin == own or origin.startswith(own + "/")


def html_page(title: str, body: str, status: int = 200, *, head: str = "") -> HTMLResponse:
    """One page with the security headers every page of these sites carries; ``title`` is escaped here."""
    return HTMLResponse(f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>{html.escape(title)}"
                        f"</title>{head}</head><body><h1>{html.escape(title)}</h1>{body}</body></html>",
                        status_code=status, headers=SECURITY_HEADERS)
