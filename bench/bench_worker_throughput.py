"""External-task completions per second: the worker runtime vs a minimal raw fetchAndLock/complete loop.

Both sides complete tasks of the same shape (an empty handler) on the same engine in the same run. The
machine is shared and noisy, so the two sides alternate in rounds (raw first in odd rounds, runtime first
in even ones) and the figures are totals over all rounds: a burst of load elsewhere hits both.
Targets: runtime ≥ 0.9 × raw, and ≥ 100 completions/s on H2 with 2 cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("SMARTFIN_WORKER_LONG_POLL_MS", "1000")  # a stopped worker returns within 1 s

from bench.harness import BENCH_DIR, isolated_engine


def start_instances(engine, key: str, count: int) -> None:  # type: ignore[no-untyped-def]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: engine.start_process(key, f"{key}-{time.monotonic_ns()}-{i}", {}), range(count)))


def raw_round(engine, count: int, batch: int) -> float:  # type: ignore[no-untyped-def]
    """The minimal client: fetch a batch, complete each task, repeat; one thread, one connection."""
    done = 0
    started = time.perf_counter()
    while done < count:
        tasks = engine.post("/external-task/fetchAndLock", {
            "workerId": "raw", "maxTasks": batch, "asyncResponseTimeout": 1000,
            "topics": [{"topicName": "bench-raw", "lockDuration": 60000}]})
        for task in tasks:
            engine.post(f"/external-task/{task['id']}/complete", {"workerId": "raw"})
            done += 1
    return time.perf_counter() - started


def runtime_round(engine, count: int, concurrency: int) -> float:  # type: ignore[no-untyped-def]
    from smartfin.camunda.runtime import TopicRegistry, Worker

    registry = TopicRegistry()
    handled = threading.Semaphore(0)

    @registry.topic("bench-runtime")
    def handle(job):  # type: ignore[no-untyped-def]
        handled.release()
        return {}

    worker = Worker(registry, engine=engine, worker_id="bench-runtime", max_concurrency=concurrency, grace_s=5)
    thread = threading.Thread(target=worker.run, daemon=True)
    started = time.perf_counter()
    thread.start()
    for _ in range(count):
        handled.acquire()
    while worker.completed < count:  # the last reports reach the engine
        time.sleep(0.002)
    elapsed = time.perf_counter() - started
    worker.stop()
    thread.join(30)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--per-round", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 200")
    args = parser.parse_args()
    rounds, per_round = (2, 200) if args.quick else (args.rounds, args.per_round)
    import logging
    logging.basicConfig(level=logging.WARNING)

    raw_time = runtime_time = 0.0
    with isolated_engine([str(BENCH_DIR / "throughput.bpmn")]) as engine:
        for number in range(rounds):
            start_instances(engine, "bench-raw", per_round)
            start_instances(engine, "bench-runtime", per_round)
            if number % 2 == 0:
                raw = raw_round(engine, per_round, args.concurrency)
                runtime = runtime_round(engine, per_round, args.concurrency)
            else:
                runtime = runtime_round(engine, per_round, args.concurrency)
                raw = raw_round(engine, per_round, args.concurrency)
            raw_time += raw
            runtime_time += runtime
            print(f"  round {number + 1}: raw {per_round / raw:6.1f}/s, runtime {per_round / runtime:6.1f}/s",
                  flush=True)
    total = rounds * per_round
    project, baseline = total / runtime_time, total / raw_time
    print()
    print(f"external-task completions per second ({total} tasks per side, H2, same engine, same run)")
    print(f"  worker runtime (concurrency {args.concurrency}): {project:8.1f} /s")
    print(f"  raw fetchAndLock/complete loop:     {baseline:8.1f} /s")
    print(f"  ratio runtime / raw:                {project / baseline:8.2f}  (target ≥ 0.9, and ≥ 100/s)")


if __name__ == "__main__":
    main()
