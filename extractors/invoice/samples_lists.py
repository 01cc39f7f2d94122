"""Generated invoices whose items are on a sales list (销货清单) of many pages, in PDF and OFD, with ground truth.

A hospital's bulk purchase (consumables, reagents) is invoiced with one placeholder row (详见销货清单) and a
list that runs over as many pages as it needs — 30 and more are common for a year's supply. The list pages
repeat the buyer, seller and invoice number, number the rows, and close each page with a subtotal (小计);
the last page adds the grand total (总计). The OFD variant is the tax bureau's structure: the first page with
its template and custom tags, the list pages as further pages of the same document.
"""

from __future__ import annotations

import io
import random
import zipfile
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from extractors.invoice.model import InvoiceKind, Source
from extractors.invoice.samples import (
    OfdPainter,
    Painter,
    PdfPainter,
    Sample,
    Style,
    draw_pre2024,
    ground_truth,
    invoice_values,
)
from extractors.invoice.samples_items import (
    _RETAIL,
    GOODS_COLUMNS,
    LIST_COLUMNS,
    _cell_text,
    _draw_header,
    _draw_rows,
    _goods,
    _table_drawer,
    _with_items,
)
from extractors.invoice.samples_ofd import TaggedOfdPainter, tagged_ofd

ROWS_PER_PAGE = 20  # rows of one list page at the list's row height (10 pt) between header and subtotal
PLACEHOLDER = "(详见销货清单)"


def list_values(rng: random.Random, rows: int) -> dict[str, Any]:
    """A pre-2024 ordinary invoice whose ``rows`` items all sit on the sales list."""
    values = invoice_values(rng, InvoiceKind.ELECTRONIC_ORDINARY)
    items = [_goods(rng, _RETAIL, rng.choice(["0.13", "0.06"])) for _ in range(rows)]
    return _with_items(values, items)


def draw_list_page(p: Painter, v: dict[str, Any], rows: list[dict[str, Any]], *, page_no: int, pages: int,
                   first_row: int) -> None:
    """One page of the sales list: title, parties, invoice reference, numbered rows, subtotal (总计 on the last)."""
    p.text(180, 370, "销售货物或者提供应税劳务、服务清单", 14)
    p.text(40, 345, f"购买方名称: {v['buyer_name']}", 9)
    p.text(40, 332, f"销售方名称: {v['seller_name']}", 9)
    p.text(40, 319, f"所属增值税电子普通发票代码: {v['code']}   号码: {v['number']}   共{pages}页 第{page_no}页", 9)
    _draw_header(p, LIST_COLUMNS, 300)
    numbered = [{**row, "row_no": str(first_row + i)} for i, row in enumerate(rows)]
    y = _draw_rows(p, LIST_COLUMNS, numbered, 286, wrap=13, step=10)
    sums = [("小 计", y - 4, sum((r["amount"] for r in rows), Decimal("0.00")),
             sum((r["tax"] for r in rows), Decimal("0.00")))]
    if page_no == pages:
        sums.append(("总 计", y - 18, v["total_amount"], v["total_tax"]))
    for label, yy, amount, tax in sums:
        p.text(60, yy, label, 9)
        for column, value in (("amount", amount), ("tax", tax)):
            text = f"¥{value:.2f}"
            p.text(LIST_COLUMNS[column][1] - 3 - p.width(text, 9), yy, text, 9)
    if page_no == pages:
        p.text(420, 30, f"填开日期: {v['issue_date']:%Y年%m月%d日}", 9)


def _chunks(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [items[i:i + ROWS_PER_PAGE] for i in range(0, len(items), ROWS_PER_PAGE)]


def _placeholder_drawer(values: dict[str, Any]) -> Any:
    row = {"name": PLACEHOLDER, "amount": values["total_amount"], "tax": values["total_tax"], "tax_rate": None}
    return _table_drawer(GOODS_COLUMNS, [row])


def long_list_pdf(values: dict[str, Any], rng: random.Random) -> bytes:
    """The PDF: the invoice page with the placeholder row, then every list page."""
    painter = PdfPainter()
    draw_pre2024(painter, values, Style(), rng, _placeholder_drawer(values))
    chunks = _chunks(values["items"])
    for number, chunk in enumerate(chunks, start=1):
        painter.canvas.showPage()
        draw_list_page(painter, values, chunk, page_no=number, pages=len(chunks),
                       first_row=(number - 1) * ROWS_PER_PAGE + 1)
    return painter.finish()


def long_list_sample(seed: int, *, rows: int = 640) -> Sample:
    """A PDF invoice with a sales list of ``rows`` items (640 rows = 32 list pages) and its ground truth."""
    rng = random.Random(f"list-pdf:{seed}:{rows}")
    values = list_values(rng, rows)
    name = f"list-pdf-{rows}-{seed:04d}"
    truth = ground_truth(values, Source.PDF_POSITION)
    return Sample(name, "list-pdf", f"{name}.pdf", long_list_pdf(values, rng), truth)


# custom tag of one item cell, as ``ofd_lists.ITEM_CELLS`` reads them
ITEM_CELL_TAGS = {"name": "Item", "spec": "Specification", "unit": "MeasurementDimension", "quantity": "Quantity",
                  "unit_price": "Price", "amount": "Amount", "tax_rate": "TaxScheme", "tax": "TaxAmount"}


def item_object_indexes(painter: OfdPainter, rows: list[dict[str, Any]], first_row: int) -> list[dict[str, list[int]]]:
    """Per row, cell → indexes of the painter's objects that hold it (drawn by ``_draw_rows`` in column order)."""
    texts = [o.rsplit('">', 1)[-1].split("</ofd:TextCode>")[0] for o in painter.objects]
    index = 0
    out = []
    for number, row in enumerate(rows, start=first_row):
        cells: dict[str, list[int]] = {}
        name = row.get("name") or ""
        chunks = [name[i:i + 13] for i in range(0, len(name), 13)]
        for column in LIST_COLUMNS:
            wanted = chunks[0] if column == "name" else _cell_text(column, {**row, "row_no": str(number)})
            if not wanted:
                continue
            while texts[index] != escape(wanted):
                index += 1
            cells.setdefault(column, []).append(index)
            index += 1
        for chunk in chunks[1:]:
            while texts[index] != escape(chunk):
                index += 1
            cells["name"].append(index)
            index += 1
        out.append(cells)
    return out


def multi_page_ofd(first: TaggedOfdPainter, later: list[OfdPainter],
                   items: list[list[dict[str, list[int]]]] | None = None) -> bytes:
    """The bureau's OFD of ``first`` (template page, custom tags) with ``later`` as pages 2, 3 … of the document.

    Object ids stay unique across pages, as the format asks: each later page's ids start after the previous.
    ``items`` (per later page, per row: cell → object indexes) adds the item custom tags (GoodsInfo).
    """
    base = tagged_ofd(first)
    source = zipfile.ZipFile(io.BytesIO(base))
    buffer = io.BytesIO()
    head = '<?xml version="1.0" encoding="UTF-8"?>'
    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    next_id = 10 + len(first.objects) + 1000
    goods: list[str] = []
    with source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        entries: list[str] = []
        for index, painter in enumerate(later, start=1):
            page_id = next_id
            for row in (items[index - 1] if items else []):
                cells = "".join(f"<{ITEM_CELL_TAGS[c]}>" + "".join(
                    f'<ofd:ObjectRef PageRef="{page_id}">{page_id + 1 + i}</ofd:ObjectRef>' for i in ids)
                    + f"</{ITEM_CELL_TAGS[c]}>" for c, ids in row.items() if c in ITEM_CELL_TAGS)
                goods.append(f"<GoodsInfo>{cells}</GoodsInfo>")
            objects = "".join(o.replace(f'ID="{i + 10}"', f'ID="{page_id + 1 + i}"', 1)
                              for i, o in enumerate(painter.objects))
            next_id = page_id + len(painter.objects) + 2
            z.writestr(zipfile.ZipInfo(f"Doc_0/Pages/Page_{index}/Content.xml", (2024, 1, 1, 0, 0, 0)),
                       f'{head}<ofd:Page {ns}><ofd:Content><ofd:Layer ID="{page_id}">{objects}</ofd:Layer>'
                       "</ofd:Content></ofd:Page>")
            entries.append(f'<ofd:Page ID="{page_id}" BaseLoc="Pages/Page_{index}/Content.xml"/>')
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "Doc_0/Document.xml":
                data = data.replace(b"</ofd:Pages>", "".join(entries).encode() + b"</ofd:Pages>")
            if info.filename == "Doc_0/Tags/CustomTag.xml" and goods:
                data = data.replace(b"</eInvoice>", "".join(goods).encode() + b"</eInvoice>")
            z.writestr(info, data)
    return buffer.getvalue()


def ofd_list_sample(seed: int, *, rows: int | None = None, item_tags: bool = False) -> Sample:
    """An OFD invoice (template page, custom tags) whose items are on sales-list pages, with its ground truth.

    ``item_tags`` also names every item cell in the custom tags, as some issuing platforms do.
    """
    layout = "list-ofd-tagged" if item_tags else "list-ofd"
    rng = random.Random(f"{layout}:{seed}")
    values = list_values(rng, rows if rows is not None else rng.randint(12, 70))
    first = TaggedOfdPainter(values)
    draw_pre2024(first, values, Style(labels="separate"), rng, _placeholder_drawer(values))
    chunks = _chunks(values["items"])
    later, indexes = [], []
    for number, chunk in enumerate(chunks, start=1):
        painter = OfdPainter()
        draw_list_page(painter, values, chunk, page_no=number, pages=len(chunks),
                       first_row=(number - 1) * ROWS_PER_PAGE + 1)
        later.append(painter)
        indexes.append(item_object_indexes(painter, chunk, (number - 1) * ROWS_PER_PAGE + 1))
    name = f"{layout}-{seed:04d}"
    data = multi_page_ofd(first, later, indexes if item_tags else None)
    return Sample(name, layout, f"{name}.ofd", data, ground_truth(values, Source.OFD))

