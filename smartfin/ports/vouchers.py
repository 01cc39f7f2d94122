"""Accounting vouchers (记账凭证) as the product hands them to the ERP: small immutable values.

A voucher is a header plus balanced debit/credit lines (财务会计). Government accounting keeps a second
book in parallel (平行记账): whenever a line moves cash — 1001 库存现金, 1002 银行存款, 1011 零余额账户用款
额度, 1021 其他货币资金 — the voucher must carry budget-accounting lines (预算会计) for the same net cash
amount. These checks run before a bot ever opens the portal, so a wrong voucher is refused with a
precise reason instead of a portal error page.

The unique business reference is ``external_ref = f"{document_type}:{document_no}"``: the ERP is searched
for it before posting, so a voucher is never posted twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from smartfin.kernel.clock import HOSPITAL_TZ
from smartfin.kernel.money import InvalidAmount, format_yuan, parse_amount

VOUCHER_TYPES = ("记", "收", "付", "转")
CASH_ACCOUNTS = ("1001", "1002", "1011", "1021")
MAX_SUMMARY = 200


class InvalidVoucher(ValueError):
    """A voucher that must not be posted; ``problems`` lists every reason (中文 / English)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class VoucherLine:
    """One entry line: exactly one of debit/credit is non-zero (exact yuan Decimals)."""

    account: str
    summary: str
    debit: Decimal
    credit: Decimal

    @property
    def top_account(self) -> str:
        return self.account[:4]

    def as_variable(self) -> dict[str, str]:
        return {"account": self.account, "summary": self.summary,
                "debit": format_yuan(self.debit), "credit": format_yuan(self.credit)}


@dataclass(frozen=True)
class Voucher:
    """A voucher ready for posting; construction validates it (raises ``InvalidVoucher``)."""

    document_type: str
    document_no: str
    booked_on: date
    voucher_type: str
    summary: str
    attachments: int
    lines: tuple[VoucherLine, ...]
    budget_lines: tuple[VoucherLine, ...] = ()
    external_ref: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "external_ref", f"{self.document_type}:{self.document_no}")
        problems = voucher_problems(self)
        if problems:
            raise InvalidVoucher(problems)

    @property
    def amount(self) -> Decimal:
        """The voucher total (sum of the financial debits)."""
        return sum((line.debit for line in self.lines), Decimal("0.00"))

    def as_variable(self) -> dict[str, Any]:
        """The JSON-safe form used as the process variable ``voucher`` (amounts as "123.45")."""
        return {
            "documentType": self.document_type,
            "documentNo": self.document_no,
            "externalRef": self.external_ref,
            "bookedOn": self.booked_on.isoformat(),
            "voucherType": self.voucher_type,
            "summary": self.summary,
            "attachments": self.attachments,
            "lines": [line.as_variable() for line in self.lines],
            "budgetLines": [line.as_variable() for line in self.budget_lines],
        }

    @classmethod
    def from_variable(cls, data: Any) -> Voucher:
        """Rebuild a voucher from ``as_variable()`` output; every malformed field is named."""
        if not isinstance(data, dict):
            raise InvalidVoucher([f"凭证数据必须是对象 / voucher must be a JSON object, got {type(data).__name__}"])
        problems: list[str] = []

        def text(name: str) -> str:
            value = data.get(name)
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{name}: 缺少或不是文本 / missing or not text")
                return ""
            return value.strip()

        document_type, document_no = text("documentType"), text("documentNo")
        voucher_type, summary = text("voucherType"), text("summary")
        booked_on = date(1970, 1, 1)
        try:
            booked_on = date.fromisoformat(str(data.get("bookedOn", "")))
        except ValueError:
            problems.append(f"bookedOn: 日期应为 YYYY-MM-DD / must be an ISO date, got {data.get('bookedOn')!r}")
        attachments = data.get("attachments", 0)
        if not isinstance(attachments, int) or isinstance(attachments, bool):
            problems.append(f"attachments: 附件张数必须为整数 / must be an integer, got {attachments!r}")
            attachments = 0
        lines = _lines_from(data.get("lines"), "lines", problems)
        budget_lines = _lines_from(data.get("budgetLines", []), "budgetLines", problems)
        ref = data.get("externalRef")
        if ref is not None and document_type and document_no and ref != f"{document_type}:{document_no}":
            problems.append(f"externalRef: {ref!r} 与单据类型/单号不符 / does not match documentType:documentNo")
        if problems:
            raise InvalidVoucher(problems)
        return cls(document_type=document_type, document_no=document_no, booked_on=booked_on,
                   voucher_type=voucher_type, summary=summary, attachments=attachments,
                   lines=tuple(lines), budget_lines=tuple(budget_lines))


def _lines_from(raw: Any, name: str, problems: list[str]) -> list[VoucherLine]:
    if not isinstance(raw, list):
        problems.append(f"{name}: 分录必须是列表 / must be a list")
        return []
    lines = []
    for index, item in enumerate(raw, start=1):
        where = f"{name}[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: 分录必须是对象 / must be an object")
            continue
        try:
            debit = parse_amount(item.get("debit") or "0", field=f"{where}.debit", allow_zero=True)
            credit = parse_amount(item.get("credit") or "0", field=f"{where}.credit", allow_zero=True)
        except InvalidAmount as exc:
            problems.append(str(exc))
            continue
        lines.append(VoucherLine(str(item.get("account", "")).strip(), str(item.get("summary", "")).strip(),
                                 debit, credit))
    return lines


def _line_problems(lines: tuple[VoucherLine, ...], label: str) -> list[str]:
    problems = []
    for number, line in enumerate(lines, start=1):
        where = f"{label}第{number}行 / {label} line {number}"
        if not (line.account.isdigit() and len(line.account) >= 4 and len(line.account) % 2 == 0):
            problems.append(f"{where}: 科目代码“{line.account}”无效 / account code must be 4, 6, 8… digits")
        if line.debit < 0 or line.credit < 0:
            problems.append(f"{where}: 金额不能为负 / amounts must not be negative")
        if bool(line.debit) == bool(line.credit):
            problems.append(f"{where}: 借方与贷方须且仅须填写其一 / exactly one of debit and credit must be set")
    return problems


def voucher_problems(voucher: Voucher) -> list[str]:
    """Every reason why a voucher cannot be posted; empty when it can."""
    problems = []
    if not voucher.document_type or ":" in voucher.document_type:
        problems.append("document_type: 必填且不能含冒号 / required, without ':'")
    if not voucher.document_no:
        problems.append("document_no: 必填 / required")
    if voucher.voucher_type not in VOUCHER_TYPES:
        problems.append(f"voucher_type: 凭证字应为 记/收/付/转 / must be one of {VOUCHER_TYPES}, "
                        f"got {voucher.voucher_type!r}")
    if not voucher.summary.strip():
        problems.append("summary: 摘要不能为空 / summary is required")
    elif len(voucher.summary) > MAX_SUMMARY:
        problems.append(f"summary: 摘要过长 / longer than {MAX_SUMMARY} characters")
    if voucher.attachments < 0:
        problems.append("attachments: 附件张数不能为负 / must not be negative")
    if len(voucher.lines) < 2:
        problems.append("lines: 财务会计分录至少两行 / at least two financial lines")
    problems += _line_problems(voucher.lines, "财务会计分录")
    problems += _line_problems(voucher.budget_lines, "预算会计分录")
    debit = sum((line.debit for line in voucher.lines), Decimal(0))
    credit = sum((line.credit for line in voucher.lines), Decimal(0))
    if debit != credit:
        problems.append(f"借贷不平衡：借方 {debit} ≠ 贷方 {credit} / debits and credits differ")
    cash_net = sum((line.debit - line.credit for line in voucher.lines if line.top_account in CASH_ACCOUNTS),
                   Decimal(0))
    if cash_net and not voucher.budget_lines:
        problems.append("涉及货币资金科目须同时录入预算会计分录（平行记账） / a cash line needs the parallel "
                        "budget-accounting entry")
    if voucher.budget_lines:
        bud_debit = sum((line.debit for line in voucher.budget_lines), Decimal(0))
        bud_credit = sum((line.credit for line in voucher.budget_lines), Decimal(0))
        if bud_debit != bud_credit:
            problems.append(f"预算会计分录借贷不平衡：{bud_debit} ≠ {bud_credit} / budget lines do not balance")
        elif cash_net and bud_debit != abs(cash_net):
            problems.append(f"预算会计金额 {bud_debit} 与货币资金净额 {abs(cash_net)} 不一致 / budget amount "
                            "differs from the net cash movement")
    return problems


def payment_voucher(*, document_type: str, document_no: str, booked_on: date, summary: str, amount: Decimal,
                    expense_account: str = "5001", budget_expense_account: str = "7201",
                    cash_account: str = "1002", fund_balance_account: str = "8001",
                    attachments: int = 0) -> Voucher:
    """A payment voucher (付): debit the expense, credit the bank; budget: 事业支出 / 资金结存.

    Why a builder: claims and spending payments all book the same four lines, and getting the parallel
    budget entry right once here keeps every caller from forgetting it.
    """
    amount = parse_amount(amount, field="amount")
    zero = Decimal("0.00")
    return Voucher(
        document_type=document_type, document_no=document_no, booked_on=booked_on, voucher_type="付",
        summary=summary, attachments=attachments,
        lines=(VoucherLine(expense_account, summary, amount, zero), VoucherLine(cash_account, summary, zero, amount)),
        budget_lines=(VoucherLine(budget_expense_account, summary, amount, zero),
                      VoucherLine(fund_balance_account, summary, zero, amount)),
    )


class VoucherRejected(Exception):
    """The ERP refused the voucher (its validation text in ``message``): a business outcome, never retried.

    ``code`` is the BPMN error the ``post-voucher`` topic raises for it.
    """

    code = "VOUCHER_REJECTED"
    business = True

    def __init__(self, message: str, evidence: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.evidence = evidence


@dataclass(frozen=True)
class PostingResult:
    """What the caller gets back: the portal's number and when it was recorded as posted."""

    external_ref: str
    voucher_no: str
    posted_at: datetime
    reconciled: bool
    already_recorded: bool = False

    @property
    def posted_at_local(self) -> str:
        """ISO timestamp with the hospital's offset (+08:00), as the engine variable ``postedAt``."""
        return self.posted_at.astimezone(HOSPITAL_TZ).isoformat(timespec="seconds")


class VoucherBook(Protocol):
    """The ERP as the posting procedure needs it."""

    async def find(self, external_ref: str) -> list[str]:
        """Numbers of the vouchers whose reference is exactly ``external_ref``."""
        ...

    async def enter(self, voucher: Voucher) -> str:
        """Key in and save the voucher; returns the portal's number or raises ``VoucherRejected``."""
        ...

    async def evidence(self, reason: str) -> str | None:
        """Keep evidence of the current page (screenshot, trace, message); returns where."""
        ...


T = TypeVar("T")


class VoucherPortal(Protocol):
    """Where a ``VoucherBook`` comes from: the portal runs ``work`` with a book for one voucher reference.

    The bots implement it (one browser context per item); the posting journal only asks for a book.
    """

    def run(self, external_ref: str, work: Callable[[VoucherBook], Awaitable[T]]) -> T:
        """Run ``work`` with a book open for ``external_ref``; the portal's own retries apply."""
        ...
