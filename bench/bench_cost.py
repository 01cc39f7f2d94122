"""Benchmark: one cost month of a 3,000-bed hospital, against reading the same files alone.

Generates the month (300 cost centres, 3,000 service items, 1,000,000 HIS charge lines, 10,000 inpatient
cases), writes it as the cost imports' canonical CSV files, then in a fresh subprocess each (so peak RSS,
``ru_maxrss``, is that run's own):

- baseline: read every file with pandas, nothing else;
- project: read the same files (with pandas, until the month's run reads them through the importers), turn
  them into the month's inputs (fen, exact decimals, HIS codes mapped to cost centres) and work the month
  out with ``compute_month`` — allocation, unit, service-item and case costs.

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
from decimal import Decimal
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = ("departments", "profile", "his-map", "payroll", "materials", "depreciation", "direct", "shared",
         "drivers", "revenue", "workload", "charges", "items", "cases")


def _fen(text: pd.Series) -> pd.Series:
    """``1234.50`` → 123450 (the generated files always carry two decimals)."""
    return text.str.replace(".", "", regex=False).astype("int64")


def _decimal(text: pd.Series) -> pd.Series:
    values = {v: Decimal(v) for v in text.unique()}
    return text.map(values).astype(object)


def read_month(folder: Path, month: str):  # -> MonthInputs
    """The month's inputs from the canonical files (a stand-in for the cost imports)."""
    from smartfin.costing.model import AllocationRules, Centre, MonthInputs, Service
    from smartfin.ledger.departments import parse_department_class

    f = {k: pd.read_csv(folder / f"{k}.csv", dtype=str, keep_default_na=False) for k in KINDS}
    profile = f["profile"].set_index("centre")
    centres = tuple(
        Centre(code=r.code, name=r.name, cost_class=parse_department_class(r._3),
               service=Service(profile.at[r.code, "service"]), beds=int(profile.at[r.code, "beds"]),
               area_m2=Decimal(profile.at[r.code, "area_m2"]), headcount=Decimal(profile.at[r.code, "headcount"]))
        for r in f["departments"].itertuples())
    his = dict(zip(f["his-map"]["his_department"], f["his-map"]["centre"], strict=True))
    direct = pd.concat([
        pd.DataFrame({"centre": f["payroll"]["centre"], "cost_item": "personnel",
                      "amount_fen": _fen(f["payroll"]["amount"]), "source": "payroll"}),
        pd.DataFrame({"centre": f["materials"]["centre"], "cost_item": f["materials"]["kind"],
                      "amount_fen": _fen(f["materials"]["amount"]), "source": "materials"}),
        pd.DataFrame({"centre": f["depreciation"]["centre"],
                      "cost_item": f["depreciation"]["kind"].map({"fixed": "depreciation",
                                                                  "intangible": "amortisation"}),
                      "amount_fen": _fen(f["depreciation"]["amount"]), "source": "depreciation"}),
        pd.DataFrame({"centre": f["direct"]["centre"], "cost_item": f["direct"]["cost_item"],
                      "amount_fen": _fen(f["direct"]["amount"]), "source": "direct"}),
    ], ignore_index=True)
    charges = f["charges"]
    rules = yaml.safe_load((folder / "allocation.yaml").read_text(encoding="utf-8"))
    return MonthInputs(
        month=month, centres=centres, direct=direct,
        shared=pd.DataFrame({"name": f["shared"]["name"], "cost_item": f["shared"]["cost_item"],
                             "amount_fen": _fen(f["shared"]["amount"])}),
        drivers=f["drivers"].assign(quantity=_decimal(f["drivers"]["quantity"])),
        revenue=pd.DataFrame({"ordering_centre": f["revenue"]["ordering_department"].map(his),
                              "performing_centre": f["revenue"]["performing_department"].map(his),
                              "amount_fen": _fen(f["revenue"]["amount"])}),
        workload=f["workload"].assign(quantity=_decimal(f["workload"]["quantity"])),
        charges=pd.DataFrame({"case_id": charges["case_id"], "item_code": charges["item_code"],
                              "item_kind": charges["item_kind"],
                              "ordering_centre": charges["ordering_department"].map(his),
                              "performing_centre": charges["performing_department"].map(his),
                              "quantity": _decimal(charges["quantity"]), "amount_fen": _fen(charges["amount"])}),
        items=pd.DataFrame({"item_code": f["items"]["item_code"], "name": f["items"]["name"],
                            "rvu": _decimal(f["items"]["rvu"]), "charge_fen": _fen(f["items"]["charge"])}),
        cases=pd.DataFrame({"case_id": f["cases"]["case_id"], "centre": f["cases"]["department"].map(his),
                            "drg_group": f["cases"]["drg_group"], "payment_fen": _fen(f["cases"]["payment"])}),
        rules=AllocationRules(administrative=rules["administrative"], auxiliary=rules["auxiliary"],
                              default_auxiliary=rules["default_auxiliary"], shared=rules["shared"]),
    )


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
        rows = sum(len(pd.read_csv(folder / f"{k}.csv")) for k in KINDS)
        figures["rows"] = rows
    else:
        from smartfin.costing.compute import compute_month

        inputs = read_month(folder, month)
        figures["read_seconds"] = time.perf_counter() - started
        computed = time.perf_counter()
        result = compute_month(inputs)
        figures["compute_seconds"] = time.perf_counter() - computed
        figures["matrix_rows"] = len(result.matrix)
        figures["item_costs"] = len(result.item_costs)
        figures["cases"] = len(result.case_costs)
        figures["conserved"] = int(result.centre_costs["total_fen"].sum()) == int(
            inputs.direct["amount_fen"].sum() + inputs.shared["amount_fen"].sum())
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
    print(f"{'  of which read + convert s':30}{project['read_seconds']:>12.2f}")
    print(f"{'  of which compute_month s':30}{project['compute_seconds']:>12.2f}")
    print(f"\nmatrix rows {project['matrix_rows']:,}, item costs {project['item_costs']:,}, "
          f"cases {project['cases']:,}, conserved to the fen: {project['conserved']}")
    peak = max(project["maxrss_kib"], project["own_peak_kib"]) / 2**20
    print(f"targets: <= 60 s: {project['seconds'] <= 60}, <= 4 GiB: {peak <= 4}")


if __name__ == "__main__":
    main()
