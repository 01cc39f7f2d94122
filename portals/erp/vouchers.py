"""Vouchers of the stand-in ERP: parsing the entry form, validation, numbering, search.

Government accounting keeps two books at once (平行记账): whenever a line moves cash (库存现金,
银行存款, 零余额账户用款额度, 其他货币资金), the same voucher must carry budget-accounting lines for
the cash that came in or went out. The checks here are plain functions over a draft so they can be
tested without a server; the routes only turn their messages into page text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from portals.db import Database
from portals.money import format_fen, parse_fen

ERP_SCHEMA = """
CREATE TABLE IF NOT EXISTS vouchers (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    vtype TEXT NOT NULL,
    period TEXT NOT NULL,
    seq INTEGER NOT NULL,
    voucher_date TEXT NOT NULL,
    summary TEXT NOT NULL,
    external_ref TEXT NOT NULL,
    attachments INTEGER NOT NULL,
    preparer TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS vouchers_ref ON vouchers (external_ref);
CREATE INDEX IF NOT EXISTS vouchers_date ON vouchers (voucher_date);
CREATE TABLE IF NOT EXISTS voucher_lines (
    voucher_id INTEGER NOT NULL REFERENCES vouchers (id),
    section TEXT NOT NULL,
    line_no INTEGER NOT NULL,
    account TEXT NOT NULL,
    summary TEXT NOT NULL,
    debit_fen INTEGER NOT NULL,
    credit_fen INTEGER NOT NULL
);
"""

VOUCHER_TYPES = {"记": "记账凭证", "收": "收款凭证", "付": "付款凭证", "转": "转账凭证"}

# First-level accounts of the government accounting system (政府会计制度) a hospital uses most.
FINANCIAL_ACCOUNTS = {
    "1001": "库存现金",
    "1002": "银行存款",
    "1011": "零余额账户用款额度",
    "1021": "其他货币资金",
    "1212": "应收账款",
    "1214": "预付账款",
    "1218": "其他应收款",
    "1302": "库存物品",
    "1601": "固定资产",
    "2101": "应交增值税",
    "2103": "其他应交税费",
    "2201": "应付职工薪酬",
    "2302": "应付账款",
    "2307": "其他应付款",
    "3001": "累计盈余",
    "4001": "财政拨款收入",
    "4101": "事业收入",
    "4602": "利息收入",
    "5001": "业务活动费用",
    "5101": "单位管理费用",
    "5301": "资产处置费用",
}
BUDGET_ACCOUNTS = {
    "6001": "财政拨款预算收入",
    "6101": "事业预算收入",
    "6609": "其他预算收入",
    "7101": "行政支出",
    "7201": "事业支出",
    "7901": "其他支出",
    "8001": "资金结存",
    "8101": "财政拨款结转",
    "8102": "财政拨款结余",
    "8201": "非财政拨款结转",
    "8202": "非财政拨款结余",
}
CASH_ACCOUNTS = frozenset({"1001", "1002", "1011", "1021"})
_ACCOUNT_CODE = re.compile(r"^\d{4}(\d{2})*$")


@dataclass(frozen=True)
class VoucherLine:
    """One entry line; exactly one of debit/credit is non-zero once validated."""

    account: str
    summary: str
    debit_fen: int
    credit_fen: int

    @property
    def top_account(self) -> str:
        return self.account[:4]


@dataclass(frozen=True)
class VoucherDraft:
    """What the clerk submitted, parsed but not yet judged."""

    voucher_date: date | None
    vtype: str
    summary: str
    external_ref: str
    attachments: int | None
    preparer: str
    financial: tuple[VoucherLine, ...]
    budget: tuple[VoucherLine, ...]


def account_name(code: str) -> str:
    top = code[:4]
    return FINANCIAL_ACCOUNTS.get(top) or BUDGET_ACCOUNTS.get(top) or "?"


def form_rows(form: Mapping[str, Any], prefix: str) -> list[dict[str, str]]:
    """The raw rows of one line table, as typed (kept for re-displaying the form after an error)."""
    getlist = form.getlist  # type: ignore[attr-defined]
    columns = {
        name: [str(v) for v in getlist(f"{prefix}_{name}")] for name in ("account", "summary", "debit", "credit")
    }
    count = max((len(v) for v in columns.values()), default=0)
    rows = []
    for i in range(count):
        rows.append({name: (values[i] if i < len(values) else "").strip() for name, values in columns.items()})
    return rows


def _parse_lines(rows: Sequence[dict[str, str]], section: str, errors: list[str]) -> tuple[VoucherLine, ...]:
    label = "财务会计" if section == "fin" else "预算会计"
    valid_accounts = FINANCIAL_ACCOUNTS if section == "fin" else BUDGET_ACCOUNTS
    lines = []
    for number, row in enumerate(rows, start=1):
        if not any(row.values()):
            continue  # blank rows are normal: the form always shows spare ones
        where = f"{label}分录第{number}行"
        account = row["account"]
        if not _ACCOUNT_CODE.match(account) or account[:4] not in {**FINANCIAL_ACCOUNTS, **BUDGET_ACCOUNTS}:
            errors.append(f"{where}：科目代码“{account}”不存在")
        elif account[:4] not in valid_accounts:
            errors.append(f"{where}：科目 {account} {account_name(account)} 不能用于{label}分录")
        debit, credit = parse_fen(row["debit"]), parse_fen(row["credit"])
        if debit is None or credit is None:
            errors.append(f"{where}：金额格式错误")
            continue
        if debit and credit:
            errors.append(f"{where}：借方金额和贷方金额不能同时填写")
        elif not debit and not credit:
            errors.append(f"{where}：借方金额或贷方金额必须填写其一")
        lines.append(VoucherLine(account, row["summary"], debit, credit))
    return tuple(lines)


def parse_draft(form: Mapping[str, Any], preparer: str) -> tuple[VoucherDraft, list[str]]:
    """Turn the posted form into a draft plus the format errors found on the way."""
    errors: list[str] = []
    raw_date = str(form.get("voucher_date", "")).strip()
    try:
        voucher_date: date | None = datetime.strptime(raw_date, "%Y-%m-%d").date()
    except ValueError:
        voucher_date = None
        errors.append("凭证日期格式错误，应为 YYYY-MM-DD")
    raw_attachments = str(form.get("attachments", "0")).strip() or "0"
    attachments = int(raw_attachments) if raw_attachments.isdigit() else None
    if attachments is None:
        errors.append("附件张数必须为非负整数")
    draft = VoucherDraft(
        voucher_date=voucher_date,
        vtype=str(form.get("voucher_type", "")).strip(),
        summary=str(form.get("summary", "")).strip(),
        external_ref=str(form.get("external_ref", "")).strip(),
        attachments=attachments,
        preparer=preparer,
        financial=_parse_lines(form_rows(form, "fin"), "fin", errors),
        budget=_parse_lines(form_rows(form, "bud"), "bud", errors),
    )
    return draft, errors


def validate(draft: VoucherDraft) -> list[str]:
    """Business checks of a parsed draft; an empty list means it may be posted."""
    errors = []
    if draft.vtype not in VOUCHER_TYPES:
        errors.append("凭证字无效，请选择 记/收/付/转")
    if not draft.summary:
        errors.append("凭证摘要不能为空")
    if len(draft.financial) < 2:
        errors.append("财务会计分录至少需要两行")
    debit = sum(line.debit_fen for line in draft.financial)
    credit = sum(line.credit_fen for line in draft.financial)
    if debit != credit:
        errors.append(f"借贷不平衡：借方合计 {format_fen(debit)}，贷方合计 {format_fen(credit)}")
    cash_net = sum(line.debit_fen - line.credit_fen for line in draft.financial if line.top_account in CASH_ACCOUNTS)
    # A transfer between two cash accounts nets to zero and has no budget effect.
    if cash_net and not draft.budget:
        errors.append(
            "涉及货币资金科目（1001 库存现金/1002 银行存款/1011 零余额账户用款额度），"
            "必须同时录入预算会计分录（平行记账）"
        )
    if draft.budget:
        bud_debit = sum(line.debit_fen for line in draft.budget)
        bud_credit = sum(line.credit_fen for line in draft.budget)
        if bud_debit != bud_credit:
            errors.append(
                f"预算会计分录借贷不平衡：借方合计 {format_fen(bud_debit)}，贷方合计 {format_fen(bud_credit)}"
            )
        elif cash_net and bud_debit != abs(cash_net):
            errors.append(
                f"预算会计分录金额 {format_fen(bud_debit)} 与货币资金收支净额 {format_fen(abs(cash_net))} 不一致"
            )
    return errors


def post_voucher(db: Database, draft: VoucherDraft, username: str) -> str:
    """Store a validated draft and give it the next number of its type and month (记-2026-11-0001)."""
    assert draft.voucher_date is not None and draft.attachments is not None
    period = draft.voucher_date.strftime("%Y-%m")
    with db.transaction() as conn:
        seq = conn.execute(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM vouchers WHERE vtype = ? AND period = ?", (draft.vtype, period)
        ).fetchone()[0]
        number = f"{draft.vtype}-{period}-{seq:04d}"
        cursor = conn.execute(
            "INSERT INTO vouchers (number, vtype, period, seq, voucher_date, summary, external_ref, attachments,"
            " preparer, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                number,
                draft.vtype,
                period,
                seq,
                draft.voucher_date.isoformat(),
                draft.summary,
                draft.external_ref,
                draft.attachments,
                draft.preparer,
                username,
                datetime.now().isoformat(timespec="seconds"),
            ),
        )
        voucher_id = cursor.lastrowid
        for section, lines in (("fin", draft.financial), ("bud", draft.budget)):
            for line_no, line in enumerate(lines, start=1):
                conn.execute(
                    "INSERT INTO voucher_lines VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (voucher_id, section, line_no, line.account, line.summary, line.debit_fen, line.credit_fen),
                )
    return number


@dataclass(frozen=True)
class SearchPage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int


def search_vouchers(db: Database, ref: str, date_from: str, date_to: str, page: int, per_page: int = 10) -> SearchPage:
    """Vouchers by external reference (substring, like the old LIKE search) and date range."""
    where, params = ["1 = 1"], []
    if ref:
        where.append("external_ref LIKE ?")
        params.append(f"%{ref}%")
    if date_from:
        where.append("voucher_date >= ?")
        params.append(date_from)
    if date_to:
        where.append("voucher_date <= ?")
        params.append(date_to)
    clause = " AND ".join(where)
    with db.connection() as conn:
        total = conn.execute(f"SELECT COUNT(*) FROM vouchers WHERE {clause}", params).fetchone()[0]
        pages = max(1, -(-total // per_page))
        page = min(max(page, 1), pages)
        rows = conn.execute(
            f"SELECT v.*, (SELECT SUM(debit_fen) FROM voucher_lines l WHERE l.voucher_id = v.id AND section = 'fin')"
            f" AS amount_fen FROM vouchers v WHERE {clause} ORDER BY voucher_date, id LIMIT ? OFFSET ?",
            [*params, per_page, (page - 1) * per_page],
        ).fetchall()
    return SearchPage([dict(row) for row in rows], total, page, pages)


def load_voucher(db: Database, voucher_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    with db.connection() as conn:
        header = conn.execute("SELECT * FROM vouchers WHERE id = ?", (voucher_id,)).fetchone()
        if header is None:
            return None
        lines = conn.execute(
            "SELECT * FROM voucher_lines WHERE voucher_id = ? ORDER BY section DESC, line_no", (voucher_id,)
        ).fetchall()
    return dict(header), [dict(line) | {"account_name": account_name(line["account"])} for line in lines]


def vouchers_by_ref(db: Database, ref: str) -> list[dict[str, Any]]:
    """Exact-reference lookup for the admin endpoint (tests count duplicates with it)."""
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT id, number, voucher_date, summary, external_ref, created_by FROM vouchers"
            " WHERE external_ref = ? ORDER BY id",
            (ref,),
        ).fetchall()
    return [dict(row) for row in rows]
