"""The forecast's inputs from the database: open encumbrances of the budget journal, the aging snapshot, the
schedule of the dated rules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import smartfin.app.tables  # noqa: F401  (registers every table)
from rules.cash.dated import parse_policy, parse_schedule, policy_on
from smartfin.cashflow.imports import import_cash_file
from smartfin.cashflow.model import FISCAL, LOAN, Encumbrance, InsuranceReceivable
from smartfin.cashflow.sources import ImportedReceivables, LedgerEncumbrances, scheduled_flows
from smartfin.kernel.clock import hospital_today
from smartfin.ledger import BudgetLineKey
from smartfin.ledger.journal import create_line, encumber, record_actual
from tests.support.databases import engine, pg_engine, sqlite_engine  # noqa: F401

POLICY = policy_on(date(2026, 6, 1), parse_policy("key,effective_from,effective_to,value\n"
                                                  "term:other,2020-01-01,,45\npayday,2020-01-01,,10\n"
                                                  "minimum-balance,2020-01-01,,1000000\n"
                                                  "contract-payment-days,2020-01-01,,60\n"))


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:  # noqa: F811
    with Session(engine) as session:
        yield session


def test_open_encumbrances_are_expected_after_the_policy_days(session: Session) -> None:
    today = hospital_today()   # taken once: the entries below take effect on the hospital's today
    key = BudgetLineKey(today.year, "RAD", "31002", "own")
    create_line(session, key, actor="finance", budget="5000000.00", document_no="B-1")
    encumber(session, document_type="contract", document_no="HT-9", actor="svc", amount="300000.00", key=key)
    encumber(session, document_type="contract", document_no="HT-8", actor="svc", amount="80000.00", key=key)
    record_actual(session, document_type="contract", document_no="HT-8", actor="svc")   # paid: released
    found = LedgerEncumbrances().encumbrances(session, today, POLICY)
    # the open contract is expected 60 days (contract-payment-days) after it was signed; the paid one is not
    assert found == [Encumbrance("contract HT-9", 300_000_00, today + timedelta(days=60))]
    assert LedgerEncumbrances().encumbrances(session, today - timedelta(days=1), POLICY) == []


def test_the_latest_aging_snapshot_is_read(session: Session) -> None:
    text = (b"as_of,insurance_type,service_month,outstanding,billed\n"
            b"2026-10-31,employee,2026-09,24000000.00,24000000.00\n"
            b"2026-11-30,employee,2026-09,7200000.00,24000000.00\n"
            b"2026-11-30,employee,2026-10,25000000.00,25000000.00\n")
    import_cash_file(session, "receivables", text, actor="clerk", filename="aging.csv")
    source = ImportedReceivables()
    assert source.receivables(session, date(2026, 11, 15)) == [
        InsuranceReceivable("employee", "2026-09", 24_000_000_00, 24_000_000_00)]
    assert [r.outstanding_fen for r in source.receivables(session, date(2026, 12, 1))] == [7_200_000_00,
                                                                                         25_000_000_00]


def test_the_schedule_falls_on_banking_days_with_its_sign() -> None:
    rules = parse_schedule("kind,name,effective_from,effective_to,day_of_month,months,amount\n"
                           "fiscal-appropriation,basic,2026-01-01,,20,,6000000\n"
                           "loan-service,loan,2026-01-01,,21,\"3,6,9,12\",4500000\n")
    flows = scheduled_flows(date(2026, 12, 1), date(2026, 12, 31), rules)
    # 20 Dec 2026 is a Sunday: the appropriation arrives on Monday 21 Dec, with the loan instalment
    assert [(f.category, f.day, f.amount_fen) for f in flows] == [
        (FISCAL, date(2026, 12, 21), 6_000_000_00), (LOAN, date(2026, 12, 21), -4_500_000_00)]
