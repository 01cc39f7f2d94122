"""Session-wide test setup: an isolated var/ directory, and one real Camunda engine per test session.

Every test run gets its own var/ (SQLite, engine H2 database, logs, secrets) and its own engine port,
so tests never touch a developer's data and two runs never collide. The engine is started once, on the
first test that asks for it, and stopped when the session ends.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

_VAR_DIR = Path(tempfile.mkdtemp(prefix="smartfin-test-var-"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pytest_configure(config: pytest.Config) -> None:
    os.environ["SMARTFIN_VAR_DIR"] = str(_VAR_DIR)
    os.environ.setdefault("SMARTFIN_ENGINE_URL", f"http://127.0.0.1:{_free_port()}")
    os.environ.pop("SMARTFIN_DATABASE_URL", None)
    os.environ["SMARTFIN_WORKER_RETRY_BACKOFF_MS"] = "200"
    os.environ["SMARTFIN_WORKER_LONG_POLL_MS"] = "5000"
    from smartfin.config import get_settings

    get_settings.cache_clear()


@pytest.fixture(scope="session")
def camunda() -> Iterator[object]:
    """The real engine (service account client), with the product's models deployed."""
    from smartfin.config import get_settings
    from smartfin.engine.client import EngineClient
    from smartfin.engine.deploy import deploy
    from smartfin.engine.launcher import start_engine

    settings = get_settings()
    service = start_engine(settings)
    client = EngineClient.from_settings(settings)
    try:
        deploy(client)
        yield client
    finally:
        client.close()
        service.stop()


@pytest.fixture(scope="session")
def workers(camunda: object) -> Iterator[object]:
    """The product's workers, running in this process for the whole session."""
    from smartfin.workers import product_registry
    from smartfin.workers.runtime import Worker

    worker = Worker(product_registry(), worker_id="test-product-worker", grace_s=5)
    thread = threading.Thread(target=worker.run, name="product-worker", daemon=True)
    thread.start()
    yield worker
    worker.stop()
    worker.wait_stopped(30)
