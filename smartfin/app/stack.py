"""The background services of one SmartFin installation, in start order.

`smartfin up/down/status/logs` and the demo walk this list, so a new service (the stand-in portals,
a local Prefect server) is added here once, or by a plugin through the ``smartfin.services`` entry
point, and every command knows it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from importlib.metadata import entry_points
from urllib.parse import urlparse

import requests

from smartfin.app.notify_commands import mail_sink_service, notifier_service, uses_demo_sink
from smartfin.camunda.launcher import engine_service
from smartfin.kernel.background import ManagedService, ServiceError
from smartfin.kernel.settings import Settings


@dataclass(frozen=True)
class StackEntry:
    name: str
    make: Callable[[Settings], ManagedService]
    started_by_up: Callable[[Settings], bool]
    start_timeout: Callable[[Settings], float]


def _port(url: str) -> str:
    return str(urlparse(url).port or 80)


def portals_service(settings: Settings) -> ManagedService:
    """The stand-in legacy portals (ERP, bank, tax verification, insurance settlement) as one background process."""
    argv = [sys.executable, "-m", "portals", "--data-dir", str(settings.var_dir / "portals"),
            "--erp-port", _port(settings.erp_url), "--bank-port", _port(settings.bank_url),
            "--tax-port", _port(settings.tax_url), "--insurance-port", _port(settings.insurance_url)]

    def healthy() -> bool:
        return all(requests.get(url + "/login" if url != settings.tax_url else url + "/", timeout=2).ok
                   for url in (settings.erp_url, settings.bank_url, settings.tax_url, settings.insurance_url))

    return ManagedService(name="portals", argv=argv, settings=settings, healthy=healthy)


def worker_service(settings: Settings) -> ManagedService:
    """All external-task workers as one background process (`smartfin worker`)."""
    return ManagedService(name="worker", argv=[sys.executable, "-m", "smartfin.app.cli", "worker"],
                          settings=settings, healthy=lambda: True)


def upload_page_service(settings: Settings) -> ManagedService:
    """The budget upload page (smartfin.app.budget_upload) where department heads submit their drafts."""
    url = f"http://{settings.upload_page_host}:{settings.upload_page_port}/login"
    return ManagedService(name="upload-page", argv=[sys.executable, "-m", "smartfin.app.budget_upload"],
                          settings=settings, healthy=lambda: requests.get(url, timeout=2).ok)


def dashboard_service(settings: Settings) -> ManagedService:
    """The finance dashboard (smartfin.app.dashboard): budget execution, queues, exceptions, cash and cost."""
    url = f"http://{settings.dashboard_host}:{settings.dashboard_port}/login"
    return ManagedService(name="dashboard", argv=[sys.executable, "-m", "smartfin.app.dashboard"],
                          settings=settings, healthy=lambda: requests.get(url, timeout=2).ok)


CORE_STACK: list[StackEntry] = [
    StackEntry("engine", engine_service, lambda s: True, lambda s: s.engine_start_timeout),
    StackEntry("portals", portals_service, lambda s: s.stand_in_portals, lambda s: 30.0),
    StackEntry("worker", worker_service, lambda s: True, lambda s: 10.0),
    StackEntry("upload-page", upload_page_service, lambda s: True, lambda s: 20.0),
    StackEntry("dashboard", dashboard_service, lambda s: True, lambda s: 20.0),
    StackEntry("mailsink", mail_sink_service, uses_demo_sink, lambda s: 60.0),  # a slow start on a loaded machine
    StackEntry("notifier", notifier_service, lambda s: True, lambda s: 10.0),
]
SERVICE_PLUGINS = "smartfin.services"


def stack() -> list[StackEntry]:
    """The core services, then those of installed plugins (entry point group ``smartfin.services``,
    each a list of ``StackEntry``; the flows package adds the Prefect server and the flow server)."""
    entries = list(CORE_STACK)
    for plugin in sorted(entry_points(group=SERVICE_PLUGINS), key=lambda p: p.name):
        entries.extend(plugin.load())
    return entries


def stack_services(settings: Settings) -> list[ManagedService]:
    return [entry.make(settings) for entry in stack()]


def database_at_head(settings: Settings) -> str:
    """Bring the configured database to the newest schema revision before anything uses it; its revision."""
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from smartfin.store.db import get_engine
    from smartfin.store.migrations import MigrationError, upgrade_to_head

    try:
        return upgrade_to_head(get_engine(settings.effective_database_url))
    except (MigrationError, CommandError, SQLAlchemyError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise ServiceError(f"the database could not be brought to the newest schema: {reason}") from exc


def bring_up(settings: Settings, echo: Callable[[str], None], progress: Callable[[str], None],
             *, workers: bool = True) -> None:
    """Bring the database to the newest schema, then start every service `up` starts, in order; the engine
    gets the models deployed and the Tasklist filters of every role created or updated."""
    from smartfin.camunda.client import EngineClient
    from smartfin.camunda.deploy import deploy
    from smartfin.camunda.launcher import start_engine
    from smartfin.camunda.tasklist_filters import admin_client, prepare_filters
    from smartfin.processes.department_groups import sync_department_groups
    from smartfin.store.db import session_scope

    echo(f"database: at revision {database_at_head(settings)}")
    for entry in stack():
        if not entry.started_by_up(settings) or (entry.name in ("worker", "flows") and not workers):
            continue
        if entry.name == "engine":
            echo(f"starting the engine at {settings.engine_url} …")
            service = start_engine(settings, progress=progress)
            result = deploy(EngineClient.from_settings(settings))
            echo(f"  models: {len(result.deployed)} deployed, {len(result.unchanged)} unchanged")
            with closing(admin_client(settings)) as admin:
                filters = prepare_filters(admin)
                with session_scope() as session:
                    departments = sync_department_groups(session, admin)
            echo(f"  Tasklist filters: {len(filters.created)} created, {len(filters.updated)} updated, "
                 f"{len(filters.unchanged)} unchanged")
            echo(f"  {departments.summary()}")
        else:
            echo(f"starting {entry.name} …")
            service = entry.make(settings)
            service.start(entry.start_timeout(settings), progress=progress)
        echo(f"  {entry.name} running (pid {service.pid()}), log: {service.log_file}")
