"""Shared fixtures: the three portals started once on free ports with test accounts and a test token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from portal_http import ADMIN_TOKEN, BANK_USER, ERP_USER, admin, login, new_client

from portals.config import PortalConfig
from portals.runner import RunningPortals, start_portals


@pytest.fixture(scope="session")
def portals(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPortals]:
    data_dir: Path = tmp_path_factory.mktemp("portals")
    config = PortalConfig(
        data_dir=data_dir,
        admin_token=ADMIN_TOKEN,
        users={"erp": [ERP_USER], "bank": [BANK_USER]},
        erp_search_delay_seconds=0.05,
    )
    running = start_portals(config)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _clean_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts and ends with all faults off (and default timeouts)."""
    yield
    if "portals" in request.fixturenames:
        running: RunningPortals = request.getfixturevalue("portals")
        for name in running.urls:
            body = {"reset": True, "idle_timeout_seconds": 300 if name != "tax" else 600}
            admin(running, name, "POST", "/__admin/faults", body).raise_for_status()
        admin(running, "erp", "POST", "/__admin/faults", {"search_delay_seconds": 0.05}).raise_for_status()


@pytest.fixture
def erp(portals: RunningPortals) -> Iterator[httpx.Client]:
    with new_client(portals.urls["erp"]) as client:
        assert login(client, ERP_USER).status_code == 303
        yield client


@pytest.fixture
def bank(portals: RunningPortals) -> Iterator[httpx.Client]:
    with new_client(portals.urls["bank"]) as client:
        assert login(client, BANK_USER).status_code == 303
        yield client


@pytest.fixture
def tax(portals: RunningPortals) -> Iterator[httpx.Client]:
    with new_client(portals.urls["tax"]) as client:
        yield client


@pytest.fixture
def anon() -> Iterator[httpx.Client]:
    """A client with no session, for requests a stranger (or a fresh bot) would make."""
    with new_client() as client:
        yield client
