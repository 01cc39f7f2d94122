"""Budget reservations per second under contention, with a same-run baseline.

All threads reserve against ONE budget line — the worst case, since every reservation queues on that
line's lock. Each reservation is its own transaction (as one worker task is): lock the line, re-check
idempotency and the budget, insert the journal entry, commit.

The baseline inserts the same journal rows, one transaction each, from the same threads on the same
database, with no check and no lock: the ratio is the price of never overspending.

    .venv/bin/python bench/bench_reservations.py            # SQLite and PostgreSQL, ~1 minute
    .venv/bin/python bench/bench_reservations.py --quick    # a few seconds per database
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import smartfin.app.tables  # noqa: F401
from smartfin.kernel.clock import hospital_today
from smartfin.ledger import BudgetLineKey, FundingSource, JournalEntry, create_line, pre_encumber
from smartfin.ledger.control import find_line
from smartfin.store.db import make_engine, session_scope
from tests.support.localpg import LocalPostgres

KEY = BudgetLineKey(2026, "0301", "30218", FundingSource.FISCAL)


def run_threads(threads: int, per_thread: int, work: Callable[[int, int], None]) -> float:
    """Start ``threads`` threads together, each calling ``work(thread, i)`` ``per_thread`` times; seconds."""
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def body(t: int) -> None:
        barrier.wait()
        try:
            for i in range(per_thread):
                work(t, i)
        except BaseException as exc:  # surfaced after the run
            errors.append(exc)

    pool = [threading.Thread(target=body, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} thread(s) failed; first: {errors[0]!r}") from errors[0]
    return elapsed


def measure(engine: Engine, threads: int, per_thread: int, tag: str) -> tuple[float, float]:
    """(project reservations/s, baseline inserts/s) on a fresh schema."""
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    with session_scope(engine) as session:
        create_line(session, KEY, actor="bench", budget="999999999.00", warning_pct=None)
    with session_scope(engine) as session:
        line = find_line(session, KEY)
        assert line is not None and line.id is not None
        line_id = line.id

    def reserve(t: int, i: int) -> None:
        with session_scope(engine) as session:
            pre_encumber(session, KEY, "12.34", document_type="spending-request",
                         document_no=f"{tag}-R-{t}-{i}", actor="bench")

    def insert(t: int, i: int) -> None:
        with session_scope(engine) as session:
            session.add(JournalEntry(line_id=line_id, bucket="pre_encumbrance", amount_fen=1234,
                                     document_type="spending-request", document_no=f"{tag}-B-{t}-{i}",
                                     actor="bench", effective_on=hospital_today()))

    warm = max(2, per_thread // 10)
    run_threads(threads, warm, lambda t, i: reserve(t, i + 10_000_000))
    run_threads(threads, warm, lambda t, i: insert(t, i + 10_000_000))
    total = threads * per_thread
    project = total / run_threads(threads, per_thread, reserve)
    baseline = total / run_threads(threads, per_thread, insert)
    return project, baseline


def report(name: str, threads: int, per_thread: int, project: float, baseline: float) -> None:
    print(f"{name:<11} {threads} threads × {per_thread:<4} reservations: {project:8.0f}/s   "
          f"baseline plain inserts: {baseline:8.0f}/s   ratio {project / baseline:5.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (smoke test)")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--per-thread", type=int, default=None)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    per_thread = args.per_thread or (20 if args.quick else 150)
    logging.disable(logging.WARNING)

    print(f"budget reservations against one line ({'quick' if args.quick else 'full'} run)")
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="smartfin-bench-") as tmp:
            engine = make_engine(f"sqlite:///{tmp}/bench.db")
            project, baseline = measure(engine, args.threads, per_thread, "s")
            engine.dispose()
        report("SQLite", args.threads, per_thread, project, baseline)
    if args.db in ("postgres", "both"):
        # A throwaway cluster with fsync off: both figures are measured on it, so the ratio holds.
        with LocalPostgres() as server:
            engine = make_engine(server.url)
            project, baseline = measure(engine, args.threads, per_thread, "p")
            engine.dispose()
        report("PostgreSQL", args.threads, per_thread, project, baseline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
