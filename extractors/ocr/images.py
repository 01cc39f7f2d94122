"""Image preparation: uploaded pictures decoded and checked, text-less PDF pages rendered.

An upload is untrusted: it may be truncated, a thumbnail, an empty page or a photo of a monitor. Each
of those is named here as an ``ImageProblem`` (a code and a sentence for the clerk) before any time is
spent on recognition, so a claim gets a specific reason instead of an empty result.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np

RENDER_DPI = 200  # 9-point invoice text becomes ~25 px high, where the recogniser is at its best
MIN_SIDE = 400  # below this an invoice's small print is a few pixels high: unreadable
MAX_PIXELS = 120_000_000  # a decompression bomb is refused, not decoded (a 108 MP phone photo is not one)
MAX_DECODED_SIDE = 4000  # recognition works at 2000 px; phone JPEGs are decoded at a reduced scale
BLANK_SPREAD = 6.0  # grey-level standard deviation of a page with nothing on it
SCREEN_PEAK = 100.0  # strength of a periodic pattern (moiré) that paper never shows; JPEG blocks reach ~50


@dataclass(frozen=True, slots=True)
class ImageProblem:
    """Why a picture cannot be read, as a finding code and a message naming the cause."""

    code: str
    message: str


def load_image(data: bytes) -> tuple[np.ndarray | None, ImageProblem | None]:
    """Decode an uploaded picture into an upright BGR array (camera orientation tag applied).

    Truncated or damaged files, tiny pictures and blank pages are problems, never exceptions.
    """
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # damaged EXIF blocks are common and harmless
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                if opened.format == "JPEG":  # the decoder scales down by 1/2…1/8 almost for free
                    opened.draft("RGB", (MAX_DECODED_SIDE, MAX_DECODED_SIDE))
                opened.load()
                picture = ImageOps.exif_transpose(opened).convert("RGB")
                picture.thumbnail((MAX_DECODED_SIDE, MAX_DECODED_SIDE))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return None, ImageProblem("IMAGE_TOO_LARGE", f"the picture is too large to read safely: {exc}")
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError … on damaged files
        return None, ImageProblem("IMAGE_CORRUPT", f"the picture is damaged or truncated and cannot be decoded "
                                                   f"({type(exc).__name__}: {exc})")
    array = np.asarray(picture)[:, :, ::-1].copy()
    return array, check_page(array)


def check_page(image: np.ndarray) -> ImageProblem | None:
    """Problems visible before recognition: too small, nothing on it."""
    height, width = image.shape[:2]
    if min(height, width) < MIN_SIDE:
        return ImageProblem("IMAGE_TOO_SMALL",
                            f"the picture is {width}×{height} pixels; at least {MIN_SIDE} pixels on the short side "
                            "are needed to read an invoice's small print — send the original scan or a closer photo")
    grey = _grey(image)
    if float(grey.std()) < BLANK_SPREAD:
        return ImageProblem("IMAGE_BLANK", "the picture is blank (one uniform colour): no document on it")
    return None


def screen_pattern(image: np.ndarray) -> float:
    """How strongly a fine periodic pattern (moiré of a monitor's pixel grid) stands out of the spectrum.

    Paper scanned or photographed has no sharp peak at high spatial frequencies; a photo of a screen has
    one, from the display's pixel rows beating against the camera's sensor.
    """
    import cv2

    grey = _grey(image).astype(np.float32)
    side = min(512, *grey.shape)
    cy, cx = grey.shape[0] // 2, grey.shape[1] // 2
    patch = grey[cy - side // 2: cy - side // 2 + side, cx - side // 2: cx - side // 2 + side]
    patch = patch - cv2.GaussianBlur(patch, (0, 0), 3)
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(patch * np.outer(np.hanning(side), np.hanning(side)))))
    yy, xx = np.mgrid[0:side, 0:side]
    radius = np.hypot(yy - side / 2, xx - side / 2)
    band = spectrum[(radius > side / 12) & (radius < side / 2.2)]
    if band.size == 0:
        return 0.0
    return float(band.max() / (np.median(band) + 1e-6))


def render_pdf_pages(data: bytes, *, dpi: int = RENDER_DPI, max_pages: int = 2) -> list[np.ndarray]:
    """The first pages of a PDF as BGR pictures, for PDFs that hold a scan and no text."""
    try:
        import pypdfium2 as pdfium
    except ImportError:  # pdfplumber's renderer is slower but always there
        return _render_with_pdfplumber(data, dpi, max_pages)
    document = pdfium.PdfDocument(data)
    try:
        pages = []
        for index in range(min(len(document), max_pages)):
            bitmap = document[index].render(scale=dpi / 72)
            pages.append(np.asarray(bitmap.to_pil().convert("RGB"))[:, :, ::-1].copy())
        return pages
    finally:
        document.close()


def _render_with_pdfplumber(data: bytes, dpi: int, max_pages: int) -> list[np.ndarray]:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return [np.asarray(page.to_image(resolution=dpi).original.convert("RGB"))[:, :, ::-1].copy()
                for page in pdf.pages[:max_pages]]


def _grey(image: np.ndarray) -> np.ndarray:
    import cv2

    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
