"""Line items on real layouts: toll columns, fuel, discount lines, wrapped names, many items, later pages."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from extractors.invoice import extract_invoice
from extractors.invoice.items import Column, column_of
from extractors.invoice.model import Extracted, Source
from extractors.invoice.samples_items import ITEM_LAYOUTS, item_sample
from extractors.invoice.validation import check_item_sums

LATE = date(2100, 1, 1)
SEEDS = range(8)


@pytest.fixture(scope="module")
def corpus() -> list:  # type: ignore[type-arg]
    return [item_sample(layout, seed) for layout in ITEM_LAYOUTS for seed in SEEDS]


def test_field_and_item_accuracy_over_the_item_corpus(corpus) -> None:  # type: ignore[no-untyped-def]
    fields_right = fields_total = items_right = items_total = 0
    wrong: list[str] = []
    for sample in corpus:
        record = extract_invoice(sample.data, filename=sample.filename, today=LATE).record
        want = sample.truth.flat_values()
        got = record.flat_values() if record is not None else {}
        for key, value in want.items():
            fields_total += 1
            if got.get(key) == value:
                fields_right += 1
            else:
                wrong.append(f"{sample.name} {key}: want {value!r} got {got.get(key)!r}")
        truth_items = [item.values() for item in sample.truth.items]
        read_items = [item.values() for item in record.items] if record is not None else []
        items_total += len(truth_items)
        items_right += sum(1 for i, item in enumerate(truth_items) if i < len(read_items) and read_items[i] == item)
    assert fields_right / fields_total >= 0.99, wrong[:10]
    assert items_right / items_total >= 0.99, wrong[:10]
    assert items_total > 200  # many items across the layouts, not a handful


@pytest.mark.parametrize("layout", ["items-toll", "items-toll-tight"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_toll_items_keep_plate_type_and_dates_out_of_the_amount(layout: str, seed: int) -> None:
    sample = item_sample(layout, seed)
    result = extract_invoice(sample.data, today=LATE)
    assert result.record is not None
    for read, truth in zip(result.record.items, sample.truth.items, strict=True):
        assert read.amount.value == truth.amount.value and read.amount.value < Decimal("1000")
        assert read.plate.value == truth.plate.value and read.vehicle_type.value in ("客车", "货车")
        assert isinstance(read.travel_from.value, date) and read.travel_from.value <= read.travel_to.value  # type: ignore[operator]
        assert read.tax_rate.value == Decimal("0.03")
    assert "ITEMS_AMOUNT_MISMATCH" not in result.finding_codes()


def test_discount_line_is_an_item_of_its_own() -> None:
    sample = next(s for s in (item_sample("items-discount", n) for n in range(20))
                  if any((i.amount.value or 0) < 0 for i in s.truth.items))
    record = extract_invoice(sample.data, today=LATE).record
    assert record is not None
    discounts = [i for i in record.items if (i.amount.value or 0) < 0]
    assert discounts and all(d.tax_rate.value == Decimal("0.13") and (d.tax.value or 0) < 0 for d in discounts)
    assert len(record.items) == len(sample.truth.items)
    assert sum((i.amount.value for i in record.items), Decimal(0)) == record.total_amount.value  # type: ignore[misc]


def test_fuel_in_litres_with_six_decimal_price() -> None:
    sample = item_sample("items-fuel", 3)
    item = extract_invoice(sample.data, today=LATE).record.items[0]  # type: ignore[union-attr]
    assert item.unit.value == "升"
    assert item.unit_price.value == sample.truth.items[0].unit_price.value
    assert item.unit_price.value.as_tuple().exponent == -6  # type: ignore[union-attr]


@pytest.mark.parametrize("layout", ["items-list", "items-continued"])
def test_items_on_later_pages_are_read(layout: str) -> None:
    sample = item_sample(layout, 4)
    result = extract_invoice(sample.data, today=LATE)
    assert result.record is not None
    assert [i.values() for i in result.record.items] == [i.values() for i in sample.truth.items]
    assert not {"ITEMS_INCOMPLETE", "PAGES_IGNORED", "ITEMS_AMOUNT_MISMATCH"} & set(result.finding_codes())


def test_sales_list_reference_without_its_page_goes_to_review() -> None:
    from rules.reimbursement.audit import needs_review

    result = extract_invoice(item_sample("items-list", 1, later_pages=False).data, today=LATE)
    assert "ITEMS_INCOMPLETE" in result.finding_codes()
    assert needs_review(result.findings)


def test_item_sums_name_the_difference() -> None:
    sample = item_sample("items-discount", 2)
    first = sample.truth.items[0]
    changed = replace(first, amount=Extracted(first.amount.value + Decimal("0.01"), 0.9, Source.PDF_POSITION))  # type: ignore[operator]
    record = replace(sample.truth, items=(changed, *sample.truth.items[1:]))
    findings = check_item_sums(record)
    assert [f.code for f in findings] == ["ITEMS_AMOUNT_MISMATCH"]
    assert "difference 0.01" in findings[0].message
    assert check_item_sums(sample.truth) == []


def test_item_mismatch_sends_the_claim_to_review() -> None:
    from rules.reimbursement.audit import needs_review

    sample = item_sample("items-fuel", 1)
    first = sample.truth.items[0]
    changed = replace(first, tax=Extracted(Decimal("0.00"), 0.9, Source.PDF_POSITION))
    assert needs_review(check_item_sums(replace(sample.truth, items=(changed,))))


def test_dates_and_amount_printed_without_gaps_are_cut_into_their_columns() -> None:
    import io

    import pdfplumber

    from extractors.invoice.items import find_header, line_cells
    from extractors.invoice.layout import build_lines
    from extractors.invoice.pdf import page_glyphs

    sample = item_sample("items-toll-tight", 0)
    with pdfplumber.open(io.BytesIO(sample.data)) as pdf:
        lines = build_lines(page_glyphs(pdf.pages[0]))
    index, columns = find_header(lines)  # type: ignore[misc]
    first = sample.truth.items[0]
    glued = f"{first.travel_from.value:%Y%m%d}{first.travel_to.value:%Y%m%d}{first.amount.value}"
    row = lines[index + 1]
    assert glued in row.text  # the file prints them as one run, like 2018021220180212184.65
    cells = line_cells(row, columns)
    assert (cells["travel_from"], cells["travel_to"], cells["amount"]) == (
        f"{first.travel_from.value:%Y%m%d}", f"{first.travel_to.value:%Y%m%d}", f"{first.amount.value}")


def test_values_go_to_the_column_they_overlap_and_can_hold() -> None:
    columns = [Column("row_no", 38, 56, float("-inf"), 78), Column("name", 100, 170, 78, 190),
               Column("amount", 444, 466, 190, 479), Column("tax_rate", 492, 538, 479, float("inf"))]
    assert column_of(columns, 63, 93, "试服务)") == "name"  # text never lands in the row-number column
    assert column_of(columns, 476, 492, "5.00") == "amount"  # a right-aligned number near the next band
    assert column_of(columns, 505, 520, "13%") == "tax_rate"
    assert column_of(columns, 40, 45, "3") == "row_no"


def test_toll_items_survive_the_claims_storage() -> None:
    import json

    from smartfin.processes.reimbursement.claims import record_from_stored, record_to_stored

    record = extract_invoice(item_sample("items-toll", 5).data, today=LATE).record
    assert record is not None
    again = record_from_stored(json.loads(json.dumps(record_to_stored(record))))
    assert [i.values() for i in again.items] == [i.values() for i in record.items]
