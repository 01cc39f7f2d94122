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
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from smartfin.camunda.client import EngineClient, EngineError
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


def local_path(path: str) -> str:
    """Where to go after logging in: a path of this site only (never another host), else the home page."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


def login_routes(settings: Settings, sessions: SignedSessions, cookie: str, title: str,
                 page: Callable[[str, str, int], Response] | None = None) -> list[Route]:
    """``GET /login`` (the form) and ``POST /login`` (check with the engine, set the session cookie, go back to
    the local page the person came from) for a site whose pages are drawn by ``page``."""
    draw = page or (lambda heading, body, status: html_page(heading, body, status))

    async def login_form(request: Request) -> Response:
        after = local_path(request.query_params.get("next", ""))
        return draw(f"{title} 登录 log in", (
            f"<form method='post' action='/login'><input type='hidden' name='next' value='{html.escape(after)}'>"
            "<label>用户名 User <input name='user' autocomplete='username'></label> <label>密码 Password "
            "<input type='password' name='password' autocomplete='current-password'></label> "
            "<button>登录 Log in</button></form>"), 200)

    async def login(request: Request) -> Response:
        if not same_origin(request):
            return draw("拒绝 Refused", "<p>跨站请求 / cross-site request refused</p>", 403)
        form = await request.form()
        user, password = str(form.get("user") or "").strip(), str(form.get("password") or "")
        try:
            ok = bool(user and password) and verify_password(settings, user, password)
        except EngineError:
            return draw("引擎不可用 Engine unavailable", "<p>请稍后再试 / try again later</p>", 503)
        if not ok:
            return draw("登录失败 Login failed", "<p>用户名或密码错误 / wrong user or password</p>"
                        "<p><a href='/login'>重试 Try again</a></p>", 401)
        response = RedirectResponse(local_path(str(form.get("next") or "")), status_code=303)
        response.set_cookie(cookie, sessions.issue(user), max_age=SESSION_SECONDS, httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
        return response

    return [Route("/login", login_form, methods=["GET"]), Route("/login", login, methods=["POST"])]
