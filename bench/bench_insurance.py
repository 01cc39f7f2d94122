"""Benchmark: insurance settlement reconciliation of one day (~10,000 settlements) and one month (300,000) of a
3,000-bed hospital, against a naive merge on settlement id in the same run.

Generates the settlements with planted faults of every kind (HIS-only, platform-only, component mismatches,
reversals without original, duplicates, negative components, platform totals that do not tie; plus ordinary
reversals and reversal chains that must not be reported) and writes them as the files the product reads:
the HIS file in GBK with renamed columns and Chinese values, the platform's detail and daily totals. Then in
a fresh subprocess each (so the peak memory, VmHWM, is that run's own):

- project: read the three files through ``extractors.insurance`` and ``reconcile_day``;
- baseline: read the same files the same way and ``naive_merge`` (one outer merge on settlement id and a
  component comparison, no duplicate, reversal or totals handling).

Prints seconds (reading and reconciling apart), peak memory, the ratio project/baseline, and precision and
recall of each against the generated truth. Targets: day ≤ 2 s, month ≤ 20 s, ≤ 2 GiB, on 2 cores.

    .venv/bin/python bench/bench_insurance.py            # a day of 10,000 and a month of 300,000
    .venv/bin/python bench/bench_insurance.py --quick    # a day of 2,000 and a month of 30,000
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST_DAY = date(2026, 11, 1)


def _own_peak_kib() -> int:
    """This process's own peak RSS (VmHWM), not the parent's high-water mark inherited across fork/exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def generate(folder: Path, days: int, per_day: int, scale: int) -> None:
    """Generate ``days`` days and write the three files plus the truth (in a child, so runs start small)."""
    from smartfin.insurance.samples import Faults, generate_days, write_table

    base = Faults()
    faults = replace(base, **{k: getattr(base, k) * scale for k in (
        "his_only", "platform_only", "amount_mismatch", "reversal_without_original", "duplicate_settlement",
        "negative_component", "reversals", "reversal_chains")}, total_mismatch=min(3, base.total_mismatch * scale))
    sample = generate_days(FIRST_DAY, days, per_day, seed=17, faults=faults)
    folder.mkdir(parents=True, exist_ok=True)
    write_table(sample.his, "his", folder / "his.csv", renamed=True, encoding="gbk", chinese_codes=True)
    write_table(sample.platform, "platform", folder / "platform.csv")
    write_table(sample.totals, "platform_total", folder / "platform-total.csv")
    (folder / "truth.pickle").write_bytes(pickle.dumps(sample.truth))
    (folder / "size.json").write_text(json.dumps({"his_rows": len(sample.his), "truth": len(sample.truth)}))


def measure(folder: Path, which: str) -> dict[str, object]:
    """One measured run (in its own process): read the files, reconcile (project) or merge (baseline)."""
    from extractors.insurance import read_insurance_file
    from smartfin.insurance.daily import exception_truth_keys, naive_merge, reconcile_day

    truth = pickle.loads((folder / "truth.pickle").read_bytes())
    started = time.perf_counter()
    cpu = time.process_time()
    his = read_insurance_file((folder / "his.csv").read_bytes(), "his", file="his.csv").rows
    platform = read_insurance_file((folder / "platform.csv").read_bytes(), "platform", file="platform.csv").rows
    totals = read_insurance_file((folder / "platform-total.csv").read_bytes(), "platform_total",
                                 file="platform-total.csv").rows
    read = time.perf_counter() - started
    if which == "project":
        found = exception_truth_keys(reconcile_day(his, platform, totals).exceptions)
    else:
        found = exception_truth_keys(naive_merge(his, platform))
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu
    hits = len(found & truth)
    return {"which": which, "read_s": round(read, 3), "reconcile_s": round(total - read, 3),
            "total_s": round(total, 3), "cpu_s": round(cpu, 3), "peak_mib": round(_own_peak_kib() / 1024, 1),
            "precision": round(hits / len(found), 4) if found else 1.0, "recall": round(hits / len(truth), 4)}


def _child(*args: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {}


def bench(name: str, days: int, per_day: int, scale: int, target_s: float, work: Path) -> None:
    folder = work / name
    subprocess.run([sys.executable, __file__, "--generate", str(folder), str(days), str(per_day), str(scale)],
                   check=True)
    size = json.loads((folder / "size.json").read_text())
    project = _child("--measure", str(folder), "project")
    baseline = _child("--measure", str(folder), "baseline")
    ratio = project["total_s"] / baseline["total_s"] if baseline["total_s"] else float("nan")  # type: ignore[operator]
    cpu_ratio = project["cpu_s"] / baseline["cpu_s"] if baseline["cpu_s"] else float("nan")  # type: ignore[operator]
    print(f"\n{name}: {size['his_rows']:,} HIS settlements, {size['truth']} planted exceptions")
    for r in (project, baseline):
        print(f"  {r['which']:9} read {r['read_s']:6.2f} s  reconcile {r['reconcile_s']:6.2f} s  "
              f"total {r['total_s']:6.2f} s (cpu {r['cpu_s']:6.2f} s)  peak {r['peak_mib']:7.1f} MiB  "
              f"precision {r['precision']:.4f}  "
              f"recall {r['recall']:.4f}")
    within = project["total_s"] <= target_s and project["peak_mib"] <= 2048  # type: ignore[operator]
    verdict = "within" if within else "OVER"
    print(f"  ratio project/baseline {ratio:.2f} wall, {cpu_ratio:.2f} cpu; "
          f"target ≤ {target_s:g} s and ≤ 2 GiB: {verdict} "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: wall time on a shared machine "
          "includes waiting for a core, cpu time does not)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--generate", nargs=4, metavar=("FOLDER", "DAYS", "PER_DAY", "SCALE"))
    parser.add_argument("--measure", nargs=2, metavar=("FOLDER", "WHICH"))
    args = parser.parse_args()
    if args.generate:
        folder, days, per_day, scale = args.generate
        generate(Path(folder), int(days), int(per_day), int(scale))
        return
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), args.measure[1])))
        return
    with tempfile.TemporaryDirectory(prefix="smartfin-bench-insurance-") as work:
        if args.quick:
            bench("day", 1, 2_000, 1, 2.0, Path(work))
            bench("month", 30, 1_000, 3, 20.0, Path(work))
        else:
            bench("day", 1, 10_000, 1, 2.0, Path(work))
            bench("month", 30, 10_000, 30, 20.0, Path(work))


if __name__ == "__main__":
    main()
