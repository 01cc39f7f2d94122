"""Rail e-tickets as the tax platform delivers them besides the PDF: the invoice XML and OFD.

Each sample is a PDF rail sample's ticket (same generator, same ground truth) written as XML with the
element names of ``extractors/travel/rail_xml_tags.json`` (the first or the second name of each field, by
seed, so both are exercised), or drawn on an OFD page — with the XML attached, as the platform's OFD
invoices carry it, or as the page's text alone.
"""

from __future__ import annotations

import json
from datetime import date, time
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from extractors.invoice.samples import OfdPainter, _ofd_zip
from extractors.travel.digital import TAG_MAP
from tests.support.travel_samples import RAIL_LAYOUTS, TravelSample, rail_sample

_GROUPS = {
    "BasicInformation": ("number", "issue_date"),
    "BuyerInformation": ("buyer_name", "buyer_tax_id"),
    "RailwayTicketInformation": ("passenger_name", "passenger_id", "train", "from_station", "to_station",
                                 "departure_date", "departure_time", "seat_class", "seat", "fare", "ticket_no"),
}
_TRUTH_KEYS = {"train": "segments[0].carrier_no", "from_station": "segments[0].from_place",
               "to_station": "segments[0].to_place", "departure_date": "segments[0].departure_date",
               "departure_time": "segments[0].departure_time", "seat_class": "segments[0].seat_class",
               "seat": "segments[0].seat"}


def _names(variant: int) -> dict[str, str]:
    raw = json.loads(TAG_MAP.read_text(encoding="utf-8"))
    return {k: v[min(variant, len(v) - 1)] for k, v in raw.items() if not k.startswith("_") and k != "marker"}


def _printed(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return f"{value:%H:%M}"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def rail_xml(truth: dict[str, Any], variant: int) -> bytes:
    """The ticket's XML in the shape of the platform's digitalised-invoice XML."""
    names = _names(variant)
    parts = ['<?xml version="1.0" encoding="UTF-8"?><EInvoice><Header><EIid>rail</EIid></Header><EInvoiceData>']
    for group, keys in _GROUPS.items():
        parts.append(f"<{group}>")
        for key in keys:
            value = truth.get(_TRUTH_KEYS.get(key, key))
            if value is not None:
                parts.append(f"<{names[key]}>{escape(_printed(value))}</{names[key]}>")
        parts.append(f"</{group}>")
    parts.append("</EInvoiceData></EInvoice>")
    return "".join(parts).encode()


def rail_xml_sample(seed: int) -> TravelSample:
    """A rail e-ticket as the platform's XML (layouts and values from the PDF generator)."""
    base = rail_sample(RAIL_LAYOUTS[seed % len(RAIL_LAYOUTS)], 1000 + seed)
    assert base.truth is not None
    return TravelSample(f"rail-xml-{seed}.xml", "rail-xml", rail_xml(base.truth, seed % 2), base.truth)


def rail_ofd_sample(seed: int, *, with_xml: bool) -> TravelSample:
    """A rail e-ticket as OFD: the ticket drawn on the page, with or without the XML attached."""
    painter = OfdPainter()
    base = rail_sample(RAIL_LAYOUTS[seed % len(RAIL_LAYOUTS)], 2000 + seed, painter)
    assert base.truth is not None
    layout = "rail-ofd-xml" if with_xml else "rail-ofd"
    data = _ofd_zip("".join(painter.objects), rail_xml(base.truth, seed % 2) if with_xml else None)
    return TravelSample(f"{layout}-{seed}.ofd", layout, data, base.truth)
