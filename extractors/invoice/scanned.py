"""Scanned and photographed invoices: OCR text boxes read with the same labels as PDF text.

The OCR engine (``extractors.ocr``) gives upright text lines with scores; here each line becomes glyphs
spread over its box, so ``chinese.read_chinese_invoice`` matches labels and values by position exactly
as it does for PDF characters. Every value's confidence is then the reader's confidence times the
recognition score of the text it came from, and a value below the threshold is named in a finding, so
the clerk re-checks that field rather than the whole invoice. When the picture carries the invoice's QR
code, its number, date, amount and check code are a second reading the OCR result must agree with.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, time
from decimal import Decimal
from statistics import median
from typing import Any

import numpy as np

from extractors.invoice.chinese import LABELS, read_chinese_invoice
from extractors.invoice.foreign import read_foreign_invoice
from extractors.invoice.layout import Glyph, build_lines, find_labels, value_after
from extractors.invoice.model import ITEM_FIELDS, Extracted, InvoiceKind, InvoiceRecord, LineItem, Source
from extractors.invoice.uscc import is_valid_uscc
from extractors.ocr import (
    InvoiceQr,
    OcrPage,
    TextBox,
    load_image,
    parse_invoice_qr,
    read_qr_codes,
    read_text,
    render_pdf_pages,
)
from extractors.ocr.images import SCREEN_PEAK, check_page, screen_pattern
from smartfin.kernel.findings import Finding, Severity

DEFAULT_MIN_CONFIDENCE = 0.80
QR_CONFIDENCE = 0.95  # a value decoded from the QR code: error-corrected, but not cross-checked
QR_CONFIRMED = 0.99  # printed text and QR code, read independently, agree
TEXT_HEIGHT_PT = 10.0  # the box of a 9-point invoice line is about 10 points high
_NARROW = 0.55  # width of a Latin letter or digit relative to a Chinese character
_TALL = 1.5  # a box this much taller than wide holds a vertical title (购买方, 密码区)
_YEN_MISREAD = re.compile(r"(^|[:：)）])[?？Yy羊半](?=-?[\d,]+\.\d{2}$)")  # how the yen sign of an amount is misread


# an amount with its decimals (after CNY, ¥ or no letter) in which the recogniser read a zero as the letter O
_AMOUNT_WITH_O = re.compile(r"(?:(?<=CNY)|(?<![A-Za-z]))[\dOo,]*[Oo][\dOo,]*\.[\dOo]{2}(?![\dA-Za-z])"
                            r"|(?:(?<=CNY)|(?<![A-Za-z]))[\d,]+\.(?:[Oo]\d|\d[Oo]|[Oo]{2})(?![\dA-Za-z])")


def _currency_sign(text: str) -> str:
    """The yen sign in front of an amount, however the recogniser read it ('?38613.68' → '¥38613.68'), and
    the zeros of an amount read as the letter O ('CNY2O.00' → 'CNY20.00')."""
    text = _YEN_MISREAD.sub(lambda m: m[1] + "¥", text.replace(" ", ""))
    return _AMOUNT_WITH_O.sub(lambda m: m[0].replace("O", "0").replace("o", "0")
                              if any(c.isdigit() for c in m[0]) else m[0], text)


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    """What one picture yielded: a record, findings, and why a person must type it when no record."""

    record: InvoiceRecord | None
    findings: list[Finding]
    needs_manual_entry: str | None = None
    ticket: Any = None  # a rail or air ticket (extractors.travel.TravelTicket) read from the picture


# Readers of documents with a layout of their own (rail and air tickets) applied to the recognised text before
# the invoice reader: (glyphs, OCR page, threshold) → outcome, or None when the picture is not their kind.
# Their packages register them (extractors/__init__.py), so this module does not import them.
PictureReader = Callable[[list[Glyph], OcrPage, float], "ScanOutcome | None"]
PICTURE_READERS: list[PictureReader] = []


def read_image_invoice(data: bytes, *, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> ScanOutcome:
    """Read the invoice in a photo or scan (JPEG, PNG, TIFF …); damaged or unusable pictures are findings."""
    image, problem = load_image(data)
    if image is None or problem is not None:
        assert problem is not None
        return _refused(problem.code, problem.message, _REASONS.get(problem.code, "picture cannot be read"))
    return read_page_picture(image, min_confidence=min_confidence)


def read_scanned_pdf(data: bytes, *, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> ScanOutcome:
    """Read the invoice of a PDF whose first page is a picture (a scan saved as PDF) by OCR."""
    try:
        pages = render_pdf_pages(data, max_pages=1)
    except Exception as exc:  # a PDF pdfplumber could open but the renderer cannot
        return _refused("FILE_CORRUPT", f"the scanned page cannot be rendered: {type(exc).__name__}: {exc}",
                        "damaged PDF")
    if not pages:
        return _refused("FILE_CORRUPT", "the PDF has no pages", "damaged PDF")
    problem = check_page(pages[0])
    outcome = _refused(problem.code, problem.message, _REASONS.get(problem.code, "picture cannot be read")) \
        if problem is not None else read_page_picture(pages[0], min_confidence=min_confidence)
    if outcome.record is None:  # the clerk still learns it is a scan, and why OCR did not read it
        reason = outcome.needs_manual_entry or "not an invoice"
        scan = Finding("IMAGE_ONLY", Severity.BLOCK,
                       f"the page holds a picture and no text (a scan); OCR could not read an invoice on it: {reason}")
        return ScanOutcome(None, [scan, *outcome.findings], f"scan not readable by OCR: {reason}")
    note = Finding("OCR_SCANNED_PDF", Severity.INFO, "the PDF holds a scanned picture and no text; it was read by OCR")
    return replace(outcome, findings=[note, *outcome.findings])


def read_page_picture(image: np.ndarray, *, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> ScanOutcome:
    """OCR one page picture, map its text to invoice fields and check them against the page's QR code."""
    codes = read_qr_codes(image)
    invoice_codes = _distinct_invoice_codes([parse_invoice_qr(c.text) for c in codes])
    page = read_text(image)
    findings: list[Finding] = []
    if not page.boxes:
        return _refused("OCR_NO_TEXT", "no text could be recognised on the picture", "no text recognised")
    findings.append(Finding(
        "OCR_READ", Severity.INFO,
        f"read by OCR from a picture (turned {page.rotation}°, skew {page.skew}°, mean recognition score "
        f"{page.mean_score():.2f})",
        evidence={"rotation": page.rotation, "skew": page.skew, "mean_score": round(page.mean_score(), 3)}))
    if page.rotation:
        findings.append(Finding("IMAGE_ROTATED", Severity.INFO,
                                f"the picture was {'upside down' if page.rotation == 180 else 'on its side'}; "
                                f"it was turned {page.rotation}° before reading",
                                evidence={"rotation": page.rotation}))
    peak = screen_pattern(image)
    if peak >= SCREEN_PEAK:
        findings.append(Finding(
            "IMAGE_SCREEN_PHOTO", Severity.WARN,
            "the picture looks like a photo of a screen (moiré pattern): values may be misread; ask for the "
            "original file", evidence={"pattern_strength": round(peak, 1)}))

    glyphs = ocr_glyphs(page.boxes)
    numbers = _printed_numbers(glyphs)
    if len(invoice_codes) > 1 or len(numbers) > 1:
        found = sorted({q.number for q in invoice_codes} | set(numbers))
        return ScanOutcome(None, [*findings, Finding(
            "TWO_INVOICES_ON_PAGE", Severity.BLOCK,
            f"the picture holds more than one invoice ({', '.join(found)}); upload each invoice as its own "
            "picture", evidence={"numbers": found, "qr_codes": len(invoice_codes)})],
            "two invoices on one picture")

    for reader in PICTURE_READERS:
        special = reader(glyphs, page, min_confidence)
        if special is not None:
            return replace(special, findings=findings + special.findings)
    record, reader_findings = read_chinese_invoice(glyphs, Source.OCR)
    if record is None:
        record, reader_findings = read_foreign_invoice(build_lines(glyphs))
        if record is None:
            return ScanOutcome(None, [*findings, Finding(
                "NOT_AN_INVOICE", Severity.BLOCK,
                "text was recognised on the picture but no invoice title and number")], "not an invoice")
    record = rescore(record, page)
    record, corrected = correct_confusions(record)
    findings.extend(reader_findings)
    findings.extend(corrected)
    if invoice_codes:
        record, checked = apply_qr(record, invoice_codes[0])
        findings.extend(checked)
    findings.extend(low_confidence_findings(record, min_confidence))
    return ScanOutcome(record, findings)


_REASONS = {
    "IMAGE_CORRUPT": "damaged picture",
    "IMAGE_TOO_SMALL": "picture too small to read",
    "IMAGE_BLANK": "blank picture",
    "IMAGE_TOO_LARGE": "picture too large",
}


def _refused(code: str, message: str, reason: str) -> ScanOutcome:
    return ScanOutcome(None, [Finding(code, Severity.BLOCK, message)], reason)


# ------------------------------------------------------------------------------ boxes to glyphs

def ocr_glyphs(boxes: Sequence[TextBox]) -> list[Glyph]:
    """Each recognised line as glyphs spread over its box, in points, so the PDF layout rules apply.

    The scale comes from the text itself (a printed line is about ``TEXT_HEIGHT_PT`` high), so photos
    of any resolution land on the invoice's own coordinates.
    """
    heights = [b.height for b in boxes if len(b.text) >= 2] or [b.height for b in boxes]
    per_point = max(median(heights), 1.0) / TEXT_HEIGHT_PT
    glyphs: list[Glyph] = []
    starts: list[int] = []
    for box in boxes:
        starts.append(len(glyphs))
        vertical = box.height > _TALL * box.width and len(box.text) > 1
        text = _currency_sign(box.text)
        pieces: Sequence[tuple[str, float, float, float, float]] = ((text, box.x0, box.x1, box.top, box.bottom),)
        if "".join(p[0] for p in box.pieces).replace(" ", "") == box.text.replace(" ", ""):
            pieces, at = [], 0  # the corrected text (same length), cut where the recogniser cut it
            for piece in box.pieces:
                n = len(piece[0].replace(" ", ""))
                pieces.append((text[at:at + n], *piece[1:]))
                at += n
        for piece_text, x0, x1, top, bottom in pieces:
            if not vertical:  # one printed line shares one baseline, whatever the recogniser's jitter
                top, bottom = box.top, box.bottom
            top, bottom = top / per_point, bottom / per_point
            size = (bottom - top) * 0.9
            chars = [c for c in piece_text if not c.isspace()]
            if not chars:
                continue
            units = [1.0 if unicodedata.east_asian_width(c) in "WF" else _NARROW for c in chars]
            step = (x1 - x0) / per_point / sum(units)
            x = x0 / per_point
            for char, unit in zip(chars, units, strict=True):
                glyphs.append(Glyph(char, x, x + unit * step * 0.9, top, bottom, size))
                x += unit * step
    return _align_columns(glyphs, starts)


def _align_columns(glyphs: list[Glyph], starts: list[int]) -> list[Glyph]:
    """Give characters stacked in one column (the vertical 购买方 / 销售方 titles) the same left edge.

    Recognition places characters within a point or two; the party titles are found by their exact
    column, as printed, so the first characters of lines that sit right above each other are aligned.
    """
    heads = sorted((i for i in starts if i < len(glyphs)), key=lambda i: glyphs[i].top)
    for n, upper in enumerate(heads):
        g = glyphs[upper]
        for lower in heads[n + 1:]:
            h = glyphs[lower]
            if h.top - g.bottom > 1.5 * g.size:
                break
            centre_g, centre_h = (g.x0 + g.x1) / 2, (h.x0 + h.x1) / 2
            if h.top > g.top and abs(centre_g - centre_h) < 0.5 * g.size:
                glyphs[lower] = h._replace(x0=g.x0, x1=g.x1)
                break
    return glyphs


def _printed_numbers(glyphs: Sequence[Glyph]) -> list[str]:
    """The distinct values printed after every 发票号码 label on the page."""
    lines = build_lines(glyphs)
    find_labels(lines, LABELS)
    numbers: list[str] = []
    for index, line in enumerate(lines):
        for hit in line.labels:
            if hit.name != "number":
                continue
            value = value_after(lines, index, hit)
            text = "".join(c for c in (value.text if value else "") if c.isdigit())
            if len(text) >= 8 and text not in numbers:
                numbers.append(text)
    return numbers


def _distinct_invoice_codes(parsed: Sequence[InvoiceQr | None]) -> list[InvoiceQr]:
    out: list[InvoiceQr] = []
    for qr in parsed:
        if qr is not None and all((qr.code, qr.number) != (o.code, o.number) for o in out):
            out.append(qr)
    return out


# ------------------------------------------------------------------------------ confidence

def _compact(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if not c.isspace() and c not in ",¥")


def _needles(value: Any) -> list[str]:
    """How a value appears in printed text, for finding the recognised line it came from."""
    if isinstance(value, time):
        return [f"{value:%H:%M}"]
    if isinstance(value, date):
        return [f"{value.year}年{value.month:02d}月{value.day:02d}日", f"{value:%Y%m%d}", f"{value:%Y-%m-%d}",
                f"{value.year}年{value.month}月{value.day}日"]
    if isinstance(value, Decimal):
        out = [str(value)]
        if value == value.to_integral_value():
            out.append(str(value.quantize(Decimal(1))))
        if abs(value) < 1:
            out.append(f"{(value * 100).normalize():f}%")
        return out
    return [_compact(str(value))]


def _ocr_score(value: Any, keyed: list[tuple[str, float]], fallback: float) -> float:
    """The recognition score of the line that holds the value (the weakest, when it spans lines)."""
    for needle in _needles(value):
        if not needle:
            continue
        holding = [score for text, score in keyed if needle in text]
        if holding:
            return max(holding)
        parts = [score for text, score in keyed if len(text) >= 2 and text in needle]
        if parts:
            return min(parts)
    return fallback


def recognition_scores(page: OcrPage) -> tuple[list[tuple[str, float]], float]:
    """Each recognised line's compact text with its score, and the weakest score (for values not found)."""
    return [(_compact(b.text), b.score) for b in page.boxes], min((b.score for b in page.boxes), default=0.0)


def ocr_score(value: Any, scores: tuple[list[tuple[str, float]], float]) -> float:
    """The recognition score of the text a value was read from, so any reader can weigh its OCR values."""
    return _ocr_score(value, *scores)


def _rescored(value: Extracted[Any], keyed: list[tuple[str, float]], fallback: float) -> Extracted[Any]:
    if value.value is None or isinstance(value.value, InvoiceKind):
        return replace(value, source=Source.OCR)
    score = _ocr_score(value.value, keyed, fallback)
    return Extracted(value.value, round(value.confidence * score, 4), Source.OCR)


def rescore(record: InvoiceRecord, page: OcrPage) -> InvoiceRecord:
    """The record with every confidence multiplied by the recognition score of the text it was read from."""
    keyed = [(_compact(b.text), b.score) for b in page.boxes]
    fallback = min((b.score for b in page.boxes), default=0.0)
    changes: dict[str, Any] = {}
    for f in fields(record):
        if f.name == "items":
            changes["items"] = tuple(
                LineItem(**{name: _rescored(getattr(item, name), keyed, fallback) for name in ITEM_FIELDS})
                for item in record.items)
        elif f.name == "currency":
            changes[f.name] = replace(record.currency, source=Source.OCR)
        else:
            changes[f.name] = _rescored(getattr(record, f.name), keyed, fallback)
    return InvoiceRecord(**changes)


_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "I": "1", "l": "1", "|": "1", "Z": "2", "S": "5",
                                   "B": "8"})
_USCC_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "Z": "2", "S": "5", "V": "U"})  # letters GB 32100 never uses
_DIGIT_FIELDS = {"code": (12,), "number": (8, 20), "check_code": (20,), "machine_no": (12,)}
CORRECTED_CONFIDENCE = 0.9  # a value repaired from look-alike letters is probably, not certainly, right


def correct_confusions(record: InvoiceRecord) -> tuple[InvoiceRecord, list[Finding]]:
    """Undo the recogniser's look-alike letters where a field's alphabet rules them out.

    Invoice codes and numbers are digits only, and a credit code never contains I, O, S, V or Z, so an
    'O' there is a misread '0'. A value repaired this way keeps a lowered confidence and is named.
    """
    changes: dict[str, Extracted[Any]] = {}
    for name, lengths in _DIGIT_FIELDS.items():
        value = getattr(record, name)
        if isinstance(value.value, str) and not value.value.isdigit():
            fixed = value.value.translate(_DIGIT_LOOKALIKES)
            if fixed.isdigit() and len(fixed) in lengths:
                changes[name] = Extracted(fixed, CORRECTED_CONFIDENCE, Source.OCR)
    for name in ("buyer_tax_id", "seller_tax_id"):
        value = getattr(record, name)
        if isinstance(value.value, str):
            fixed = value.value.upper().translate(_USCC_LOOKALIKES)
            if fixed != value.value and is_valid_uscc(fixed):
                changes[name] = Extracted(fixed, CORRECTED_CONFIDENCE, Source.OCR)
    if not changes:
        return record, []
    return replace(record, **changes), [
        Finding("OCR_CORRECTED", Severity.INFO,
                f"{name}: read as {getattr(record, name).value}, corrected to {value.value} (look-alike characters)",
                field=name, evidence={"read": getattr(record, name).value, "corrected": value.value})
        for name, value in changes.items()]


def low_confidence_findings(record: InvoiceRecord, threshold: float) -> list[Finding]:
    """One finding per value read with a confidence below the threshold: the fields the clerk checks."""
    weak: dict[str, float] = {}
    for key in record.flat_values():
        head, _, tail = key.partition(".")
        cell = getattr(record.items[int(head[6:-1])], tail) if head.startswith("items[") else getattr(record, key)
        if cell.value is not None and cell.confidence < threshold:
            weak[key] = cell.confidence
    return [Finding("OCR_LOW_CONFIDENCE", Severity.WARN,
                    f"{name}: read by OCR with confidence {score:.2f} (below {threshold:.2f}); check it against "
                    "the picture", field=name, evidence={"confidence": score, "threshold": threshold})
            for name, score in weak.items()]


# ------------------------------------------------------------------------------ QR cross-check

def qr_fields(record: InvoiceRecord, qr: InvoiceQr) -> dict[str, Any]:
    values: dict[str, Any] = {"number": qr.number, "issue_date": qr.issue_date,
                              "total_with_tax" if qr.amount_includes_tax else "total_amount": qr.amount}
    if qr.code:
        values["code"] = qr.code
    if qr.check_code:
        values["check_code"] = qr.check_code
    return values


def apply_qr(record: InvoiceRecord, qr: InvoiceQr) -> tuple[InvoiceRecord, list[Finding]]:
    """Check the printed values against the QR code, confirm those that agree, fill those not read.

    Two independent readings that agree make a value certain enough to skip the clerk's check; a value
    the text did not yield is taken from the code; a disagreement blocks the invoice with both values.
    """
    findings = cross_check_qr(record, qr)
    changes: dict[str, Extracted[Any]] = {}
    filled = []
    for name, coded in qr_fields(record, qr).items():
        value = getattr(record, name)
        if value.value is None:
            changes[name] = Extracted(coded, QR_CONFIDENCE, Source.OCR)
            filled.append(name)
        elif value.value == coded:
            changes[name] = Extracted(coded, max(value.confidence, QR_CONFIRMED), Source.OCR)
    if filled:
        findings.append(Finding(
            "QR_FILLED", Severity.INFO, f"not readable in the text, taken from the QR code: {', '.join(filled)}",
            evidence={name: str(changes[name].value) for name in filled}))
    return replace(record, **changes), findings


def cross_check_qr(record: InvoiceRecord, qr: InvoiceQr) -> list[Finding]:
    """Findings where the QR code and the printed text disagree; agreement is stated as a remark."""
    pairs = [(name, getattr(record, name).value, coded) for name, coded in qr_fields(record, qr).items()]
    findings = []
    for name, printed, coded in pairs:
        if printed is None:
            continue  # filled from the code by ``apply_qr``
        if printed != coded:
            findings.append(Finding("QR_MISMATCH", Severity.BLOCK,
                                    f"{name}: the printed text reads {printed} but the invoice's QR code says "
                                    f"{coded}", field=name, evidence={"printed": str(printed), "qr": str(coded)}))
    if not findings:
        findings.append(Finding("QR_AGREES", Severity.INFO,
                                "the QR code agrees with the printed number, date, amount and check code"))
    return findings
