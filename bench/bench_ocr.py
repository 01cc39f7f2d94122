"""OCR benchmark: seconds per scanned page on this machine, against reading the text PDF of the same invoice.

Generates scans and photos of invoices (``tests.support.ocr_samples``), then in the same run measures
per page: the whole OCR read (``extract_invoice`` on the picture: decode, QR, recognition, fields;
target ≤ 3 s on 2 cores), the recognition alone, the rendering of the page (what any scan reader pays)
and, as baseline, ``extract_invoice`` on the text PDF the scan was made from. Field accuracy of the OCR
reads is printed alongside, so a faster setting that reads worse shows. A last section times photos of a rail
e-ticket and an air itinerary against their text PDFs.

    .venv/bin/python bench/bench_ocr.py            # 8 pages
    .venv/bin/python bench/bench_ocr.py --quick    # 3 pages
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from extractors.invoice import extract_invoice
from extractors.invoice.pdf import silence_pdfminer
from extractors.ocr import load_image, read_text
from tests.support.ocr_samples import SCAN_LAYOUTS, encode, field_accuracy, photograph, render, scan

FAR_FUTURE = date(2100, 1, 1)
TARGET_SECONDS = 3.0


def best_of(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Best of ``repeat`` runs in seconds; the minimum is the least noisy figure on a shared machine."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    """Run the benchmark and print the figures; exit status 1 when the time target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 pages instead of 8")
    parser.add_argument("--repeat", type=int, default=2, help="timing runs per page (best is kept)")
    args = parser.parse_args()
    count = 3 if args.quick else 8
    silence_pdfminer()

    pages = []
    for index in range(count):
        picture, sample = scan(SCAN_LAYOUTS[index % len(SCAN_LAYOUTS)], 700 + index)
        if index % 2:  # every other page a phone photo
            picture = photograph(picture, ("tilt", "upside-down", "perspective", "blur")[index // 2 % 4], index)
        pages.append((encode(picture, ".jpg", 85), sample))
    print(f"{count} pages ({count - count // 2} scans, {count // 2} photos); cores: {os.cpu_count()}; "
          f"load average {os.getloadavg()[0]:.1f}")

    read_text(load_image(pages[0][0])[0])  # the engine is loaded once per process; not part of a page

    whole, recognition, rendering, baseline, pairs = [], [], [], [], []
    for data, sample in pages:
        image, _ = load_image(data)
        assert image is not None
        whole.append(best_of(lambda data=data: extract_invoice(data, today=FAR_FUTURE), args.repeat))
        recognition.append(best_of(lambda image=image: read_text(image), args.repeat))
        rendering.append(best_of(lambda sample=sample: render(sample), args.repeat))
        baseline.append(best_of(lambda sample=sample: extract_invoice(sample.data, today=FAR_FUTURE), args.repeat))
        assert sample.truth is not None
        pairs.append((extract_invoice(data, today=FAR_FUTURE).record, sample.truth))

    right, total, misses = field_accuracy(pairs)
    ocr = statistics.median(whole)
    text = statistics.median(baseline)
    print(f"OCR read per page (median): {ocr:.2f} s   (max {max(whole):.2f} s; target ≤ {TARGET_SECONDS:.0f} s)")
    print(f"  recognition alone:        {statistics.median(recognition):.2f} s")
    print(f"  rendering the page:       {statistics.median(rendering):.3f} s")
    print(f"baseline, text PDF of the same invoice read by extract_invoice: {text:.3f} s")
    print(f"ratio OCR / text PDF: {ocr / text:.0f}×")
    print(f"field accuracy of the OCR reads: {right}/{total} = {right / total:.2%}")
    for miss in misses[:10]:
        print("  ", miss)
    ticket_figures(args.repeat)
    if not args.quick:
        ticket_photo_accuracy(seeds=range(1, 5))
    return 0 if ocr <= TARGET_SECONDS else 1


def ticket_figures(repeat: int) -> None:
    """A rail e-ticket and an air itinerary photographed: seconds per picture against their text PDFs."""
    from tests.support.ticket_pictures import ticket_field_accuracy, ticket_picture
    from tests.support.travel_samples import air_sample, rail_sample

    samples = [rail_sample("rail-standard", 710), air_sample("air-chain-multi", 711)]
    pictures = [ticket_picture(sample, "tilt", 712 + n) for n, sample in enumerate(samples)]
    seconds = [best_of(lambda p=p: extract_invoice(p.data, today=FAR_FUTURE), repeat) for p in pictures]
    text = [best_of(lambda s=s: extract_invoice(s.data, today=FAR_FUTURE), repeat) for s in samples]
    per_field, misses = ticket_field_accuracy(
        [(extract_invoice(p.data, today=FAR_FUTURE).ticket, p.truth) for p in pictures])
    right, total = sum(c[0] for c in per_field.values()), sum(c[1] for c in per_field.values())
    print(f"ticket photos (rail, air; tilted JPEG): {' / '.join(f'{s:.2f}' for s in seconds)} s per picture; "
          f"text PDF of the same tickets: {' / '.join(f'{t:.3f}' for t in text)} s")
    print(f"field accuracy of the ticket photo reads: {right}/{total} = {right / total:.2%}")
    for miss in misses[:10]:
        print("  ", miss)


def ticket_photo_accuracy(seeds: range) -> None:
    """Field accuracy over the photos (tilt, blur, perspective, upside down, sideways) of the ticket picture
    corpus drawn with other seeds than the tests use: the issue's 99 % measured on tickets nobody tuned for."""
    from tests.support.ticket_pictures import ticket_field_accuracy, ticket_picture_corpus

    photos = [p for seed in seeds for p in ticket_picture_corpus(seed) if p.photo]
    per_field, misses = ticket_field_accuracy(
        [(extract_invoice(p.data, filename=p.filename, today=FAR_FUTURE).ticket, p.truth) for p in photos])
    right, total = sum(c[0] for c in per_field.values()), sum(c[1] for c in per_field.values())
    print(f"field accuracy over {len(photos)} ticket photos (seeds {seeds.start}–{seeds.stop - 1}): "
          f"{right}/{total} = {right / total:.2%} (target ≥ 99 %)")
    for miss in misses[:10]:
        print("  ", miss)


if __name__ == "__main__":
    raise SystemExit(main())
