"""Policy findings on equipment proposals: codes, severities, thresholds, evidence."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from rules.equipment import (
    EquipmentClass,
    EquipmentProposal,
    FundingSource,
    PolicySettings,
    check_policies,
    evaluate,
)
from smartfin.kernel.findings import Severity


def proposal(**changes: object) -> EquipmentProposal:
    """An ordinary, comfortably profitable device below every threshold."""
    base = EquipmentProposal(
        device_name="监护仪", model="M8", equipment_class=EquipmentClass.ORDINARY, price=D("200000"),
        monthly_volume=500, price_per_exam=D("20"), staff_count=0, annual_cost_per_staff=D("0"),
        annual_materials=D("12000"), annual_maintenance=D("5000"), annual_utilities=D("1000"),
        management_fee_rate_pct=D("1"), funding_source=FundingSource.OWN, economic_life_years=8,
        depreciation_years=5,
    )
    return replace(base, **changes) if changes else base


def codes(p: EquipmentProposal, settings: PolicySettings | None = None) -> dict[str, Severity]:
    return {f.code: f.severity for f in evaluate(p, policy=settings).findings}


def test_ordinary_small_device_has_no_findings() -> None:
    assert codes(proposal()) == {}


def test_debt_financed_class_b_is_blocked() -> None:
    report = evaluate(proposal(equipment_class=EquipmentClass.B, funding_source=FundingSource.DEBT))
    assert report.findings[0].code == "DEBT_FINANCED_LARGE_EQUIPMENT"
    assert report.findings[0].severity is Severity.BLOCK
    assert report.findings[0].evidence["funding_source"] == "debt"
    assert "禁止举债" in report.findings[0].message
    assert report.blocked
    assert "不得购置" in report.summary_zh
    assert "cannot be purchased" in report.summary_en


def test_debt_for_an_ordinary_device_depends_on_the_threshold() -> None:
    debt = proposal(funding_source=FundingSource.DEBT)
    assert "DEBT_FINANCED_LARGE_EQUIPMENT" not in codes(debt)
    low_line = PolicySettings(large_equipment_threshold=D("200000"))
    assert codes(debt, low_line)["DEBT_FINANCED_LARGE_EQUIPMENT"] is Severity.BLOCK
    assert "DEBT_FINANCED_LARGE_EQUIPMENT" not in codes(proposal(), low_line)


def test_permit_level_by_class() -> None:
    class_a = evaluate(proposal(equipment_class=EquipmentClass.A)).findings
    [permit_a] = [f for f in class_a if f.code == "PERMIT_REQUIRED"]
    assert permit_a.severity is Severity.WARN
    assert permit_a.evidence["permit_level"] == "national"
    assert "国家级" in permit_a.message_zh
    class_b = evaluate(proposal(equipment_class=EquipmentClass.B)).findings
    [permit_b] = [f for f in class_b if f.code == "PERMIT_REQUIRED"]
    assert permit_b.evidence["permit_level"] == "provincial"
    granted = evaluate(proposal(equipment_class=EquipmentClass.B, permit_number="乙2024-017")).findings
    [permit] = [f for f in granted if f.code == "PERMIT_REQUIRED"]
    assert permit.severity is Severity.INFO


def test_collective_decision_at_half_a_million_including_installation() -> None:
    assert "COLLECTIVE_DECISION_REQUIRED" not in codes(proposal(price=D("499999.99")))
    at_line = proposal(price=D("450000"), installation_cost=D("50000"))
    assert codes(at_line)["COLLECTIVE_DECISION_REQUIRED"] is Severity.INFO


def test_post_purchase_review_at_one_million() -> None:
    busy = dict(monthly_volume=5000)
    assert "POST_PURCHASE_REVIEW" not in codes(proposal(price=D("999999.99"), **busy))
    assert codes(proposal(price=D("1000000"), **busy))["POST_PURCHASE_REVIEW"] is Severity.INFO


def test_payback_longer_than_life_warns() -> None:
    # 6,000 exams × 20 = 120,000 revenue − (18,000 + 1 % of 2,000,000) = 82,000 a year: 24.39 years
    slow = proposal(price=D("2000000"), monthly_volume=500)
    found = evaluate(slow).findings
    [late] = [f for f in found if f.code == "PAYBACK_EXCEEDS_ECONOMIC_LIFE"]
    assert late.severity is Severity.WARN
    assert late.evidence["economic_life_years"] == "8"


def test_volume_beyond_capacity_warns() -> None:
    assert codes(proposal(designed_annual_capacity=5000))["VOLUME_EXCEEDS_CAPACITY"] is Severity.WARN
    assert "VOLUME_EXCEEDS_CAPACITY" not in codes(proposal(designed_annual_capacity=6000))


def test_blocking_findings_come_first() -> None:
    report = evaluate(proposal(equipment_class=EquipmentClass.A, funding_source=FundingSource.DEBT,
                               price=D("30000000"), monthly_volume=500))
    severities = [f.severity for f in check_policies(report)]
    assert severities[0] is Severity.BLOCK
    assert severities == sorted(severities, key=[Severity.BLOCK, Severity.WARN, Severity.INFO].index)
