"""The flows' own background services, added to ``smartfin up/down/status/logs`` as a plugin.

The core package never imports ``flows``; it finds these entries through the ``smartfin.services``
entry point in pyproject.toml, after its own services (engine, portals, worker).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

import requests

from flows.deployments import prefect_environment, server_environment
from smartfin.app.stack import StackEntry
from smartfin.kernel.background import ManagedService
from smartfin.kernel.settings import Settings, get_settings


def prefect_service(settings: Settings) -> ManagedService:
    """The local Prefect server (API + UI), on SQLite under var/prefect/ unless configured otherwise."""
    flow_settings = get_settings().flows
    flow_settings.effective_prefect_home.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
            "--port", str(flow_settings.prefect_port)]
    api = flow_settings.effective_prefect_api_url

    def healthy() -> bool:
        return requests.get(api.rstrip("/") + "/health", timeout=2).ok

    return ManagedService(name="prefect", argv=argv, settings=settings, healthy=healthy,
                          env=server_environment(flow_settings))


def stack_flow_environment(settings: Settings, environ: Mapping[str, str]) -> dict[str, str]:
    """What the served flows get from `up` unless configured: the engine runs beside them, so insurance-monthly
    opens the month's appeals; with the stand-in portals it downloads the fund's files from the stand-in."""
    defaults = {"SMARTFIN_INSURANCE_APPEALS": "true"}
    if settings.stand_in_portals:
        defaults["SMARTFIN_INSURANCE_SOURCE"] = "portal"
    return {name: value for name, value in defaults.items() if name not in environ}


def flows_service(settings: Settings) -> ManagedService:
    """The scheduled flows served from one process (`smartfin flows serve`)."""
    return ManagedService(name="flows", argv=[sys.executable, "-m", "smartfin.app.cli", "flows", "serve"],
                          settings=settings, healthy=lambda: True,
                          env={**prefect_environment(), **stack_flow_environment(settings, os.environ)})


def _local_prefect(settings: Settings) -> bool:
    """Started by `up` only when no production Prefect server is configured."""
    return get_settings().flows.prefect_api_url is None


STACK_ENTRIES = [
    StackEntry("prefect", prefect_service, _local_prefect, lambda s: 120.0),
    StackEntry("flows", flows_service, lambda s: True, lambda s: 10.0),
]
