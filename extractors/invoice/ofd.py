"""OFD (GB/T 33190), the national fixed-layout format: a zip of XML files.

Tax-bureau OFD invoices usually attach the original invoice XML (read exactly, like an XML download);
otherwise the text objects of the first page are turned into positioned glyphs and read like a PDF.
"""

from __future__ import annotations

import io
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile

from extractors.invoice.chinese import read_chinese_invoice
from extractors.invoice.layout import Glyph
from extractors.invoice.model import InvoiceRecord, Source
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
    """Read an OFD invoice: the attached original XML when present, else the first page's text."""
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
    glyphs = page_glyphs(content)
    if not glyphs:
        return None, [*findings, Finding("IMAGE_ONLY", Severity.BLOCK, "the OFD page has no text objects")]
    record, page_findings = read_chinese_invoice(glyphs, Source.OFD)
    return record, findings + page_findings
