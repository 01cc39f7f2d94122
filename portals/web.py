"""Web plumbing the three portals share: page rendering, login pages, admin token, fault admin.

Each portal is its own Starlette app with its own database; this module only removes repetition
(login form, notice interstitial, text error pages) so each portal module reads as its screens.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from portals.auth import Session, SessionStore, authenticate, csrf_ok
from portals.db import Database
from portals.faults import FaultSwitches

templates = Environment(
    loader=PackageLoader("portals", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class PortalState:
    """Everything one running portal needs; `ids` maps a layout variant to its element ids."""

    name: str
    title: str
    db: Database
    sessions: SessionStore
    faults: FaultSwitches
    admin_token: str
    ids: dict[str, dict[str, str]]
    home: str = "/"
    tunables: dict[str, float] = field(default_factory=dict)

    @property
    def layout(self) -> dict[str, str]:
        return self.ids[self.faults.layout_variant]


def render(state: PortalState, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page with the current layout variant's element ids."""
    page = templates.get_template(template).render(
        ids=state.layout, revised=state.faults.revised, portal_title=state.title, **context
    )
    return HTMLResponse(page, status_code=status_code)


def error_page(state: PortalState, title: str, message: str, status_code: int = 200) -> HTMLResponse:
    """Legacy systems answer refused requests with a page of text, not a JSON error."""
    return render(state, "error.html", status_code=status_code, title=title, message=message)


def csrf_rejected(state: PortalState) -> HTMLResponse:
    return error_page(
        state,
        "非法请求",
        "非法请求：表单令牌校验失败（CSRF），页面可能已过期，请返回重新打开页面后再提交。",
        status_code=403,
    )


def redirect(url: str, status_code: int = 302) -> RedirectResponse:
    return RedirectResponse(url, status_code=status_code)


def require_login(state: PortalState, request: Request, allow_unacknowledged: bool = False) -> Session | Response:
    """The clerk's session, or the redirect a legacy app answers with (login, or the notice page)."""
    lookup = state.sessions.lookup(request)
    session = lookup.session
    if session is None or not session.logged_in:
        return redirect("/login?expired=1" if lookup.expired else "/login", 303)
    if state.faults.revised and not session.data.get("notice_ack") and not allow_unacknowledged:
        return redirect("/notice", 303)
    return session


def login_routes(state: PortalState) -> list[Route]:
    """Login, logout and the 'system notice' interstitial of the revised layout."""

    async def login_page(request: Request) -> Response:
        lookup = state.sessions.lookup(request)
        if lookup.session is not None and lookup.session.logged_in:
            return redirect(state.home)
        session = lookup.session or state.sessions.create()
        message = (
            "会话已超时或已在其他地方退出，请重新登录。"
            if (lookup.expired or request.query_params.get("expired"))
            else ""
        )
        response = render(state, f"{state.name}/login.html", csrf=session.csrf, message=message)
        return state.sessions.attach(response, session)

    async def login_submit(request: Request) -> Response:
        form = await request.form()
        lookup = state.sessions.lookup(request)
        if not csrf_ok(lookup.session, form.get("csrf_token")):
            return csrf_rejected(state)
        assert lookup.session is not None
        display_name = authenticate(state.db, str(form.get("username", "")), str(form.get("password", "")))
        if display_name is None:
            return render(state, f"{state.name}/login.html", csrf=lookup.session.csrf, message="用户名或密码错误！")
        state.sessions.invalidate(lookup.session.sid)
        session = state.sessions.create(str(form.get("username")), {"display_name": display_name, "notice_ack": False})
        target = "/notice" if state.faults.revised else state.home
        return state.sessions.attach(redirect(target, 303), session)

    async def notice_page(request: Request) -> Response:
        session = require_login(state, request, allow_unacknowledged=True)
        if isinstance(session, Response):
            return session
        return render(state, "notice.html", csrf=session.csrf)

    async def notice_ack(request: Request) -> Response:
        session = require_login(state, request, allow_unacknowledged=True)
        if isinstance(session, Response):
            return session
        form = await request.form()
        if not csrf_ok(session, form.get("csrf_token")):
            return csrf_rejected(state)
        session.data["notice_ack"] = True
        state.sessions.save(session)
        return redirect(state.home, 303)

    async def logout(request: Request) -> Response:
        lookup = state.sessions.lookup(request)
        form = await request.form()
        if lookup.session is None:
            return redirect("/login", 303)
        if not csrf_ok(lookup.session, form.get("csrf_token")):
            return csrf_rejected(state)
        state.sessions.invalidate(lookup.session.sid)
        return state.sessions.detach(redirect("/login", 303))

    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/notice", notice_page, methods=["GET"]),
        Route("/notice", notice_ack, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]


def admin_denied(state: PortalState, request: Request) -> JSONResponse | None:
    """Admin endpoints answer only to the launch-time token (header X-Admin-Token)."""
    token = request.headers.get("x-admin-token", "")
    if token and hmac.compare_digest(token, state.admin_token):
        return None
    return JSONResponse({"error": "admin token required"}, status_code=401)


async def read_json(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"{}")
    except json.JSONDecodeError:
        return None


def fault_admin_routes(state: PortalState) -> list[Route]:
    """GET/POST /__admin/faults: read and flip fault switches, idle timeout and other tunables."""

    def snapshot() -> dict[str, Any]:
        return {
            "portal": state.name,
            "faults": state.faults.as_dict(),
            "idle_timeout_seconds": state.sessions.idle_timeout_seconds,
            **state.tunables,
        }

    async def show(request: Request) -> Response:
        return admin_denied(state, request) or JSONResponse(snapshot())

    async def change(request: Request) -> Response:
        denied = admin_denied(state, request)
        if denied:
            return denied
        body = await read_json(request)
        if not isinstance(body, dict):
            return JSONResponse({"error": "JSON object expected"}, status_code=400)
        if body.pop("reset", False):
            state.faults.reset()
        expired = state.sessions.invalidate_all() if body.pop("expire_sessions", False) else 0
        if "idle_timeout_seconds" in body:
            state.sessions.idle_timeout_seconds = float(body.pop("idle_timeout_seconds"))
        for key in list(body):
            if key in state.tunables:
                state.tunables[key] = float(body.pop(key))
        errors = state.faults.update(body)
        if errors:
            return JSONResponse({"error": errors}, status_code=400)
        return JSONResponse({**snapshot(), "sessions_expired": expired})

    return [
        Route("/__admin/faults", show, methods=["GET"]),
        Route("/__admin/faults", change, methods=["POST"]),
    ]
