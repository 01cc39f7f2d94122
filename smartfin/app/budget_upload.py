"""The budget upload page (预算草案上传): a department's budget contact logs in with her engine credentials,
downloads her department's compilation workbook and uploads the filled draft; a refusal lists every problem
with its sheet!cell and reason.

The password is checked against the engine's identity service (``POST /identity/verify`` through the service
account) and never stored: the browser keeps a session cookie signed with a key that lives only in this process
(a restart logs everyone out). Which departments she may submit for comes from the contacts finance keeps
(``smartfin budget compilation contact``), never from the form. Forms carry a token bound to the session
(CSRF), the request must come from the page's own origin, only ``.xlsx`` files up to the size limit are taken.
Bound to 127.0.0.1 by default; host and port come from the settings object.
"""

from __future__ import annotations

import hmac
import html
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from smartfin.app.web_login import SignedSessions, html_page, login_routes, same_origin
from smartfin.budgeting import CompilationError, DraftRefused, find_round, template_workbook, upload_draft
from smartfin.budgeting.rounds import Stage
from smartfin.kernel.settings import Settings, get_settings
from smartfin.processes.compilation.records import departments_of
from smartfin.store.db import session_scope

SESSION_COOKIE = "smartfin_budget"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def create_app(settings: Settings | None = None) -> Starlette:
    """The upload page as an ASGI app (``smartfin up`` serves it with uvicorn)."""
    settings = settings or get_settings()
    sessions = SignedSessions()
    limit = settings.upload_page_max_bytes

    def who(request: Request) -> tuple[str, str] | None:
        cookie = request.cookies.get(SESSION_COOKIE)
        user = sessions.user(cookie)
        return (user, cookie) if user and cookie else None

    async def home(request: Request) -> Response:
        found = who(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        user, cookie = found
        with session_scope() as session:
            departments = departments_of(session, user)
        if not departments:
            return html_page("预算草案上传 Budget upload", f"<p>{html.escape(user)} 不是任何科室的预算编制联系人 / is "
                         f"not the budget contact of any department</p>", 403)
        token = sessions.csrf(cookie)
        rows = []
        for department in departments:
            d = html.escape(department)
            rows.append(
                f"<section><h2>{d}</h2><form method='get' action='/template'><input type='hidden' "
                f"name='department' value='{d}'><label>年度 Year <input name='year' size='4'></label> "
                f"<button>下载模板 Download template</button></form>"
                f"<form method='post' action='/upload' enctype='multipart/form-data'>"
                f"<input type='hidden' name='csrf' value='{token}'><input type='hidden' name='department' "
                f"value='{d}'><input type='file' name='draft' accept='.xlsx,{XLSX}'> "
                f"<button>上传草案 Upload draft</button></form></section>")
        return html_page(f"预算草案上传 Budget upload — {user}", "".join(rows))

    async def template(request: Request) -> Response:
        found = who(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        department = request.query_params.get("department", "")
        year = request.query_params.get("year", "")
        with session_scope() as session:
            if department not in departments_of(session, found[0]):
                return html_page("拒绝 Refused", f"<p>无权下载 {html.escape(department)} 的模板 / not your "
                             f"department</p>", 403)
            if not year.isdigit() or find_round(session, int(year)) is None:
                return html_page("无此年度 No such year", "<p>该年度预算编制尚未开启 / the compilation of that year "
                             "is not open</p>", 404)
            data = template_workbook(session, int(year), department)
        return Response(data, media_type=XLSX, headers={
            "Content-Disposition": f"attachment; filename=budget-{int(year)}-{department}.xlsx"})

    async def upload(request: Request) -> Response:
        found = who(request)
        if found is None:
            return html_page("未登录 Not logged in", "<p><a href='/login'>登录 Log in</a></p>", 401)
        user, cookie = found
        if not same_origin(request):
            return html_page("拒绝 Refused", "<p>跨站请求 / cross-site request refused</p>", 403)
        length = request.headers.get("content-length")
        if length is None or not length.isdigit() or int(length) > limit + 64 * 1024:
            return html_page("文件过大 Too large", f"<p>上传上限 {limit // 1024} KiB / the limit is {limit // 1024} KiB"
                         f"</p>", 413)
        form = await request.form(max_files=1, max_fields=4)
        if not hmac.compare_digest(str(form.get("csrf") or ""), sessions.csrf(cookie)):
            return html_page("拒绝 Refused", "<p>表单已失效，请刷新页面 / the form expired: reload the page</p>", 403)
        department = str(form.get("department") or "")
        draft = form.get("draft")
        if not isinstance(draft, UploadFile) or not (draft.filename or "").lower().endswith(".xlsx"):
            return html_page("文件无效 Not accepted", "<p>只接受 .xlsx 工作簿 / only .xlsx workbooks are accepted</p>",
                             415)
        data = await draft.read(limit + 1)
        if len(data) > limit:
            return html_page("文件过大 Too large", f"<p>上传上限 {limit // 1024} KiB / the limit is {limit // 1024} KiB"
                         f"</p>", 413)
        try:
            with session_scope() as session:
                if department not in departments_of(session, user):
                    return html_page("拒绝 Refused", f"<p>{html.escape(user)} 不是 {html.escape(department)} 的预算编制"
                                 f"联系人 / is not the budget contact of {html.escape(department)}</p>", 403)
                stored = upload_draft(session, data, filename=draft.filename or "draft.xlsx", uploaded_by=user,
                                      department=department)
                result: dict[str, Any] = {"department": stored.department, "round": stored.round,
                                          "revision": stored.revision, "lines": stored.line_count}
        except DraftRefused as refused:
            items = "".join(f"<li><code>{html.escape(p.where)}</code> {html.escape(p.reason)}</li>"
                            for p in refused.problems)
            return html_page("草案未被接受 Draft refused", f"<ul class='problems'>{items}</ul>", 422)
        except CompilationError as exc:
            return html_page("草案未被接受 Draft refused", f"<p>{html.escape(str(exc))}</p>", 409)
        label = "一上" if result["round"] == Stage.FIRST.value else "二上"
        return html_page("草案已接受 Draft accepted", (
            f"<p>{html.escape(result['department'])} {label} 第 {result['revision']} 版, {result['lines']} 项 / "
            f"revision {result['revision']}, {result['lines']} amounts. 请到任务列表完成任务 / now complete your "
            f"task in Tasklist.</p><p><a href='/'>返回 Back</a></p>"))

    login = login_routes(settings, sessions, SESSION_COOKIE, "预算草案上传 Budget upload")
    return Starlette(routes=[Route("/", home), *login, Route("/template", template),
                             Route("/upload", upload, methods=["POST"])])


def serve(settings: Settings | None = None) -> None:
    """Serve the upload page on the configured host and port (blocks)."""
    import uvicorn

    settings = settings or get_settings()
    uvicorn.run(create_app(settings), host=settings.upload_page_host, port=settings.upload_page_port,
                log_level="warning")


if __name__ == "__main__":
    serve()
