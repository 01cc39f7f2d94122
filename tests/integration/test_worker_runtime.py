"""The worker runtime against the real engine: failures, BPMN errors, typed variables, locks, stopping."""

from __future__ import annotations

import itertools
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from smartfin.camunda.client import EngineClient
from smartfin.camunda.deploy import collect_models, deploy
from smartfin.camunda.runtime import BusinessError, Job, TaskContextFilter, TopicRegistry, Worker, task_context
from smartfin.kernel.settings import PROJECT_ROOT, get_settings
from tests.support.engine import process_ended, wait_for

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def probe(camunda: EngineClient) -> EngineClient:
    deploy(camunda, collect_models(PROJECT_ROOT / "tests", ["support"]), name="smartfin-tests")
    return camunda


@pytest.fixture
def run_worker() -> Iterator[Any]:
    started: list[tuple[Worker, threading.Thread]] = []

    def start(registry: TopicRegistry, **options: Any) -> Worker:
        worker = Worker(registry, worker_id=f"probe-{len(started)}-{time.monotonic_ns()}", **options)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        started.append((worker, thread))
        return worker

    yield start
    for worker, thread in started:
        worker.stop()
        thread.join(30)


def start_probe(engine: EngineClient, scenario: str, key: str) -> str:
    return str(engine.start_process("runtime-probe", key, {"scenario": scenario})["id"])


def external_task(engine: EngineClient, pid: str) -> dict[str, Any] | None:
    tasks = engine.get("/external-task", processInstanceId=pid)
    return tasks[0] if tasks else None


def test_failing_handler_is_retried_with_backoff_and_ends_in_an_incident(probe, run_worker):
    attempts: list[float] = []
    registry = TopicRegistry()

    @registry.topic("probe-fail", retries=3)
    def fail(job: Job) -> None:
        attempts.append(time.monotonic())
        raise RuntimeError("ledger unavailable")

    run_worker(registry)
    pid = start_probe(probe, "fail", "PROBE-FAIL-1")
    incidents = wait_for(lambda: probe.incidents(pid), 30, message="an incident")
    assert incidents[0]["incidentType"] == "failedExternalTask"
    assert "ledger unavailable" in incidents[0]["incidentMessage"]
    assert len(attempts) == 3
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    backoff = get_settings().worker_retry_backoff_ms / 1000
    assert gaps[0] >= backoff * 0.9 and gaps[1] >= 2 * backoff * 0.9, "exponential backoff between attempts"
    task = external_task(probe, pid)
    assert task is not None and task["retries"] == 0
    details = probe.request("GET", f"/external-task/{task['id']}/errorDetails")
    assert b"RuntimeError" in details and b"ledger unavailable" in details


def test_business_error_is_caught_by_the_boundary_event(probe, run_worker):
    registry = TopicRegistry()

    @registry.topic("probe-error")
    def reject(job: Job) -> None:
        raise BusinessError("PROBE_REJECTED", "not allowed by policy", {"rejectedBy": "rule-7"})

    run_worker(registry)
    pid = start_probe(probe, "error", "PROBE-ERROR-1")
    process_ended(probe, pid)
    activities = {a["activityId"] for a in probe.historic_activities(pid)}
    assert "probeRejected" in activities and "probeDone" not in activities
    variables = probe.historic_variables(pid)
    assert variables["rejection"] == "not allowed by policy"
    assert variables["rejectedBy"] == "rule-7"


def test_structured_results_are_typed_json_and_money_stays_exact(probe, run_worker):
    registry = TopicRegistry()

    @registry.topic("probe-json")
    def structured(job: Job) -> dict[str, Any]:
        return {"summary": {"total": Decimal("1234.50"), "lines": [{"value": "a dict with a value key"}]},
                "tax": Decimal("0.10"), "count": 3, "ok": True}

    run_worker(registry)
    pid = start_probe(probe, "json", "PROBE-JSON-1")
    process_ended(probe, pid)
    rows = {row["name"]: row for row in probe.get("/history/variable-instance", processInstanceId=pid,
                                                    deserializeValues="false")}
    assert rows["summary"]["type"] == "Json"
    assert '"total": "1234.50"' in rows["summary"]["value"]
    assert '"value": "a dict with a value key"' in rows["summary"]["value"]
    assert (rows["tax"]["type"], rows["tax"]["value"]) == ("String", "0.10")
    assert (rows["count"]["type"], rows["ok"]["type"]) == ("Integer", "Boolean")


def test_long_handler_keeps_its_lock(probe, run_worker):
    registry = TopicRegistry()
    released = threading.Event()

    @registry.topic("probe-slow", lock_ms=1000)
    def slow(job: Job) -> dict[str, Any]:
        released.wait(15)
        return {"done": True}

    run_worker(registry)
    pid = start_probe(probe, "slow", "PROBE-LOCK-1")
    wait_for(lambda: (external_task(probe, pid) or {}).get("workerId"), message="task locked")
    time.sleep(2.5)  # well past the 1 s lock: without extension another worker could take it now
    stolen = probe.post("/external-task/fetchAndLock", {
        "workerId": "intruder", "maxTasks": 1, "topics": [{"topicName": "probe-slow", "lockDuration": 1000}]})
    assert stolen == [], "the task in hand was still locked"
    released.set()
    process_ended(probe, pid)


def test_topics_are_served_concurrently(probe, run_worker):
    registry = TopicRegistry()
    spans: dict[str, tuple[float, float]] = {}

    def sleeper(job: Job) -> dict[str, Any]:
        began = time.monotonic()
        time.sleep(1.5)
        spans[job.topic] = (began, time.monotonic())
        return {}

    registry.topic("probe-slow")(sleeper)
    registry.topic("probe-slow-other")(sleeper)
    run_worker(registry, max_concurrency=4)
    first = start_probe(probe, "slow", "PROBE-CONC-1")
    second = start_probe(probe, "slow-other", "PROBE-CONC-2")
    process_ended(probe, first)
    process_ended(probe, second)
    (a_start, a_end), (b_start, b_end) = spans["probe-slow"], spans["probe-slow-other"]
    assert a_start < b_end and b_start < a_end, "the two handlers overlapped in time"


def test_log_lines_carry_topic_business_key_and_task_id(probe, run_worker, caplog):
    registry = TopicRegistry()
    seen: dict[str, str] = {}

    @registry.topic("probe-json")
    def logs(job: Job) -> dict[str, Any]:
        seen.update(task_context.get() or {})
        logging.getLogger("smartfin.probe").info("handling")
        return {}

    caplog.handler.addFilter(TaskContextFilter())
    with caplog.at_level(logging.INFO):
        run_worker(registry)
        pid = start_probe(probe, "json", "PROBE-LOG-1")
        process_ended(probe, pid)
    record = next(r for r in caplog.records if r.name == "smartfin.probe")
    assert (record.topic, record.business_key) == ("probe-json", "PROBE-LOG-1")
    assert record.task_id == seen["task_id"] and record.task_id != "-"


def _worker_process(tmp: Path, *, slow_seconds: float, grace: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PROBE_SLOW_SECONDS": str(slow_seconds), "PYTHONPATH": str(PROJECT_ROOT)}
    log = open(tmp / "worker.log", "wb")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        [sys.executable, "-m", "smartfin.app.cli", "worker", "--registry", "tests.support.probe_worker:slow_registry",
         "--grace", str(grace)], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def test_sigterm_lets_the_task_in_hand_finish(probe, tmp_path):
    worker = _worker_process(tmp_path, slow_seconds=3, grace=30)
    try:
        pid = start_probe(probe, "slow", "PROBE-TERM-1")
        wait_for(lambda: (external_task(probe, pid) or {}).get("workerId"), message="task locked by the worker")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    finally:
        worker.kill()
    process_ended(probe, pid, timeout=5)
    assert probe.historic_variables(pid)["handledBy"] == worker.pid
    assert "stopped (1 completed" in (tmp_path / "worker.log").read_text()


def test_sigterm_after_the_grace_period_releases_the_task_for_another_worker(probe, tmp_path):
    worker = _worker_process(tmp_path, slow_seconds=60, grace=1)
    try:
        pid = start_probe(probe, "slow", "PROBE-TERM-2")
        wait_for(lambda: (external_task(probe, pid) or {}).get("workerId"), message="task locked by the worker")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        worker.kill()
    task = external_task(probe, pid)
    assert task is not None and task["workerId"] is None, "released, not left locked"
    taken = probe.post("/external-task/fetchAndLock", {
        "workerId": "successor", "maxTasks": 1, "topics": [{"topicName": "probe-slow", "lockDuration": 10000}]})
    assert [t["processInstanceId"] for t in taken] == [pid]
    probe.post(f"/external-task/{taken[0]['id']}/complete", {"workerId": "successor"})
    process_ended(probe, pid)
