"""Routes of the stand-in online bank: login, account list, statement query with three download
formats, and a receipt PDF per transaction. Downloads are plain links answered with
Content-Disposition: attachment, so a browser (and a bot) gets a real file download.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portals.auth import AUTH_SCHEMA, PortalUser, SessionStore, seed_users
from portals.bank.exports import statement_camt053, statement_csv, statement_xlsx
from portals.bank.receipts import receipt_pdf
from portals.bank.statements import BankAccount, StatementBook
from portals.db import Database
from portals.faults import FaultInjector, FaultSwitches
from portals.money import format_fen
from portals.web import PortalState, error_page, fault_admin_routes, login_routes, redirect, render, require_login

MAX_RANGE_DAYS = 366

BANK_IDS: dict[str, dict[str, str]] = {
    "classic": {
        "login_user": "username",
        "login_pass": "password",
        "login_btn": "btnLogin",
        "acct_table": "accountTable",
        "stmt_prefix": "stmt_",
        "q_form": "queryForm",
        "q_start": "start_date",
        "q_end": "end_date",
        "q_btn": "btnQuery",
        "dl_csv": "btnDownloadCsv",
        "dl_xlsx": "btnDownloadXlsx",
        "dl_camt": "btnDownloadCamt",
        "txn_table": "txnTable",
        "receipt_prefix": "receipt_",
        "errors": "errorMsg",
    },
    "revised": {
        "login_user": "userId",
        "login_pass": "userPwd",
        "login_btn": "loginSubmit",
        "acct_table": "acctList",
        "stmt_prefix": "mx_",
        "q_form": "mxQuery",
        "q_start": "qsrq",
        "q_end": "zzrq",
        "q_btn": "queryBtn",
        "dl_csv": "expCsv",
        "dl_xlsx": "expXls",
        "dl_camt": "expXml",
        "txn_table": "mxTable",
        "receipt_prefix": "hd_",
        "errors": "tipMsg",
    },
}

DOWNLOADS = {
    "csv": ("text/csv; charset=GBK", "csv", statement_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", statement_xlsx),
    "camt053": ("application/xml", "xml", statement_camt053),
}


def parse_range(start_text: str, end_text: str, account: BankAccount) -> tuple[date, date] | str:
    """The requested period, or the text the bank shows when it refuses it."""
    try:
        start = datetime.strptime(start_text.strip(), "%Y-%m-%d").date()
        end = datetime.strptime(end_text.strip(), "%Y-%m-%d").date()
    except ValueError:
        return "日期格式错误，请输入 YYYY-MM-DD 格式的日期"
    if start > end:
        return "起始日期不能晚于终止日期"
    if end > date.today():
        return "终止日期不能晚于当前日期"
    if (end - start).days >= MAX_RANGE_DAYS:
        return f"查询区间不能超过{MAX_RANGE_DAYS}天"
    if end < account.opened:
        return f"该账户开户日期为 {account.opened.isoformat()}，查询区间内无数据"
    return start, end


def attachment(body: bytes, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def create_bank_app(
    db_path: Any,
    admin_token: str,
    users: list[PortalUser],
    idle_timeout_seconds: float = 300,
    faults: dict[str, Any] | None = None,
    book: StatementBook | None = None,
) -> Starlette:
    """Build the bank app on its own SQLite file (users, sessions); statements are generated."""
    db = Database(db_path, AUTH_SCHEMA)
    seed_users(db, users)
    switches = FaultSwitches()
    switches.update(faults or {})
    state = PortalState(
        name="bank",
        title="示范城市商业银行 企业网上银行",
        db=db,
        sessions=SessionStore(db, "BANKSESSION", idle_timeout_seconds),
        faults=switches,
        admin_token=admin_token,
        ids=BANK_IDS,
        home="/accounts",
    )
    statements = book or StatementBook()

    async def root(request: Request) -> Response:
        session = require_login(state, request)
        return session if isinstance(session, Response) else redirect("/accounts")

    async def accounts(request: Request) -> Response:
        session = require_login(state, request)
        if isinstance(session, Response):
            return session
        today = date.today()
        listing = [(a, statements.statement(a, today, today).closing_balance_fen) for a in statements.accounts.values()]
        return render(
            state,
            "bank/accounts.html",
            csrf=session.csrf,
            user=session.data.get("display_name"),
            listing=listing,
            format_fen=format_fen,
        )

    def account_or_error(request: Request) -> BankAccount | Response:
        account = statements.account(request.path_params["number"])
        return account if account is not None else error_page(state, "账户不存在", "您无权查询该账户或账户不存在。")

    async def statement_page(request: Request) -> Response:
        session = require_login(state, request)
        if isinstance(session, Response):
            return session
        account = account_or_error(request)
        if isinstance(account, Response):
            return account
        today = date.today()
        start_text = request.query_params.get("start_date", (today - timedelta(days=6)).isoformat())
        end_text = request.query_params.get("end_date", today.isoformat())
        period = parse_range(start_text, end_text, account)
        statement = None if isinstance(period, str) else statements.statement(account, *period)
        return render(
            state,
            "bank/statement.html",
            csrf=session.csrf,
            account=account,
            statement=statement,
            error=period if isinstance(period, str) else "",
            start_text=start_text,
            end_text=end_text,
            format_fen=format_fen,
        )

    async def download(request: Request) -> Response:
        session = require_login(state, request)
        if isinstance(session, Response):
            return session
        account = account_or_error(request)
        if isinstance(account, Response):
            return account
        kind = request.query_params.get("format", "csv")
        if kind not in DOWNLOADS:
            return error_page(state, "下载失败", "不支持的文件格式")
        period = parse_range(
            request.query_params.get("start_date", ""), request.query_params.get("end_date", ""), account
        )
        if isinstance(period, str):
            return error_page(state, "下载失败", period)
        media_type, extension, make = DOWNLOADS[kind]
        statement = statements.statement(account, *period)
        filename = f"statement_{account.number}_{period[0]:%Y%m%d}_{period[1]:%Y%m%d}.{extension}"
        return attachment(make(statement), media_type, filename)

    async def receipt(request: Request) -> Response:
        session = require_login(state, request)
        if isinstance(session, Response):
            return session
        found = statements.find(request.path_params["txn_id"])
        if found is None:
            return error_page(state, "回单不存在", "未找到该笔交易的电子回单。")
        account, txn = found
        return attachment(receipt_pdf(account, txn), "application/pdf", f"receipt_{txn.txn_id}.pdf")

    routes = [
        Route("/", root, methods=["GET"]),
        Route("/accounts", accounts, methods=["GET"]),
        Route("/accounts/{number}/statement", statement_page, methods=["GET"]),
        Route("/accounts/{number}/download", download, methods=["GET"]),
        Route("/receipt/{txn_id}", receipt, methods=["GET"]),
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
