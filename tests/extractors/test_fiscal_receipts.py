"""Finance-bureau e-receipts (财政电子票据) in PDF and OFD: field accuracy over a generated corpus, and bad input."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest

from extractors.invoice import InvoiceKind, SourceFormat, extract_invoice
from extractors.receipts import ReceiptKind
from extractors.receipts.samples import (
    RECEIPT_LAYOUTS,
    ReceiptSample,
    ReceiptStyle,
    ofd_receipt,
    pdf_receipt,
    receipt_corpus,
    receipt_values,
    unreadable_check_code_sample,
    unsigned_sample,
)

LATE = date(2100, 1, 1)  # generated dates are in the past; keep the future-date rule out of accuracy
CORPUS_SIZE = 60


@pytest.fixture(scope="module")
def corpus() -> list[ReceiptSample]:
    return receipt_corpus(CORPUS_SIZE, seed=3)


def field_accuracy(samples: list[ReceiptSample]) -> tuple[int, int, list[str]]:
    """(matching fields, fields, mismatches) of every sample against its ground truth."""
    matched = total = 0
    bad: list[str] = []
    for sample in samples:
        result = extract_invoice(sample.data, filename=sample.filename, today=LATE)
        got = result.receipt.flat_values() if result.receipt is not None else {}
        keys = set(sample.truth) | set(got)
        wrong = [f"{sample.name}.{k}: want {sample.truth.get(k)!r} got {got.get(k)!r}" for k in sorted(keys)
                 if sample.truth.get(k) != got.get(k)]
        matched += len(keys) - len(wrong)
        total += len(keys)
        bad += wrong
    return matched, total, bad


def test_field_accuracy_over_the_corpus_is_at_least_99_percent(corpus: list[ReceiptSample]) -> None:
    matched, total, bad = field_accuracy(corpus)
    accuracy = matched / total
    print(f"\nfiscal e-receipt field accuracy: {matched}/{total} = {accuracy:.4%} over {len(corpus)} files "
          f"({', '.join(RECEIPT_LAYOUTS)})")
    assert total > CORPUS_SIZE * 20
    assert accuracy >= 0.99, bad[:20]


def test_the_corpus_covers_every_kind_both_formats_and_organisation_and_personal_payers(
        corpus: list[ReceiptSample]) -> None:
    assert {s.truth["kind"] for s in corpus} == set(ReceiptKind) - {ReceiptKind.OTHER}
    assert {s.filename.rsplit(".", 1)[1] for s in corpus} == {"pdf", "ofd"}
    assert any(s.truth["payer_tax_id"] is None for s in corpus)
    assert any(len(value) > 8 for s in corpus if s.layout == "fiscal-pdf-wrapped"  # names over two lines
               for key, value in s.truth.items() if key.endswith(".name"))
    assert any(s.truth["payer_tax_id"] for s in corpus)


@pytest.mark.parametrize("layout", RECEIPT_LAYOUTS)
def test_a_receipt_is_dispatched_read_whole_and_kept_with_its_verification_data(layout: str,
                                                                                 corpus: list[ReceiptSample]) -> None:
    sample = next(s for s in corpus if s.layout == layout)
    result = extract_invoice(sample.data, filename=sample.filename, today=LATE)
    assert result.source_format is (SourceFormat.PDF if layout.startswith("fiscal-pdf") else SourceFormat.OFD)
    assert result.needs_manual_entry is None, result.findings
    assert [c for c in result.finding_codes() if c != "QR_AGREES"] == []  # a receipt's QR code may confirm it
    receipt = result.receipt
    assert receipt is not None and receipt.signed
    assert receipt.verify_url.value == sample.truth["verify_url"]
    record = result.record  # the shape claims store for every attachment
    assert record is not None and record.kind.value is InvoiceKind.FISCAL_RECEIPT
    assert (record.code.value, record.number.value, record.check_code.value) == (
        sample.truth["code"], sample.truth["number"], sample.truth["check_code"])
    assert record.total_with_tax.value == sample.truth["total"] and record.currency.value == "CNY"
    assert record.seller_name.value == sample.truth["payee_unit"]
    assert [i.amount.value for i in record.items] == [
        sample.truth[f"items[{n}].amount"] for n in range(len(record.items))]


def test_an_unreadable_check_code_sends_the_receipt_to_review_with_everything_else_kept() -> None:
    sample = unreadable_check_code_sample()
    result = extract_invoice(sample.data, filename=sample.filename, today=LATE)
    assert "FISCAL_CHECK_CODE_UNREADABLE" in result.finding_codes()
    assert result.needs_manual_entry is not None and "check code" in result.needs_manual_entry
    assert result.receipt is not None
    assert result.receipt.check_code.confidence < 0.9
    assert result.receipt.number.value == sample.truth["number"]
    assert result.receipt.total.value == sample.truth["total"]


@pytest.mark.parametrize("ofd", [False, True])
def test_a_file_without_its_electronic_signature_is_read_and_flagged_for_verification(ofd: bool) -> None:
    sample = unsigned_sample(ofd=ofd)
    result = extract_invoice(sample.data, filename=sample.filename, today=LATE)
    assert result.receipt is not None and not result.receipt.signed
    assert [c for c in result.finding_codes() if c != "QR_AGREES"] == ["FISCAL_UNSIGNED"]
    assert result.receipt.number.value == sample.truth["number"]


def test_a_total_that_disagrees_with_the_items_and_the_capitals_is_flagged() -> None:
    rng = random.Random("tampered")
    v = receipt_values(rng, ReceiptKind.NON_TAX)
    v = {**v, "total": v["total"] + Decimal("100.00")}  # figures changed, 大写 and items not
    result = extract_invoice(pdf_receipt(v, ReceiptStyle(), rng), today=LATE)
    codes = result.finding_codes()
    assert "FISCAL_ITEMS_TOTAL" in codes and "FISCAL_UPPERCASE_MISMATCH" in codes


def test_a_receipt_dated_after_today_is_blocked() -> None:
    rng = random.Random("future")
    v = receipt_values(rng, ReceiptKind.MEDICAL)
    result = extract_invoice(ofd_receipt(v, ReceiptStyle(), rng), today=date(2020, 1, 1))
    assert "FISCAL_DATE_FUTURE" in result.finding_codes() and result.needs_manual_entry is not None


def test_ofd_labels_kept_in_a_template_page_are_read_with_the_page() -> None:
    rng = random.Random("template")
    v = receipt_values(rng, ReceiptKind.DONATION)
    templated = extract_invoice(ofd_receipt(v, ReceiptStyle(), rng, template=True), today=LATE)
    assert templated.receipt is not None
    assert templated.receipt.payee_unit.value == v["payee_unit"]
    assert templated.receipt.total.value == v["total"]


def test_a_damaged_receipt_file_becomes_a_finding_not_a_crash() -> None:
    sample = receipt_corpus(1, seed=9)[0]
    result = extract_invoice(sample.data[: len(sample.data) // 3], filename=sample.filename, today=LATE)
    assert result.record is None and result.needs_manual_entry


def test_the_invoice_rules_applied_to_a_corrected_receipt_use_the_receipt_formats(
        corpus: list[ReceiptSample]) -> None:
    from dataclasses import replace

    from extractors.invoice import Extracted, validate_record

    record = extract_invoice(corpus[0].data, filename=corpus[0].filename, today=LATE).record
    assert record is not None
    assert [f.code for f in validate_record(record, today=LATE)] == []
    broken = replace(record, check_code=Extracted("12", 1.0, record.check_code.source))
    assert [f.code for f in validate_record(broken, today=LATE)] == ["CHECK_CODE_FORMAT"]
