"""Routes of the stand-in ERP: a top page with a menu iframe and a content iframe, voucher entry,
search and detail, plus the token-protected admin endpoints used by tests.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from portals.auth import AUTH_SCHEMA, PortalUser, SessionStore, csrf_ok, seed_users
from portals.db import Database
from portals.erp.vouchers import (
    BUDGET_ACCOUNTS,
    ERP_SCHEMA,
    FINANCIAL_ACCOUNTS,
    VOUCHER_TYPES,
    form_rows,
    load_voucher,
    parse_draft,
    post_voucher,
    search_vouchers,
    validate,
    vouchers_by_ref,
)
from portals.faults import FaultInjector, FaultSwitches
from portals.money import format_fen
from portals.web import (
    PortalState,
    admin_denied,
    csrf_rejected,
    fault_admin_routes,
    login_routes,
    redirect,
    render,
    require_login,
)

# Element ids per layout variant: the "revised" set is the overnight redesign page objects must survive.
ERP_IDS: dict[str, dict[str, str]] = {
    "classic": {
        "login_user": "username",
        "login_pass": "password",
        "login_btn": "btnLogin",
        "menu_frame": "menuFrame",
        "main_frame": "mainFrame",
        "menu_new": "menuVoucherNew",
        "menu_search": "menuVoucherSearch",
        "v_form": "voucherForm",
        "v_date": "voucher_date",
        "v_type": "voucher_type",
        "v_summary": "summary",
        "v_ref": "external_ref",
        "v_attach": "attachments",
        "v_preparer": "preparer",
        "fin_table": "finLines",
        "bud_table": "budLines",
        "fin_row": "fin",
        "bud_row": "bud",
        "add_fin": "btnAddFinLine",
        "add_bud": "btnAddBudLine",
        "save": "btnSave",
        "errors": "errorMsg",
        "voucher_no": "voucherNo",
        "s_form": "searchForm",
        "s_ref": "ref",
        "s_from": "date_from",
        "s_to": "date_to",
        "s_btn": "btnSearch",
        "s_table": "resultTable",
        "s_next": "nextPage",
        "s_prev": "prevPage",
        "s_info": "pageInfo",
    },
    "revised": {
        "login_user": "loginName",
        "login_pass": "loginPwd",
        "login_btn": "submitLogin",
        "menu_frame": "navFrame",
        "main_frame": "contentFrame",
        "menu_new": "lnkPzlr",
        "menu_search": "lnkPzcx",
        "v_form": "pzForm",
        "v_date": "pzrq",
        "v_type": "pzz",
        "v_summary": "pzzy",
        "v_ref": "wbdh",
        "v_attach": "fjzs",
        "v_preparer": "zdr",
        "fin_table": "cwflTable",
        "bud_table": "ysflTable",
        "fin_row": "cw",
        "bud_row": "ys",
        "add_fin": "addRowCw",
        "add_bud": "addRowYs",
        "save": "btnPost",
        "errors": "msgBox",
        "voucher_no": "pzh",
        "s_form": "queryForm",
        "s_ref": "qWbdh",
        "s_from": "qStart",
        "s_to": "qEnd",
        "s_btn": "btnQuery",
        "s_table": "gridResult",
        "s_next": "lnkNext",
        "s_prev": "lnkPrev",
        "s_info": "pager",
    },
}

BLANK_ROWS = 2


def _blank_rows(count: int) -> list[dict[str, str]]:
    return [{"account": "", "summary": "", "debit": "", "credit": ""} for _ in range(count)]


def create_erp_app(
    db_path: Any,
    admin_token: str,
    users: list[PortalUser],
    idle_timeout_seconds: float = 300,
    search_delay_seconds: float = 0.5,
    faults: dict[str, Any] | None = None,
) -> Starlette:
    """Build the ERP app on its own SQLite file; seed users on first start."""
    db = Database(db_path, AUTH_SCHEMA + ERP_SCHEMA)
    seed_users(db, users)
    switches = FaultSwitches()
    switches.update(faults or {})
    state = PortalState(
        name="erp",
        title="医院财务管理系统 V6.2 —— 总账",
        db=db,
        sessions=SessionStore(db, "ERPSESSIONID", idle_timeout_seconds),
        faults=switches,
        admin_token=admin_token,
        ids=ERP_IDS,
        home="/main",
        tunables={"search_delay_seconds": search_delay_seconds},
    )

    def voucher_form(session: Any, form: Any = None, errors: list[str] | None = None) -> Response:
        fin = form_rows(form, "fin") if form is not None else _blank_rows(BLANK_ROWS)
        bud = form_rows(form, "bud") if form is not None else _blank_rows(BLANK_ROWS)
        values = {
            "voucher_date": str(form.get("voucher_date", "")) if form is not None else date.today().isoformat(),
            "voucher_type": str(form.get("voucher_type", "记")) if form is not None else "记",
            "summary": str(form.get("summary", "")) if form is not None else "",
            "external_ref": str(form.get("external_ref", "")) if form is not None else "",
            "attachments": str(form.get("attachments", "0")) if form is not None else "0",
        }
        return render(
            state,
            "erp/voucher_form.html",
            csrf=session.csrf,
            values=values,
            fin_rows=fin or _blank_rows(BLANK_ROWS),
            bud_rows=bud or _blank_rows(BLANK_ROWS),
            errors=errors or [],
            voucher_types=VOUCHER_TYPES,
            preparer=session.data.get("display_name", ""),
            financial_accounts=FINANCIAL_ACCOUNTS,
            budget_accounts=BUDGET_ACCOUNTS,
        )

    async def root(request: Request) -> Response:
        session = require_login(state, request)
        return session if isinstance(session, Response) else redirect("/main")

    async def main(request: Request) -> Response:
        session = require_login(state, request)
        if isinstance(session, Response):
            return session
        return render(state, "erp/main.html", csrf=session.csrf, user=session.data.get("display_name"))

    async def menu(request: Request) -> Response:
        session = require_login(state, request)
        return session if isinstance(session, Response) else render(state, "erp/menu.html")

    async def welcome(request: Request) -> Response:
        session = require_login(state, request)
        if isinstance(session, Response):
            return session
        return render(state, "erp/welcome.html", user=session.data.get("display_name"), today=date.today())

    async def new_voucher(request: Request) -> Response:
        session = require_login(state, request)
        return session if isinstance(session, Response) else voucher_form(session)

    async def save_voucher(request: Request) -> Response:
        session = require_login(state, request)
        if isinstance(session, Response):
            return session
        form = await request.form()
        if not csrf_ok(session, form.get("csrf_token")):
            return csrf_rejected(state)
        draft, errors = parse_draft(form, session.data.get("display_name", session.username or ""))
        errors += validate(draft)
        refusal = "" if errors else state.faults.take_refusal()
        if refusal:
            errors.append(refusal)  # e.g. a closed period or an account frozen in the ERP: not the bot's fault
        if errors:
            return voucher_form(session, form, errors)
        number = post_voucher(state.db, draft, session.username or "")
        return render(state, "erp/voucher_saved.html", number=number, draft=draft)

    async def search(request: Request) -> Response:
        session = require_login(state, request)
        if isinstance(session, Response):
            return session
        params = request.query_params
        ref, date_from, date_to = (params.get(k, "").strip() for k in ("ref", "date_from", "date_to"))
        searched = "page" in params or any((ref, date_from, date_to)) or "q" in params
        result = None
        if searched:
            # The old report server is slow; bots must wait for the result instead of racing it.
            await asyncio.sleep(state.tunables["search_delay_seconds"])
            page = int(params["page"]) if params.get("page", "").isdigit() else 1
            result = search_vouchers(state.db, ref, date_from, date_to, page)
        return render(
            state,
            "erp/voucher_search.html",
            ref=ref,
            date_from=date_from,
            date_to=date_to,
            result=result,
            format_fen=format_fen,
        )

    async def detail(request: Request) -> Response:
        session = require_login(state, request)
        if isinstance(session, Response):
            return session
        found = load_voucher(state.db, request.path_params["voucher_id"])
        if found is None:
            return render(state, "error.html", title="凭证不存在", message="未找到该凭证，可能已被删除。")
        header, lines = found
        return render(state, "erp/voucher_detail.html", v=header, lines=lines, format_fen=format_fen)

    async def admin_vouchers(request: Request) -> Response:
        denied = admin_denied(state, request)
        if denied:
            return denied
        ref = request.query_params.get("ref", "")
        vouchers = vouchers_by_ref(state.db, ref)
        return JSONResponse({"ref": ref, "count": len(vouchers), "vouchers": vouchers})

    routes = [
        Route("/", root, methods=["GET"]),
        Route("/main", main, methods=["GET"]),
        Route("/menu", menu, methods=["GET"]),
        Route("/welcome", welcome, methods=["GET"]),
        Route("/voucher/new", new_voucher, methods=["GET"]),
        Route("/voucher/new", save_voucher, methods=["POST"]),
        Route("/voucher/search", search, methods=["GET"]),
        Route("/voucher/{voucher_id:int}", detail, methods=["GET"]),
        Route("/__admin/vouchers", admin_vouchers, methods=["GET"]),
        *login_routes(state),
        *fault_admin_routes(state),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                FaultInjector,
                faults=switches,
                invalidate_session=state.sessions.invalidate,
                cookie_name=state.sessions.cookie_name,
            )
        ],
    )
    app.state.portal = state
    return app
