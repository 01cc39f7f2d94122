"""Benchmark: a 3,000-bed hospital's budget compilation — 120 departments × 60 economic codes × 4 funding sources
(28,800 basic lines) plus 2,000 pool projects — against reading the same workbooks alone.

A generating child sets the year up (departments, the pool with targets, last year's budget lines, the round at
二上 with control numbers) and writes every department's filled compilation workbook. Then, in a fresh subprocess
each (so peak RSS is that run's own):

- baseline: open every workbook with openpyxl in read-only mode and read every cell of every sheet, nothing else;
- project: what finance runs — every draft uploaded (read, checked against the classification, the pool and the
  control numbers, stored), the consolidation (one workbook and one HTML summary with year-on-year change), and
  the approved budget issued into the ledger in one transaction (about 30,800 lines created and budgeted).

Prints seconds and peak memory of both and the ratio; the target is ≤ 10 s and ≤ 2 GiB on 2 cores.

    .venv/bin/python bench/bench_compilation.py            # 120 departments, 2,000 projects
    .venv/bin/python bench/bench_compilation.py --quick    # 12 departments, 200 projects
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

YEAR = 2027


def _own_peak_kib() -> int:
    """This process's own peak RSS (VmHWM), not carried over from the parent across fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _use_folder(folder: Path) -> None:
    os.environ.update(SMARTFIN_VAR_DIR=str(folder / "var"), SMARTFIN_DATABASE_URL="")


def generate(folder: Path, quick: bool) -> None:
    """Set the year up and write every department's filled workbook (not measured)."""
    _use_folder(folder)
    from datetime import date

    import openpyxl

    from rules.budget.classification import codes_for_year
    from smartfin.budgeting.controls import ControlSetting, set_control_numbers
    from smartfin.budgeting.projects import import_projects
    from smartfin.budgeting.rounds import Stage, advance_round, open_round
    from smartfin.budgeting.workbook import BASIC, BASIC_FIRST_INPUT, FIRST_ROW, PROJECTS, SOURCES, template_workbook
    from smartfin.ledger import BudgetLineKey, import_departments
    from smartfin.ledger.bulk import BudgetPosting, post_budgets
    from smartfin.store.db import get_engine, session_scope

    started = time.perf_counter()
    departments = [f"D{n:03d}" for n in range(1, (12 if quick else 120) + 1)]
    project_count = 200 if quick else 2000
    codes = list(codes_for_year(YEAR))
    get_engine()
    with session_scope() as session:
        rows = "".join(f"{d},科室{d},clinical,2020-01-01\n" for d in departments)
        assert import_departments(session, ("code,name,class,valid_from\n" + rows).encode(), actor="bench",
                                  filename="departments.csv").ok
        pool = ["fiscal_year,code,name,department,funding_source,priority,kind,dimension,indicator,unit,target"]
        for n in range(project_count):
            pool.append(f"{YEAR},P{n:05d},项目{n},{departments[n % len(departments)]},"
                        f"{SOURCES[n % 4].value},{n % 9 + 1},output,quantity,交付数量,项,{n % 50 + 1}")
        report = import_projects(session, ("\n".join(pool) + "\n").encode(), actor="bench", filename="pool.csv")
        assert report.ok, report.errors[:5]
        post_budgets(session, [BudgetPosting(BudgetLineKey(YEAR - 1, d, c, "fiscal"), 1_000_000 + i)  # type: ignore[arg-type]
                               for d in departments for i, c in enumerate(codes)],
                     document_type="budget-import", document_no="BUDGET-2026", actor="bench", reason="2026 budget")
        open_round(session, YEAR, guidance="bench", first_deadline=date(YEAR - 1, 10, 15),
                   second_deadline=date(YEAR - 1, 11, 30), template_version=f"{YEAR}.1", actor="bench")
        advance_round(session, YEAR, Stage.CONSOLIDATION, actor="bench")
        set_control_numbers(session, YEAR, [ControlSetting(d, s.value, "100000000") for d in departments
                                            for s in SOURCES], decision="bench", actor="bench")
        advance_round(session, YEAR, Stage.SECOND, actor="bench")
    print(f"set up {len(departments)} departments, {project_count:,} projects in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    drafts = folder / "drafts"
    drafts.mkdir()
    with session_scope() as session:
        for number, department in enumerate(departments):
            book = openpyxl.load_workbook(io.BytesIO(template_workbook(session, YEAR, department)))
            sheet = book[BASIC]
            for offset in range(len(codes)):
                for column in range(len(SOURCES)):
                    sheet.cell(row=FIRST_ROW + offset, column=BASIC_FIRST_INPUT + column,
                               value=1000 + number * 7 + offset * 3 + column)
            projects = book[PROJECTS]
            row = FIRST_ROW
            while projects.cell(row=row, column=2).value:
                projects.cell(row=row, column=6, value="31003")
                projects.cell(row=row, column=7, value=50_000 + row)
                row += 1
            book.save(drafts / f"{department}.xlsx")
    print(f"wrote {len(departments)} filled workbooks in {time.perf_counter() - started:.1f} s")


def child(kind: str, folder: Path) -> None:
    """One run; prints its figures and this process's peak RSS as JSON."""
    files = sorted((folder / "drafts").glob("*.xlsx"))
    figures: dict[str, object] = {"workbooks": len(files)}
    started = time.perf_counter()
    if kind == "baseline":
        import openpyxl

        cells = 0
        for path in files:
            book = openpyxl.load_workbook(path, read_only=True, data_only=False)
            for sheet in book.worksheets:
                for row in sheet.iter_rows(values_only=True):
                    cells += len(row)
            book.close()
        figures["cells"] = cells
    else:
        _use_folder(folder)
        from smartfin.budgeting.consolidate import consolidate, consolidation_html, consolidation_workbook
        from smartfin.budgeting.drafts import upload_draft
        from smartfin.budgeting.issue import issue_budget
        from smartfin.budgeting.rounds import Stage, advance_round
        from smartfin.store.db import get_engine, session_scope

        get_engine()
        started = time.perf_counter()
        for path in files:
            with session_scope() as session:
                upload_draft(session, path.read_bytes(), filename=path.name, uploaded_by="bench",
                             department=path.stem)
        figures["upload_seconds"] = time.perf_counter() - started
        step = time.perf_counter()
        with session_scope() as session:
            result = consolidate(session, YEAR)
        (folder / "consolidation.xlsx").write_bytes(consolidation_workbook(result))
        (folder / "consolidation.html").write_text(consolidation_html(result), encoding="utf-8")
        figures["consolidate_seconds"] = time.perf_counter() - step
        step = time.perf_counter()
        with session_scope() as session:
            advance_round(session, YEAR, Stage.APPROVAL, actor="bench")
            advance_round(session, YEAR, Stage.APPROVED, actor="bench")
            issue = issue_budget(session, YEAR, actor="bench")
            figures["lines"] = issue.lines
            figures["total_fen"] = issue.total_fen
        figures["issue_seconds"] = time.perf_counter() - step
        figures["consolidated_fen"] = result.total
    figures["seconds"] = time.perf_counter() - started
    figures["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures["own_peak_kib"] = _own_peak_kib()
    print(json.dumps(figures))


def run_child(kind: str, folder: Path) -> dict:  # type: ignore[type-arg]
    proc = subprocess.run([sys.executable, __file__, "--child", kind, "--folder", str(folder)],
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"{kind} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="12 departments, 200 projects")
    parser.add_argument("--child", choices=["generate", "baseline", "project"])
    parser.add_argument("--folder", type=Path)
    args = parser.parse_args()
    if args.child == "generate":
        generate(args.folder, args.quick)
        return
    if args.child:
        child(args.child, args.folder)
        return
    with tempfile.TemporaryDirectory(prefix="smartfin-bench-compilation-") as tmp:
        folder = Path(tmp)
        command = [sys.executable, __file__, "--child", "generate", "--folder", str(folder)]
        subprocess.run(command + (["--quick"] if args.quick else []), check=True)
        base = run_child("baseline", folder)
        project = run_child("project", folder)
    print(f"\n{'':30}{'project':>12}{'read alone':>12}{'ratio':>10}")
    for label, x, y in (("seconds", project["seconds"], base["seconds"]),
                        ("peak RSS GiB (ru_maxrss)", project["maxrss_kib"] / 2**20, base["maxrss_kib"] / 2**20),
                        ("own peak GiB (VmHWM)", project["own_peak_kib"] / 2**20, base["own_peak_kib"] / 2**20)):
        print(f"{label:30}{x:>12.2f}{y:>12.2f}{x / y:>9.2f}x")
    print(f"{'  of which upload s':30}{project['upload_seconds']:>12.2f}   ({project['workbooks']} drafts)")
    print(f"{'  of which consolidate s':30}{project['consolidate_seconds']:>12.2f}")
    print(f"{'  of which issue s':30}{project['issue_seconds']:>12.2f}   ({project['lines']:,} lines)")
    print(f"\nconsolidated = issued to the fen: {project['consolidated_fen'] == project['total_fen']}")
    peak = max(project["maxrss_kib"], project["own_peak_kib"]) / 2**20
    print(f"targets: <= 10 s: {project['seconds'] <= 10}, <= 2 GiB: {peak <= 2}")


if __name__ == "__main__":
    main()
