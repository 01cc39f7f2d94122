"""Air e-itineraries: one or several flights in both table forms, amounts, VAT on fare + fuel, no fare."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from extractors.invoice import InvoiceKind, extract_invoice
from extractors.travel import CabinClass, TicketKind
from extractors.travel.model import cabin_for_letter
from tests.extractors.test_rail_ticket import field_accuracy
from tests.support.travel_samples import AIR_LAYOUTS, air_sample, travel_corpus

LATE = date(2100, 1, 1)


def test_air_corpus_field_accuracy_at_least_99_percent() -> None:
    samples = [s for s in travel_corpus(40, seed=5) if s.layout.startswith("air")]
    assert {s.layout for s in samples} == set(AIR_LAYOUTS)
    assert any(sum(1 for k in s.truth if k.endswith(".carrier_no")) >= 3 for s in samples)
    accuracy, misses = field_accuracy(samples)
    assert accuracy >= 0.99, misses[:10]


@pytest.mark.parametrize("layout", AIR_LAYOUTS)
def test_each_layout_reads_every_flight_in_order(layout: str) -> None:
    sample = air_sample(layout, 21)
    result = extract_invoice(sample.data, filename=sample.name, today=LATE)
    assert not result.blocked, result.findings
    ticket = result.ticket
    assert ticket is not None and ticket.kind is TicketKind.AIR
    assert result.record is not None and result.record.kind.value is InvoiceKind.AIR_ITINERARY
    legs = [(s.carrier_no.value, s.from_city.value, s.to_city.value) for s in ticket.segments]
    expected = []
    index = 0
    while f"segments[{index}].carrier_no" in sample.truth:
        expected.append(tuple(sample.truth[f"segments[{index}].{n}"] for n in ("carrier_no", "from_city", "to_city")))
        index += 1
    assert legs == expected
    for a, b in zip(ticket.segments, ticket.segments[1:], strict=False):
        assert a.to_city.value == b.from_city.value


def test_vat_is_on_fare_plus_fuel_and_the_development_fund_is_not_deductible() -> None:
    sample = air_sample("air-chain", 8)
    result = extract_invoice(sample.data, today=LATE)
    ticket = result.ticket
    assert ticket is not None and result.record is not None
    fare, fuel, fund = ticket.fare.value, ticket.fuel_surcharge.value, ticket.development_fund.value
    assert fare is not None and fuel is not None and fund is not None and fund > 0
    expected = ((fare + fuel) / Decimal("1.09") * Decimal("0.09")).quantize(Decimal("0.01"))
    assert ticket.deductible_vat == expected == result.record.total_tax.value
    assert result.record.total_with_tax.value == fare + fuel + fund + (ticket.other_taxes.value or 0)


@pytest.mark.parametrize("layout", ["air-table", "air-below"])
def test_an_itinerary_without_a_fare_goes_to_review_with_the_reason(layout: str) -> None:
    sample = air_sample(layout, 9, with_fare=False)
    result = extract_invoice(sample.data, filename=sample.name, today=LATE)
    assert "AIR_FARE_MISSING" in result.finding_codes()
    assert result.blocked and result.needs_manual_entry is not None and "票价" in result.needs_manual_entry
    assert result.ticket is not None and result.ticket.fare.value is None
    assert result.ticket.segments, "the journey is kept even without a fare"
    assert result.record is not None and result.record.total_tax.value is None


def test_booking_letters_give_the_cabin_when_no_word_is_printed() -> None:
    found_letters = set()
    cabins = set()
    for seed in range(12):
        sample = air_sample("air-chain-multi", seed)
        ticket = extract_invoice(sample.data, today=LATE).ticket
        assert ticket is not None
        for index, leg in enumerate(ticket.segments):
            assert leg.cabin.value == sample.truth[f"segments[{index}].cabin"]
            found_letters.add(leg.booking_letter.value)
            cabins.add(leg.cabin.value)
    assert len(found_letters) > 3 and CabinClass.ECONOMY in cabins and len(cabins) > 1


def test_without_a_printed_class_the_booking_letter_comes_from_the_fare_basis_at_lower_confidence() -> None:
    for seed in range(6):
        sample = air_sample("air-chain-multi", seed, class_printed=False)
        ticket = extract_invoice(sample.data, today=LATE).ticket
        printed = extract_invoice(air_sample("air-chain-multi", seed).data, today=LATE).ticket
        assert ticket is not None and ticket.segments and printed is not None
        for index, leg in enumerate(ticket.segments):
            letter = sample.truth[f"segments[{index}].booking_letter"]
            assert leg.booking_letter.value == letter, "the first letter of the fare basis (YCN → Y)"
            assert leg.cabin.value == cabin_for_letter(letter)
            assert leg.booking_letter.confidence < printed.segments[index].booking_letter.confidence
            assert leg.from_place.value == sample.truth[f"segments[{index}].from_place"], "YCN is no airport code"


def test_a_future_issue_date_is_still_caught_for_tickets() -> None:
    sample = air_sample("air-table", 4)
    result = extract_invoice(sample.data, today=date(2000, 1, 1))
    assert "ISSUE_DATE_IN_FUTURE" in result.finding_codes()
