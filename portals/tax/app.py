"""Routes of the stand-in invoice verification portal: query form, verification-code step, result.

No login, like the real platform; an anonymous server-side session still carries the CSRF token,
the pending query and the captcha it must be answered with.
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import date, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from portals.auth import AUTH_SCHEMA, Session, SessionStore, csrf_ok
from portals.db import Database
from portals.faults import FaultInjector, FaultSwitches
from portals.money import format_fen, parse_fen
from portals.tax.captcha import captcha_png, new_answer
from portals.tax.registry import (
    DEMO_INVOICES,
    TAX_SCHEMA,
    InvoiceQuery,
    count_check,
    find,
    invoice_from_json,
    matches,
    register,
    registry_empty,
    reset_checks,
)
from portals.web import PortalState, admin_denied, csrf_rejected, error_page, fault_admin_routes, read_json, render

CAPTCHA_TTL_SECONDS = 300
NEXT_DAY_RULE = "当日开具发票次日方可查验"
DAILY_LIMIT_TEXT = "超过该张发票当日查验次数，请于次日再次查验"

TAX_IDS: dict[str, dict[str, str]] = {
    "classic": {
        "q_form": "queryForm",
        "fpdm": "fpdm",
        "fphm": "fphm",
        "kprq": "kprq",
        "kjje": "kjje",
        "jym": "jym",
        "q_btn": "btnQuery",
        "captcha_img": "yzm_img",
        "captcha_input": "yzm",
        "verify_btn": "checkBtn",
        "captcha_refresh": "yzm_refresh",
        "result": "resultText",
        "errors": "errorMsg",
    },
    "revised": {
        "q_form": "cyForm",
        "fpdm": "invoiceCode",
        "fphm": "invoiceNo",
        "kprq": "billingDate",
        "kjje": "amount",
        "jym": "checkCode",
        "q_btn": "queryBtn",
        "captcha_img": "captchaImage",
        "captcha_input": "captchaInput",
        "verify_btn": "submitCheck",
        "captcha_refresh": "changeCaptcha",
        "result": "cyjg",
        "errors": "tipMsg",
    },
}


def parse_query(form: Any) -> tuple[dict[str, str], InvoiceQuery | None, list[str]]:
    """Check the typed fields the way the platform's form does; returns raw values for re-display."""
    raw = {name: str(form.get(name, "")).strip() for name in ("fpdm", "fphm", "kprq", "kjje", "jym")}
    errors = []
    number, code = raw["fphm"], raw["fpdm"]
    digital = bool(re.fullmatch(r"\d{20}", number))
    if not digital and not re.fullmatch(r"\d{8}", number):
        errors.append("发票号码有误（应为8位数字，数电票为20位数字）")
    if not digital and not re.fullmatch(r"\d{12}", code):
        errors.append("发票代码有误（应为12位数字）")
    if not digital and not re.fullmatch(r"\d{6}", raw["jym"]):
        errors.append("校验码有误（请输入校验码后6位）")
    issue_date = None
    for pattern in ("%Y%m%d", "%Y-%m-%d"):
        try:
            issue_date = datetime.strptime(raw["kprq"], pattern).date()
            break
        except ValueError:
            continue
    if issue_date is None:
        errors.append("开票日期有误（格式为YYYYMMDD）")
    elif issue_date > date.today():
        errors.append("开票日期不能晚于当前日期")
    amount = parse_fen(raw["kjje"])
    if not amount:
        errors.append("价税合计有误" if digital else "开具金额（不含税）有误")
    if errors:
        return raw, None, errors
    assert issue_date is not None and amount is not None
    query = InvoiceQuery("" if digital else code, number, issue_date, amount, "" if digital else raw["jym"])
    return raw, query, []


def create_tax_app(
    db_path: Any,
    admin_token: str,
    invoices: list[dict[str, Any]] | None = None,
    idle_timeout_seconds: float = 600,
    faults: dict[str, Any] | None = None,
) -> Starlette:
    """Build the verification portal; the registry is seeded on first start (demo invoices by default)."""
    db = Database(db_path, AUTH_SCHEMA + TAX_SCHEMA)
    if registry_empty(db):
        register(db, [invoice_from_json(item) for item in (DEMO_INVOICES if invoices is None else invoices)])
    switches = FaultSwitches()
    switches.update(faults or {})
    state = PortalState(
        name="tax",
        title="国家税务总局全国增值税发票查验平台（模拟）",
        db=db,
        sessions=SessionStore(db, "TAXSID", idle_timeout_seconds),
        faults=switches,
        admin_token=admin_token,
        ids=TAX_IDS,
        home="/",
    )

    def anonymous(request: Request) -> Session:
        return state.sessions.lookup(request).session or state.sessions.create()

    def new_captcha(session: Session) -> str:
        cid = secrets.token_hex(8)
        with db.connection() as conn:
            conn.execute(
                "INSERT INTO captchas (cid, sid, answer, created) VALUES (?, ?, ?, ?)",
                (cid, session.sid, new_answer(), time.time()),
            )
        return cid

    def captcha_page(session: Session, message: str = "") -> Response:
        pending = session.data["pending"]
        return render(
            state, "tax/captcha.html", csrf=session.csrf, cid=new_captcha(session), pending=pending, message=message
        )

    async def home(request: Request) -> Response:
        session = anonymous(request)
        template = "tax/notice.html" if switches.revised and not session.data.get("notice_ack") else "tax/query.html"
        response = render(state, template, csrf=session.csrf, raw={}, errors=[])
        return state.sessions.attach(response, session)

    async def notice_ack(request: Request) -> Response:
        session = state.sessions.lookup(request).session
        form = await request.form()
        if not csrf_ok(session, form.get("csrf_token")):
            return csrf_rejected(state)
        assert session is not None
        session.data["notice_ack"] = True
        state.sessions.save(session)
        return Response(status_code=303, headers={"Location": "/"})

    async def submit_query(request: Request) -> Response:
        session = state.sessions.lookup(request).session
        form = await request.form()
        if not csrf_ok(session, form.get("csrf_token")):
            return csrf_rejected(state)
        assert session is not None
        raw, query, errors = parse_query(form)
        if query is None:
            return render(state, "tax/query.html", csrf=session.csrf, raw=raw, errors=errors)
        session.data["pending"] = {
            "code": query.code,
            "number": query.number,
            "issue_date": query.issue_date.isoformat(),
            "amount_fen": query.amount_fen,
            "check_last6": query.check_last6,
        }
        state.sessions.save(session)
        return captcha_page(session)

    async def another_captcha(request: Request) -> Response:
        session = state.sessions.lookup(request).session
        if session is None or "pending" not in session.data:
            return error_page(state, "页面已过期", "页面已过期，请重新输入发票信息查验。")
        return captcha_page(session)

    async def captcha_image(request: Request) -> Response:
        with db.connection() as conn:
            row = conn.execute("SELECT answer FROM captchas WHERE cid = ?", (request.path_params["cid"],)).fetchone()
        if row is None:
            return Response(status_code=404)
        return Response(captcha_png(row["answer"]), media_type="image/png", headers={"Cache-Control": "no-store"})

    async def verify(request: Request) -> Response:
        session = state.sessions.lookup(request).session
        form = await request.form()
        if session is None or "pending" not in session.data:
            return error_page(state, "页面已过期", "页面已过期，请重新输入发票信息查验。")
        if not csrf_ok(session, form.get("csrf_token")):
            return csrf_rejected(state)
        cid = str(form.get("captcha_id", ""))
        with db.connection() as conn:
            row = conn.execute(
                "SELECT answer, created FROM captchas WHERE cid = ? AND sid = ?", (cid, session.sid)
            ).fetchone()
            conn.execute("DELETE FROM captchas WHERE cid = ?", (cid,))  # one attempt per image
        if row is None or time.time() - row["created"] > CAPTCHA_TTL_SECONDS:
            return captcha_page(session, "验证码已失效，请重新输入")
        if str(form.get("yzm", "")).strip().upper() != row["answer"]:
            return captcha_page(session, "验证码错误，请重新输入")
        pending = session.data.pop("pending")
        state.sessions.save(session)
        query = InvoiceQuery(
            pending["code"],
            pending["number"],
            date.fromisoformat(pending["issue_date"]),
            pending["amount_fen"],
            pending["check_last6"],
        )
        today = date.today()
        context: dict[str, Any] = {"query": query, "invoice": None, "count": None, "format_fen": format_fen}
        if query.issue_date >= today:
            return render(state, "tax/result.html", outcome=NEXT_DAY_RULE, **context)
        count = count_check(db, query.key, today)
        if count is None:
            return render(state, "tax/result.html", outcome=DAILY_LIMIT_TEXT, **context)
        context["count"] = count
        invoice = find(db, query.key)
        if invoice is None:
            return render(state, "tax/result.html", outcome="查无此票", **context)
        if not matches(query, invoice):
            return render(state, "tax/result.html", outcome="不一致", **context)
        context["invoice"] = invoice
        return render(state, "tax/result.html", outcome="一致", **context)

    async def admin_captcha(request: Request) -> Response:
        denied = admin_denied(state, request)
        if denied:
            return denied
        cid = request.path_params["cid"]
        with db.connection() as conn:
            if cid == "latest":
                row = conn.execute(
                    "SELECT cid, answer FROM captchas ORDER BY created DESC, rowid DESC LIMIT 1"
                ).fetchone()
            else:
                row = conn.execute("SELECT cid, answer FROM captchas WHERE cid = ?", (cid,)).fetchone()
        if row is None:
            return JSONResponse({"error": "no such captcha"}, status_code=404)
        return JSONResponse({"captcha_id": row["cid"], "answer": row["answer"]})

    async def admin_register(request: Request) -> Response:
        denied = admin_denied(state, request)
        if denied:
            return denied
        body = await read_json(request)
        items = body if isinstance(body, list) else [body]
        try:
            parsed = [invoice_from_json(item) for item in items if isinstance(item, dict)]
        except (ValueError, TypeError) as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        if len(parsed) != len(items):
            return JSONResponse({"error": "invoice objects expected"}, status_code=400)
        register(db, parsed)
        return JSONResponse({"registered": [invoice.key for invoice in parsed]})

    async def admin_reset_checks(request: Request) -> Response:
        denied = admin_denied(state, request)
        if denied:
            return denied
        reset_checks(db)
        return JSONResponse({"checks": "reset"})

    routes = [
        Route("/", home, methods=["GET"]),
        Route("/notice", notice_ack, methods=["POST"]),
        Route("/query", submit_query, methods=["POST"]),
        Route("/query/captcha", another_captcha, methods=["GET"]),
        Route("/captcha/{cid}.png", captcha_image, methods=["GET"]),
        Route("/verify", verify, methods=["POST"]),
        Route("/__admin/captcha/{cid}", admin_captcha, methods=["GET"]),
        Route("/__admin/invoices", admin_register, methods=["POST"]),
        Route("/__admin/checks/reset", admin_reset_checks, methods=["POST"]),
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
