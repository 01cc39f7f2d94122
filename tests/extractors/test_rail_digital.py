"""The rail e-ticket as XML and OFD from the tax platform: the same fields as the PDF, the tag map as data."""

from __future__ import annotations

from datetime import date

import pytest

from extractors.invoice import InvoiceKind, Source, extract_invoice
from extractors.invoice.model import SourceFormat
from extractors.invoice.samples import ofd_sample
from extractors.travel import digital
from tests.extractors.test_rail_ticket import field_accuracy
from tests.support.rail_digital_samples import rail_ofd_sample, rail_xml_sample

LATE = date(2100, 1, 1)


@pytest.fixture(scope="module")
def corpus() -> list:  # type: ignore[type-arg]
    return ([rail_xml_sample(seed) for seed in range(20)] + [rail_ofd_sample(s, with_xml=True) for s in range(10)]
            + [rail_ofd_sample(s, with_xml=False) for s in range(20)])


def test_field_accuracy_over_xml_and_ofd_tickets(corpus) -> None:  # type: ignore[no-untyped-def]
    accuracy, misses = field_accuracy(corpus)
    assert accuracy >= 0.99, misses[:10]
    assert len({s.layout for s in corpus}) == 3


@pytest.mark.parametrize(("index", "fmt", "source"), [(0, SourceFormat.XML, Source.XML),
                                                      (20, SourceFormat.OFD, Source.XML),
                                                      (30, SourceFormat.OFD, Source.OFD)])
def test_each_value_names_where_it_was_read(corpus, index: int, fmt: SourceFormat, source: Source) -> None:  # type: ignore[no-untyped-def]
    sample = corpus[index]
    result = extract_invoice(sample.data, filename=sample.name, today=LATE)
    assert result.source_format is fmt and result.needs_manual_entry is None
    assert result.record is not None and result.record.kind.value is InvoiceKind.RAIL_TICKET
    assert result.ticket.number.source is source and result.ticket.segments[0].carrier_no.source is source
    assert result.record.total_tax.value == result.ticket.deductible_vat  # the VAT at 9 %, as from the PDF


def test_an_element_name_not_in_the_tag_map_is_added_as_data(monkeypatch: pytest.MonkeyPatch) -> None:
    sample = rail_xml_sample(4)
    renamed = sample.data.replace(b"TrainNumber>", b"CheCi>")
    assert b"CheCi" in renamed
    assert extract_invoice(renamed, today=LATE).ticket is None  # no train number known: not read as a ticket
    names = dict(digital.tag_map())
    names["marker"] += ("checi",)
    names["train"] += ("checi",)
    monkeypatch.setattr(digital, "tag_map", lambda: names)
    result = extract_invoice(renamed, today=LATE)
    assert result.ticket is not None and result.ticket.segments[0].carrier_no.value == sample.truth[
        "segments[0].carrier_no"]


def test_a_ticket_xml_without_fare_is_a_finding_not_a_crash() -> None:
    sample = rail_xml_sample(2)
    start = sample.data.index(b"<TicketPrice>")
    broken = sample.data[:start] + sample.data[sample.data.index(b"</TicketPrice>") + len(b"</TicketPrice>"):]
    result = extract_invoice(broken, today=LATE)
    assert result.ticket is not None and result.ticket.fare.value is None
    assert ("TICKET_FIELD_MISSING", "fare") in [(f.code, f.field) for f in result.findings]
    assert result.needs_manual_entry


def test_invoices_in_xml_and_ofd_are_not_taken_for_tickets() -> None:
    for with_xml in (True, False):
        result = extract_invoice(ofd_sample(1, with_xml=with_xml).data, today=LATE)
        assert result.ticket is None and result.record is not None
        assert result.record.kind.value is InvoiceKind.DIGITAL
