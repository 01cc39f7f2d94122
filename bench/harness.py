"""An isolated engine for a benchmark run: its own var/ directory and port, stopped afterwards."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from smartfin.kernel.clock import hospital_now

BENCH_DIR = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def isolated_engine(models: list[str] | None = None) -> Iterator[object]:
    """Start the engine on the embedded defaults in a throwaway var/ and deploy the product models.

    ``models`` are extra BPMN files (paths) deployed as a separate deployment for the benchmark.
    """
    var_dir = tempfile.mkdtemp(prefix="smartfin-bench-")
    os.environ["SMARTFIN_VAR_DIR"] = var_dir
    os.environ["SMARTFIN_ENGINE_URL"] = f"http://127.0.0.1:{_free_port()}"
    os.environ["SMARTFIN_ENGINE_DEMO"] = "true"  # the benchmarks approve as the demo users
    from smartfin.kernel.settings import get_settings

    get_settings.cache_clear()
    from smartfin.camunda.client import EngineClient
    from smartfin.camunda.deploy import ModelFile, deploy
    from smartfin.camunda.launcher import start_engine

    settings = get_settings()
    print(f"starting an engine in {var_dir} …", flush=True)
    service = start_engine(settings)
    client = EngineClient.from_settings(settings)
    try:
        deploy(client)
        if models:
            files = [ModelFile(Path(p), Path(p).name, Path(p).read_bytes()) for p in models]
            deploy(client, files, name="smartfin-bench")
        yield client
    finally:
        client.close()
        service.stop()


def import_bench_budget(department: str, economic_code: str) -> None:
    """One ample budget line for this year, so no benchmark request is ever short of budget."""

    from smartfin.ledger import import_budget
    from smartfin.store.db import session_scope

    year = hospital_now().year
    csv = ("fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,"
           "tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to\n"
           f"{year},{department},{economic_code},fiscal,,Bench,900000000.00,control,0,0,90,"
           f"{year}-01-01,{year}-12-31\n")
    with session_scope() as session:
        report = import_budget(session, csv.encode(), actor="bench", filename="bench.csv")
    assert report.ok, report.errors


@contextmanager
def isolated_cluster(models: list[str] | None = None) -> Iterator[tuple[object, object, object]]:
    """The cluster profile (PostgreSQL, two engine nodes, HAProxy) in a throwaway var/, without workers.

    Yields (settings, client through the balancer, client of engine-1 alone); this process is a client of
    the cluster (its engine URL the balancer, its tables on the cluster's PostgreSQL). Everything started
    is stopped afterwards.
    """
    var_dir = tempfile.mkdtemp(prefix="smartfin-bench-cluster-")
    os.chmod(var_dir, 0o711)  # PostgreSQL's OS user walks through it to var/cluster/pg
    os.environ.update({
        "SMARTFIN_VAR_DIR": var_dir, "SMARTFIN_ENGINE_DEMO": "true", "SMARTFIN_STAND_IN_PORTALS": "false",
        "SMARTFIN_CLUSTER_PG_PORT": str(_free_port()), "SMARTFIN_CLUSTER_BALANCER_PORT": str(_free_port()),
        "SMARTFIN_CLUSTER_ENGINE_NODES": f"127.0.0.1:{_free_port()},127.0.0.1:{_free_port()}",
        "SMARTFIN_CLUSTER_PREFECT_PORT": str(_free_port()),
    })
    from smartfin.kernel.settings import get_settings

    get_settings.cache_clear()
    from smartfin.app import cluster_stack
    from smartfin.camunda.client import EngineClient
    from smartfin.camunda.deploy import ModelFile, deploy
    from smartfin.camunda.secrets import service_password
    from smartfin.store.db import get_engine

    settings = get_settings()
    print(f"starting a cluster in {var_dir} (PostgreSQL, 2 engine nodes, HAProxy) …", flush=True)
    try:
        cluster_stack.bring_up_cluster(settings, lambda line: print(line, flush=True), lambda _line: None,
                                       workers=False, people_facing=False)
        os.environ.update(cluster_stack.client_environment(settings))
        get_settings.cache_clear()
        get_engine.cache_clear()
        balanced = EngineClient.from_settings(get_settings())
        host, port = settings.cluster.nodes[0]
        single = EngineClient(f"http://{host}:{port}{settings.engine_rest_path}", settings.engine_user,
                              service_password(settings))
        if models:
            files = [ModelFile(Path(p), Path(p).name, Path(p).read_bytes()) for p in models]
            deploy(balanced, files, name="smartfin-bench")
        try:
            yield settings, balanced, single
        finally:
            balanced.close()
            single.close()
    finally:
        cluster_stack.take_down(settings)
        shutil.rmtree(var_dir, ignore_errors=True)
