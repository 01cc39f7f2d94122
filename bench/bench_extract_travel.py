"""Travel documents in the extraction benchmark: rail e-tickets and air e-itineraries.

Per type, time of ``extract_invoice`` against pdfplumber's plain ``extract_text()`` of the same files in
the same run (target ≤ 1.5×), and field accuracy of the ticket against its ground truth (target ≥ 99 %).
Run alone (``.venv/bin/python bench/bench_extract_travel.py [--count N]``) or as a section of
``bench_extract.py``.
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
from tests.support.travel_samples import TravelSample, travel_corpus

FAR_FUTURE = date(2100, 1, 1)


def _accuracy(samples: list[TravelSample]) -> tuple[int, int, list[str]]:
    right = total = 0
    bad: list[str] = []
    for s in samples:
        assert s.truth is not None
        result = extract_invoice(s.data, filename=s.name, today=FAR_FUTURE)
        got = result.ticket.flat_values() if result.ticket is not None else {}
        for key, want in s.truth.items():
            total += 1
            if got.get(key) == want:
                right += 1
            else:
                bad.append(f"{s.name}.{key}: want {want!r} got {got.get(key)!r}")
    return right, total, bad


def travel_section(count: int, repeat: int, plain_text: Callable[[bytes], str],
                   timed: Callable[..., float]) -> bool:
    """Print the travel figures; True when every target is met."""
    corpus = travel_corpus(count, seed=7)
    for s in corpus[:2]:  # warm caches on both sides
        plain_text(s.data)
        extract_invoice(s.data, today=FAR_FUTURE)
    ok = True
    print(f"\ntravel documents: {len(corpus)} (best of {repeat})")
    for kind in ("rail", "air"):
        samples = [s for s in corpus if s.layout.startswith(kind)]
        base = [timed(plain_text, s.data, repeat) for s in samples]
        ours = [timed(lambda d: extract_invoice(d, today=FAR_FUTURE), s.data, repeat) for s in samples]
        ratio = sum(ours) / sum(base)
        right, total, bad = _accuracy(samples)
        accuracy = right / total
        ok &= ratio <= 1.5 and accuracy >= 0.99
        print(f"  {kind:4} {len(samples):3} files: pdfplumber {statistics.mean(base) * 1000:6.1f} ms, "
              f"extract_invoice {statistics.mean(ours) * 1000:6.1f} ms per document, ratio {ratio:.2f}x "
              f"(target <= 1.50x); field accuracy {right}/{total} = {accuracy:.4%} (target >= 99%)")
        for line in bad[:10]:
            print("    " + line)
    return ok


def main() -> int:
    """Run the travel section alone."""
    from bench.bench_extract import plain_text, timed
    from extractors.invoice.pdf import silence_pdfminer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    silence_pdfminer()
    return 0 if travel_section(args.count, args.repeat, plain_text, timed) else 1


if __name__ == "__main__":
    raise SystemExit(main())
