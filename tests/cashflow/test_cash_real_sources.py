"""The forecast reads the insurance receivables ledger and the contracts' payment schedules when they exist."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import smartfin.app.tables  # noqa: F401  (registers every table)
from rules.cash.dated import parse_policy, policy_on
from smartfin.app.cash import IMPORTED_RECEIVABLES, receivable_source
from smartfin.app.cash_sources import ContractEncumbrances, InsuranceLedgerReceivables
from smartfin.cashflow.model import Encumbrance, InsuranceCollection, InsuranceReceivable, learn_lags
from smartfin.cashflow.sources import ImportedReceivables, LedgerEncumbrances
from smartfin.insurance.tables import ReceivableEntry
from smartfin.kernel.clock import hospital_today
from smartfin.ledger import Bucket, BudgetLineKey, consume
from smartfin.ledger.journal import create_line, encumber
from smartfin.processes.contracts.contracts import Contract, ContractPayment
from tests.support.databases import engine, pg_engine, sqlite_engine  # noqa: F401

POLICY = policy_on(date(2026, 6, 1), parse_policy("key,effective_from,effective_to,value\n"
                                                  "term:other,2020-01-01,,45\npayday,2020-01-01,,10\n"
                                                  "minimum-balance,2020-01-01,,1000000\n"
                                                  "contract-payment-days,2020-01-01,,60\n"))


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:  # noqa: F811
    with Session(engine) as session:
        yield session


def _entry(kind: str, month: str, entry_kind: str, amount: int, booked: date, ref: str,
           bucket: str = "settlement") -> ReceivableEntry:
    return ReceivableEntry(insurance_type=kind, month=month, entry_kind=entry_kind, bucket=bucket,
                           amount_fen=amount, booked_on=booked, reference=ref)


def test_the_insurance_ledger_is_read_as_of_a_day(session: Session) -> None:
    assert receivable_source(session)[1] == IMPORTED_RECEIVABLES          # no ledger yet: the imported stand-in
    assert isinstance(receivable_source(session)[0], ImportedReceivables)
    session.add_all([
        _entry("employee", "2026-08", "declared", 1_000_000, date(2026, 8, 31), "S-8"),
        _entry("employee", "2026-08", "refused", -50_000, date(2026, 9, 20), "S-8"),
        _entry("employee", "2026-08", "retained", -50_000, date(2026, 9, 20), "S-8"),
        _entry("employee", "2026-08", "retention", 50_000, date(2026, 9, 20), "S-8", "retention"),
        _entry("employee", "2026-08", "received", -600_000, date(2026, 9, 28), "B-1"),
        _entry("employee", "2026-08", "received", -300_000, date(2026, 10, 26), "B-2"),
        _entry("resident", "2026-09", "declared", 400_000, date(2026, 9, 30), "S-9"),
    ])
    session.commit()
    source, origin = receivable_source(session)
    assert isinstance(source, InsuranceLedgerReceivables) and "ins_receivable" in origin
    # on 30 Sep: August billed 900,000 (declared − refused − retained; the deposit is not a late receivable),
    # 600,000 received; September declared
    assert source.receivables(session, date(2026, 9, 30)) == [
        InsuranceReceivable("employee", "2026-08", 300_000, 900_000),
        InsuranceReceivable("resident", "2026-09", 400_000, 400_000)]
    # on 31 Oct August is paid in full and drops out; before the declaration nothing is owed
    assert source.receivables(session, date(2026, 10, 31)) == [InsuranceReceivable("resident", "2026-09", 400_000,
                                                                                    400_000)]
    assert source.receivables(session, date(2026, 8, 30)) == []
    collections = source.collections(session, date(2026, 12, 31))
    assert collections == [InsuranceCollection("employee", "2026-08", date(2026, 9, 28), 600_000),
                           InsuranceCollection("employee", "2026-08", date(2026, 10, 26), 300_000)]
    assert source.collections(session, date(2026, 10, 1)) == collections[:1]
    # the lag is learnt from the ledger's receipts: 28 and 56 days after the service month, two to one
    lags = learn_lags(collections, date(2027, 3, 31))["employee"].shares
    assert [(lag, round(float(share), 3)) for lag, share in lags] == [(28, 0.667), (56, 0.333)]


def _contract(session: Session, number: str, amount: int, payments: list[tuple[date, int]], key: BudgetLineKey,
              signed: date) -> None:
    session.add(Contract(contract_no=number, request_no=f"R-{number}", supplier="设备公司", amount_fen=amount,
                         signed_on=signed, line_id=1, department="RAD", registered_by="officer"))
    session.flush()
    session.add_all([ContractPayment(contract_no=number, position=i, due_on=d, amount_fen=a)
                     for i, (d, a) in enumerate(payments, 1)])
    session.flush()


def test_contracts_are_expected_on_their_open_payments_and_never_twice(session: Session) -> None:
    today = hospital_today()
    key = BudgetLineKey(today.year, "RAD", "31002", "own")
    create_line(session, key, actor="finance", budget="9000000.00", document_no="B-1")
    session.flush()
    # HT-1: 300,000 yuan in three payments; 120,000 already taken (paid by a claim), so the first payment and a
    # fifth of the second are settled
    encumber(session, document_type="contract", document_no="HT-1", actor="svc", amount="300000.00", key=key)
    _contract(session, "HT-1", 300_000_00, [(today - timedelta(days=5), 100_000_00),
                                            (today + timedelta(days=30), 100_000_00),
                                            (today + timedelta(days=90), 100_000_00)], key, today)
    consume(session, cited_type="contract", cited_no="HT-1", citing_type="reimbursement", citing_no="BX-1",
            key=key, amount="120000.00", bucket=Bucket.ACTUAL, actor="svc")
    # HT-2 has no schedule, and an encumbrance of another kind: both by the dated rule
    encumber(session, document_type="contract", document_no="HT-2", actor="svc", amount="50000.00", key=key)
    encumber(session, document_type="purchase-order", document_no="PO-7", actor="svc", amount="8000.00", key=key)
    session.commit()
    found = ContractEncumbrances().encumbrances(session, today, POLICY)
    rule_day = today + timedelta(days=60)
    assert sorted(found, key=lambda e: e.reference) == [
        Encumbrance("contract HT-1 payment 2", 80_000_00, today + timedelta(days=30)),
        Encumbrance("contract HT-1 payment 3", 100_000_00, today + timedelta(days=90)),
        Encumbrance("contract HT-2", 50_000_00, rule_day),
        Encumbrance("purchase-order PO-7", 8_000_00, rule_day)]
    # the same money as the journal's open encumbrances: the schedule only says when
    assert sum(e.amount_fen for e in found) == sum(
        e.amount_fen for e in LedgerEncumbrances().encumbrances(session, today, POLICY))
