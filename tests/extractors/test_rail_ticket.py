"""Rail e-tickets: every field read on the generated layouts, VAT at 9 %, refund/change vouchers refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from extractors.invoice import InvoiceKind, extract_invoice
from extractors.travel import CabinClass, deductible_vat
from extractors.travel.places import city_of
from tests.support.travel_samples import RAIL_LAYOUTS, rail_sample, refund_voucher, travel_corpus

LATE = date(2100, 1, 1)


def field_accuracy(samples) -> tuple[float, list[str]]:  # type: ignore[no-untyped-def]
    """Share of ground-truth fields read exactly, over every sample, and the misses for the message."""
    right = total = 0
    misses: list[str] = []
    for sample in samples:
        result = extract_invoice(sample.data, filename=sample.name, today=LATE)
        got = result.ticket.flat_values() if result.ticket is not None else {}
        for name, expected in sample.truth.items():
            total += 1
            if got.get(name) == expected:
                right += 1
            else:
                misses.append(f"{sample.name} {name}: {got.get(name)!r} != {expected!r}")
    return right / total, misses


def test_rail_corpus_field_accuracy_at_least_99_percent() -> None:
    samples = [s for s in travel_corpus(40, seed=3) if s.layout.startswith("rail")]
    assert {s.layout for s in samples} == set(RAIL_LAYOUTS)
    accuracy, misses = field_accuracy(samples)
    assert accuracy >= 0.99, misses[:10]


@pytest.mark.parametrize("layout", RAIL_LAYOUTS)
def test_each_rail_layout_reads_the_journey_and_the_buyer(layout: str) -> None:
    sample = rail_sample(layout, 11)
    result = extract_invoice(sample.data, filename=sample.name, today=LATE)
    assert not result.blocked, result.findings
    ticket = result.ticket
    assert ticket is not None and result.record is not None
    assert result.record.kind.value is InvoiceKind.RAIL_TICKET
    assert result.record.number.value == sample.truth["number"] and len(sample.truth["number"]) == 20
    leg = ticket.segments[0]
    assert (leg.from_place.value, leg.carrier_no.value, leg.to_place.value) == (
        sample.truth["segments[0].from_place"], sample.truth["segments[0].carrier_no"],
        sample.truth["segments[0].to_place"])
    assert ticket.buyer_name.value == sample.truth["buyer_name"]
    assert ticket.passenger_id.value is not None and "****" in ticket.passenger_id.value


def test_deductible_vat_is_fare_over_1_09_times_9_percent_to_the_fen() -> None:
    assert deductible_vat(Decimal("553.00")) == Decimal("45.66")  # 553 / 1.09 * 0.09 = 45.6605…
    assert deductible_vat(Decimal("100.00")) == Decimal("8.26")  # 8.2568…
    sample = rail_sample("rail-standard", 5)
    result = extract_invoice(sample.data, today=LATE)
    assert result.record is not None and result.ticket is not None
    fare = sample.truth["fare"]
    assert result.record.total_tax.value == deductible_vat(fare)
    assert result.record.total_amount.value + result.record.total_tax.value == fare
    assert isinstance(result.record.total_tax.value, Decimal)


@pytest.mark.parametrize("change", [False, True])
def test_refund_and_change_vouchers_are_reported_never_read_as_a_ticket(change: bool) -> None:
    sample = refund_voucher(4, change=change)
    result = extract_invoice(sample.data, filename=sample.name, today=LATE)
    assert result.ticket is None and result.record is None
    assert result.finding_codes() == ["TICKET_REFUND_VOUCHER"]
    assert result.needs_manual_entry and "退票" in result.needs_manual_entry


def test_seat_classes_map_to_the_standard_classes() -> None:
    sample = rail_sample("rail-separate", 2)
    ticket = extract_invoice(sample.data, today=LATE).ticket
    assert ticket is not None
    assert ticket.segments[0].cabin.value == sample.truth["segments[0].cabin"]
    assert isinstance(ticket.segments[0].cabin.value, CabinClass)


@pytest.mark.parametrize(("place", "city"), [("北京南", "北京"), ("上海虹桥站", "上海"), ("乌鲁木齐南", "乌鲁木齐"),
                                             ("呼和浩特东", "呼和浩特"), ("首都", "北京"), ("襄阳东", "襄阳"),
                                             ("南宁", "南宁")])
def test_stations_and_airports_give_their_city(place: str, city: str) -> None:
    assert city_of(place) == city


def test_an_ordinary_invoice_is_not_taken_for_a_ticket(make_sample) -> None:  # type: ignore[no-untyped-def]
    sample = make_sample("digital-standard", 1)
    result = extract_invoice(sample.data, filename=sample.filename, today=LATE)
    assert result.ticket is None
    assert result.record is not None and result.record.kind.value is InvoiceKind.DIGITAL
