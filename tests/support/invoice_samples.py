"""The test and benchmark corpus: the product's generated Chinese e-invoices (``extractors.invoice.samples``),
plus foreign invoices and files that must be refused, each with what reading it must yield.

Only the test material lives here; the Chinese invoices, their layouts and ground truth are the
product's, which ``smartfin demo`` also submits its claims with.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from extractors.invoice.model import InvoiceKind, Source
from extractors.invoice.samples import (
    CJK_FONT,
    LAYOUT_STYLES,
    PAGE,
    PdfPainter,
    Sample,
    chinese_pdf,
    ground_truth,
    ofd_sample,
    quantize_cents,
    random_digits,
    register_fonts,
    xml_sample,
)

# ---------------------------------------------------------------- foreign invoices

def _latin_pdf(lines: list[tuple[float, float, str, float]]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    for x, y, text, size in lines:
        c.setFont("Helvetica-Bold" if size > 12 else "Helvetica", size)
        c.drawString(x, y, text)
    c.showPage()
    c.save()
    return buffer.getvalue()


def foreign_sample(seed: int, *, templated: bool) -> Sample:
    """An English-language invoice: a known issuer (template) or an unknown one (fallback)."""
    rng = random.Random(f"foreign:{templated}:{seed}")
    net = Decimal(rng.randint(50_000, 2_000_000)) / 100
    issued = date(2024, 1, 1) + timedelta(days=rng.randint(0, 500))
    buyer = "Hangzhou First People's Hospital"
    if templated:
        rate = Decimal("0.19")
        tax = quantize_cents(net * rate)
        total = net + tax
        number = f"RE-{issued.year}-{rng.randint(1000, 9999)}"
        vat_id = "DE" + random_digits(rng, 9)

        def de(v: Decimal) -> str:
            return f"{v:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")

        lines = [(50, 790, "Nordlicht Medizintechnik GmbH", 16), (50, 772, "Am Hafen 12, 20457 Hamburg", 9),
                 (50, 760, f"USt-IdNr.: {vat_id}", 9), (50, 720, "Rechnung / Invoice", 14),
                 (50, 700, f"Rechnungsnummer / Invoice no.: {number}", 10),
                 (50, 686, f"Rechnungsdatum / Date: {issued:%d.%m.%Y}", 10),
                 (50, 672, f"Rechnungsempfänger / Bill to: {buyer}", 10),
                 (50, 630, "Pos  Beschreibung / Description                Menge   Betrag", 9),
                 (50, 616, f"1    Infusionspumpe IP-300 (infusion pump)     1       {de(net)}", 9),
                 (300, 570, f"Nettobetrag / Net: EUR {de(net)}", 10),
                 (300, 556, f"MwSt. 19 % / VAT: EUR {de(tax)}", 10),
                 (300, 542, f"Gesamtbetrag / Total: EUR {de(total)}", 11)]
        values: dict[str, Any] = {
            "kind": InvoiceKind.FOREIGN, "number": number, "issue_date": issued, "buyer_name": buyer,
            "seller_name": "Nordlicht Medizintechnik GmbH", "seller_tax_id": vat_id,
            "total_amount": net, "total_tax": tax, "total_with_tax": total, "currency": "EUR", "items": []}
        source = Source.TEMPLATE
        layout = "foreign-template"
    else:
        total = net
        number = f"LME-{rng.randint(10000, 99999)}"
        vat_id = "IE" + random_digits(rng, 7) + rng.choice("ABCDEFGHW")
        lines = [(50, 790, "Liffey Medical Events Ltd", 16), (50, 772, "4 Grand Canal Quay, Dublin 2, Ireland", 9),
                 (50, 760, f"VAT No: {vat_id}", 9), (50, 720, "INVOICE", 14),
                 (50, 700, f"Invoice Number: {number}", 10),
                 (50, 686, f"Invoice Date: {issued:%B} {issued.day}, {issued.year}", 10),
                 (50, 672, f"Bill to: {buyer}", 10),
                 (50, 630, "Description                                   Amount", 9),
                 (50, 616, f"Registration, European Congress of Cardiology   {net:,.2f}", 9),
                 (300, 570, "VAT: reverse charge", 10),
                 (300, 556, f"Total due: EUR {total:,.2f}", 11)]
        values = {"kind": InvoiceKind.FOREIGN, "number": number, "issue_date": issued,
                  "seller_name": "Liffey Medical Events Ltd", "seller_tax_id": vat_id,
                  "total_with_tax": total, "currency": "EUR", "items": []}
        source = Source.FALLBACK
        layout = "foreign-fallback"
    return Sample(f"{layout}-{seed:04d}", layout, f"{layout}-{seed:04d}.pdf", _latin_pdf(lines),
                  ground_truth(values, source))


# ---------------------------------------------------------------- files that must be refused

def image_only_pdf() -> Sample:
    """A scanned invoice: one raster image, no text."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    image = Image.new("L", (600, 350), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 60, 580, 330), outline=0, width=3)
    for y in range(90, 320, 24):
        draw.line((40, y, 560, y), fill=80, width=2)
    raw = io.BytesIO()
    image.save(raw, format="PNG")
    raw.seek(0)
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=PAGE, invariant=1)
    c.drawImage(ImageReader(raw), 20, 20, width=PAGE[0] - 40, height=PAGE[1] - 40)
    c.showPage()
    c.save()
    return Sample("image-only", "bad", "scan.pdf", buffer.getvalue(), None, "IMAGE_ONLY")


def encrypted_pdf() -> Sample:
    """An invoice PDF locked with a user password."""
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    register_fonts()
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=PAGE, invariant=1,
                      encrypt=StandardEncryption("user-secret", ownerPassword="owner-secret", canPrint=1))
    c.setFont(CJK_FONT, 16)
    c.drawString(200, 360, "增值税电子普通发票")
    c.setFont(CJK_FONT, 9)
    c.drawString(470, 337, "发票号码: 01234567")
    c.showPage()
    c.save()
    return Sample("encrypted", "bad", "locked.pdf", buffer.getvalue(), None, "FILE_ENCRYPTED")


def non_invoice_pdf() -> Sample:
    """A PDF with text that is not an invoice (a meeting notice)."""
    painter = PdfPainter()
    painter.text(200, 360, "关于召开2024年度预算工作会议的通知", 14)
    painter.text(40, 320, "各科室：定于3月15日下午在行政楼三楼会议室召开预算工作会议，请准时参加。", 10)
    painter.text(40, 300, "Agenda: budget review 2024, procurement plan, equipment evaluation.", 10)
    return Sample("non-invoice", "bad", "notice.pdf", painter.finish(), None, "NOT_AN_INVOICE")


def bad_file_samples() -> list[Sample]:
    """Every kind of file the extractor must refuse, each with the finding code it must produce."""
    good = chinese_pdf("pre2024-standard", 1).data
    return [
        Sample("empty", "bad", "empty.pdf", b"", None, "FILE_EMPTY"),
        Sample("corrupt", "bad", "broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\n"
               + bytes(range(256)) * 4, None, "FILE_CORRUPT"),
        Sample("truncated", "bad", "truncated.pdf", good[:400], None, "FILE_CORRUPT"),
        encrypted_pdf(),
        image_only_pdf(),
        non_invoice_pdf(),
        Sample("unsupported", "bad", "claim.docx", b"PK\x03\x04" + b"\x00" * 60, None, "FORMAT_UNSUPPORTED"),
        Sample("text-file", "bad", "notes.txt", "报销说明：住宿三晚".encode(), None, "FORMAT_UNSUPPORTED"),
        Sample("jpeg", "bad", "photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 100, None, "IMAGE_CORRUPT"),
        Sample("xml-not-invoice", "bad", "order.xml", b"<?xml version='1.0'?><Order><Id>7</Id></Order>", None,
               "NOT_AN_INVOICE"),
    ]


# ---------------------------------------------------------------- corpora

SAMPLE_FACTORIES: dict[str, Callable[[int], Sample]] = {
    **{layout: (lambda seed, layout=layout: chinese_pdf(layout, seed)) for layout in LAYOUT_STYLES},
    "xml": xml_sample,
    "ofd-xml": lambda seed: ofd_sample(seed, with_xml=True),
    "ofd-text": lambda seed: ofd_sample(seed, with_xml=False),
    "foreign-template": lambda seed: foreign_sample(seed, templated=True),
    "foreign-fallback": lambda seed: foreign_sample(seed, templated=False),
}


def generate_corpus(count: int, *, seed: int = 0, layouts: tuple[str, ...] | None = None) -> Iterator[Sample]:
    """``count`` invoices cycling through the layouts (default: every readable layout), reproducibly."""
    chosen = layouts or tuple(name for name in SAMPLE_FACTORIES if name != "pre2024-unmapped")
    for i in range(count):
        layout = chosen[i % len(chosen)]
        yield SAMPLE_FACTORIES[layout](seed * 100_000 + i)
