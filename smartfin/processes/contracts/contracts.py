"""Contracts (合同) and their payment schedules; registering one carries the cited request into encumbrance.

A contract is signed for an approved spending request. Registering it, in one transaction: the request's
pre-encumbrance is consumed by the contract amount and the contract's encumbrance posted (the ledger's
``consume``), the unused part of the request released as a saving (the contract fixes the price), and the
contract with its payment schedule (dates and amounts, read later by the cash forecast) recorded.

The request is known to the ledger only as the document holding a pre-encumbrance: this package does not
read the spending process's tables (processes never import each other). The budget line, department and
amount authority come from the ledger's record of the request, never from the command's copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, select

from smartfin.kernel.clock import hospital_today, utc_now
from smartfin.kernel.money import InvalidAmount, format_yuan, from_fen, parse_amount, to_fen
from smartfin.ledger import (
    Bucket,
    BudgetError,
    DocumentConflict,
    consume,
    document_holdings,
    release_saving,
)
from smartfin.store.audit import UtcDateTime, record_audit

DOCUMENT_TYPE = "contract"
REQUEST_TYPE = "spending-request"   # the ledger's document type of an approved request
REGISTRAR_GROUP = "finance-officer"


class ContractRefused(ValueError):
    """A contract that cannot be registered; ``problems`` names each field and why (中文 / English)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{name}: {why}" for name, why in problems))


class Contract(SQLModel, table=True):
    """One signed contract; its line and department are those of the request it cites (from the ledger)."""

    __tablename__ = "contract"

    contract_no: str = Field(primary_key=True, max_length=40)
    request_no: str = Field(index=True, max_length=40)
    supplier: str = Field(max_length=200)
    amount_fen: int
    signed_on: date
    line_id: int = Field(foreign_key="budget_line.id")
    department: str = Field(max_length=32)
    registered_by: str = Field(max_length=64)
    registered_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))

    @property
    def amount(self) -> Decimal:
        return from_fen(self.amount_fen)


class ContractPayment(SQLModel, table=True):
    """One scheduled payment of a contract (付款计划): when and how much; the cash forecast reads these."""

    __tablename__ = "contract_payment"
    __table_args__ = (UniqueConstraint("contract_no", "position", name="uq_contract_payment_position"),)

    id: int | None = Field(default=None, primary_key=True)
    contract_no: str = Field(foreign_key="contract.contract_no", index=True, max_length=40)
    position: int
    due_on: date
    amount_fen: int

    @property
    def amount(self) -> Decimal:
        return from_fen(self.amount_fen)


@dataclass(frozen=True)
class ContractDraft:
    """A validated contract, not yet registered."""

    contract_no: str
    request_no: str
    supplier: str
    amount: Decimal
    signed_on: date
    payments: tuple[tuple[date, Decimal], ...]


def _date(text: str, field: str, problems: list[tuple[str, str]]) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        problems.append((field, f"日期无效 / not a YYYY-MM-DD date: {text!r}"))
        return None


def validate_contract(*, contract_no: str, request_no: str, supplier: str, amount: str, signed_on: str,
                      payments: list[str], today: date | None = None) -> ContractDraft:
    """Check every field and collect all problems before refusing: the schedule (``DATE:AMOUNT`` each) must
    fall on or after signature and add up to the contract amount; a contract is not signed in the future."""
    problems: list[tuple[str, str]] = []
    for name, value, limit in (("contract-no", contract_no, 40), ("request", request_no, 40),
                               ("supplier", supplier, 200)):
        if not value.strip():
            problems.append((name, "必填 / is required"))
        elif len(value.strip()) > limit:
            problems.append((name, f"超过 {limit} 字 / longer than {limit} characters"))
    value: Decimal | None = None
    try:
        value = parse_amount(amount, field="amount")
    except InvalidAmount as exc:
        problems.append(("amount", str(exc)))
    signed = _date(signed_on, "signed-on", problems)
    if signed is not None and signed > (today or hospital_today()):
        problems.append(("signed-on", f"签订日期在将来 / {signed} is in the future"))
    schedule: list[tuple[date, Decimal]] = []
    for position, item in enumerate(payments, start=1):
        day_text, sep, amount_text = item.partition(":")
        field = f"payment-date #{position}"
        if not sep:
            problems.append((field, f"须为 日期:金额 / must be DATE:AMOUNT, got {item!r}"))
            continue
        day = _date(day_text, field, problems)
        try:
            part = parse_amount(amount_text, field=field)
        except InvalidAmount as exc:
            problems.append((field, str(exc)))
            continue
        if day is not None and signed is not None and day < signed:
            problems.append((field, f"付款日 {day} 早于签订日 {signed} / due {day} before signature {signed}"))
        if day is not None:
            schedule.append((day, part))
    if schedule and value is not None and sum(p for _, p in schedule) != value:
        total = sum((p for _, p in schedule), Decimal("0.00"))
        problems.append(("payment-date", f"付款计划合计 {format_yuan(total)} ≠ 合同金额 {format_yuan(value)} / the "
                                         f"schedule adds up to {format_yuan(total)}, not {format_yuan(value)}"))
    if problems or value is None or signed is None:
        raise ContractRefused(problems)
    return ContractDraft(contract_no.strip(), request_no.strip(), supplier.strip(), value, signed,
                         tuple(sorted(schedule)))


def register_contract(session: Session, draft: ContractDraft, *, registrar: str) -> Contract:
    """Record the contract and move the request's reservation to its encumbrance, all in the caller's unit of
    work; a saving (contract below the request) is released. Registering the same contract again returns it.

    Refused (``ContractRefused``) when the request is not approved, closed, expired or already consumed, or
    when the contract costs more than the request beyond the tolerance (a new request is needed for that).
    """
    existing = session.get(Contract, draft.contract_no)
    if existing is not None:
        if (existing.request_no, existing.amount) != (draft.request_no, draft.amount):
            raise ContractRefused([("contract-no", f"合同 {draft.contract_no} 已登记（申请 {existing.request_no}，"
                                                   f"{format_yuan(existing.amount)}） / already registered for "
                                                   f"{existing.request_no} with {format_yuan(existing.amount)}")])
        return existing
    holding = document_holdings(session, REQUEST_TYPE, draft.request_no)
    if holding.key is None or holding.line_id is None:
        raise ContractRefused([("request", f"申请 {draft.request_no} 未获批准（无预占） / {draft.request_no} holds "
                                           "no reservation: it is not an approved request")])
    try:
        consume(session, cited_type=REQUEST_TYPE, cited_no=draft.request_no, citing_type=DOCUMENT_TYPE,
                citing_no=draft.contract_no, key=holding.key, amount=draft.amount, bucket=Bucket.ENCUMBRANCE,
                actor=registrar, reference=draft.contract_no, on=draft.signed_on)
        saved = release_saving(session, cited_type=REQUEST_TYPE, cited_no=draft.request_no,
                               citing_type=DOCUMENT_TYPE, citing_no=draft.contract_no, actor=registrar)
    except DocumentConflict as exc:
        raise ContractRefused([("contract-no", exc.message)]) from exc
    except BudgetError as exc:
        raise ContractRefused([("request", exc.message)]) from exc
    row = Contract(contract_no=draft.contract_no, request_no=draft.request_no, supplier=draft.supplier,
                   amount_fen=to_fen(draft.amount), signed_on=draft.signed_on, line_id=holding.line_id,
                   department=holding.key.department, registered_by=registrar)
    session.add(row)
    session.flush()
    for position, (day, part) in enumerate(draft.payments, start=1):
        session.add(ContractPayment(contract_no=draft.contract_no, position=position, due_on=day,
                                    amount_fen=to_fen(part)))
    record_audit(session, actor=registrar, action="contract.registered", subject_type=DOCUMENT_TYPE,
                 subject_id=draft.contract_no, details={
                     "request_no": draft.request_no, "supplier": draft.supplier, "amount": draft.amount,
                     "signed_on": draft.signed_on, "saving_released": saved,
                     "payments": [[d.isoformat(), format_yuan(p)] for d, p in draft.payments]})
    session.flush()
    return row


def contract_payments(session: Session, contract_no: str) -> list[ContractPayment]:
    """The contract's payment schedule in order (the cash forecast's input)."""
    return list(session.exec(select(ContractPayment).where(ContractPayment.contract_no == contract_no)
                             .order_by(ContractPayment.position)).all())  # type: ignore[arg-type]
