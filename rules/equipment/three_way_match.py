"""Three-way match before paying a supplier: purchase order ↔ goods receipt (入库单) ↔ invoice.

Lines are matched on their item key (the PO line's item code). The hospital pays for what was ordered,
at the ordered price, and actually received: quantities must agree on all three documents and the
invoiced amount must equal the invoiced quantity at the PO unit price, each within a tolerance.
Any line that is not matched means an exception task for a buyer, never a silent payment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from smartfin.kernel.money import CENT


class LineStatus(StrEnum):
    MATCHED = "matched"
    QUANTITY_MISMATCH = "quantity_mismatch"
    PRICE_MISMATCH = "price_mismatch"
    MISSING_ON_RECEIPT = "missing_on_receipt"
    MISSING_ON_INVOICE = "missing_on_invoice"
    EXTRA_ON_INVOICE = "extra_on_invoice"
    EXTRA_ON_RECEIPT = "extra_on_receipt"


_STATUS_TEXT = {
    LineStatus.MATCHED: ("相符", "matched"),
    LineStatus.QUANTITY_MISMATCH: ("数量不符", "quantity mismatch"),
    LineStatus.PRICE_MISMATCH: ("价格不符", "price mismatch"),
    LineStatus.MISSING_ON_RECEIPT: ("未入库", "missing on receipt"),
    LineStatus.MISSING_ON_INVOICE: ("未开票", "missing on invoice"),
    LineStatus.EXTRA_ON_INVOICE: ("发票多出（订单无此项）", "extra on invoice (not ordered)"),
    LineStatus.EXTRA_ON_RECEIPT: ("入库多出（订单无此项）", "extra on receipt (not ordered)"),
}


@dataclass(frozen=True)
class DocumentLine:
    """One line of a PO, receipt or invoice; a goods receipt may omit ``amount`` (counted, not priced)."""

    item_code: str
    quantity: Decimal
    amount: Decimal | None = None
    description: str = ""

    @property
    def unit_price(self) -> Decimal | None:
        if self.amount is None or self.quantity == 0:
            return None
        return self.amount / self.quantity


@dataclass(frozen=True)
class Tolerance:
    """Allowed difference as a percentage of the expected value and/or an absolute amount.

    With both set the stricter (smaller) allowance applies, so a large order cannot hide a big absolute
    difference under the percentage, nor a small one a big percentage under the absolute amount.
    With neither set the values must be equal.
    """

    pct: Decimal | None = None
    absolute: Decimal | None = None

    def allows(self, difference: Decimal, expected: Decimal) -> bool:
        allowances = []
        if self.pct is not None:
            allowances.append(abs(expected) * self.pct / 100)
        if self.absolute is not None:
            allowances.append(self.absolute)
        if not allowances:
            return difference == 0
        return abs(difference) <= min(allowances)


@dataclass(frozen=True)
class MatchTolerance:
    """Tolerances for quantities and for invoiced amounts; exact unless configured."""

    quantity: Tolerance = field(default_factory=Tolerance)
    amount: Tolerance = field(default_factory=Tolerance)


@dataclass(frozen=True)
class LineMatch:
    """The outcome for one item key, with the three documents' figures side by side."""

    item_code: str
    status: LineStatus
    ordered_quantity: Decimal | None
    received_quantity: Decimal | None
    invoiced_quantity: Decimal | None
    ordered_unit_price: Decimal | None
    invoiced_amount: Decimal | None
    expected_amount: Decimal | None  # invoiced quantity at the PO unit price
    reason: str = ""

    @property
    def status_text(self) -> str:
        zh, en = _STATUS_TEXT[self.status]
        return f"{zh} / {en}"


@dataclass(frozen=True)
class ThreeWayMatchResult:
    """Per-line outcomes and whether a buyer must resolve an exception before payment."""

    lines: tuple[LineMatch, ...]
    po_total: Decimal
    invoice_total: Decimal

    @property
    def exception_needed(self) -> bool:
        return any(line.status is not LineStatus.MATCHED for line in self.lines)

    @property
    def summary(self) -> str:
        problems = [line for line in self.lines if line.status is not LineStatus.MATCHED]
        if not problems:
            return (f"三单一致，可付款（发票合计 ¥{self.invoice_total:,.2f}） / "
                    f"three-way match passed, payable (invoice total ¥{self.invoice_total:,.2f})")
        listed = "; ".join(f"{line.item_code} {line.status_text}" for line in problems)
        return (f"三单不符，需处理 {len(problems)} 行 / "
                f"three-way match failed on {len(problems)} line(s): {listed}")


def _combine(lines: Iterable[DocumentLine]) -> dict[str, DocumentLine]:
    """Lines with the same item key are one item ordered in parts: add them up."""
    combined: dict[str, DocumentLine] = {}
    for line in lines:
        key = line.item_code.strip()
        earlier = combined.get(key)
        if earlier is None:
            combined[key] = DocumentLine(key, line.quantity, line.amount, line.description)
            continue
        amount = None if earlier.amount is None or line.amount is None else earlier.amount + line.amount
        combined[key] = DocumentLine(key, earlier.quantity + line.quantity, amount, earlier.description)
    return combined


def _line_match(key: str, status: LineStatus, reason: str, order_line: DocumentLine | None,
                receipt_line: DocumentLine | None, invoice_line: DocumentLine | None,
                unit_price: Decimal | None, expected: Decimal | None) -> LineMatch:
    return LineMatch(
        item_code=key,
        status=status,
        ordered_quantity=None if order_line is None else order_line.quantity,
        received_quantity=None if receipt_line is None else receipt_line.quantity,
        invoiced_quantity=None if invoice_line is None else invoice_line.quantity,
        ordered_unit_price=unit_price,
        invoiced_amount=None if invoice_line is None else invoice_line.amount,
        expected_amount=expected,
        reason=reason,
    )


def _judge(order_line: DocumentLine, receipt_line: DocumentLine | None, invoice_line: DocumentLine | None,
           expected: Decimal | None, tolerance: MatchTolerance) -> tuple[LineStatus, str]:
    """Status of an ordered item: missing lines first, then quantities, then the invoiced price."""
    if receipt_line is None:
        return LineStatus.MISSING_ON_RECEIPT, "ordered but not received"
    if invoice_line is None:
        return LineStatus.MISSING_ON_INVOICE, "ordered and received but not invoiced"
    problems = []
    if not tolerance.quantity.allows(receipt_line.quantity - order_line.quantity, order_line.quantity):
        problems.append(f"received {receipt_line.quantity} of {order_line.quantity} ordered")
    if not tolerance.quantity.allows(invoice_line.quantity - receipt_line.quantity, receipt_line.quantity):
        problems.append(f"invoiced {invoice_line.quantity}, received {receipt_line.quantity}")
    if problems:
        return LineStatus.QUANTITY_MISMATCH, "; ".join(problems)
    if expected is None or invoice_line.amount is None:
        return LineStatus.PRICE_MISMATCH, "amount missing on the PO or the invoice"
    if not tolerance.amount.allows(invoice_line.amount - expected, expected):
        reason = f"invoiced {invoice_line.amount}, expected {expected} at the PO price"
        return LineStatus.PRICE_MISMATCH, reason
    return LineStatus.MATCHED, ""


def three_way_match(po: Sequence[DocumentLine], receipt: Sequence[DocumentLine],
                    invoice: Sequence[DocumentLine], tolerance: MatchTolerance | None = None
                    ) -> ThreeWayMatchResult:
    """Match PO, goods receipt and invoice line by line; missing lines first, then quantity, then price."""
    tolerance = tolerance or MatchTolerance()
    ordered, received, invoiced = _combine(po), _combine(receipt), _combine(invoice)
    results: list[LineMatch] = []

    for key, order_line in ordered.items():
        receipt_line, invoice_line = received.get(key), invoiced.get(key)
        unit_price = order_line.unit_price
        expected = (None if invoice_line is None or unit_price is None
                    else (invoice_line.quantity * unit_price).quantize(CENT, ROUND_HALF_UP))

        status, reason = _judge(order_line, receipt_line, invoice_line, expected, tolerance)
        results.append(_line_match(key, status, reason, order_line, receipt_line, invoice_line, unit_price,
                                   expected))

    for key, line in invoiced.items():
        if key not in ordered:
            results.append(_line_match(key, LineStatus.EXTRA_ON_INVOICE,
                                       "invoiced but not on the purchase order",
                                       None, received.get(key), line, None, None))
    for key, line in received.items():
        if key not in ordered and key not in invoiced:
            results.append(_line_match(key, LineStatus.EXTRA_ON_RECEIPT,
                                       "received but not on the purchase order",
                                       None, line, None, None, None))

    po_total = sum((line.amount or Decimal(0) for line in ordered.values()), Decimal(0))
    invoice_total = sum((line.amount or Decimal(0) for line in invoiced.values()), Decimal(0))
    return ThreeWayMatchResult(tuple(results), po_total.quantize(CENT), invoice_total.quantize(CENT))
