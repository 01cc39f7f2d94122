"""Session-wide test setup: an isolated var/ directory, and one of each real service per test session.

Every test run gets its own var/ (SQLite, engine H2 database, logs, secrets), its own engine port and
its own Prefect home, so tests never touch a developer's data or Prefect profile and two runs never
collide. The engine, the Prefect API server, the stand-in portals and PostgreSQL are each started once,
on the first test that asks for them, and stopped when the session ends: one Prefect server for every
suite matters, because global concurrency slots (one session per portal login) live in it.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

_VAR_DIR = Path(tempfile.mkdtemp(prefix="smartfin-test-var-"))
_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="smartfin-test-prefect-"))
PREFECT_STARTUP_TIMEOUT_S = 90  # the server took about 10 s here; generous for a loaded CI machine


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pytest_configure(config: pytest.Config) -> None:
    os.environ["SMARTFIN_VAR_DIR"] = str(_VAR_DIR)
    os.environ.setdefault("SMARTFIN_ENGINE_URL", f"http://127.0.0.1:{_free_port()}")
    os.environ.pop("SMARTFIN_DATABASE_URL", None)
    os.environ["SMARTFIN_WORKER_RETRY_BACKOFF_MS"] = "200"
    os.environ["SMARTFIN_ENGINE_DEMO"] = "true"  # the tests act as the demo users
    os.environ["SMARTFIN_WORKER_LONG_POLL_MS"] = "5000"
    os.environ["PREFECT_HOME"] = str(_PREFECT_HOME)
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = str(PREFECT_STARTUP_TIMEOUT_S)
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.pop("PREFECT_PROFILES_PATH", None)
    from smartfin.kernel.settings import get_settings

    get_settings.cache_clear()


@pytest.fixture(scope="session")
def camunda() -> Iterator[object]:
    """The real engine (service account client), with the product's models deployed.

    ``make test`` runs the tests marked ``engine`` in one process and the rest in another at the same time;
    a test that asks for the engine without the marker would start a second engine in the other process,
    so that is refused there with the test's name.
    """
    if os.environ.get("SMARTFIN_TEST_WITHOUT_ENGINE") == "1":
        pytest.fail("this test uses the engine but is not marked engine (add pytest.mark.engine)", pytrace=False)
    from smartfin.camunda.client import EngineClient
    from smartfin.camunda.deploy import deploy
    from smartfin.camunda.launcher import start_engine
    from smartfin.camunda.tasklist_filters import admin_client, prepare_filters
    from smartfin.kernel.settings import get_settings

    settings = get_settings()
    service = start_engine(settings)
    client = EngineClient.from_settings(settings)
    try:
        deploy(client)
        with closing(admin_client(settings)) as admin:
            prepare_filters(admin)  # as `smartfin up` does
        yield client
    finally:
        client.close()
        service.stop()


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """The session's Prefect API server (SQLite in the session's Prefect home); yields its API URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=PREFECT_STARTUP_TIMEOUT_S):
        url = PREFECT_API_URL.value()
        assert url, "the Prefect test harness did not set PREFECT_API_URL"
        os.environ["PREFECT_API_URL"] = url
        try:
            yield url
        finally:
            os.environ.pop("PREFECT_API_URL", None)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    """One throwaway PostgreSQL cluster (Debian binaries) for every test that needs it; never skipped."""
    from tests.support.localpg import LocalPostgres, PostgresUnavailable

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
    from smartfin.kernel.settings import get_settings

    clerk = PortalUser("kuaiji-session", "session-Secret-7kq", "会计 测试")
    running = start_portals(PortalConfig(data_dir=tmp_path_factory.mktemp("portals"),
                                         admin_token=STAND_IN_ADMIN_TOKEN,
                                         users={"erp": [clerk], "bank": [clerk], "insurance": [clerk]},
                                         erp_search_delay_seconds=0.05))
    os.environ.update({
        "SMARTFIN_ERP_URL": running.urls["erp"], "SMARTFIN_BANK_URL": running.urls["bank"],
        "SMARTFIN_TAX_URL": running.urls["tax"], "SMARTFIN_INSURANCE_URL": running.urls["insurance"],
        "SMARTFIN_ERP_ACCOUNT": clerk.username, "SMARTFIN_ERP_PASSWORD": clerk.password,
        "SMARTFIN_BANK_ACCOUNT": clerk.username, "SMARTFIN_BANK_PASSWORD": clerk.password,
        "SMARTFIN_INSURANCE_ACCOUNT": clerk.username, "SMARTFIN_INSURANCE_PASSWORD": clerk.password,
    })
    get_settings.cache_clear()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def workers(camunda: object, stand_in_portals: object) -> Iterator[object]:
    """The product's workers, running in this process for the whole session, bots pointed at the stand-ins."""
    from smartfin.app.wiring import product_registry
    from smartfin.camunda.runtime import Worker

    worker = Worker(product_registry(), worker_id="test-product-worker", grace_s=5)
    thread = threading.Thread(target=worker.run, name="product-worker", daemon=True)
    thread.start()
    yield worker
    worker.stop()
    worker.wait_stopped(30)
