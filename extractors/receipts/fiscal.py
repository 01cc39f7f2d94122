"""Finance-bureau e-receipts (财政电子票据) in PDF and OFD: what a public body gives for a fee it collects.

Conference and training fees of public bodies, hospital charges and donations are not VAT invoices: they
carry an 8-digit receipt code, a 10-digit number and a 6-character check code, a payer (交款人, with its
credit code when it is an organisation), the collecting unit (收款单位) and an item table with a project
code, a unit, a quantity and a charging standard. The receipt is verified on the national fiscal e-receipt
platform, so the verification data (the electronic signature, the verification address) is kept with
the record. The page is read from its labels, the way a clerk reads it; an OFD's template pages are read
with the page, because the issuing systems keep the labels there.
"""

from __future__ import annotations

import contextlib
import io
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from extractors.invoice.layout import UNREADABLE, Glyph, Line, build_lines, segments
from extractors.invoice.model import (
    Extracted,
    InvoiceKind,
    InvoiceRecord,
    LineItem,
    Source,
    missing,
)
from extractors.invoice.ofd import MAX_MEMBER_BYTES
from extractors.invoice.ofd import page_glyphs as ofd_page_glyphs
from extractors.invoice.pdf import PdfOutcome
from extractors.invoice.uppercase import UppercaseAmountError, parse_uppercase_amount
from extractors.invoice.validation import check_tax_id
from smartfin.kernel.clock import hospital_today
from smartfin.kernel.findings import Finding, Severity

CONF_LABEL = 0.95  # value printed after its label, format checked
CONF_TABLE = 0.9  # a cell placed in its column by position
CONF_DOUBT = 0.5  # read, but the format is wrong


class ReceiptKind(StrEnum):
    """The families of fiscal e-receipts a hospital receives; decided by the receipt's title."""

    NON_TAX = "non-tax"  # 非税收入统一票据 (conference and training fees of public bodies, fines, charges)
    MEDICAL = "medical"  # 医疗(门诊/住院)收费票据
    DONATION = "donation"  # 公益事业捐赠统一票据
    SETTLEMENT = "settlement"  # 资金往来结算票据 (transfers between public bodies, deposits)
    OTHER = "other"  # another fiscal receipt title; read all the same


_KIND_WORDS = ((ReceiptKind.MEDICAL, "医疗"), (ReceiptKind.DONATION, "捐赠"),
               (ReceiptKind.SETTLEMENT, "资金往来结算"), (ReceiptKind.NON_TAX, "非税收入"))

ITEM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("project_code", "项目编码"), ("name", "项目名称"), ("unit", "单位"), ("quantity", "数量"),
    ("standard", "标准"), ("amount", "金额"), ("remark", "备注"),
)


@dataclass(frozen=True, slots=True)
class ReceiptItem:
    """One row of the receipt's item table; each cell with its confidence."""

    project_code: Extracted[str]
    name: Extracted[str]
    unit: Extracted[str]
    quantity: Extracted[Decimal]
    standard: Extracted[Decimal]  # the charging standard (收费标准), per unit
    amount: Extracted[Decimal]

    def values(self) -> dict[str, Any]:
        """The bare values, for comparisons and for storing."""
        return {f.name: getattr(self, f.name).value for f in fields(self)}


@dataclass(frozen=True, slots=True)
class FiscalReceipt:
    """Everything a clerk re-types from a fiscal e-receipt, plus the data that lets it be verified."""

    kind: Extracted[ReceiptKind]
    title: Extracted[str]  # the title as printed, e.g. 浙江省非税收入统一票据(电子)
    code: Extracted[str]  # 票据代码, 8 digits
    number: Extracted[str]  # 票据号码, 10 digits
    check_code: Extracted[str]  # 校验码, 6 characters
    issue_date: Extracted[date]
    payer_name: Extracted[str]  # 交款人
    payer_tax_id: Extracted[str]  # 交款人统一社会信用代码, when the payer is an organisation
    payee_unit: Extracted[str]  # 收款单位
    items: tuple[ReceiptItem, ...]
    total: Extracted[Decimal]  # 金额合计(小写)
    total_uppercase: Extracted[str]  # 金额合计(大写), as printed
    remarks: Extracted[str]
    collector: Extracted[str]  # 收款人
    reviewer: Extracted[str]  # 复核人
    signed: bool  # the file carries an electronic signature (present, not verified here)
    verify_url: Extracted[str]  # the verification address printed on the receipt

    def values(self) -> dict[str, Any]:
        """The bare values (items as a list of dicts)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "items":
                out["items"] = [item.values() for item in value]
            elif isinstance(value, Extracted):
                out[f.name] = value.value
            else:
                out[f.name] = value
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

    def verification(self) -> dict[str, Any]:
        """What the national fiscal e-receipt platform is asked with, and the file's signature, as JSON data."""
        issued = self.issue_date.value
        return {"kind": self.kind.value.value if self.kind.value else None, "title": self.title.value,
                "code": self.code.value, "number": self.number.value, "check_code": self.check_code.value,
                "issue_date": issued.isoformat() if issued else None,
                "total": f"{self.total.value:.2f}" if self.total.value is not None else None,
                "signed": self.signed, "verify_url": self.verify_url.value}

    def checks(self, today: date | None = None) -> list[Finding]:
        """The receipt's own rules (see ``check_receipt``); the invoice dispatcher calls this."""
        return check_receipt(self, today)


# ---------------------------------------------------------------- recognising and reading the page

_TITLE = re.compile(r"(?:票据|缴款书)\(电子\)|电子票据")
# Longest first: 交款人统一社会信用代码 before 交款人, 收款单位 before 收款人.
_LABELS: tuple[tuple[str, str], ...] = (
    ("payer_tax_id", r"交款人统一社会信用代码|统一社会信用代码"),
    ("code", r"票据代码"), ("number", r"票据号码"), ("check_code", r"校验码"),
    ("issue_date", r"开票日期"), ("payee_unit", r"收款单位(?:\(章\))?"), ("payer_name", r"交款人"),
    ("reviewer", r"复核人"), ("collector", r"收款人"),
    ("total_uppercase", r"金额合计\(大写\)|合计\(大写\)"), ("total", r"\(小写\)"),
    ("remarks", r"其他信息|备注"), ("verify_url", r"查验(?:网址|地址|平台)"),
)
_LABEL_RE = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _LABELS))
_FORMATS = {"code": re.compile(r"\d{8}"), "number": re.compile(r"\d{10}"),
            "check_code": re.compile(r"[0-9A-Za-z]{6}")}
_DATE = re.compile(r"(\d{4})[-年./](\d{1,2})[-月./](\d{1,2})日?")
_URL = re.compile(r"https?://[A-Za-z0-9.\-/?=&%#:_]+")


def looks_like_fiscal_receipt(lines: Sequence[Line]) -> bool:
    """A fiscal e-receipt title (…票据(电子), …缴款书(电子)) and the receipt code label near the top of the page."""
    head = lines[:10]
    return any(_TITLE.search(line.text) for line in head) and any("票据代码" in line.text for line in head)


def _kind(title: str) -> ReceiptKind:
    for kind, word in _KIND_WORDS:
        if word in title:
            return kind
    return ReceiptKind.OTHER


def _labelled(lines: Sequence[Line], stop: int) -> dict[str, str]:
    """Each label's value: the text after the label up to the next label on the same line (first wins)."""
    found: dict[str, str] = {}
    for line in lines[:stop]:
        hits = [(m.lastgroup, m.start(), m.end()) for m in _LABEL_RE.finditer(line.text)]
        for index, (name, _start, end) in enumerate(hits):
            upto = hits[index + 1][1] if index + 1 < len(hits) else len(line.text)
            value = line.text[end:upto].lstrip(":").strip()
            if name and value and name not in found:
                found[name] = value
    return found


def _labelled_after_table(lines: Sequence[Line]) -> dict[str, str]:
    """Labels below the item table (totals, remarks, collector): the last occurrence wins there."""
    found: dict[str, str] = {}
    for line in lines:
        hits = [(m.lastgroup, m.start(), m.end()) for m in _LABEL_RE.finditer(line.text)]
        for index, (name, _start, end) in enumerate(hits):
            upto = hits[index + 1][1] if index + 1 < len(hits) else len(line.text)
            value = line.text[end:upto].lstrip(":").strip()
            if name and value:
                found[name] = value
    return found


def parse_amount(text: str) -> Decimal | None:
    """``¥1,200.00`` / ``1200.00`` / ``1200`` as Decimal with two places; None when not an amount."""
    cleaned = text.replace("¥", "").replace("￥", "").replace(",", "").replace("元", "").strip()
    if not re.fullmatch(r"-?\d+(?:\.\d{1,2})?", cleaned):
        return None
    try:
        return Decimal(cleaned).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def _quantity(text: str) -> Decimal | None:
    cleaned = text.replace(",", "")
    if not re.fullmatch(r"\d+(?:\.\d+)?", cleaned):
        return None
    return Decimal(cleaned).normalize() if "." in cleaned else Decimal(cleaned)


def _table(lines: Sequence[Line]) -> tuple[int, int, dict[str, float]] | None:
    """(header line, first line after the rows, column centres) of the item table."""
    for index, line in enumerate(lines):
        if "项目名称" in line.text and "金额" in line.text:
            centres: dict[str, float] = {}
            for text, x0, x1 in segments(line, gap_factor=0.6):
                for name, label in ITEM_COLUMNS:
                    if text.startswith(label):
                        centres[name] = (x0 + x1) / 2
            end = next((j for j in range(index + 1, len(lines)) if "合计" in lines[j].text), len(lines))
            return index, end, centres
    return None


def _read_items(lines: Sequence[Line], start: int, end: int, centres: dict[str, float],
                source: Source) -> tuple[list[ReceiptItem], list[Finding]]:
    items: list[ReceiptItem] = []
    findings: list[Finding] = []
    for row_no, line in enumerate(lines[start + 1:end], start=1):
        cells: dict[str, str] = {}
        for text, x0, x1 in segments(line, gap_factor=0.6):
            column = min(centres, key=lambda name: abs(centres[name] - (x0 + x1) / 2))
            cells[column] = cells.get(column, "") + text
        if not cells.get("name") and not cells.get("amount"):
            continue
        if items and set(cells) == {"name"}:  # a long name wrapped onto the next line
            previous = items[-1]
            name = (previous.name.value or "") + cells["name"]
            items[-1] = replace(previous, name=Extracted(name, previous.name.confidence, source))
            continue
        amount = parse_amount(cells.get("amount", ""))
        if amount is None:
            findings.append(Finding("FISCAL_ITEM_AMOUNT", Severity.WARN,
                                    f"item row {row_no}: amount {cells.get('amount', '')!r} is not a number",
                                    field=f"items[{len(items)}].amount"))

        def text_cell(name: str, cells: dict[str, str] = cells) -> Extracted:  # type: ignore[type-arg]
            value = cells.get(name) or None
            return Extracted(value, CONF_TABLE, source) if value else missing(source)

        def number_cell(value: Decimal | None) -> Extracted:  # type: ignore[type-arg]
            return Extracted(value, CONF_TABLE, source) if value is not None else missing(source)

        items.append(ReceiptItem(
            project_code=text_cell("project_code"), name=text_cell("name"), unit=text_cell("unit"),
            quantity=number_cell(_quantity(cells.get("quantity", ""))),
            standard=number_cell(parse_amount(cells.get("standard", ""))),
            amount=number_cell(amount)))
    return items, findings


def read_fiscal_receipt(glyphs: Sequence[Glyph], source: Source, *, signed: bool,
                        verify_text: str | None = None) -> tuple[FiscalReceipt | None, list[Finding]]:
    """The receipt on a page, or (None, []) when the page is not a fiscal e-receipt.

    ``signed`` tells whether the file carries an electronic signature; ``verify_text`` is verification
    text found outside the page text (e.g. an OFD's custom tags), kept when the page prints none.
    """
    lines = build_lines(glyphs)
    if not looks_like_fiscal_receipt(lines):
        return None, []
    findings: list[Finding] = []
    title_line = max(lines[:6], key=lambda line: line.size if _TITLE.search(line.text) else 0.0)
    title = title_line.text
    table = _table(lines)
    header_end = table[0] if table else len(lines)
    top = _labelled(lines, header_end)
    bottom = _labelled_after_table(lines[table[1]:]) if table else {}
    raw = {**top, **{k: v for k, v in bottom.items() if k not in top or k in ("total", "total_uppercase")}}

    def formatted(name: str, what: str, english: str) -> Extracted:  # type: ignore[type-arg]
        value = raw.get(name)
        if value is None:
            findings.append(Finding(f"FISCAL_{name.upper()}_MISSING", Severity.BLOCK,
                                    f"票据上未读到{what} / the receipt's {english} was not found", field=name))
            return missing(source)
        match = _FORMATS[name].match(value)
        if UNREADABLE in value or match is None:
            findings.append(Finding(f"FISCAL_{name.upper()}_UNREADABLE", Severity.BLOCK,
                                    f"{what}无法识别 / the receipt's {english} {value!r} cannot be read "
                                    f"({_FORMATS[name].pattern} expected)", field=name))
            return Extracted(value.replace(UNREADABLE, "?"), CONF_DOUBT, source)
        return Extracted(match[0], CONF_LABEL, source)

    code = formatted("code", "票据代码", "code")
    number = formatted("number", "票据号码", "number")
    check_code = formatted("check_code", "校验码", "check code")
    issued: Extracted[date] = missing(source)
    m = _DATE.search(raw.get("issue_date", ""))
    if m:
        with contextlib.suppress(ValueError):  # 2024-02-30: left missing, reported below
            issued = Extracted(date(int(m[1]), int(m[2]), int(m[3])), CONF_LABEL, source)
    if issued.value is None:
        findings.append(Finding("FISCAL_DATE_MISSING", Severity.WARN,
                                f"开票日期未读到 / issue date not read ({raw.get('issue_date')!r})",
                                field="issue_date"))
    total = parse_amount(raw.get("total", ""))
    items, item_findings = _read_items(lines, table[0], table[1], table[2], source) if table else ([], [])
    findings += item_findings

    def text(name: str, confidence: float = CONF_LABEL) -> Extracted:  # type: ignore[type-arg]
        value = raw.get(name)
        return Extracted(value, confidence, source) if value else missing(source)

    url = _URL.search("\n".join(line.text for line in lines)) or (_URL.search(verify_text) if verify_text else None)
    payer_tax_id = raw.get("payer_tax_id")
    receipt = FiscalReceipt(
        kind=Extracted(_kind(title), CONF_LABEL, source), title=Extracted(title, CONF_LABEL, source),
        code=code, number=number, check_code=check_code, issue_date=issued,
        payer_name=text("payer_name"),
        payer_tax_id=Extracted(payer_tax_id, CONF_LABEL, source)
        if payer_tax_id and re.fullmatch(r"[0-9A-Z]{18}", payer_tax_id) else missing(source),
        payee_unit=text("payee_unit"), items=tuple(items),
        total=Extracted(total, CONF_LABEL, source) if total is not None else missing(source),
        total_uppercase=text("total_uppercase"), remarks=text("remarks"), collector=text("collector"),
        reviewer=text("reviewer"), signed=signed,
        verify_url=Extracted(url[0], CONF_LABEL, source) if url else missing(source),
    )
    return receipt, findings


# ---------------------------------------------------------------- checks

def check_receipt(receipt: FiscalReceipt, today: date | None = None) -> list[Finding]:
    """Arithmetic and format rules: items sum to the total, figures agree with 大写, payer code, date, signature."""
    out: list[Finding] = []
    total = receipt.total.value
    if total is None:
        out.append(Finding("FISCAL_TOTAL_MISSING", Severity.BLOCK,
                           "金额合计未读到 / the receipt total was not read", field="total"))
    amounts = [item.amount.value for item in receipt.items]
    if total is not None and receipt.items and None not in amounts:
        summed = sum((a for a in amounts if a is not None), Decimal("0.00"))
        if summed != total:
            out.append(Finding("FISCAL_ITEMS_TOTAL", Severity.WARN,
                               f"项目金额合计{summed}与票据金额{total}不符 / items sum to {summed}, "
                               f"the receipt says {total}", field="total",
                               evidence={"items": str(summed), "total": str(total)}))
    for item_no, item in enumerate(receipt.items):
        q, s, a = item.quantity.value, item.standard.value, item.amount.value
        if q is not None and s is not None and a is not None and (q * s).quantize(Decimal("0.01")) != a:
            out.append(Finding("FISCAL_ITEM_ARITHMETIC", Severity.WARN,
                               f"第{item_no + 1}行 数量×标准≠金额 / item {item_no + 1}: {q} × {s} ≠ {a}",
                               field=f"items[{item_no}].amount"))
    upper = receipt.total_uppercase.value
    if upper and total is not None:
        try:
            if parse_uppercase_amount(upper) != total:
                out.append(Finding("FISCAL_UPPERCASE_MISMATCH", Severity.WARN,
                                   f"大写金额{upper}与小写{total}不符 / uppercase total {upper!r} ≠ {total}",
                                   field="total_uppercase"))
        except UppercaseAmountError as exc:
            out.append(Finding("FISCAL_UPPERCASE_UNREADABLE", Severity.WARN, str(exc), field="total_uppercase"))
    out += check_tax_id(receipt.payer_tax_id.value, "payer_tax_id")
    issued = receipt.issue_date.value
    if issued is not None and issued > (today or hospital_today()):
        out.append(Finding("FISCAL_DATE_FUTURE", Severity.BLOCK,
                           f"开票日期{issued}晚于今天 / issue date {issued} is in the future", field="issue_date"))
    if not receipt.signed:
        out.append(Finding("FISCAL_UNSIGNED", Severity.WARN,
                           "文件无电子签名，请在全国财政电子票据查验平台查验 / the file carries no electronic "
                           "signature: verify the receipt on the national fiscal e-receipt platform"))
    return out


def as_invoice_record(receipt: FiscalReceipt) -> InvoiceRecord:
    """The receipt in the shape claims already store for every attachment (a receipt has no tax)."""
    source = receipt.code.source
    items = tuple(
        LineItem(name=item.name, spec=item.project_code, unit=item.unit, quantity=item.quantity,
                 unit_price=item.standard, amount=item.amount, tax_rate=missing(source), tax=missing(source))
        for item in receipt.items)
    return InvoiceRecord(
        kind=Extracted(InvoiceKind.FISCAL_RECEIPT, receipt.kind.confidence, source), code=receipt.code,
        number=receipt.number, issue_date=receipt.issue_date, check_code=receipt.check_code,
        machine_no=missing(source), buyer_name=receipt.payer_name, buyer_tax_id=receipt.payer_tax_id,
        seller_name=receipt.payee_unit, seller_tax_id=missing(source), items=items,
        total_amount=receipt.total, total_tax=missing(source), total_with_tax=receipt.total,
        total_uppercase=receipt.total_uppercase, remarks=receipt.remarks, payee=receipt.collector,
        reviewer=receipt.reviewer, issuer=missing(source),
        currency=Extracted("CNY", receipt.total.confidence, source) if receipt.total.value is not None
        else missing(source),
    )


# ---------------------------------------------------------------- files

def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _all(element: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in element.iter() if _local(e.tag) == name]


def _member(archive: zipfile.ZipFile, path: str) -> bytes | None:
    try:
        info = archive.getinfo(path.lstrip("/"))
    except KeyError:
        return None
    return archive.read(info) if info.file_size <= MAX_MEMBER_BYTES else None


@dataclass(frozen=True, slots=True)
class OfdPage:
    """The first page of an OFD as glyphs (template pages first), its custom-tag text and its signature."""

    glyphs: list[Glyph]
    tags_text: str
    signed: bool


def ofd_first_page(data: bytes) -> OfdPage | None:
    """The first page with its template pages, custom tags and signature flag; None if not readable."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _ofd_first_page(archive)
    except (zipfile.BadZipFile, OSError, ET.ParseError, ValueError, KeyError):
        return None


def _ofd_first_page(archive: zipfile.ZipFile) -> OfdPage | None:
    ofd_xml = _member(archive, "OFD.xml")
    if ofd_xml is None:
        return None
    ofd_root = ET.fromstring(ofd_xml)
    roots = _all(ofd_root, "DocRoot")
    if not roots or not roots[0].text:
        return None
    doc_path = roots[0].text.strip().lstrip("/")
    doc_dir = posixpath.dirname(doc_path)
    document = _member(archive, doc_path)
    if document is None:
        return None
    doc = ET.fromstring(document)
    pages = [p for p in _all(doc, "Page") if p.get("BaseLoc")]
    if not pages:
        return None
    page_path = posixpath.join(doc_dir, str(pages[0].get("BaseLoc")).lstrip("/"))
    content = _member(archive, page_path)
    if content is None:
        return None
    page_root = ET.fromstring(content)
    templates = {t.get("ID"): t.get("BaseLoc") for t in _all(doc, "TemplatePage")}
    glyphs: list[Glyph] = []
    for use in _all(page_root, "Template"):
        loc = templates.get(use.get("TemplateID"))
        tpl = _member(archive, posixpath.join(doc_dir, str(loc).lstrip("/"))) if loc else None
        if tpl is not None:
            glyphs += ofd_page_glyphs(tpl)
    glyphs += ofd_page_glyphs(content)
    tags_text = ""
    for loc in _all(doc, "CustomTags"):
        if loc.text:
            tags = _member(archive, posixpath.join(doc_dir, loc.text.strip()))
            if tags is not None:
                listing = ET.fromstring(tags)
                for tag in _all(listing, "FileLoc"):
                    body = _member(archive, posixpath.join(doc_dir, posixpath.dirname(loc.text.strip()),
                                                           (tag.text or "").strip()))
                    if body is not None:
                        tags_text += " ".join(ET.fromstring(body).itertext()) + " "
    signed = False
    for loc in _all(ofd_root, "Signatures"):
        listing_path = (loc.text or "").strip().lstrip("/")
        listing = _member(archive, listing_path) if listing_path else None
        if listing is None:
            continue
        for signature in _all(ET.fromstring(listing), "Signature"):
            sig_path = posixpath.join(posixpath.dirname(listing_path), str(signature.get("BaseLoc", "")).lstrip("/"))
            body = _member(archive, sig_path)
            if body is not None and _all(ET.fromstring(body), "SignedValue"):
                signed = True
    return OfdPage(glyphs, tags_text, signed)


def read_fiscal_ofd(data: bytes) -> tuple[FiscalReceipt | None, list[Finding]]:
    """The fiscal e-receipt in an OFD, or (None, []) when the OFD holds something else."""
    page = ofd_first_page(data)
    if page is None or not page.glyphs:
        return None, []
    return read_fiscal_receipt(page.glyphs, Source.OFD, signed=page.signed, verify_text=page.tags_text)


def fiscal_page_reader(glyphs: list[Glyph]) -> PdfOutcome | None:
    """The PDF page reader registered with the invoice dispatcher; the signature is judged on the file."""
    receipt, findings = read_fiscal_receipt(glyphs, Source.PDF_POSITION, signed=False)
    if receipt is None:
        return None
    return PdfOutcome(as_invoice_record(receipt), findings, receipt=receipt)


def fiscal_ofd_reader(data: bytes) -> tuple[FiscalReceipt, InvoiceRecord, list[Finding]] | None:
    """The OFD reader registered with the invoice dispatcher."""
    receipt, findings = read_fiscal_ofd(data)
    if receipt is None:
        return None
    return receipt, as_invoice_record(receipt), findings
