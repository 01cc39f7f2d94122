"""Rail e-tickets and air e-itineraries in photos and scans: the ticket readers applied to recognised text.

The OCR lines arrive as glyphs spread over their boxes (``extractors.invoice.scanned.ocr_glyphs``), the same
input the PDF page reader takes, so ``read_travel_page`` reads a picture with exactly the rules it applies to
a PDF. Only the confidences differ: each value's confidence is the reader's times the recognition score of
the line it came from; a value derived from another (a city from its station, the class from the printed
seat) takes the score of its source. A value below the threshold is named for the clerk to check.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from extractors.invoice.layout import Glyph
from extractors.invoice.model import Extracted, Source
from extractors.invoice.scanned import PICTURE_READERS, ScanOutcome, ocr_score, recognition_scores
from extractors.ocr import OcrPage
from extractors.travel.invoice import read_travel_page, ticket_record
from extractors.travel.model import Segment, TravelTicket
from smartfin.kernel.findings import Finding, Severity

# values the reader derives from another printed value: (derived, printed)
_DERIVED = {"from_city": "from_place", "to_city": "to_place", "cabin": "seat_class"}
TICKET_LOW_CONFIDENCE = "TICKET_OCR_LOW_CONFIDENCE"


def read_travel_picture(glyphs: list[Glyph], page: OcrPage, min_confidence: float) -> ScanOutcome | None:
    """The rail or air ticket in a picture, its invoice record and findings; None when it holds no ticket.

    A refund or change voucher gives no record and its finding; a ticket whose values were recognised
    with a score below ``min_confidence`` keeps them and names each one (a review finding).
    """
    read = read_travel_page(glyphs)
    if read is None:
        return None
    if read.ticket is None:
        return ScanOutcome(None, read.findings, read.needs_manual_entry)
    ticket = rescore_ticket(read.ticket, page)
    weak = low_confidence_findings(ticket, min_confidence)
    findings = read.findings + weak
    blocking = [f for f in findings if f.severity is Severity.BLOCK]
    return ScanOutcome(ticket_record(ticket, Source.OCR), findings,
                       blocking[0].message if blocking else None, ticket)


def register() -> None:
    """Let pictures and scanned PDFs of rail and air tickets be read as tickets (idempotent)."""
    if read_travel_picture not in PICTURE_READERS:
        PICTURE_READERS.append(read_travel_picture)


def _weighed(value: Extracted[Any], score: float) -> Extracted[Any]:
    if value.value is None:
        return replace(value, source=Source.OCR)
    return Extracted(value.value, round(value.confidence * score, 4), Source.OCR)


def rescore_ticket(ticket: TravelTicket, page: OcrPage) -> TravelTicket:
    """The ticket with every confidence multiplied by the recognition score of the text it was read from."""
    scores = recognition_scores(page)

    def score(value: Extracted[Any]) -> float:
        return ocr_score(value.value, scores) if value.value is not None else 0.0

    changes: dict[str, Any] = {}
    for f in fields(ticket):
        if f.name == "kind":
            continue
        if f.name == "segments":
            changes["segments"] = tuple(_rescore_segment(s, score) for s in ticket.segments)
        else:
            value = getattr(ticket, f.name)
            changes[f.name] = _weighed(value, score(value))
    return replace(ticket, **changes)


def _rescore_segment(segment: Segment, score: Any) -> Segment:
    changes: dict[str, Extracted[Any]] = {}
    for f in fields(segment):
        value = getattr(segment, f.name)
        source = getattr(segment, _DERIVED.get(f.name, f.name))
        changes[f.name] = _weighed(value, score(source))
    return replace(segment, **changes)


def low_confidence_findings(ticket: TravelTicket, threshold: float) -> list[Finding]:
    """One finding per ticket value recognised below the threshold: the fields the clerk checks."""
    weak: dict[str, float] = {}
    for f in fields(ticket):
        if f.name in ("kind", "segments"):
            continue
        value = getattr(ticket, f.name)
        if value.value is not None and value.confidence < threshold:
            weak[f.name] = value.confidence
    for index, segment in enumerate(ticket.segments):
        for f in fields(segment):
            value = getattr(segment, f.name)
            if value.value is not None and value.confidence < threshold:
                weak[f"segments[{index}].{f.name}"] = value.confidence
    return [Finding(TICKET_LOW_CONFIDENCE, Severity.WARN,
                    f"客票 {name} 识别置信度 {score:.2f} 低于 {threshold:.2f}，请对照图片核对 / ticket {name}: read by "
                    f"OCR with confidence {score:.2f} (below {threshold:.2f}); check it against the picture",
                    field=name, evidence={"confidence": score, "threshold": threshold})
            for name, score in weak.items()]
