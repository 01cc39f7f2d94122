"""A ticket as an invoice: the record the claim keeps for every attachment, and the ticket's own checks.

Rail e-tickets and air e-itineraries are VAT invoices (20-digit number, buyer, amount), so the claim
stores them like any invoice — duplicates are found on the number — and keeps the journey beside it.
The amounts map as the tax rules read them: total = what was paid, tax = the deductible VAT, amount =
total − tax (for a flight the development fund stays in the amount: it is not taxed).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from extractors.invoice.layout import Glyph, build_lines
from extractors.invoice.model import Extracted, InvoiceKind, InvoiceRecord, Source, missing
from extractors.invoice.pdf import PAGE_READERS, PdfOutcome
from extractors.invoice.validation import check_tax_id
from extractors.travel.model import TicketKind, TravelTicket
from extractors.travel.read import read_travel_document
from smartfin.kernel.findings import Finding, Severity

_KIND = {TicketKind.RAIL: InvoiceKind.RAIL_TICKET, TicketKind.AIR: InvoiceKind.AIR_ITINERARY}
_TWENTY = re.compile(r"\d{20}")
_TITLE_CHARS = frozenset("客票")


def read_travel_page(glyphs: list[Glyph]) -> PdfOutcome | None:
    """The travel document on a PDF page as the invoice reader's outcome; None when the page is not one.

    A refund/change voucher gives no record and the finding as the reason for manual entry; a ticket
    gives its invoice record, its own findings and checks, and the ticket itself.
    """
    if not {g.text for g in glyphs} >= _TITLE_CHARS:
        return None  # most invoices: no line building for a title that cannot be there
    ticket, findings = read_travel_document(build_lines(glyphs))
    if ticket is None:
        return PdfOutcome(None, findings, findings[0].message) if findings else None
    findings = findings + validate_ticket(ticket)
    blocking = [f for f in findings if f.severity is Severity.BLOCK]
    return PdfOutcome(ticket_record(ticket), findings, blocking[0].message if blocking else None, ticket)


def register() -> None:
    """Let ``extract_invoice`` read rail and air tickets in PDF files (idempotent)."""
    if read_travel_page not in PAGE_READERS:
        PAGE_READERS.append(read_travel_page)


def ticket_record(ticket: TravelTicket, source: Source = Source.PDF_TEXT) -> InvoiceRecord:
    """The invoice fields of a ticket (kind, number, date, buyer, amounts); the journey stays on the ticket."""
    vat = ticket.deductible_vat
    total = ticket.total
    confidence = min(ticket.fare.confidence, total.confidence) if ticket.fare.value is not None else 0.0
    amount = None if vat is None or total.value is None else total.value - vat
    none = missing(source)

    def computed(value: Decimal | None) -> Extracted[Decimal]:
        return Extracted(value, confidence, source) if value is not None else none

    return InvoiceRecord(
        kind=Extracted(_KIND[ticket.kind], 1.0, source), code=none, number=ticket.number,
        issue_date=ticket.issue_date, check_code=none, machine_no=none, buyer_name=ticket.buyer_name,
        buyer_tax_id=ticket.buyer_tax_id, seller_name=none, seller_tax_id=none, items=(),
        total_amount=computed(amount), total_tax=computed(vat), total_with_tax=total, total_uppercase=none,
        remarks=none, payee=none, reviewer=none, issuer=none, currency=Extracted("CNY", 1.0, source))


def validate_ticket(ticket: TravelTicket) -> list[Finding]:
    """The invoice checks that apply to a ticket: 20-digit number and the buyer's code (the date is checked
    by the invoice entry point, which knows today)."""
    out: list[Finding] = []
    number = ticket.number.value
    if number is not None and not _TWENTY.fullmatch(number):
        out.append(Finding("NUMBER_FORMAT", Severity.WARN, f"ticket number {number!r} is not 20 digits",
                           field="number"))
    return out + check_tax_id(ticket.buyer_tax_id.value, "buyer_tax_id")


def _json(value: Any) -> Any:
    if isinstance(value, date | Decimal):
        return value.isoformat() if isinstance(value, date) else str(value)
    if hasattr(value, "isoformat"):  # time
        return value.isoformat(timespec="minutes")
    return value


def ticket_to_stored(ticket: TravelTicket) -> dict[str, Any]:
    """The ticket as JSON-safe data (ISO dates and times, amounts as strings), for the claim's invoice row."""
    values = ticket.values()
    values["segments"] = [{k: _json(v) for k, v in s.items()} for s in values["segments"]]
    return {k: (v if k == "segments" else _json(v)) for k, v in values.items()}
