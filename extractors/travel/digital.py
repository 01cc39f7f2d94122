"""The rail e-ticket as the tax platform also delivers it: the invoice's XML, and OFD.

The XML holds every value exactly. The element names of the rail e-ticket's XML are not published with
the format, so this reader is data-driven: ``rail_xml_tags.json`` lists, per ticket field, the element
names in use (matched case-insensitively, without namespace; the first present wins) and the marker
elements that tell a rail ticket from another invoice XML. A name an issuer uses that is not listed is one
line in that file, not a code change.

The OFD is read like the platform's invoices: an attached XML first (exact), else the first page's text
(template page and page content) with the same line reader as the PDF ticket. Either way the result has
the same fields as the PDF reader's, each value with its source (XML or OFD).
"""

from __future__ import annotations

import io
import json
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import fields, replace
from datetime import date, time
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from extractors.invoice.layout import build_lines
from extractors.invoice.model import Extracted, InvoiceRecord, Source, SourceFormat, missing
from extractors.invoice.ofd import page_glyphs, template_glyphs
from extractors.travel.invoice import ticket_record, validate_ticket
from extractors.travel.model import RAIL_SEATS, Segment, TicketKind, TravelTicket
from extractors.travel.places import city_of
from extractors.travel.rail import missing_findings
from extractors.travel.read import read_travel_document
from smartfin.kernel.findings import Finding, Severity

TAG_MAP = Path(__file__).with_name("rail_xml_tags.json")
MAX_MEMBER_BYTES = 5 * 1024 * 1024
_DATE = re.compile(r"(\d{4})[-年./]?(\d{1,2})[-月./]?(\d{1,2})")
_TIME = re.compile(r"(\d{1,2}):?(\d{2})")
_TITLE_CHARS = frozenset("客票")

TicketResult = tuple[TravelTicket | None, InvoiceRecord | None, list[Finding]]


@lru_cache(maxsize=1)
def tag_map() -> dict[str, tuple[str, ...]]:
    """Field → element names, from ``rail_xml_tags.json`` (lower-cased for matching)."""
    raw = json.loads(TAG_MAP.read_text(encoding="utf-8"))
    return {k: tuple(n.lower() for n in v) for k, v in raw.items() if not k.startswith("_")}


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _texts(root: ET.Element) -> dict[str, str]:
    """First non-empty text of each element name in the document."""
    out: dict[str, str] = {}
    for element in root.iter():
        name = _local(element.tag)
        if name and name not in out and element.text and element.text.strip():
            out[name] = element.text.strip()
    return out


def _lookup(texts: dict[str, str], field: str) -> str | None:
    return next((texts[n] for n in tag_map().get(field, ()) if n in texts), None)


def is_rail_xml(root: ET.Element) -> bool:
    """A rail e-ticket's XML: an invoice number, a train number and both stations (by the tag map)."""
    texts = _texts(root)
    return all(_lookup(texts, f) for f in ("number", "marker", "from_station", "to_station"))


def _date(text: str | None) -> date | None:
    m = _DATE.search(text or "")
    try:
        return date(int(m[1]), int(m[2]), int(m[3])) if m else None
    except ValueError:
        return None


def _time(text: str | None) -> time | None:
    m = _TIME.search((text or "").split(" ")[-1].split("T")[-1])
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        return None
    return time(int(m[1]), int(m[2]))


def _money(text: str | None) -> Decimal | None:
    try:
        return Decimal((text or "").replace("¥", "").replace("￥", "").replace(",", "").strip()).quantize(
            Decimal("0.01")) if text else None
    except InvalidOperation:
        return None


def read_rail_xml(data: bytes, source: Source = Source.XML) -> tuple[TravelTicket | None, list[Finding]]:
    """The rail e-ticket in the platform's XML, or (None, []) when the XML is not one."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return None, []
    if not is_rail_xml(root):
        return None, []
    texts = _texts(root)
    findings: list[Finding] = []

    def value(field: str, parse: Any = None) -> Extracted:  # type: ignore[type-arg]
        text = _lookup(texts, field)
        if text is None:
            return missing(source)
        parsed = parse(text) if parse else text.strip()
        if parsed is None:
            findings.append(Finding("XML_VALUE_INVALID", Severity.WARN, f"{field}: {text!r} cannot be read",
                                    field=field))
            return missing(source)
        return Extracted(parsed, 1.0, source)

    origin, destination = value("from_station", _station), value("to_station", _station)
    seat_class = value("seat_class")
    departure_text = _lookup(texts, "departure_date")
    at = value("departure_time", _time) if _lookup(texts, "departure_time") else (
        Extracted(_time(departure_text), 1.0, source) if departure_text and ("T" in departure_text
                                                                             or ":" in departure_text)
        else missing(source))

    def city(place: Extracted) -> Extracted:  # type: ignore[type-arg]
        name = city_of(place.value)
        return Extracted(name, 1.0, source) if name else missing(source)

    cabin = RAIL_SEATS.get(seat_class.value or "")
    segment = Segment(
        carrier_no=value("train"), from_place=origin, to_place=destination, from_city=city(origin),
        to_city=city(destination), departure_date=value("departure_date", _date), departure_time=at,
        seat_class=seat_class, cabin=Extracted(cabin, 1.0, source) if cabin else missing(source),
        booking_letter=missing(source), seat=value("seat"))
    fare = value("fare", _money)
    ticket = TravelTicket(
        kind=TicketKind.RAIL, number=value("number"), issue_date=value("issue_date", _date),
        passenger_name=value("passenger_name"), passenger_id=value("passenger_id"), segments=(segment,),
        fare=fare, fuel_surcharge=missing(source), development_fund=missing(source), other_taxes=missing(source),
        total=fare, ticket_no=value("ticket_no"), buyer_name=value("buyer_name"),
        buyer_tax_id=value("buyer_tax_id"))
    return ticket, findings + missing_findings(ticket)


def _station(text: str) -> str:
    return text.strip().removesuffix("站")


def _with_source(ticket: TravelTicket, source: Source) -> TravelTicket:
    """The ticket's values marked as read from ``source`` (the line reader marks them PDF text)."""
    def mark(obj: Any) -> Any:
        changes = {f.name: replace(getattr(obj, f.name), source=source) for f in fields(obj)
                   if isinstance(getattr(obj, f.name), Extracted)}
        return replace(obj, **changes)
    return replace(mark(ticket), segments=tuple(mark(s) for s in ticket.segments))


def _member(archive: zipfile.ZipFile, path: str) -> bytes | None:
    try:
        info = archive.getinfo(path.lstrip("/"))
    except KeyError:
        return None
    return archive.read(info) if info.file_size <= MAX_MEMBER_BYTES else None


def _all(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if _local(e.tag) == name.lower()]


def read_ticket_ofd(data: bytes) -> tuple[TravelTicket | None, list[Finding]]:
    """A rail or air ticket in an OFD (attached XML first, else the first page), or (None, []) for another file."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            ofd_xml = _member(archive, "OFD.xml")
            roots = _all(ET.fromstring(ofd_xml), "DocRoot") if ofd_xml else []
            if not roots or not roots[0].text:
                return None, []
            doc_path = roots[0].text.strip().lstrip("/")
            doc_dir = posixpath.dirname(doc_path)
            document = _member(archive, doc_path)
            if document is None:
                return None, []
            doc_root = ET.fromstring(document)
            for loc in _all(doc_root, "Attachments"):
                listing_path = posixpath.join(doc_dir, (loc.text or "").strip())
                listing = _member(archive, listing_path)
                for file_loc in _all(ET.fromstring(listing), "FileLoc") if listing else []:
                    name = (file_loc.text or "").strip()
                    payload = _member(archive, posixpath.join(posixpath.dirname(listing_path), name))
                    if payload is not None and name.lower().endswith(".xml"):
                        ticket, findings = read_rail_xml(payload, Source.XML)
                        if ticket is not None:
                            return ticket, findings
            pages = [p for p in _all(doc_root, "Page") if p.get("BaseLoc")]
            content = _member(archive, posixpath.join(doc_dir, str(pages[0].get("BaseLoc")))) if pages else None
            templates = [_member(archive, posixpath.join(doc_dir, str(t.get("BaseLoc"))))
                         for t in _all(doc_root, "TemplatePage")]
            text = b"".join([content or b"", *(t for t in templates if t)]).decode("utf-8", "replace")
            if content is None or not set(text) >= _TITLE_CHARS:
                return None, []  # an invoice or receipt: its page is not parsed a second time
            glyphs = template_glyphs(archive, doc_dir, doc_root, ET.fromstring(content)) + page_glyphs(content)
    except (zipfile.BadZipFile, OSError, ET.ParseError, ValueError, KeyError):
        return None, []
    if not {g.text for g in glyphs} >= _TITLE_CHARS:
        return None, []  # an invoice or receipt: no line building for a title that cannot be there
    ticket, findings = read_travel_document(build_lines(glyphs))
    return (_with_source(ticket, Source.OFD) if ticket is not None else None), findings


def digital_ticket_reader(data: bytes, fmt: SourceFormat) -> TicketResult | None:
    """The reader registered with ``extract_invoice`` for XML and OFD files: a ticket, or None for other files.

    A refund/change voucher in OFD gives (None, None, [finding]) so the file goes to a clerk with the reason.
    """
    if fmt is SourceFormat.XML:
        ticket, findings = read_rail_xml(data)
    elif fmt is SourceFormat.OFD:
        ticket, findings = read_ticket_ofd(data)
    else:
        return None
    if ticket is None:
        return (None, None, findings) if findings else None
    return ticket, ticket_record(ticket, ticket.number.source), findings + validate_ticket(ticket)
