"""Bad input is refused whole, naming the file, the row and the field: dated rules, imports, bank statements."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import smartfin.app.tables  # noqa: F401  (registers every table)
from rules.cash.dated import CashRuleError, load_policy, load_schedule, parse_policy, parse_schedule, policy_on
from smartfin.cashflow.imports import CashImportRefused, import_cash_file
from smartfin.cashflow.model import ForecastRefused
from smartfin.cashflow.sources import StatementBalance, openings_at
from smartfin.cashflow.tables import CashHistory, CashImport, CashPayable
from tests.support.databases import engine, pg_engine, sqlite_engine  # noqa: F401

SCHEDULE_HEAD = "kind,name,effective_from,effective_to,day_of_month,months,amount\n"
POLICY_HEAD = "key,effective_from,effective_to,value\n"


def test_the_shipped_rules_load() -> None:
    assert load_schedule() and load_policy()
    assert policy_on(date(2026, 12, 1)).payment_terms["centralised-drugs"] == 30


@pytest.mark.parametrize(("row", "message"), [
    ("taxes,VAT,2026-01-01,,15,,-100.00", r"schedule.csv row 2, amount: .*must not be negative"),
    ("taxes,VAT,2026-01-01,,15,,lots", r"schedule.csv row 2, amount: .*is not a number: 'lots'"),
    ("taxes,VAT,2026-01-01,,32,,100", r"schedule.csv row 2, day_of_month: .*1–31"),
    ("taxes,VAT,2026-13-01,,15,,100", r"schedule.csv row 2, effective_from: .*not a YYYY-MM-DD"),
    ("taxes,VAT,2026-01-01,,15,\"3,13\",100", r"schedule.csv row 2, months"),
    ("bonus,VAT,2026-01-01,,15,,100", r"schedule.csv row 2, kind: .*unknown kind 'bonus'"),
    ("taxes,VAT,2026-01-01,2025-12-31,15,,100", r"schedule.csv row 2, effective_to: .*before effective_from"),
])
def test_bad_schedule_rows_are_refused_naming_row_and_field(row: str, message: str) -> None:
    with pytest.raises(CashRuleError, match=message):
        parse_schedule(SCHEDULE_HEAD + row + "\n")


def test_overlapping_dated_rules_are_refused_naming_both_rows() -> None:
    text = SCHEDULE_HEAD + "taxes,VAT,2026-01-01,,15,,100\ntaxes,VAT,2026-07-01,,15,,120\n"
    with pytest.raises(CashRuleError, match=r"rows 2 and 3, effective_from/effective_to: .*taxes/VAT.*2026-07-01"):
        parse_schedule(text)
    # ending the first row the day before is the way to change it
    assert len(parse_schedule(SCHEDULE_HEAD + "taxes,VAT,2026-01-01,2026-06-30,15,,100\n"
                                              "taxes,VAT,2026-07-01,,15,,120\n")) == 2
    policy = POLICY_HEAD + "term:drugs,2020-01-01,2026-12-31,30\nterm:drugs,2026-06-01,,45\n"
    with pytest.raises(CashRuleError, match=r"policy.csv rows 2 and 3.*term:drugs"):
        parse_policy(policy)


def test_policy_values_are_checked() -> None:
    with pytest.raises(CashRuleError, match=r"row 2, value: .*whole number of days"):
        parse_policy(POLICY_HEAD + "term:drugs,2020-01-01,,30.5\n")
    with pytest.raises(CashRuleError, match=r"row 2, key: .*unknown key 'pay-day'"):
        parse_policy(POLICY_HEAD + "pay-day,2020-01-01,,10\n")
    with pytest.raises(CashRuleError, match=r"no row in force on 2026-01-01 for payday, minimum-balance"):
        policy_on(date(2026, 1, 1), parse_policy(POLICY_HEAD + "term:drugs,2020-01-01,,30\n"
                                                               "contract-payment-days,2020-01-01,,60\n"))


def test_an_account_without_statements_is_refused() -> None:
    statements = [StatementBalance("A1", date(2026, 11, 27), 100_00)]
    with pytest.raises(ForecastRefused, match="without statements: A2"):
        openings_at(statements, ["A1", "A2"])
    with pytest.raises(ForecastRefused, match="A1 has no statement ending on 2026-11-28"):
        openings_at(statements, ["A1"], date(2026, 11, 28))
    with pytest.raises(ForecastRefused, match="no closing balance"):
        openings_at([StatementBalance("A1", date(2026, 11, 27), None)], ["A1"])
    both = [*statements, StatementBalance("A2", date(2026, 11, 27), 50_00),
            StatementBalance("A2", date(2026, 11, 28), 70_00)]
    as_of, openings = openings_at(both, ["A1", "A2"])
    assert as_of == date(2026, 11, 27) and sum(o.balance_fen for o in openings) == 150_00


def test_a_bad_history_file_imports_nothing(engine: Engine) -> None:  # noqa: F811
    text = ("kind,date,amount,insurance_type,service_month\n"
            "patient-receipt,2026-11-01,1200.00,,\n"
            "patient-receipt,2026-11-02,-5.00,,\n"
            "insurance-collection,2026-11-03,abc,employee,2026-09\n"
            "insurance-collection,2026-11-04,100,,2026-13\n"
            "refund,2026-11-05,1,,\n")
    with Session(engine) as session, pytest.raises(CashImportRefused) as refused:
        import_cash_file(session, "history", text.encode(), actor="clerk", filename="history.csv")
    message = str(refused.value)
    assert "history.csv row 3, column amount: must not be negative" in message
    assert "row 4, column amount: is not a number" in message
    assert "row 5, column insurance_type: is required for an insurance collection" in message
    assert "row 5, column service_month: must be a month written YYYY-MM" in message
    assert "row 6, column kind: must be one of" in message
    with Session(engine) as session:
        assert session.exec(select(CashHistory)).all() == [] and session.exec(select(CashImport)).all() == []


def test_payables_import_once_and_refuse_the_same_file_and_reference(engine: Engine) -> None:  # noqa: F811
    text = ("reference,supplier,category,accepted_on,amount,due_on,paid_on\n"
            "INV1,国药控股,centralised-drugs,2026-11-02,50000.00,,\n"
            "INV2,某耗材公司,consumables,2026-11-03,\"12,000.50\",2027-01-02,\n").encode()
    with Session(engine) as session:
        result = import_cash_file(session, "payables", text, actor="clerk", filename="payables.csv")
        session.commit()
    assert result.rows == 2
    with Session(engine) as session:
        assert sorted(p.amount_fen for p in session.exec(select(CashPayable)).all()) == [1_200_050, 5_000_000]
        with pytest.raises(CashImportRefused, match="imported before"):
            import_cash_file(session, "payables", text, actor="clerk", filename="payables-again.csv")
        with pytest.raises(CashImportRefused, match=r"row 2, column reference: INV1 was imported before"):
            import_cash_file(session, "payables", text.replace(b"INV2", b"INV3"), actor="clerk", filename="p2.csv")
