"""Benchmark section for text (born-digital) PDF invoices that carry their QR code as a picture.

The QR code is decoded from its own region only (``extractors.ocr.pdf_qr``) and cross-checked against the
text; this section shows what that costs against plain pdfplumber text of the same files (target ≤ 1.5×).
Called from ``bench/bench_extract.py``; runs alone too:

    .venv/bin/python bench/bench_extract_qr.py --count 12
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_extract_receipts import _print_ratio, _times
from tests.support.ocr_samples import SCAN_LAYOUTS, text_pdf_with_qr

TARGET_RATIO = 1.5


def qr_section(count: int, repeat: int, plain_text: Callable[[bytes], str], timed: Callable[..., float]) -> bool:
    """Time of text PDF invoices with a QR code against plain text extraction; True when within target."""
    files = [text_pdf_with_qr(SCAN_LAYOUTS[i % len(SCAN_LAYOUTS)], 900 + i).data for i in range(count)]
    ours, base = _times(files, repeat, plain_text, timed)
    return _print_ratio("text PDF invoices with a QR code (decoded and cross-checked)", ours, base) <= TARGET_RATIO


def main() -> int:
    """Run this section alone."""
    from bench.bench_extract import plain_text, timed  # the same timing helpers as the whole benchmark

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    return 0 if qr_section(args.count, args.repeat, plain_text, timed) else 1


if __name__ == "__main__":
    raise SystemExit(main())
