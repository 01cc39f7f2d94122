"""The engine nodes: the same jar on different ports and var dirs, sharing one PostgreSQL database.

A homogeneous Camunda cluster: every node has every process definition (deployed once, through the
balancer, into the shared database) and runs the job executor, so timers and async continuations run on
whichever node acquires them first; the job's optimistic lock makes sure only one node executes it.
``deployment-aware`` stays off (engine/src/main/resources/application.yaml): with it on, a node would only
run jobs of deployments it registered itself, and models deployed over REST belong to no node.
"""

from __future__ import annotations

import dataclasses

from pydantic import SecretStr

from smartfin.camunda.launcher import build_engine, engine_service
from smartfin.cluster.postgres import engine_jdbc_url, password, role
from smartfin.kernel.background import ManagedService
from smartfin.kernel.settings import Settings


def node_name(index: int) -> str:
    return f"engine-{index}"


def node_settings(settings: Settings, host: str, port: int) -> Settings:
    """The settings one node is started with: its own URL, the shared engine database."""
    owner = role(settings, "engine")
    return settings.model_copy(update={
        "engine_url": f"http://{host}:{port}",
        "engine_jdbc_url": engine_jdbc_url(settings),
        "engine_jdbc_user": owner.name,
        "engine_jdbc_password": SecretStr(password(settings, owner)),
    })


def node_service(settings: Settings, index: int) -> ManagedService:
    """Node ``index`` (1-based) of SMARTFIN_CLUSTER_ENGINE_NODES as a managed service named engine-<index>."""
    host, port = settings.cluster.nodes[index - 1]
    service = engine_service(node_settings(settings, host, port))
    node_dir = settings.var_dir / "cluster" / node_name(index)
    env = {**service.env, "SMARTFIN_VAR_DIR": str(node_dir.resolve()), "SMARTFIN_ENGINE_BIND_ADDRESS": host}
    return dataclasses.replace(service, name=node_name(index), env=env, cwd=node_dir)


def node_services(settings: Settings) -> list[ManagedService]:
    return [node_service(settings, index) for index in range(1, len(settings.cluster.nodes) + 1)]


def start_node(settings: Settings, index: int, progress=None) -> ManagedService:  # type: ignore[no-untyped-def]
    """Start one node and wait until its REST API answers (the jar is built first when stale)."""
    build_engine(progress=progress)
    node_dir = settings.var_dir / "cluster" / node_name(index)
    node_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    service = node_service(settings, index)
    service.start(settings.engine_start_timeout, progress)
    return service
