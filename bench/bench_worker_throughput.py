"""External-task completions per second: the worker runtime vs a minimal raw fetchAndLock/complete loop.

Each process instance has two external tasks in a row: ``bench-raw`` (drained first by the raw loop)
and ``bench-runtime`` (then drained by the runtime). Both sides complete the same number of tasks of
the same shape on the same engine in the same run, with empty handlers, so the difference is the
runtime's own overhead (or gain, from serving several tasks at once).
Targets: runtime ≥ 0.9 × raw, and ≥ 100 completions/s on H2 with 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BENCH_DIR, isolated_engine


def count_open(engine, topic: str) -> int:  # type: ignore[no-untyped-def]
    return int(engine.get("/external-task/count", topicName=topic, notLocked="true")["count"]) + int(
        engine.get("/external-task/count", topicName=topic, locked="true")["count"])


def raw_loop(engine, total: int, batch: int) -> float:  # type: ignore[no-untyped-def]
    """The minimal client: fetch a batch, complete each task, repeat; one thread, one connection."""
    done = 0
    started = time.perf_counter()
    while done < total:
        tasks = engine.post("/external-task/fetchAndLock", {
            "workerId": "raw", "maxTasks": batch, "asyncResponseTimeout": 1000,
            "topics": [{"topicName": "bench-raw", "lockDuration": 60000}]})
        for task in tasks:
            engine.post(f"/external-task/{task['id']}/complete", {"workerId": "raw"})
            done += 1
    return total / (time.perf_counter() - started)


def runtime_loop(engine, total: int, concurrency: int) -> float:  # type: ignore[no-untyped-def]
    from smartfin.workers.runtime import TopicRegistry, Worker

    registry = TopicRegistry()
    completed = threading.Semaphore(0)

    @registry.topic("bench-runtime")
    def handle(job):  # type: ignore[no-untyped-def]
        completed.release()
        return {}

    worker = Worker(registry, worker_id="bench-runtime", max_concurrency=concurrency, grace_s=5)
    started = time.perf_counter()
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    for _ in range(total):
        completed.acquire()
    while count_open(engine, "bench-runtime") > 0:  # the last reports reach the engine
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    worker.stop()
    thread.join(30)
    return total / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="500 tasks")
    args = parser.parse_args()
    total = 500 if args.quick else args.tasks
    import logging
    logging.basicConfig(level=logging.WARNING)

    with isolated_engine([str(BENCH_DIR / "throughput.bpmn")]) as engine:
        print(f"starting {total} process instances …", flush=True)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: engine.start_process("bench-throughput", f"B-{i}", {}), range(total)))
        raw = raw_loop(engine, total, batch=args.concurrency)
        while count_open(engine, "bench-runtime") < total:
            time.sleep(0.1)
        project = runtime_loop(engine, total, args.concurrency)
    print()
    print(f"external-task completions per second ({total} tasks, H2, same engine, same run)")
    print(f"  worker runtime (concurrency {args.concurrency}): {project:8.1f} /s")
    print(f"  raw fetchAndLock/complete loop:     {raw:8.1f} /s")
    print(f"  ratio runtime / raw:                {project / raw:8.2f}  (target ≥ 0.9, and ≥ 100/s)")


if __name__ == "__main__":
    main()
