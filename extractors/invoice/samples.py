"""Generated Chinese e-invoices with their ground truth: the demo's files, and the tests' and benchmarks'.

Real invoices carry personal and commercial data and cannot be committed, so realistic ones are drawn
here — Chinese invoices in the layouts and quirks seen in real files (pre-2024 and digitalised; values as
separate text blocks, letter-spaced labels, label and value merged in one word, full-width punctuation,
multi-line item names, glyphs without a character map) and their XML and OFD forms. Every sample is
produced from a seed, so runs are reproducible. ``xml_invoice`` and ``pdf_invoice`` make the invoice of one
claim (a chosen date, seller and items); ``smartfin demo`` submits its claims with them. Foreign invoices
and the files the extractor must refuse are test material and stay in ``tests/support/invoice_samples.py``.

The Chinese font is WenQuanYi Zen Hei (Debian package ``fonts-wqy-zenhei``), a TrueType font that
reportlab embeds as a subset with a character map, as invoice software does.
"""

from __future__ import annotations

import io
import random
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from xml.sax.saxutils import escape

from extractors.invoice.model import InvoiceKind, InvoiceRecord, Source, record_from_values
from extractors.invoice.uppercase import format_uppercase_amount
from extractors.invoice.uscc import make_uscc
from smartfin.kernel.clock import hospital_today
from smartfin.kernel.settings import get_settings

CJK_FONT_PATHS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
)
CJK_FONT = "InvoiceCJK"
UNMAPPED_FONT = "STSong-Light"  # reportlab's built-in CID font, re-labelled below so it has no character map
PAGE = (684.0, 397.0)  # 241 × 140 mm, the size of an electronic VAT invoice
CENT = Decimal("0.01")

PDF_LAYOUTS = (
    "pre2024-standard", "pre2024-separate", "pre2024-spaced", "pre2024-merged", "pre2024-fullwidth",
    "pre2024-multiline", "pre2024-special", "digital-standard", "digital-separate", "digital-multiline",
    "digital-fullwidth",
)


class SampleError(RuntimeError):
    """The sample cannot be produced on this machine (e.g. no CJK TrueType font installed)."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One generated file and what reading it must yield."""

    name: str
    layout: str
    filename: str
    data: bytes
    truth: InvoiceRecord | None  # None for files that must be refused
    expected_finding: str | None = None  # the finding code a refused or damaged file must produce


# ---------------------------------------------------------------- realistic data

_CITIES = [("北京", "110105"), ("上海", "310104"), ("广州", "440106"), ("杭州", "330106"), ("成都", "510107"),
           ("武汉", "420106"), ("南京", "320106"), ("西安", "610113"), ("长沙", "430104"), ("郑州", "410105")]
_HOSPITALS = ["{c}市第一人民医院", "{c}市中医医院", "{c}市妇幼保健院", "{c}医科大学附属第二医院",
              "{c}市肿瘤医院", "{c}市儿童医院", "{c}市第三人民医院", "{c}市口腔医院"]
_SELLERS = ["{c}康泰医疗器械有限公司", "{c}华瑞医药科技有限公司", "{c}锦程酒店管理有限公司",
            "{c}博远信息技术有限公司", "{c}仁和医用耗材有限公司", "{c}新华书店有限公司",
            "{c}优选餐饮管理有限公司", "{c}安信设备维修服务部"]
_COOPERATIVE = "{c}绿源果蔬农民专业合作社"
# (name, spec, unit, rate, price range)
_CATALOGUE: list[tuple[str, str, str, str, tuple[int, int]]] = [
    ("*医疗器械*一次性使用输液器", "0.7mm", "盒", "0.13", (2000, 9000)),
    ("*医用耗材*医用外科口罩", "17.5*9.5cm", "包", "0.13", (500, 3000)),
    ("*医疗器械*电子血压计", "HEM-7121", "台", "0.13", (19900, 59900)),
    ("*住宿服务*住宿费", "", "天", "0.06", (28000, 68000)),
    ("*餐饮服务*餐饮服务费", "", "次", "0.06", (5000, 40000)),
    ("*会议服务*学术会议注册费", "", "人", "0.06", (80000, 260000)),
    ("*信息技术服务*医院信息系统运行维护服务费", "", "项", "0.06", (500000, 3000000)),
    ("*维修服务*监护仪维修", "MX450", "次", "0.03", (30000, 180000)),
    ("*日用杂品*办公用品", "A4", "箱", "0.01", (9000, 30000)),
    ("*图书*临床诊疗指南", "2023版", "册", "0", (4000, 19800)),
]
_FARM_ITEM = ("*蔬菜*新鲜蔬菜", "", "千克", "0", (300, 1200))
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
_GIVEN = ["芳", "伟", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
          "秀英", "建华"]
_REMARKS = ["报销单号BX{n}", "会议日期{d}", "合同号HT{n}", "住宿{k}晚", None, None]


def _person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN)


def random_digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _org_body(rng: random.Random) -> str:
    if rng.random() < 0.4:  # newer codes carry letters, e.g. MA01…
        alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
        return "MA" + rng.choice("0123456789") + "".join(rng.choice(alphabet) for _ in range(5))
    return random_digits(rng, 8)


def make_tax_id(rng: random.Random, region: str, authority: str, kind: str) -> str:
    """A valid unified social credit code (check characters computed, not copied)."""
    return make_uscc(authority, kind, region, _org_body(rng))


def quantize_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def invoice_values(rng: random.Random, kind: InvoiceKind, *, item_count: int | None = None,
                   long_names: bool = False) -> dict[str, Any]:
    """The values of one plausible invoice to a hospital: parties, items, totals, identifiers."""
    city, region = rng.choice(_CITIES)
    seller_city, seller_region = rng.choice(_CITIES)
    cooperative = rng.random() < 0.1
    if cooperative:
        seller_name = _COOPERATIVE.format(c=seller_city)
        seller_tax_id = make_tax_id(rng, seller_region, "N", "2")  # letter-first: agricultural cooperative
        catalogue = [_FARM_ITEM]
    else:
        seller_name = rng.choice(_SELLERS).format(c=seller_city)
        seller_tax_id = make_tax_id(rng, seller_region, "9", "1")
        catalogue = _CATALOGUE
    count = item_count if item_count is not None else rng.choice([1, 1, 1, 2, 3])
    items = []
    for _ in range(count):
        name, spec, unit, rate, (low, high) = rng.choice(catalogue)
        if long_names:
            name = name + "（含配送及安装调试服务）"
        quantity = Decimal(rng.choice([1, 1, 2, 3, 5, 10, 12, 20, 50]))
        price = Decimal(rng.randint(low, high)) / 100
        amount = quantize_cents(quantity * price)
        tax_rate = Decimal(rate)
        tax = quantize_cents(amount * tax_rate)
        items.append({"name": name, "spec": spec or None, "unit": unit, "quantity": quantity,
                      "unit_price": price, "amount": amount, "tax_rate": tax_rate, "tax": tax})
    total_amount = sum((i["amount"] for i in items), Decimal("0.00"))
    total_tax = sum((i["tax"] for i in items), Decimal("0.00"))
    total = total_amount + total_tax
    if kind is InvoiceKind.DIGITAL:
        issued = date(2024, 1, 1) + timedelta(days=rng.randint(0, 600))
    else:
        issued = date(2021, 1, 1) + timedelta(days=rng.randint(0, 1090))
    remark = rng.choice(_REMARKS)
    if remark:
        remark = remark.format(n=random_digits(rng, 8), d=issued.isoformat(), k=rng.randint(1, 5))
    values: dict[str, Any] = {
        "kind": kind,
        "number": None, "code": None, "check_code": None, "machine_no": None,
        "issue_date": issued,
        "buyer_name": rng.choice(_HOSPITALS).format(c=city),
        "buyer_tax_id": make_tax_id(rng, region, "1", "2"),  # 12…: public institution
        "seller_name": seller_name, "seller_tax_id": seller_tax_id,
        "items": items,
        "total_amount": total_amount, "total_tax": total_tax, "total_with_tax": total,
        "total_uppercase": format_uppercase_amount(total),
        "remarks": remark,
        "payee": None, "reviewer": None, "issuer": _person(rng),
        "currency": "CNY",
    }
    if kind is InvoiceKind.DIGITAL:
        values["number"] = f"{issued.year % 100:02d}{region[:2]}2000000{random_digits(rng, 9)}"
    else:
        year = f"{issued.year % 100:02d}"
        values["code"] = "0" + region[:2] + "00" + year + random_digits(rng, 3) + "11"
        values["number"] = random_digits(rng, 8)
        values["check_code"] = random_digits(rng, 20)
        values["machine_no"] = rng.choice(["66", "49", "04"]) + random_digits(rng, 10)
        values["payee"] = _person(rng)
        values["reviewer"] = _person(rng)
    return values


# ---------------------------------------------------------------- painting

class Painter(Protocol):
    """Where an invoice layout is drawn: a PDF canvas or an OFD page."""

    def text(self, x: float, y: float, s: str, size: float, *, char_space: float = 0.0,
             unmapped: bool = False) -> None: ...

    def width(self, s: str, size: float) -> float: ...


@lru_cache(maxsize=1)
def register_fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    for path in CJK_FONT_PATHS:
        if path.exists():
            pdfmetrics.registerFont(TTFont(CJK_FONT, str(path), subfontIndex=0))
            break
    else:
        raise SampleError("no CJK TrueType font: apt-get install fonts-wqy-zenhei")
    pdfmetrics.registerFont(UnicodeCIDFont(UNMAPPED_FONT))


class PdfPainter:
    """Draws with reportlab; one ``text`` call is one text object in the PDF."""

    def __init__(self) -> None:
        from reportlab.pdfgen import canvas

        register_fonts()
        self.buffer = io.BytesIO()
        self.canvas = canvas.Canvas(self.buffer, pagesize=PAGE, invariant=1, pageCompression=1)
        self.uses_unmapped = False

    def text(self, x: float, y: float, s: str, size: float, *, char_space: float = 0.0,
             unmapped: bool = False) -> None:
        self.canvas.setFont(UNMAPPED_FONT if unmapped else CJK_FONT, size)
        self.uses_unmapped |= unmapped
        self.canvas.drawString(x, y, s, charSpace=char_space)

    def width(self, s: str, size: float) -> float:
        from reportlab.pdfbase.pdfmetrics import stringWidth

        return stringWidth(s, CJK_FONT, size)

    def finish(self) -> bytes:
        self.canvas.showPage()
        self.canvas.save()
        data = self.buffer.getvalue()
        if self.uses_unmapped:
            # Same length, so the cross-reference table stays valid: the font's codes become plain glyph
            # ids of an unknown collection, the way subset fonts without a ToUnicode map look.
            data = data.replace(b"/Encoding /UniGB-UCS2-H", b"/Encoding /Identity-H   ").replace(b"(GB1)", b"(Xyz)")
        return data


class OfdPainter:
    """Collects text objects in OFD page units (millimetres, y downwards)."""

    MM = 25.4 / 72

    def __init__(self) -> None:
        self.objects: list[str] = []

    def width(self, s: str, size: float) -> float:
        return sum(size if ord(ch) > 0x2E80 else size * 0.5 for ch in s)

    def text(self, x: float, y: float, s: str, size: float, *, char_space: float = 0.0,
             unmapped: bool = False) -> None:
        mm = self.MM
        advances = [(size if ord(ch) > 0x2E80 else size * 0.5) + char_space for ch in s]
        box = (x * mm, (PAGE[1] - y - size) * mm, sum(advances) * mm + 1, size * 1.2 * mm)
        delta = " ".join(f"{a * mm:.3f}" for a in advances[:-1])
        self.objects.append(
            f'<ofd:TextObject ID="{len(self.objects) + 10}" Boundary="{box[0]:.3f} {box[1]:.3f} {box[2]:.3f} '
            f'{box[3]:.3f}" Font="3" Size="{size * mm:.3f}"><ofd:TextCode X="0" Y="{size * mm:.3f}" '
            f'DeltaX="{delta}">{escape(s)}</ofd:TextCode></ofd:TextObject>')


# ---------------------------------------------------------------- the Chinese invoice layouts

@dataclass(frozen=True, slots=True)
class Style:
    """How labels and values are drawn; each option reproduces a quirk of real invoice files."""

    labels: str = "standard"  # standard | separate | spaced | merged
    fullwidth: bool = False
    wrap_names: bool = False
    unmapped_seller: bool = False


def _money(value: Decimal, style: Style) -> str:
    return ("￥" if style.fullwidth else "¥") + f"{value:.2f}"


def _rate(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def _field(p: Painter, x: float, y: float, label: str, value: str | None, style: Style, *, size: float = 9,
           below: bool = False, value_x: float | None = None, spread: float = 0.0, unmapped: bool = False) -> None:
    """Draw one label with its value in the style's manner."""
    colon = "：" if style.fullwidth else ":"
    value = value or ""
    if style.labels == "separate":
        p.text(x, y, label + colon, size)
        if below:
            p.text(x + 4, y - size - 3, value, size, unmapped=unmapped)
        else:
            p.text(value_x or (x + p.width(label + colon, size) + 24), y, value, size, unmapped=unmapped)
    elif style.labels == "spaced":
        space = spread or size * 0.9
        p.text(x, y, label, size, char_space=space)
        end = x + p.width(label, size) + space * len(label)
        p.text(end, y, colon, size)
        p.text(end + p.width(colon, size) + 2, y, value, size, unmapped=unmapped)
    elif style.labels == "merged":
        # the first character alone, the rest of the label glued to the value: "名" + "称:公司名"
        p.text(x, y, label[0], size)
        start = x + p.width(label[0], size) + (spread or size * 1.5)
        if unmapped:
            p.text(start, y, label[1:] + colon, size)
            p.text(start + p.width(label[1:] + colon, size), y, value, size, unmapped=True)
        else:
            p.text(start, y, label[1:] + colon + value, size)
    else:
        p.text(x, y, label + colon, size)
        p.text(x + p.width(label + colon, size) + 2, y, value, size, unmapped=unmapped)


def _vertical(p: Painter, x: float, y: float, text: str, size: float = 9) -> None:
    for i, ch in enumerate(text):
        p.text(x, y - i * (size + 3), ch, size)


_COLUMNS = {  # name: (left, right)
    "name": (35, 195), "spec": (195, 262), "unit": (262, 295), "quantity": (295, 340),
    "unit_price": (340, 415), "amount": (415, 495), "tax_rate": (495, 535), "tax": (535, 645),
}


def _table(p: Painter, v: dict[str, Any], style: Style, header_y: float, digital: bool) -> float:
    """Item table; returns the y of the 合计 row."""
    headers = {"name": "项目名称" if digital else "货物或应税劳务、服务名称", "spec": "规格型号", "unit": "单位",
               "quantity": "数 量", "unit_price": "单 价", "amount": "金 额",
               "tax_rate": "税率/征收率" if digital else "税率", "tax": "税 额"}
    for column, title in headers.items():
        left, right = _COLUMNS[column]
        p.text((left + right - p.width(title, 9)) / 2, header_y, title, 9)
    y = header_y - 14
    size = 8
    for item in v["items"]:
        name = item["name"]
        rest = ""
        if style.wrap_names and len(name) > 12:
            name, rest = name[:12], name[12:]
        p.text(_COLUMNS["name"][0] + 3, y, name, size)
        if item["spec"]:
            p.text(_COLUMNS["spec"][0] + 3, y, item["spec"], size)
        p.text(_COLUMNS["unit"][0] + 5, y, item["unit"], size)
        for column, text in (("quantity", f"{item['quantity']}"), ("unit_price", f"{item['unit_price']}"),
                             ("amount", f"{item['amount']:.2f}"), ("tax", f"{item['tax']:.2f}")):
            if column == "tax" and item["tax_rate"] == 0:
                text = "***"
            p.text(_COLUMNS[column][1] - 3 - p.width(text, size), y, text, size)
        rate = "免税" if item["tax_rate"] == 0 else _rate(item["tax_rate"])
        left, right = _COLUMNS["tax_rate"]
        p.text((left + right - p.width(rate, size)) / 2, y, rate, size)
        y -= 11
        if rest:
            p.text(_COLUMNS["name"][0] + 3, y, rest, size)
            y -= 11
    totals_y = min(y - 4, header_y - 80)
    p.text(80, totals_y, "合", 9)
    p.text(110, totals_y, "计", 9)
    for column, amount in (("amount", v["total_amount"]), ("tax", v["total_tax"])):
        text = _money(amount, style)
        p.text(_COLUMNS[column][1] - 3 - p.width(text, 9), totals_y, text, 9)
    return totals_y


def _totals_line(p: Painter, v: dict[str, Any], style: Style, y: float) -> None:
    open_, close = ("（", "）") if style.fullwidth else ("(", ")")
    label = f"价税合计{open_}大写{close}"
    if style.labels == "separate":
        p.text(40, y, label, 9)
        p.text(170, y, "⊗" + v["total_uppercase"], 9)
        p.text(440, y, f"{open_}小写{close}", 9)
        p.text(490, y, _money(v["total_with_tax"], style), 9)
    else:
        p.text(40, y, label, 9)
        p.text(40 + p.width(label, 9) + 6, y, "⊗" + v["total_uppercase"], 9)
        p.text(440, y, f"{open_}小写{close}" + _money(v["total_with_tax"], style), 9)


def _cipher(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789+-*/<>") for _ in range(27))


def draw_pre2024(p: Painter, v: dict[str, Any], style: Style, rng: random.Random, table: Any = None) -> None:
    """The pre-2024 electronic ordinary/special invoice: code, number, check code, machine number.

    ``table`` draws the item table instead of the ordinary one (toll, fuel and list layouts).
    """
    special = v["kind"] is InvoiceKind.ELECTRONIC_SPECIAL
    title = "增值税电子专用发票" if special else "增值税电子普通发票"
    city = v["buyer_name"][:2]
    p.text(PAGE[0] / 2 - 90, 362, city + title, 16)
    wide = style.labels == "spaced"
    _field(p, 30, 336, "机器编号", v["machine_no"], style, below=True)
    _field(p, 470, 350, "发票代码", v["code"], style)
    _field(p, 470, 337, "发票号码", v["number"], style)
    _field(p, 470, 324, "开票日期", f"{v['issue_date']:%Y年%m月%d日}", style)
    check = " ".join(v["check_code"][i:i + 5] for i in range(0, 20, 5))
    if wide:
        _field(p, 470, 311, "校验码", check, style, spread=5)
    else:
        _field(p, 470, 311, "校验码", check, style, below=True)
    _vertical(p, 32, 290, "购买方")
    _party(p, 50, 290, v["buyer_name"], v["buyer_tax_id"], style, wide)
    _vertical(p, 362, 290, "密码区")
    for i in range(4):
        p.text(380, 290 - 13 * i, _cipher(rng), 9)
    totals_y = (table or _table)(p, v, style, 232, digital=False)
    _totals_line(p, v, style, totals_y - 16)
    top = totals_y - 34
    _vertical(p, 32, top, "销售方")
    _party(p, 50, top, v["seller_name"], v["seller_tax_id"], style, wide, unmapped=style.unmapped_seller)
    if v["remarks"]:
        _field(p, 370, top, "备注", v["remarks"], style, below=style.labels == "separate")
    else:
        p.text(370, top, "备注", 9)
    bottom = top - 60
    _field(p, 40, bottom, "收款人", v["payee"], style)
    _field(p, 200, bottom, "复核", v["reviewer"], style)
    _field(p, 340, bottom, "开票人", v["issuer"], style)
    p.text(500, bottom, "销售方:(章)", 9)


def _party(p: Painter, x: float, y: float, name: str, tax_id: str, style: Style, wide: bool, *,
           unmapped: bool = False) -> None:
    # real invoices spread 名称 to the width of 纳税人识别号
    _field(p, x, y, "名称", name, style, spread=36 if wide else 0.0, value_x=x + 90, unmapped=unmapped)
    _field(p, x, y - 13, "纳税人识别号", tax_id, style, value_x=x + 90)
    _field(p, x, y - 26, "地址、电话", "", style)
    _field(p, x, y - 39, "开户行及账号", "", style)


def draw_digital(p: Painter, v: dict[str, Any], style: Style, rng: random.Random, table: Any = None) -> None:
    """The fully digitalised invoice (数电票): one 20-digit number, buyer and seller side by side."""
    open_, close = ("（", "）") if style.fullwidth else ("(", ")")
    p.text(PAGE[0] / 2 - 80, 362, f"电子发票{open_}普通发票{close}", 16)
    _field(p, 470, 350, "发票号码", v["number"], style)
    _field(p, 470, 337, "开票日期", f"{v['issue_date']:%Y年%m月%d日}", style)
    for x, who, name, tax_id in ((32, "购买方信息", v["buyer_name"], v["buyer_tax_id"]),
                                 (345, "销售方信息", v["seller_name"], v["seller_tax_id"])):
        _vertical(p, x, 312, who, 8)
        _field(p, x + 18, 305, "名称", name, style, value_x=x + 60, unmapped=style.unmapped_seller and x > 100)
        _field(p, x + 18, 285, "统一社会信用代码/纳税人识别号", tax_id, style, size=8,
               value_x=x + 18 + 150)
    totals_y = (table or _table)(p, v, style, 240, digital=True)
    _totals_line(p, v, style, totals_y - 16)
    if v["remarks"]:
        _field(p, 40, totals_y - 40, "备注", v["remarks"], style, below=style.labels == "separate")
    _field(p, 470, totals_y - 70, "开票人", v["issuer"], style)


LAYOUT_STYLES: dict[str, tuple[InvoiceKind, Style, dict[str, Any]]] = {
    "pre2024-standard": (InvoiceKind.ELECTRONIC_ORDINARY, Style(), {}),
    "pre2024-separate": (InvoiceKind.ELECTRONIC_ORDINARY, Style(labels="separate"), {}),
    "pre2024-spaced": (InvoiceKind.ELECTRONIC_ORDINARY, Style(labels="spaced"), {}),
    "pre2024-merged": (InvoiceKind.ELECTRONIC_ORDINARY, Style(labels="merged"), {}),
    "pre2024-fullwidth": (InvoiceKind.ELECTRONIC_ORDINARY, Style(fullwidth=True), {}),
    "pre2024-multiline": (InvoiceKind.ELECTRONIC_ORDINARY, Style(wrap_names=True),
                          {"item_count": 3, "long_names": True}),
    "pre2024-special": (InvoiceKind.ELECTRONIC_SPECIAL, Style(), {"item_count": 4}),
    "pre2024-unmapped": (InvoiceKind.ELECTRONIC_ORDINARY, Style(unmapped_seller=True), {}),
    "digital-standard": (InvoiceKind.DIGITAL, Style(), {}),
    "digital-separate": (InvoiceKind.DIGITAL, Style(labels="separate"), {}),
    "digital-multiline": (InvoiceKind.DIGITAL, Style(wrap_names=True), {"item_count": 2, "long_names": True}),
    "digital-fullwidth": (InvoiceKind.DIGITAL, Style(fullwidth=True, labels="merged"), {}),
}


def _nfkc(value: Any) -> Any:
    return unicodedata.normalize("NFKC", value) if isinstance(value, str) else value


def ground_truth(values: dict[str, Any], source: Source) -> InvoiceRecord:
    """Ground truth as the extractor reports text: NFKC-normalised (full-width punctuation folded)."""
    values = {k: _nfkc(v) for k, v in values.items()}
    values["items"] = [{k: _nfkc(v) for k, v in item.items()} for item in values.get("items", [])]
    return record_from_values(values, source=source)


def chinese_pdf(layout: str, seed: int) -> Sample:
    """A Chinese invoice PDF in one of ``LAYOUT_STYLES`` with its ground truth."""
    kind, style, options = LAYOUT_STYLES[layout]
    rng = random.Random(f"{layout}:{seed}")
    values = invoice_values(rng, kind, **options)
    painter = PdfPainter()
    (draw_digital if kind is InvoiceKind.DIGITAL else draw_pre2024)(painter, values, style, rng)
    data = painter.finish()
    if style.unmapped_seller:
        values = {**values, "seller_name": None}
    return Sample(f"{layout}-{seed:04d}", layout, f"{layout}-{seed:04d}.pdf", data,
                  ground_truth(values, Source.PDF_POSITION),
                  "GLYPHS_UNREADABLE" if style.unmapped_seller else None)


# ---------------------------------------------------------------- XML and OFD

def digital_xml(values: dict[str, Any]) -> bytes:
    """The XML a taxpayer downloads for a digitalised invoice (element names of the national platform)."""
    def el(tag: str, value: object) -> str:
        return f"<{tag}>{escape(str(value))}</{tag}>" if value is not None else ""

    items = "".join(
        "<IssuItemInformation>" + el("ItemName", i["name"]) + el("SpecMod", i["spec"]) + el("MeaUnits", i["unit"])
        + el("Quantity", i["quantity"]) + el("UnPrice", i["unit_price"]) + el("Amount", i["amount"])
        + el("TaxRate", i["tax_rate"]) + el("ComTaxAm", i["tax"]) + "</IssuItemInformation>"
        for i in values["items"])
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<EInvoice><Header><EIid>'
        + escape(values["number"]) + "</EIid><EInvoiceTag>SWEI3200</EInvoiceTag><Version>0.1</Version></Header>"
        "<EInvoiceData><SellerInformation>" + el("SellerIdNum", values["seller_tax_id"])
        + el("SellerName", values["seller_name"]) + "</SellerInformation><BuyerInformation>"
        + el("BuyerIdNum", values["buyer_tax_id"]) + el("BuyerName", values["buyer_name"])
        + "</BuyerInformation><BasicInformation>" + el("TotalAmWithoutTax", values["total_amount"])
        + el("TotalTaxAm", values["total_tax"]) + el("TotalTax-includedAmount", values["total_with_tax"])
        + el("TotalTax-includedAmountInChinese", values["total_uppercase"]) + el("Drawer", values["issuer"])
        + el("RequestTime", f"{values['issue_date']:%Y-%m-%d} 10:21:07") + "</BasicInformation>" + items
        + "<AdditionalInformation>" + el("Remark", values["remarks"]) + "</AdditionalInformation></EInvoiceData>"
        "<TaxSupervisionInfo>" + el("InvoiceNumber", values["number"])
        + el("IssueTime", f"{values['issue_date']:%Y-%m-%d}") + el("TaxBureauCode", "13302000000")
        + "</TaxSupervisionInfo></EInvoice>")
    return xml.encode("utf-8")


def xml_sample(seed: int) -> Sample:
    """A digitalised invoice as XML."""
    rng = random.Random(f"xml:{seed}")
    values = invoice_values(rng, InvoiceKind.DIGITAL)
    return Sample(f"xml-{seed:04d}", "xml", f"dzfp_{values['number']}.xml", digital_xml(values),
                  ground_truth(values, Source.XML))


_OFD_NS = 'xmlns:ofd="http://www.ofdspec.org/2016"'


def _ofd_zip(content: str, attachment: bytes | None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        def put(name: str, text: str | bytes) -> None:
            z.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), text)

        put("OFD.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {_OFD_NS} Version="1.0" DocType="OFD">'
            '<ofd:DocBody><ofd:DocInfo><ofd:DocID>5f2c3a</ofd:DocID><ofd:Creator>tax</ofd:Creator></ofd:DocInfo>'
            '<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>')
        attachments = "<ofd:Attachments>Attachs/Attachments.xml</ofd:Attachments>" if attachment else ""
        put("Doc_0/Document.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {_OFD_NS}>'
            '<ofd:CommonData><ofd:MaxUnitID>999</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 241 140'
            '</ofd:PhysicalBox></ofd:PageArea><ofd:PublicRes>PublicRes_0.xml</ofd:PublicRes></ofd:CommonData>'
            '<ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>'
            f"{attachments}</ofd:Document>")
        put("Doc_0/PublicRes_0.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res {_OFD_NS} BaseLoc="Res">'
            '<ofd:Fonts><ofd:Font ID="3" FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>')
        put("Doc_0/Pages/Page_0/Content.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {_OFD_NS}>'
            f'<ofd:Content><ofd:Layer ID="2">{content}</ofd:Layer></ofd:Content></ofd:Page>')
        if attachment:
            put("Doc_0/Attachs/Attachments.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Attachments {_OFD_NS}>'
                '<ofd:Attachment ID="100" Name="original_invoice" Format="xml" Visible="false">'
                "<ofd:FileLoc>original_invoice.xml</ofd:FileLoc></ofd:Attachment></ofd:Attachments>")
            put("Doc_0/Attachs/original_invoice.xml", attachment)
    return buffer.getvalue()


def ofd_sample(seed: int, *, with_xml: bool) -> Sample:
    """A digitalised invoice as OFD, with or without the tax bureau's attached original XML."""
    rng = random.Random(f"ofd:{with_xml}:{seed}")
    values = invoice_values(rng, InvoiceKind.DIGITAL)
    painter = OfdPainter()
    draw_digital(painter, values, Style(), rng)
    data = _ofd_zip("".join(painter.objects), digital_xml(values) if with_xml else None)
    layout = "ofd-xml" if with_xml else "ofd-text"
    return Sample(f"{layout}-{seed:04d}", layout, f"{layout}-{seed:04d}.ofd", data,
                  ground_truth(values, Source.XML if with_xml else Source.OFD))


# ---------------------------------------------------------------- the invoice of one claim

@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One item as the seller bills it; amount and tax are computed (tax rounded to the fen)."""

    name: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    unit: str = ""
    spec: str = ""


def invoice_values_for(seed: int | str, *, kind: InvoiceKind = InvoiceKind.DIGITAL, issued: date | None = None,
                       total: Decimal | None = None, lines: Sequence[InvoiceLine] = (), seller: str | None = None,
                       buyer: str | None = None, remarks: str | None = None) -> dict[str, Any]:
    """Plausible invoice values issued on ``issued`` (default: 3 days ago in the hospital's time zone).

    The corpus's own dates lie years back, which a claim's deadline rule would flag: a claim needs an
    invoice of its own dates and amounts. ``total`` makes one tax-free item of that total; ``lines`` the
    items a seller billed (a hotel's nights, a box of consumables); ``seller`` replaces the drawn name; the
    buyer is the hospital of the settings (``buyer`` replaces its name, the tax id stays the hospital's).
    Everything else is drawn from ``seed``.
    """
    rng = random.Random(f"claims:{seed}")
    values = invoice_values(rng, kind, item_count=1)
    issued = issued or hospital_today() - timedelta(days=3)
    values["issue_date"] = issued
    if kind is InvoiceKind.DIGITAL:
        values["number"] = f"{issued.year % 100:02d}" + values["number"][2:]
    if total is not None:
        item = values["items"][0]
        item.update({"quantity": Decimal(1), "unit_price": total, "amount": total, "tax_rate": Decimal(0),
                     "tax": Decimal("0.00")})
        values.update({"total_amount": total, "total_tax": Decimal("0.00"), "total_with_tax": total,
                       "total_uppercase": format_uppercase_amount(total)})
    if lines:
        items = []
        for line in lines:
            amount = quantize_cents(line.quantity * line.unit_price)
            items.append({"name": line.name, "spec": line.spec or None, "unit": line.unit, "quantity": line.quantity,
                          "unit_price": line.unit_price, "amount": amount, "tax_rate": line.tax_rate,
                          "tax": quantize_cents(amount * line.tax_rate)})
        total_amount = sum((i["amount"] for i in items), Decimal("0.00"))
        total_tax = sum((i["tax"] for i in items), Decimal("0.00"))
        values.update({"items": items, "total_amount": total_amount, "total_tax": total_tax,
                       "total_with_tax": total_amount + total_tax,
                       "total_uppercase": format_uppercase_amount(total_amount + total_tax)})
    if seller is not None:
        values["seller_name"] = seller
    # a claim's invoice is made out to the hospital (its name and code from the settings)
    settings = get_settings()
    values["buyer_name"] = buyer if buyer is not None else settings.hospital_name
    values["buyer_tax_id"] = settings.hospital_uscc
    if remarks is not None:
        values["remarks"] = remarks
    return values


def xml_invoice(seed: int | str, **options: Any) -> tuple[str, bytes, dict[str, Any]]:
    """A digitalised invoice as the XML the taxpayer downloads: (filename, bytes, values)."""
    values = invoice_values_for(seed, **options)
    return f"dzfp_{values['number']}.xml", digital_xml(values), values


def pdf_invoice(seed: int | str, layout: str = "pre2024-standard", **options: Any) -> tuple[str, bytes, dict[str, Any]]:
    """A Chinese invoice PDF in one of the ``LAYOUT_STYLES``: (filename, bytes, values)."""
    kind, style, _ = LAYOUT_STYLES[layout]
    values = invoice_values_for(seed, kind=kind, **options)
    painter = PdfPainter()
    (draw_digital if kind is InvoiceKind.DIGITAL else draw_pre2024)(painter, values, style, random.Random(seed))
    return f"{layout}-{seed}.pdf", painter.finish(), values
