"""Effective dates, on SQLite and PostgreSQL: every journal entry takes effect on a hospital date of its own,
"as of" reports read the journal by it, and budget control leaves out adjustments not yet in force.

Budgets of fiscal 2026 are posted "today" (the day the test runs, late 2026 or later), so a report as of an
earlier month of 2026 only shows them because they take effect on the line's first day.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from smartfin.kernel.clock import hospital_date, hospital_today
from smartfin.ledger import (
    Bucket,
    BudgetExceeded,
    BudgetLineKey,
    BudgetLineNotEffective,
    CheckOutcome,
    DocumentConflict,
    JournalEntry,
    adjust,
    balances,
    check_budget,
    create_line,
    encumber,
    import_budget,
    line_journal,
    pre_encumber,
    release,
    reverse_entry,
)
from smartfin.ledger.control import line_balances
from smartfin.ledger.monitor import NO_BUDGET, YEAR_NOT_STARTED, execution_report, rate_or_reason
from smartfin.ledger.report import budget_rows
from smartfin.store.audit import AuditEntry
from tests.ledger.conftest import KEY

D = Decimal
YEAR = KEY.fiscal_year  # 2026
REQ = "spending-request"


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def line_row(report, key: BudgetLineKey) -> dict:  # type: ignore[no-untyped-def]
    [row] = report.lines[report.lines["line"] == str(key)].to_dict("records")
    return row  # type: ignore[no-any-return]


def test_a_budget_imported_today_is_in_the_report_of_every_earlier_month(session: Session) -> None:
    other = BudgetLineKey(YEAR, "0302", "30215", "own")
    csv = ("fiscal_year,department,economic_code,funding_source,name,budget,effective_from\n"
           f"{YEAR},0301,30218,fiscal,专用材料费,120000.00,{YEAR}-01-01\n"
           f"{YEAR},0302,30215,own,会议费,60000.00,\n")
    report = import_budget(session, csv.encode(), actor="finance", filename="budget.csv")
    assert report.ok, report.errors
    session.flush()
    entries = session.exec(select(JournalEntry).order_by(JournalEntry.id)).all()  # type: ignore[arg-type]
    assert [(e.bucket, e.effective_on) for e in entries] == [("budget", date(YEAR, 1, 1))] * 2
    assert {hospital_date(e.created_at) for e in entries} == {hospital_today()}  # keyed in today

    for as_of in (date(YEAR, 1, 31), date(YEAR, 6, 30), date(YEAR, 10, 31)):
        result = execution_report(session, YEAR, as_of)
        assert result.total["authorised"] == D("180000.00"), as_of
        assert line_row(result, KEY)["authorised"] == D("120000.00")
        assert line_row(result, other)["authorised"] == D("60000.00")
        assert rate_or_reason(result.total, "execution_rate") == D("0.00")
        assert rate_or_reason(line_row(result, other), "execution_rate") == D("0.00")
    assert execution_report(session, YEAR, date(YEAR - 1, 12, 31)).total["authorised"] == 0


def test_a_line_in_force_only_after_the_date_is_not_in_its_report(session: Session) -> None:
    later = BudgetLineKey(YEAR, "0303", "30213", "fiscal")
    create_line(session, KEY, actor="finance", budget="1000.00")
    create_line(session, later, actor="finance", budget="50000.00", effective_from=date(YEAR, 7, 1))
    [entry] = line_journal(session, later)
    assert entry.effective_on == date(YEAR, 7, 1)

    june = execution_report(session, YEAR, date(YEAR, 6, 30))
    assert line_row(june, later)["authorised"] == 0 and june.total["authorised"] == D("1000.00")
    assert [rate_or_reason(line_row(june, later), rate) for rate in
            ("execution_rate", "gap", "balance_rate", "projected_balance_rate")] == [NO_BUDGET] * 4
    july = execution_report(session, YEAR, date(YEAR, 7, 31))
    assert line_row(july, later)["authorised"] == D("50000.00")
    assert rate_or_reason(line_row(july, later), "execution_rate") == D("0.00")


def test_an_adjustment_effective_next_month_waits_for_its_day(session: Session) -> None:
    today = hospital_today()
    next_month = month_end(today) + timedelta(days=1)
    # a line of this year in force until next month's end (which, in December, is in the next year)
    key = BudgetLineKey(today.year, "0304", "30218", "fiscal")
    create_line(session, key, actor="finance", budget="1000.00", effective_to=month_end(next_month))
    entry = adjust(session, key, "500.00", document_no="ADJ-NEXT", actor="planner", reason="院长办公会",
                   effective_on=next_month)
    assert entry.effective_on == next_month

    now = balances(session, key)
    assert (now.adjustment, now.authorised, now.available) == (D("0.00"), D("1000.00"), D("1000.00"))
    assert check_budget(session, key, "1200.00").outcome == CheckOutcome.OVER_BUDGET
    with pytest.raises(BudgetExceeded):
        pre_encumber(session, key, "1200.00", document_type=REQ, document_no="REQ-EARLY", actor="worker")
    assert line_balances(session, entry.line_id, on=next_month).available == D("1500.00")
    [row] = budget_rows(session, year=today.year, department="0304")
    assert (row.balances.adjustment, row.balances.available, row.scheduled) == (D("0.00"), D("1000.00"),
                                                                                 D("500.00"))
    assert row.as_json()["adjustment_scheduled"] == "500.00"

    assert execution_report(session, today.year, month_end(today)).total["authorised"] == D("1000.00")
    assert execution_report(session, today.year, month_end(next_month)).total["authorised"] == D("1500.00")


def test_an_adjustment_already_in_force_counts_today(session: Session) -> None:
    create_line(session, KEY, actor="finance", budget="1000.00")
    adjust(session, KEY, "500.00", document_no="ADJ-MAY", actor="planner", reason="院长办公会",
           effective_on=date(YEAR, 5, 1))
    assert balances(session, KEY).available == D("1500.00")
    assert execution_report(session, YEAR, date(YEAR, 4, 30)).total["authorised"] == D("1000.00")
    assert execution_report(session, YEAR, date(YEAR, 5, 31)).total["authorised"] == D("1500.00")


def test_commitments_and_reversals_take_effect_on_the_day_they_are_posted(session: Session) -> None:
    create_line(session, KEY, actor="finance", budget="1000.00", document_no="B-1")
    reserved = pre_encumber(session, KEY, "100.00", document_type=REQ, document_no="REQ-1", actor="worker")
    contracted = encumber(session, document_type=REQ, document_no="REQ-1", actor="worker")
    released = release(session, document_type=REQ, document_no="REQ-1", bucket=Bucket.ENCUMBRANCE,
                       actor="worker", reason="cancelled")
    assert released is not None
    [budget] = [e for e in line_journal(session, KEY) if e.bucket == Bucket.BUDGET]
    cancelled = reverse_entry(session, budget.id or 0, actor="chief", reason="wrong line")
    for entry in (reserved, contracted, released, cancelled):
        assert entry.effective_on == hospital_date(entry.created_at) == hospital_today(), entry
    assert budget.effective_on == date(YEAR, 1, 1)
    # the budget was in force in October: a reversal posted later does not rewrite that month
    assert execution_report(session, YEAR, date(YEAR, 10, 31)).total["authorised"] == D("1000.00")
    assert execution_report(session, YEAR, hospital_today()).total["authorised"] == 0

    # an adjustment not yet in force is cancelled on its own day, never before it
    ahead = BudgetLineKey(hospital_today().year + 1, "0305", "30218", "fiscal")
    create_line(session, ahead, actor="finance", budget="100.00")
    future = adjust(session, ahead, "40.00", document_no="ADJ-AHEAD", actor="planner", reason="预算调整",
                    effective_on=date(ahead.fiscal_year, 3, 1))
    undone = reverse_entry(session, future.id or 0, actor="chief", reason="decision withdrawn")
    assert undone.effective_on == date(ahead.fiscal_year, 3, 1)
    assert balances(session, ahead).available == D("100.00")


def test_an_adjustment_outside_the_lines_period_is_refused_and_changes_nothing(session: Session) -> None:
    create_line(session, KEY, actor="finance", budget="1000.00", effective_from=date(YEAR, 3, 1),
                effective_to=date(YEAR, 10, 31))
    for day in (date(YEAR, 2, 28), date(YEAR, 11, 1), None):  # None: today, after the line's period
        with pytest.raises(BudgetLineNotEffective, match=r"2026-03-01.*2026-10-31") as refused:
            adjust(session, KEY, "10.00", document_no="ADJ-OUT", actor="planner", reason="x", effective_on=day)
        assert refused.value.code == "BUDGET_LINE_NOT_EFFECTIVE"
    assert [e.bucket for e in line_journal(session, KEY)] == ["budget"]
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "budget.adjusted")).all() == []

    posted = adjust(session, KEY, "10.00", document_no="ADJ-IN", actor="planner", reason="院长办公会",
                    effective_on=date(YEAR, 10, 31))
    assert adjust(session, KEY, "10.00", document_no="ADJ-IN", actor="planner", reason="again").id == posted.id
    with pytest.raises(DocumentConflict, match="2026-10-31"):
        adjust(session, KEY, "10.00", document_no="ADJ-IN", actor="planner", reason="again",
               effective_on=date(YEAR, 9, 30))
    with pytest.raises(ValueError, match="must be a date"):
        adjust(session, KEY, "10.00", document_no="ADJ-T", actor="planner", reason="x",
               effective_on="2026-09-30")  # type: ignore[arg-type]


def test_a_cut_effective_later_is_checked_against_the_budget_of_its_day(session: Session) -> None:
    today = hospital_today()
    key = BudgetLineKey(today.year + 1, "0306", "30218", "fiscal")
    create_line(session, key, actor="finance", budget="1000.00")
    adjust(session, key, "300.00", document_no="ADJ-UP", actor="planner", reason="增",
           effective_on=date(key.fiscal_year, 3, 1))
    pre_encumber(session, key, "1000.00", document_type=REQ, document_no="REQ-ALL", actor="worker")
    with pytest.raises(BudgetExceeded):  # on 1 February only the budget is in force, and all of it is taken
        adjust(session, key, "-100.00", document_no="ADJ-FEB", actor="planner", reason="减",
               effective_on=date(key.fiscal_year, 2, 1))
    cut = adjust(session, key, "-100.00", document_no="ADJ-APR", actor="planner", reason="减",
                 effective_on=date(key.fiscal_year, 4, 1))
    assert cut.effective_on == date(key.fiscal_year, 4, 1)


def test_rates_of_a_report_row_read_as_numbers_or_words(session: Session) -> None:
    unbudgeted = BudgetLineKey(YEAR, "0307", "30218", "fiscal")
    create_line(session, KEY, actor="finance", budget="1000.00")
    create_line(session, unbudgeted, actor="finance", budget="0.00")
    result = execution_report(session, YEAR, date(YEAR, 3, 31))
    assert rate_or_reason(line_row(result, KEY), "execution_rate") == D("0.00")
    assert rate_or_reason(line_row(result, KEY), "projected_balance_rate") == D("100.00")
    assert rate_or_reason(line_row(result, unbudgeted), "execution_rate") == NO_BUDGET
    before = execution_report(session, YEAR, date(YEAR - 1, 12, 31))  # the budget not yet in force
    assert rate_or_reason(before.total, "execution_rate") == NO_BUDGET
    assert execution_report(session, YEAR + 1, date(YEAR, 12, 31)).lines.empty

    # next year's line in force from 1 December: budgeted, but its year has not begun
    early_key = BudgetLineKey(YEAR + 1, "0308", "30218", "fiscal")
    create_line(session, early_key, actor="finance", budget="10.00", effective_from=date(YEAR, 12, 1))
    early = line_row(execution_report(session, YEAR + 1, date(YEAR, 12, 31)), early_key)
    assert early["authorised"] == D("10.00") and rate_or_reason(early, "execution_rate") == D("0.00")
    assert rate_or_reason(early, "projected_balance_rate") == YEAR_NOT_STARTED
