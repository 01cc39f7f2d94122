"""Benchmark: one cost month of a 3,000-bed hospital, against reading the same files alone.

Generates the month (300 cost centres, 3,000 service items, 1,000,000 HIS charge lines, 10,000 inpatient
cases), writes it as the cost imports' canonical CSV files, then in a fresh subprocess each (so peak RSS,
``ru_maxrss``, is that run's own):

- baseline: read every file with pandas, nothing else;
- project: what a hospital runs — import the same files through the product's imports into a fresh SQLite
  database (departments, profiles, allocation rules, HIS map, every month file: parsed, validated row by row,
  stored), then ``run_month``: the inputs read back, allocation, unit, service-item and case costs worked out
  with ``compute_month``, indicators, every result stored in one transaction.

Prints seconds and peak memory of both and the ratio; the target is ≤ 60 s and ≤ 4 GiB on 2 cores.

    .venv/bin/python bench/bench_cost.py            # the 3,000-bed hospital
    .venv/bin/python bench/bench_cost.py --quick    # 100 centres, 100,000 charge lines
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = ("departments", "profile", "allocation", "his-map", "payroll", "materials", "depreciation", "direct",
         "shared", "drivers", "revenue", "workload", "charges", "items", "cases")


def _own_peak_kib() -> int:
    """This process's own peak RSS (VmHWM): unlike ``ru_maxrss`` it does not carry the parent's high-water
    mark across fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def generate(folder: Path, month: str, quick: bool) -> None:
    """Generate the month and write its files (in a child, so the runs measured after it start small)."""
    from smartfin.costing.samples import generate_month, write_month_files

    scale = dict(centres=100, items=1_000, charge_lines=100_000, cases=1_000) if quick else \
        dict(centres=300, items=3_000, charge_lines=1_000_000, cases=10_000)
    started = time.perf_counter()
    inputs = generate_month(month, seed=20261001, **scale)
    beds = sum(c.beds for c in inputs.centres)
    print(f"generated {len(inputs.centres)} cost centres ({beds:,} beds), {len(inputs.items):,} service items, "
          f"{len(inputs.charges):,} charge lines, {len(inputs.cases):,} cases in "
          f"{time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    write_month_files(inputs, folder)
    size = sum(p.stat().st_size for p in folder.iterdir())
    print(f"wrote the files ({size / 2**20:.0f} MiB) in {time.perf_counter() - started:.1f} s")


def child(kind: str, folder: Path, month: str) -> None:
    """One run; prints its seconds and this process's peak RSS as JSON."""
    started = time.perf_counter()
    figures: dict[str, object] = {}
    if kind == "baseline":
        rows = sum(len(pd.read_csv(folder / f"{k}.csv", dtype=str, keep_default_na=False)) for k in KINDS)
        figures["rows"] = rows
    else:
        import os

        os.environ.update(SMARTFIN_VAR_DIR=str(folder / "var"), SMARTFIN_DATABASE_URL="")
        from smartfin.costing.month import run_month, stored_result
        from smartfin.costing.samples import import_month_files
        from smartfin.store.db import get_engine, session_scope

        get_engine()  # the database at the newest schema, as `smartfin up` leaves it
        paths = {kind: folder / f"{kind}.csv" for kind in KINDS}
        imported = import_month_files(paths, month, actor="bench")
        figures["rows"] = sum(imported.values())
        figures["import_seconds"] = time.perf_counter() - started
        computed = time.perf_counter()
        summary = run_month(month, actor="bench")
        if not summary.ok:
            raise SystemExit(f"the month was not published: {summary.problems or summary.reason}")
        figures["run_seconds"] = time.perf_counter() - computed
        with session_scope() as session:
            result = stored_result(session, month)
        assert result is not None
        figures["matrix_rows"] = len(result.matrix)
        figures["item_costs"] = len(result.item_costs)
        figures["cases"] = len(result.case_costs)
        figures["conserved"] = summary.total_fen == summary.direct_fen == int(result.centre_costs["total_fen"].sum())
    figures["seconds"] = time.perf_counter() - started
    figures["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures["own_peak_kib"] = _own_peak_kib()
    print(json.dumps(figures))


def run_child(kind: str, folder: Path, month: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", kind, "--folder", str(folder), "--month", month],
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"{kind} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100 centres, 100,000 charge lines")
    parser.add_argument("--child", choices=["generate", "baseline", "project"])
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--month", default="2026-10")
    args = parser.parse_args()
    if args.child == "generate":
        generate(args.folder, args.month, args.quick)
        return
    if args.child:
        child(args.child, args.folder, args.month)
        return
    with tempfile.TemporaryDirectory(prefix="smartfin-bench-cost-") as tmp:
        folder = Path(tmp)
        command = [sys.executable, __file__, "--child", "generate", "--folder", str(folder), "--month", args.month]
        subprocess.run(command + (["--quick"] if args.quick else []), check=True)
        base = run_child("baseline", folder, args.month)
        project = run_child("project", folder, args.month)
    print(f"\n{'':30}{'project':>12}{'read alone':>12}{'ratio':>10}")
    for label, x, y in (("seconds", project["seconds"], base["seconds"]),
                        ("peak RSS GiB (ru_maxrss)", project["maxrss_kib"] / 2**20, base["maxrss_kib"] / 2**20),
                        ("own peak GiB (VmHWM)", project["own_peak_kib"] / 2**20, base["own_peak_kib"] / 2**20)):
        print(f"{label:30}{x:>12.2f}{y:>12.2f}{x / y:>9.2f}x")
    print(f"{'  of which import s':30}{project['import_seconds']:>12.2f}   ({project['rows']:,} rows stored)")
    print(f"{'  of which run_month s':30}{project['run_seconds']:>12.2f}")
    print(f"\nmatrix rows {project['matrix_rows']:,}, item costs {project['item_costs']:,}, "
          f"cases {project['cases']:,}, conserved to the fen: {project['conserved']}")
    peak = max(project["maxrss_kib"], project["own_peak_kib"]) / 2**20
    print(f"targets: <= 60 s: {project['seconds'] <= 60}, <= 4 GiB: {peak <= 4}")


if __name__ == "__main__":
    main()
