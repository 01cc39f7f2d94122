"""Generated fiscal e-receipts (财政电子票据) with their ground truth, for tests, the benchmark and the demo.

Real receipts carry personal data and cannot be committed, so they are drawn here in the layout public
bodies issue: title with the province, receipt code / number / check code / date above the payer, an
item table (project code, name, unit, quantity, standard, amount), the total in capitals and figures,
remarks, the collecting unit with collector and reviewer, a verification address and QR code, and an
electronic signature. PDF files get a signature dictionary in an incremental update, OFD files a
Signatures.xml; OFD labels sit in a template page and the values in the page, as issuing systems write
them. Each sample comes from a seed, so runs are reproducible.
"""

from __future__ import annotations

import io
import random
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from extractors.invoice.samples import PAGE, OfdPainter, Painter, PdfPainter, _ofd_zip, make_tax_id, random_digits
from extractors.invoice.uppercase import format_uppercase_amount
from extractors.receipts.fiscal import ReceiptKind

_PROVINCES = [("浙江省", "33", "330106", "杭州"), ("江苏省", "32", "320106", "南京"),
              ("广东省", "44", "440106", "广州"), ("四川省", "51", "510107", "成都"),
              ("湖北省", "42", "420106", "武汉"), ("湖南省", "43", "430104", "长沙"),
              ("河南省", "41", "410105", "郑州"), ("陕西省", "61", "610113", "西安")]
_HOSPITALS = ["{c}市第一人民医院", "{c}市中医医院", "{c}市妇幼保健院", "{c}医科大学附属第二医院", "{c}市儿童医院"]
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
_GIVEN = ["芳", "伟", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "秀英", "建华"]
# kind: (title pattern, kind digits, payees, items (code, name, unit, standard range in fen, qty range))
_Item = tuple[str, str, str, tuple[int, int], tuple[int, int]]
_KINDS: dict[ReceiptKind, tuple[list[str], str, list[str], list[_Item]]] = {
    ReceiptKind.NON_TAX: (
        ["{p}非税收入统一票据（电子）", "{p}非税收入一般缴款书（电子）"], "01",
        ["{c}市卫生健康委员会", "{p}卫生健康委员会干部培训中心", "{c}市继续医学教育委员会办公室",
         "{p}医学会", "{c}市财政局会计人员培训中心"],
        [("103040101", "会议费", "人", (30000, 160000), (1, 6)), ("103040102", "培训费", "人", (50000, 280000), (1, 8)),
         ("103040103", "住院医师规范化培训结业考核考务费", "人", (20000, 60000), (1, 3)),
         ("103049901", "资料费", "套", (5000, 30000), (1, 10)),
         ("103040199", "继续医学教育学分证书费", "份", (2000, 10000), (1, 10))]),
    ReceiptKind.MEDICAL: (
        ["{p}医疗门诊收费票据（电子）", "{p}医疗住院收费票据（电子）"], "06",
        ["{c}市第三人民医院", "{c}市疾病预防控制中心", "{c}市职业病防治院"],
        [("A0101", "诊察费", "次", (1000, 5000), (1, 2)), ("A0201", "检查费", "项", (5000, 60000), (1, 4)),
         ("A0301", "化验费", "项", (1500, 20000), (1, 6)), ("A0401", "西药费", "盒", (800, 15000), (1, 5)),
         ("A0501", "职业健康体检费", "人", (15000, 45000), (1, 20))]),
    ReceiptKind.DONATION: (
        ["{p}公益事业捐赠统一票据（电子）"], "09",
        ["{p}红十字会", "{c}市慈善总会", "{p}医学发展基金会"],
        [("DZ0001", "捐赠款", "元", (100, 100), (50000, 2000000)),
         ("DZ0002", "抗疫物资折价", "批", (200000, 900000), (1, 2))]),
    ReceiptKind.SETTLEMENT: (
        ["{p}行政事业单位资金往来结算票据（电子）"], "03",
        ["{c}市公共资源交易中心", "{c}市机关事务管理局", "{p}医疗保障局"],
        [("JS0101", "投标保证金", "项", (500000, 5000000), (1, 1)),
         ("JS0201", "代收代付款", "笔", (10000, 300000), (1, 3))]),
}
_REMARKS = ["会议名称：{y}年{p}医院财务管理培训班", "培训日期：{d}", "经办：{n}", None, None]
_VERIFY = ["http://pjcy.mof.gov.cn", "https://pjcy.mof.gov.cn/EInvoiceCheck", "http://{a}.czt.gov.cn/pjcy"]
_ALNUM = "0123456789abcdef"


@dataclass(frozen=True, slots=True)
class ReceiptSample:
    """One generated receipt file and what reading it must yield (``FiscalReceipt.flat_values``)."""

    name: str
    layout: str
    filename: str
    data: bytes
    truth: dict[str, Any]
    expected_finding: str | None = None


def _person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN)


def receipt_values(rng: random.Random, kind: ReceiptKind | None = None) -> dict[str, Any]:
    """Realistic receipt values: amounts in fen arithmetic, total = Σ items, 大写 computed."""
    kind = kind or rng.choice(list(_KINDS))
    titles, kind_digits, payees, catalogue = _KINDS[kind]
    province, prov_digits, region, city = rng.choice(_PROVINCES)
    issued = date(2023, 1, 1) + timedelta(days=rng.randrange(0, 1000))
    items = []
    for code, name, unit, (lo, hi), (qlo, qhi) in rng.sample(catalogue, rng.randint(1, min(4, len(catalogue)))):
        standard = Decimal(rng.randrange(lo, hi + 1, 100 if hi - lo > 1000 else 1)) / 100
        quantity = Decimal(rng.randint(qlo, qhi))
        items.append({"project_code": code, "name": name, "unit": unit, "quantity": quantity,
                      "standard": standard.quantize(Decimal("0.01")),
                      "amount": (standard * quantity).quantize(Decimal("0.01"))})
    total = sum((i["amount"] for i in items), Decimal("0.00"))
    personal = kind is ReceiptKind.MEDICAL and rng.random() < 0.5
    payer = _person(rng) if personal else rng.choice(_HOSPITALS).format(c=city)
    remark = rng.choice(_REMARKS)
    if remark:
        remark = remark.format(y=issued.year, p=province, d=issued.isoformat(), n=_person(rng))
    return {
        "kind": kind, "title": rng.choice(titles).format(p=province).replace("（", "(").replace("）", ")"),
        "code": prov_digits + kind_digits + f"{issued.year % 100:02d}" + random_digits(rng, 2),
        "number": random_digits(rng, 10), "check_code": "".join(rng.choice(_ALNUM) for _ in range(6)),
        "issue_date": issued, "payer_name": payer,
        "payer_tax_id": None if personal else make_tax_id(rng, region, "1" if rng.random() < 0.8 else "5", "2"),
        "payee_unit": rng.choice(payees).format(p=province, c=city), "items": items, "total": total,
        "total_uppercase": format_uppercase_amount(total, yuan="元"), "remarks": remark,
        "collector": _person(rng), "reviewer": _person(rng), "signed": True,
        "verify_url": rng.choice(_VERIFY).format(a=rng.choice(["zj", "js", "gd", "sc"])),
    }


@dataclass(frozen=True, slots=True)
class ReceiptStyle:
    """Quirks of issuing systems: full-width colons, values as separate text objects, a QR code."""

    fullwidth: bool = True
    separate: bool = False
    qr: bool = True
    unmapped_check_code: bool = False  # the check code drawn with a font without a character map
    wrap: int = 0  # item names longer than this many characters continue on a second line


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _quantity(value: Decimal) -> str:
    return f"{value:f}"


_COLS = {"project_code": 75, "name": 185, "unit": 300, "quantity": 355, "standard": 430, "amount": 515, "remark": 610}
_HEAD = {"project_code": "项目编码", "name": "项目名称", "unit": "单位", "quantity": "数量", "standard": "标准",
         "amount": "金额（元）", "remark": "备注"}


def draw_receipt(labels: Painter, values: Painter, v: dict[str, Any], style: ReceiptStyle) -> None:
    """Draw the receipt; labels and values may go to different painters (OFD template page and page)."""
    colon = "：" if style.fullwidth else ":"

    def field(x: float, y: float, label: str, value: str | None, size: float = 9, *, unmapped: bool = False) -> None:
        head = label + colon
        labels.text(x, y, head, size)
        gap = 14 if style.separate else 1
        if value:
            values.text(x + labels.width(head, size) + gap, y, value, size, unmapped=unmapped)

    title = v["title"].replace("(", "（").replace(")", "）")
    labels.text((PAGE[0] - labels.width(title, 16)) / 2, 360, title, 16)
    field(30, 325, "票据代码", v["code"])
    field(250, 325, "票据号码", v["number"])
    field(470, 325, "开票日期", v["issue_date"].isoformat())
    field(30, 305, "交款人统一社会信用代码", v["payer_tax_id"])
    field(470, 305, "校验码", v["check_code"], unmapped=style.unmapped_check_code)
    field(30, 285, "交款人", v["payer_name"])
    for name, x in _COLS.items():
        labels.text(x - labels.width(_HEAD[name], 9) / 2, 255, _HEAD[name], 9)
    y = 235.0
    for item in v["items"]:
        name = item["name"]
        wrapped = style.wrap > 0 and len(name) > style.wrap
        cells = {"project_code": item["project_code"], "name": name[:style.wrap] if wrapped else name,
                 "unit": item["unit"], "quantity": _quantity(item["quantity"]),
                 "standard": _amount(item["standard"]), "amount": _amount(item["amount"])}
        for column, text in cells.items():
            values.text(_COLS[column] - values.width(text, 9) / 2, y, text, 9)
        if wrapped:  # the issuing system wraps a long name inside its cell
            rest = name[style.wrap:]
            y -= 11
            values.text(_COLS["name"] - values.width(name[:style.wrap], 9) / 2, y, rest, 9)
        y -= 18
    y = min(y, 160) - 8
    field(30, y, "金额合计（大写）", v["total_uppercase"])
    field(400, y, "（小写）", "¥" + _amount(v["total"]))
    field(30, y - 22, "备注", v["remarks"])
    field(30, 45, "收款单位（章）", v["payee_unit"])
    field(400, 45, "复核人", v["reviewer"])
    field(520, 45, "收款人", v["collector"])
    labels.text(30, 20, "查验平台" + colon, 8)
    values.text(30 + labels.width("查验平台" + colon, 8) + 1, 20, v["verify_url"], 8)


def _qr(painter: PdfPainter, v: dict[str, Any]) -> None:
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing

    payload = ",".join([v["code"], v["number"], v["check_code"], f"{v['total']:.2f}",
                        v["issue_date"].strftime("%Y%m%d")])
    widget = QrCodeWidget(f"{v['verify_url']}?data={payload}", barWidth=60, barHeight=60)  # inside the page
    drawing = Drawing(60, 60)
    drawing.add(widget)
    renderPDF.draw(drawing, painter.canvas, 600, 320)


def add_pdf_signature(pdf: bytes, signer: str, rng: random.Random) -> bytes:
    """Append an incremental update holding a signature dictionary, as signing software does."""
    previous = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    size = int(re.findall(rb"/Size\s+(\d+)", pdf)[-1])
    root = re.findall(rb"/Root\s+(\d+\s+\d+\s+R)", pdf)[-1].decode()
    body = pdf if pdf.endswith(b"\n") else pdf + b"\n"
    offset = len(body)
    contents = "3082" + "".join(rng.choice("0123456789ABCDEF") for _ in range(508))
    obj = (f"{size} 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached "
           f"/Name <FEFF{signer.encode('utf-16-be').hex().upper()}> /M (D:20240101000000+08'00') "
           f"/ByteRange [0 {offset} {offset + 200} 0] /Contents <{contents}> >>\nendobj\n").encode()
    xref_at = offset + len(obj)
    tail = (f"xref\n0 1\n0000000000 65535 f \n{size} 1\n{offset:010d} 00000 n \n"
            f"trailer\n<< /Size {size + 1} /Root {root} /Prev {previous} >>\nstartxref\n{xref_at}\n%%EOF\n").encode()
    return body + obj + tail


def pdf_receipt(v: dict[str, Any], style: ReceiptStyle, rng: random.Random) -> bytes:
    """The receipt as a PDF (signed when ``v['signed']``)."""
    painter = PdfPainter()
    draw_receipt(painter, painter, v, style)
    if style.qr:
        _qr(painter, v)
    data = painter.finish()
    return add_pdf_signature(data, v["payee_unit"], rng) if v["signed"] else data


def ofd_receipt(v: dict[str, Any], style: ReceiptStyle, rng: random.Random, *, template: bool = True) -> bytes:
    """The receipt as OFD: labels in a template page (or in the page), signature and custom tags."""
    labels, values = OfdPainter(), OfdPainter()
    draw_receipt(labels, values if template else labels, v, style)
    page_objects = "".join(values.objects) if template else "".join(labels.objects)
    base = _ofd_zip(page_objects, None)
    out = io.BytesIO()
    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        def put(name: str, text: str | bytes) -> None:
            dst.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), text)

        for info in src.infolist():
            text = src.read(info).decode("utf-8")
            if info.filename == "OFD.xml" and v["signed"]:
                text = text.replace("</ofd:DocRoot>", "</ofd:DocRoot><ofd:Signatures>Doc_0/Signs/Signatures.xml"
                                    "</ofd:Signatures>")
            if info.filename == "Doc_0/Document.xml":
                if template:
                    text = text.replace("</ofd:PublicRes>", "</ofd:PublicRes><ofd:TemplatePage ID=\"2\" "
                                        "BaseLoc=\"Tpls/Tpl_0/Content.xml\"/>")
                text = text.replace("</ofd:Pages>", "</ofd:Pages><ofd:CustomTags>Tags/CustomTags.xml"
                                    "</ofd:CustomTags>")
            if info.filename == "Doc_0/Pages/Page_0/Content.xml" and template:
                text = text.replace("<ofd:Content>", "<ofd:Template TemplateID=\"2\"/><ofd:Content>")
            put(info.filename, text)
        if template:
            put("Doc_0/Tpls/Tpl_0/Content.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}>'
                f'<ofd:Content><ofd:Layer ID="1">{"".join(labels.objects)}</ofd:Layer></ofd:Content></ofd:Page>')
        put("Doc_0/Tags/CustomTags.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:CustomTags {ns}>'
            '<ofd:CustomTag NameSpace="http://www.mof.gov.cn/einvoice"><ofd:FileLoc>CustomTag.xml</ofd:FileLoc>'
            "</ofd:CustomTag></ofd:CustomTags>")
        put("Doc_0/Tags/CustomTag.xml", f'<?xml version="1.0" encoding="UTF-8"?><EInvoice><EInvoiceCode>{v["code"]}'
            f'</EInvoiceCode><EInvoiceNumber>{v["number"]}</EInvoiceNumber><VerifyUrl>{v["verify_url"]}</VerifyUrl>'
            "</EInvoice>")
        if v["signed"]:
            put("Doc_0/Signs/Signatures.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Signatures {ns}>'
                '<ofd:MaxSignId>1</ofd:MaxSignId><ofd:Signature ID="1" Type="Seal" BaseLoc="Sign_0/Signature.xml"/>'
                "</ofd:Signatures>")
            signed_value = "".join(rng.choice("0123456789abcdef") for _ in range(256))
            put("Doc_0/Signs/Sign_0/Signature.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Signature {ns}>'
                '<ofd:SignedInfo><ofd:Provider ProviderName="fiscal-einvoice"/><ofd:SignatureMethod>1.2.156.10197.1.501'
                "</ofd:SignatureMethod></ofd:SignedInfo><ofd:SignedValue>SignedValue.dat</ofd:SignedValue>"
                "</ofd:Signature>")
            put("Doc_0/Signs/Sign_0/SignedValue.dat", bytes.fromhex(signed_value))
    return out.getvalue()


RECEIPT_LAYOUTS = ("fiscal-pdf", "fiscal-pdf-separate", "fiscal-pdf-ascii", "fiscal-pdf-wrapped", "fiscal-ofd",
                   "fiscal-ofd-flat")


def truth_of(v: dict[str, Any]) -> dict[str, Any]:
    """The flat values reading the file must yield (``FiscalReceipt.flat_values`` keys)."""
    out = {k: unicodedata.normalize("NFKC", val) if isinstance(val, str) else val
           for k, val in v.items() if k != "items"}
    for index, item in enumerate(v["items"]):
        for name, cell in item.items():
            out[f"items[{index}].{name}"] = cell
    return out


def receipt_sample(layout: str, seed: int) -> ReceiptSample:
    """One receipt in one of ``RECEIPT_LAYOUTS``, from a seed."""
    rng = random.Random(f"{layout}:{seed}")
    v = receipt_values(rng)
    if layout.startswith("fiscal-pdf"):
        style = ReceiptStyle(fullwidth=layout != "fiscal-pdf-ascii", separate=layout.endswith("separate"),
                             qr=seed % 3 != 0, wrap=8 if layout.endswith("wrapped") else 0)
        data, ext = pdf_receipt(v, style, rng), "pdf"
    else:
        data, ext = ofd_receipt(v, ReceiptStyle(), rng, template=layout == "fiscal-ofd"), "ofd"
    name = f"{layout}-{seed:04d}"
    return ReceiptSample(name, layout, f"{name}.{ext}", data, truth_of(v))


def receipt_corpus(count: int, seed: int = 0) -> list[ReceiptSample]:
    """``count`` receipts spread over the layouts."""
    return [receipt_sample(RECEIPT_LAYOUTS[i % len(RECEIPT_LAYOUTS)], seed * 10_000 + i) for i in range(count)]


def unreadable_check_code_sample(seed: int = 1) -> ReceiptSample:
    """A receipt whose check code was embedded without a character map: it must go to review."""
    rng = random.Random(f"badcheck:{seed}")
    v = receipt_values(rng)
    data = pdf_receipt(v, ReceiptStyle(unmapped_check_code=True), rng)
    return ReceiptSample(f"fiscal-badcheck-{seed}", "fiscal-badcheck", "receipt.pdf", data, truth_of(v),
                         "FISCAL_CHECK_CODE_UNREADABLE")


def unsigned_sample(seed: int = 1, *, ofd: bool = False) -> ReceiptSample:
    """A receipt file without its electronic signature (a re-saved copy): read, but flagged."""
    rng = random.Random(f"unsigned:{seed}")
    v = {**receipt_values(rng), "signed": False}
    data = ofd_receipt(v, ReceiptStyle(), rng) if ofd else pdf_receipt(v, ReceiptStyle(), rng)
    return ReceiptSample(f"fiscal-unsigned-{seed}", "fiscal-unsigned", "receipt.ofd" if ofd else "receipt.pdf",
                         data, truth_of(v), "FISCAL_UNSIGNED")
