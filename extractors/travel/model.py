"""The typed result of reading a rail e-ticket or an air e-itinerary.

A ticket is an invoice with a journey: besides number, date, buyer and amounts it carries who travelled,
where, when and in which class, because the claim checks the class against the traveller's grade and the
trip against the tickets. Every value keeps its confidence and source like an invoice field.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, time
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from extractors.invoice.model import Extracted

RAIL_VAT_RATE = Decimal("0.09")  # passenger transport: 9 % (rail and air alike)
CENT = Decimal("0.01")


class TicketKind(StrEnum):
    """Which travel document was read."""

    RAIL = "rail-ticket"  # 电子发票（铁路电子客票）
    AIR = "air-itinerary"  # 电子发票（航空运输电子客票行程单）


class CabinClass(StrEnum):
    """Seat or cabin class, normalised so one standards table covers rail and air."""

    # rail
    HARD_SEAT = "hard-seat"  # 硬座
    SOFT_SEAT = "soft-seat"  # 软座
    HARD_BERTH = "hard-berth"  # 硬卧
    SOFT_BERTH = "soft-berth"  # 软卧
    DELUXE_SOFT_BERTH = "deluxe-soft-berth"  # 高级软卧
    SECOND_CLASS = "second-class"  # 二等座 (high-speed)
    FIRST_CLASS = "first-class"  # 一等座 (high-speed)
    BUSINESS_SEAT = "business-seat"  # 商务座 / 特等座 (high-speed)
    NO_SEAT = "no-seat"  # 无座
    # air
    ECONOMY = "economy"  # 经济舱
    PREMIUM_ECONOMY = "premium-economy"  # 超级经济舱
    BUSINESS = "business"  # 公务舱 / 商务舱
    FIRST = "first"  # 头等舱


RAIL_SEATS: dict[str, CabinClass] = {
    "二等座": CabinClass.SECOND_CLASS, "一等座": CabinClass.FIRST_CLASS, "商务座": CabinClass.BUSINESS_SEAT,
    "特等座": CabinClass.BUSINESS_SEAT, "硬座": CabinClass.HARD_SEAT, "软座": CabinClass.SOFT_SEAT,
    "硬卧": CabinClass.HARD_BERTH, "软卧": CabinClass.SOFT_BERTH, "高级软卧": CabinClass.DELUXE_SOFT_BERTH,
    "动卧": CabinClass.SOFT_BERTH, "二等卧": CabinClass.HARD_BERTH, "一等卧": CabinClass.SOFT_BERTH,
    "无座": CabinClass.NO_SEAT,
}
AIR_CABINS: dict[str, CabinClass] = {
    "经济舱": CabinClass.ECONOMY, "超级经济舱": CabinClass.PREMIUM_ECONOMY, "高端经济舱": CabinClass.PREMIUM_ECONOMY,
    "公务舱": CabinClass.BUSINESS, "商务舱": CabinClass.BUSINESS, "头等舱": CabinClass.FIRST,
}
# The booking letter alone, when no cabin word is printed (IATA practice of the Chinese carriers).
BOOKING_LETTERS: dict[str, CabinClass] = {
    **{letter: CabinClass.FIRST for letter in "FAP"},
    **{letter: CabinClass.BUSINESS for letter in "CJDIR"},
    "W": CabinClass.PREMIUM_ECONOMY,
}


def cabin_for_letter(letter: str) -> CabinClass:
    """The cabin a booking letter sells; letters not listed are economy sub-classes (Y, B, M, H, K …)."""
    return BOOKING_LETTERS.get(letter.upper(), CabinClass.ECONOMY)


def deductible_vat(base: Decimal | None) -> Decimal | None:
    """Input VAT a ticket allows: base ÷ (1 + 9 %) × 9 %, to the fen (rail: fare; air: fare + fuel)."""
    if base is None:
        return None
    return (base / (1 + RAIL_VAT_RATE) * RAIL_VAT_RATE).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Segment:
    """One leg: a train or a flight from one place to another at a date and time, in a class."""

    carrier_no: Extracted[str]  # train number (G123) or flight number (CA1501)
    from_place: Extracted[str]  # station or airport as printed (北京南, 上海虹桥)
    to_place: Extracted[str]
    from_city: Extracted[str]  # the city it lies in, for trip and lodging checks
    to_city: Extracted[str]
    departure_date: Extracted[date]
    departure_time: Extracted[time]
    seat_class: Extracted[str]  # as printed: 二等座, 经济舱, Y
    cabin: Extracted[CabinClass]
    booking_letter: Extracted[str]  # air only: Y, B, C, F …
    seat: Extracted[str]  # rail only: 05车12A号

    def values(self) -> dict[str, Any]:
        """The bare values, for storing and comparing."""
        return {f.name: getattr(self, f.name).value for f in fields(self)}


SEGMENT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Segment))


@dataclass(frozen=True, slots=True)
class TravelTicket:
    """A rail e-ticket or an air e-itinerary with its journey and the amounts that matter for VAT."""

    kind: TicketKind
    number: Extracted[str]  # 发票号码, 20 digits
    issue_date: Extracted[date]
    passenger_name: Extracted[str]
    passenger_id: Extracted[str]  # masked as printed: 1101011990****1234
    segments: tuple[Segment, ...]
    fare: Extracted[Decimal]  # 票价
    fuel_surcharge: Extracted[Decimal]  # air: 燃油附加费
    development_fund: Extracted[Decimal]  # air: 民航发展基金 (not deductible)
    other_taxes: Extracted[Decimal]  # air: 其他税费
    total: Extracted[Decimal]  # what was paid (rail: the fare)
    ticket_no: Extracted[str]  # 电子客票号 (rail) / 电子客票号码 (air)
    buyer_name: Extracted[str]
    buyer_tax_id: Extracted[str]

    @property
    def vat_base(self) -> Decimal | None:
        """The amount VAT is deducted from: the fare, plus the fuel surcharge on a flight."""
        fare = self.fare.value
        if fare is None:
            return None
        fuel = self.fuel_surcharge.value or Decimal(0)
        return fare + fuel if self.kind is TicketKind.AIR else fare

    @property
    def deductible_vat(self) -> Decimal | None:
        """Input VAT the hospital may deduct for this ticket, rounded to the fen."""
        return deductible_vat(self.vat_base)

    def values(self) -> dict[str, Any]:
        """Bare values (segments as dicts), with the computed VAT: for storage and the claim rules."""
        out: dict[str, Any] = {"kind": self.kind.value}
        for f in fields(self):
            if f.name == "kind":
                continue
            if f.name == "segments":
                out["segments"] = [s.values() for s in self.segments]
            else:
                out[f.name] = getattr(self, f.name).value
        out["deductible_vat"] = self.deductible_vat
        return out

    def flat_values(self) -> dict[str, Any]:
        """Values by flat path (``segments[1].to_city``), for field-by-field accuracy counts."""
        out: dict[str, Any] = {}
        for key, value in self.values().items():
            if key == "segments":
                for index, segment in enumerate(value):
                    for name, cell in segment.items():
                        out[f"segments[{index}].{name}"] = cell
            else:
                out[key] = value
        return out

    def lowest_confidence(self) -> float:
        """The weakest value present; routes a doubtful ticket to a clerk."""
        scores = [getattr(self, f.name).confidence for f in fields(self)
                  if f.name not in ("kind", "segments") and getattr(self, f.name).value is not None]
        for segment in self.segments:
            scores += [getattr(segment, n).confidence for n in SEGMENT_FIELDS if getattr(segment, n).value is not None]
        return min(scores) if scores else 0.0
