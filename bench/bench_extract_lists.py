"""Long sales lists (销货清单) in the extraction benchmark: time per page against plain pdfplumber.

A PDF invoice with a 32-page list (640 rows) is read by ``extract_invoice`` and by pdfplumber's
``extract_text()`` of every page, in the same run; the figure is seconds per page and the ratio (target
≤ 1.5×). The OFD lists are timed per page too (no pdfplumber baseline for OFD: plain text of the pages'
TextCode elements is used instead). Run alone (``.venv/bin/python bench/bench_extract_lists.py``) or as a
section of ``bench_extract.py``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from extractors.invoice import extract_invoice
from extractors.invoice.samples_lists import ROWS_PER_PAGE, long_list_sample, ofd_list_sample

FAR_FUTURE = date(2100, 1, 1)


def lists_section(rows: int, repeat: int, plain_text: Callable[[bytes], str], ofd_plain_text: Callable[[bytes], str],
                  timed: Callable[..., float]) -> bool:
    """Print the long-list figures; True when the ratio target is met and every item was read."""
    sample = long_list_sample(0, rows=rows)
    pages = 1 + -(-rows // ROWS_PER_PAGE)
    result = extract_invoice(sample.data, today=FAR_FUTURE)
    read_all = result.record is not None and len(result.record.items) == rows
    base = timed(plain_text, sample.data, repeat)
    ours = timed(lambda d: extract_invoice(d, today=FAR_FUTURE), sample.data, repeat)
    ratio = ours / base
    print(f"\nsales list PDF: {pages} pages, {rows} rows (best of {repeat}): pdfplumber {base / pages * 1000:6.1f} "
          f"ms/page, extract_invoice {ours / pages * 1000:6.1f} ms/page, ratio {ratio:.2f}x (target <= 1.50x), "
          f"items read {len(result.record.items) if result.record else 0}/{rows}")
    ofd = ofd_list_sample(0, rows=rows)
    ofd_base = timed(ofd_plain_text, ofd.data, repeat)
    ofd_ours = timed(lambda d: extract_invoice(d, today=FAR_FUTURE), ofd.data, repeat)
    ofd_result = extract_invoice(ofd.data, today=FAR_FUTURE)
    ofd_read = ofd_result.record is not None and len(ofd_result.record.items) == rows
    print(f"sales list OFD: {pages} pages: page text {ofd_base / pages * 1000:6.2f} ms/page, extract_invoice "
          f"{ofd_ours / pages * 1000:6.2f} ms/page (report), items read "
          f"{len(ofd_result.record.items) if ofd_result.record else 0}/{rows}")
    return ratio <= 1.5 and read_all and ofd_read


if __name__ == "__main__":
    from bench.bench_extract import ofd_plain_text, plain_text, timed

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=32 * ROWS_PER_PAGE)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    raise SystemExit(0 if lists_section(args.rows, args.repeat, plain_text, ofd_plain_text, timed) else 1)
