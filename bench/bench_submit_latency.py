"""Submit-to-task-visible latency of a spending request, p50/p95 over 200 requests.

The project figure is the whole path a requester waits for: validation, the project's tables, the
engine start, the register-request worker (record, budget check, approval chain fixed from the record),
the routing table, until the first approval task is visible in a task query. The same-run baseline
starts a bare process whose first step is the user task (engine alone, no workers). Target: p95 < 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BENCH_DIR, import_bench_budget, isolated_engine


def wait_task(engine, pid: str) -> None:  # type: ignore[no-untyped-def]
    while not engine.tasks(processInstanceId=pid):
        time.sleep(0.005)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="50 requests")
    args = parser.parse_args()
    count = 50 if args.quick else args.requests
    import logging
    logging.basicConfig(level=logging.WARNING)

    with isolated_engine([str(BENCH_DIR / "user-task.bpmn")]) as engine:
        from smartfin.app.wiring import product_registry
        from smartfin.camunda.runtime import Worker
        from smartfin.processes.spending.requests import SpendingRequest, submit_spending_request
        from smartfin.store.db import session_scope

        import_bench_budget("BENCH", "30218")
        worker = Worker(product_registry(), worker_id="bench-latency", grace_s=5)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()

        baseline: list[float] = []
        for i in range(count):
            began = time.perf_counter()
            pid = engine.start_process("bench-user-task", f"U-{i}", {})["id"]
            wait_task(engine, pid)
            baseline.append(time.perf_counter() - began)

        project: list[float] = []
        for i in range(count):
            began = time.perf_counter()
            number = submit_spending_request({
                "department": "BENCH", "category": "materials", "amount": f"{100 + i}.00",
                "fundingSource": "fiscal", "requester": "zhang.wei", "payee": f"供应商{i}",
                "purpose": "latency benchmark"}, engine=engine)
            with session_scope() as session:
                pid = session.get(SpendingRequest, number).process_instance_id
            wait_task(engine, pid)
            project.append(time.perf_counter() - began)
        worker.stop()
        thread.join(30)

    def show(name: str, values: list[float]) -> None:
        print(f"  {name:44} p50 {statistics.median(values) * 1000:7.1f} ms   "
              f"p95 {percentile(values, 0.95) * 1000:7.1f} ms")

    print()
    print(f"submit-to-task-visible latency over {count} requests (H2, SQLite, same run)")
    show("spending request (CLI path + workers + DMN)", project)
    show("baseline: bare start to a user task", baseline)
    ratio = percentile(project, 0.95) / percentile(baseline, 0.95)
    print(f"  p95 ratio project / baseline: {ratio:.1f}   (target: project p95 < 1000 ms)")


if __name__ == "__main__":
    main()
