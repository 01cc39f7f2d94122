"""Scans and photos of the generated invoices, with the invoice's QR code, for the OCR tests and benchmark.

Each generated invoice PDF (``extractors.invoice.samples``) is rendered as a 200 dpi scan and given the
QR code the tax bureau prints on it. Photos add what a phone does to a paper invoice: a tilt of a few
degrees, a page on its side or upside down, blur, sensor noise, perspective, uneven light, JPEG
compression and a lower resolution. The bad pictures are the ones claimants really send: a photo of a
monitor, two invoices on one page, a blank or tiny picture, a truncated JPEG. Every picture is made
from a seed, so the corpus is the same on every run.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from extractors.invoice.model import InvoiceKind, InvoiceRecord
from extractors.invoice.samples import Sample, chinese_pdf

SCAN_DPI = 200
SCAN_LAYOUTS = ("pre2024-standard", "pre2024-separate", "pre2024-spaced", "digital-standard",
                "digital-separate", "pre2024-special")
PHOTO_EFFECTS = ("tilt", "blur", "perspective", "upside-down", "sideways")
QR_KINDS = {InvoiceKind.ELECTRONIC_ORDINARY: "10", InvoiceKind.ELECTRONIC_SPECIAL: "08", InvoiceKind.DIGITAL: "32"}


@dataclass(frozen=True, slots=True)
class Picture:
    """One picture file and what reading it must give."""

    name: str
    filename: str
    data: bytes
    truth: InvoiceRecord | None
    expected_finding: str | None = None


def qr_payload(truth: InvoiceRecord, *, crc: str = "A1B2") -> str:
    """The QR text the bureau prints: ``01,kind,code,number,amount,date,check code,crc``."""
    kind = truth.kind.value
    assert kind is not None
    amount = truth.total_with_tax.value if kind is InvoiceKind.DIGITAL else truth.total_amount.value
    issued = truth.issue_date.value
    assert issued is not None and amount is not None
    return ",".join(["01", QR_KINDS[kind], truth.code.value or "", truth.number.value or "", f"{amount:.2f}",
                     f"{issued:%Y%m%d}", truth.check_code.value or "", crc])


def render(sample: Sample, *, dpi: int = SCAN_DPI) -> np.ndarray:
    """The first page of a sample PDF as a BGR picture."""
    return render_pdf(sample.data, dpi=dpi)


def render_pdf(data: bytes, *, dpi: int = SCAN_DPI) -> np.ndarray:
    """The first page of any generated PDF (invoice, ticket) as a BGR picture, as a scanner sees it."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        picture = document[0].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        document.close()
    return np.asarray(picture)[:, :, ::-1].copy()


def stamp_qr(page: np.ndarray, payload: str, *, x: int = 70, y: int = 8, size: int = 130) -> np.ndarray:
    """The page with a QR code of ``payload`` printed at the top left, where invoices carry it."""
    import cv2
    import zxingcpp

    code = np.asarray(zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode).to_image(scale=1))
    code = cv2.resize(code, (size, size), interpolation=cv2.INTER_NEAREST)
    out = page.copy()
    out[y:y + size, x:x + size] = cv2.cvtColor(code, cv2.COLOR_GRAY2BGR)
    return out


def scan(layout: str, seed: int, *, qr: bool = True, payload: str | None = None) -> tuple[np.ndarray, Sample]:
    """A clean scan of one generated invoice (with its QR code unless ``qr`` is False)."""
    sample = chinese_pdf(layout, seed)
    page = render(sample)
    if qr:
        assert sample.truth is not None
        page = stamp_qr(page, payload or qr_payload(sample.truth))
    return page, sample


def encode(image: np.ndarray, fmt: str = ".png", quality: int = 90) -> bytes:
    """A picture as the bytes of an image file."""
    import cv2

    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if fmt == ".jpg" else []
    ok, data = cv2.imencode(fmt, image, params)
    assert ok
    return data.tobytes()


def image_pdf(image: np.ndarray, dpi: int = SCAN_DPI) -> bytes:
    """A PDF holding only the picture, as a scanner's 'scan to PDF' writes it."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image[:, :, ::-1]).save(buffer, format="PDF", resolution=float(dpi))
    return buffer.getvalue()


# ---------------------------------------------------------------------------------- photo effects

def _on_desk(image: np.ndarray, rng: random.Random, margin: float = 0.06) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    pad = int(margin * max(h, w))
    desk = (rng.randint(90, 140), rng.randint(100, 150), rng.randint(110, 160))
    return cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=desk)


def _tilt(image: np.ndarray, degrees: float) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _perspective(image: np.ndarray, rng: random.Random, strength: float = 0.03) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[x + rng.uniform(-strength, strength) * w, y + rng.uniform(-strength, strength) * h]
                      for x, y in src])
    return cv2.warpPerspective(image, cv2.getPerspectiveTransform(src, dst), (w, h),
                               borderMode=cv2.BORDER_REPLICATE)


def _light(image: np.ndarray, rng: random.Random) -> np.ndarray:
    _h, w = image.shape[:2]
    gradient = np.linspace(rng.uniform(0.75, 0.85), 1.0, w, dtype=np.float32)[None, :, None]
    return np.clip(image.astype(np.float32) * gradient, 0, 255).astype(np.uint8)


def _noise(image: np.ndarray, rng: random.Random, sigma: float = 7.0) -> np.ndarray:
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, sigma, image.shape)
    return np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def _scale(image: np.ndarray, factor: float) -> np.ndarray:
    import cv2

    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)


def photograph(image: np.ndarray, effect: str, seed: int) -> np.ndarray:
    """What a phone makes of a paper invoice, one named effect plus the noise every photo has."""
    import cv2

    rng = random.Random(f"photo:{effect}:{seed}")
    out = _on_desk(image, rng)
    if effect == "tilt":
        out = _tilt(out, rng.choice((-1, 1)) * rng.uniform(1.5, 3.0))
    elif effect == "blur":
        out = cv2.GaussianBlur(_scale(out, 0.8), (0, 0), 0.9)
    elif effect == "perspective":
        out = _light(_perspective(out, rng, 0.02), rng)
    elif effect == "upside-down":
        out = cv2.rotate(_tilt(out, rng.uniform(-1.0, 1.0)), cv2.ROTATE_180)
    elif effect == "sideways":
        out = cv2.rotate(out, rng.choice((cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_90_COUNTERCLOCKWISE)))
    else:
        raise ValueError(f"unknown photo effect {effect!r}")
    return _noise(out, rng)


def screen_photo(image: np.ndarray, seed: int) -> np.ndarray:
    """A phone photo of an invoice shown on a monitor: the pixel grid beats into moiré, plus glare."""
    rng = random.Random(f"screen:{seed}")
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    period = rng.uniform(3.2, 4.2)
    angle = rng.uniform(0.05, 0.2)
    moire = 22 * np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period)
    glare = 60 * np.exp(-(((xx - 0.7 * w) / (0.25 * w)) ** 2 + ((yy - 0.3 * h) / (0.3 * h)) ** 2))
    dimmed = image.astype(np.float32) * 0.8 + 20
    out = dimmed + moire[:, :, None] * np.array([1.0, 0.6, 0.9]) + glare[:, :, None]
    return _noise(np.clip(out, 0, 255).astype(np.uint8), rng, 4.0)


# ---------------------------------------------------------------------------------- corpora

def scan_corpus(seed: int = 0) -> list[Picture]:
    """Clean scans, one per layout; every other one saved as a scanned (image-only) PDF."""
    out = []
    for index, layout in enumerate(SCAN_LAYOUTS):
        page, sample = scan(layout, seed * 100 + index)
        if index % 2:
            out.append(Picture(f"scan-{layout}", f"{layout}.pdf", image_pdf(page), sample.truth))
        else:
            out.append(Picture(f"scan-{layout}", f"{layout}.png", encode(page), sample.truth))
    return out


def photo_corpus(seed: int = 0) -> list[Picture]:
    """One JPEG photo per effect, of a different invoice each."""
    out = []
    for index, effect in enumerate(PHOTO_EFFECTS):
        page, sample = scan(SCAN_LAYOUTS[index % len(SCAN_LAYOUTS)], seed * 100 + 50 + index)
        photo = photograph(page, effect, seed * 100 + index)
        out.append(Picture(f"photo-{effect}", f"photo-{effect}.jpg", encode(photo, ".jpg", 80), sample.truth))
    return out


def two_invoices(seed: int = 0) -> Picture:
    """Two invoices scanned on one sheet, one above the other."""
    first, _ = scan("pre2024-standard", seed * 100 + 80)
    second, _ = scan("digital-standard", seed * 100 + 81)
    width = max(first.shape[1], second.shape[1])
    pad = [np.full((p.shape[0], width - p.shape[1], 3), 255, np.uint8) for p in (first, second)]
    sheet = np.vstack([np.hstack([first, pad[0]]), np.hstack([second, pad[1]])])
    return Picture("two-invoices", "two.jpg", encode(sheet, ".jpg", 85), None, "TWO_INVOICES_ON_PAGE")


def tampered_qr(seed: int = 0) -> tuple[Picture, dict[str, Any]]:
    """A scan whose QR code names another amount than the printed one (an edited picture)."""
    page, sample = scan("pre2024-standard", seed * 100 + 90, qr=False)
    assert sample.truth is not None
    true_amount = sample.truth.total_amount.value
    assert true_amount is not None
    forged = true_amount + Decimal("100.00")
    payload = qr_payload(sample.truth).replace(f",{true_amount:.2f},", f",{forged:.2f},")
    picture = Picture("tampered-qr", "edited.png", encode(stamp_qr(page, payload)), sample.truth, "QR_MISMATCH")
    return picture, {"printed": true_amount, "qr": forged}


def unusable_pictures() -> list[Picture]:
    """Pictures that must be refused before recognition, each with its finding."""
    blank = np.full((1100, 1900, 3), 250, np.uint8)
    tiny, _ = scan("pre2024-standard", 7)
    good_jpeg = encode(tiny, ".jpg", 85)
    return [
        Picture("blank", "blank.png", encode(blank), None, "IMAGE_BLANK"),
        Picture("tiny", "thumb.jpg", encode(_scale(tiny, 0.12), ".jpg", 85), None, "IMAGE_TOO_SMALL"),
        Picture("truncated-jpeg", "cut.jpg", good_jpeg[: len(good_jpeg) // 3], None, "IMAGE_CORRUPT"),
        Picture("not-a-picture", "fake.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, None, "IMAGE_CORRUPT"),
    ]


def field_accuracy(pairs: list[tuple[InvoiceRecord | None, InvoiceRecord]]) -> tuple[int, int, list[str]]:
    """Fields read right, fields expected, and a line per miss — over (read, truth) pairs."""
    right = total = 0
    misses: list[str] = []
    for index, (read, truth) in enumerate(pairs):
        got = read.flat_values() if read is not None else {}
        for key, want in truth.flat_values().items():
            total += 1
            if got.get(key) == want:
                right += 1
            else:
                misses.append(f"#{index} {key}: read {got.get(key)!r}, expected {want!r}")
    return right, total, misses


def text_pdf_with_qr(layout: str, seed: int, *, payload: str | None = None) -> Sample:
    """A born-digital invoice PDF (text) carrying its QR code as a picture at the top left, as issued.

    ``payload`` replaces the bureau's code (an edited file: the text changed, the code did not).
    """
    import zxingcpp
    from PIL import Image
    from reportlab.lib.utils import ImageReader

    from extractors.invoice.model import Source
    from extractors.invoice.samples import (
        LAYOUT_STYLES,
        PAGE,
        PdfPainter,
        draw_digital,
        draw_pre2024,
        ground_truth,
        invoice_values,
    )

    kind, style, options = LAYOUT_STYLES[layout]
    rng = random.Random(f"{layout}:{seed}")
    values = invoice_values(rng, kind, **options)
    painter = PdfPainter()
    (draw_digital if kind is InvoiceKind.DIGITAL else draw_pre2024)(painter, values, style, rng)
    truth = ground_truth(values, Source.PDF_POSITION)
    code = zxingcpp.create_barcode(payload or qr_payload(truth), zxingcpp.BarcodeFormat.QRCode)
    picture = Image.fromarray(np.asarray(code.to_image(scale=4)))
    painter.canvas.drawImage(ImageReader(picture), 25, PAGE[1] - 50, 47, 47)
    return Sample(f"{layout}-qr-{seed:04d}", layout, f"{layout}-qr-{seed:04d}.pdf", painter.finish(), truth, None)


def fiscal_receipt_with_qr(seed: int, **qr_changes: Any) -> tuple[bytes, dict[str, Any]]:
    """A fiscal e-receipt PDF with its QR code; ``qr_changes`` alter the code's values only (an edited file)."""
    from extractors.receipts.samples import PdfPainter as ReceiptPainter
    from extractors.receipts.samples import ReceiptStyle, _qr, draw_receipt, receipt_values

    values = receipt_values(random.Random(f"fiscal-qr:{seed}"))
    painter = ReceiptPainter()
    draw_receipt(painter, painter, values, ReceiptStyle(qr=False))
    _qr(painter, {**values, **qr_changes})
    return painter.finish(), values
