"""Tickets against the trip and the grade: pure rules over the legs a claim's tickets hold."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest

from rules.reimbursement import ClaimFacts, InvoiceFacts, TravelFacts, TripLeg, audit_claim, needs_review, standards_on
from rules.reimbursement.standards import StandardsError, load_transport_classes
from rules.reimbursement.trips import check_trip, ticket_destination

ON = date(2026, 8, 10)
DEPARTED, RETURNED = date(2026, 7, 6), date(2026, 7, 9)


def leg(position: int, mode: str, cabin: str, origin: str, destination: str, day: date,
        number: str = "G1") -> TripLeg:
    return TripLeg(position, mode, number, origin, destination, day, time(8, 0), cabin, cabin)


def ticket(position: int, *legs: TripLeg, total: str = "553.00") -> InvoiceFacts:
    kind = "rail-ticket" if legs[0].mode == "rail" else "air-itinerary"
    return InvoiceFacts(position, kind, None, f"2532000000000000{position:04d}", DEPARTED, None, None,
                        Decimal(total), "CNY", (), legs=legs)


def claim(grade: str = "general", destination: str = "上海", explanation: str = "",
          invoices_total: Decimal | None = None) -> ClaimFacts:
    trip = TravelFacts(destination, "", DEPARTED, RETURNED, grade=grade)
    return ClaimFacts("BX-2026-000009", "zhang.wei", "travel", ON, claimed_total=invoices_total, travel=trip,
                      explanation=explanation)


def round_trip(cabin: str = "second-class", mode: str = "rail") -> list[InvoiceFacts]:
    return [ticket(0, leg(0, mode, cabin, "北京", "上海", DEPARTED, "G1")),
            ticket(1, leg(1, mode, cabin, "上海", "北京", RETURNED, "G2"))]


def codes(claim_facts: ClaimFacts, invoices: list[InvoiceFacts]) -> list[str]:
    return [f.code for f in audit_claim(claim_facts, invoices, standards_on(ON))]


@pytest.mark.parametrize(("grade", "mode", "cabin", "allowed"), [
    ("general", "rail", "second-class", True), ("general", "rail", "first-class", False),
    ("general", "rail", "hard-berth", True), ("general", "rail", "soft-berth", False),
    ("senior", "rail", "first-class", True), ("senior", "rail", "business-seat", False),
    ("minister", "rail", "business-seat", True), ("general", "air", "economy", True),
    ("general", "air", "business", False), ("senior", "air", "business", False), ("minister", "air", "first", True),
])
def test_class_by_grade_follows_the_central_travel_rules(grade: str, mode: str, cabin: str, allowed: bool) -> None:
    found = codes(claim(grade=grade), round_trip(cabin, mode))
    assert ("TRAVEL_CLASS_OVER_STANDARD" not in found) is allowed


def test_over_class_blocks_without_explanation_and_still_goes_to_review_with_one() -> None:
    invoices = round_trip("first-class")
    blocked = audit_claim(claim(), invoices, standards_on(ON))
    over = [f for f in blocked if f.code == "TRAVEL_CLASS_OVER_STANDARD"]
    assert len(over) == 2 and over[0].severity == "block" and over[0].invoice == 0
    assert over[0].evidence["grade"] == "general" and "second-class" in over[0].evidence["allowed"]
    explained = audit_claim(claim(explanation="二等座售罄 / second class sold out"), invoices, standards_on(ON))
    assert {f.severity for f in explained if f.code == "TRAVEL_CLASS_OVER_STANDARD"} == {"warn"}
    assert needs_review(explained)


def test_an_unknown_grade_is_a_finding_not_a_crash() -> None:
    assert "TRAVEL_GRADE_UNKNOWN" in codes(claim(grade="director"), round_trip())


def test_tickets_inside_the_trip_that_chain_raise_nothing() -> None:
    found = codes(claim(invoices_total=Decimal("1106.00")), round_trip())
    mine = {"TRAVEL_CLASS_OVER_STANDARD", "TRAVEL_CLASS_UNREAD", "TRIP_TICKET_OUTSIDE_DATES", "TRIP_CITIES_BROKEN",
            "TRIP_DESTINATION_MISMATCH"}
    assert not mine & set(found)


def test_a_ticket_outside_the_trip_dates_is_named() -> None:
    late = [ticket(0, leg(0, "rail", "second-class", "北京", "上海", DEPARTED)),
            ticket(1, leg(1, "rail", "second-class", "上海", "北京", RETURNED + (RETURNED - DEPARTED)))]
    findings = check_trip([x for i in late for x in i.legs], DEPARTED, RETURNED, "上海")
    assert [(f.code, f.invoice) for f in findings] == [("TRIP_TICKET_OUTSIDE_DATES", 1)]
    early = check_trip([leg(0, "rail", "second-class", "北京", "上海", date(2026, 7, 1))], DEPARTED, RETURNED, "上海")
    assert [f.code for f in early] == ["TRIP_TICKET_OUTSIDE_DATES"]


def test_cities_that_do_not_chain_are_named() -> None:
    legs = [leg(0, "rail", "second-class", "北京", "上海", DEPARTED, "G1"),
            leg(1, "rail", "second-class", "杭州", "北京", RETURNED, "G2")]
    findings = check_trip(legs, DEPARTED, RETURNED, "上海")
    assert [f.code for f in findings] == ["TRIP_CITIES_BROKEN"]
    assert findings[0].evidence == {"arrives": "上海", "leaves": "杭州"}


def test_legs_are_compared_in_travel_order_not_attachment_order() -> None:
    legs = [leg(1, "air", "economy", "上海", "北京", RETURNED, "MU2"),
            leg(0, "air", "economy", "北京", "上海", DEPARTED, "CA1")]
    assert check_trip(legs, DEPARTED, RETURNED, "上海") == []
    assert ticket_destination(legs) == "上海"


def test_a_typed_destination_the_tickets_never_reach_is_named() -> None:
    findings = check_trip([leg(0, "rail", "second-class", "北京", "上海", DEPARTED)], DEPARTED, RETURNED, "杭州")
    assert [f.code for f in findings] == ["TRIP_DESTINATION_MISMATCH"]
    assert findings[0].evidence["tickets"] == ["上海"]


def test_lodging_is_capped_for_the_ticket_city_not_the_typed_one() -> None:
    standards = standards_on(ON)
    assert standards.lodging_cap("上海", "general", 7) == Decimal("500.00")
    assert standards.lodging_cap("绍兴", "general", 7) == Decimal("380.00")
    hotel = InvoiceFacts(2, "digital", None, "26442000000000000002", DEPARTED, "某酒店", None,
                         Decimal("1500.00"), "CNY", ("*住宿服务*住宿费",))
    typed_only = codes(claim(destination="绍兴"), [hotel])
    assert "LODGING_OVER_STANDARD" in typed_only  # the typed city's cap is lower
    with_tickets = audit_claim(claim(destination="绍兴"), [*round_trip(), hotel], standards)
    assert [f for f in with_tickets if f.code == "LODGING_OVER_STANDARD"] == []  # 500 a night is Shanghai's cap
    dearer = InvoiceFacts(2, "digital", None, "26442000000000000002", DEPARTED, "某酒店", None,
                          Decimal("1800.00"), "CNY", ("*住宿服务*住宿费",))
    over = [f for f in audit_claim(claim(destination="绍兴"), [*round_trip(), dearer], standards)
            if f.code == "LODGING_OVER_STANDARD"]
    assert over[0].evidence["city"] == "上海" and over[0].evidence["cap"] == Decimal("500.00")
    assert "TRIP_DESTINATION_MISMATCH" in [f.code for f in with_tickets]


def test_transport_classes_table_rejects_a_bad_mode(tmp_path: Path) -> None:
    (tmp_path / "transport_classes.csv").write_text(
        "grade,mode,classes,meaning,effective_from,effective_to\ngeneral,boat,economy,x,2014-01-01,\n",
        encoding="utf-8")
    with pytest.raises(StandardsError, match="row 2: mode 'boat'"):
        load_transport_classes(tmp_path)
    assert standards_on(date(2013, 6, 1)).transport == ()
