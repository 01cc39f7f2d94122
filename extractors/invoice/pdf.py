"""PDF invoices: one pass over the first page's characters, then label/value matching by position.

Later pages (a continued item table, a sales list of any length) are read one character pass each, up to
the ceiling of ``extractors.invoice.pages``, and only for an invoice that can have them.

pdfplumber is the slowest step, so the page is parsed once (``page.chars``) and everything else works
on that list; pdfminer's warnings are silenced because logging them doubled the time on CJK fonts.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfparser import PDFSyntaxError
from pdfminer.psparser import PSException
from pdfplumber.utils.exceptions import PdfminerException

from extractors.invoice.chinese import continue_items, read_chinese_invoice
from extractors.invoice.foreign import read_foreign_invoice
from extractors.invoice.items import is_list_reference
from extractors.invoice.layout import Glyph, build_lines
from extractors.invoice.model import InvoiceRecord, Source
from extractors.invoice.pages import PAGE_CEILING, over_ceiling
from smartfin.kernel.findings import Finding, Severity


def silence_pdfminer() -> None:
    """pdfminer logs a warning per odd font or object; batches of invoices only need errors."""
    logging.getLogger("pdfminer").setLevel(logging.ERROR)


@dataclass(frozen=True, slots=True)
class PdfOutcome:
    """What one PDF yielded: a record, findings, and why a person must type it when no record."""

    record: InvoiceRecord | None
    findings: list[Finding]
    needs_manual_entry: str | None = None
    ticket: Any = None  # the travel document (extractors.travel.TravelTicket) when a page reader found one
    receipt: Any = None  # a fiscal e-receipt (extractors.receipts.FiscalReceipt) when a page reader found one


# Readers of documents with a layout of their own (rail and air tickets, fiscal e-receipts), tried before the
# invoice reader; each returns None for a page that is not its kind. Their packages register them
# (extractors/__init__.py), so this module does not import them.
PageReader = Callable[[list[Glyph]], "PdfOutcome | None"]
PAGE_READERS: list[PageReader] = []


def pdf_is_signed(data: bytes) -> bool:
    """A PDF signature dictionary (/Type /Sig with a /ByteRange) is present; its validity is the issuer's
    platform's to confirm."""
    return b"/ByteRange" in data and re.search(rb"/Type\s*/Sig\b", data) is not None


def page_glyphs(page: pdfplumber.page.Page) -> list[Glyph]:
    """The page's characters as glyphs; the only full-page operation done on the PDF."""
    return [Glyph(c["text"], c["x0"], c["x1"], c["top"], c["bottom"], c["size"]) for c in page.chars]


def read_pdf(data: bytes, *, password: str = "") -> PdfOutcome:
    """Read the invoice on the first page of a PDF; damaged, locked and scanned files become findings."""
    silence_pdfminer()
    try:
        pdf = pdfplumber.open(io.BytesIO(data), password=password)
        try:
            pages = pdf.pages
            glyphs = page_glyphs(pages[0]) if pages else []
            has_images = bool(pages[0].images) if pages else False
        except BaseException:
            pdf.close()
            raise
    except Exception as exc:  # pdfplumber wraps pdfminer's errors; look at the original one
        return _damaged(exc)
    with pdf:  # later pages are read only for an invoice that can have them; a reader's own bug propagates
        return _read_pages(pages, glyphs, has_images)


_PARSE_ERRORS = (PDFSyntaxError, PSException, ValueError, KeyError, TypeError, AttributeError, IndexError,
                 AssertionError, EOFError)


def _damaged(exc: Exception) -> PdfOutcome:
    inner = exc.args[0] if isinstance(exc, PdfminerException) and exc.args else exc
    if isinstance(inner, PDFPasswordIncorrect | PDFEncryptionError):
        return _refused("FILE_ENCRYPTED",
                        f"the PDF is password-protected and cannot be read ({type(inner).__name__})",
                        "encrypted PDF, open it and save an unprotected copy")
    if isinstance(inner, _PARSE_ERRORS):
        return _refused("FILE_CORRUPT", f"the PDF structure is damaged: {type(inner).__name__}: {inner}",
                        "damaged PDF")
    raise exc


def later_glyphs(pages: Sequence[pdfplumber.page.Page]) -> tuple[list[list[Glyph]], list[Finding]]:
    """The glyphs of pages 2 … ceiling, each page's parse cache dropped once read (memory stays flat).

    A damaged later page stops the reading there with a finding; the pages before it are kept.
    """
    out: list[list[Glyph]] = []
    for number, page in enumerate(pages[1:PAGE_CEILING], start=2):
        try:
            out.append(page_glyphs(page))
        except (PdfminerException, *_PARSE_ERRORS) as exc:
            return out, [Finding("PAGE_UNREADABLE", Severity.BLOCK,
                                 f"page {number} of {len(pages)} cannot be read ({type(exc).__name__}): the items "
                                 f"from page {number} on are missing, check them by hand", field="items")]
        page.close()
    return out, []


def _read_pages(pages: Sequence[pdfplumber.page.Page], glyphs: list[Glyph], has_images: bool) -> PdfOutcome:
    if not pages:
        return _refused("FILE_CORRUPT", "the PDF has no pages", "damaged PDF")
    findings: list[Finding] = []
    if not any(not g.text.isspace() for g in glyphs):
        if has_images:
            return _refused("IMAGE_ONLY", "the page holds images and no text: a scan or photo",
                            "image-only scan, no OCR")
        return _refused("NOT_AN_INVOICE", "the page has no text", "blank page, not an invoice")

    for reader in PAGE_READERS:
        special = reader(glyphs)
        if special is not None:
            return replace(special, findings=findings + special.findings)
    record, chinese_findings = read_chinese_invoice(glyphs, Source.PDF_POSITION, Source.PDF_TEXT)
    if record is not None:
        if len(pages) > 1 or any(is_list_reference(i.name.value or "") for i in record.items):
            later, unreadable = later_glyphs(pages)
            record, more = continue_items(record, later, Source.PDF_POSITION)
            chinese_findings += more + unreadable + over_ceiling(len(pages))
        return PdfOutcome(record, findings + chinese_findings)
    record, foreign_findings = read_foreign_invoice(build_lines(glyphs))
    if record is not None:
        return PdfOutcome(record, findings + foreign_findings)
    return _refused("NOT_AN_INVOICE", "the PDF has text but no invoice title and number", "not an invoice")


def _refused(code: str, message: str, reason: str) -> PdfOutcome:
    return PdfOutcome(None, [Finding(code, Severity.BLOCK, message)], reason)
