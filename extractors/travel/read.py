"""Recognise a travel document on a page and hand it to the reader of its kind.

The title decides: 铁路电子客票 is a rail e-ticket, 航空运输电子客票行程单 an air e-itinerary. Rail refund
and change vouchers (退票费, 改签费) carry the same title; they are reported as what they are and never
read as a ticket, so a refund fee is not mistaken for a journey.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from extractors.invoice.layout import Line
from extractors.travel.air import read_air_itinerary
from extractors.travel.model import TicketKind, TravelTicket
from extractors.travel.rail import read_rail_ticket
from smartfin.kernel.findings import Finding, Severity

RAIL_TITLE = "铁路电子客票"
AIR_TITLE = "航空运输电子客票行程单"
_REFUND = re.compile(r"退票费|改签费|退票手续费|变更费")


def travel_title(lines: Sequence[Line]) -> TicketKind | None:
    """Which travel document the page holds, judged by its title in the first lines."""
    for line in lines[:8]:
        if AIR_TITLE in line.text:
            return TicketKind.AIR
        if RAIL_TITLE in line.text:
            return TicketKind.RAIL
    return None


def read_travel_document(lines: Sequence[Line]) -> tuple[TravelTicket | None, list[Finding]]:
    """The ticket on the page, or (None, []) when the page is no travel document.

    A refund or change voucher gives (None, [finding]) so the file goes to a clerk with the reason.
    """
    kind = travel_title(lines)
    if kind is None:
        return None, []
    if any(_REFUND.search(line.text) for line in lines):
        return None, [Finding("TICKET_REFUND_VOUCHER", Severity.BLOCK,
                              "退票/改签费凭证，不是客票 / a ticket refund or change voucher (退票/改签), "
                              "not a ticket: enter the fee by hand", field="kind")]
    if kind is TicketKind.RAIL:
        return read_rail_ticket(lines)
    return read_air_itinerary(lines)
