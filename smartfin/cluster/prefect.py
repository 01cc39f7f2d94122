"""The cluster's Prefect: a server on PostgreSQL, a ``process`` work pool and a worker that executes the flows.

- The server (``prefect server start``, API and UI) keeps its state in the cluster's ``smartfin_prefect``
  database through its own role; it binds to SMARTFIN_CLUSTER_PREFECT_HOST (loopback unless configured).
- The work pool (SMARTFIN_CLUSTER_WORK_POOL, type ``process``) and two automations are created or brought
  up to date on every `up`. The automations are how a flow run survives the loss of the worker (or host)
  executing it: a running flow run sends a heartbeat every SMARTFIN_CLUSTER_FLOW_HEARTBEAT_S seconds;
  three missed ones mark it *Crashed*, and a run of the pool crashed that way is scheduled again (at most
  twice) for whichever worker polls next. The flows are idempotent per business day, so a run repeated
  after a crash records the day once.
- The worker (``prefect worker start --pool …``) runs each flow run as a child process with the cluster's
  client environment: the engine through the balancer, the project's tables on PostgreSQL.
- The deployments themselves belong to the flows package, which the core does not import: `up` registers
  them by running ``smartfin flows deploy --pool …`` against this server (see flows/deployments.py).
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import requests

from smartfin.cluster.postgres import prefect_database_url
from smartfin.kernel.background import ManagedService, ServiceError
from smartfin.kernel.settings import PROJECT_ROOT, Settings

#: heartbeats a running flow may miss before it is taken for lost
MISSED_HEARTBEATS = 3
#: a crashed run is scheduled again while its run count is one of these (so at most three runs in all)
RESCHEDULED_RUN_COUNTS = ("1", "2")
ZOMBIE_AUTOMATION = "smartfin: flow run lost (no heartbeat) -> crashed"
RESCHEDULE_AUTOMATION = "smartfin: crashed flow run -> scheduled again"
LOST_MESSAGE = "no heartbeat from the flow run: its worker or host was lost"


def prefect_environment(settings: Settings) -> dict[str, str]:
    """Prefect's variables of every cluster process that talks to the cluster's Prefect server."""
    return {
        "PREFECT_HOME": str((settings.var_dir / "cluster" / "prefect").resolve()),
        "PREFECT_API_URL": settings.cluster.prefect_api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }


def server_service(settings: Settings) -> ManagedService:
    """The Prefect server on the cluster's PostgreSQL (the URL, with its password, reaches it only by environment)."""
    cluster = settings.cluster
    (settings.var_dir / "cluster" / "prefect").mkdir(parents=True, exist_ok=True, mode=0o700)
    env = {**prefect_environment(settings),
           "PREFECT_SERVER_DATABASE_CONNECTION_URL": prefect_database_url(settings),
           "PREFECT_UI_API_URL": cluster.prefect_api_url}
    argv = [sys.executable, "-m", "prefect", "server", "start", "--host", cluster.prefect_host,
            "--port", str(cluster.prefect_port)]
    url = cluster.prefect_api_url + "/health"

    def healthy() -> bool:
        return requests.get(url, timeout=3).ok

    return ManagedService(name="prefect-server", argv=argv, settings=settings, healthy=healthy, env=env,
                          umask=0o077)


def worker_name(settings: Settings) -> str:
    """The worker's name in the pool: one per host."""
    return f"{settings.cluster.work_pool}-{socket.gethostname()}"


def worker_service(settings: Settings, client_env: Mapping[str, str]) -> ManagedService:
    """``prefect worker start`` on the pool; its flow runs get ``client_env`` (engine via the balancer, project DB).

    Healthy when its process runs and the server counts it as an online worker of the pool (its heartbeat).
    """
    cluster = settings.cluster
    env = {**client_env, **prefect_environment(settings),
           "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(cluster.flow_heartbeat_s)}
    argv = [sys.executable, "-m", "prefect", "worker", "start", "--pool", cluster.work_pool, "--type", "process",
            "--name", worker_name(settings)]
    service = ManagedService(name="prefect-worker", argv=argv, settings=settings, healthy=lambda: False, env=env,
                             cwd=PROJECT_ROOT)

    def healthy() -> bool:
        return service.pid() is not None and worker_online(settings)

    service.healthy = healthy
    return service


def _client(settings: Settings) -> Any:
    from prefect.client.orchestration import SyncPrefectClient

    return SyncPrefectClient(api=settings.cluster.prefect_api_url)


def worker_online(settings: Settings) -> bool:
    """True when the server has a recent heartbeat of this host's worker in the pool."""
    with _client(settings) as client:
        workers = client.read_workers_for_work_pool(settings.cluster.work_pool, offset=0, limit=200)
    return any(w.name == worker_name(settings) and str(getattr(w.status, "value", w.status)) == "ONLINE"
               for w in workers)


def ensure_work_pool(settings: Settings) -> str:
    """Create the ``process`` work pool, or bring its job template up to date; "created" or "updated"."""
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    pool = settings.cluster.work_pool
    template = ProcessWorker.get_default_base_job_template()
    description = "SmartFin's scheduled flows, run by `prefect worker start` on the cluster hosts"
    with _client(settings) as client:
        try:
            client.read_work_pool(pool)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=pool, type="process", base_job_template=template,
                                                   description=description))
            return "created"
        client.update_work_pool(pool, WorkPoolUpdate(base_job_template=template, description=description,
                                                     is_paused=False))
        return "updated"


def recovery_automations(settings: Settings) -> list[Any]:
    """The two automations that turn a lost flow run into a crashed one and schedule it again."""
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    cluster = settings.cluster
    lost = AutomationCore(
        name=ZOMBIE_AUTOMATION,
        description="A running flow run of a deployment that stopped sending heartbeats has lost its process.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", "prefect.flow-run.Completed", "prefect.flow-run.Failed",
                    "prefect.flow-run.Cancelled", "prefect.flow-run.Crashed"},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            # a heartbeat names the run's flow, deployment and tags, not its pool: runs of any deployment
            match_related={"prefect.resource.role": "deployment"},
            for_each={"prefect.resource.id"}, posture=Posture.Proactive, threshold=1,
            within=timedelta(seconds=cluster.flow_heartbeat_s * MISSED_HEARTBEATS)),
        actions=[ChangeFlowRunState(state=StateType.CRASHED, message=LOST_MESSAGE)])
    again = AutomationCore(
        name=RESCHEDULE_AUTOMATION,
        description="A flow run of the pool that crashed is run again by the next worker (at most twice).",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Crashed"},
            match={"prefect.resource.id": "prefect.flow-run.*",
                   "prefect.run-count": list(RESCHEDULED_RUN_COUNTS)},
            match_related={"prefect.resource.role": "work-pool", "prefect.resource.name": cluster.work_pool},
            for_each={"prefect.resource.id"}, posture=Posture.Reactive, threshold=1,
            within=timedelta(seconds=0)),
        actions=[ChangeFlowRunState(state=StateType.SCHEDULED, name="AwaitingRetry", force=True,
                                    message="scheduled again after a crash")])
    return [lost, again]


def ensure_automations(settings: Settings) -> list[str]:
    """Create or update the recovery automations (matched by name); the names of those created now."""
    created = []
    with _client(settings) as client:
        for automation in recovery_automations(settings):
            existing = client.read_automations_by_name(automation.name)
            if existing:
                client.update_automation(existing[0].id, automation)
                for duplicate in existing[1:]:
                    client.delete_automation(duplicate.id)
            else:
                client.create_automation(automation)
                created.append(automation.name)
    return created


def register_deployments(settings: Settings, client_env: Mapping[str, str], timeout: float = 300.0) -> str:
    """Register (or update) every scheduled flow as a deployment on the pool, by the flows package's command.

    Runs ``smartfin flows deploy --pool …`` as a child process with the cluster's environment; its last
    output line (the summary) is returned, and a refusal names the command's reason.
    """
    import os

    argv = [sys.executable, "-m", "smartfin.app.cli", "flows", "deploy", "--pool", settings.cluster.work_pool]
    env = {**os.environ, **client_env, **prefect_environment(settings)}
    result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, check=False,
                            timeout=timeout)
    if result.returncode != 0:
        raise ServiceError("the flow deployments could not be registered: "
                           + (result.stderr or result.stdout).strip()[-1500:])
    lines = result.stdout.strip().splitlines()
    return lines[-1] if lines else ""
