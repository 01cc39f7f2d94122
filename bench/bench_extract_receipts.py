"""Benchmark section for fiscal e-receipts (财政电子票据) and foreign supplier invoices.

Per document time of ``extract_invoice`` against plain pdfplumber text of the same PDF (target ≤ 1.5×);
OFD receipts have no pdfplumber baseline, their time is reported alone. Also prints the receipts' field
accuracy (target ≥ 99 %) and the foreign invoices' number/date/total/currency accuracy (target ≥ 90 %).
Called from ``bench/bench_extract.py``; runs alone too:

    .venv/bin/python bench/bench_extract_receipts.py --count 40
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from extractors.invoice import extract_invoice
from extractors.receipts.samples import receipt_corpus
from tests.support.foreign_layouts import LAYOUTS, foreign_corpus

FAR_FUTURE = date(2100, 1, 1)
FOREIGN_FIELDS = ("number", "issue_date", "total_with_tax", "currency")


def _extract(data: bytes) -> object:
    return extract_invoice(data, today=FAR_FUTURE)


def _times(files: list[bytes], repeat: int, plain_text: Callable[[bytes], str],
           timed: Callable[..., float]) -> tuple[list[float], list[float]]:
    for data in files[:2]:  # warm fonts and caches on both sides
        plain_text(data)
        _extract(data)
    base = [timed(plain_text, data, repeat) for data in files]
    ours = [timed(_extract, data, repeat) for data in files]
    return ours, base


def _print_ratio(title: str, ours: list[float], base: list[float]) -> float:
    ratio = sum(ours) / sum(base)
    print(f"\n{title}: {len(ours)} PDF files")
    print(f"  pdfplumber extract_text : mean {statistics.mean(base) * 1000:6.1f} ms per document")
    print(f"  extract_invoice         : mean {statistics.mean(ours) * 1000:6.1f} ms per document")
    print(f"  ratio (total time)      : {ratio:.2f}x  (target <= 1.50x)")
    return ratio


def receipts_section(count: int, repeat: int, plain_text: Callable[[bytes], str],
                     timed: Callable[..., float]) -> bool:
    """Time and accuracy of fiscal receipts and foreign invoices; True when every target is met."""
    receipts = receipt_corpus(count, seed=11)
    pdfs = [s.data for s in receipts if s.filename.endswith(".pdf")]
    ofds = [s.data for s in receipts if s.filename.endswith(".ofd")]
    ours, base = _times(pdfs, repeat, plain_text, timed)
    receipt_ratio = _print_ratio("fiscal e-receipts (PDF)", ours, base)
    ofd_times = [timed(_extract, data, repeat) for data in ofds]
    print(f"  OFD receipts            : mean {statistics.mean(ofd_times) * 1000:6.1f} ms per document "
          f"({len(ofds)} files, no pdfplumber baseline)")
    matched = total = 0
    for sample in receipts:
        result = extract_invoice(sample.data, filename=sample.filename, today=FAR_FUTURE)
        got = result.receipt.flat_values() if result.receipt is not None else {}
        keys = set(sample.truth) | set(got)
        matched += sum(1 for k in keys if sample.truth.get(k) == got.get(k))
        total += len(keys)
    receipt_accuracy = matched / total
    print(f"  field accuracy          : {matched}/{total} = {receipt_accuracy:.2%}  (target >= 99%)")

    per_layout = max(1, count // len(LAYOUTS))
    foreign = foreign_corpus(per_layout=per_layout, seed=11)
    ours, base = _times([s.data for s in foreign], repeat, plain_text, timed)
    foreign_ratio = _print_ratio(f"foreign invoices ({len(LAYOUTS)} layouts)", ours, base)
    right = 0
    for sample in foreign:
        record = extract_invoice(sample.data, today=FAR_FUTURE).record
        got = record.values() if record is not None else {}
        right += sum(1 for field in FOREIGN_FIELDS if got.get(field) == sample.truth[field])
    foreign_accuracy = right / (len(foreign) * len(FOREIGN_FIELDS))
    print(f"  number/date/total/currency accuracy: {right}/{len(foreign) * len(FOREIGN_FIELDS)} = "
          f"{foreign_accuracy:.1%}  (target >= 90%)")
    return (receipt_ratio <= 1.5 and foreign_ratio <= 1.5 and receipt_accuracy >= 0.99
            and foreign_accuracy >= 0.90)


def main() -> int:
    """Run this section alone."""
    from bench.bench_extract import plain_text, timed

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    return 0 if receipts_section(args.count, args.repeat, plain_text, timed) else 1


if __name__ == "__main__":
    raise SystemExit(main())
