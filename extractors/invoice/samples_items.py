"""Generated invoices whose item tables are hard to read, with their ground truth.

The layouts reproduce what real item tables look like: toll-road invoices (通行费) with plate, vehicle type
and travel-date columns; fuel (成品油) in litres with six-decimal unit prices; retail invoices with negative
discount lines (折扣); names wrapping over several lines; many items; items continued on a second page;
and the sales list page (销货清单) that carries the items when the invoice says (详见销货清单).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from extractors.invoice.model import InvoiceKind, Source
from extractors.invoice.samples import (
    Painter,
    PdfPainter,
    Sample,
    Style,
    draw_digital,
    draw_pre2024,
    ground_truth,
    invoice_values,
    quantize_cents,
)
from extractors.invoice.uppercase import format_uppercase_amount

# column: (left, right, header, alignment)
TOLL_COLUMNS: dict[str, tuple[float, float, str, str]] = {
    "name": (35, 165, "项目名称", "left"), "plate": (165, 230, "车牌号", "centre"),
    "vehicle_type": (230, 262, "类型", "centre"), "travel_from": (262, 318, "通行日期起", "centre"),
    "travel_to": (318, 374, "通行日期止", "centre"), "amount": (374, 470, "金 额", "right"),
    "tax_rate": (470, 515, "税率", "centre"), "tax": (515, 645, "税 额", "right"),
}
# toll platform files with tight cells: dates and a left-aligned amount printed without a gap between them
TOLL_TIGHT_COLUMNS: dict[str, tuple[float, float, str, str]] = {
    "name": (35, 150, "项目名称", "left"), "plate": (150, 200, "车牌号", "centre"),
    "vehicle_type": (200, 228, "类型", "centre"), "travel_from": (228, 274, "通行日期起", "tight"),
    "travel_to": (274, 320, "通行日期止", "tight"), "amount": (320, 360, "金额", "tight"),
    "tax_rate": (360, 390, "税率", "centre"), "tax": (390, 645, "税 额", "right"),
}
GOODS_COLUMNS: dict[str, tuple[float, float, str, str]] = {
    "name": (35, 195, "货物或应税劳务、服务名称", "left"), "spec": (195, 262, "规格型号", "left"),
    "unit": (262, 295, "单位", "left"), "quantity": (295, 340, "数 量", "right"),
    "unit_price": (340, 415, "单 价", "right"), "amount": (415, 495, "金 额", "right"),
    "tax_rate": (495, 535, "税率", "centre"), "tax": (535, 645, "税 额", "right"),
}
LIST_COLUMNS: dict[str, tuple[float, float, str, str]] = {
    "row_no": (35, 60, "序号", "centre"), "name": (60, 210, "货物(劳务)名称", "left"),
    "spec": (210, 262, "规格型号", "left"), "unit": (262, 295, "单位", "left"),
    "quantity": (295, 340, "数 量", "right"), "unit_price": (340, 415, "单 价", "right"),
    "amount": (415, 495, "金 额", "right"), "tax_rate": (495, 535, "税率", "centre"),
    "tax": (535, 645, "税 额", "right"),
}
ITEM_LAYOUTS = ("items-toll", "items-toll-tight", "items-fuel", "items-discount", "items-wrapped", "items-many",
                "items-continued", "items-list")

_PROVINCES = "京沪浙苏粤川鄂湘豫陕"
_RETAIL = [("*日用杂品*办公用品", "A4", "箱", (9000, 30000)), ("*纸制品*复印纸", "70g", "包", (2000, 3500)),
           ("*计算机配套产品*无线鼠标", "M185", "个", (6900, 12900)),
           ("*医用耗材*医用外科口罩", "17.5*9.5cm", "盒", (1500, 4000)),
           ("*清洁用品*消毒湿巾", "80片", "包", (990, 2590))]
_LONG = [("*医疗器械*一次性使用无菌注射器带针（含配送及安装调试服务）", "5ml", "盒", (3000, 9000)),
         ("*信息技术服务*医院信息系统运行维护及数据备份技术支持服务费", "", "项", (500000, 900000)),
         ("*医用耗材*医用脱脂纱布块及医用棉签组合包（灭菌级）", "8*10cm", "包", (800, 2600))]
_FUELS = [("*汽油*92号车用汽油(VIB)", "92#", (720, 820)), ("*汽油*95号车用汽油(VIB)", "95#", (770, 880)),
          ("*柴油*0号车用柴油(VI)", "0#", (700, 790))]


def _goods(rng: random.Random, catalogue: list[tuple[str, str, str, tuple[int, int]]], rate: str) -> dict[str, Any]:
    name, spec, unit, (low, high) = rng.choice(catalogue)
    quantity = Decimal(rng.choice([1, 2, 3, 5, 6, 10, 12, 20]))
    price = Decimal(rng.randint(low, high)) / 100
    amount = quantize_cents(quantity * price)
    tax_rate = Decimal(rate)
    return {"name": name, "spec": spec or None, "unit": unit, "quantity": quantity, "unit_price": price,
            "amount": amount, "tax_rate": tax_rate, "tax": quantize_cents(amount * tax_rate)}


def _discount(item: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The discount line a till prints under an item: same name and rate, negative amount and tax."""
    cut = quantize_cents(item["amount"] * Decimal(rng.choice(["0.05", "0.1", "0.12", "0.2"])))
    return {"name": item["name"], "spec": None, "unit": None, "quantity": None, "unit_price": None,
            "amount": -cut, "tax_rate": item["tax_rate"], "tax": -quantize_cents(cut * item["tax_rate"])}


def _plate(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    tail = "".join(rng.choice(letters + "0123456789") if i < 2 else rng.choice("0123456789") for i in range(5))
    return rng.choice(_PROVINCES) + rng.choice(letters[:12]) + tail


def _toll_items(rng: random.Random, issued: Any) -> list[dict[str, Any]]:
    plate, kind = _plate(rng), rng.choice(["客车", "客车", "货车"])
    items = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        start = issued - timedelta(days=rng.randint(1, 40))
        end = start + timedelta(days=rng.choice([0, 0, 1]))
        amount = Decimal(rng.randint(500, 40000)) / 100
        items.append({"name": "*经营租赁*通行费", "spec": None, "unit": None, "quantity": None, "unit_price": None,
                      "amount": amount, "tax_rate": Decimal("0.03"), "tax": quantize_cents(amount * Decimal("0.03")),
                      "plate": plate, "vehicle_type": kind, "travel_from": start, "travel_to": end})
    return items


def _fuel_items(rng: random.Random) -> list[dict[str, Any]]:
    name, spec, (low, high) = rng.choice(_FUELS)
    pump = Decimal(rng.randint(low, high)) / 100
    litres = Decimal(rng.randint(1500, 6000)) / 100
    price = (pump / Decimal("1.13")).quantize(Decimal("0.000001"))
    amount = quantize_cents(litres * price)
    return [{"name": name, "spec": spec, "unit": "升", "quantity": litres, "unit_price": price, "amount": amount,
             "tax_rate": Decimal("0.13"), "tax": quantize_cents(amount * Decimal("0.13"))}]


def _with_items(values: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    total_amount = sum((i["amount"] for i in items), Decimal("0.00"))
    total_tax = sum((i["tax"] for i in items), Decimal("0.00"))
    return {**values, "items": items, "total_amount": total_amount, "total_tax": total_tax,
            "total_with_tax": total_amount + total_tax,
            "total_uppercase": format_uppercase_amount(total_amount + total_tax)}


def _cell_text(column: str, item: dict[str, Any]) -> str:
    value = item.get(column)
    if value is None:
        return ""
    if column == "tax_rate":
        return "免税" if value == 0 else f"{(value * 100).normalize():f}%"
    if column in ("amount", "tax"):
        return "***" if column == "tax" and item["tax_rate"] == 0 else f"{value:.2f}"
    if column in ("travel_from", "travel_to"):
        return f"{value:%Y%m%d}"
    return str(value)


def _draw_header(p: Painter, columns: dict[str, tuple[float, float, str, str]], y: float) -> None:
    for left, right, title, _align in columns.values():
        p.text((left + right - p.width(title, 9)) / 2, y, title, 9)


def _draw_rows(p: Painter, columns: dict[str, tuple[float, float, str, str]], rows: list[dict[str, Any]],
               y: float, *, wrap: int, step: float = 11, size: float = 8) -> float:
    """Item rows from ``y`` down; a name longer than ``wrap`` characters continues on the next lines."""
    for row in rows:
        name = row.get("name") or ""
        chunks = [name[i:i + wrap] for i in range(0, len(name), wrap)] or [""]
        tight_x: float | None = None
        for column, (left, right, _title, align) in columns.items():
            text = chunks[0] if column == "name" else _cell_text(column, row)
            if not text:
                continue
            if align == "left":
                x = left + 3
            elif align == "tight":  # right after the previous cell's text, as tight toll files print it
                x = tight_x if tight_x is not None else left + 2
            elif align == "right":
                x = right - 3 - p.width(text, size)
            else:
                x = (left + right - p.width(text, size)) / 2
            p.text(x, y, text, size)
            tight_x = x + p.width(text, size) + 0.5 if align == "tight" else None
        for chunk in chunks[1:]:
            y -= step
            p.text(columns["name"][0] + 3, y, chunk, size)
        y -= step
    return y


def _table_drawer(columns: dict[str, tuple[float, float, str, str]], rows: list[dict[str, Any]], *,
                  wrap: int = 14, step: float = 11) -> Callable[..., float]:
    """A replacement for the ordinary item table of ``draw_pre2024`` / ``draw_digital``."""
    def draw(p: Painter, v: dict[str, Any], style: Style, header_y: float, digital: bool) -> float:
        _draw_header(p, columns, header_y)
        y = _draw_rows(p, columns, rows, header_y - 14, wrap=wrap, step=step)
        totals_y = min(y - 4, header_y - 80)
        p.text(80, totals_y, "合", 9)
        p.text(110, totals_y, "计", 9)
        for column, amount in (("amount", v["total_amount"]), ("tax", v["total_tax"])):
            text = f"¥{amount:.2f}"
            p.text(columns[column][1] - 3 - p.width(text, 9), totals_y, text, 9)
        return totals_y
    return draw


def _list_page(p: PdfPainter, v: dict[str, Any], rows: list[dict[str, Any]], *, sales_list: bool) -> None:
    """A second page: the sales list (销货清单) of a pre-2024 invoice, or the continued table of a digital one."""
    p.canvas.showPage()
    if sales_list:
        p.text(180, 370, "销售货物或者提供应税劳务、服务清单", 14)
        p.text(40, 345, f"购买方名称: {v['buyer_name']}", 9)
        p.text(40, 332, f"销售方名称: {v['seller_name']}", 9)
        p.text(40, 319, f"所属增值税电子普通发票代码: {v['code']}   号码: {v['number']}   共1页 第1页", 9)
        columns = LIST_COLUMNS
        numbered = [{**row, "row_no": str(i + 1)} for i, row in enumerate(rows)]
    else:
        p.text(PAGE_TITLE_X, 370, "电子发票(普通发票)", 14)
        p.text(470, 350, f"发票号码: {v['number']}", 9)
        p.text(470, 337, "第2页 共2页", 9)
        columns, numbered = GOODS_COLUMNS, rows
    _draw_header(p, columns, 300)
    y = _draw_rows(p, columns, numbered, 286, wrap=13, step=10)
    amount = sum((r["amount"] for r in rows), Decimal("0.00"))
    tax = sum((r["tax"] for r in rows), Decimal("0.00"))
    for label, yy in (("小 计", y - 4), ("总 计", y - 18)) if sales_list else (("小 计", y - 4),):
        p.text(60, yy, label, 9)
        if label.startswith("总"):
            amount, tax = v["total_amount"], v["total_tax"]
        for column, value in (("amount", amount), ("tax", tax)):
            text = f"¥{value:.2f}"
            p.text(columns[column][1] - 3 - p.width(text, 9), yy, text, 9)
    if sales_list:
        p.text(40, y - 40, "备注:", 9)
        p.text(420, y - 40, f"填开日期: {v['issue_date']:%Y年%m月%d日}", 9)


PAGE_TITLE_X = 260.0


def item_sample(layout: str, seed: int, *, later_pages: bool = True) -> Sample:
    """One invoice of an ``ITEM_LAYOUTS`` layout with its ground truth (items as the extractor must read them).

    ``later_pages=False`` leaves out the second page, as when a claimant uploads only the first one.
    """
    rng = random.Random(f"{layout}:{seed}")
    digital = layout in ("items-continued",) or (layout in ("items-discount", "items-wrapped") and seed % 2 == 0)
    kind = InvoiceKind.DIGITAL if digital else InvoiceKind.ELECTRONIC_ORDINARY
    values = invoice_values(rng, kind)
    second_page: list[dict[str, Any]] = []
    first_page_rows: list[dict[str, Any]] | None = None
    wrap, step = 14, 11.0
    columns = GOODS_COLUMNS
    if layout in ("items-toll", "items-toll-tight"):
        items = _toll_items(rng, values["issue_date"])
        columns = TOLL_COLUMNS if layout == "items-toll" else TOLL_TIGHT_COLUMNS
    elif layout == "items-fuel":
        items = _fuel_items(rng)
    elif layout == "items-discount":
        items = []
        for _ in range(rng.choice([1, 2, 3])):
            item = _goods(rng, _RETAIL, "0.13")
            items.append(item)
            if rng.random() < 0.7 or not any(i["amount"] < 0 for i in items):
                items.append(_discount(item, rng))
    elif layout == "items-wrapped":
        items = [_goods(rng, _LONG, rng.choice(["0.13", "0.06"])) for _ in range(rng.choice([1, 2, 3]))]
        wrap = rng.choice([10, 12, 14])
    elif layout == "items-many":
        items = [_goods(rng, _RETAIL, "0.13") for _ in range(8)]
        step = 9.5
    elif layout == "items-continued":
        items = [_goods(rng, _RETAIL + _LONG, "0.13") for _ in range(rng.randint(7, 12))]
        first_page_rows, second_page = items[:5], items[5:]
    elif layout == "items-list":
        items = [_goods(rng, _RETAIL + _LONG, rng.choice(["0.13", "0.06"])) for _ in range(rng.randint(9, 16))]
        second_page = items
    else:
        raise KeyError(layout)
    values = _with_items(values, items)
    if layout == "items-list":
        first_page_rows = [{"name": "(详见销货清单)", "amount": values["total_amount"],
                            "tax": values["total_tax"], "tax_rate": None}]
    painter = PdfPainter()
    drawer = _table_drawer(columns, first_page_rows if first_page_rows is not None else items, wrap=wrap, step=step)
    (draw_digital if digital else draw_pre2024)(painter, values, Style(), rng, drawer)
    if layout.startswith("items-toll"):
        painter.text(PAGE_TITLE_X + 40, 345, "通行费", 10)
    if second_page and later_pages:
        _list_page(painter, values, second_page, sales_list=layout == "items-list")
    return Sample(f"{layout}-{seed:04d}", layout, f"{layout}-{seed:04d}.pdf", painter.finish(),
                  ground_truth(values, Source.PDF_POSITION))


ITEM_SAMPLE_FACTORIES: dict[str, Callable[[int], Sample]] = {
    layout: (lambda seed, layout=layout: item_sample(layout, seed)) for layout in ITEM_LAYOUTS
}
