"""Routes of the stand-in insurance settlement portal: login, the list of cleared months, and per month the
clearing statement and its detail files as downloads.

The fund publishes the files; the portal only serves them. They live in the portal's own data folder,
``<data>/insurance/<YYYY-MM>/<kind>.csv`` (``clearing``, ``clearing_items``, ``group``), put there by the
fund's side — here the admin endpoint ``PUT /__admin/files/<month>/<kind>`` (admin token) — so the portal
knows nothing of the hospital's systems.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from portals.auth import AUTH_SCHEMA, PortalUser, SessionStore, seed_users
from portals.db import Database
from portals.faults import FaultInjector, FaultSwitches
from portals.web import (
    PortalState,
    admin_denied,
    error_page,
    fault_admin_routes,
    login_routes,
    redirect,
    render,
    require_login,
)

#: the files of a month, in the order the hospital imports them, with the names the fund gives them
KINDS = {"clearing": "月度清算单 Clearing statement", "clearing_items": "拒付扣款明细 Refused and deducted items",
         "group": "DRG/DIP 分组结算明细 Group settlements"}
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
INSURANCE_IDS = {"classic": {"login_user": "username", "login_pass": "password", "login_btn": "btnLogin",
                             "month_table": "monthTable", "month_prefix": "month_", "file_prefix": "dl_",
                             "errors": "errorMsg"}}


def create_insurance_app(db_path: Path, files_dir: Path, admin_token: str, users: list[PortalUser],
                         idle_timeout_seconds: float = 300, faults: dict[str, Any] | None = None) -> Starlette:
    """Build the portal on its own SQLite file (users, sessions) and its own folder of published files."""
    db = Database(db_path, AUTH_SCHEMA)
    seed_users(db, users)
    switches = FaultSwitches()
    switches.update(faults or {})
    state = PortalState(name="insurance", title="示范市医疗保障局 医保结算平台", db=db,
                        sessions=SessionStore(db, "YBSESSION", idle_timeout_seconds), faults=switches,
                        admin_token=admin_token, ids=INSURANCE_IDS, home="/months")
    files_dir.mkdir(parents=True, exist_ok=True)

    def published(month: str) -> dict[str, Path]:
        folder = files_dir / month
        return {kind: folder / f"{kind}.csv" for kind in KINDS if (folder / f"{kind}.csv").exists()}

    async def root(request: Request) -> Response:
        session = require(request)
        return session if isinstance(session, Response) else redirect("/months")

    def require(request: Request) -> Any:
        return require_login(state, request)

    async def months(request: Request) -> Response:
        session = require(request)
        if isinstance(session, Response):
            return session
        listing = sorted((p.name for p in files_dir.iterdir() if p.is_dir() and MONTH.match(p.name)
                          and published(p.name)), reverse=True)
        return render(state, "insurance/months.html", csrf=session.csrf, user=session.data.get("display_name"),
                      listing=listing)

    async def month_page(request: Request) -> Response:
        session = require(request)
        if isinstance(session, Response):
            return session
        month = request.path_params["month"]
        files = published(month) if MONTH.match(month) else {}
        if not files:
            return error_page(state, "无清算数据", f"{month} 尚未发布清算单。")
        return render(state, "insurance/month.html", csrf=session.csrf, user=session.data.get("display_name"),
                      month=month, files=[(kind, KINDS[kind]) for kind in files])

    async def download(request: Request) -> Response:
        session = require(request)
        if isinstance(session, Response):
            return session
        month, kind = request.path_params["month"], request.path_params["kind"]
        path = published(month).get(kind) if MONTH.match(month) else None
        if path is None:
            return error_page(state, "下载失败", "文件不存在或尚未发布。")
        return Response(path.read_bytes(), media_type="text/csv; charset=GBK",
                        headers={"Content-Disposition": f'attachment; filename="{kind}_{month.replace("-", "")}.csv"'})

    async def publish(request: Request) -> Response:
        denied = admin_denied(state, request)
        if denied is not None:
            return denied
        month, kind = request.path_params["month"], request.path_params["kind"]
        if not MONTH.match(month) or kind not in KINDS:
            return JSONResponse({"error": f"unknown month or kind: {month}/{kind}"}, status_code=400)
        body = await request.body()
        if not body:
            return JSONResponse({"error": "empty file"}, status_code=400)
        (files_dir / month).mkdir(parents=True, exist_ok=True)
        (files_dir / month / f"{kind}.csv").write_bytes(body)
        return JSONResponse({"month": month, "kind": kind, "bytes": len(body)})

    routes = [
        Route("/", root, methods=["GET"]),
        Route("/months", months, methods=["GET"]),
        Route("/months/{month}", month_page, methods=["GET"]),
        Route("/months/{month}/{kind}", download, methods=["GET"]),
        Route("/__admin/files/{month}/{kind}", publish, methods=["PUT"]),
        *login_routes(state),
        *fault_admin_routes(state),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(FaultInjector, faults=switches,
                                                          invalidate_session=state.sessions.invalidate,
                                                          cookie_name=state.sessions.cookie_name)])
    app.state.portal = state
    return app
