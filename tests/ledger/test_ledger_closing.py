"""Year-end close on SQLite and PostgreSQL: carry-over by rule, the frozen year, idempotency, refusals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from rules.budget import carry_over_rules_on, parse_carry_over_rules
from smartfin.ledger import (
    Bucket,
    BudgetLineClosed,
    BudgetLineKey,
    JournalEntry,
    adjust,
    balances,
    close_line,
    create_line,
    document_holdings,
    encumber,
    pre_encumber,
    record_actual,
    set_budget,
)
from smartfin.ledger.closing import BudgetYearClosing, ClosingRefused, carried_into, close_year
from smartfin.ledger.control import line_balances
from smartfin.store.audit import AuditEntry

YEAR = 2025
AFTER = date(2026, 1, 5)
PROJECT = BudgetLineKey(YEAR, "0301", "30218", "fiscal", "P-ICU")      # fiscal project funds: balance carries
BASIC = BudgetLineKey(YEAR, "0301", "30201", "fiscal")                 # basic expenditure: balance lapses
OWN = BudgetLineKey(YEAR, "0302", "31003", "own", "P-CT")             # own-funds project: balance lapses


def hospital(session: Session) -> None:
    on = date(YEAR, 6, 1)
    create_line(session, PROJECT, actor="t", budget="100000.00")
    create_line(session, BASIC, actor="t", budget="50000.00")
    create_line(session, OWN, actor="t", budget="80000.00")
    # a signed contract (carries with its number), a request still pre-encumbered (lapses), a payment
    pre_encumber(session, PROJECT, "30000.00", document_type="spending-request", document_no="SR-1", actor="t", on=on)
    encumber(session, document_type="spending-request", document_no="SR-1", actor="t", contract_no="HT-1", on=on)
    pre_encumber(session, PROJECT, "5000.00", document_type="spending-request", document_no="SR-2", actor="t", on=on)
    pre_encumber(session, PROJECT, "20000.00", document_type="spending-request", document_no="SR-3", actor="t", on=on)
    record_actual(session, document_type="spending-request", document_no="SR-3", actor="t", on=on)
    pre_encumber(session, BASIC, "12000.00", document_type="spending-request", document_no="SR-4", actor="t", on=on)
    record_actual(session, document_type="spending-request", document_no="SR-4", actor="t", on=on)
    pre_encumber(session, OWN, "40000.00", document_type="procurement-proposal", document_no="EQ-1", actor="t", on=on)
    encumber(session, document_type="procurement-proposal", document_no="EQ-1", actor="t", contract_no="HT-9", on=on)
    session.flush()


def next_year(key: BudgetLineKey) -> BudgetLineKey:
    return BudgetLineKey(key.fiscal_year + 1, key.department, key.economic_code, key.funding_source, key.project)


def test_close_carries_by_rule_and_freezes_the_year(session: Session) -> None:
    hospital(session)
    closing = close_year(session, YEAR, actor="liu.yang", today=AFTER)
    session.commit()

    # fiscal project: contract 30,000 carries, the unspent 100,000 − 20,000 paid − 30,000 = 50,000 carries
    # (the lapsed 5,000 request is part of it); the basic line's 38,000 lapses; own project: contract only
    assert carried_into(session, next_year(PROJECT)) == Decimal("80000.00")
    assert carried_into(session, next_year(BASIC)) == Decimal("0.00")
    assert carried_into(session, next_year(OWN)) == Decimal("40000.00")
    assert closing.carried == Decimal("120000.00")
    assert closing.lapsed == Decimal("5000.00") + Decimal("38000.00") + Decimal("40000.00")
    assert closing.closed_by == "liu.yang" and closing.lines_closed == 3

    new = balances(session, next_year(PROJECT))
    assert (new.adjustment, new.encumbrance, new.available) == (Decimal("80000.00"), Decimal("30000.00"),
                                                                Decimal("50000.00"))
    carried = [e for e in session.exec(select(JournalEntry).where(JournalEntry.document_type == "budget-carry-over"))]
    assert {e.effective_on for e in carried if e.amount_fen > 0} == {date(YEAR + 1, 1, 1)}
    # the contract keeps its number and now lives on next year's line; the old line holds nothing
    held = document_holdings(session, "spending-request", "SR-1")
    assert held.key == next_year(PROJECT) and held[Bucket.ENCUMBRANCE] == Decimal("30000.00")
    assert document_holdings(session, "spending-request", "SR-2").total == Decimal("0.00")
    old = line_balances(session, session.exec(select(JournalEntry.line_id).where(
        JournalEntry.document_no == "SR-3")).first(), on=date(YEAR, 12, 31))
    assert old.committed == Decimal("20000.00") and old.available == Decimal("0.00")

    # next year the contract is paid on its new line, cheaper: the difference goes back to that line
    record_actual(session, document_type="spending-request", document_no="SR-1", actor="t", amount="29000.00",
                  on=date(YEAR + 1, 3, 1))
    assert balances(session, next_year(PROJECT)).available == Decimal("51000.00")
    # the compilation can still post next year's original budget on the carried line
    set_budget(session, next_year(PROJECT), "200000.00", document_no="BUDGET-2026", actor="t")
    assert balances(session, next_year(PROJECT)).authorised == Decimal("280000.00")

    # the frozen year refuses new charges and adjustments
    with pytest.raises(BudgetLineClosed):
        pre_encumber(session, BASIC, "1.00", document_type="spending-request", document_no="SR-9", actor="t",
                     on=date(YEAR, 12, 30))
    with pytest.raises(BudgetLineClosed):
        adjust(session, BASIC, "100.00", document_no="ADJ-9", actor="t", reason="late", effective_on=date(YEAR, 12, 1))
    audit = session.exec(select(AuditEntry).where(AuditEntry.action == "budget.year_closed")).all()
    assert [a.subject_id for a in audit] == [str(YEAR)]


def test_closing_twice_changes_nothing(session: Session) -> None:
    hospital(session)
    first = close_year(session, YEAR, actor="liu.yang", today=AFTER)
    session.commit()
    entries = len(session.exec(select(JournalEntry)).all())
    again = close_year(session, YEAR, actor="someone.else", today=AFTER)
    session.commit()
    assert again.closed_by == "liu.yang" and again.carried == first.carried
    assert len(session.exec(select(JournalEntry)).all()) == entries
    assert len(session.exec(select(BudgetYearClosing)).all()) == 1


def test_a_holding_no_rule_places_refuses_the_whole_close(session: Session) -> None:
    hospital(session)
    session.commit()
    rules = parse_carry_over_rules(
        "effective_from,what,document_type,funding_source,scope,rule\n"
        "2020-01-01,encumbrance,spending-request,*,*,carry\n"
        "2020-01-01,pre_encumbrance,*,*,*,lapse\n"
        "2020-01-01,balance,,*,*,lapse\n")
    with pytest.raises(ClosingRefused) as refused:
        close_year(session, YEAR, actor="liu.yang", today=AFTER, rules=carry_over_rules_on(date(YEAR, 12, 31), rules))
    session.rollback()
    assert "EQ-1" in str(refused.value) and "2025/0302/31003/own/P-CT" in str(refused.value)
    assert session.get(BudgetYearClosing, YEAR) is None
    assert document_holdings(session, "spending-request", "SR-2")[Bucket.PRE_ENCUMBRANCE] == Decimal("5000.00")


def test_a_year_that_has_not_ended_is_not_closed(session: Session) -> None:
    hospital(session)
    with pytest.raises(ClosingRefused, match="has not ended"):
        close_year(session, YEAR, actor="liu.yang", today=date(YEAR, 12, 31))


def test_a_line_closed_before_year_end_is_still_placed_by_the_rules(session: Session) -> None:
    """A line closed in October (no new charges) still holds a contract, a request and a balance: the close
    carries the contract and the fiscal project's balance to next year's line and lapses the request, as for
    an open line, because moving money off a closed line is allowed; the closed line takes no new money."""
    on = date(YEAR, 6, 1)
    early = BudgetLineKey(YEAR, "0303", "30218", "fiscal", "P-OLD")
    basic = BudgetLineKey(YEAR, "0303", "30201", "fiscal")
    create_line(session, early, actor="t", budget="60000.00")
    create_line(session, basic, actor="t", budget="9000.00")
    pre_encumber(session, early, "25000.00", document_type="spending-request", document_no="SR-E1", actor="t", on=on)
    encumber(session, document_type="spending-request", document_no="SR-E1", actor="t", contract_no="HT-E1", on=on)
    pre_encumber(session, early, "4000.00", document_type="spending-request", document_no="SR-E2", actor="t", on=on)
    pre_encumber(session, early, "10000.00", document_type="spending-request", document_no="SR-E3", actor="t", on=on)
    record_actual(session, document_type="spending-request", document_no="SR-E3", actor="t", on=on)
    close_line(session, early, actor="t", reason="项目提前结项 project ended in October")
    close_line(session, basic, actor="t", reason="科室合并 merged")
    with pytest.raises(BudgetLineClosed):  # closed means closed to new money
        adjust(session, early, "1.00", document_no="ADJ-E1", actor="t", reason="x", effective_on=date(YEAR, 11, 1))

    closing = close_year(session, YEAR, actor="liu.yang", today=AFTER)
    session.commit()

    # carried: the contract 25,000 and the balance 60,000 − 10,000 paid − 25,000 = 25,000 (the request's 4,000
    # lapses into it); the basic line's 9,000 lapses
    assert carried_into(session, next_year(early)) == Decimal("50000.00")
    assert closing.carried == Decimal("50000.00")
    assert closing.lapsed == Decimal("4000.00") + Decimal("9000.00")
    held = document_holdings(session, "spending-request", "SR-E1")
    assert held.key == next_year(early) and held[Bucket.ENCUMBRANCE] == Decimal("25000.00")
    assert document_holdings(session, "spending-request", "SR-E2").total == Decimal("0.00")
    old = balances(session, early)
    assert (old.committed, old.authorised, old.available) == (Decimal("10000.00"), Decimal("10000.00"),
                                                              Decimal("0.00"))
    assert closing.lines_closed == 2
