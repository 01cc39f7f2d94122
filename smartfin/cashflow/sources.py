"""Where the forecast's inputs come from: the tables, the ledger, the dated rules — and the seams for what is
being built elsewhere.

Two seams are protocols so that a better source replaces the stand-in without touching the forecast:

- ``ReceivableSource``: the insurance receivables open at a day and the collections paid so far. Today
  ``ImportedReceivables`` reads the aging snapshots imported into ``cash_receivable`` and the collections in
  ``cash_history``; the insurance reconciliation's receivables ledger and aging (package ``smartfin.insurance``)
  plugs in here by implementing the two methods, chosen where ``load_inputs`` is called (``smartfin.app`` and the
  ``cash-forecast`` flow).
- ``EncumbranceSource``: open commitments with the day their payment is expected. Today ``LedgerEncumbrances``
  reads the open encumbrances of the budget journal, expected ``contract-payment-days`` (dated policy) after the
  encumbrance; the contracts' payment schedules (``smartfin.processes.contracts``) plug in here.

Opening balances are the closing balances of the bank statements the reconciliation imported; they are handed
in as ``StatementBalance`` values (the reconciliation owns its table), one per account and statement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from sqlmodel import Session, col, select

from rules.cash.dated import CashPolicy, PolicyRule, ScheduleRule, policy_on, schedule_between
from smartfin.cashflow.model import (
    FISCAL,
    LEVEL_DAYS,
    LOAN,
    OTHER,
    PAYROLL,
    TAX,
    WEEKS,
    DailyAmount,
    Encumbrance,
    ForecastInputs,
    ForecastRefused,
    InsuranceCollection,
    InsuranceReceivable,
    OpeningBalance,
    Payable,
    ScheduledFlow,
    banking_day,
)
from smartfin.cashflow.tables import CashHistory, CashPayable, CashReceivable
from smartfin.kernel.money import to_fen
from smartfin.ledger.keys import Bucket
from smartfin.ledger.models import JournalEntry

SCHEDULE_CATEGORIES = {"fiscal-appropriation": FISCAL, "loan-service": LOAN, "taxes": TAX, "payroll": PAYROLL,
                       "other": OTHER}


@dataclass(frozen=True)
class StatementBalance:
    """The closing balance of one imported bank statement."""

    account: str
    period_end: date
    closing_fen: int | None


def openings_at(statements: Sequence[StatementBalance], accounts: Sequence[str],
                as_of: date | None = None) -> tuple[date, tuple[OpeningBalance, ...]]:
    """The forecast day and each configured account's balance at its end, from the statements.

    Without ``as_of``: the latest day on which every account has a statement ending. Refuses an account without
    statements, a statement without a closing balance, or an account whose statements do not end on ``as_of``.
    """
    if not accounts:
        raise ForecastRefused("期初余额 / opening balance: no bank account is configured (SMARTFIN_BANK_ACCOUNTS)")
    by_account: dict[str, dict[date, int | None]] = defaultdict(dict)
    for s in statements:
        by_account[s.account][s.period_end] = s.closing_fen
    without = [a for a in accounts if not by_account.get(a)]
    if without:
        raise ForecastRefused(f"银行账户无对账单 / bank account(s) without statements: {', '.join(without)}; "
                              "the opening balance of the forecast cannot be known (import their statements first)")
    if as_of is None:
        common = set.intersection(*(set(by_account[a]) for a in accounts))
        if not common:
            ends = ", ".join(f"{a} up to {max(by_account[a])}" for a in accounts)
            raise ForecastRefused(f"对账单日期不一致 / the accounts' statements end on no common day ({ends}); "
                                  "give the forecast day (--as-of) and import the missing statements")
        as_of = max(common)
    openings = []
    for account in accounts:
        if as_of not in by_account[account]:
            raise ForecastRefused(f"账户 {account} 无截至 {as_of} 的对账单 / bank account {account} has no statement "
                                  f"ending on {as_of} (its latest ends on {max(by_account[account])})")
        closing = by_account[account][as_of]
        if closing is None:
            raise ForecastRefused(f"账户 {account} 对账单无期末余额 / the statement of bank account {account} ending "
                                  f"on {as_of} has no closing balance")
        openings.append(OpeningBalance(account, as_of, closing))
    return as_of, tuple(openings)


class ReceivableSource(Protocol):
    """Insurance receivables open at a day and the collections paid up to it (the insurance aging plugs in)."""

    def receivables(self, session: Session, as_of: date) -> list[InsuranceReceivable]: ...

    def collections(self, session: Session, as_of: date) -> list[InsuranceCollection]: ...


class EncumbranceSource(Protocol):
    """Open commitments with the day their payment is expected (the contracts' payment schedules plug in)."""

    def encumbrances(self, session: Session, as_of: date, policy: CashPolicy) -> list[Encumbrance]: ...


class ImportedReceivables:
    """The latest imported aging snapshot at or before the day, and the imported collections."""

    def receivables(self, session: Session, as_of: date) -> list[InsuranceReceivable]:
        latest = session.exec(select(CashReceivable.as_of).where(CashReceivable.as_of <= as_of)
                              .order_by(col(CashReceivable.as_of).desc())).first()
        if latest is None:
            return []
        rows = session.exec(select(CashReceivable).where(CashReceivable.as_of == latest)
                            .order_by(col(CashReceivable.insurance_type), col(CashReceivable.service_month))).all()
        return [InsuranceReceivable(r.insurance_type, r.service_month, r.outstanding_fen, r.billed_fen) for r in rows]

    def collections(self, session: Session, as_of: date) -> list[InsuranceCollection]:
        rows = session.exec(select(CashHistory).where(CashHistory.kind == "insurance-collection",
                                                      CashHistory.day <= as_of)).all()
        return [InsuranceCollection(r.insurance_type or "", r.service_month or "", r.day, r.amount_fen) for r in rows]


@dataclass(frozen=True)
class HeldEncumbrance:
    """What one document still holds as encumbrance at a day, and the day it first encumbered."""

    document_type: str
    document_no: str
    amount_fen: int
    first_on: date


def held_encumbrances(session: Session, as_of: date) -> list[HeldEncumbrance]:
    """Every document holding an encumbrance in the budget journal at the end of ``as_of`` (sorted by document),
    so a schedule reader and the dated rule start from the same amounts."""
    held: dict[tuple[str, str], int] = defaultdict(int)
    first: dict[tuple[str, str], date] = {}
    for entry in session.exec(select(JournalEntry).where(JournalEntry.bucket == Bucket.ENCUMBRANCE.value,
                                                         JournalEntry.effective_on <= as_of)).all():
        key = (entry.document_type, entry.document_no)
        held[key] += entry.amount_fen
        first[key] = min(first.get(key, entry.effective_on), entry.effective_on)
    return [HeldEncumbrance(kind, number, amount, first[(kind, number)])
            for (kind, number), amount in sorted(held.items()) if amount > 0]


def by_dated_rule(held: HeldEncumbrance, policy: CashPolicy, amount_fen: int | None = None,
                  note: str = "") -> Encumbrance:
    """The commitment expected ``contract-payment-days`` (dated policy) after it was first encumbered."""
    return Encumbrance(f"{held.document_type} {held.document_no}{note}",
                       held.amount_fen if amount_fen is None else amount_fen,
                       held.first_on + timedelta(days=policy.contract_payment_days))


class LedgerEncumbrances:
    """Open encumbrances of the budget journal, each expected ``contract_payment_days`` after it was made."""

    def encumbrances(self, session: Session, as_of: date, policy: CashPolicy) -> list[Encumbrance]:
        return [by_dated_rule(h, policy) for h in held_encumbrances(session, as_of)]


def _daily(session: Session, kind: str, as_of: date) -> tuple[DailyAmount, ...]:
    sums: dict[date, int] = defaultdict(int)
    for row in session.exec(select(CashHistory).where(CashHistory.kind == kind, CashHistory.day <= as_of)).all():
        sums[row.day] += row.amount_fen
    return tuple(DailyAmount(day, amount) for day, amount in sorted(sums.items()))


def _payable(row: CashPayable) -> Payable:
    return Payable(row.reference, row.supplier, row.category, row.accepted_on, row.amount_fen, row.due_on)


def scheduled_flows(first: date, last: date, rules: Sequence[ScheduleRule] | None = None) -> tuple[ScheduledFlow, ...]:
    """The dated schedule's items from ``first`` to ``last`` as flows (moved to the next banking day)."""
    return tuple(ScheduledFlow(SCHEDULE_CATEGORIES[rule.kind], banking_day(day), rule.sign * to_fen(rule.amount),
                               f"{rule.name} (schedule row {rule.row})")
                 for rule, day in schedule_between(first, last, rules))


def load_inputs(session: Session, as_of: date, openings: Sequence[OpeningBalance], *,
                receivables: ReceivableSource | None = None, encumbrances: EncumbranceSource | None = None,
                schedule: Sequence[ScheduleRule] | None = None,
                policy: Sequence[PolicyRule] | None = None) -> tuple[ForecastInputs, CashPolicy]:
    """The forecast's inputs as known at the end of ``as_of``, and the cash policy in force that day."""
    rules = policy_on(as_of, policy)
    source = receivables or ImportedReceivables()
    commitments = encumbrances or LedgerEncumbrances()
    open_payables = session.exec(select(CashPayable).where(
        CashPayable.accepted_on <= as_of,
        (col(CashPayable.paid_on).is_(None)) | (col(CashPayable.paid_on) > as_of))).all()
    purchases = session.exec(select(CashPayable).where(
        CashPayable.accepted_on <= as_of, CashPayable.accepted_on > as_of - timedelta(days=LEVEL_DAYS))).all()
    inputs = ForecastInputs(
        as_of=as_of,
        openings=tuple(openings),
        patient_history=_daily(session, "patient-receipt", as_of),
        insurance_history=tuple(source.collections(session, as_of)),
        receivables=tuple(source.receivables(session, as_of)),
        payables=tuple(_payable(p) for p in open_payables),
        purchase_history=tuple(_payable(p) for p in purchases),
        payroll_history=_daily(session, "payroll", as_of),
        encumbrances=tuple(commitments.encumbrances(session, as_of, rules)),
        scheduled=scheduled_flows(as_of + timedelta(days=1), as_of + timedelta(days=7 * WEEKS), schedule),
        payment_terms=rules.payment_terms,
        payday=rules.payday,
    )
    return inputs, rules
