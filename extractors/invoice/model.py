"""The typed result of reading one invoice: values that say how sure we are and where they came from.

A clerk must know which fields to re-check, so every value travels with a confidence (0..1) and the kind
of source it was read from; problems are data (findings), never exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, TypeVar

from smartfin.kernel.findings import Finding, Severity

T = TypeVar("T")


class InvoiceKind(StrEnum):
    """Which invoice regime the document belongs to; decides which fields must be present."""

    ELECTRONIC_ORDINARY = "electronic-ordinary"  # pre-2024 增值税电子普通发票
    ELECTRONIC_SPECIAL = "electronic-special"  # pre-2024 增值税电子专用发票
    DIGITAL = "digital"  # fully digitalised 数电票, one 20-digit number
    FOREIGN = "foreign"  # any non-Chinese invoice
    RAIL_TICKET = "rail-ticket"  # 电子发票（铁路电子客票）, journey in ExtractionResult.ticket
    AIR_ITINERARY = "air-itinerary"  # 电子发票（航空运输电子客票行程单）
    FISCAL_RECEIPT = "fiscal-receipt"  # 财政电子票据, full receipt in ExtractionResult.receipt


class Source(StrEnum):
    """Where a value was read from, best first; the confidence of a value depends on it."""

    XML = "xml"
    OFD = "ofd"
    PDF_TEXT = "pdf-text"  # label and value in the same text run
    PDF_POSITION = "pdf-position"  # value matched to its label by geometry
    TEMPLATE = "template"  # an issuer template for foreign invoices
    FALLBACK = "fallback"  # template-free patterns for foreign invoices
    OCR = "ocr"  # recognised from a scan or photo; confidence includes the recognition score


class SourceFormat(StrEnum):
    """The file format that was read."""

    XML = "xml"
    OFD = "ofd"
    PDF = "pdf"
    IMAGE = "image"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Extracted(Generic[T]):
    """One value with the confidence and source that let a clerk decide whether to re-check it."""

    value: T | None
    confidence: float
    source: Source

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be within 0..1, got {self.confidence}")


def _not_printed() -> Extracted[Any]:
    """A column the invoice does not have (the toll columns of an ordinary invoice)."""
    return Extracted(None, 0.0, Source.PDF_POSITION)


@dataclass(frozen=True, slots=True)
class LineItem:
    """One row of the item table (货物或应税劳务、服务名称 …); every cell carries its own confidence."""

    name: Extracted[str]
    spec: Extracted[str]
    unit: Extracted[str]
    quantity: Extracted[Decimal]
    unit_price: Extracted[Decimal]
    amount: Extracted[Decimal]
    tax_rate: Extracted[Decimal]  # a fraction: 0.13 for 13 %
    tax: Extracted[Decimal]
    # toll-road (通行费) invoices print these columns instead of spec, unit, quantity and price
    plate: Extracted[str] = field(default_factory=_not_printed)  # 车牌号
    vehicle_type: Extracted[str] = field(default_factory=_not_printed)  # 类型
    travel_from: Extracted[date] = field(default_factory=_not_printed)  # 通行日期起
    travel_to: Extracted[date] = field(default_factory=_not_printed)  # 通行日期止

    def values(self) -> dict[str, Any]:
        """The bare values, for comparisons and for storing."""
        return {f.name: getattr(self, f.name).value for f in fields(self)}


ITEM_FIELDS: tuple[str, ...] = (
    "name", "spec", "unit", "quantity", "unit_price", "amount", "tax_rate", "tax",
    "plate", "vehicle_type", "travel_from", "travel_to",
)


@dataclass(frozen=True, slots=True)
class InvoiceRecord:
    """Everything a clerk re-types today from one invoice, each value with confidence and source."""

    kind: Extracted[InvoiceKind]
    code: Extracted[str]  # 发票代码, 12 digits (pre-2024 only)
    number: Extracted[str]  # 发票号码, 8 digits, or 20 digits for a digitalised invoice
    issue_date: Extracted[date]
    check_code: Extracted[str]  # 校验码, 20 digits (pre-2024 only)
    machine_no: Extracted[str]  # 机器编号, 12 digits (pre-2024 only)
    buyer_name: Extracted[str]
    buyer_tax_id: Extracted[str]
    seller_name: Extracted[str]
    seller_tax_id: Extracted[str]
    items: tuple[LineItem, ...]
    total_amount: Extracted[Decimal]  # 合计金额 (without tax)
    total_tax: Extracted[Decimal]  # 合计税额
    total_with_tax: Extracted[Decimal]  # 价税合计 (小写)
    total_uppercase: Extracted[str]  # 价税合计 (大写), as printed
    remarks: Extracted[str]
    payee: Extracted[str]  # 收款人
    reviewer: Extracted[str]  # 复核
    issuer: Extracted[str]  # 开票人
    currency: Extracted[str]

    def values(self) -> dict[str, Any]:
        """The bare values (line items as a list of dicts), for comparisons, storage and the engine."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "items":
                out["items"] = [item.values() for item in self.items]
            else:
                out[f.name] = getattr(self, f.name).value
        return out

    def flat_values(self) -> dict[str, Any]:
        """Values keyed by a flat path (``items[0].amount``), for field-by-field accuracy counts."""
        out: dict[str, Any] = {}
        for key, value in self.values().items():
            if key == "items":
                for index, item in enumerate(value):
                    for name, cell in item.items():
                        out[f"items[{index}].{name}"] = cell
            else:
                out[key] = value
        return out

    def lowest_confidence(self) -> float:
        """The weakest value that is present; a cheap signal for routing to a clerk."""
        scores = [getattr(self, f.name).confidence for f in fields(self) if f.name != "items"]
        for item in self.items:
            scores.extend(getattr(item, name).confidence for name in ITEM_FIELDS)
        return min(scores) if scores else 0.0


RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(InvoiceRecord) if f.name != "items")


@dataclass(frozen=True, slots=True)
class ExtractionResult:
    """The outcome of reading one file: the record when one could be read, and what went wrong."""

    record: InvoiceRecord | None
    source_format: SourceFormat
    findings: tuple[Finding, ...] = ()
    needs_manual_entry: str | None = None  # why a clerk must type this invoice by hand
    ticket: Any = None  # a rail e-ticket or air itinerary: extractors.travel.TravelTicket with the journey
    receipt: Any = None  # a fiscal e-receipt: extractors.receipts.FiscalReceipt with its verification data

    @property
    def blocked(self) -> bool:
        """True when a finding stops automatic processing."""
        return self.needs_manual_entry is not None or any(
            f.severity is Severity.BLOCK for f in self.findings
        )

    def finding_codes(self) -> list[str]:
        """The codes of all findings, in order; convenient for routing and tests."""
        return [f.code for f in self.findings]


def missing(source: Source) -> Extracted[Any]:
    """A value that was not found: no value, no confidence."""
    return Extracted(None, 0.0, source)


def record_from_values(values: dict[str, Any], *, source: Source, confidence: float = 1.0) -> InvoiceRecord:
    """Build a record whose every value has the same source and confidence.

    Used for exact sources (XML) and for the ground truth of generated samples.
    """
    kwargs: dict[str, Any] = {}
    for name in RECORD_FIELDS:
        value = values.get(name)
        kwargs[name] = Extracted(value, confidence if value is not None else 0.0, source)
    items = []
    for row in values.get("items", []):
        items.append(LineItem(**{
            name: Extracted(row.get(name), confidence if row.get(name) is not None else 0.0, source)
            for name in ITEM_FIELDS
        }))
    kwargs["items"] = tuple(items)
    return InvoiceRecord(**kwargs)
