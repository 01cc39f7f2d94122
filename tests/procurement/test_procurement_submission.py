"""Submission checks: every problem named by its form field, the process's own rules on top of the
equipment rules, and the values that reach the engine."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest

from smartfin.processes.procurement.proposals import (
    DocumentsInvalid,
    ProposalRefused,
    describe_problems,
    document_variables,
    months_spanned,
    parse_document_lines,
    submission_problems,
    validate_submission,
)

TODAY = date(2026, 5, 1)


def ct(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "proposer": "zhang.wei", "department": "RAD", "deviceName": "128排CT", "equipmentClass": "B",
        "price": "12170000", "roomArea": "50", "roomCostPerM2": "5000", "roomDepreciationYears": 50,
        "monthlyVolume": 2399, "pricePerExam": 800.0, "staffCount": 6, "annualCostPerStaff": "54000",
        "annualMaterials": "1800000", "annualMaintenance": 1600000, "annualUtilities": 2252.88,
        "managementFeeRatePct": "1", "fundingSource": "own", "economicLifeYears": 10, "depreciationYears": 6,
        "chargeCodes": "250403001",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not ...}


def fields(values: dict[str, Any]) -> set[str]:
    return {name for name, _ in submission_problems(values, today=TODAY)}


def test_ct_submission_is_typed_exactly_with_the_budget_line() -> None:
    submission = validate_submission(ct(), today=TODAY)
    assert submission.proposal.annual_utilities == D("2252.88")
    assert submission.proposal.discount_rate_pct == D("8"), "blank discount rate takes the standard"
    assert str(submission.budget_key) == "2026/RAD/31003/own"
    assert submission.values["annualUtilities"] == "2252.88", "floats are kept as the decimal typed"


@pytest.mark.parametrize("change, field, words", [
    ({"monthlyVolume": -5}, "monthlyVolume", "must not be negative"),
    ({"economicLifeYears": 0}, "economicLifeYears", "at least one year"),
    ({"fundingSource": ...}, "fundingSource", "funding source is required"),
    ({"fundingSource": ""}, "fundingSource", "funding source is required"),
    ({"pricePerExam": "50"}, "pricePerExam", "62.53"),
    ({"department": ""}, "department", "is required"),
    ({"proposer": ...}, "proposer", "is required"),
    ({"chargeCodes": ""}, "chargeCodes", "post-purchase review"),
    ({"chargeCodes": "250403001, bad code"}, "chargeCodes", "bad code"),
    ({"department": "A/B"}, "department", "must not contain"),
    ({"fiscalYear": "next"}, "fiscalYear", "is not a year"),
])
def test_bad_input_names_the_field(change: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ProposalRefused) as refused:
        validate_submission(ct(**change), today=TODAY)
    assert field in refused.value.fields
    message = dict(refused.value.problems)[field]
    assert words in message
    assert field in describe_problems(refused.value.problems)


def test_all_problems_arrive_together() -> None:
    assert fields(ct(monthlyVolume=-1, economicLifeYears=0, fundingSource=..., department="")) == {
        "monthlyVolume", "economicLifeYears", "fundingSource", "department"}


def test_small_devices_need_no_charge_codes_and_debt_needs_no_budget_line() -> None:
    assert fields(ct(price="300000", roomArea=..., roomCostPerM2=..., chargeCodes=...)) == set()
    assert fields(ct(fundingSource="debt")) == set(), "debt is blocked by policy, not refused as input"


def test_purchase_documents_are_checked_line_by_line() -> None:
    good = {"purchaseOrder": [{"itemCode": "CT", "quantity": 1, "amount": "10.00"}],
            "goodsReceipt": [{"item_code": "CT", "quantity": 1}],
            "invoice": [{"itemCode": "CT", "quantity": 1, "amount": 10.5}]}
    assert document_variables(good)["invoice"][0]["amount"] == "10.5"
    with pytest.raises(DocumentsInvalid, match="missing documents: invoice"):
        document_variables({k: v for k, v in good.items() if k != "invoice"})
    with pytest.raises(DocumentsInvalid, match="invoice line 1, amount"):
        parse_document_lines("invoice", [{"itemCode": "CT", "quantity": 1, "amount": "-3"}])
    with pytest.raises(DocumentsInvalid, match="purchaseOrder line 2, quantity"):
        parse_document_lines("purchaseOrder", [{"itemCode": "A", "quantity": 1, "amount": "1"},
                                               {"itemCode": "B", "quantity": 0, "amount": "1"}])


def test_review_months_count_the_gaps() -> None:
    assert months_spanned(["2026-01", "2026-03"]) == 3
    assert months_spanned(["2025-11", "2026-02"]) == 4
