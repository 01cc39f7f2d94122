"""Invoice extraction benchmark: time against plain pdfplumber text extraction, accuracy against truth.

Generates a corpus (``tests.support.invoice_samples``), then in the same run measures per-invoice time of
``extract_invoice`` and of pdfplumber's ``page.extract_text()`` on the same PDF files (target ratio
≤ 1.5×), and field accuracy of every file against its ground truth (target ≥ 99 %).

    .venv/bin/python bench/bench_extract.py            # 200 invoices
    .venv/bin/python bench/bench_extract.py --quick    # 40 invoices
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pdfplumber

from bench.bench_extract_lists import lists_section
from bench.bench_extract_receipts import receipts_section
from bench.bench_extract_travel import travel_section
from extractors.invoice import extract_invoice
from extractors.invoice.pdf import silence_pdfminer
from extractors.invoice.samples import Sample
from tests.support.invoice_samples import generate_corpus

FAR_FUTURE = date(2100, 1, 1)  # generated dates are in the past; keep the date rule out of accuracy


def plain_text(data: bytes) -> str:
    """The baseline: what pdfplumber gives with no invoice logic at all."""
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def compare(sample: Sample) -> tuple[int, int, list[str]]:
    """(matching fields, fields, mismatch descriptions) for one sample."""
    result = extract_invoice(sample.data, filename=sample.filename, today=FAR_FUTURE)
    assert sample.truth is not None
    want = sample.truth.flat_values()
    if result.record is None:
        return 0, len(want), [f"{sample.name}: no record ({result.needs_manual_entry})"]
    got = result.record.flat_values()
    keys = set(want) | set(got)
    bad = [f"{sample.name}.{k}: want {want.get(k)!r} got {got.get(k)!r}" for k in sorted(keys)
           if want.get(k) != got.get(k)]
    return len(keys) - len(bad), len(keys), bad


def timed(fn, data: bytes, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Best of ``repeat`` runs, in seconds; the minimum is the least noisy on a shared machine."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(data)
        best = min(best, time.perf_counter() - start)
    return best


def ofd_plain_text(data: bytes) -> str:
    """The OFD baseline: every TextCode of every content file in the zip, with no invoice logic."""
    import xml.etree.ElementTree as ET
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        pages = [ET.fromstring(archive.read(n)) for n in archive.namelist() if n.endswith("Content.xml")]
    return "\n".join("".join(e.text or "" for e in page.iter() if e.tag.endswith("TextCode")) for page in pages)


def item_layouts_section(per_layout: int, repeat: int) -> bool:
    """Item tables (toll, fuel, discount, wrapped, many, continued, sales list) and bureau-structured OFD."""
    from extractors.invoice.samples_items import ITEM_LAYOUTS, item_sample
    from extractors.invoice.samples_ofd import ofd_tagged_sample

    samples = [item_sample(layout, seed) for layout in ITEM_LAYOUTS for seed in range(per_layout)]
    ofds = [ofd_tagged_sample(seed, digital=seed % 2 == 1) for seed in range(per_layout * 2)]
    for s in samples[:3]:
        plain_text(s.data)
        extract_invoice(s.data, today=FAR_FUTURE)
    print(f"\nitem layouts: {len(samples)} PDFs ({per_layout} per layout), {len(ofds)} bureau-structured OFDs")
    ok = True
    for layout in (*ITEM_LAYOUTS, "ofd-tagged"):
        group = [s for s in samples if s.layout == layout] if layout != "ofd-tagged" else ofds
        baseline = plain_text if layout != "ofd-tagged" else ofd_plain_text
        base = [timed(baseline, s.data, repeat) for s in group]
        ours = [timed(lambda d: extract_invoice(d, today=FAR_FUTURE), s.data, repeat) for s in group]
        matched = total = 0
        for s in group:
            good, fields, _ = compare(s)
            matched += good
            total += fields
        ratio = sum(ours) / sum(base)
        within = ratio <= 1.5 or layout == "ofd-tagged"  # the OFD baseline parses XML only; reported, not a target
        ok &= within and matched / total >= 0.99
        print(f"  {layout:16s} ours {statistics.mean(ours) * 1000:6.1f} ms, baseline "
              f"{statistics.mean(base) * 1000:6.1f} ms, ratio {ratio:.2f}x, fields {matched}/{total} "
              f"= {matched / total:.2%}")
    return ok


def main() -> int:
    """Run the benchmark and print the figures; exit status 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 invoices instead of 200")
    parser.add_argument("--count", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3, help="timing runs per file (best is kept)")
    parser.add_argument("--items-per-layout", type=int, default=None, help="item-layout samples per layout")
    args = parser.parse_args()
    count = args.count or (40 if args.quick else 200)
    silence_pdfminer()  # for both sides, so the baseline is not slowed by logging

    started = time.perf_counter()
    corpus = list(generate_corpus(count, seed=7))
    print(f"generated {len(corpus)} invoices in {time.perf_counter() - started:.1f}s: "
          + ", ".join(f"{k} {v}" for k, v in sorted(Counter(s.layout for s in corpus).items())))

    pdfs = [s for s in corpus if s.filename.endswith(".pdf")]
    for s in pdfs[:3]:  # warm caches (fonts, cmaps) on both sides
        plain_text(s.data)
        extract_invoice(s.data, today=FAR_FUTURE)
    ours, base = [], []
    for s in pdfs:
        base.append(timed(plain_text, s.data, args.repeat))
        ours.append(timed(lambda d: extract_invoice(d, today=FAR_FUTURE), s.data, args.repeat))
    ratio = sum(ours) / sum(base)
    print(f"\nPDF files timed: {len(pdfs)} (best of {args.repeat})")
    print(f"  pdfplumber extract_text : mean {statistics.mean(base) * 1000:6.1f} ms, "
          f"median {statistics.median(base) * 1000:6.1f} ms per invoice")
    print(f"  extract_invoice         : mean {statistics.mean(ours) * 1000:6.1f} ms, "
          f"median {statistics.median(ours) * 1000:6.1f} ms per invoice")
    print(f"  ratio (total time)      : {ratio:.2f}x  (target <= 1.50x)")

    matched = total = 0
    mismatches: list[str] = []
    per_layout: Counter[str] = Counter()
    for s in corpus:
        good, fields, bad = compare(s)
        matched += good
        total += fields
        mismatches += bad
        per_layout[s.layout] += len(bad)
    accuracy = matched / total if total else 0.0
    print(f"\nfield accuracy: {matched}/{total} = {accuracy:.4%}  (target >= 99%)")
    if mismatches:
        print(f"mismatched fields ({len(mismatches)}):")
        for line in mismatches[:50]:
            print("  " + line)
        if len(mismatches) > 50:
            print(f"  … {len(mismatches) - 50} more")
    else:
        print("mismatched fields: none")
    travel_ok = travel_section(max(20, count // 4), args.repeat, plain_text, timed)
    receipts_ok = receipts_section(max(20, count // 4), args.repeat, plain_text, timed)
    items_ok = item_layouts_section(args.items_per_layout or (4 if args.quick else 10), args.repeat)
    lists_ok = lists_section(8 * 20 if args.quick else 32 * 20, min(args.repeat, 2), plain_text, ofd_plain_text, timed)
    return 0 if ratio <= 1.5 and accuracy >= 0.99 and travel_ok and receipts_ok and items_ok and lists_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
