"""QR codes in born-digital PDFs: invoices and fiscal e-receipts cross-checked against their text."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from extractors.invoice import extract_invoice
from extractors.invoice import pdf as pdf_reader
from extractors.invoice.samples import chinese_pdf
from extractors.ocr.qr import parse_fiscal_qr
from tests.extractors.conftest import LATE
from tests.support.ocr_samples import SCAN_LAYOUTS, fiscal_receipt_with_qr, qr_payload, text_pdf_with_qr


@pytest.mark.parametrize("layout", SCAN_LAYOUTS)
def test_the_qr_code_of_a_text_pdf_invoice_confirms_its_values(layout: str) -> None:
    sample = text_pdf_with_qr(layout, 11)
    result = extract_invoice(sample.data, filename=sample.filename, today=LATE)
    assert result.record is not None and sample.truth is not None
    assert "QR_AGREES" in result.finding_codes() and "QR_MISMATCH" not in result.finding_codes()
    assert result.record.number.value == sample.truth.number.value
    assert result.record.number.confidence >= 0.99
    assert result.record.issue_date.value == sample.truth.issue_date.value


def test_an_edited_text_pdf_whose_qr_code_disagrees_goes_to_review() -> None:
    honest = text_pdf_with_qr("pre2024-standard", 12)
    assert honest.truth is not None and honest.truth.total_amount.value is not None
    printed = honest.truth.total_amount.value
    forged = printed + Decimal("100.00")
    payload = qr_payload(honest.truth).replace(f",{printed:.2f},", f",{forged:.2f},")
    sample = text_pdf_with_qr("pre2024-standard", 12, payload=payload)
    result = extract_invoice(sample.data, filename=sample.filename, today=LATE)
    mismatch = [f for f in result.findings if f.code == "QR_MISMATCH"]
    assert [f.field for f in mismatch] == ["total_amount"]
    assert mismatch[0].evidence == {"printed": f"{printed:.2f}", "qr": f"{forged:.2f}"}
    assert result.blocked


def test_a_text_pdf_without_a_picture_or_drawn_code_is_not_rendered(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls: list[int] = []

    def counting(data: bytes, regions, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(len(regions))
        return []

    monkeypatch.setattr(pdf_reader, "decode_pdf_qr", counting)
    plain = chinese_pdf("pre2024-standard", 13)
    assert extract_invoice(plain.data, filename=plain.filename, today=LATE).record is not None
    assert calls == []  # no picture, no code: the text path renders nothing
    coded = text_pdf_with_qr("pre2024-standard", 13)
    extract_invoice(coded.data, filename=coded.filename, today=LATE)
    assert calls == [1]  # only the code's own region


def test_the_fiscal_receipt_qr_code_is_checked_against_the_receipt() -> None:
    data, values = fiscal_receipt_with_qr(1)
    result = extract_invoice(data, filename="receipt.pdf", today=LATE)
    assert result.receipt is not None
    assert "QR_AGREES" in result.finding_codes() and "QR_MISMATCH" not in result.finding_codes()
    assert result.receipt.check_code.confidence >= 0.99 and result.receipt.total.value == values["total"]

    edited, values = fiscal_receipt_with_qr(2, check_code="ZZ9999", issue_date=date(2020, 1, 2))
    result = extract_invoice(edited, filename="receipt.pdf", today=LATE)
    mismatch = {f.field: f.evidence for f in result.findings if f.code == "QR_MISMATCH"}
    assert mismatch == {"check_code": {"printed": values["check_code"], "qr": "ZZ9999"},
                        "issue_date": {"printed": str(values["issue_date"]), "qr": "2020-01-02"}}
    assert result.blocked


def test_fiscal_qr_payloads() -> None:
    qr = parse_fiscal_qr("https://pjcy.mof.gov.cn/check?data=33010124,0001234567,A1b2C3,1280.50,20250314")
    assert qr is not None
    assert (qr.code, qr.number, qr.check_code, qr.amount, qr.issue_date) == (
        "33010124", "0001234567", "A1b2C3", Decimal("1280.50"), date(2025, 3, 14))
    for text in ("https://example.com/menu", "01,10,044031900111,12345678,1130.00,20230215,1234,A1B2",
                 "33010124,0001234567,A1b2C3,1280.50,20251399", "3301012,0001234567,A1b2C3,1.00,20250314"):
        assert parse_fiscal_qr(text) is None, text
