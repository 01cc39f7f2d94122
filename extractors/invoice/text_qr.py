"""The QR code of a text (born-digital) PDF cross-checked against the values read from its text.

The printed characters of a text PDF are exact, but the file can be edited: a changed amount in the text
layer leaves the QR code as the issuer made it. So a code found on the page (``extractors.ocr.pdf_qr``)
is compared like the code of a picture: an invoice's number, date, amount and check code
(``scanned.cross_check_qr``), a fiscal e-receipt's code, number, check code, date and total. A
disagreement is a blocking ``QR_MISMATCH`` naming both values; agreement raises the confidence of the
values; a page without a code is fine.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from extractors.invoice.model import Extracted, InvoiceRecord
from extractors.invoice.scanned import QR_CONFIRMED, cross_check_qr, qr_fields
from extractors.ocr.qr import FiscalQr, parse_fiscal_qr, parse_invoice_qr
from smartfin.kernel.findings import Finding, Severity


def check_invoice_qr(record: InvoiceRecord, texts: list[str]) -> tuple[InvoiceRecord, list[Finding]]:
    """The record with values the invoice's QR code confirms, and the cross-check's findings."""
    codes = [qr for qr in (parse_invoice_qr(t) for t in texts) if qr is not None]
    if not codes:
        return record, []
    qr = codes[0]
    findings = cross_check_qr(record, qr)
    confirmed = {name: _confirmed(getattr(record, name))
                 for name, coded in qr_fields(record, qr).items() if getattr(record, name).value == coded}
    return replace(record, **confirmed), findings


def check_receipt_qr(receipt: Any, texts: list[str]) -> tuple[Any, list[Finding]]:
    """A fiscal e-receipt (``extractors.receipts.FiscalReceipt``) checked against its QR code."""
    codes = [qr for qr in (parse_fiscal_qr(t) for t in texts) if qr is not None]
    if not codes:
        return receipt, []
    qr = codes[0]
    findings = []
    confirmed = {}
    for name, coded in _fiscal_fields(qr).items():
        printed = getattr(receipt, name).value
        if printed is None:
            continue
        if _same(printed, coded):
            confirmed[name] = _confirmed(getattr(receipt, name))
        else:
            findings.append(Finding("QR_MISMATCH", Severity.BLOCK,
                                    f"{name}: the printed text reads {printed} but the receipt's QR code says {coded}",
                                    field=name, evidence={"printed": str(printed), "qr": str(coded)}))
    if not findings:
        findings.append(Finding("QR_AGREES", Severity.INFO,
                                "the QR code agrees with the printed code, number, check code, date and total"))
    return replace(receipt, **confirmed), findings


def _fiscal_fields(qr: FiscalQr) -> dict[str, Any]:
    return {"code": qr.code, "number": qr.number, "check_code": qr.check_code, "issue_date": qr.issue_date,
            "total": qr.amount}


def _same(printed: Any, coded: Any) -> bool:
    if isinstance(coded, Decimal):
        return isinstance(printed, Decimal) and printed == coded
    if isinstance(coded, str):
        return str(printed).upper() == coded.upper()
    return bool(printed == coded)


def _confirmed(value: Extracted[Any]) -> Extracted[Any]:
    return replace(value, confidence=max(value.confidence, QR_CONFIRMED))
