"""Rail e-tickets (电子发票（铁路电子客票）, since late 2024): one journey per ticket.

The page prints the journey as a picture of the old paper ticket — stations either side of the train
number, then date, time, car and seat, class, fare, passenger — with the invoice header (number, date) and
the buyer block around it. Lines are matched by content, not by fixed position, because the issuing
systems move blocks around and print labels with or without colons and letter spacing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import time
from decimal import Decimal

from extractors.invoice.layout import Line
from extractors.invoice.model import Source, missing
from extractors.travel.model import RAIL_SEATS, Segment, TicketKind, TravelTicket
from extractors.travel.places import city_of
from extractors.travel.text import continuation, found, parse_date, search, value_x0
from smartfin.kernel.findings import Finding, Severity

_NUMBER = re.compile(r"发票号码:?(\d{20})(?!\d)")
_ISSUED = re.compile(r"开票日期:?(\d{4}年\d{1,2}月\d{1,2}日)")
_JOURNEY = re.compile(r"^(?P<from>[\u4e00-\u9fff]{2,10}?)站?(?P<train>[GDCZTKSYL]?\d{1,5})"
                      r"(?P<to>[\u4e00-\u9fff]{2,10}?)站?$")
_DEPART = re.compile(r"(\d{4}年\d{1,2}月\d{1,2}日)(\d{1,2}):(\d{2})开")
_SEAT = re.compile(r"(\d{1,2}车\d{1,3}[A-F]?号(?:[上中下]铺)?|无座)")
_CLASS = re.compile("|".join(sorted(RAIL_SEATS, key=len, reverse=True)))
_FARE = re.compile(r"票价:?¥?(\d{1,6}(?:\.\d{1,2})?)|¥(\d{1,6}\.\d{1,2})")
_PASSENGER = re.compile(r"(?P<id>\d{10}\*{4}\d{3}[\dX]|\d{6}\*{8}\d{3}[\dX])(?P<name>[\u4e00-\u9fff·]{2,12})"
                        r"|(?P<name2>[\u4e00-\u9fff·]{2,12})(?P<id2>\d{10}\*{4}\d{3}[\dX])")
_ETICKET = re.compile(r"电子客票号:?([0-9A-Z]{10,24})")
_BUYER = re.compile(r"购买方名称:?(?P<name>.+?)(?=统一社会信用代码|$)")
_USCC = re.compile(r"统一社会信用代码:?([0-9A-Z]{18})")


def read_rail_ticket(lines: Sequence[Line]) -> tuple[TravelTicket, list[Finding]]:
    """Every field of a rail e-ticket that can be found; what is missing becomes a finding."""
    number = search(lines, _NUMBER)
    issued = search(lines, _ISSUED)
    journey = _journey(lines)
    depart = search(lines, _DEPART)
    seat = search(lines, _SEAT)
    seat_class = search(lines, _CLASS)
    fare = search(lines, _FARE)
    passenger = search(lines, _PASSENGER)
    eticket = search(lines, _ETICKET)
    buyer = search(lines, _BUYER)
    uscc = search(lines, _USCC)

    departure_date = parse_date(depart[1].group(1)) if depart else None
    departure_time = None
    if depart:
        hour, minute = int(depart[1].group(2)), int(depart[1].group(3))
        departure_time = time(hour, minute) if hour < 24 and minute < 60 else None
    printed_class = seat_class[1].group(0) if seat_class else None
    from_place, train, to_place = journey if journey else (None, None, None)
    segment = Segment(
        carrier_no=found(train), from_place=found(from_place), to_place=found(to_place),
        from_city=found(city_of(from_place)), to_city=found(city_of(to_place)),
        departure_date=found(departure_date), departure_time=found(departure_time),
        seat_class=found(printed_class), cabin=found(RAIL_SEATS.get(printed_class or "")),
        booking_letter=missing(Source.PDF_TEXT), seat=found(seat[1].group(1) if seat else None))
    fare_value = None
    if fare:
        fare_value = Decimal(fare[1].group(1) or fare[1].group(2)).quantize(Decimal("0.01"))
    name = pid = None
    if passenger:
        m = passenger[1]
        name, pid = (m.group("name"), m.group("id")) if m.group("id") else (m.group("name2"), m.group("id2"))
    buyer_name = None
    if buyer:
        index, m = buyer
        buyer_name = m.group("name") + continuation(lines, index, value_x0(lines[index], m, "name"))
    ticket = TravelTicket(
        kind=TicketKind.RAIL, number=found(number[1].group(1) if number else None),
        issue_date=found(parse_date(issued[1].group(1)) if issued else None),
        passenger_name=found(name), passenger_id=found(pid), segments=(segment,),
        fare=found(fare_value), fuel_surcharge=missing(Source.PDF_TEXT),
        development_fund=missing(Source.PDF_TEXT), other_taxes=missing(Source.PDF_TEXT), total=found(fare_value),
        ticket_no=found(eticket[1].group(1) if eticket else None),
        buyer_name=found(buyer_name or None), buyer_tax_id=found(uscc[1].group(1) if uscc else None))
    return ticket, missing_findings(ticket)


def _journey(lines: Sequence[Line]) -> tuple[str, str, str] | None:
    for line in lines:
        m = _JOURNEY.match(line.text)
        if m and ":" not in line.text:
            return m.group("from"), m.group("train"), m.group("to")
    return None


def missing_findings(ticket: TravelTicket) -> list[Finding]:
    """Key fields a clerk must type because they were not read."""
    segment = ticket.segments[0]
    wanted = {"number": ticket.number, "issue_date": ticket.issue_date, "fare": ticket.fare,
              "passenger_name": ticket.passenger_name, "train": segment.carrier_no,
              "from_station": segment.from_place, "to_station": segment.to_place,
              "departure_date": segment.departure_date, "seat_class": segment.seat_class}
    return [Finding("TICKET_FIELD_MISSING", Severity.BLOCK,
                    f"铁路电子客票未读到 {name} / rail e-ticket: {name} not found on the ticket", field=name)
            for name, value in wanted.items() if value.value is None]
