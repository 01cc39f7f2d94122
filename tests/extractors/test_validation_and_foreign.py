"""Validation rules on records, and foreign invoices (template and fallback)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from extractors.invoice import Extracted, Source, extract_invoice, validate_record
from extractors.invoice.foreign import parse_foreign_amount, read_foreign_invoice
from extractors.invoice.layout import Glyph, build_lines
from smartfin.kernel.clock import hospital_today

LATE = date(2100, 1, 1)  # "today" far ahead, so generated dates are never in the future


def _codes(record, today=LATE) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.code for f in validate_record(record, today=today)]


def test_clean_record_has_no_findings(make_sample) -> None:  # type: ignore[no-untyped-def]
    assert _codes(make_sample("pre2024-standard", 1).truth) == []
    assert _codes(make_sample("digital-standard", 1).truth) == []


def test_tax_id_check_character(make_sample) -> None:  # type: ignore[no-untyped-def]
    record = make_sample("pre2024-standard", 1).truth
    tax_id = record.seller_tax_id.value
    altered = tax_id[:-1] + ("0" if tax_id[-1] != "0" else "1")
    assert "USCC_CHECK_FAILED" in _codes(replace(record, seller_tax_id=Extracted(altered, 0.9, Source.PDF_TEXT)))
    legacy = replace(record, buyer_tax_id=Extracted("110105123456789", 0.9, Source.PDF_TEXT))
    assert "TAX_ID_LEGACY" in _codes(legacy)


def test_identifier_formats(make_sample) -> None:  # type: ignore[no-untyped-def]
    record = make_sample("pre2024-standard", 1).truth
    bad = replace(record, code=Extracted("12345", 0.4, Source.PDF_TEXT),
                  number=Extracted("1234567", 0.4, Source.PDF_TEXT),
                  check_code=Extracted("1" * 19, 0.4, Source.PDF_TEXT),
                  machine_no=Extracted(None, 0.0, Source.PDF_TEXT))
    codes = _codes(bad)
    assert {"CODE_FORMAT", "NUMBER_FORMAT", "CHECK_CODE_FORMAT", "MACHINE_NO_MISSING"} <= set(codes)
    digital = make_sample("digital-standard", 1).truth
    assert "NUMBER_FORMAT" in _codes(replace(digital, number=Extracted("12345678", 1.0, Source.XML)))


def test_amount_plus_tax_must_equal_total(make_sample) -> None:  # type: ignore[no-untyped-def]
    record = make_sample("pre2024-standard", 1).truth
    total = record.total_with_tax.value + Decimal("0.01")
    codes = _codes(replace(record, total_with_tax=Extracted(total, 0.9, Source.PDF_TEXT)))
    assert "TOTALS_MISMATCH" in codes and "UPPERCASE_MISMATCH" in codes


def test_uppercase_total_must_parse_and_match(make_sample) -> None:  # type: ignore[no-untyped-def]
    record = make_sample("digital-standard", 1).truth
    assert "UPPERCASE_UNPARSEABLE" in _codes(replace(record, total_uppercase=Extracted("壹贰圆", 0.9, Source.XML)))
    assert "UPPERCASE_MISMATCH" in _codes(replace(record, total_uppercase=Extracted("壹圆整", 0.9, Source.XML)))


def test_items_must_add_up(make_sample) -> None:  # type: ignore[no-untyped-def]
    record = make_sample("pre2024-special", 1).truth
    first = replace(record.items[0], amount=Extracted(record.items[0].amount.value + 1, 0.9, Source.PDF_POSITION))
    assert "ITEMS_AMOUNT_MISMATCH" in _codes(replace(record, items=(first, *record.items[1:])))


def test_issue_date_not_in_future_china_time(make_sample) -> None:  # type: ignore[no-untyped-def]
    record = make_sample("digital-standard", 1).truth
    issued = record.issue_date.value
    assert "ISSUE_DATE_IN_FUTURE" in _codes(record, today=issued - timedelta(days=1))
    assert "ISSUE_DATE_IN_FUTURE" not in _codes(record, today=issued)
    tomorrow = replace(record, issue_date=Extracted(hospital_today() + timedelta(days=1), 1.0, Source.XML))
    assert "ISSUE_DATE_IN_FUTURE" in [f.code for f in validate_record(tomorrow)]


def test_extraction_reports_future_dates(make_sample) -> None:  # type: ignore[no-untyped-def]
    sample = make_sample("xml", 1)
    result = extract_invoice(sample.data, today=date(2020, 1, 1))
    assert "ISSUE_DATE_IN_FUTURE" in result.finding_codes()


def test_foreign_template_has_higher_confidence_than_fallback(make_sample) -> None:  # type: ignore[no-untyped-def]
    templated = extract_invoice(make_sample("foreign-template", 1).data, today=LATE).record
    fallback = extract_invoice(make_sample("foreign-fallback", 1).data, today=LATE).record
    assert templated is not None and fallback is not None
    assert templated.number.source is Source.TEMPLATE and fallback.number.source is Source.FALLBACK
    assert templated.total_with_tax.confidence > fallback.total_with_tax.confidence
    assert templated.currency.value == "EUR" and fallback.currency.value == "EUR"
    assert fallback.seller_tax_id.value and fallback.seller_tax_id.value.startswith("IE")


def _lines(*texts: str):  # type: ignore[no-untyped-def]
    glyphs = []
    for row, text in enumerate(texts):
        x = 50.0
        for ch in text:
            glyphs.append(Glyph(ch, x, x + 5, 100 + row * 14, 110 + row * 14, 10))
            x += 5
    return build_lines(glyphs)


def test_fallback_patterns_on_plain_text() -> None:
    record, _ = read_foreign_invoice(_lines(
        "Acme Surgical Inc.", "Tax Invoice", "Invoice #: INV-2024-0042", "Date: 2024-03-05",
        "Subtotal: $1,000.00", "Sales tax: $80.00", "Total Amount Due: USD 1,080.00", "VAT ID: GB123456789"))
    assert record is not None
    assert record.number.value == "INV-2024-0042"
    assert record.issue_date.value == date(2024, 3, 5)
    assert record.total_with_tax.value == Decimal("1080.00")
    assert record.currency.value == "USD"
    assert record.seller_tax_id.value == "GB123456789"
    assert record.seller_name.value == "Acme Surgical Inc."
    assert record.number.confidence < 0.9


def test_ambiguous_date_lowers_confidence() -> None:
    record, findings = read_foreign_invoice(_lines("Invoice No: A-100", "Invoice Date: 03/04/2024", "Total: 10.00"))
    assert record is not None and record.issue_date.confidence < 0.6
    assert "DATE_AMBIGUOUS" in [f.code for f in findings]


def test_foreign_amounts() -> None:
    assert parse_foreign_amount("1.234,56") == Decimal("1234.56")
    assert parse_foreign_amount("1,234.56") == Decimal("1234.56")
    assert parse_foreign_amount("1'234.50") == Decimal("1234.50")
    assert parse_foreign_amount("abc") is None
