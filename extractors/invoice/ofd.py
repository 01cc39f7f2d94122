"""OFD (GB/T 33190), the national fixed-layout format: a zip of XML files.

Tax-bureau OFD invoices usually attach the original invoice XML (read exactly, like an XML download).
Otherwise the bureau's own structure is followed: the custom tags (CustomTags.xml → CustomTag.xml) name
the text objects holding each value, the labels sit on template pages (Tpls), and the page content is
read last, by position, with the template's labels, for the items and whatever the tags do not name.
"""

from __future__ import annotations

import io
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import replace
from typing import Any

from extractors.invoice.chinese import read_chinese_invoice, value_from_text
from extractors.invoice.layout import Glyph
from extractors.invoice.model import RECORD_FIELDS, Extracted, InvoiceKind, InvoiceRecord, Source, missing
from extractors.invoice.ofd_lists import all_object_texts, later_page_paths, read_later_pages, tagged_items
from extractors.invoice.xml_invoice import read_invoice_xml
from smartfin.kernel.findings import Finding, Severity

MM_TO_PT = 72 / 25.4
MAX_MEMBER_BYTES = 20 * 1024 * 1024  # a zip member larger than this is refused (zip bombs)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in element.iter() if _local(e.tag) == name]


def _read(archive: zipfile.ZipFile, path: str) -> bytes | None:
    path = path.lstrip("/")
    try:
        info = archive.getinfo(path)
    except KeyError:
        return None
    if info.file_size > MAX_MEMBER_BYTES:
        return None
    return archive.read(info)


def is_ofd(data: bytes) -> bool:
    """A zip whose root holds OFD.xml."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "OFD.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _deltas(spec: str | None, count: int) -> list[float]:
    """Expand an OFD DeltaX list, including the ``g n value`` repetition shorthand."""
    out: list[float] = []
    tokens = (spec or "").split()
    i = 0
    while i < len(tokens):
        if tokens[i] == "g" and i + 2 < len(tokens):
            out.extend([float(tokens[i + 2])] * int(tokens[i + 1]))
            i += 3
        else:
            out.append(float(tokens[i]))
            i += 1
    return out[: max(count - 1, 0)]


def page_glyphs(content: bytes) -> list[Glyph]:
    """Glyphs (in points) of one page's Content.xml: each TextCode placed inside its TextObject box."""
    root = ET.fromstring(content)
    glyphs: list[Glyph] = []
    for obj in _children(root, "TextObject"):
        box = [float(v) for v in (obj.get("Boundary") or "0 0 0 0").split()]
        size = float(obj.get("Size") or 3.5)
        for code in _children(obj, "TextCode"):
            text = code.text or ""
            x = box[0] + float(code.get("X") or 0)
            baseline = box[1] + float(code.get("Y") or size)
            deltas = _deltas(code.get("DeltaX"), len(text))
            for i, ch in enumerate(text):
                advance = deltas[i] if i < len(deltas) else (size if ord(ch) > 0x2E80 else size * 0.5)
                width = size if ord(ch) > 0x2E80 else size * 0.5
                glyphs.append(Glyph(ch, x * MM_TO_PT, (x + width) * MM_TO_PT, (baseline - size) * MM_TO_PT,
                                    baseline * MM_TO_PT, size * MM_TO_PT))
                x += advance
    return glyphs


def read_ofd(data: bytes) -> tuple[InvoiceRecord | None, list[Finding]]:
    """Read an OFD invoice: the attached original XML when present, else the pages (first, then item lists)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError) as exc:
        return None, [Finding("FILE_CORRUPT", Severity.BLOCK, f"the OFD archive cannot be opened: {exc}")]
    with archive:
        try:
            return _read_document(archive)
        except (ET.ParseError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            return None, [Finding("FILE_CORRUPT", Severity.BLOCK, f"the OFD structure cannot be read: {exc}")]


def _read_document(archive: zipfile.ZipFile) -> tuple[InvoiceRecord | None, list[Finding]]:
    ofd_xml = _read(archive, "OFD.xml")
    if ofd_xml is None:
        return None, [Finding("FILE_CORRUPT", Severity.BLOCK, "the OFD archive has no OFD.xml")]
    roots = _children(ET.fromstring(ofd_xml), "DocRoot")
    if not roots or not roots[0].text:
        return None, [Finding("FILE_CORRUPT", Severity.BLOCK, "OFD.xml names no document (DocRoot)")]
    doc_path = roots[0].text.strip().lstrip("/")
    doc_dir = posixpath.dirname(doc_path)
    document = _read(archive, doc_path)
    if document is None:
        return None, [Finding("FILE_CORRUPT", Severity.BLOCK, f"the OFD document {doc_path} is missing")]
    doc_root = ET.fromstring(document)
    findings: list[Finding] = []

    for attachments_loc in _children(doc_root, "Attachments"):
        if not attachments_loc.text:
            continue
        list_path = posixpath.join(doc_dir, attachments_loc.text.strip())
        listing = _read(archive, list_path)
        if listing is None:
            continue
        for attachment in _children(ET.fromstring(listing), "Attachment"):
            for loc in _children(attachment, "FileLoc"):
                if not loc.text or not re.search(r"\.xml$", loc.text.strip(), re.IGNORECASE):
                    continue
                payload = _read(archive, posixpath.join(posixpath.dirname(list_path), loc.text.strip()))
                if payload is None:
                    continue
                record, xml_findings = read_invoice_xml(payload, Source.XML)
                if record is not None:
                    return record, xml_findings
                findings.append(Finding("OFD_ATTACHMENT_UNREADABLE", Severity.INFO,
                                        f"attachment {loc.text.strip()} is not an invoice XML"))

    pages = [p for p in _children(doc_root, "Page") if p.get("BaseLoc")]
    if not pages:
        return None, [*findings, Finding("FILE_CORRUPT", Severity.BLOCK, "the OFD document has no pages")]
    content = _read(archive, posixpath.join(doc_dir, str(pages[0].get("BaseLoc")).lstrip("/")))
    if content is None:
        return None, [*findings, Finding("FILE_CORRUPT", Severity.BLOCK, "the first OFD page is missing")]
    page_root = ET.fromstring(content)
    tagged = custom_tag_texts(archive, doc_dir, doc_root, page_root, pages[0].get("ID"))
    glyphs = template_glyphs(archive, doc_dir, doc_root, page_root) + page_glyphs(content)
    if not glyphs:
        return None, [*findings, Finding("IMAGE_ONLY", Severity.BLOCK, "the OFD page has no text objects")]
    record, page_findings = read_chinese_invoice(glyphs, Source.OFD)
    if record is None and "number" in tagged:
        record, page_findings = _empty_record(tagged), [Finding(
            "OFD_LABELS_MISSING", Severity.WARN, "the OFD page has no labels to read by position (no template page): "
            "only the values named by custom tags were read, items must be typed", field="items")]
    if record is not None and tagged:
        record, tag_findings = _apply_tags(record, tagged)
        page_findings = _without_fields(page_findings, tagged) + tag_findings
    if record is not None:
        record, list_findings = _later_pages(archive, doc_dir, doc_root, pages, page_root, record)
        page_findings += list_findings
    return record, findings + page_findings


def _later_pages(archive: zipfile.ZipFile, doc_dir: str, doc_root: ET.Element, pages: list[ET.Element],
                 page_root: ET.Element, record: InvoiceRecord) -> tuple[InvoiceRecord, list[Finding]]:
    """Items of the pages after the first (sales list, continued table): tagged items first, else by position."""
    paths = later_page_paths(doc_dir, pages)
    items = tagged_items(tag_roots(archive, doc_dir, doc_root),
                         all_object_texts(archive, paths, _object_texts(page_root)))
    glyphs: list[list[Glyph]] = []
    if not items:
        for path in paths:
            content = _read(archive, path)
            if content is not None:
                root = ET.fromstring(content)
                glyphs.append(template_glyphs(archive, doc_dir, doc_root, root) + page_glyphs(content))
    return read_later_pages(record, glyphs, len(pages), items)


# the custom tags of the tax bureau's OFD invoices (CustomTag.xml) and the record field each one holds
CUSTOM_TAGS: dict[str, str] = {
    "InvoiceCode": "code", "InvoiceNo": "number", "IssueDate": "issue_date", "InvoiceCheckCode": "check_code",
    "MachineNo": "machine_no", "BuyerName": "buyer_name", "BuyerTaxID": "buyer_tax_id",
    "SellerName": "seller_name", "SellerTaxID": "seller_tax_id", "TaxExclusiveTotalAmount": "total_amount",
    "TaxTotalAmount": "total_tax", "TaxInclusiveTotalAmount": "total_with_tax", "Note": "remarks",
    "InvoiceClerk": "issuer", "Payee": "payee", "Checker": "reviewer",
}


def _object_texts(root: ET.Element) -> dict[str, str]:
    """Text of every text object of a page by its ID."""
    out: dict[str, str] = {}
    for obj in _children(root, "TextObject"):
        object_id = obj.get("ID")
        if object_id:
            out[object_id] = "".join(code.text or "" for code in _children(obj, "TextCode"))
    return out


def custom_tag_texts(archive: zipfile.ZipFile, doc_dir: str, doc_root: ET.Element, page_root: ET.Element,
                     page_id: str | None) -> dict[str, str]:
    """Field → text of the objects its custom tag points to on the first page (CustomTags.xml first).

    The bureau names each value by tag (InvoiceNo → object 16), so no label has to be matched; tags that
    point to other pages or to missing objects are skipped and left to the positional reading.
    """
    texts = _object_texts(page_root)
    out: dict[str, str] = {}
    for tag_root in tag_roots(archive, doc_dir, doc_root):
        for element in tag_root.iter():
            field = CUSTOM_TAGS.get(_local(element.tag))
            if field is None or field in out:
                continue
            refs = [r for r in element if _local(r.tag) == "ObjectRef"
                    and (page_id is None or r.get("PageRef") in (None, page_id))]
            parts = [texts[r.text.strip()] for r in refs if r.text and r.text.strip() in texts]
            if parts:
                out[field] = "".join(parts)
    return out


def tag_roots(archive: zipfile.ZipFile, doc_dir: str, doc_root: ET.Element) -> list[ET.Element]:
    """The parsed custom-tag files of the document (CustomTags.xml → each CustomTag's FileLoc)."""
    roots: list[ET.Element] = []
    for loc in _children(doc_root, "CustomTags"):
        if not loc.text:
            continue
        list_path = posixpath.join(doc_dir, loc.text.strip().lstrip("/"))
        listing = _read(archive, list_path)
        if listing is None:
            continue
        for file_loc in _children(ET.fromstring(listing), "FileLoc"):
            if not file_loc.text:
                continue
            tag_file = _read(archive, posixpath.join(posixpath.dirname(list_path), file_loc.text.strip()))
            if tag_file is not None:
                roots.append(ET.fromstring(tag_file))
    return roots


def template_glyphs(archive: zipfile.ZipFile, doc_dir: str, doc_root: ET.Element,
                    page_root: ET.Element) -> list[Glyph]:
    """Glyphs of the template pages the page uses: where the bureau's files keep the labels."""
    templates = {t.get("ID"): t.get("BaseLoc") for t in _children(doc_root, "TemplatePage")}
    glyphs: list[Glyph] = []
    for used in _children(page_root, "Template"):
        base = templates.get(used.get("TemplateID"))
        if not base:
            continue
        content = _read(archive, posixpath.join(doc_dir, base.lstrip("/")))
        if content is not None:
            glyphs += page_glyphs(content)
    return glyphs


def _apply_tags(record: InvoiceRecord, tagged: dict[str, str]) -> tuple[InvoiceRecord, list[Finding]]:
    """Tagged values replace the positional ones; a tag whose text is not a valid value keeps the position's."""
    changes: dict[str, Extracted] = {}  # type: ignore[type-arg]
    findings: list[Finding] = []
    for field, text in tagged.items():
        value, problems = value_from_text(field, text, Source.OFD)
        if value.value is not None:
            changes[field] = value
        else:
            findings += problems
    return replace(record, **changes), findings


def _empty_record(tagged: dict[str, str]) -> InvoiceRecord:
    """A record with nothing read yet, its kind told by the tagged identifiers (code → pre-2024)."""
    number = "".join(tagged.get("number", "").split())
    if "code" in tagged:
        kind = Extracted(InvoiceKind.ELECTRONIC_ORDINARY, 0.9, Source.OFD)
    elif len(number) == 20:
        kind = Extracted(InvoiceKind.DIGITAL, 0.95, Source.OFD)
    else:
        kind = Extracted(InvoiceKind.ELECTRONIC_ORDINARY, 0.5, Source.OFD)
    empty: dict[str, Any] = {name: missing(Source.OFD) for name in RECORD_FIELDS}
    empty.update(kind=kind, currency=Extracted("CNY", 0.99, Source.OFD), items=())
    return InvoiceRecord(**empty)


def _without_fields(findings: list[Finding], fields: dict[str, str]) -> list[Finding]:
    """Positional findings about fields the tags answered are moot."""
    return [f for f in findings if f.field not in fields]
