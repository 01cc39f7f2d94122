"""The later pages of an OFD invoice: a continued item table or the sales list (销货清单), any number of pages.

The bureau's OFD puts the list after the invoice page in the same document. Items are taken from custom
tags when the file names them (an item tag whose children name name, amount, rate, tax … by object
reference), else read from the list pages by position with the same row reader as a PDF list. Pages past
the ceiling of ``extractors.invoice.pages`` are not read and said so. The sums invariant (items = totals, or
review with the difference) is then checked by ``validation.check_item_sums`` like any invoice's.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import replace
from decimal import Decimal, InvalidOperation

from extractors.invoice.chinese import continue_items
from extractors.invoice.items import is_list_reference
from extractors.invoice.layout import Glyph
from extractors.invoice.model import Extracted, InvoiceRecord, LineItem, Source, missing
from extractors.invoice.pages import PAGE_CEILING, over_ceiling
from smartfin.kernel.findings import Finding

# item tags (CustomTag.xml) and the item cell each child tag holds; the bureau's files vary the names, so
# each cell is looked up under the names in use
ITEM_TAGS = ("GoodsInfo", "Item", "InvoiceItem", "IssuItemInformation")
ITEM_CELLS: dict[str, tuple[str, ...]] = {
    "name": ("Item", "ItemName", "GoodsName"), "spec": ("Specification", "SpecMod"),
    "unit": ("MeasurementDimension", "Unit", "MeaUnits"), "quantity": ("Quantity",),
    "unit_price": ("Price", "UnitPrice", "UnPrice"), "amount": ("Amount",),
    "tax_rate": ("TaxScheme", "TaxRate"), "tax": ("TaxAmount", "ComTaxAm"),
}
_TEXT_CELLS = ("name", "spec", "unit")


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _number(text: str) -> Decimal | None:
    text = text.replace(",", "").replace("¥", "").replace("￥", "").strip()
    try:
        if text.endswith("%"):
            return (Decimal(text[:-1]) / 100).normalize()
        if text in ("免税", "不征税") or (text and set(text) == {"*"}):
            return Decimal("0")
        return Decimal(text)
    except InvalidOperation:
        return None


def tagged_items(tag_roots: list[ET.Element], texts: dict[str, str]) -> tuple[LineItem, ...]:
    """Items named by custom tags: each item tag's cells point to text objects (any page) by ObjectRef."""
    items: list[LineItem] = []
    for root in tag_roots:
        for element in root.iter():
            if _local(element.tag) not in ITEM_TAGS or not any(_local(c.tag) != "ObjectRef" for c in element):
                continue
            cells: dict[str, Extracted] = {}  # type: ignore[type-arg]
            for cell, names in ITEM_CELLS.items():
                found = next((c for c in element if _local(c.tag) in names), None)
                text = "".join(texts.get((r.text or "").strip(), "") for r in found.iter()
                               if _local(r.tag) == "ObjectRef") if found is not None else ""
                value: object = text.strip() or None
                if value is not None and cell not in _TEXT_CELLS:
                    value = _number(str(value))
                cells[cell] = Extracted(value, 1.0, Source.OFD) if value is not None else missing(Source.OFD)
            if cells["name"].value is not None or cells["amount"].value is not None:
                items.append(LineItem(**cells))
    return tuple(items)


def read_later_pages(record: InvoiceRecord, page_glyphs: list[list[Glyph]], page_count: int,
                     tagged: tuple[LineItem, ...] = ()) -> tuple[InvoiceRecord, list[Finding]]:
    """The first page's record completed with the items of the later pages (tags first, then position)."""
    if tagged:
        kept = [i for i in record.items if not is_list_reference(i.name.value or "")]
        return replace(record, items=tuple(kept + list(tagged))), over_ceiling(page_count)
    if page_count <= 1 and not any(is_list_reference(i.name.value or "") for i in record.items):
        return record, []
    record, findings = continue_items(record, page_glyphs, Source.OFD)
    return record, findings + over_ceiling(page_count)


def later_page_paths(doc_dir: str, pages: list[ET.Element]) -> list[str]:
    """Archive paths of pages 2 … ceiling, in document order."""
    return [posixpath.join(doc_dir, str(p.get("BaseLoc")).lstrip("/")) for p in pages[1:PAGE_CEILING]]


def all_object_texts(archive: zipfile.ZipFile, paths: list[str], first: dict[str, str]) -> dict[str, str]:
    """Text of every text object by ID over the given pages (item tags may point to any page)."""
    out = dict(first)
    for path in paths:
        try:
            content = archive.read(path)
        except KeyError:
            continue
        for obj in ET.fromstring(content).iter():
            if _local(obj.tag) == "TextObject" and obj.get("ID"):
                out[str(obj.get("ID"))] = "".join(c.text or "" for c in obj.iter() if _local(c.tag) == "TextCode")
    return out
