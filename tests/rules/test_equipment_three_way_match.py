"""Three-way match of purchase order, goods receipt and invoice before paying the supplier."""

from __future__ import annotations

from decimal import Decimal as D

from rules.equipment import DocumentLine, LineStatus, MatchTolerance, Tolerance, three_way_match

PO = [DocumentLine("CT-01", D("1"), D("12170000.00"), "128排CT"),
      DocumentLine("INJ-02", D("10"), D("5000.00"), "高压注射器耗材")]


def receipt(ct: str = "1", inj: str = "10") -> list[DocumentLine]:
    return [DocumentLine("CT-01", D(ct)), DocumentLine("INJ-02", D(inj))]


def invoice(ct: str = "12170000.00", inj: str = "5000.00", inj_qty: str = "10") -> list[DocumentLine]:
    return [DocumentLine("CT-01", D("1"), D(ct)), DocumentLine("INJ-02", D(inj_qty), D(inj))]


def statuses(result) -> dict[str, LineStatus]:
    return {line.item_code: line.status for line in result.lines}


def test_everything_agrees() -> None:
    result = three_way_match(PO, receipt(), invoice())
    assert set(statuses(result).values()) == {LineStatus.MATCHED}
    assert not result.exception_needed
    assert result.po_total == result.invoice_total == D("12175000.00")
    assert "三单一致" in result.summary


def test_short_receipt_is_a_quantity_mismatch() -> None:
    result = three_way_match(PO, receipt(inj="9"), invoice())
    assert statuses(result)["INJ-02"] is LineStatus.QUANTITY_MISMATCH
    line = result.lines[1]
    assert (line.ordered_quantity, line.received_quantity, line.invoiced_quantity) == (D("10"), D("9"), D("10"))
    assert "received 9 of 10" in line.reason
    assert result.exception_needed


def test_overpriced_invoice_is_a_price_mismatch() -> None:
    result = three_way_match(PO, receipt(), invoice(inj="5200.00"))
    line = result.lines[1]
    assert line.status is LineStatus.PRICE_MISMATCH
    assert line.expected_amount == D("5000.00") and line.invoiced_amount == D("5200.00")
    assert "价格不符" in result.summary


def test_price_checked_at_po_unit_price_for_the_invoiced_quantity() -> None:
    # 9 received and invoiced of 10 ordered; quantity tolerance 10 % lets it through, 9 × 500 = 4,500
    tolerance = MatchTolerance(quantity=Tolerance(pct=D("10")))
    result = three_way_match(PO, receipt(inj="9"), invoice(inj="4500.00", inj_qty="9"), tolerance)
    assert statuses(result)["INJ-02"] is LineStatus.MATCHED


def test_percentage_and_absolute_tolerance_the_stricter_applies() -> None:
    within_pct = invoice(ct="12180000.00")  # 10,000 over: 0.08 %
    assert statuses(three_way_match(PO, receipt(), within_pct, MatchTolerance(amount=Tolerance(pct=D("0.1")))))[
        "CT-01"] is LineStatus.MATCHED
    both = MatchTolerance(amount=Tolerance(pct=D("0.1"), absolute=D("1000")))
    assert statuses(three_way_match(PO, receipt(), within_pct, both))["CT-01"] is LineStatus.PRICE_MISMATCH
    absolute_only = MatchTolerance(amount=Tolerance(absolute=D("10000")))
    assert statuses(three_way_match(PO, receipt(), within_pct, absolute_only))["CT-01"] is LineStatus.MATCHED


def test_missing_and_extra_lines() -> None:
    result = three_way_match(
        PO,
        [DocumentLine("CT-01", D("1"))],
        [DocumentLine("CT-01", D("1"), D("12170000.00")), DocumentLine("SVC-9", D("1"), D("80000.00"))],
    )
    assert statuses(result) == {"CT-01": LineStatus.MATCHED, "INJ-02": LineStatus.MISSING_ON_RECEIPT,
                                "SVC-9": LineStatus.EXTRA_ON_INVOICE}
    not_invoiced = three_way_match(PO, receipt(), invoice()[:1])
    assert statuses(not_invoiced)["INJ-02"] is LineStatus.MISSING_ON_INVOICE
    over_delivered = three_way_match(PO, [*receipt(), DocumentLine("GIFT", D("1"))], invoice())
    assert statuses(over_delivered)["GIFT"] is LineStatus.EXTRA_ON_RECEIPT
    assert result.exception_needed and not_invoiced.exception_needed


def test_split_lines_of_one_item_are_added_up() -> None:
    split_invoice = [DocumentLine("CT-01", D("1"), D("12170000.00")),
                     DocumentLine("INJ-02", D("4"), D("2000.00")), DocumentLine("INJ-02", D("6"), D("3000.00"))]
    result = three_way_match(PO, receipt(), split_invoice)
    assert not result.exception_needed
    assert result.lines[1].invoiced_quantity == D("10")
