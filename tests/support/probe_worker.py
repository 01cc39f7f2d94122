"""Registries for exercising the worker runtime, also run as a separate worker process by the tests."""

from __future__ import annotations

import os
import time
from typing import Any

from smartfin.camunda.runtime import Job, TopicRegistry


def slow_registry() -> TopicRegistry:
    """``probe-slow`` takes PROBE_SLOW_SECONDS (default 2) and then completes."""
    registry = TopicRegistry()

    @registry.topic("probe-slow", lock_ms=int(os.environ.get("PROBE_LOCK_MS", "60000")))
    def slow(job: Job) -> dict[str, Any]:
        time.sleep(float(os.environ.get("PROBE_SLOW_SECONDS", "2")))
        return {"handledBy": os.getpid()}

    return registry
