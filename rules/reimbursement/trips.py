"""A business trip against its tickets: classes within the traveller's grade, dates and cities that agree.

The claim says where and when the trip went; the rail and air tickets attached to it say where and when
the person actually travelled, and in which class. These pure functions compare the two and name each
disagreement. The grade is the one recorded on the claim (the same that sets the lodging cap), and the
lodging city comes from the tickets, not from the typed destination, when tickets show it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time
from itertools import pairwise
from typing import Any

from smartfin.kernel.findings import Finding, Severity

RAIL = "rail"
AIR = "air"
_MODES = {"rail-ticket": RAIL, "air-itinerary": AIR}
CLASS_LABELS = {
    "hard-seat": "硬座", "soft-seat": "软座", "hard-berth": "硬卧", "soft-berth": "软卧",
    "deluxe-soft-berth": "高级软卧",
    "second-class": "二等座", "first-class": "一等座", "business-seat": "商务座", "no-seat": "无座",
    "economy": "经济舱", "premium-economy": "超级经济舱", "business": "公务舱", "first": "头等舱",
}


@dataclass(frozen=True)
class TripLeg:
    """One train or flight of a ticket attached to the claim, as the rules need it."""

    position: int  # the ticket's place among the claim's invoices
    mode: str  # rail | air
    carrier_no: str | None
    from_city: str | None
    to_city: str | None
    departure_date: date | None
    departure_time: time | None
    cabin: str | None  # extractors.travel.CabinClass value
    seat_class: str | None  # as printed
    from_place: str | None = None  # station or airport as printed (the tables in places.py give its city)
    to_place: str | None = None

    @property
    def when(self) -> tuple[date, time]:
        return self.departure_date or date.max, self.departure_time or time.min


def legs_from_stored(position: int, ticket: dict[str, Any] | None) -> tuple[TripLeg, ...]:
    """The legs of a ticket as the claim stores it (ISO dates and times); nothing for other invoices."""
    if not ticket:
        return ()
    mode = _MODES.get(str(ticket.get("kind")))
    if mode is None:
        return ()
    legs = []
    for segment in ticket.get("segments") or []:
        day, at = segment.get("departure_date"), segment.get("departure_time")
        legs.append(TripLeg(position, mode, segment.get("carrier_no"), segment.get("from_city"),
                            segment.get("to_city"), date.fromisoformat(day) if day else None,
                            time.fromisoformat(at) if at else None, segment.get("cabin"), segment.get("seat_class"),
                            segment.get("from_place"), segment.get("to_place")))
    return tuple(legs)


def in_order(legs: Iterable[TripLeg]) -> list[TripLeg]:
    """Legs by departure; undated legs last."""
    return sorted(legs, key=lambda leg: leg.when)


def ticket_destination(legs: Sequence[TripLeg]) -> str | None:
    """Where the tickets took the traveller: the arrival city of the first leg (the outbound journey)."""
    ordered = [leg for leg in in_order(legs) if leg.to_city]
    return ordered[0].to_city if ordered else None


def check_classes(legs: Sequence[TripLeg], grade: str, allowed: Callable[[str], frozenset[str]],
                  explanation: str) -> list[Finding]:
    """Each leg's seat or cabin class within what the grade may book; over it needs an explanation and review.

    ``allowed(mode)`` gives the classes of the grade for ``rail`` or ``air`` (from the dated standards).
    """
    out: list[Finding] = []
    for leg in legs:
        if leg.cabin is None:
            out.append(Finding("TRAVEL_CLASS_UNREAD", Severity.WARN,
                               f"第 {leg.position + 1} 张票 {leg.carrier_no or ''} 未读到席别/舱位 / ticket "
                               f"{leg.position + 1}: the seat or cabin class was not read, check it by hand",
                               field="seat_class", invoice=leg.position))
            continue
        permitted = allowed(leg.mode)
        if leg.cabin in permitted:
            continue
        label = CLASS_LABELS.get(leg.cabin, leg.cabin)
        evidence = {"class": leg.cabin, "printed": leg.seat_class, "grade": grade, "mode": leg.mode,
                    "allowed": sorted(permitted), "carrier_no": leg.carrier_no}
        explained = bool(explanation.strip())
        then = "; explained, approvers decide" if explained else ": a written explanation is required"
        out.append(Finding(
            "TRAVEL_CLASS_OVER_STANDARD", Severity.WARN if explained else Severity.BLOCK,
            f"第 {leg.position + 1} 张票 {leg.carrier_no or ''} 乘坐{label}，超过 {grade} 职级标准"
            + ("，已附说明，需审批人确认" if explained else "，须书面说明")
            + f" / ticket {leg.position + 1} {leg.carrier_no or ''}: {leg.cabin} is above the class allowed to "
            f"grade {grade}{then}",
            evidence=evidence, field="seat_class", invoice=leg.position))
    return out


def check_trip(legs: Sequence[TripLeg], departed: date, returned: date, destination: str) -> list[Finding]:
    """The tickets agree with the claimed trip: dates inside it, cities chaining, the destination visited."""
    out: list[Finding] = []
    ordered = in_order(legs)
    for leg in ordered:
        if leg.departure_date is not None and not departed <= leg.departure_date <= returned:
            out.append(Finding(
                "TRIP_TICKET_OUTSIDE_DATES", Severity.WARN,
                f"第 {leg.position + 1} 张票 {leg.carrier_no or ''} 出发日期 {leg.departure_date} 不在出差期间 "
                f"{departed}–{returned} 内 / ticket {leg.position + 1}: departure {leg.departure_date} lies outside "
                f"the trip {departed} to {returned}",
                evidence={"departure": leg.departure_date, "departed": departed, "returned": returned},
                field="travel", invoice=leg.position))
    for before, after in pairwise(ordered):
        if before.to_city and after.from_city and before.to_city != after.from_city:
            out.append(Finding(
                "TRIP_CITIES_BROKEN", Severity.WARN,
                f"行程不连续：{before.carrier_no} 到达{before.to_city}，{after.carrier_no} 却从{after.from_city}出发 / "
                f"the journey does not chain: {before.carrier_no} arrives in {before.to_city} but {after.carrier_no} "
                f"leaves from {after.from_city}",
                evidence={"arrives": before.to_city, "leaves": after.from_city}, field="travel",
                invoice=after.position))
    visited = {leg.to_city for leg in ordered if leg.to_city}
    if visited and destination and destination not in visited:
        out.append(Finding(
            "TRIP_DESTINATION_MISMATCH", Severity.WARN,
            f"出差目的地 {destination} 与车票/机票的到达城市 {'、'.join(sorted(visited))} 不符；住宿标准按车票城市 "
            f"{ticket_destination(ordered)} / the claimed destination {destination} is not among the cities the "
            f"tickets arrive in ({', '.join(sorted(visited))}); lodging is capped for {ticket_destination(ordered)}",
            evidence={"claimed": destination, "tickets": sorted(visited)}, field="travel"))
    return out
