"""The cash forecast's sources read from the parts that own the facts: the insurance receivables ledger and the
contracts' payment schedules.

They live here, in the wiring layer, because the forecast (``smartfin.cashflow``), the insurance settlement
(``smartfin.insurance``) and the contracts process (``smartfin.processes.contracts``) do not import each other.

- ``InsuranceLedgerReceivables``: what the fund still owes per insurance type and service month at a day, from
  the append-only ``ins_receivable`` entries booked up to that day (the quality deposit, owed until the annual
  assessment, is left out; what appeals recovered counts until its bank receipt arrives), and the collections =
  the bank receipts matched to disbursements and to appeal recoveries (``received`` entries, on the receipt's
  date, each receipt once). The forecast learns each insurance type's collection lag from these.
- ``ContractEncumbrances``: what each registered contract still holds in the budget journal, expected on its
  open scheduled payments (the earliest payments count as paid first); what a contract holds beyond its open
  schedule, and every other document's encumbrance, by the dated rule. The journal decides how much is open, the
  schedule only when — so nothing is counted twice.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlmodel import Session, col, select

from rules.cash.dated import CashPolicy
from smartfin.cashflow.model import Encumbrance, InsuranceCollection, InsuranceReceivable
from smartfin.cashflow.sources import by_dated_rule, held_encumbrances
from smartfin.insurance.runs import RECOVERY
from smartfin.insurance.tables import ReceivableEntry
from smartfin.processes.contracts.contracts import DOCUMENT_TYPE as CONTRACT
from smartfin.processes.contracts.contracts import Contract, ContractPayment

SETTLEMENT = "settlement"
RECEIVED = "received"
#: the buckets of money the fund pays into the bank: the month's settlement and what appeals recovered
COLLECTED = (SETTLEMENT, RECOVERY)


def insurance_ledger_exists(session: Session) -> bool:
    """Whether the insurance settlement has booked any receivable (then it, not an imported snapshot, counts)."""
    return session.exec(select(ReceivableEntry.id).limit(1)).first() is not None


class InsuranceLedgerReceivables:
    """The insurance receivables ledger (``ins_receivable``) as the forecast's receivables and collections."""

    name = "insurance receivables ledger (ins_receivable)"

    def receivables(self, session: Session, as_of: date) -> list[InsuranceReceivable]:
        """Outstanding (> 0) per insurance type and service month at the end of ``as_of``; ``billed`` is the
        month's amount before any receipt (declared − refused − deducted − retained, plus what appeals
        recovered)."""
        outstanding: dict[tuple[str, str], int] = defaultdict(int)
        billed: dict[tuple[str, str], int] = defaultdict(int)
        for e in session.exec(select(ReceivableEntry).where(col(ReceivableEntry.bucket).in_(COLLECTED),
                                                            ReceivableEntry.booked_on <= as_of)).all():
            key = (e.insurance_type, e.month)
            outstanding[key] += e.amount_fen
            if e.entry_kind != RECEIVED:
                billed[key] += e.amount_fen
        return [InsuranceReceivable(kind, month, amount, billed[(kind, month)] or None)
                for (kind, month), amount in sorted(outstanding.items()) if amount > 0]

    def collections(self, session: Session, as_of: date) -> list[InsuranceCollection]:
        """Each matched bank receipt up to ``as_of``: insurance type, service month, receipt day, amount; an
        appeal's recovery is a collection of the types and service month of the items it recovered."""
        rows = session.exec(select(ReceivableEntry).where(
            ReceivableEntry.entry_kind == RECEIVED, col(ReceivableEntry.bucket).in_(COLLECTED),
            ReceivableEntry.booked_on <= as_of).order_by(col(ReceivableEntry.booked_on), col(ReceivableEntry.id)))
        return [InsuranceCollection(e.insurance_type, e.month, e.booked_on, -e.amount_fen) for e in rows.all()]


class ContractEncumbrances:
    """Open encumbrances placed on the contracts' open scheduled payments, the rest by the dated rule."""

    name = "contract payment schedules (contract_payment) and the budget journal"

    def encumbrances(self, session: Session, as_of: date, policy: CashPolicy) -> list[Encumbrance]:
        """Every open commitment at the end of ``as_of`` with the day its payment is expected."""
        found: list[Encumbrance] = []
        for held in held_encumbrances(session, as_of):
            contract = session.get(Contract, held.document_no) if held.document_type == CONTRACT else None
            schedule = list(session.exec(select(ContractPayment).where(
                ContractPayment.contract_no == held.document_no).order_by(
                    col(ContractPayment.due_on), col(ContractPayment.position))).all()) if contract else []
            if contract is None or not schedule:
                found.append(by_dated_rule(held, policy))
                continue
            # what the contract no longer holds was paid (or taken over by claims): the earliest payments first
            settled = max(contract.amount_fen - held.amount_fen, 0)
            left = held.amount_fen
            for payment in schedule:
                taken = min(settled, payment.amount_fen)
                settled -= taken
                part = min(payment.amount_fen - taken, left)
                if part > 0:
                    found.append(Encumbrance(f"{CONTRACT} {contract.contract_no} payment {payment.position}",
                                             part, payment.due_on))
                    left -= part
            if left > 0:
                found.append(by_dated_rule(held, policy, left, " (beyond its payment schedule)"))
        return found
