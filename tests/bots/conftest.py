"""Stand-in portals for the bot tests, started once per session on free ports, and one shared runtime."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bots_fixtures import ADMIN_TOKEN, BANK_USER, ERP_USER, admin, portal_environ, quick_runtime

from bots.runtime import BotRuntime
from portals.config import PortalConfig
from portals.runner import RunningPortals, start_portals
from smartfin.kernel.settings import Settings
from tests.support.settings import environment


@pytest.fixture(scope="session")
def bot_portals(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPortals]:
    config = PortalConfig(data_dir=tmp_path_factory.mktemp("bot-portals"), admin_token=ADMIN_TOKEN,
                          users={"erp": [ERP_USER], "bank": [BANK_USER]}, erp_search_delay_seconds=0.05)
    running = start_portals(config)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def bot_settings(bot_portals: RunningPortals) -> Iterator[Settings]:
    with environment(portal_environ(bot_portals)) as settings:
        yield settings


@pytest.fixture(scope="session")
def runtime(bot_settings: Settings) -> Iterator[BotRuntime]:
    """One browser for the session's ordinary bot tests."""
    shared = quick_runtime(bot_settings)
    yield shared
    shared.close()


@pytest.fixture(autouse=True)
def _faults_off(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "bot_portals" in request.fixturenames:
        running: RunningPortals = request.getfixturevalue("bot_portals")
        for name in running.urls:
            admin(running, name, "POST", "/__admin/faults",
                  {"reset": True, "idle_timeout_seconds": 300 if name != "tax" else 600})
