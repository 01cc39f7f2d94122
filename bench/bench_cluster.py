"""The cost of clustering: two engine nodes behind HAProxy vs one node, both on the same PostgreSQL.

In one run, on one cluster (`up --profile cluster`'s own code: PostgreSQL, two nodes, HAProxy), the same
work goes alternately through the balancer (both nodes sharing it) and straight to engine-1 (one node
on PostgreSQL; engine-2 stays up but gets no requests):
- external-task completions per second of the worker runtime (bench_worker_throughput's round);
- submit-to-task-visible latency of a spending request with the product's workers (bench_submit_latency's
  path), p50/p95.
On a 2-core machine a cluster cannot be faster; the ratios show what clustering costs and must stay
≥ 0.7 × the single node. The issue's load of 200 requests is the default here (`--quick`: 40).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_submit_latency import percentile, wait_task
from bench.bench_worker_throughput import runtime_round, start_instances
from bench.harness import BENCH_DIR, import_bench_budget, isolated_cluster

TARGET_RATIO = 0.7


def latencies(engine, count: int, offset: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Submit ``count`` spending requests through ``engine`` with the product's workers on the same engine."""
    from smartfin.app.wiring import product_registry
    from smartfin.camunda.runtime import Worker
    from smartfin.processes.spending.requests import SpendingRequest, submit_spending_request
    from smartfin.store.db import session_scope

    worker = Worker(product_registry(), engine=engine, worker_id=f"bench-cluster-{offset}", grace_s=5)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    measured: list[float] = []
    try:
        for i in range(count):
            began = time.perf_counter()
            number = submit_spending_request({
                "department": "BENCH", "category": "materials", "amount": f"{100 + offset + i}.00",
                "fundingSource": "fiscal", "requester": "zhang.wei", "payee": f"供应商{offset + i}",
                "purpose": "cluster latency benchmark"}, engine=engine)
            with session_scope() as session:
                row = session.get(SpendingRequest, number)
                assert row is not None and row.process_instance_id
                pid = row.process_instance_id
            wait_task(engine, pid)
            measured.append(time.perf_counter() - began)
    finally:
        worker.stop()
        thread.join(30)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--per-round", type=int, default=300)
    parser.add_argument("--requests", type=int, default=200, help="spending requests per side")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 150 tasks, 40 requests per side")
    args = parser.parse_args()
    rounds, per_round, requests = (2, 150, 40) if args.quick else (args.rounds, args.per_round, args.requests)
    import logging
    logging.basicConfig(level=logging.WARNING)

    times = {"cluster": 0.0, "single": 0.0}
    waits: dict[str, list[float]] = {"cluster": [], "single": []}
    with isolated_cluster([str(BENCH_DIR / "throughput.bpmn")]) as (settings, balanced, single):
        # both sides poll as the cluster profile's workers do (SMARTFIN_CLUSTER_WORKER_LONG_POLL_MS)
        os.environ["SMARTFIN_WORKER_LONG_POLL_MS"] = str(settings.cluster.worker_long_poll_ms)
        from smartfin.kernel.settings import get_settings

        get_settings.cache_clear()
        clients = {"cluster": balanced, "single": single}
        for number in range(rounds):
            order = ["cluster", "single"] if number % 2 == 0 else ["single", "cluster"]
            for side in order:
                start_instances(clients[side], "bench-runtime", per_round)
                times[side] += runtime_round(clients[side], per_round, args.concurrency)
            print(f"  round {number + 1}: cluster {per_round * (number + 1) / times['cluster']:6.1f}/s, "
                  f"single {per_round * (number + 1) / times['single']:6.1f}/s (running totals)", flush=True)
        import_bench_budget("BENCH", "30218")
        half = requests // 2
        for number, side in enumerate(["cluster", "single", "single", "cluster"]):
            waits[side] += latencies(clients[side], half if number < 2 else requests - half, number * requests)

    total = rounds * per_round
    cluster_rate, single_rate = total / times["cluster"], total / times["single"]
    print()
    print(f"external-task completions per second ({total} tasks per side, PostgreSQL, same run)")
    print(f"  cluster (2 nodes behind HAProxy):  {cluster_rate:8.1f} /s")
    print(f"  single node (engine-1 directly):   {single_rate:8.1f} /s")
    print(f"  ratio cluster / single:            {cluster_rate / single_rate:8.2f}  (target ≥ {TARGET_RATIO})")
    print()
    print(f"submit-to-task-visible latency over {requests} spending requests per side (PostgreSQL, same run)")
    for side in ("cluster", "single"):
        print(f"  {side:8} p50 {statistics.median(waits[side]) * 1000:7.1f} ms   "
              f"p95 {percentile(waits[side], 0.95) * 1000:7.1f} ms")
    ratio = statistics.median(waits["single"]) / statistics.median(waits["cluster"])
    print(f"  ratio single / cluster (p50, higher is better): {ratio:5.2f}  (target ≥ {TARGET_RATIO})")


if __name__ == "__main__":
    main()
