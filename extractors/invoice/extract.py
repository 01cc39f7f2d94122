"""The one entry point: any invoice file in, an ``ExtractionResult`` out, never an exception.

The best available source wins: the XML of a digitalised invoice (exact), then OFD (attached XML or
text objects), then PDF text by position. A file that cannot be read becomes findings and a reason for
manual entry, so a claim never stops on an unreadable attachment.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from extractors.invoice.model import (
    ExtractionResult,
    InvoiceRecord,
    SourceFormat,
)
from extractors.invoice.ofd import is_ofd, read_ofd
from extractors.invoice.pdf import pdf_is_signed, read_pdf
from extractors.invoice.scanned import DEFAULT_MIN_CONFIDENCE, read_image_invoice, read_scanned_pdf
from extractors.invoice.validation import check_issue_date, validate_record
from extractors.invoice.xml_invoice import read_invoice_xml
from smartfin.kernel.findings import Finding, Severity

# Whole-file readers of OFD documents with a layout of their own (fiscal e-receipts), tried before the invoice
# reader: (document, its record, findings) or None. Their packages register them (extractors/__init__.py).
OfdReader = Callable[[bytes], "tuple[Any, InvoiceRecord | None, list[Finding]] | None"]
OFD_READERS: list[OfdReader] = []
# Readers of rail and air tickets delivered as XML or OFD by the tax platform: (ticket, its record, findings),
# (None, None, findings) for a voucher that is no ticket, or None for other files. Registered like OFD_READERS.
TicketReader = Callable[[bytes, SourceFormat], "tuple[Any, InvoiceRecord | None, list[Finding]] | None"]
TICKET_READERS: list[TicketReader] = []

_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*", b"GIF8", b"BM")
_KEY_FIELDS = ("number", "total_with_tax")


@dataclass(frozen=True, slots=True)
class ExtractionSettings:
    """Limits for untrusted uploads; the defaults suit one-page invoices."""

    max_bytes: int = 20 * 1024 * 1024
    pdf_password: str = ""
    ocr_min_confidence: float = DEFAULT_MIN_CONFIDENCE  # OCR values below this are named for the clerk to check


DEFAULT_SETTINGS = ExtractionSettings()


def _refuse(code: str, message: str, reason: str, fmt: SourceFormat = SourceFormat.UNKNOWN) -> ExtractionResult:
    return ExtractionResult(None, fmt, (Finding(code, Severity.BLOCK, message),), reason)


def _load(source: str | os.PathLike[str] | bytes | bytearray | memoryview, filename: str | None,
          settings: ExtractionSettings) -> tuple[bytes | None, str | None, ExtractionResult | None]:
    """The file's bytes and name, or the result that refuses it (missing, empty, too large)."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        path = Path(source)
        filename = filename or path.name
        try:
            size = path.stat().st_size
            if size > settings.max_bytes:
                return None, filename, _refuse(
                    "FILE_TOO_LARGE", f"{size} bytes exceeds the limit of {settings.max_bytes} bytes",
                    "file too large for automatic reading")
            data = path.read_bytes()
        except FileNotFoundError:
            return None, filename, _refuse("FILE_NOT_FOUND", f"no file at {path}", "file not found")
        except OSError as exc:
            return None, filename, _refuse("FILE_UNREADABLE", f"cannot read {path}: {exc}", "file unreadable")
    if not data:
        return None, filename, _refuse("FILE_EMPTY", "the file is empty (0 bytes)", "empty file")
    if len(data) > settings.max_bytes:
        return None, filename, _refuse("FILE_TOO_LARGE",
                                       f"{len(data)} bytes exceeds the limit of {settings.max_bytes} bytes",
                                       "file too large for automatic reading")
    return data, filename, None


def sniff_format(data: bytes, filename: str | None = None) -> SourceFormat:
    """The format by content (magic bytes), not by the name a user gave the file."""
    head = data[:1024]
    if b"%PDF-" in head:
        return SourceFormat.PDF
    if data.startswith(b"PK\x03\x04"):
        return SourceFormat.OFD if is_ofd(data) else SourceFormat.UNKNOWN
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        return SourceFormat.XML
    if data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return SourceFormat.IMAGE
    return SourceFormat.UNKNOWN


def extract_invoice(source: str | os.PathLike[str] | bytes | bytearray | memoryview, *,
                    filename: str | None = None, settings: ExtractionSettings | None = None,
                    today: date | None = None) -> ExtractionResult:
    """Read one invoice file (path or bytes) into a record with confidences, findings and validation.

    Never raises: every problem with the file is returned as a finding, and ``needs_manual_entry`` says
    why a clerk has to type the invoice. ``today`` (China time by default) is for the future-date rule.
    """
    settings = settings or DEFAULT_SETTINGS
    fmt = SourceFormat.UNKNOWN
    try:
        data, filename, refused = _load(source, filename, settings)
        if refused is not None or data is None:
            return refused or _refuse("FILE_EMPTY", "no data", "empty file")
        fmt = sniff_format(data, filename)
        if fmt is SourceFormat.PDF:
            read = read_pdf(data, password=settings.pdf_password)
            if read.ticket is not None:
                return _finish_ticket(read.ticket, read.record, read.findings, today)
            if read.receipt is not None:
                receipt = replace(read.receipt, signed=pdf_is_signed(data))
                return _finish_receipt(receipt, read.record, read.findings, fmt=fmt, today=today)
            outcome = read
            if read.record is None and [f.code for f in read.findings] == ["IMAGE_ONLY"]:
                outcome = read_scanned_pdf(data, min_confidence=settings.ocr_min_confidence)
                if outcome.ticket is not None:  # a scanned rail or air ticket: the same checks as a PDF one
                    return _finish_ticket(outcome.ticket, outcome.record, outcome.findings, today, fmt)
            record, findings, reason = outcome.record, outcome.findings, outcome.needs_manual_entry
        elif fmt in (SourceFormat.OFD, SourceFormat.XML) and (ticket := _digital_ticket(data, fmt)) is not None:
            ticket_doc, record, findings = ticket
            if ticket_doc is None:
                blocking = [f for f in findings if f.severity is Severity.BLOCK]
                return ExtractionResult(None, fmt, tuple(findings), blocking[0].message if blocking else "not a ticket")
            return _finish_ticket(ticket_doc, record, findings, today, fmt)
        elif fmt is SourceFormat.OFD:
            for reader in OFD_READERS:
                special = reader(data)
                if special is not None:
                    return _finish_receipt(*special, fmt=fmt, today=today)
            record, findings = read_ofd(data)
            reason = None if record is not None else _reason(findings, "OFD could not be read")
        elif fmt is SourceFormat.XML:
            record, findings = read_invoice_xml(data)
            reason = None if record is not None else _reason(findings, "XML could not be read")
        elif fmt is SourceFormat.IMAGE:
            outcome = read_image_invoice(data, min_confidence=settings.ocr_min_confidence)
            if outcome.ticket is not None:  # a photographed rail or air ticket
                return _finish_ticket(outcome.ticket, outcome.record, outcome.findings, today, fmt)
            record, findings, reason = outcome.record, outcome.findings, outcome.needs_manual_entry
        else:
            name = f" ({filename})" if filename else ""
            if filename and filename.lower().endswith((".pdf", ".ofd", ".xml")):
                return _refuse("FILE_CORRUPT", f"the file{name} does not have the structure its name claims",
                               "damaged file")
            return _refuse("FORMAT_UNSUPPORTED", f"the file{name} is not PDF, OFD or XML",
                           "unsupported file format")
        return _finish(record, fmt, findings, reason, today)
    except Exception as exc:  # a reader bug must not stop a claim; it is reported, not swallowed
        return _refuse("EXTRACTION_FAILED", f"unexpected {type(exc).__name__}: {exc}",
                       "the file could not be read automatically", fmt)


def _digital_ticket(data: bytes, fmt: SourceFormat) -> tuple[Any, InvoiceRecord | None, list[Finding]] | None:
    for reader in TICKET_READERS:
        found = reader(data, fmt)
        if found is not None:
            return found
    return None


def _reason(findings: list[Finding], default: str) -> str:
    for finding in findings:
        if finding.severity is Severity.BLOCK:
            return finding.message
    return default


def _finish(record: InvoiceRecord | None, fmt: SourceFormat, findings: list[Finding], reason: str | None,
            today: date | None) -> ExtractionResult:
    if record is None:
        if not findings:
            findings = [Finding("NOT_AN_INVOICE", Severity.BLOCK, "no invoice found in the file")]
        return ExtractionResult(None, fmt, tuple(findings), reason or "not an invoice")
    findings = findings + validate_record(record, today=today)
    unreadable = [name for name in _KEY_FIELDS if getattr(record, name).value is None]
    reason = f"key fields not read: {', '.join(unreadable)}" if unreadable else None
    return ExtractionResult(record, fmt, tuple(findings), reason)


def _finish_ticket(ticket: object, record: InvoiceRecord | None, findings: list[Finding],
                   today: date | None, fmt: SourceFormat = SourceFormat.PDF) -> ExtractionResult:
    """A rail or air ticket, checked by its reader (a ticket has no code or seller); here only the date."""
    if record is not None and record.issue_date.value is not None:
        findings = findings + check_issue_date(record, today)
    blocking = [f for f in findings if f.severity is Severity.BLOCK]
    reason = blocking[0].message if blocking else None
    return ExtractionResult(record, fmt, tuple(findings), reason, ticket=ticket)
def _finish_receipt(receipt: Any, record: InvoiceRecord | None, findings: list[Finding], *, fmt: SourceFormat,
                    today: date | None) -> ExtractionResult:
    """A fiscal e-receipt: its own checks (code, number, check code, items, 大写, signature), not the VAT rules."""
    findings = findings + receipt.checks(today)
    blocking = [f for f in findings if f.severity is Severity.BLOCK]
    reason = blocking[0].message if blocking else None
    return ExtractionResult(record, fmt, tuple(findings), reason, receipt=receipt)
