"""The cluster profile's Prefect: server on PostgreSQL, a process work pool, a worker running the deployments.

One cluster is started for the module by the product's own `up --profile cluster` code. A day's bank
reconciliation is run as a deployment through the Prefect worker; while the run reads the day's bank
journal export (a named pipe the test feeds, so the run is observably in the middle of its work) the
worker and the flow run's process are killed with SIGKILL, as when their host is lost. Prefect marks the
run crashed when its heartbeats stop, the recovery automation schedules it again, a new worker picks it
up, and the day is recorded once in the project's tables. Then PostgreSQL is restarted under the Prefect
server, which goes on serving without a manual step.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlmodel import select

from smartfin.app import cluster_stack
from smartfin.app.demo_users import wait_for
from smartfin.cluster import postgres
from smartfin.cluster import prefect as cluster_prefect
from smartfin.kernel.settings import Settings, get_settings
from smartfin.reconciliation.models import ReconciliationRun, ReconException, StatementImport
from smartfin.store.db import session_scope
from tests.support.cluster import running_cluster

pytestmark = [pytest.mark.engine, pytest.mark.own_engine, pytest.mark.postgres, pytest.mark.cluster]

ACCOUNT = "6222020200099887766"
DAY = date(2026, 3, 9)
DEPLOYMENT = "daily-bank-reconciliation/bank-daily"
ICBC_HEADER = "交易时间,凭证号,对方单位名称,对方账号,摘要,借方发生额,贷方发生额,余额,币种\n"


def statement_text() -> str:
    """ICBC export of the day: a payment matched by reference, a receipt the journal lacks (one exception)."""
    d = DAY.isoformat()
    return (f"账号：{ACCOUNT},户名：某市第一人民医院\n" + ICBC_HEADER
            + f"{d} 09:12:00,000123,国药控股股份有限公司,6222000011112222,货款,1200.50,,98799.50,人民币\n"
            + f"{d} 15:00:00,000124,北京市医疗保障事务中心,6222000011112222,医保结算款,,25000.00,123799.50,人民币\n")


def ledger_text() -> str:
    d = DAY.isoformat()
    return ("entry_id,date,amount,reference,counterparty,balance\n"
            f"J-1,{d},-1200.50,000123,国药控股股份有限公司,98799.50\n")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Settings]:
    """The cluster in a var/ of its own, with one bank account reconciled from the drop folder."""
    reconciliation_dir = tempfile.mkdtemp(prefix="smartfin-cluster-prefect-reconciliation-")
    try:
        with running_cluster("smartfin-cluster-prefect-", {
                "SMARTFIN_BANK_ACCOUNTS": f'[{{"account": "{ACCOUNT}", "bank": "icbc"}}]',
                "SMARTFIN_RECONCILIATION_DIR": reconciliation_dir}) as settings:
            yield settings
    finally:
        shutil.rmtree(reconciliation_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def prefect(cluster: Settings) -> Iterator[Any]:
    from prefect.client.orchestration import SyncPrefectClient

    with SyncPrefectClient(api=cluster.cluster.prefect_api_url) as client:
        yield client


def _piece(settings: Settings, name: str) -> Any:
    return next(p.service for p in cluster_stack.pieces(settings) if p.service.name == name)


def _process_tree(root: int) -> list[int]:
    """``root`` and every process descended from it (a flow run's process is in a session of its own)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(") ", 1)[1].split()[1])
    tree = [root]
    for pid in tree:
        tree.extend(child for child, parent in parents.items() if parent == pid)
    return tree


def _reader_waiting(fifo: Path) -> int | None:
    """A write end of ``fifo`` once some process has it open for reading (the run reads the export)."""
    try:
        return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # no reader yet
            return None
        raise


def _heartbeats(settings: Settings, flow_run_id: str) -> int:
    response = requests.post(settings.cluster.prefect_api_url + "/events/filter", timeout=10, json={
        "filter": {"event": {"name": ["prefect.flow-run.heartbeat"]},
                   "resource": {"id": [f"prefect.flow-run.{flow_run_id}"]}}})
    response.raise_for_status()
    return len(response.json()["events"])


def _finished_after_recovery(prefect: Any, flow_run_id: Any, timeout: float) -> Any:
    """The flow run once it has ended other than by the crash its lost heartbeats cause (which is followed by
    its rescheduling); its state history in the failure when it does not end in ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = prefect.read_flow_run(flow_run_id)
        lost = current.state.is_crashed() and current.state.message == cluster_prefect.LOST_MESSAGE
        if current.state.is_final() and not lost:
            return current
        time.sleep(2.0)
    states = [(s.timestamp.isoformat(), s.type.value, s.name, s.message) for s in
              prefect.read_flow_run_states(flow_run_id)]
    raise AssertionError(f"the lost flow run did not finish in {timeout:.0f} s: {states}")


def test_status_shows_the_prefect_server_and_worker_and_the_pool_holds_the_deployments(cluster, prefect):
    rows = {name: state for name, state, _address in cluster_stack.health(cluster)}
    assert rows["prefect-server"].startswith("healthy"), rows
    assert rows["prefect-worker"].startswith("healthy"), rows
    pool = prefect.read_work_pool(cluster.cluster.work_pool)
    assert pool.type == "process"
    deployment = prefect.read_deployment_by_name(DEPLOYMENT)
    assert deployment.work_pool_name == cluster.cluster.work_pool
    assert deployment.entrypoint == "flows.bank.daily_bank_reconciliation"
    [schedule] = deployment.schedules
    flows = get_settings().flows
    assert (schedule.schedule.cron, schedule.schedule.timezone) == (flows.bank_cron, flows.timezone)
    secret = postgres.password(cluster, postgres.role(cluster, "prefect"))
    logs = "".join(path.read_text(errors="replace") for path in (cluster.var_dir / "logs").glob("*.log"))
    assert secret not in logs, "the Prefect database password in a log"

    # every `up` brings the deployments and the pool up to date: a changed schedule takes effect
    os.environ["SMARTFIN_BANK_CRON"] = "45 5 * * *"
    try:
        cluster_prefect.register_deployments(cluster, cluster_stack.client_environment(cluster))
    finally:
        os.environ.pop("SMARTFIN_BANK_CRON")
    assert prefect.read_deployment_by_name(DEPLOYMENT).schedules[0].schedule.cron == "45 5 * * *"
    assert cluster_prefect.ensure_work_pool(cluster) == "updated"
    assert cluster_prefect.ensure_automations(cluster) == []


def test_a_flow_run_lost_with_its_worker_is_run_again_and_records_the_day_once(cluster, prefect):
    folder = get_settings().flows.recon_root / "bank" / ACCOUNT / DAY.isoformat()
    folder.mkdir(parents=True)
    (folder / "statement.csv").write_text(statement_text(), encoding="utf-8")
    export = folder / "ledger.csv"
    os.mkfifo(export)  # the bank journal export still being written: the run blocks reading it

    deployment = prefect.read_deployment_by_name(DEPLOYMENT)
    run = prefect.create_flow_run_from_deployment(
        deployment.id, parameters={"business_date": DAY.isoformat(), "open_reviews": False})
    writer = wait_for(lambda: _reader_waiting(export), 180, interval=0.5,
                      message="the flow run reading the day's bank journal export")
    assert prefect.read_flow_run(run.id).state.is_running()
    wait_for(lambda: _heartbeats(cluster, str(run.id)) >= 1, 60, interval=1.0,
             message="the run's first heartbeat at the server")

    worker = _piece(cluster, "prefect-worker")
    pid = worker.pid()
    assert pid is not None
    victims = _process_tree(pid)
    assert len(victims) > 1, "the flow run runs in a process of the worker"
    for victim in victims:  # the host is lost: the worker and the flow run's process die at once
        os.kill(victim, signal.SIGKILL)
    wait_for(lambda: worker.pid() is None, 10, message="the Prefect worker gone")
    os.close(writer)
    export.unlink()
    export.write_text(ledger_text(), encoding="utf-8")  # the export is complete by the time of the re-run
    with session_scope() as session:
        assert session.exec(select(ReconciliationRun).where(ReconciliationRun.scope == ACCOUNT)).all() == []

    worker.start(90.0)
    final = _finished_after_recovery(prefect, run.id, 420.0)
    states = [(s.type.value, s.message or "") for s in prefect.read_flow_run_states(run.id)]
    assert final.state.is_completed(), (final.state.type, final.state.message, states)
    assert final.run_count == 2
    assert ("CRASHED", cluster_prefect.LOST_MESSAGE) in states, states

    with session_scope() as session:
        runs = session.exec(select(ReconciliationRun).where(ReconciliationRun.kind == "bank",
                                                            ReconciliationRun.scope == ACCOUNT)).all()
        assert [(r.business_date, r.auto_matched_count) for r in runs] == [(DAY, 1)]
        exceptions = session.exec(select(ReconException).where(ReconException.run_id == runs[0].id)).all()
        imports = session.exec(select(StatementImport).where(StatementImport.account == ACCOUNT)).all()
    assert len(exceptions) == runs[0].exception_count >= 1
    assert len({e.exception_key for e in exceptions}) == len(exceptions), "an exception recorded twice"
    assert len(imports) == 1


def test_the_prefect_server_survives_a_postgresql_restart(cluster, prefect):
    service = postgres.postgres_service(cluster)
    assert service.stop()
    service.start(60.0)
    server = _piece(cluster, "prefect-server")
    wait_for(server.is_healthy, 60, interval=1.0, message="the Prefect server answering after the restart")
    deployment = prefect.read_deployment_by_name(DEPLOYMENT)
    run = wait_for(lambda: _try_run(prefect, deployment.id), 60, interval=2.0,
                   message="a flow run accepted after the restart")
    final = _finished_after_recovery(prefect, run.id, 180.0)
    assert final.state.is_completed(), (final.state.type, final.state.message)
    with session_scope() as session:
        runs = session.exec(select(ReconciliationRun).where(ReconciliationRun.scope == ACCOUNT)).all()
    assert len(runs) == 1, "a re-run of the day replaces its run, it does not add one"


def _try_run(prefect: Any, deployment_id: Any) -> Any:
    from prefect.exceptions import PrefectHTTPStatusError

    try:
        return prefect.create_flow_run_from_deployment(
            deployment_id, parameters={"business_date": DAY.isoformat(), "open_reviews": False})
    except (PrefectHTTPStatusError, OSError):
        return None
