"""The external-task worker runtime, built on ``camunda-external-task-client-python3``.

The library's client fetches and reports tasks, but leaves the gaps a production worker falls into: a
handler that raises is never reported (the task waits for its lock to expire and no incident appears),
dicts are sent untyped, there is no lock extension, no timeout on engine calls and no way to stop.
This runtime keeps the library's client and task objects and closes those gaps:

- a handler that raises is reported as a failure with the remaining retries and an exponential backoff;
  at zero retries the engine raises an incident (visible in Cockpit);
- ``BusinessError(code, message)`` becomes a BPMN error for a boundary event in the model;
- variables are written typed (``smartfin.camunda.variables``): structures as Json, money as strings;
- one keeper thread extends the lock of every task still in hand;
- SIGTERM/SIGINT stop fetching, let tasks in hand finish within a grace period, and unlock the rest so
  another worker takes them at once: a task is finished or released, never lost;
- many topics are served by one fetch loop and a pool of handler threads; every log line carries the
  topic, business key and task id.
"""

from __future__ import annotations

import contextvars
import logging
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from camunda.client.external_task_client import ExternalTaskClient
from camunda.external_task.external_task import ExternalTask

from smartfin.camunda.client import EngineClient, EngineError, EngineRequestError, EngineUnreachable
from smartfin.camunda.variables import decode_variables, encode_variables
from smartfin.kernel.settings import Settings, get_settings

log = logging.getLogger("smartfin.worker")

MAX_ERROR_MESSAGE = 666  # the engine's column limit for an external task's error message
MAX_BACKOFF_MS = 10 * 60 * 1000
FETCH_BATCH_WAIT_S = 0.05
_MISSING = object()

task_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("task_context",
                                                                                    default=None)


class BusinessError(Exception):
    """A business outcome the model handles (a BPMN error), never retried.

    ``code`` must match an error caught by a boundary event: an uncaught code silently ends the
    activity and the process continues, so every code a model uses has a test.
    """

    def __init__(self, code: str, message: str, variables: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.variables = variables or {}


class MissingVariable(KeyError):
    """A handler asked for a process variable the task does not carry."""


@dataclass
class Job:
    """What a handler sees of one locked external task."""

    task: ExternalTask
    variables: dict[str, Any]
    worker: Worker | None = None

    @property
    def id(self) -> str:
        return str(self.task.get_task_id())

    @property
    def topic(self) -> str:
        return str(self.task.get_topic_name())

    @property
    def business_key(self) -> str | None:
        return self.task.get_business_key()

    @property
    def process_instance_id(self) -> str:
        return str(self.task.get_process_instance_id())

    @property
    def activity_id(self) -> str:
        return str(self.task.get_activity_id())

    @property
    def retries(self) -> int | None:
        return self.task._context.get("retries")

    def var(self, name: str, default: Any = _MISSING) -> Any:
        """A process variable; a missing one without default is a clear error, not a None."""
        if name in self.variables and self.variables[name] is not None:
            return self.variables[name]
        if default is _MISSING:
            raise MissingVariable(f"process variable {name!r} is missing on task {self.id} "
                                  f"({self.topic}, business key {self.business_key})")
        return default

    def extension(self, name: str, default: str | None = None) -> str | None:
        return self.task.get_extension_properties().get(name, default)


Handler = Callable[[Job], dict[str, Any] | None]


@dataclass(frozen=True)
class Topic:
    """A topic subscription: the handler and how its tasks are fetched."""

    name: str
    handler: Handler
    variables: tuple[str, ...] | None = None
    lock_ms: int | None = None
    retries: int | None = None


@dataclass
class TopicRegistry:
    """The one map from topic name to handler; adapters register with ``@registry.topic(...)``."""

    topics: dict[str, Topic] = field(default_factory=dict)

    def topic(self, name: str, *, variables: list[str] | None = None, lock_ms: int | None = None,
              retries: int | None = None) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if name in self.topics:
                raise ValueError(f"topic {name!r} is already handled by {self.topics[name].handler}")
            self.topics[name] = Topic(name, handler, tuple(variables) if variables else None,
                                      lock_ms, retries)
            return handler
        return register

    def include(self, other: TopicRegistry) -> TopicRegistry:
        for topic in other.topics.values():
            if topic.name in self.topics:
                raise ValueError(f"topic {topic.name!r} registered twice")
            self.topics[topic.name] = topic
        return self

    def only(self, names: list[str]) -> TopicRegistry:
        unknown = sorted(set(names) - set(self.topics))
        if unknown:
            raise ValueError(f"unknown topics {unknown}; known: {sorted(self.topics)}")
        return TopicRegistry({n: self.topics[n] for n in names})

    def __iter__(self) -> Iterator[Topic]:
        return iter(self.topics.values())

    def __len__(self) -> int:
        return len(self.topics)


class EngineTaskClient(ExternalTaskClient):
    """The library's client, sending through one shared session, typed, with timeouts."""

    def __init__(self, worker_id: str, engine: EngineClient, config: dict[str, Any] | None = None) -> None:
        super().__init__(worker_id, engine.base_url, config or {})
        self.engine = engine

    def fetch(self, topics: list[Topic], max_tasks: int, default_lock_ms: int,
              long_poll_ms: int) -> list[dict[str, Any]]:
        body = {
            "workerId": str(self.worker_id),
            "maxTasks": max_tasks,
            "usePriority": True,
            "asyncResponseTimeout": long_poll_ms,
            "topics": [
                {"topicName": t.name, "lockDuration": t.lock_ms or default_lock_ms,
                 "includeExtensionProperties": True, "deserializeValues": False,
                 **({"variables": list(t.variables)} if t.variables else {})}
                for t in topics
            ],
        }
        return self.engine.request("POST", "/external-task/fetchAndLock", json=body,
                                   timeout=long_poll_ms / 1000 + 10) or []

    def complete(self, task_id: str, global_variables: dict[str, Any] | None,
                 local_variables: dict[str, Any] | None = None) -> bool:
        self.engine.post(f"/external-task/{task_id}/complete", {
            "workerId": self.worker_id,
            "variables": encode_variables(global_variables),
            "localVariables": encode_variables(local_variables),
        })
        return True

    def failure(self, task_id: str, error_message: str, error_details: str | None, retries: int,
                retry_timeout: int) -> bool:
        self.engine.post(f"/external-task/{task_id}/failure", {
            "workerId": self.worker_id, "errorMessage": error_message[:MAX_ERROR_MESSAGE],
            "errorDetails": error_details, "retries": retries, "retryTimeout": retry_timeout,
        })
        return True

    def bpmn_failure(self, task_id: str, error_code: str, error_message: str,
                     variables: dict[str, Any] | None = None) -> bool:
        self.engine.post(f"/external-task/{task_id}/bpmnError", {
            "workerId": self.worker_id, "errorCode": error_code,
            "errorMessage": error_message[:MAX_ERROR_MESSAGE],
            "variables": encode_variables(variables),
        })
        return True

    def extend_lock(self, task_id: str, new_duration_ms: int) -> None:
        self.engine.post(f"/external-task/{task_id}/extendLock",
                         {"workerId": self.worker_id, "newDuration": new_duration_ms})

    def unlock(self, task_id: str) -> None:
        self.engine.post(f"/external-task/{task_id}/unlock")


@dataclass
class _InHand:
    job: Job
    lock_ms: int
    locked_until: float
    lost: bool = False


class Worker:
    """Serves every topic of a registry until stopped (by ``stop()`` or SIGTERM/SIGINT)."""

    def __init__(self, registry: TopicRegistry, engine: EngineClient | None = None,
                 settings: Settings | None = None, *, worker_id: str | None = None,
                 max_concurrency: int | None = None, grace_s: float = 30.0) -> None:
        if not len(registry):
            raise ValueError("the worker has no topics to serve")
        self.settings = settings or get_settings()
        self.registry = registry
        self.engine = engine or EngineClient.from_settings(self.settings)
        self.worker_id = worker_id or self.settings.worker_id
        self.client = EngineTaskClient(self.worker_id, self.engine)
        self.max_concurrency = max_concurrency or self.settings.worker_max_tasks
        self.grace_s = grace_s
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._slots = threading.Semaphore(self.max_concurrency)
        self._in_hand: dict[str, _InHand] = {}
        self._lock = threading.Lock()
        self.completed = 0
        self.failed = 0

    # -- lifecycle -------------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT ask for a graceful stop (main thread only)."""
        def on_signal(signum: int, _frame: object) -> None:
            log.info("received %s: stopping after the tasks in hand", signal.Signals(signum).name)
            self._stop.set()
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def stop(self) -> None:
        self._stop.set()

    def wait_stopped(self, timeout: float | None = None) -> bool:
        return self._stopped.wait(timeout)

    def run(self) -> None:
        """Fetch and handle tasks until stopped; returns after the graceful shutdown."""
        topics = list(self.registry)
        log.info("worker %s serving %s (up to %d at once)", self.worker_id,
                 ", ".join(t.name for t in topics), self.max_concurrency)
        keeper = threading.Thread(target=self._keep_locks, name="lock-keeper", daemon=True)
        keeper.start()
        backoff = 1.0
        try:
            while not self._stop.is_set():
                free = self._acquire_slots()
                if free == 0:
                    continue
                try:
                    tasks = self.client.fetch(topics, free, self.settings.worker_lock_ms,
                                              self.settings.worker_long_poll_ms)
                    backoff = 1.0
                except EngineError as exc:
                    self._release_slots(free)
                    log.warning("fetching tasks failed: %s; retrying in %.0f s", exc, backoff)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                self._release_slots(free - len(tasks))
                for raw in tasks:
                    if self._stop.is_set():
                        self._release(raw["id"], "worker stopping before the task started")
                        self._slots.release()
                        continue
                    self._dispatch(raw, topics)
        finally:
            self._shutdown()

    def _acquire_slots(self) -> int:
        """Wait for a free handler slot, then gather more before fetching.

        When busy, slots free up one by one; fetching for each single slot would cost one fetch per task.
        So the loop waits up to ``FETCH_BATCH_WAIT_S`` until half the slots are free, and fetches them
        in one call. An idle worker has all slots free and fetches at once.
        """
        if not self._slots.acquire(timeout=0.5):
            return 0
        taken = 1
        enough = max(1, self.max_concurrency // 2)
        deadline = time.monotonic() + FETCH_BATCH_WAIT_S
        while taken < self.max_concurrency:
            if self._slots.acquire(blocking=False):
                taken += 1
            elif taken >= enough or time.monotonic() >= deadline or self._stop.is_set():
                break
            else:
                time.sleep(0.002)
        return taken

    def _release_slots(self, count: int) -> None:
        for _ in range(max(0, count)):
            self._slots.release()

    def _shutdown(self) -> None:
        deadline = time.monotonic() + self.grace_s
        while time.monotonic() < deadline:
            with self._lock:
                if not self._in_hand:
                    break
            time.sleep(0.1)
        with self._lock:
            leftovers = list(self._in_hand.values())
        for entry in leftovers:
            entry.lost = True
            self._release(entry.job.id, f"worker stopped after a {self.grace_s:.0f} s grace period")
        self._stopped.set()
        log.info("worker %s stopped (%d completed, %d failed, %d released)", self.worker_id,
                 self.completed, self.failed, len(leftovers))

    def _release(self, task_id: str, reason: str) -> None:
        try:
            self.client.unlock(task_id)
            log.info("released task %s: %s", task_id, reason)
        except EngineError as exc:
            log.error("could not release task %s (%s); it returns when its lock expires", task_id, exc)

    # -- one task --------------------------------------------------------------------------------

    def _dispatch(self, raw: dict[str, Any], topics: list[Topic]) -> None:
        topic = self.registry.topics[raw["topicName"]]
        task = ExternalTask(raw)
        job = Job(task=task, variables=decode_variables(raw.get("variables")), worker=self)
        lock_ms = topic.lock_ms or self.settings.worker_lock_ms
        with self._lock:
            self._in_hand[job.id] = _InHand(job, lock_ms, time.monotonic() + lock_ms / 1000)
        context = {"topic": job.topic, "business_key": job.business_key or "-", "task_id": job.id}
        # Daemon threads (bounded by the slot semaphore): a handler still running after the grace period
        # must not keep the process alive once its task has been released to other workers.
        threading.Thread(target=contextvars.copy_context().run, args=(self._execute, topic, job, context),
                         name=f"task-{job.id[:8]}", daemon=True).start()

    def _execute(self, topic: Topic, job: Job, context: dict[str, str]) -> None:
        token = task_context.set(context)
        try:
            self._handle(topic, job)
        except Exception:  # the runtime itself must never lose a task to its own bug
            log.exception("unexpected error while reporting the task")
        finally:
            with self._lock:
                self._in_hand.pop(job.id, None)
            self._slots.release()
            task_context.reset(token)

    def _handle(self, topic: Topic, job: Job) -> None:
        started = time.monotonic()
        try:
            result = topic.handler(job) or {}
        except BusinessError as error:
            if self._lost(job):
                return
            code, message, variables = error.code, error.message, error.variables
            log.info("business outcome %s: %s", code, message)
            self._report(lambda: self.client.bpmn_failure(job.id, code, message, variables))
            self.completed += 1
            return
        except Exception as exc:
            if self._lost(job):
                return
            self._report_failure(topic, job, exc)
            return
        if self._lost(job):
            return
        self._report(lambda: self.client.complete(job.id, result))
        self.completed += 1
        log.info("completed in %.0f ms", (time.monotonic() - started) * 1000)

    def _lost(self, job: Job) -> bool:
        with self._lock:
            entry = self._in_hand.get(job.id)
        if entry is not None and entry.lost:
            log.warning("task was released during shutdown; its result is discarded")
            return True
        return False

    def _report_failure(self, topic: Topic, job: Job, exc: Exception) -> None:
        configured = topic.retries if topic.retries is not None else self.settings.worker_retries
        remaining = job.retries if job.retries is not None else configured
        left = max(0, remaining - 1)
        attempt = max(1, configured - left)
        backoff = min(self.settings.worker_retry_backoff_ms * 2 ** (attempt - 1), MAX_BACKOFF_MS)
        message = f"{type(exc).__name__}: {exc}"
        details = "".join(traceback.format_exception(exc))
        if left:
            log.warning("failed (attempt %d, %d retries left, next in %d ms): %s",
                        attempt, left, backoff, message)
        else:
            log.error("failed (attempt %d, no retries left: incident): %s", attempt, message)
        self.failed += 1
        self._report(lambda: self.client.failure(job.id, message, details, left, backoff))

    def _report(self, call: Callable[[], object]) -> None:
        """Report an outcome, retrying transient engine errors; a lost lock is logged, not raised."""
        delay = 0.5
        for attempt in range(5):
            try:
                call()
                return
            except EngineUnreachable as exc:
                log.warning("reporting failed (%s), attempt %d", exc, attempt + 1)
            except EngineRequestError as exc:
                if "OptimisticLocking" in exc.kind or "OptimisticLocking" in exc.message:
                    log.info("concurrent update in the engine, retrying the report")
                else:
                    log.error("the engine refused the report: %s", exc)
                    return
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
        log.error("could not report the outcome; the task returns when its lock expires")

    # -- locks -----------------------------------------------------------------------------------

    def _keep_locks(self) -> None:
        """Extend the lock of every task in hand when half of it is used up."""
        while not self._stopped.is_set():
            now = time.monotonic()
            with self._lock:
                due = [e for e in self._in_hand.values()
                       if not e.lost and e.locked_until - now < e.lock_ms / 2000]
            for entry in due:
                try:
                    self.client.extend_lock(entry.job.id, entry.lock_ms)
                    entry.locked_until = time.monotonic() + entry.lock_ms / 1000
                    log.debug("extended lock of task %s by %d ms", entry.job.id, entry.lock_ms)
                except EngineError as exc:
                    log.warning("could not extend the lock of task %s: %s", entry.job.id, exc)
            self._stopped.wait(0.25)


class TaskContextFilter(logging.Filter):
    """Adds topic, business key and task id of the task in hand to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = task_context.get() or {}
        record.topic = context.get("topic", "-")
        record.business_key = context.get("business_key", "-")
        record.task_id = context.get("task_id", "-")
        return True


LOG_FORMAT = ("%(asctime)s %(levelname)s %(name)s "
              "[topic=%(topic)s key=%(business_key)s task=%(task_id)s] %(message)s")


def configure_logging(level: int = logging.INFO) -> None:
    """Log lines for workers carry the task context (used by the CLI and tests)."""
    handler = logging.StreamHandler()
    handler.addFilter(TaskContextFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    logging.getLogger("camunda").setLevel(logging.WARNING)
