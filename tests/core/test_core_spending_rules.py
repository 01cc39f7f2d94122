"""Spending-request validation, tiers read from the routing table, and split detection (no engine)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from rules.spending.categories import UnknownCategory, category_for
from rules.spending.routing import tier_thresholds
from rules.spending.split import RequestSummary, detect_splits
from smartfin.processes.spending.requests import InvalidRequest, validate_request

GOOD = {"requester": "zhang.wei", "department": "CARD", "category": "materials", "fundingSource": "fiscal",
        "amount": "120.00", "payee": "国药控股", "purpose": "耗材"}


def test_a_valid_request_gets_its_economic_code_from_the_category_table():
    draft = validate_request(GOOD)
    assert draft.economic_code == "30218" and draft.amount == Decimal("120.00")
    assert draft.process_variables("REQ-1")["amount"] == "120.00"


def test_every_problem_of_a_request_is_named_at_once():
    with pytest.raises(InvalidRequest) as error:
        validate_request({**GOOD, "department": "", "category": "", "amount": "-1", "payee": ""})
    fields = [name for name, _ in error.value.problems]
    assert fields == ["department", "category", "payee", "amount"]
    assert "must not be negative" in str(error.value)


def test_unknown_funding_source_is_named():
    with pytest.raises(InvalidRequest, match="funding_source"):
        validate_request({**GOOD, "fundingSource": "lottery"})


def test_categories_have_effective_dates():
    assert category_for("meeting", datetime(2026, 5, 1).date()).economic_code == "30215"
    with pytest.raises(UnknownCategory, match="snacks"):
        category_for("snacks", datetime(2026, 5, 1).date())
    with pytest.raises(UnknownCategory):
        category_for("meeting", datetime(2019, 5, 1).date())


def test_tiers_come_from_the_routing_table():
    assert tier_thresholds() == (Decimal("100"), Decimal("1000"), Decimal("5000"), Decimal("500000"))


def _request(no: str, amount: str, *, requester: str = "zhang.wei", payee: str = "迈瑞医疗",
             days_ago: int = 0, category: str = "materials") -> RequestSummary:
    return RequestSummary(no, requester, payee, Decimal(amount), datetime(2026, 11, 20, tzinfo=UTC)
                          - timedelta(days=days_ago), category)


def test_requests_just_under_a_tier_that_reach_it_together_are_flagged():
    current = _request("R3", "4800.00", payee="other")  # same requester, same category
    history = [_request("R1", "4750.00", days_ago=3), _request("R2", "120.00", days_ago=1)]
    found = detect_splits(current, history, tier_thresholds())
    assert [(s.threshold, s.related, s.shared) for s in found] == [(Decimal("5000"), ("R1",), "requester")]
    assert "疑似拆分" in found[0].message()


@pytest.mark.parametrize("history", [
    [_request("R1", "4750.00", days_ago=45)],               # outside the window
    [_request("R1", "2000.00", days_ago=2)],                # not just under the tier
    [_request("R1", "4750.00", requester="li.na", payee="x")],  # someone else, another payee
    [_request("R1", "4750.00", payee="x", category="travel")],  # same requester, another matter
])
def test_unrelated_or_distant_requests_are_not_flagged(history):
    assert detect_splits(_request("R3", "4800.00"), history, tier_thresholds()) == []
