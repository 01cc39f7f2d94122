"""Sales lists (销货清单) of any length: OFD list pages (tags or position), 30+ page PDF lists, the page ceiling."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest

from extractors.invoice import extract_invoice, ofd_lists, pdf
from extractors.invoice.samples_lists import ROWS_PER_PAGE, long_list_sample, ofd_list_sample

LATE = date(2100, 1, 1)


@pytest.fixture(scope="module")
def ofd_corpus() -> list:  # type: ignore[type-arg]
    return [ofd_list_sample(seed) for seed in range(8)] + [ofd_list_sample(seed, item_tags=True) for seed in range(4)]


def test_field_and_item_accuracy_over_ofd_lists(ofd_corpus) -> None:  # type: ignore[no-untyped-def]
    right = total = items_right = items_total = 0
    wrong: list[str] = []
    for sample in ofd_corpus:
        result = extract_invoice(sample.data, filename=sample.filename, today=LATE)
        got = result.record.flat_values() if result.record is not None else {}
        for key, value in sample.truth.flat_values().items():
            total += 1
            right += got.get(key) == value
            if got.get(key) != value:
                wrong.append(f"{sample.name} {key}: want {value!r} got {got.get(key)!r}")
        truth = [i.values() for i in sample.truth.items]
        read = [i.values() for i in result.record.items] if result.record is not None else []
        items_total += len(truth)
        items_right += sum(1 for i, item in enumerate(truth) if i < len(read) and read[i] == item)
        assert not {"ITEMS_AMOUNT_MISMATCH", "ITEMS_TAX_MISMATCH", "ITEMS_INCOMPLETE"} & set(result.finding_codes())
    assert right / total >= 0.99, wrong[:10]
    assert items_right / items_total >= 0.99, wrong[:10]
    assert items_total > 300 and any(len(s.truth.items) > 2 * ROWS_PER_PAGE for s in ofd_corpus)


def test_items_named_by_custom_tags_are_taken_from_the_tags() -> None:
    sample = ofd_list_sample(5, item_tags=True)
    record = extract_invoice(sample.data, today=LATE).record
    assert record is not None and len(record.items) == len(sample.truth.items)
    assert all(item.amount.confidence == 1.0 for item in record.items)  # exact, not matched by position


def _without_last_page(data: bytes) -> bytes:
    """The OFD with its last list page left out of the document (a page lost in transfer)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    pages = sorted(n for n in source.namelist() if n.startswith("Doc_0/Pages/"))
    last = pages[-1].removeprefix("Doc_0/")
    out = io.BytesIO()
    with source, zipfile.ZipFile(out, "w") as z:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == "Doc_0/Document.xml":
                start = body.index(f'BaseLoc="{last}"'.encode())
                body = body[:body.rindex(b"<ofd:Page ", 0, start)] + body[body.index(b"/>", start) + 2:]
            z.writestr(info, body)
    return out.getvalue()


def test_a_missing_list_page_sends_the_invoice_to_review_with_the_difference() -> None:
    sample = ofd_list_sample(2, rows=45)
    result = extract_invoice(_without_last_page(sample.data), today=LATE)
    assert result.record is not None and len(result.record.items) == 2 * ROWS_PER_PAGE
    mismatch = next(f for f in result.findings if f.code == "ITEMS_AMOUNT_MISMATCH")
    lost = sum((i.amount.value for i in sample.truth.items[2 * ROWS_PER_PAGE:]), Decimal(0))  # type: ignore[misc]
    assert Decimal(mismatch.evidence["difference"]) == -lost


def test_a_list_of_32_pages_is_read_whole() -> None:
    sample = long_list_sample(1)  # 640 rows on 32 list pages
    result = extract_invoice(sample.data, today=LATE)
    assert result.record is not None and result.needs_manual_entry is None
    assert [i.values() for i in result.record.items] == [i.values() for i in sample.truth.items]
    assert not {"PAGES_IGNORED", "PAGES_OVER_CEILING", "ITEMS_AMOUNT_MISMATCH"} & set(result.finding_codes())


def test_a_document_past_the_ceiling_is_read_to_it_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf, "PAGE_CEILING", 3)
    monkeypatch.setattr(ofd_lists, "PAGE_CEILING", 3)
    monkeypatch.setattr("extractors.invoice.pages.PAGE_CEILING", 3)
    for sample in (long_list_sample(2, rows=5 * ROWS_PER_PAGE), ofd_list_sample(3, rows=5 * ROWS_PER_PAGE)):
        result = extract_invoice(sample.data, filename=sample.filename, today=LATE)
        assert result.record is not None and len(result.record.items) == 2 * ROWS_PER_PAGE  # pages 2 and 3
        ceiling = next(f for f in result.findings if f.code == "PAGES_OVER_CEILING")
        assert ceiling.evidence == {"pages": 6, "ceiling": 3} and "4–6" in ceiling.message


def test_a_damaged_later_page_keeps_the_pages_before_it_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    sample = long_list_sample(3, rows=4 * ROWS_PER_PAGE)  # invoice page + 4 list pages
    real = pdf.page_glyphs

    def third_page_broken(page):  # type: ignore[no-untyped-def]
        if page.page_number == 4:
            raise pdf.PDFSyntaxError("bad content stream")
        return real(page)

    monkeypatch.setattr(pdf, "page_glyphs", third_page_broken)
    result = extract_invoice(sample.data, today=LATE)
    assert result.record is not None and len(result.record.items) == 2 * ROWS_PER_PAGE
    unreadable = next(f for f in result.findings if f.code == "PAGE_UNREADABLE")
    assert unreadable.severity.value == "block" and "page 4 of 5" in unreadable.message
