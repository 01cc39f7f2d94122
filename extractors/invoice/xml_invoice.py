"""The XML of a fully digitalised invoice (数电票), the best source: every value is exact.

Element names differ between issuing platforms and versions, so each field is looked up under a few
known names, case-insensitively and ignoring namespaces.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal, InvalidOperation

from extractors.invoice.model import (
    Extracted,
    InvoiceKind,
    InvoiceRecord,
    LineItem,
    Source,
    missing,
)
from smartfin.kernel.findings import Finding, Severity

FIELD_TAGS: dict[str, tuple[str, ...]] = {
    "number": ("InvoiceNumber", "EInvoiceNumber", "InvoiceNo", "Fphm"),
    "code": ("InvoiceCode", "Fpdm"),
    "check_code": ("CheckCode", "Jym"),
    "machine_no": ("MachineNo", "MachineCode", "Jqbh"),
    "issue_date": ("IssueTime", "IssueDate", "RequestTime", "Kprq"),
    "buyer_name": ("BuyerName", "Gmfmc"),
    "buyer_tax_id": ("BuyerIdNum", "BuyerTaxID", "Gmfnsrsbh"),
    "seller_name": ("SellerName", "Xsfmc"),
    "seller_tax_id": ("SellerIdNum", "SellerTaxID", "Xsfnsrsbh"),
    "total_amount": ("TotalAmWithoutTax", "TotalAmount", "Hjje"),
    "total_tax": ("TotalTaxAm", "TotalTax", "Hjse"),
    "total_with_tax": ("TotalTax-includedAmount", "TotalWithTax", "Jshj"),
    "total_uppercase": ("TotalTax-includedAmountInChinese", "TotalInChinese", "Jshjdx"),
    "remarks": ("Remark", "Bz"),
    "payee": ("Payee", "Skr"),
    "reviewer": ("Reviewer", "Checker", "Fhr"),
    "issuer": ("Drawer", "Issuer", "Kpr"),
    "currency": ("Currency",),
}
ITEM_ELEMENTS = ("IssuItemInformation", "InvoiceItem", "Item")
ITEM_TAGS: dict[str, tuple[str, ...]] = {
    "name": ("ItemName", "Xmmc"),
    "spec": ("SpecMod", "Ggxh"),
    "unit": ("MeaUnits", "Unit", "Dw"),
    "quantity": ("Quantity", "Sl", "Xmsl"),
    "unit_price": ("UnPrice", "UnitPrice", "Dj"),
    "amount": ("Amount", "Je"),
    "tax_rate": ("TaxRate", "Slv"),
    "tax": ("ComTaxAm", "TaxAmount", "Se"),
}
_MONEY_FIELDS = {"total_amount", "total_tax", "total_with_tax"}
_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})|(\d{4})年(\d{1,2})月(\d{1,2})日")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _index(root: ET.Element) -> dict[str, list[ET.Element]]:
    out: dict[str, list[ET.Element]] = {}
    for element in root.iter():
        if isinstance(element.tag, str):
            out.setdefault(_local(element.tag), []).append(element)
    return out


def _text(index: dict[str, list[ET.Element]], names: tuple[str, ...], scope: ET.Element | None = None) -> str | None:
    for name in names:
        if scope is not None:
            found = [e for e in scope.iter() if isinstance(e.tag, str) and _local(e.tag) == name.lower()]
        else:
            found = index.get(name.lower(), [])
        for element in found:
            if element.text and element.text.strip():
                return element.text.strip()
    return None


def _decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    text = text.replace(",", "").replace("¥", "").strip()
    if text.endswith("%"):
        try:
            return (Decimal(text[:-1]) / 100).normalize()
        except InvalidOperation:
            return None
    if text in ("免税", "不征税") or set(text) == {"*"}:
        return Decimal("0")
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def looks_like_invoice_xml(root: ET.Element) -> bool:
    """An invoice XML has an invoice number and at least one of the totals."""
    index = _index(root)
    return _text(index, FIELD_TAGS["number"]) is not None and (
        _text(index, FIELD_TAGS["total_with_tax"]) is not None or _text(index, FIELD_TAGS["total_amount"]) is not None)


def read_invoice_xml(data: bytes, source: Source = Source.XML) -> tuple[InvoiceRecord | None, list[Finding]]:
    """Parse invoice XML; (None, findings) when it is not XML or not an invoice."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        return None, [Finding("FILE_CORRUPT", Severity.BLOCK, f"the XML cannot be parsed: {exc}")]
    if not looks_like_invoice_xml(root):
        return None, [Finding("NOT_AN_INVOICE", Severity.BLOCK, "the XML has no invoice number and totals")]
    index = _index(root)
    findings: list[Finding] = []
    values: dict[str, Extracted] = {}  # type: ignore[type-arg]
    for field, names in FIELD_TAGS.items():
        text = _text(index, names)
        if text is None:
            values[field] = missing(source)
            continue
        value: object = text
        if field in _MONEY_FIELDS:
            value = _decimal(text)
        elif field == "issue_date":
            m = _DATE.search(text)
            try:
                value = date(*(int(g) for g in (m.groups()[:3] if m and m[1] else m.groups()[3:]))) if m else None
            except ValueError:
                value = None
        if value is None:
            findings.append(Finding("XML_VALUE_INVALID", Severity.WARN, f"{field}: {text!r} cannot be read",
                                    field=field))
            values[field] = missing(source)
        else:
            values[field] = Extracted(value, 1.0, source)
    if values["currency"].value is None:
        values["currency"] = Extracted("CNY", 1.0, source)
    items = []
    for name in ITEM_ELEMENTS:
        for element in index.get(name.lower(), []):
            cells: dict[str, Extracted] = {}  # type: ignore[type-arg]
            for cell in ITEM_TAGS:
                text = _text(index, ITEM_TAGS[cell], scope=element)
                cell_value: object = text if cell in ("name", "spec", "unit") else _decimal(text)
                cells[cell] = Extracted(cell_value, 1.0, source) if cell_value is not None else missing(source)
            items.append(LineItem(**cells))
        if items:
            break
    has_code = values["code"].value is not None
    kind = InvoiceKind.DIGITAL
    if has_code:
        special = "专用".encode() in data
        kind = InvoiceKind.ELECTRONIC_SPECIAL if special else InvoiceKind.ELECTRONIC_ORDINARY
    record = InvoiceRecord(kind=Extracted(kind, 1.0, source), items=tuple(items), **values)
    return record, findings
