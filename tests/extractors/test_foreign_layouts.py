"""Foreign invoices without a template: accuracy over supplier layouts in several languages, and the rules."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from extractors.invoice import InvoiceKind, Source, extract_invoice
from extractors.invoice.foreign import read_foreign_invoice
from extractors.invoice.foreign_labels import currency_in, parse_amount, parse_date
from extractors.invoice.layout import Glyph, build_lines
from tests.support.foreign_layouts import LAYOUTS, ForeignSample, foreign_corpus

LATE = date(2100, 1, 1)
FIELDS = ("number", "issue_date", "total_with_tax", "currency")


@pytest.fixture(scope="module")
def corpus() -> list[ForeignSample]:
    return foreign_corpus(per_layout=3, seed=5)


def test_number_date_total_and_currency_accuracy_is_at_least_90_percent(corpus: list[ForeignSample]) -> None:
    right: Counter[str] = Counter()
    wrong_by_layout: Counter[str] = Counter()
    misses: list[str] = []
    not_invoice = 0
    for sample in corpus:
        result = extract_invoice(sample.data, today=LATE)
        not_invoice += "NOT_AN_INVOICE" in result.finding_codes()
        got = result.record.values() if result.record is not None else {}
        for field in FIELDS:
            if got.get(field) == sample.truth[field]:
                right[field] += 1
            else:
                wrong_by_layout[sample.layout] += 1
                misses.append(f"{sample.name}.{field}: want {sample.truth[field]!r} got {got.get(field)!r}")
    total = len(corpus) * len(FIELDS)
    accuracy = sum(right.values()) / total
    print(f"\nforeign invoices, {len(LAYOUTS)} layouts × 3: number/date/total/currency accuracy "
          f"{sum(right.values())}/{total} = {accuracy:.1%} ("
          + ", ".join(f"{f} {right[f]}/{len(corpus)}" for f in FIELDS) + f"); called not an invoice: {not_invoice}")
    if wrong_by_layout:
        print("misses by layout: " + ", ".join(f"{k} {v}" for k, v in wrong_by_layout.most_common()))
    assert not_invoice == 0
    assert accuracy >= 0.90, misses[:20]


def test_the_layouts_cover_at_least_ten_suppliers_in_five_languages() -> None:
    assert len(LAYOUTS) >= 10
    assert len({name.split("-")[0] for name in LAYOUTS}) >= 8  # de fr nl us gb in es it ch ee


def test_every_layout_is_read_by_the_template_free_reader(corpus: list[ForeignSample]) -> None:
    for layout in LAYOUTS:
        sample = next(s for s in corpus if s.layout == layout)
        record = extract_invoice(sample.data, today=LATE).record
        assert record is not None, layout
        assert record.kind.value is InvoiceKind.FOREIGN and record.number.source is Source.FALLBACK


@pytest.mark.parametrize(("text", "want"), [
    ("1.234,56", "1234.56"), ("1,234.56", "1234.56"), ("1 234,56", "1234.56"), ("1\u00a0234,56", "1234.56"),
    ("1'234.56", "1234.56"), ("1,18,000.00", "118000.00"), ("49,90", "49.90"), ("1.234.567", "1234567.00"),
    ("12.5", "12.50"), ("-3,20", "-3.20"),
])
def test_amounts_with_either_decimal_mark_and_any_thousands_separator(text: str, want: str) -> None:
    assert parse_amount(text) == Decimal(want)


def test_a_lone_separator_before_three_digits_follows_the_invoice_s_decimal_mark() -> None:
    assert parse_amount("1.234") == Decimal("1234.00")
    assert parse_amount("1.234", decimal_comma=True) == Decimal("1234.00")
    assert parse_amount("1,234", decimal_comma=False) == Decimal("1234.00")
    assert parse_amount("abc") is None and parse_amount("12-34") is None


@pytest.mark.parametrize(("text", "want"), [
    ("5. März 2024", date(2024, 3, 5)), ("3 avril 2024", date(2024, 4, 3)), ("1er août 2024", date(2024, 8, 1)),
    ("12 maart 2024", date(2024, 3, 12)), ("21 marzo 2024", date(2024, 3, 21)),
    ("15 de enero de 2024", date(2024, 1, 15)), ("05-Apr-2024", date(2024, 4, 5)),
    ("March 4, 2024", date(2024, 3, 4)), ("2024-03-04", date(2024, 3, 4)), ("2024/03/04", date(2024, 3, 4)),
    ("4th March 2024", date(2024, 3, 4)), ("for 1 month, 4-Mar-24", date(2024, 3, 4)),
    ("04.03.2024", date(2024, 3, 4)), ("31/12/2024", date(2024, 12, 31)),
])
def test_dates_with_month_names_in_several_languages(text: str, want: date) -> None:
    found, certain, _ = parse_date(text, day_first=None)
    assert found == want and certain


def test_numeric_dates_follow_the_locale_and_stay_doubtful_without_one() -> None:
    assert parse_date("03/04/2024", day_first=False)[:2] == (date(2024, 3, 4), True)
    assert parse_date("03/04/2024", day_first=True)[:2] == (date(2024, 4, 3), True)
    assert parse_date("03/04/2024", day_first=None)[1] is False
    assert parse_date("13/04/2024", day_first=False)[:2] == (date(2024, 4, 13), True)  # 13 cannot be a month


def test_currency_by_iso_code_and_symbol() -> None:
    assert currency_in("Amount Due (USD) $1,321.20") == "USD"
    assert currency_in("Gesamtbetrag 146,91 €") == "EUR"
    assert currency_in("Total due £54.00") == "GBP"
    assert currency_in("Grand Total ₹ 1,18,000.00") == "INR"
    assert currency_in("Total CHF 1'234.50") == "CHF"
    assert currency_in("Total A$ 99.00") == "AUD"


def _lines(*texts: str):  # type: ignore[no-untyped-def]
    glyphs = []
    for row, text in enumerate(texts):
        x = 50.0
        for ch in text:
            glyphs.append(Glyph(ch, x, x + 5, 100 + row * 14, 110 + row * 14, 10))
            x += 5
    return build_lines(glyphs)


def test_the_amount_due_wins_over_subtotals_net_and_tax_lines() -> None:
    record, _ = read_foreign_invoice(_lines(
        "Opéra Télécom SA", "FACTURE", "N° de facture : FT12345678", "Date de facture : 12/03/2024",
        "Total HT 1 000,00 €", "TVA 20 % 200,00 €", "Total TTC 1 200,00 €", "Total payé 0,00 €"))
    assert record is not None and record.total_with_tax.value == Decimal("1200.00")
    assert record.issue_date.value == date(2024, 3, 12) and record.currency.value == "EUR"
    record, _ = read_foreign_invoice(_lines(
        "Polder Hosting B.V.", "Factuur", "Factuurnummer: 2024-00871", "Te betalen € 121,00",
        "Subtotaal € 100,00", "BTW 21% € 21,00"))
    assert record is not None and record.total_with_tax.value == Decimal("121.00")


def test_a_total_with_vat_included_is_the_total_not_a_tax_line() -> None:
    record, _ = read_foreign_invoice(_lines(
        "Liffey Events Ltd", "Invoice no. LE-2024-77", "Date: 04/03/2024", "VAT 23% EUR 18.70",
        "Total (VAT included) EUR 100.00"))
    assert record is not None and record.total_with_tax.value == Decimal("100.00")


def test_a_date_printed_without_a_label_is_taken_with_low_confidence_and_said_so() -> None:
    record, findings = read_foreign_invoice(_lines(
        "Pharmacie du Marché", "Facture N° : 2024-0042", "Lyon, le 5 mars 2024", "Montant total TTC 59,90 €",
        "Date d'échéance : 5 avril 2024"))
    assert record is not None and record.issue_date.value == date(2024, 3, 5)
    assert record.issue_date.confidence < 0.6 and "DATE_UNLABELLED" in [f.code for f in findings]


def test_a_bill_without_the_word_invoice_but_with_a_number_and_a_total_is_read() -> None:
    record, _ = read_foreign_invoice(_lines(
        "Harbour Parking Ltd", "Bill No.: HP-55812", "Date of issue: 02/05/2024", "Total payable: GBP 38.50"))
    assert record is not None
    assert record.number.value == "HP-55812" and record.total_with_tax.value == Decimal("38.50")


def test_a_letter_with_neither_number_nor_total_is_not_an_invoice() -> None:
    record, findings = read_foreign_invoice(_lines(
        "Dear colleague,", "thank you for attending the congress on 12 March 2024.", "Kind regards"))
    assert record is None and findings == []
