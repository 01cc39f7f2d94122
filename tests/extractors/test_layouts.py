"""Field-by-field ground-truth comparison for every generated layout."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from extractors.invoice import InvoiceKind, Source, SourceFormat, extract_invoice
from extractors.invoice.samples import LAYOUT_STYLES
from tests.support.invoice_samples import SAMPLE_FACTORIES

LATE = date(2100, 1, 1)  # "today" far ahead, so generated dates are never in the future

READABLE = [name for name in SAMPLE_FACTORIES if name != "pre2024-unmapped"]


@pytest.mark.parametrize("layout", READABLE)
@pytest.mark.parametrize("seed", [1, 2])
def test_every_field_matches_ground_truth(layout: str, seed: int, make_sample) -> None:  # type: ignore[no-untyped-def]
    sample = make_sample(layout, seed)
    result = extract_invoice(sample.data, filename=sample.filename, today=LATE)
    assert result.record is not None, result.findings
    assert result.needs_manual_entry is None
    want, got = sample.truth.flat_values(), result.record.flat_values()
    assert set(got) == set(want)
    for key in want:
        assert got[key] == want[key], f"{sample.name} {key}: want {want[key]!r}, got {got[key]!r}"
    blocking = [f for f in result.findings if f.severity == "block"]
    assert blocking == []


@pytest.mark.parametrize("layout", [n for n in LAYOUT_STYLES if n != "pre2024-unmapped"])
def test_pdf_values_carry_confidence_and_position_sources(layout: str, make_sample) -> None:  # type: ignore[no-untyped-def]
    sample = make_sample(layout, 1)
    record = extract_invoice(sample.data, today=LATE).record
    assert record is not None
    assert record.number.source in (Source.PDF_TEXT, Source.PDF_POSITION)
    assert 0.9 <= record.number.confidence <= 1.0
    assert record.items and all(0 < item.amount.confidence <= 1 for item in record.items)
    assert record.lowest_confidence() == 0.0 or record.lowest_confidence() > 0.3


def test_separate_blocks_are_matched_by_position(make_sample) -> None:  # type: ignore[no-untyped-def]
    record = extract_invoice(make_sample("pre2024-separate", 1).data, today=LATE).record
    assert record is not None
    assert record.check_code.source is Source.PDF_POSITION  # the value sits below its label
    assert record.buyer_name.source is Source.PDF_POSITION


def test_codes_stay_strings_with_leading_zeros(make_sample) -> None:  # type: ignore[no-untyped-def]
    sample = make_sample("pre2024-standard", 4)
    record = extract_invoice(sample.data, today=LATE).record
    assert record is not None
    assert isinstance(record.code.value, str) and record.code.value.startswith("0")
    assert len(record.code.value) == 12 and len(record.check_code.value or "") == 20
    assert record.kind.value is InvoiceKind.ELECTRONIC_ORDINARY


def test_digitalised_invoice_has_twenty_digit_number_and_no_code(make_sample) -> None:  # type: ignore[no-untyped-def]
    record = extract_invoice(make_sample("digital-standard", 2).data, today=LATE).record
    assert record is not None
    assert record.kind.value is InvoiceKind.DIGITAL
    assert len(record.number.value or "") == 20 and record.code.value is None


def test_special_invoice_kind_and_several_items(make_sample) -> None:  # type: ignore[no-untyped-def]
    record = extract_invoice(make_sample("pre2024-special", 1).data, today=LATE).record
    assert record is not None
    assert record.kind.value is InvoiceKind.ELECTRONIC_SPECIAL
    assert len(record.items) == 4
    assert sum((i.amount.value for i in record.items), Decimal(0)) == record.total_amount.value


def test_multiline_item_names_are_joined(make_sample) -> None:  # type: ignore[no-untyped-def]
    sample = make_sample("pre2024-multiline", 1)
    record = extract_invoice(sample.data, today=LATE).record
    assert record is not None
    assert [i.name.value for i in record.items] == [i.name.value for i in sample.truth.items]
    assert all(name.value and name.value.endswith("服务)") for name in (i.name for i in record.items))


def test_unmapped_glyphs_are_reported_not_kept(make_sample) -> None:  # type: ignore[no-untyped-def]
    sample = make_sample("pre2024-unmapped", 1)
    result = extract_invoice(sample.data, today=LATE)
    assert result.record is not None
    assert result.record.seller_name.value is None
    assert result.record.seller_name.confidence == 0.0
    unreadable = [f for f in result.findings if f.code == "GLYPHS_UNREADABLE"]
    assert unreadable and unreadable[0].field == "seller_name"
    assert "cid" not in str(result.record.values())
    assert result.record.buyer_name.value == sample.truth.buyer_name.value


def test_xml_is_exact_and_ofd_prefers_its_attached_xml(make_sample) -> None:  # type: ignore[no-untyped-def]
    xml = extract_invoice(make_sample("xml", 1).data)
    assert xml.source_format is SourceFormat.XML
    assert xml.record is not None and xml.record.number.confidence == 1.0
    ofd = extract_invoice(make_sample("ofd-xml", 1).data)
    assert ofd.source_format is SourceFormat.OFD
    assert ofd.record is not None and ofd.record.number.source is Source.XML
    text_only = extract_invoice(make_sample("ofd-text", 1).data)
    assert text_only.record is not None and text_only.record.number.source is Source.OFD


def test_reads_from_a_path(tmp_path, make_sample) -> None:  # type: ignore[no-untyped-def]
    sample = make_sample("digital-separate", 1)
    path = tmp_path / sample.filename
    path.write_bytes(sample.data)
    result = extract_invoice(path, today=LATE)
    assert result.record is not None
    assert result.record.number.value == sample.truth.number.value


def test_samples_are_deterministic() -> None:
    first = SAMPLE_FACTORIES["pre2024-spaced"](9)
    second = SAMPLE_FACTORIES["pre2024-spaced"](9)
    assert first.data == second.data and first.truth == second.truth
