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
def pg_server() -> Iterator[object]:
    """One throwaway PostgreSQL cluster (Debian binaries) for every test that needs it; never skipped."""
    from smartfin.localpg import LocalPostgres, PostgresUnavailable

    server = LocalPostgres()
    try:
        server.start()
    except PostgresUnavailable as exc:
        pytest.fail(f"PostgreSQL could not be started for the tests: {exc}", pytrace=False)
    yield server
    server.stop()


STAND_IN_ADMIN_TOKEN = "test-session-admin-token"


@pytest.fixture(scope="session")
def stand_in_portals(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The stand-in legacy portals on free ports, and the bots pointed at them through the environment."""
    from portals.auth import PortalUser
    from portals.config import PortalConfig
    from portals.runner import start_portals
    from smartfin.config import get_settings

    clerk = PortalUser("kuaiji-session", "session-Secret-7kq", "会计 测试")
    running = start_portals(PortalConfig(data_dir=tmp_path_factory.mktemp("portals"),
                                         admin_token=STAND_IN_ADMIN_TOKEN,
                                         users={"erp": [clerk], "bank": [clerk]}, erp_search_delay_seconds=0.05))
    os.environ.update({
        "SMARTFIN_ERP_URL": running.urls["erp"], "SMARTFIN_BANK_URL": running.urls["bank"],
        "SMARTFIN_TAX_URL": running.urls["tax"],
        "SMARTFIN_ERP_ACCOUNT": clerk.username, "SMARTFIN_ERP_PASSWORD": clerk.password,
        "SMARTFIN_BANK_ACCOUNT": clerk.username, "SMARTFIN_BANK_PASSWORD": clerk.password,
    })
    get_settings.cache_clear()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def workers(camunda: object, stand_in_portals: object) -> Iterator[object]:
    """The product's workers, running in this process for the whole session, bots pointed at the stand-ins."""
    from smartfin.workers import product_registry
    from smartfin.workers.runtime import Worker

    worker = Worker(product_registry(), worker_id="test-product-worker", grace_s=5)
    thread = threading.Thread(target=worker.run, name="product-worker", daemon=True)
    thread.start()
    yield worker
    worker.stop()
    worker.wait_stopped(30)
