"""Generated OFD invoices in the tax bureau's structure, with their ground truth.

The bureau's files keep the fixed labels (发票代码:, 名称:, the table headers …) on a template page
(``Tpls/Tpl_0/Content.xml``), only the values on the page itself, and tie the values to their meaning in
custom tags (``CustomTags.xml`` → ``CustomTag.xml``: tag → ids of text objects on the page). A reader that
looks at the page content alone finds values without labels.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections import defaultdict
from typing import Any
from xml.sax.saxutils import escape

from extractors.invoice.model import InvoiceKind, Source
from extractors.invoice.samples import (
    PAGE,
    OfdPainter,
    Sample,
    Style,
    draw_digital,
    draw_pre2024,
    ground_truth,
    invoice_values,
)

NS = 'xmlns:ofd="http://www.ofdspec.org/2016"'
# custom tag → value field, as the bureau's CustomTag.xml names them
TAGS: dict[str, str] = {
    "InvoiceCode": "code", "InvoiceNo": "number", "IssueDate": "issue_date", "InvoiceCheckCode": "check_code",
    "MachineNo": "machine_no", "BuyerName": "buyer_name", "BuyerTaxID": "buyer_tax_id",
    "SellerName": "seller_name", "SellerTaxID": "seller_tax_id", "TaxExclusiveTotalAmount": "total_amount",
    "TaxTotalAmount": "total_tax", "TaxInclusiveTotalAmount": "total_with_tax", "Note": "remarks",
    "InvoiceClerk": "issuer", "Payee": "payee", "Checker": "reviewer",
}
_TEMPLATE_TEXTS = {"合", "计", "(小写)", "（小写）", "价税合计(大写)", "价税合计（大写）", "备注", "销售方:(章)",
                   "货物或应税劳务、服务名称", "项目名称", "规格型号", "单位", "数 量", "单 价", "金 额", "税率",
                   "税率/征收率", "税 额"}


def _printed(field: str, value: Any) -> str | None:
    """The text the layouts print for a value (separate style), to find its text object."""
    if value is None:
        return None
    if field == "issue_date":
        return f"{value:%Y年%m月%d日}"
    if field == "check_code":
        return " ".join(value[i:i + 5] for i in range(0, 20, 5))
    if field in ("total_amount", "total_tax", "total_with_tax"):
        return f"¥{value:.2f}"
    return str(value)


class TaggedOfdPainter(OfdPainter):
    """Puts labels on the template page and values on the page, remembering which object holds which tag."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__()
        self.on_template: list[bool] = []
        self.wanted: dict[str, list[str]] = defaultdict(list)
        for tag, field in TAGS.items():
            text = _printed(field, values.get(field))
            if text:
                self.wanted[text].append(tag)
        self.tags: dict[str, str] = {}

    def split(self) -> tuple[str, str]:
        """(template objects, page objects) as XML; object ids stay unique across both."""
        template = "".join(o for o, label in zip(self.objects, self.on_template, strict=True) if label)
        page = "".join(o for o, label in zip(self.objects, self.on_template, strict=True) if not label)
        return template, page

    def text(self, x: float, y: float, s: str, size: float, *, char_space: float = 0.0,
             unmapped: bool = False) -> None:
        is_label = (s.endswith((":", "：")) or s in _TEMPLATE_TEXTS or (len(s) == 1 and s in "购买方信息销售密码区")
                    or (size >= 14 and "发票" in s))
        before = len(self.objects)
        super().text(x, y, s, size, char_space=char_space, unmapped=unmapped)
        self.on_template.append(is_label)
        if is_label:
            return
        object_id = str(before + 10)
        for tag in self.wanted.get(s, []):
            self.tags.setdefault(tag, object_id)


def tagged_ofd(painter: TaggedOfdPainter) -> bytes:
    """The zip: OFD.xml, Document.xml with a template page and custom tags, the page, the template."""
    template, page = painter.split()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        def put(name: str, text: str) -> None:
            z.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), text)

        head = '<?xml version="1.0" encoding="UTF-8"?>'
        put("OFD.xml", f'{head}<ofd:OFD {NS} Version="1.1" DocType="OFD"><ofd:DocBody><ofd:DocInfo>'
            "<ofd:DocID>a1b2c3</ofd:DocID><ofd:Creator>税务局</ofd:Creator></ofd:DocInfo>"
            "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")
        put("Doc_0/Document.xml", f"{head}<ofd:Document {NS}><ofd:CommonData><ofd:MaxUnitID>999</ofd:MaxUnitID>"
            f"<ofd:PageArea><ofd:PhysicalBox>0 0 {PAGE[0] * OfdPainter.MM:.1f} {PAGE[1] * OfdPainter.MM:.1f}"
            "</ofd:PhysicalBox></ofd:PageArea><ofd:PublicRes>PublicRes_0.xml</ofd:PublicRes>"
            '<ofd:TemplatePage ID="2" BaseLoc="Tpls/Tpl_0/Content.xml"/></ofd:CommonData>'
            '<ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>'
            "<ofd:CustomTags>Tags/CustomTags.xml</ofd:CustomTags></ofd:Document>")
        put("Doc_0/PublicRes_0.xml", f'{head}<ofd:Res {NS} BaseLoc="Res"><ofd:Fonts>'
            '<ofd:Font ID="3" FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>')
        put("Doc_0/Tpls/Tpl_0/Content.xml", f'{head}<ofd:Page {NS}><ofd:Content><ofd:Layer ID="4">'
            f'{template}</ofd:Layer></ofd:Content></ofd:Page>')
        put("Doc_0/Pages/Page_0/Content.xml", f'{head}<ofd:Page {NS}><ofd:Template TemplateID="2" '
            f'ZOrder="Background"/><ofd:Content><ofd:Layer ID="5">{page}</ofd:Layer>'
            "</ofd:Content></ofd:Page>")
        put("Doc_0/Tags/CustomTags.xml", f'{head}<ofd:CustomTags {NS}><ofd:CustomTag TypeID="invoice">'
            "<ofd:FileLoc>CustomTag.xml</ofd:FileLoc></ofd:CustomTag></ofd:CustomTags>")
        refs = "".join(f'<{tag}><ofd:ObjectRef PageRef="1">{escape(object_id)}</ofd:ObjectRef></{tag}>'
                       for tag, object_id in painter.tags.items())
        put("Doc_0/Tags/CustomTag.xml", f"{head}<eInvoice {NS}>{refs}</eInvoice>")
    return buffer.getvalue()


def ofd_tagged_sample(seed: int, *, digital: bool = False) -> Sample:
    """An OFD invoice with template page and custom tags (pre-2024 or digitalised), with its ground truth."""
    layout = "ofd-tagged-digital" if digital else "ofd-tagged"
    rng = random.Random(f"{layout}:{seed}")
    kind = InvoiceKind.DIGITAL if digital else InvoiceKind.ELECTRONIC_ORDINARY
    values = invoice_values(rng, kind)
    painter = TaggedOfdPainter(values)
    (draw_digital if digital else draw_pre2024)(painter, values, Style(labels="separate"), rng)
    return Sample(f"{layout}-{seed:04d}", layout, f"{layout}-{seed:04d}.ofd", tagged_ofd(painter),
                  ground_truth(values, Source.OFD))
