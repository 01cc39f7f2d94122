"""Audit rules and standards tables: plain functions, no database, no engine."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from rules.reimbursement import (
    ClaimFacts,
    InvoiceFacts,
    TravelFacts,
    audit_claim,
    audit_sampled,
    invoice_key,
    near_matches,
    needs_review,
    sighting,
    standards_on,
    travel_allowances,
)
from rules.reimbursement.audit import working_days_after

ON = date(2026, 8, 10)


def invoice(position: int = 0, total: str = "100.00", names: tuple[str, ...] = ("*日用杂品*办公用品",),
            issued: date = date(2026, 8, 1), currency: str = "CNY") -> InvoiceFacts:
    return InvoiceFacts(position, "digital", None, f"2644200000000000{position:04d}", issued, "某公司",
                        "91330106MA2AXXXX0A", Decimal(total), currency, names)


def claim(**options) -> ClaimFacts:  # type: ignore[no-untyped-def]
    values = {"claim_no": "BX-2026-000001", "claimant": "zhang.wei", "category": "office", "submitted_on": ON}
    values.update(options)
    return ClaimFacts(**values)


def codes(findings) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.code for f in findings]


def test_standards_follow_effective_dates_and_peak_seasons() -> None:
    standards = standards_on(ON)
    assert standards.limit("cash_limit") == Decimal("1000.00")
    assert standards.lodging_cap("大连", "general", 8) == Decimal("590.00")  # peak Jul–Sep
    assert standards.lodging_cap("大连", "general", 3) == Decimal("490.00")
    assert standards.lodging_cap("海口", "senior", 1) == Decimal("700.00")  # peak Nov–Feb
    assert standards.lodging_cap("绍兴", "general", 8) == Decimal("380.00")  # any other city
    assert standards_on(date(2013, 1, 1)).allowances == ()  # nothing in force before 2014


def test_travel_allowances_by_region_meals_provided_and_self_driving() -> None:
    trip = TravelFacts("拉萨", "西藏", date(2026, 7, 1), date(2026, 7, 4), meals_provided_days=1)
    allowances = travel_allowances(claim(travel=trip), standards_on(ON))
    assert (allowances.meals, allowances.transport) == (Decimal("360.00"), Decimal("320.00"))  # 3×120, 4×80
    driving = TravelFacts("杭州", "浙江", date(2026, 7, 1), date(2026, 7, 2), self_driving=True)
    assert travel_allowances(claim(travel=driving), standards_on(ON)).total == Decimal("200.00")


def test_claim_total_must_equal_invoices_plus_allowances() -> None:
    standards = standards_on(ON)
    assert audit_claim(claim(claimed_total=Decimal("300.00")), [invoice(0), invoice(1, "200.00")], standards) == []
    found = audit_claim(claim(claimed_total=Decimal("310.00")), [invoice(0), invoice(1, "200.00")], standards)
    assert codes(found) == ["CLAIM_TOTAL_MISMATCH"] and needs_review(found)


def test_cash_above_the_limit_blocks_transfer_does_not() -> None:
    standards = standards_on(ON)
    assert codes(audit_claim(claim(payment_method="cash"), [invoice(total="1000.01")], standards)) == [
        "CASH_LIMIT_EXCEEDED"]
    assert audit_claim(claim(payment_method="cash"), [invoice(total="1000.00")], standards) == []
    assert audit_claim(claim(), [invoice(total="9000.00")], standards) == []


def test_attachments_by_amount() -> None:
    standards = standards_on(ON)
    found = audit_claim(claim(category="equipment"), [invoice(total="60000.00")], standards)
    assert sorted(f.field for f in found) == ["asset_receipt_no", "contract_no", "procurement_record"]
    complete = claim(category="equipment", references={"contract_no": "HT-1", "procurement_record": "CG-9",
                                                       "asset_receipt_no": "RK-7"})
    assert audit_claim(complete, [invoice(total="60000.00")], standards) == []


def test_deadlines_warn_but_do_not_block() -> None:
    standards = standards_on(ON)
    late = audit_claim(claim(), [invoice(issued=date(2026, 6, 1))], standards)
    assert codes(late) == ["CLAIM_LATE"] and not needs_review(late)
    trip = TravelFacts("北京", "北京", date(2026, 7, 27), date(2026, 7, 30))
    assert working_days_after(date(2026, 7, 30), 5) == date(2026, 8, 6)
    assert "TRAVEL_CLAIM_LATE" in codes(audit_claim(claim(travel=trip), [], standards))


def test_lodging_over_the_cap_blocks_without_explanation_and_warns_with_one() -> None:
    standards = standards_on(ON)
    trip = TravelFacts("大连", "辽宁", date(2026, 8, 3), date(2026, 8, 5))  # 2 nights, peak cap 590
    hotel = invoice(names=("*住宿服务*住宿费",), total="1300.00")
    blocked = audit_claim(claim(travel=trip, submitted_on=date(2026, 8, 6)), [hotel], standards)
    assert [(f.code, f.severity.value) for f in blocked] == [("LODGING_OVER_STANDARD", "block")]
    assert blocked[0].evidence["per_night"] == Decimal("650.00")
    explained = audit_claim(claim(travel=trip, submitted_on=date(2026, 8, 6), explanation="会议指定酒店"), [hotel],
                            standards)
    assert [(f.code, f.severity.value) for f in explained] == [("LODGING_OVER_STANDARD", "warn")]


def test_an_empty_claim_and_foreign_currency() -> None:
    standards = standards_on(ON)
    assert codes(audit_claim(claim(), [], standards)) == ["NO_INVOICES"]
    assert codes(audit_claim(claim(), [invoice(currency="EUR")], standards)) == ["FOREIGN_CURRENCY"]


def test_audit_sampling_is_reproducible_and_near_the_share() -> None:
    drawn = [audit_sampled(f"BX-2026-{n:06d}", Decimal(5)) for n in range(4000)]
    assert drawn == [audit_sampled(f"BX-2026-{n:06d}", Decimal(5)) for n in range(4000)]
    assert 150 <= sum(drawn) <= 250
    assert not any(audit_sampled(f"BX-{n}", Decimal(0)) for n in range(100))


def test_invoice_keys_keep_leading_zeros_and_know_digitalised_numbers() -> None:
    assert invoice_key("electronic-ordinary", "033002200111", "00123456") == "vat:033002200111:00123456"
    assert invoice_key("electronic-ordinary", None, "26442000000123456789") == "digital:26442000000123456789"
    assert invoice_key("electronic-ordinary", None, "00123456") is None
    assert invoice_key("digital", None, None) is None


def test_near_matches_same_seller_amount_within_one_percent_dates_within_days() -> None:
    mine = sighting("BX-2", 0, "digital:1", "A公司", "91330106MA2AXXXX0A", Decimal("1000.00"), date(2026, 8, 5))
    assert mine is not None
    others = [
        sighting("BX-1", 0, "digital:2", "A公司", "91330106MA2AXXXX0A", Decimal("1009.00"), date(2026, 8, 3)),
        sighting("BX-1", 1, "digital:3", "A公司", "91330106MA2AXXXX0A", Decimal("1011.00"), date(2026, 8, 5)),
        sighting("BX-1", 2, "digital:4", "A公司", "91330106MA2AXXXX0A", Decimal("1000.00"), date(2026, 8, 15)),
        sighting("BX-1", 3, "digital:5", "B公司", "91330106MA2AYYYY0A", Decimal("1000.00"), date(2026, 8, 5)),
        sighting("BX-1", 4, "digital:1", "A公司", "91330106MA2AXXXX0A", Decimal("1000.00"), date(2026, 8, 5)),
    ]
    found = near_matches(mine, [o for o in others if o], amount_percent=Decimal(1), days=3)
    assert [(m.claim_no, m.position) for m in found] == [("BX-1", 0)]
