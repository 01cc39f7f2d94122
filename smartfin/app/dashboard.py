"""The finance dashboard (财务看板): where the budget, the queues, the exceptions and the cash stand, on one page.

Hospital staff log in with their engine login (:mod:`smartfin.app.web_login`); what each person sees is
decided by :mod:`smartfin.app.dashboard_figures` from her engine groups, read again on every page so that a
person taken out of a group stops seeing its figures at once. Charts are SVG drawn here and the one style
sheet is served by this process: nothing is fetched from the internet, so the page works on a hospital
intranet. Amounts are written as the commands write them (``format_yuan``), so the page, ``smartfin budget
show`` and the monthly budget report agree to the fen. Bound to 127.0.0.1 by default; host and port come
from the settings object.
"""

from __future__ import annotations

import hmac
import html
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from smartfin.app.dashboard_figures import (
    BudgetPicture,
    NotYours,
    Viewer,
    budget_picture,
    cash_position,
    department_lines,
    exception_counts,
    execution_for,
    latest_cost_month,
    line_entries,
    task_queues,
    viewer_for,
)
from smartfin.app.exports import execution_report_xlsx
from smartfin.app.web_login import (
    SECURITY_HEADERS,
    SignedSessions,
    engine_groups,
    html_page,
    login_routes,
    same_origin,
)
from smartfin.camunda.client import EngineClient, EngineError
from smartfin.kernel.clock import HOSPITAL_TZ, hospital_now, hospital_today
from smartfin.kernel.money import format_yuan, from_fen
from smartfin.kernel.settings import Settings, get_settings
from smartfin.processes.reimbursement.claims import NotOnTheChain, open_claim_file
from smartfin.store.db import session_scope

SESSION_COOKIE = "smartfin_dashboard"
STYLE = Path(__file__).with_name("dashboard.css")
STYLESHEET = "<link rel='stylesheet' href='/static/dashboard.css'>"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCUMENT_TYPES = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
BAR_WIDTH = 480   # px of a 100 % bar
BAR_HEIGHT = 22
LABEL_WIDTH = 200
QUEUE_WIDTH = 300  # px of the longest queue's bar
KIND_NAMES = {"bank": "银行对账 bank", "three-way": "三方对账 HIS–channel–bank", "prepayment": "预交金 prepayments",
              "insurance-daily": "医保日对账 insurance daily"}


def _e(value: object) -> str:
    return html.escape(str(value))


def _rate(value: Decimal | str) -> str:
    return f"{value}%" if isinstance(value, Decimal) else str(value)


def _page(title: str, body: str, status: int = 200) -> Response:
    return html_page(title, body, status, head=STYLESHEET)


def execution_chart(picture: BudgetPicture, link: bool) -> str:
    """Bars of execution per department (capped at the chart's edge, the figure written beside it) and the
    dashed line of the time-elapsed progress; a department's bar links to its lines."""
    rows = picture.departments
    height = BAR_HEIGHT * len(rows) + 40
    width = LABEL_WIDTH + BAR_WIDTH + 90
    marker = LABEL_WIDTH + float(picture.progress) * BAR_WIDTH / 100
    parts = [f"<svg class='chart' role='img' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
             f"xmlns='http://www.w3.org/2000/svg'><title>预算执行率 execution by department</title>"]
    for n, row in enumerate(rows):
        y = 10 + n * BAR_HEIGHT
        rate = row.execution_rate if isinstance(row.execution_rate, Decimal) else Decimal(0)
        bar = float(min(max(rate, Decimal(0)), Decimal(100))) * BAR_WIDTH / 100
        colour = "#c0392b" if row.behind else "#2e7d32"
        label = f"{_e(row.name)} ({_e(row.department)})"
        text = f"<text x='0' y='{y + 15}' font-size='13'>{label}</text>"
        if link:
            text = f"<a href='/budget/{quote(row.department)}?year={picture.fiscal_year}'>{text}</a>"
        parts.append(f"{text}<rect x='{LABEL_WIDTH}' y='{y + 3}' width='{BAR_WIDTH}' height='{BAR_HEIGHT - 6}' "
                     f"fill='#eeeeee'/><rect class='bar' x='{LABEL_WIDTH}' y='{y + 3}' width='{bar:.1f}' "
                     f"height='{BAR_HEIGHT - 6}' fill='{colour}'/><text x='{LABEL_WIDTH + BAR_WIDTH + 6}' "
                     f"y='{y + 15}' font-size='12'>{_e(_rate(row.execution_rate))}</text>")
    bottom = 10 + len(rows) * BAR_HEIGHT
    parts.append(f"<line x1='{marker:.1f}' y1='4' x2='{marker:.1f}' y2='{bottom}' stroke='#1f4e79' "
                 f"stroke-width='2' stroke-dasharray='5,3'/><text x='{marker:.1f}' y='{bottom + 18}' font-size='12' "
                 f"text-anchor='middle'>序时进度 {picture.progress}%</text></svg>")
    return "".join(parts)


def _execution_table(picture: BudgetPicture, link: bool) -> str:
    head = ("<tr><th>科室 department</th><th>预算 authorised</th><th>已占用 committed</th><th>已支出 actual</th>"
            "<th>可用 available</th><th>执行率 execution</th></tr>")
    rows = []
    for row in picture.departments:
        name = f"{_e(row.name)} ({_e(row.department)})"
        if link:
            name = f"<a href='/budget/{quote(row.department)}?year={picture.fiscal_year}'>{name}</a>"
        rows.append(f"<tr class='department' data-department='{_e(row.department)}'><td>{name}</td>"
                    f"<td class='num'>{format_yuan(row.authorised)}</td><td class='num'>{format_yuan(row.committed)}"
                    f"</td><td class='num'>{format_yuan(row.actual)}</td><td class='num'>"
                    f"{format_yuan(row.available)}</td><td class='num{' behind' if row.behind else ''}'>"
                    f"{_e(_rate(row.execution_rate))}</td></tr>")
    return f"<table class='execution'>{head}{''.join(rows)}</table>"


def _queues_section(viewer: Viewer, settings: Settings) -> str:
    service = EngineClient.from_settings(settings)
    try:
        groups = sorted(str(g["id"]) for g in service.get("/group") or [])
        queues = task_queues(service, viewer, groups, hospital_now())
    finally:
        service.close()
    longest = max((q.open for q in queues), default=0) or 1
    rows = "".join(
        f"<tr class='queue' data-group='{_e(q.group)}'><td>{_e(q.group)}</td><td class='num'>{q.open}</td>"
        f"<td class='num'>{q.unclaimed}</td><td class='num'>{'' if q.oldest_days is None else q.oldest_days}</td>"
        f"<td><svg class='chart' width='{QUEUE_WIDTH}' height='14' xmlns='http://www.w3.org/2000/svg'>"
        f"<rect width='{q.open * QUEUE_WIDTH / longest:.1f}' height='14' fill='#1f4e79'/></svg></td></tr>"
        for q in queues)
    return ("<section id='queues'><h2>待办任务 open tasks by group</h2><table><tr><th>组 group</th><th>待办 open</th>"
            f"<th>未认领 unclaimed</th><th>最久(天) oldest, days</th><th></th></tr>{rows}</table></section>")


def _exceptions_section(viewer: Viewer, today: date) -> str:
    with session_scope() as session:
        counts = exception_counts(session, viewer, today)
    if not viewer.hospital_wide:
        return ""

    def statuses(found: dict[str, int]) -> str:
        return ", ".join(f"{_e(status)} {n}" for status, n in found.items()) or "0"

    rows = "".join(f"<tr class='exceptions' data-kind='{_e(c.kind)}'><td>{_e(KIND_NAMES.get(c.kind, c.kind))}</td>"
                   f"<td>{statuses(c.today)}</td><td>{statuses(c.month)}</td></tr>" for c in counts)
    if not rows:
        rows = "<tr><td colspan='3'>本月尚无对账异常 no reconciliation exceptions this month</td></tr>"
    return (f"<section id='exceptions'><h2>对账异常 reconciliation exceptions</h2><table><tr><th>对账 reconciliation"
            f"</th><th>今日 today ({today})</th><th>本月 this month</th></tr>{rows}</table></section>")


def _money_section(viewer: Viewer) -> str:
    with session_scope() as session:
        cash, cost = cash_position(session, viewer), latest_cost_month(session, viewer)
    cards = []
    if cash is not None:
        warning = (f"<p class='behind'>低于最低余额 below the minimum from {cash.breach_start}</p>"
                   if cash.breach_start else "")
        cards.append(f"<div class='card' id='cash'><h3>资金 cash (预测 forecast of {cash.as_of})</h3>"
                     f"<p>期初余额 opening <span class='num'>{format_yuan(cash.opening)}</span></p>"
                     f"<p>最低余额要求 minimum <span class='num'>{format_yuan(cash.minimum)}</span></p>"
                     f"<p>预测最低 lowest projected <span class='num'>{format_yuan(cash.lowest)}</span> "
                     f"({cash.lowest_on})</p>{warning}</div>")
    if cost is not None:
        cards.append(f"<div class='card' id='cost'><h3>成本 cost ({_e(cost.month)})</h3><p>医院总成本 total cost "
                     f"<span class='num'>{format_yuan(cost.total)}</span></p><p>{cost.centres} 个成本中心 "
                     f"cost centres</p></div>")
    if not cards:
        return ""
    return f"<section id='money'><h2>资金与成本 cash and cost</h2>{''.join(cards)}</section>"


def document_response(filename: str, data: bytes) -> Response:
    """An original file as the browser should get it: PDFs and images shown in the page, anything else
    downloaded; sandboxed so that nothing inside a file can run as the dashboard."""
    suffix = Path(filename).suffix.lower()
    media = DOCUMENT_TYPES.get(suffix, "application/octet-stream")
    disposition = "inline" if suffix in DOCUMENT_TYPES else "attachment"
    return Response(data, media_type=media, headers={
        **SECURITY_HEADERS, "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'; "
        "object-src 'self'; plugin-types application/pdf",
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(filename)}"})


def _bad_year() -> Response:
    return _page("年度无效 Bad year", "<p>year 须为四位年份 / year must be a four-digit year</p>", 400)


def _year(request: Request) -> int | None:
    raw = request.query_params.get("year", "")
    if not raw:
        return hospital_today().year
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else None


def _as_of(year: int) -> date:
    today = hospital_today()
    return today if year >= today.year else date(year, 12, 31)


def create_app(settings: Settings | None = None) -> Starlette:
    """The dashboard as an ASGI app (``smartfin up`` serves it with uvicorn)."""
    settings = settings or get_settings()
    sessions = SignedSessions()

    async def logout(request: Request) -> Response:
        cookie = request.cookies.get(SESSION_COOKIE) or ""
        form = await request.form()
        if not same_origin(request) or not hmac.compare_digest(str(form.get("csrf") or ""), sessions.csrf(cookie)):
            return _page("拒绝 Refused", "<p>跨站请求 / cross-site request refused</p>", 403)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    def viewer(request: Request) -> Viewer | None:
        cookie = request.cookies.get(SESSION_COOKIE)
        user = sessions.user(cookie)
        if user is None:
            return None
        groups = engine_groups(settings, user)
        with session_scope() as session:
            return viewer_for(session, user, groups)

    def banner(request: Request, who: Viewer) -> str:
        token = sessions.csrf(request.cookies.get(SESSION_COOKIE) or "")
        return (f"<nav><a href='/'>看板 overview</a> · {_e(who.user)} ({_e(', '.join(sorted(who.groups)) or '-')}) "
                f"<form class='inline' method='post' action='/logout'><input type='hidden' name='csrf' "
                f"value='{token}'><button>退出 Log out</button></form></nav>")

    def logged_in(page: Callable[[Request, Viewer], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        """A page for logged-in people only: anyone else is sent to the login page."""
        async def guarded(request: Request) -> Response:
            who = viewer(request)
            if who is None:
                return RedirectResponse("/login", status_code=303)
            return await page(request, who)
        return guarded

    @logged_in
    async def overview(request: Request, who: Viewer) -> Response:
        year = _year(request)
        if year is None:
            return _bad_year()
        parts = [banner(request, who)]
        if who.hospital_wide or who.departments:
            with session_scope() as session:
                picture = budget_picture(session, who, year, _as_of(year))
            body = (execution_chart(picture, True) + _execution_table(picture, True) if picture.departments
                    else f"<p>{year} 年尚无预算 no budget lines for {year}</p>")
            download = (f"<p><a class='xlsx' href='/budget-execution.xlsx?year={year}'>下载 Excel 预算执行表 "
                        f"download the workbook</a></p>" if who.hospital_wide else "")
            parts.append(f"<section id='budget'><h2>{year} 年预算执行 budget execution (截至 as of "
                         f"{picture.as_of}，序时进度 progress {picture.progress}%)</h2>{body}{download}</section>")
        try:
            parts.append(_queues_section(who, settings))
        except EngineError:
            parts.append("<section id='queues'><p>引擎不可用 the engine is unavailable</p></section>")
        parts.append(_exceptions_section(who, hospital_today()))
        parts.append(_money_section(who))
        return _page("财务看板 Finance dashboard", "".join(parts))

    @logged_in
    async def department(request: Request, who: Viewer) -> Response:
        year, code = _year(request), request.path_params["department"]
        if year is None:
            return _bad_year()
        try:
            with session_scope() as session:
                name, lines = department_lines(session, who, year, _as_of(year), code)
        except NotYours:
            return _page("拒绝 Refused", f"<p>{_e(who.user)} 无权查看 {_e(code)} 的预算 / may not see this "
                         "department's budget</p>", 403)
        rows = "".join(
            f"<tr class='line' data-line='{_e(line.key)}'><td><a href='/line/{line.line_id}'>{_e(line.key)}</a></td>"
            f"<td>{_e(line.name)}</td><td class='num'>{format_yuan(line.figures.authorised)}</td><td class='num'>"
            f"{format_yuan(line.figures.committed)}</td><td class='num'>{format_yuan(line.figures.actual)}</td>"
            f"<td class='num'>{format_yuan(line.figures.available)}</td><td class='num'>"
            f"{_e(_rate(line.figures.execution_rate))}</td></tr>" for line in lines)
        download = (f"<p><a class='xlsx' href='/budget-execution.xlsx?year={year}&amp;department={quote(code)}'>"
                    f"下载 Excel download the workbook</a></p>")
        return _page(f"{name} ({code}) {year} 年预算 budget lines", banner(request, who) + download + (
            "<table class='execution'><tr><th>预算行 line</th><th>名称 name</th><th>预算 authorised</th>"
            "<th>已占用 committed</th><th>已支出 actual</th><th>可用 available</th><th>执行率 execution</th></tr>"
            f"{rows}</table>" if lines else "<p>无预算行 no budget lines</p>"))

    @logged_in
    async def line(request: Request, who: Viewer) -> Response:
        raw = request.path_params["line_id"]
        try:
            with session_scope() as session:
                journal = line_entries(session, who, int(raw))
                title = f"{journal.line.key} {journal.line.name}"
                rows = "".join(
                    f"<tr class='entry'><td>{e.created_at.astimezone(HOSPITAL_TZ):%Y-%m-%d %H:%M}</td>"
                    f"<td>{_e(e.bucket)}</td><td class='num'>{format_yuan(from_fen(e.amount_fen))}</td>"
                    f"<td>{_e(e.document_type)}</td><td class='document'>{_e(e.document_no)}</td>"
                    f"<td>{_e(e.actor)}</td><td>{_e(e.reason)}</td></tr>" for e in journal.entries)
        except NotYours:
            return _page("拒绝 Refused", f"<p>{_e(who.user)} 无权查看该预算行 / may not see this line</p>", 403)
        except LookupError:
            return _page("无此预算行 No such line", f"<p>{_e(raw)}</p>", 404)
        return _page(f"预算行 line {title}", banner(request, who) + (
            "<table class='journal'><tr><th>时间 time</th><th>栏目 bucket</th><th>金额 amount</th>"
            f"<th>单据类型 type</th><th>单据号 document</th><th>经办 by</th><th>说明 reason</th></tr>{rows}</table>"))

    @logged_in
    async def workbook(request: Request, who: Viewer) -> Response:
        """The budget execution report as the monthly workbook: the hospital's, or ``?department=`` one's."""
        year, code = _year(request), request.query_params.get("department") or None
        if year is None:
            return _bad_year()
        try:
            with session_scope() as session:
                data = execution_report_xlsx(execution_for(session, who, year, _as_of(year), code))
        except NotYours:
            return _page("拒绝 Refused", f"<p>{_e(who.user)} 无权下载该预算 / may not take this budget away</p>", 403)
        name = f"budget-execution-{year}{'-' + code if code else ''}.xlsx"
        return Response(data, media_type=XLSX, headers={**SECURITY_HEADERS,
                                                        "Content-Disposition": f"attachment; filename={quote(name)}"})

    async def claim_file(request: Request) -> Response:
        """An original file of a claim, for the people on its chain (the approval forms link here)."""
        cookie = request.cookies.get(SESSION_COOKIE)
        user = sessions.user(cookie)
        if user is None:
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        claim_no, position = request.path_params["claim_no"], request.path_params["position"]
        service = EngineClient.from_settings(settings)
        try:
            with session_scope() as session:
                found, data = open_claim_file(session, service, claim_no, position, user=user,
                                              groups=engine_groups(settings, user))
        except NotOnTheChain:
            return _page("拒绝 Refused", f"<p>{_e(user)} 不在 {_e(claim_no)} 的审批链上 / is not on this claim's "
                         "approval chain</p>", 403)
        except LookupError:
            return _page("无此文件 No such file", f"<p>{_e(claim_no)} #{position}</p>", 404)
        finally:
            service.close()
        return document_response(found.filename, data)

    async def stylesheet(request: Request) -> Response:
        return Response(STYLE.read_bytes(), media_type="text/css", headers=SECURITY_HEADERS)

    login = login_routes(settings, sessions, SESSION_COOKIE, "财务看板 Finance dashboard", _page)
    return Starlette(routes=[Route("/", overview), *login, Route("/logout", logout, methods=["POST"]),
                             Route("/budget/{department}", department),
                             Route("/line/{line_id:int}", line), Route("/budget-execution.xlsx", workbook),
                             Route("/documents/claim/{claim_no}/{position:int}", claim_file),
                             Route("/static/dashboard.css", stylesheet)])


def serve(settings: Settings | None = None) -> None:
    """Serve the dashboard on the configured host and port (blocks)."""
    import uvicorn

    settings = settings or get_settings()
    uvicorn.run(create_app(settings), host=settings.dashboard_host, port=settings.dashboard_port, log_level="warning")


if __name__ == "__main__":
    serve()
