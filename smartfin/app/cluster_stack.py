"""`smartfin up --profile cluster`: PostgreSQL, the engine nodes, HAProxy, the workers, the upload page, the
dashboard and the notifier (clients of the cluster like the workers), then the Prefect server, its work pool
with the flow deployments and the Prefect worker, in that order.

What starts on this machine is what its addresses say is here (``smartfin.cluster.hosts.is_local``): on
one machine everything, on several hosts each host starts its own pieces with the same configuration.
The profile is remembered in var/cluster/profile so `smartfin status` and `smartfin down` know it.
Commands run against the cluster take its addresses from the environment written to
var/cluster/client.env (mode 0600: it holds the project database's password).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass

import requests

from smartfin.app.notify_commands import mail_sink_service, notifier_service, uses_demo_sink
from smartfin.app.stack import dashboard_service, database_at_head, portals_service, upload_page_service
from smartfin.cluster import postgres
from smartfin.cluster import prefect as cluster_prefect
from smartfin.cluster.balancer import balancer_service, write_config
from smartfin.cluster.hosts import is_local
from smartfin.cluster.nodes import node_service, start_node
from smartfin.kernel.background import ManagedService
from smartfin.kernel.settings import Settings

PROFILE = "cluster"


def cluster_active(settings: Settings) -> bool:
    return (settings.var_dir / "cluster" / "profile").exists()


def client_environment(settings: Settings) -> dict[str, str]:
    """What a process using the cluster needs: the balancer as its engine, the project tables on PostgreSQL,
    the cluster's Prefect server for the flows."""
    return {"SMARTFIN_ENGINE_URL": settings.cluster.balancer_url,
            "SMARTFIN_DATABASE_URL": postgres.project_database_url(settings),
            "SMARTFIN_PREFECT_API_URL": settings.cluster.prefect_api_url}


def client_settings(settings: Settings) -> Settings:
    """``settings`` as a client of the cluster sees them."""
    return settings.model_copy(update={"engine_url": settings.cluster.balancer_url,
                                       "database_url": postgres.project_database_url(settings)})


def cluster_worker_service(settings: Settings) -> ManagedService:
    """All external-task workers as one process, talking to the engine only through the balancer.

    Their long poll is short (SMARTFIN_CLUSTER_WORKER_LONG_POLL_MS): the engine wakes a waiting
    fetchAndLock only for tasks created on the node that holds it, so a task started through the other
    node would otherwise wait for the poll to run out.
    """
    env = {**client_environment(settings),
           "SMARTFIN_WORKER_LONG_POLL_MS": str(settings.cluster.worker_long_poll_ms)}
    return ManagedService(name="worker", argv=[sys.executable, "-m", "smartfin.app.cli", "worker"],
                          settings=settings, healthy=lambda: True, env=env)


def as_cluster_client(settings: Settings, service: ManagedService) -> ManagedService:
    """A service of the single-machine stack run as a client of the cluster: its engine is the balancer,
    its tables are on PostgreSQL (``client_environment``), whatever the service itself sets besides."""
    return dataclasses.replace(service, env={**service.env, **client_environment(settings)})


def client_pieces(settings: Settings) -> list[ManagedService]:
    """The people-facing services beside the workers: the budget upload page, the finance dashboard and the
    notifier (with the demo's mail sink when the demo mails into it), each a client of the cluster."""
    services = [upload_page_service(settings), dashboard_service(settings)]
    if uses_demo_sink(settings):
        services.append(mail_sink_service(settings))
    services.append(notifier_service(settings))
    return [as_cluster_client(settings, service) for service in services]


@dataclass(frozen=True)
class Piece:
    """One service of the cluster, whether this machine runs it, and how to tell it is well."""

    service: ManagedService
    local: bool
    address: str


def pieces(settings: Settings) -> list[Piece]:
    """Every service of the profile in start order, each marked local or on another host."""
    cluster = settings.cluster
    found = [Piece(postgres.postgres_service(settings), is_local(cluster.pg_host),
                   f"{cluster.pg_host}:{cluster.pg_port}")]
    for index, (host, port) in enumerate(cluster.nodes, start=1):
        found.append(Piece(node_service(settings, index), is_local(host), f"http://{host}:{port}"))
    found.append(Piece(balancer_service(settings), is_local(cluster.balancer_host), cluster.balancer_url))
    if settings.stand_in_portals:
        found.append(Piece(portals_service(settings), True, settings.erp_url))
    found.append(Piece(cluster_worker_service(settings), True, f"→ {cluster.balancer_url}"))
    addresses = {"upload-page": f"http://{settings.upload_page_host}:{settings.upload_page_port}",
                 "dashboard": f"http://{settings.dashboard_host}:{settings.dashboard_port}",
                 "mailsink": f"smtp://127.0.0.1:{settings.notify.demo_mail_port}"}
    found += [Piece(service, True, addresses.get(service.name, f"→ {cluster.balancer_url}"))
              for service in client_pieces(settings)]
    found.append(Piece(cluster_prefect.server_service(settings), is_local(cluster.prefect_host),
                       cluster.prefect_api_url))
    found.append(Piece(cluster_prefect.worker_service(settings, client_environment(settings)), True,
                       f"pool {cluster.work_pool} → {cluster.prefect_api_url}"))
    return found


def bring_up_cluster(settings: Settings, echo: Callable[[str], None], progress: Callable[[str], None],
                     *, workers: bool = True, people_facing: bool = True) -> None:
    """Start every local piece in order; migrations, deployment, Tasklist filters and the department heads'
    groups go through the cluster.

    ``people_facing=False`` leaves out the upload page, the dashboard and the notifier (a benchmark measures the
    engine alone)."""
    from smartfin.camunda.client import EngineClient
    from smartfin.camunda.deploy import deploy
    from smartfin.camunda.tasklist_filters import admin_client, prepare_filters
    from smartfin.processes.department_groups import sync_department_groups
    from smartfin.store.db import get_engine, session_scope

    cluster = settings.cluster
    # traversable (not listable) so that PostgreSQL's own OS user reaches var/cluster/pg
    (settings.var_dir / "cluster").mkdir(parents=True, exist_ok=True)
    (settings.var_dir / "cluster").chmod(0o711)
    (settings.var_dir / "cluster" / "profile").write_text(PROFILE + "\n", encoding="utf-8")
    _write_client_env(settings)
    client_names = {service.name for service in client_pieces(settings)}
    clients = client_settings(settings)
    for piece in pieces(settings):
        name = piece.service.name
        if not piece.local or (name in ("worker", "prefect-worker") and not workers) or (
                not people_facing and name in client_names):
            continue
        echo(f"starting {name} ({piece.address}) …")
        if name == "postgres":
            if postgres.initialise(settings):
                echo(f"  initialised a PostgreSQL cluster in {postgres.data_root(settings)}")
            piece.service.start(60.0, progress)
            created = postgres.provision(settings)
            echo(f"  databases: {', '.join(r.name for r in postgres.database_roles(settings))}"
                 + (f" ({', '.join(created)} created)" if created else ""))
            echo(f"  project tables at revision {database_at_head(clients)}")
        elif name.startswith("engine-"):
            # one node after the other: the first creates the schema and the accounts, the others find them
            start_node(settings, int(name.split("-")[1]), progress)
        elif name == "balancer":
            write_config(settings)
            piece.service.start(20.0, progress)
            result = deploy(EngineClient.from_settings(clients))
            echo(f"  models: {len(result.deployed)} deployed, {len(result.unchanged)} unchanged")
            with closing(admin_client(clients)) as admin:
                prepare_filters(admin)
                with session_scope(get_engine(clients.database_url)) as session:
                    departments = sync_department_groups(session, admin)
            echo(f"  {departments.summary()}")
        elif name == "prefect-server":
            piece.service.start(180.0, progress)
            echo(f"  work pool {cluster.work_pool}: {cluster_prefect.ensure_work_pool(settings)}; recovery "
                 f"automations: {len(cluster_prefect.ensure_automations(settings))} created")
            echo(f"  {cluster_prefect.register_deployments(settings, client_environment(settings))}")
        elif name == "prefect-worker":
            piece.service.start(90.0, progress)
        else:
            piece.service.start(30.0, progress)
        echo(f"  {name} running (pid {piece.service.pid()}), log: {piece.service.log_file}")
    echo(f"engine (balanced): {cluster.balancer_url}; commands against the cluster: "
         f"set -a; . {settings.var_dir / 'cluster' / 'client.env'}; set +a")


def _write_client_env(settings: Settings) -> None:
    path = settings.var_dir / "cluster" / "client.env"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("# Environment of commands and workers using the cluster. Private: holds a password.\n")
        for key, value in client_environment(settings).items():
            handle.write(f"{key}={value}\n")


def take_down(settings: Settings) -> list[tuple[str, bool]]:
    """Stop the local pieces in reverse order (workers first, PostgreSQL last) and forget the profile."""
    stopped = [(p.service.name, p.service.stop()) for p in reversed(pieces(settings)) if p.local]
    (settings.var_dir / "cluster" / "profile").unlink(missing_ok=True)
    return stopped


def health(settings: Settings) -> list[tuple[str, str, str]]:
    """(name, state, address) of every piece: running/stopped here, and healthy or not wherever it runs."""
    rows = []
    for piece in pieces(settings):
        pid = piece.service.pid() if piece.local else None
        where = f"pid {pid}" if pid else ("not running here" if piece.local else "on another host")
        well = "healthy" if piece.service.is_healthy() else "NOT answering"
        if piece.service.name in ("worker", "notifier"):  # no port to ask: running is all there is to tell
            well = "running" if pid else "stopped"
        rows.append((piece.service.name, f"{well} ({where})", piece.address))
    rows.append(("engine", _engine_version(settings), settings.cluster.balancer_url + "/engine-rest"))
    return rows


def _engine_version(settings: Settings) -> str:
    try:
        response = requests.get(settings.cluster.balancer_url + "/engine-rest/engine", timeout=3)
        return "answers through the balancer" if response.ok else f"HTTP {response.status_code} through the balancer"
    except requests.RequestException:
        return "NOT answering through the balancer"
