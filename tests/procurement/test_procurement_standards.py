"""The dated standards table: the shipped row, choosing by date, and refusals that name row and column."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from rules.procurement import StandardsError, load_standards, standards_on
from rules.procurement.standards import COLUMNS, parse_standards

HEADER = ",".join(COLUMNS)
ROW_2020 = "2020-01-01,5000000,500000,1000000,0.01,8,67,50,P1Y,0,0.5,100"
ROW_2027 = "2027-01-01,5000000,800000,1000000,100,6,50,50,P6M,0,,200"


def test_shipped_standards_follow_the_domain_rules() -> None:
    standards = standards_on(date(2026, 6, 1))
    assert standards.policy.collective_decision_threshold == D("500000")
    assert standards.policy.post_purchase_review_threshold == D("1000000")
    assert standards.default_discount_rate_pct == D("8")
    assert standards.review_interval == "P1Y"
    assert standards.match_tolerance.amount.allows(D("100"), D("12000000"))
    assert not standards.match_tolerance.amount.allows(D("100.01"), D("12000000"))
    assert load_standards()[0].effective_from == date(2020, 1, 1)


def test_the_row_in_force_on_the_day_is_used() -> None:
    table = parse_standards(f"{HEADER}\n{ROW_2027}\n{ROW_2020}\n")
    assert standards_on(date(2026, 12, 31), table).policy.collective_decision_threshold == D("500000")
    later = standards_on(date(2027, 1, 1), table)
    assert later.policy.collective_decision_threshold == D("800000")
    assert later.evaluation.depreciation_rounding_unit == D("100")
    assert later.match_tolerance.amount.pct is None and later.match_tolerance.amount.absolute == D("200")
    with pytest.raises(StandardsError, match="2019-12-31"):
        standards_on(date(2019, 12, 31), table)


@pytest.mark.parametrize("row, problem", [
    (ROW_2020.replace("P1Y", "yearly"), "review_interval"),
    (ROW_2020.replace(",67,", ",0,"), "committee_quorum_pct"),
    (ROW_2020.replace(",50,P1Y", ",100,P1Y"), "committee_majority_pct"),
    (ROW_2020.replace("500000,", "abc,", 1), "collective_decision_threshold"),
    (ROW_2020.replace("2020-01-01", "01/01/2020"), "effective_from"),
    (ROW_2020.replace("0.01,", "0,", 1), "depreciation_rounding_unit"),
])
def test_bad_rows_name_row_and_column(row: str, problem: str) -> None:
    with pytest.raises(StandardsError, match=f"row 2, {problem}"):
        parse_standards(f"{HEADER}\n{row}\n")


def test_missing_columns_and_duplicate_dates_are_refused() -> None:
    with pytest.raises(StandardsError, match="review_interval"):
        parse_standards(HEADER.replace(",review_interval", "") + "\n")
    with pytest.raises(StandardsError, match="same day"):
        parse_standards(f"{HEADER}\n{ROW_2020}\n{ROW_2020}\n")
