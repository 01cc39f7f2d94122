"""Air e-itineraries (电子发票（航空运输电子客票行程单）, digital since 2024–2025): one or more flights.

The flights are a table. Two forms are in use: the classic chain (a row 自 FROM with the first flight, then
rows 至 TO, each carrying the next flight, the last one the final arrival) and one row per flight with both
places. Cells are told apart by what they hold (flight number, date, time, booking letter), not by column,
because issuers vary the columns — except the fare basis (客票级别, ``YCN``), which looks like an airport code
and is found under its own heading. Its first letter is the booking class by the fare-basis convention, so a
booking letter the scan lost (a lone ``Y`` is easy to miss) is taken from it, at a lower confidence.
The amounts (票价, 燃油附加费, 民航发展基金, 其他税费, 合计) are found by
label, with the value beside or under it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal

from extractors.invoice.layout import Line, segments
from extractors.invoice.model import Extracted, Source, missing
from extractors.travel.model import AIR_CABINS, CabinClass, Segment, TicketKind, TravelTicket, cabin_for_letter
from extractors.travel.places import city_of
from extractors.travel.text import (
    BELOW_CONFIDENCE,
    TEXT_CONFIDENCE,
    continuation,
    found,
    parse_date,
    search,
    value_x0,
)
from smartfin.kernel.findings import Finding, Severity

_NUMBER = re.compile(r"发票号码:?(\d{20})(?!\d)")
_ISSUED = re.compile(r"开票日期:?(\d{4}年\d{1,2}月\d{1,2}日)")
_PASSENGER = re.compile(r"旅客姓名:?(?P<name>[\u4e00-\u9fff·A-Z/]{2,30}?)(?=有效身份证件号码|$)")
_ID = re.compile(r"有效身份证件号码:?([0-9X*]{15,18})")
_ETICKET = re.compile(r"电子客票号码:?(\d{3}-?\d{10})")
_BUYER = re.compile(r"购买方名称:?(?P<name>.+?)(?=统一社会信用代码|$)")
_USCC = re.compile(r"统一社会信用代码:?([0-9A-Z]{18})")
_FLIGHT = re.compile(r"^([A-Z0-9]{2}\d{3,4})$")
_FLIGHT_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FLIGHT_TIME = re.compile(r"^(\d{2}):?(\d{2})$")
_CLASS = re.compile(r"^(?P<cabin>" + "|".join(sorted(AIR_CABINS, key=len, reverse=True)) + r")?(?P<letter>[A-Z])$")
_PLACE = re.compile(r"^(?:自|至)?(?P<place>[\u4e00-\u9fff]{2,12})(?:T\d)?(?:[A-Z]{3})?$")
_SKIPPED = re.compile(r"[A-Z]{3}|\d{1,2}|\d{1,2}K|\d{2}[A-Z]{3}\d{0,2}")  # codes, row no., baggage, 20JAN
_FARE_BASIS = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")
FARE_BASIS_HEADING = "客票级别"
FARE_BASIS_CONFIDENCE = 0.85  # a booking letter taken from the fare basis, not printed on its own
_AMOUNT = r"(?::|CNY|¥)*(\d{1,7}\.\d{2})"
AMOUNT_LABELS = {"fare": "票价", "fuel_surcharge": "燃油附加费", "development_fund": "民航发展基金",
                 "other_taxes": "其他税费", "total": "合计"}


@dataclass
class _Row:
    """One table row split into what its cells hold."""

    places: list[str]
    flight: str | None = None
    day: date | None = None
    at: time | None = None
    printed_class: str | None = None
    cabin_word: str | None = None
    letter: str | None = None
    fare_basis: str | None = None


def read_air_itinerary(lines: Sequence[Line]) -> tuple[TravelTicket, list[Finding]]:
    """Every field of an air e-itinerary that can be found; a missing fare is a finding, never a crash."""
    number = search(lines, _NUMBER)
    issued = search(lines, _ISSUED)
    passenger = search(lines, _PASSENGER)
    pid = search(lines, _ID)
    eticket = search(lines, _ETICKET)
    buyer = search(lines, _BUYER)
    uscc = search(lines, _USCC)
    amounts = {name: _amount(lines, label) for name, label in AMOUNT_LABELS.items()}
    buyer_name = None
    if buyer:
        index, m = buyer
        buyer_name = m.group("name") + continuation(lines, index, value_x0(lines[index], m, "name"))
    ticket = TravelTicket(
        kind=TicketKind.AIR, number=found(number[1].group(1) if number else None),
        issue_date=found(parse_date(issued[1].group(1)) if issued else None),
        passenger_name=found(passenger[1].group("name") if passenger else None),
        passenger_id=found(pid[1].group(1) if pid else None), segments=_segments(lines),
        fare=amounts["fare"], fuel_surcharge=amounts["fuel_surcharge"],
        development_fund=amounts["development_fund"], other_taxes=amounts["other_taxes"], total=amounts["total"],
        ticket_no=found(eticket[1].group(1) if eticket else None),
        buyer_name=found(buyer_name or None), buyer_tax_id=found(uscc[1].group(1) if uscc else None))
    return ticket, _findings(ticket)


def _amount(lines: Sequence[Line], label: str) -> Extracted[Decimal]:
    """The amount after a label on its line, else the amount printed under the label."""
    same_line = re.compile(re.escape(label) + _AMOUNT)
    for index, line in enumerate(lines):
        m = same_line.search(line.text)
        if m:
            return found(Decimal(m.group(1)))
        start = line.text.find(label)
        # a longer label containing this one (其他税费合计) is not this label
        if start < 0 or (label == "合计" and line.text[max(0, start - 4):start] == "价税"):
            continue
        left, right = line.x0s[start], line.x1s[start + len(label) - 1]
        for below in lines[index + 1:index + 3]:
            for text, x0, x1 in segments(below, gap_factor=1.2):
                if x1 >= left - 2 and x0 <= right + 2:
                    value = re.fullmatch(r"(?:CNY|¥)?(\d{1,7}\.\d{2})", text)
                    if value:
                        return found(Decimal(value.group(1)), BELOW_CONFIDENCE)
        return missing(Source.PDF_POSITION)
    return missing(Source.PDF_TEXT)


def _rows(lines: Sequence[Line]) -> list[_Row]:
    """The flight table: rows after the header (航班号) until the amounts (票价)."""
    header = next((i for i, line in enumerate(lines) if "航班号" in line.text), None)
    if header is None:
        return []
    basis = _column(lines[header], FARE_BASIS_HEADING)
    rows: list[_Row] = []
    for line in lines[header + 1:]:
        if "票价" in line.text or "电子客票号码" in line.text:
            break
        row = _Row(places=[])
        for text, x0, x1 in segments(line, gap_factor=1.2):
            if basis and x1 >= basis[0] and x0 <= basis[1] and _FARE_BASIS.match(text) and text != "VOID":
                row.fare_basis = text
                continue
            if text in ("VOID", "自", "至", "FROM", "TO") or _SKIPPED.fullmatch(text):
                continue  # airport codes, row numbers, baggage, end of the chain
            if _FLIGHT.match(text):
                row.flight = text
            elif _FLIGHT_DATE.match(text):
                row.day = parse_date(text)
            elif (t := _FLIGHT_TIME.match(text)) and int(t.group(1)) < 24 and int(t.group(2)) < 60:
                row.at = time(int(t.group(1)), int(t.group(2)))
            elif (c := _CLASS.match(text)) and row.letter is None:
                row.printed_class, row.cabin_word, row.letter = text, c.group("cabin"), c.group("letter")
            elif (p := _PLACE.match(text)) and not text.endswith(("舱", "税", "费")):
                row.places.append(p.group("place"))
        if row.places or row.flight:
            rows.append(row)
    return rows


def _column(header: Line, heading: str) -> tuple[float, float] | None:
    """The x-range of ``heading`` in the table's header line (a little wider), None when it is not printed."""
    start = header.text.find(heading)
    if start < 0:
        return None
    slack = header.size / 2
    return header.x0s[start] - slack, header.x1s[start + len(heading) - 1] + slack


def _segments(lines: Sequence[Line]) -> tuple[Segment, ...]:
    rows = _rows(lines)
    legs: list[tuple[_Row, str | None, str | None]] = []
    if any(len(r.places) >= 2 for r in rows):  # one row per flight
        legs = [(r, r.places[0], r.places[1] if len(r.places) > 1 else None) for r in rows if r.flight]
    else:  # the chain: a flight row's place is the departure, the next row's place the arrival
        for index, row in enumerate(rows):
            if row.flight:
                nxt = rows[index + 1].places[0] if index + 1 < len(rows) and rows[index + 1].places else None
                legs.append((row, row.places[0] if row.places else None, nxt))
    out = []
    for row, origin, destination in legs:
        cabin: CabinClass | None = None
        letter, printed, confidence = row.letter, row.printed_class, TEXT_CONFIDENCE
        if letter is None and row.fare_basis:
            letter = printed = row.fare_basis[0]
            confidence = FARE_BASIS_CONFIDENCE
        if row.cabin_word:
            cabin = AIR_CABINS[row.cabin_word]
        elif letter:
            cabin = cabin_for_letter(letter)
        out.append(Segment(
            carrier_no=found(row.flight), from_place=found(origin), to_place=found(destination),
            from_city=found(city_of(origin)), to_city=found(city_of(destination)),
            departure_date=found(row.day), departure_time=found(row.at), seat_class=found(printed, confidence),
            cabin=found(cabin, confidence), booking_letter=found(letter, confidence), seat=missing(Source.PDF_TEXT)))
    return tuple(out)


def _findings(ticket: TravelTicket) -> list[Finding]:
    out: list[Finding] = []
    if ticket.fare.value is None:
        out.append(Finding("AIR_FARE_MISSING", Severity.BLOCK,
                           "行程单未列票价 / the itinerary shows no fare: the deductible VAT and the claim amount "
                           "cannot be checked, a clerk must enter the fare", field="fare"))
    if not ticket.segments:
        out.append(Finding("TICKET_FIELD_MISSING", Severity.BLOCK,
                           "行程单未读到航段 / air itinerary: no flight segment found", field="segments"))
    for name in ("number", "issue_date", "passenger_name", "total"):
        if getattr(ticket, name).value is None:
            out.append(Finding("TICKET_FIELD_MISSING", Severity.BLOCK,
                               f"行程单未读到 {name} / air itinerary: {name} not found", field=name))
    parts = [ticket.fare.value, ticket.fuel_surcharge.value, ticket.development_fund.value, ticket.other_taxes.value]
    if ticket.total.value is not None and ticket.fare.value is not None:
        summed = sum((p for p in parts if p is not None), Decimal(0))
        if summed != ticket.total.value:
            out.append(Finding("TICKET_TOTAL_MISMATCH", Severity.WARN,
                               f"行程单合计不等于各项之和 / itinerary total {ticket.total.value} differs from fare + "
                               f"fuel + fund + taxes {summed}", field="total",
                               evidence={"total": str(ticket.total.value), "sum": str(summed)}))
    return out
