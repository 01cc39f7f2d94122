"""The adjustment rules and tiers, and posting all or nothing, on SQLite and PostgreSQL (no engine)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from rules.budget import (
    AdjustmentStandards,
    BudgetRulesError,
    CountBy,
    load_adjustment_standards,
    parse_adjustment_standards,
)
from smartfin.ledger import BudgetLineKey, JournalEntry, balances, close_line, create_line
from smartfin.ledger.closing import close_year
from smartfin.processes.adjustment.adjustments import (
    AdjustmentRefused,
    AdjustmentStatus,
    adjustment_counts,
    adjustment_problems,
    movements_of,
    post_adjustment,
    read_submission,
    record_adjustment,
    revise_adjustment,
    revision_values,
    tier_of,
)

DAY = date(2025, 6, 1)
STANDARDS = AdjustmentStandards(date(2020, 1, 1), Decimal("100000"), 3, CountBy.DECISION)
BY_LINE = AdjustmentStandards(date(2020, 1, 1), Decimal("100000"), 3, CountBy.LINE)
C = BudgetLineKey(2025, "CARD", "30202", "fiscal")
A = BudgetLineKey(2025, "CARD", "30218", "fiscal")
B = BudgetLineKey(2025, "CARD", "30201", "fiscal")
OTHER = BudgetLineKey(2025, "NEUR", "30218", "fiscal")


def draft(*movements: str, department: str = "CARD"):  # type: ignore[no-untyped-def]
    return read_submission({"department": department, "requester": "li.na", "reason": "r",
                            "effectiveOn": DAY.isoformat(), "movements": "\n".join(movements)})


def hospital(session: Session) -> None:
    for key in (A, B, C, OTHER):
        create_line(session, key, actor="t", budget="200000.00")
    session.flush()


def test_the_tier_follows_the_dated_limit_and_the_departments() -> None:
    assert tier_of(draft(f"transfer; {A}; {B}; 99999.99; x"), STANDARDS) == "finance-head"
    assert tier_of(draft(f"transfer; {A}; {B}; 100000.00; x"), STANDARDS) == "president"
    assert tier_of(draft(f"transfer; {A}; {OTHER}; 1.00; x"), STANDARDS) == "president"
    assert tier_of(draft(f"increase; ; {A}; 60000.00; x", f"decrease; {B}; ; 40000.00; y"), STANDARDS) == "president"
    table = parse_adjustment_standards("effective_from,finance_head_limit,yearly_adjustment_limit,count_by\n"
                                       "2020-01-01,100000,10,line\n2026-01-01,50000,8,decision\n")
    assert [(s.finance_head_limit, s.count_by) for s in table] == [(Decimal("100000"), CountBy.LINE),
                                                                   (Decimal("50000"), CountBy.DECISION)]
    with pytest.raises(BudgetRulesError, match="row 2, count_by: must be line or decision, got 'subject'"):
        parse_adjustment_standards("effective_from,finance_head_limit,yearly_adjustment_limit,count_by\n"
                                   "2020-01-01,100000,10,subject\n")
    with pytest.raises(BudgetRulesError, match="missing columns count_by"):
        parse_adjustment_standards("effective_from,finance_head_limit,yearly_adjustment_limit\n2020-01-01,1,1\n")
    # the hospital's standard: ten subject adjustments a year, each changed line counting one
    shipped = load_adjustment_standards()[-1]
    assert (shipped.yearly_adjustment_limit, shipped.count_by) == (10, CountBy.LINE)


def test_bad_submissions_name_the_line_and_field() -> None:
    with pytest.raises(AdjustmentRefused) as refused:
        draft("move; a; b; 1; x", f"transfer; {A}; ; -5; ", f"increase; {A}; {B}; 5; x", "only; three; parts")
    fields = [field for field, _ in refused.value.problems]
    assert fields == ["movements line 1, kind", "movements line 2, to", "movements line 2, amount",
                      "movements line 3, from", "movements line 4"]


def test_the_yearly_count_by_decision_counts_adjustments_not_carry_overs(session: Session) -> None:
    hospital(session)
    for number in range(3):
        row = record_adjustment(session, f"ADJ-2025-{number:06d}", draft(f"transfer; {A}; {B}; 10.00; x"),
                                tier="finance-head")
        row.status = AdjustmentStatus.POSTED if number < 2 else AdjustmentStatus.SUBMITTED
        session.add(row)
    session.flush()
    fourth = draft(f"transfer; {A}; {B}; 10.00; x")
    problems = adjustment_problems(session, fourth, standards=STANDARDS)
    assert [f for f, _ in problems] == ["department"]
    assert "has 3 subject adjustments in 2025, this one adds 1 (counted by decision), the limit is 3" in problems[0][1]
    # at posting only posted ones count (the one in approval is this very adjustment's kind of sibling)
    assert adjustment_problems(session, fourth, standards=STANDARDS, in_flight=False) == []
    # a year-end close of 2024 posts carry-overs into 2025 lines: they are no subject adjustments
    create_line(session, BudgetLineKey(2024, "CARD", "30218", "fiscal", "P1"), actor="t", budget="100.00")
    close_year(session, 2024, actor="t", today=date(2025, 1, 2))
    assert adjustment_problems(session, fourth, standards=STANDARDS, in_flight=False) == []


def test_counted_by_line_one_decision_moving_three_lines_counts_three(session: Session) -> None:
    hospital(session)
    three = draft(f"transfer; {A}; {B}; 10.00; x", f"increase; ; {C}; 5.00; y")  # three lines of CARD
    assert adjustment_problems(session, three, standards=BY_LINE) == []  # 0 + 3 ≤ 3
    assert adjustment_problems(session, three, standards=STANDARDS) == []  # 0 + 1 ≤ 3
    row = record_adjustment(session, "ADJ-2025-000001", three, tier="finance-head")
    row.status = AdjustmentStatus.POSTED
    session.add(row)
    session.flush()
    one_more = draft(f"increase; ; {A}; 1.00; z")
    problems = adjustment_problems(session, one_more, standards=BY_LINE)
    assert [f for f, _ in problems] == ["department"]
    assert "has 3 subject adjustments in 2025, this one adds 1 (counted by line), the limit is 3" in problems[0][1]
    # by decision the same year has used one of three
    assert adjustment_problems(session, one_more, standards=STANDARDS) == []
    # a line moved there and back in one decision is not changed; a line of another department counts for it
    assert adjustment_problems(session, draft(f"transfer; {A}; {B}; 1.00; x", f"transfer; {B}; {A}; 1.00; x"),
                               standards=BY_LINE) == []
    across = draft(f"transfer; {OTHER}; {A}; 1.00; x", department="NEUR")
    problems = adjustment_problems(session, across, standards=BY_LINE)
    assert [f for f, _ in problems] == ["department CARD"] and "NEUR" not in problems[0][1]


def test_lines_must_be_open_and_in_force(session: Session) -> None:
    hospital(session)
    close_line(session, B, actor="t", reason="merged")
    late = read_submission({"department": "CARD", "requester": "li.na", "reason": "r", "effectiveOn": "2026-01-10",
                            "movements": f"increase; ; {A}; 5.00; x"})
    problems = adjustment_problems(session, draft(f"transfer; {A}; {B}; 5.00; x"), standards=STANDARDS)
    assert problems[0][0] == "movements line 1, to" and "is closed" in problems[0][1]
    problems = adjustment_problems(session, late, standards=STANDARDS)
    assert any("not in force on 2026-01-10" in why for _, why in problems)


def test_posting_checks_again_and_is_all_or_nothing_and_idempotent(session: Session) -> None:
    hospital(session)
    row = record_adjustment(session, "ADJ-2025-000001", draft(f"transfer; {A}; {B}; 500.00; x",
                                                              f"transfer; {A}; {OTHER}; 700.00; y"),
                            tier="president")
    close_line(session, OTHER, actor="t", reason="closed meanwhile")
    with pytest.raises(AdjustmentRefused):
        post_adjustment(session, row, actor="zhao.lei")
    assert session.exec(select(JournalEntry).where(JournalEntry.document_no == row.adjustment_no)).all() == []
    row = record_adjustment(session, "ADJ-2025-000002", draft(f"transfer; {A}; {B}; 500.00; x",
                                                              f"transfer; {A}; {B}; 700.00; y"), tier="finance-head")
    first = post_adjustment(session, row, actor="guo.hua")
    assert post_adjustment(session, row, actor="guo.hua") == first and len(first) == 2
    assert balances(session, A).adjustment == Decimal("-1200.00")
    assert balances(session, B).adjustment == Decimal("1200.00")


def test_a_revision_replaces_the_movements_keeps_the_requester_and_says_what_changed(session: Session) -> None:
    hospital(session)
    first = draft(f"transfer; {A}; {B}; 500.00; x", f"increase; ; {C}; 100.00; y")
    row = record_adjustment(session, "ADJ-2025-000003", first, tier=tier_of(first, STANDARDS))
    values = revision_values(row, movements_of(session, row.adjustment_no),
                             {"movements": f"transfer; {A}; {OTHER}; 150000.00; 跨科室", "requester": "mallory",
                              "reason": None})
    assert values["requester"] == "li.na" and values["reason"] == "r" and values["department"] == "CARD"
    revised = read_submission(values)
    changes = revise_adjustment(session, row, revised, tier=tier_of(revised, STANDARDS))
    assert (row.requester, row.total, row.tier, row.cross_department) == (
        "li.na", Decimal("150000.00"), "president", True)
    assert changes["tier"] == ["finance-head", "president"] and changes["total_fen"] == ["60000", "15000000"]
    assert changes["movements"][0].count("\n") == 1 and "150000.00; 跨科室" in changes["movements"][1]
    assert [(m.position, m.to_line) for m in movements_of(session, row.adjustment_no)] == [(1, str(OTHER))]
    assert revise_adjustment(session, row, revised, tier="president") == {}
    assert adjustment_counts(session, 2025, CountBy.LINE, in_flight=True)["CARD"] == 1
    row.status = AdjustmentStatus.WITHDRAWN  # a withdrawn adjustment no longer counts against the yearly limit
    assert adjustment_counts(session, 2025, CountBy.LINE, in_flight=True)["CARD"] == 0
    row.status = AdjustmentStatus.POSTED
    with pytest.raises(ValueError, match="only a submitted one may be revised"):
        revise_adjustment(session, row, first, tier="finance-head")
