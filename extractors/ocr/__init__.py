"""Reading pictures of documents: the OCR engine, image preparation and QR codes.

This package knows pictures, not invoices: it turns a scan or photo into upright text boxes with scores
(``engine``), decodes and checks uploaded images and renders text-less PDF pages (``images``), and finds
QR codes (``qr``). The invoice reader maps the boxes to fields with the labels it uses for PDF text.
"""

from extractors.ocr.engine import OcrPage, TextBox, read_text
from extractors.ocr.images import ImageProblem, load_image, render_pdf_pages
from extractors.ocr.qr import InvoiceQr, QrCode, parse_invoice_qr, read_qr_codes

__all__ = [
    "ImageProblem",
    "InvoiceQr",
    "OcrPage",
    "QrCode",
    "TextBox",
    "load_image",
    "parse_invoice_qr",
    "read_qr_codes",
    "read_text",
    "render_pdf_pages",
]
