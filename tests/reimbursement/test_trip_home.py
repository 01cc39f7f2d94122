"""Trip back home: with the hospital's city set, the tickets leave from it and come back to it."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest

from rules.reimbursement import ClaimFacts, InvoiceFacts, TravelFacts, TripLeg, audit_claim, needs_review, standards_on
from rules.reimbursement.home import check_home_trip
from smartfin.kernel.settings import Settings

ON = date(2026, 8, 10)
DEPARTED, RETURNED = date(2026, 7, 6), date(2026, 7, 9)


def leg(position: int, origin: str, destination: str, day: date, number: str) -> TripLeg:
    return TripLeg(position, "rail", number, origin, destination, day, time(8, 0), "second-class", "二等座")


def tickets(*legs: TripLeg) -> list[InvoiceFacts]:
    return [InvoiceFacts(x.position, "rail-ticket", None, f"253200000000000000{x.position:02d}", x.departure_date,
                         None, None, Decimal("300.00"), "CNY", (), legs=(x,)) for x in legs]


def claim(home: str | None, *, one_way: bool = False) -> ClaimFacts:
    trip = TravelFacts("上海", "", DEPARTED, RETURNED, one_way=one_way)
    return ClaimFacts("BX-2026-000031", "zhang.wei", "travel", ON, travel=trip, home_city=home)


def codes(claim_facts: ClaimFacts, invoices: list[InvoiceFacts]) -> list[str]:
    return [f.code for f in audit_claim(claim_facts, invoices, standards_on(ON))]


ROUND = (leg(0, "杭州", "上海", DEPARTED, "G7502"), leg(1, "上海", "杭州", RETURNED, "G7355"))


def test_a_round_trip_from_the_hospitals_city_passes() -> None:
    assert not {"TRIP_NOT_FROM_HOME", "TRIP_NOT_BACK_HOME"} & set(codes(claim("杭州市"), tickets(*ROUND)))


def test_a_trip_that_does_not_come_back_goes_to_review_unless_the_claim_says_one_way() -> None:
    outbound = tickets(ROUND[0])
    findings = audit_claim(claim("杭州"), outbound, standards_on(ON))
    back = next(f for f in findings if f.code == "TRIP_NOT_BACK_HOME")
    assert back.evidence == {"home": "杭州", "arrives": "上海", "carrier_no": "G7502"} and back.invoice == 0
    assert needs_review(findings)
    assert "TRIP_NOT_BACK_HOME" not in codes(claim("杭州", one_way=True), outbound)


def test_a_trip_starting_elsewhere_is_named_with_the_ticket() -> None:
    detour = tickets(leg(0, "南京", "上海", DEPARTED, "G7011"), leg(1, "上海", "杭州", RETURNED, "G7355"))
    findings = check_home_trip([x for i in detour for x in i.legs], "杭州")
    assert [(f.code, f.evidence["leaves"], f.invoice) for f in findings] == [("TRIP_NOT_FROM_HOME", "南京", 0)]
    # the order is the departure order, not the order of attachment
    reversed_legs = [x for i in reversed(tickets(*ROUND)) for x in i.legs]
    assert check_home_trip(reversed_legs, "杭州") == []


def test_without_the_setting_nothing_is_checked() -> None:
    assert not {"TRIP_NOT_FROM_HOME", "TRIP_NOT_BACK_HOME"} & set(codes(claim(None), tickets(ROUND[0])))


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTFIN_HOSPITAL_CITY", "杭州")
    assert Settings().hospital_city == "杭州"
    monkeypatch.delenv("SMARTFIN_HOSPITAL_CITY")
    assert Settings().hospital_city is None


def test_one_way_is_kept_from_the_claims_travel_data() -> None:
    data = {"destination": "上海", "departed": "2026-07-06", "returned": "2026-07-09", "one_way": True}
    assert TravelFacts.from_dict(data).one_way and not TravelFacts.from_dict({**data, "one_way": False}).one_way
