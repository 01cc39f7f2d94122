"""QR codes in text (born-digital) PDFs, decoded from the code's own region only.

A text PDF is read from its characters in a few hundredths of a second; rendering the whole page to
look for a QR code would cost more than the read itself. So the page's objects say where a code can be
(an embedded picture, or a square cluster of the small filled squares a vector QR code is drawn with),
and only those regions are rendered and decoded. A page without either costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from extractors.ocr.qr import read_qr_codes

QR_DPI = 200  # a module of a 2 cm code becomes about 6 px, well above the decoder's needs
MARGIN_PT = 6.0  # the quiet zone around a code, rendered with it
MODULE_PT = 8.0  # the squares (or runs of squares) a vector QR code is drawn with are smaller than this
MIN_MODULES = 40  # fewer small squares is a table's decoration, not a code
MIN_SIDE_PT = 30.0  # a picture smaller than this cannot hold a readable code
Box = tuple[float, float, float, float]  # x0, top, x1, bottom in points from the page's top left


def qr_regions(page: Any) -> list[Box]:
    """Where a QR code can be on a pdfplumber page: its pictures and its square clusters of small squares."""
    regions: list[Box] = []
    for image in page.images:
        x0, top, x1, bottom = float(image["x0"]), float(image["top"]), float(image["x1"]), float(image["bottom"])
        if min(x1 - x0, bottom - top) >= MIN_SIDE_PT:
            regions.append((x0, top, x1, bottom))
    squares = [r for r in page.rects if r.get("fill") and r["width"] < MODULE_PT and r["height"] < MODULE_PT]
    if len(squares) >= MIN_MODULES:
        x0, x1 = min(r["x0"] for r in squares), max(r["x1"] for r in squares)
        top, bottom = min(r["top"] for r in squares), max(r["bottom"] for r in squares)
        width, height = x1 - x0, bottom - top
        if height > 0 and 0.7 <= width / height <= 1.4:
            regions.append((x0, top, x1, bottom))
    return regions


def decode_pdf_qr(data: bytes, regions: Sequence[Box], *, page_index: int = 0) -> list[str]:
    """The texts of the QR codes found in the given regions of one PDF page (rendered region by region)."""
    if not regions:
        return []
    import numpy as np
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        page = document[page_index]
        width, height = page.get_size()
        texts: list[str] = []
        for x0, top, x1, bottom in regions:
            crop = (max(0.0, x0 - MARGIN_PT), max(0.0, height - bottom - MARGIN_PT),
                    max(0.0, width - x1 - MARGIN_PT), max(0.0, top - MARGIN_PT))
            bitmap = page.render(scale=QR_DPI / 72, crop=crop)
            picture = np.asarray(bitmap.to_pil().convert("L"))
            texts.extend(code.text for code in read_qr_codes(picture) if code.text not in texts)
        return texts
    finally:
        document.close()
