"""QR codes on invoice pictures and the payload of a Chinese VAT invoice's code.

The tax bureau's QR holds ``01,<kind>,<code>,<number>,<amount>,<date YYYYMMDD>,<check code>,<crc>``: a
second, independent reading of the fields that matter most, which OCR can get wrong. A page with two
invoice QR codes holds two invoices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

import numpy as np

# kinds whose QR amount is the total without tax (pre-2024 VAT invoices); digitalised invoices (31, 32)
# carry the total with tax
PRE2024_KINDS = frozenset({"01", "04", "08", "10", "11", "14"})
DIGITAL_KINDS = frozenset({"09", "31", "32", "61", "83"})


@dataclass(frozen=True, slots=True)
class QrCode:
    """One decoded QR code and where it sits in the picture (pixels)."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    orientation: int  # degrees the code is turned in the picture, as the decoder reports it


@dataclass(frozen=True, slots=True)
class InvoiceQr:
    """The fields of an invoice QR payload; codes stay strings (leading zeros)."""

    kind: str
    code: str
    number: str
    amount: Decimal
    issue_date: date
    check_code: str
    raw: str

    @property
    def amount_includes_tax(self) -> bool:
        """Digitalised invoices put the total with tax in the QR, older ones the total without."""
        return self.kind in DIGITAL_KINDS


def read_qr_codes(image: np.ndarray) -> list[QrCode]:
    """All QR codes the decoder finds in a BGR or grey picture, in any orientation."""
    import zxingcpp

    found = []
    for barcode in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
        if not barcode.valid or not barcode.text:
            continue
        position = barcode.position
        xs = [p.x for p in (position.top_left, position.top_right, position.bottom_right, position.bottom_left)]
        ys = [p.y for p in (position.top_left, position.top_right, position.bottom_right, position.bottom_left)]
        found.append(QrCode(barcode.text, min(xs), min(ys), max(xs), max(ys), int(barcode.orientation)))
    return found


_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


def parse_invoice_qr(text: str) -> InvoiceQr | None:
    """The invoice fields of a QR payload, or None when the code is not an invoice's (a URL, a menu …)."""
    parts = [p.strip() for p in text.strip().split(",")]
    if len(parts) < 7 or parts[0] != "01" or not re.fullmatch(r"\d{2}", parts[1]):
        return None
    kind, code, number, amount_text, date_text, check_code = parts[1:7]
    if not re.fullmatch(r"\d{8}|\d{20}", number) or (code and not re.fullmatch(r"\d{10}|\d{12}", code)):
        return None
    m = _DATE.fullmatch(date_text)
    try:
        amount = Decimal(amount_text)
        issued = date(int(m[1]), int(m[2]), int(m[3])) if m else None
    except (InvalidOperation, ValueError):
        return None
    if issued is None or not amount.is_finite():
        return None
    return InvoiceQr(kind, code, number, amount, issued, check_code, text)


@dataclass(frozen=True, slots=True)
class FiscalQr:
    """The fields of a fiscal e-receipt's QR code (财政电子票据): code, number, check code, amount, date."""

    code: str
    number: str
    check_code: str
    amount: Decimal
    issue_date: date
    raw: str


_FISCAL = re.compile(r"(?<![0-9A-Za-z])(\d{8}),(\d{10}),([0-9A-Za-z]{6}),(-?\d+(?:\.\d{1,2})?),(\d{8})(?![0-9])")


def parse_fiscal_qr(text: str) -> FiscalQr | None:
    """The receipt fields of a fiscal e-receipt's QR payload, or None for any other code.

    The platform's code holds ``code,number,check code,amount,YYYYMMDD``, usually behind the verification
    address (``https://…?data=…``); the address part is not needed for the cross-check.
    """
    m = _FISCAL.search(text.strip())
    if m is None:
        return None
    d = _DATE.fullmatch(m[5])
    try:
        issued = date(int(d[1]), int(d[2]), int(d[3])) if d else None
    except ValueError:
        return None
    if issued is None:
        return None
    return FiscalQr(m[1], m[2], m[3], Decimal(m[4]), issued, text)
