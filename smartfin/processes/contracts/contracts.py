"""Contracts (合同) and their payment schedules; registering one carries the cited request into encumbrance.

A contract is signed for an approved spending request. Registering it, in one transaction: the request's
pre-encumbrance is consumed by the contract amount and the contract's encumbrance posted (the ledger's
``consume``), the unused part of the request released as a saving (the contract fixes the price), and the
contract with its payment schedule (dates and amounts, read later by the cash forecast) recorded.

A contract costing more than its request beyond the dated tolerance waits as ``pending-overrun`` until a
member of the standards' approver group approves it; a complete contract gives what it still holds back to
the line (a saving), a cancelled one gives it back to its request.

The request is known to the ledger only as the document holding a pre-encumbrance: this package does not
read the spending process's tables (processes never import each other). The budget line, department and
amount authority come from the ledger's record of the request, never from the command's copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, select

from rules.budget import commitment_standards_on
from smartfin.kernel.clock import hospital_today, utc_now
from smartfin.kernel.money import InvalidAmount, format_yuan, from_fen, parse_amount, to_fen
from smartfin.ledger import (
    Bucket,
    BudgetError,
    CitationRefused,
    DocumentConflict,
    consume,
    document_holdings,
    give_back,
    open_citers,
    release,
    release_saving,
)
from smartfin.store.audit import UtcDateTime, record_audit

DOCUMENT_TYPE = "contract"
REQUEST_TYPE = "spending-request"   # the ledger's document type of an approved request
REGISTRAR_GROUP = "finance-officer"


class ContractStatus(StrEnum):
    """Where a contract stands: its money moves on ``registered`` and leaves the contract on the last two."""

    PENDING_OVERRUN = "pending-overrun"   # costs more than its request beyond the tolerance: awaits approval
    REGISTERED = "registered"             # holds its encumbrance; claims citing it take it over
    COMPLETE = "complete"                 # finished: what was not paid went back to the line (saving)
    CANCELLED = "cancelled"               # what it held went back to its request


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
    status: str = Field(default=ContractStatus.REGISTERED, max_length=20)
    overrun_approved_by: str | None = Field(default=None, max_length=64)
    closed_by: str | None = Field(default=None, max_length=64)

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
    department: str = ""   # the department the contract is signed for, as the registrar states it


def _date(text: str, field: str, problems: list[tuple[str, str]]) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        problems.append((field, f"日期无效 / not a YYYY-MM-DD date: {text!r}"))
        return None


def validate_contract(*, contract_no: str, request_no: str, supplier: str, amount: str, signed_on: str,
                      payments: list[str], department: str = "", today: date | None = None) -> ContractDraft:
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
                         tuple(sorted(schedule)), department.strip())


def register_contract(session: Session, draft: ContractDraft, *, registrar: str) -> Contract:
    """Record the contract and move the request's reservation to its encumbrance, all in the caller's unit of
    work; a saving (contract below the request) is released. Registering the same contract again returns it.

    A contract costing more than its request beyond the dated tolerance is recorded as ``pending-overrun``
    with nothing moved: the over-run needs ``approve_overrun`` by the group the standards name. Refused
    (``ContractRefused``) when the request is not approved, closed, expired or already consumed, or when the
    new money would overspend the line.
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
    if draft.department and draft.department != holding.key.department:
        raise ContractRefused([("department", f"申请 {draft.request_no} 属于科室 {holding.key.department}，不是 "
                                              f"{draft.department} / {draft.request_no} belongs to department "
                                              f"{holding.key.department}, not {draft.department}")])
    status, saved, overrun = ContractStatus.REGISTERED, Decimal("0.00"), None
    try:
        saved = _move(session, draft.request_no, draft.contract_no, draft.amount, draft.signed_on, registrar,
                      overrun_approved=False)
    except CitationRefused as exc:
        if exc.reason != "overrun":
            raise ContractRefused([("request", exc.message)]) from exc
        status, overrun = ContractStatus.PENDING_OVERRUN, exc.message
    row = Contract(contract_no=draft.contract_no, request_no=draft.request_no, supplier=draft.supplier,
                   amount_fen=to_fen(draft.amount), signed_on=draft.signed_on, line_id=holding.line_id,
                   department=holding.key.department, registered_by=registrar, status=status)
    session.add(row)
    session.flush()
    for position, (day, part) in enumerate(draft.payments, start=1):
        session.add(ContractPayment(contract_no=draft.contract_no, position=position, due_on=day,
                                    amount_fen=to_fen(part)))
    record_audit(session, actor=registrar, action="contract.registered", subject_type=DOCUMENT_TYPE,
                 subject_id=draft.contract_no, details={
                     "request_no": draft.request_no, "supplier": draft.supplier, "amount": draft.amount,
                     "signed_on": draft.signed_on, "saving_released": saved, "status": status,
                     "overrun": overrun, "payments": [[d.isoformat(), format_yuan(p)] for d, p in draft.payments]})
    session.flush()
    return row


def _move(session: Session, request_no: str, contract_no: str, amount: Decimal, signed_on: date, actor: str, *,
          overrun_approved: bool) -> Decimal:
    """The request's reservation becomes the contract's encumbrance, the rest of it a saving; the saving."""
    holding = document_holdings(session, REQUEST_TYPE, request_no)
    if holding.key is None:
        raise ContractRefused([("request", f"申请 {request_no} 未获批准（无预占） / {request_no} holds no "
                                           "reservation: it is not an approved request")])
    try:
        consume(session, cited_type=REQUEST_TYPE, cited_no=request_no, citing_type=DOCUMENT_TYPE,
                citing_no=contract_no, key=holding.key, amount=amount, bucket=Bucket.ENCUMBRANCE, actor=actor,
                reference=contract_no, on=signed_on, overrun_approved=overrun_approved)
        return release_saving(session, cited_type=REQUEST_TYPE, cited_no=request_no, citing_type=DOCUMENT_TYPE,
                              citing_no=contract_no, actor=actor)
    except CitationRefused:
        raise
    except DocumentConflict as exc:
        raise ContractRefused([("contract-no", exc.message)]) from exc
    except BudgetError as exc:
        raise ContractRefused([("request", exc.message)]) from exc


def _contract(session: Session, contract_no: str, *statuses: ContractStatus) -> Contract:
    row = session.get(Contract, contract_no, with_for_update=True)
    if row is None:
        raise ContractRefused([("contract-no", f"合同 {contract_no} 不存在 / no contract {contract_no} is registered")])
    if row.status not in statuses:
        wanted = " or ".join(statuses)
        raise ContractRefused([("contract-no", f"合同 {contract_no} 状态为 {row.status}，须为 {wanted} / contract "
                                               f"{contract_no} is {row.status}, not {wanted}")])
    return row


def overrun_approver_group(on: date | None = None) -> str:
    """The engine group whose member approves a contract's over-run, by the dated standard in force."""
    return commitment_standards_on(on or hospital_today()).overrun_approver_group


def approve_overrun(session: Session, contract_no: str, *, approver: str, comment: str = "") -> Contract:
    """A contract pending over-run approved: its request's reservation moves to it with the new money checked
    against the line (the budget can still refuse). ``approver`` is the logged-in member of the approving
    group (checked by the caller against the engine) and may not be the one who registered the contract."""
    row = _contract(session, contract_no, ContractStatus.PENDING_OVERRUN)
    if approver == row.registered_by:
        raise ContractRefused([("user", f"{approver} 登记了合同 {contract_no}，不能自己批准超支 / {approver} "
                                        f"registered {contract_no} and may not approve its over-run")])
    try:
        saved = _move(session, row.request_no, contract_no, row.amount, row.signed_on, approver,
                      overrun_approved=True)
    except CitationRefused as exc:
        raise ContractRefused([("request", exc.message)]) from exc
    row.status, row.overrun_approved_by = ContractStatus.REGISTERED, approver
    session.add(row)
    record_audit(session, actor=approver, action="contract.overrun-approved", subject_type=DOCUMENT_TYPE,
                 subject_id=contract_no, details={"request_no": row.request_no, "amount": row.amount,
                                                  "registered_by": row.registered_by, "comment": comment,
                                                  "group": overrun_approver_group(), "saving_released": saved})
    session.flush()
    return row


def _no_claims_in_flight(session: Session, row: Contract) -> None:
    claims = open_citers(session, DOCUMENT_TYPE, row.contract_no)
    if claims:
        raise ContractRefused([("contract-no", f"合同 {row.contract_no} 仍有在途报销 {', '.join(claims)} / "
                                               f"claims citing {row.contract_no} are still open: {', '.join(claims)}")])


def complete_contract(session: Session, contract_no: str, *, actor: str) -> Decimal:
    """The contract is finished (final payment made): what it still holds is a saving and goes back to the
    line, audited. Refused while a claim citing it is still open. Returns the saving."""
    row = _contract(session, contract_no, ContractStatus.REGISTERED)
    _no_claims_in_flight(session, row)
    entry = release(session, document_type=DOCUMENT_TYPE, document_no=contract_no, bucket=Bucket.ENCUMBRANCE,
                    actor=actor, reason=f"saving: contract {contract_no} complete")
    saved = Decimal("0.00") if entry is None else -entry.amount
    row.status, row.closed_by = ContractStatus.COMPLETE, actor
    session.add(row)
    record_audit(session, actor=actor, action="contract.completed", subject_type=DOCUMENT_TYPE,
                 subject_id=contract_no, details={"saving_released": saved, "request_no": row.request_no})
    session.flush()
    return saved


def cancel_contract(session: Session, contract_no: str, *, actor: str, reason: str) -> Decimal:
    """The contract is cancelled: what it took over from its request goes back to the request (which holds it
    again and can be cited again), audited. Refused while a claim citing it is still open. Returns what the
    request got back."""
    if not reason.strip():
        raise ContractRefused([("reason", "必填 / is required")])
    row = _contract(session, contract_no, ContractStatus.REGISTERED, ContractStatus.PENDING_OVERRUN)
    _no_claims_in_flight(session, row)
    back = give_back(session, citing_type=DOCUMENT_TYPE, citing_no=contract_no, actor=actor,
                     reason=f"contract cancelled: {reason.strip()}")
    returned = sum((g.to_cited for g in back), Decimal("0.00"))
    row.status, row.closed_by = ContractStatus.CANCELLED, actor
    session.add(row)
    record_audit(session, actor=actor, action="contract.cancelled", subject_type=DOCUMENT_TYPE,
                 subject_id=contract_no, details={"reason": reason.strip(), "request_no": row.request_no,
                                                  "returned_to_request": returned,
                                                  "to_line": sum((g.to_line for g in back), Decimal("0.00"))})
    session.flush()
    return returned


def contract_status(session: Session, contract_no: str) -> str | None:
    """The recorded status of a contract number, None when no contract is registered under it.

    The reimbursement worker asks this (through the application's wiring, processes never import each other)
    so that a claim citing a contract still waiting for its over-run approval is refused instead of
    reserving the money a second time beside the request's own reservation.
    """
    row = session.get(Contract, contract_no)
    return None if row is None else str(row.status)


def contract_payments(session: Session, contract_no: str) -> list[ContractPayment]:
    """The contract's payment schedule in order (the cash forecast's input)."""
    return list(session.exec(select(ContractPayment).where(ContractPayment.contract_no == contract_no)
                             .order_by(ContractPayment.position)).all())  # type: ignore[arg-type]
