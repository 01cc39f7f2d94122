"""Travel documents in, typed tickets out: rail e-tickets (铁路电子客票) and air e-itineraries (航空运输电子客票行程单).

``read_travel_document`` takes the text lines of a PDF page and returns a ``TravelTicket`` when the page is
one of them (or a refund/change voucher, which is reported and never read as a ticket).
"""

from extractors.travel.model import (
    RAIL_VAT_RATE,
    CabinClass,
    Segment,
    TicketKind,
    TravelTicket,
    deductible_vat,
)
from extractors.travel.read import read_travel_document, travel_title

__all__ = [
    "RAIL_VAT_RATE",
    "CabinClass",
    "Segment",
    "TicketKind",
    "TravelTicket",
    "deductible_vat",
    "read_travel_document",
    "travel_title",
]
