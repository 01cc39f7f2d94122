"""The cluster profile on one machine: PostgreSQL, two engine nodes, HAProxy, workers through the balancer.

One cluster is started for the module by the product's own `up --profile cluster` code and taken down by
its `down`. The tests then break it the way production breaks: an engine node killed with SIGKILL in the
middle of the issue's load (200 spending requests and 50 claims with e-invoices, approved by the demo
users through the balancer, the claims posted by the bot into the stand-in ERP), PostgreSQL restarted
under running engines and workers, and escalation timers due while both nodes' job executors compete for
them. The upload page, the dashboard and the notifier run as clients of the cluster and are asked too.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
import pytest
import requests
from sqlalchemy.exc import DBAPIError
from sqlmodel import func, select

from extractors.invoice.samples import xml_invoice
from smartfin.app import cluster_stack
from smartfin.app.demo_users import APPROVER_OF_GROUP, demo_password, wait_for
from smartfin.camunda.client import EngineClient, EngineError
from smartfin.cluster import postgres
from smartfin.kernel.settings import Settings, get_settings
from smartfin.ledger import (
    Bucket,
    BudgetLineKey,
    FundingSource,
    JournalEntry,
    balances,
    document_holdings,
    import_budget,
)
from smartfin.notify.tables import NotificationEvent
from smartfin.posting.journal import VoucherPosting
from smartfin.processes.reimbursement.claims import Claim, submit_claim
from smartfin.processes.spending.requests import SpendingRequest, submit_spending_request
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.conftest import STAND_IN_ADMIN_TOKEN
from tests.integration.conftest import HEADER, YEAR
from tests.support.cluster import running_cluster

pytestmark = [pytest.mark.engine, pytest.mark.own_engine, pytest.mark.postgres, pytest.mark.cluster]

#: the node-kill load the issue names: spending requests and reimbursement claims, submitted in parallel
LOAD_REQUESTS = 200
LOAD_CLAIMS = 50
LOAD_DEPARTMENT = "T-LOAD"
#: submissions in flight at once, and approvers signing at once
SUBMITTERS = 6
SIGNERS = 6
CLAIMANT = "zhang.wei"
#: approval tasks left idle this long are escalated (non-interrupting timer on each approval)
ESCALATION_AFTER = "PT6S"
DEPARTMENT = "T-CLUSTER"

BUDGET = HEADER + (f"{YEAR},{DEPARTMENT},30218,fiscal,,Cluster tests,900000.00,control,0,0,90,"
                   f"{YEAR}-01-01,{YEAR}-12-31\n"
                   f"{YEAR},{LOAD_DEPARTMENT},30218,fiscal,,Cluster load,900000.00,control,0,0,90,"
                   f"{YEAR}-01-01,{YEAR}-12-31\n")


@pytest.fixture(scope="module")
def cluster(stand_in_portals) -> Iterator[Settings]:  # type: ignore[no-untyped-def]
    """The cluster in a var/ of its own; the test process becomes one of its clients (balancer, PostgreSQL).

    Its workers post vouchers into the session's stand-in ERP (whose addresses and logins the environment
    carries), so the cluster starts no portals of its own.
    """
    with running_cluster("smartfin-cluster-", {
            "SMARTFIN_APPROVAL_ESCALATION_AFTER": ESCALATION_AFTER, "SMARTFIN_NOTIFY_POLL_S": "3"}) as settings:
        with session_scope() as session:
            report = import_budget(session, BUDGET.encode(), actor="test", filename="cluster-budget.csv")
        assert report.ok, report.errors
        yield settings


@pytest.fixture(scope="module")
def engine(cluster: Settings) -> Iterator[EngineClient]:
    client = EngineClient.from_settings(get_settings())
    yield client
    client.close()


def _node(settings: Settings, index: int) -> Any:
    return next(p.service for p in cluster_stack.pieces(settings) if p.service.name == f"engine-{index}")


def submit(engine: EngineClient, amount: str) -> tuple[str, str]:
    number = submit_spending_request({"department": DEPARTMENT, "category": "materials", "amount": amount,
                                      "fundingSource": "fiscal", "requester": "zhang.wei", "payee": "国药控股",
                                      "purpose": "集群测试 cluster test"}, engine=engine)
    with session_scope() as session:
        row = session.get(SpendingRequest, number)
        assert row is not None and row.process_instance_id
        return number, row.process_instance_id


def approve_all(engine: EngineClient, instances: list[str], timeout: float = 240.0) -> None:
    """Sign every open approval of ``instances`` as its group's demo user until all have ended.

    A call that meets a node as it dies fails; the loop simply reads the open tasks again, so a task is
    signed once whichever call got through.
    """
    open_instances = set(instances)
    deadline = time.monotonic() + timeout
    password = demo_password()
    while open_instances:
        assert time.monotonic() < deadline, f"{len(open_instances)} requests did not end in {timeout:.0f} s"
        try:
            for task in engine.tasks(processInstanceIdIn=sorted(open_instances)):
                links = engine.get(f"/task/{task['id']}/identity-links", type="candidate")
                groups = [link["groupId"] for link in links if link.get("groupId")]
                assert len(groups) == 1 and groups[0] in APPROVER_OF_GROUP, (task["name"], groups)
                person = engine.as_user(APPROVER_OF_GROUP[groups[0]], password)
                try:
                    person.complete_task(task["id"], {"decision": "approve", "comment": "同意 ok"})
                finally:
                    person.close()
            ended = engine.get("/history/process-instance", processInstanceIds=",".join(sorted(open_instances)),
                               finished="true")
            open_instances -= {h["id"] for h in ended}
        except (EngineError, requests.RequestException):
            pass  # the balancer noticed a dead node a moment late: read again
        time.sleep(0.3)


def activity_count(engine: EngineClient, instance: str, activity_id: str) -> int:
    return sum(1 for a in engine.historic_activities(instance) if a["activityId"] == activity_id)


def assert_approved_exactly_once(engine: EngineClient, number: str, instance: str, amount: str) -> None:
    history = engine.historic_process(instance)
    assert history["state"] == "COMPLETED", (number, history["state"])
    assert activity_count(engine, instance, "requestApproved") == 1, number
    assert activity_count(engine, instance, "preEncumber") == 1, number
    with session_scope() as session:
        row = session.get(SpendingRequest, number)
        assert row is not None and row.status == "approved", (number, row and row.status)
        entries = session.exec(select(func.count()).select_from(JournalEntry).where(
            JournalEntry.document_no == number, JournalEntry.bucket == Bucket.PRE_ENCUMBRANCE.value)).one()
        holdings = document_holdings(session, "spending-request", number)
    assert entries == 1, f"{number}: {entries} pre-encumbrance entries"
    assert holdings[Bucket.PRE_ENCUMBRANCE] == Decimal(amount), number


def test_status_shows_every_piece_healthy(cluster):
    rows = {name: state for name, state, _address in cluster_stack.health(cluster)}
    assert [name for name in rows][:4] == ["postgres", "engine-1", "engine-2", "balancer"]
    assert all(rows[name].startswith("healthy") for name in ("postgres", "engine-1", "engine-2", "balancer"))
    assert rows["worker"].startswith("running")
    assert rows["engine"] == "answers through the balancer"
    assert rows["upload-page"].startswith("healthy") and rows["dashboard"].startswith("healthy")
    assert rows["notifier"].startswith("running")
    secrets = (cluster.var_dir / "secrets.env")
    assert secrets.stat().st_mode & 0o777 == 0o600
    logs = "".join(path.read_text(errors="replace") for path in (cluster.var_dir / "logs").glob("*.log"))
    for database_role in postgres.database_roles(cluster):
        assert postgres.password(cluster, database_role) not in logs, f"{database_role.name}'s password in a log"


def test_the_people_facing_services_answer_as_clients_of_the_cluster(cluster, engine):
    """The upload page and the dashboard serve their login pages; the notifier reads a new approval through
    the balancer and records its event in the project's tables on PostgreSQL."""
    for port in (cluster.upload_page_port, cluster.dashboard_port):
        response = requests.get(f"http://127.0.0.1:{port}/login", timeout=10)
        assert response.status_code == 200 and "<form" in response.text
    number, instance = submit(engine, "55.00")

    def notified() -> int:
        with session_scope() as session:
            return int(session.exec(select(func.count()).select_from(NotificationEvent).where(
                NotificationEvent.subject == number)).one())

    wait_for(notified, 90, message=f"the notifier's event for {number}")
    approve_all(engine, [instance])
    assert_approved_exactly_once(engine, number, instance, "55.00")


def test_each_database_role_reaches_only_its_own_database(cluster):
    import psycopg

    project = postgres.role(cluster, "project")
    engine_db = postgres.role(cluster, "engine")
    connect = {"host": cluster.cluster.pg_host, "port": cluster.cluster.pg_port, "connect_timeout": 5}
    with psycopg.connect(dbname=project.name, user=project.name,
                         password=postgres.password(cluster, project), **connect) as conn:
        assert conn.execute("select rolsuper or rolcreatedb or rolcreaterole from pg_roles "
                            "where rolname = current_user").fetchone() == (False,)
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(dbname=engine_db.name, user=project.name, password=postgres.password(cluster, project),
                        **connect)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(dbname=project.name, user=project.name, password="wrong", **connect)


def test_an_idle_approval_is_escalated_once_with_both_nodes_running_timers(cluster, engine):
    number, instance = submit(engine, "60.00")
    task = wait_for(lambda: engine.tasks(processInstanceId=instance), 60, message="the first approval")[0]
    wait_for(lambda: activity_count(engine, instance, "escalateApproval") >= 1, 90, message="the escalation")
    time.sleep(12)  # two more rounds of both job executors: nothing may fire a second time
    assert activity_count(engine, instance, "escalateApproval") == 1
    assert sum("escalated" in c["message"] for c in engine.get(f"/task/{task['id']}/comment")) == 1
    with session_scope() as session:
        escalations = session.exec(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "approval-escalated", AuditEntry.subject_id == number)).one()
    assert escalations == 1
    approve_all(engine, [instance])
    assert_approved_exactly_once(engine, number, instance, "60.00")


def test_postgresql_restart_is_recovered_without_manual_steps(cluster, engine):
    service = postgres.postgres_service(cluster)
    assert service.stop()
    service.start(60.0)
    number, instance = wait_for(lambda: _try_submit(engine, "70.00"), 90, interval=1.0,
                                message="a request accepted after the restart")
    approve_all(engine, [instance])
    assert_approved_exactly_once(engine, number, instance, "70.00")
    for index in (1, 2):
        assert _node(cluster, index).is_healthy(), f"engine-{index} after the restart"


def _try_submit(engine: EngineClient, amount: str) -> tuple[str, str] | None:
    try:
        return submit(engine, amount)
    except (EngineError, requests.RequestException, OSError, DBAPIError):
        return None  # a node or the database going away right then: the request was not recorded


# ------------------------------------------------------------------------- the load and the node kill

#: what each approver writes on the tasks of the load (anything else stops the test: an unexpected step)
DECISIONS: dict[str, dict[str, str]] = {
    "approveRequest": {"decision": "approve", "comment": "同意 ok"},
    "approveClaim": {"decision": "approve", "comment": "同意 ok"},
    "verifyManually": {"decision": "consistent", "comment": "查验一致 checked"},
    "financeAudit": {"decision": "approve", "comment": "审核通过 audit passed"},
}


def _load_request(engine: EngineClient, index: int) -> tuple[str, str]:
    amount = f"{40 + index % 20}.{index % 100:02d}"
    number = submit_spending_request({"department": LOAD_DEPARTMENT, "category": "materials", "amount": amount,
                                      "fundingSource": "fiscal", "requester": CLAIMANT, "payee": f"供应商{index}",
                                      "purpose": f"集群负载 cluster load {index}"}, engine=engine)
    return "request", number


def _load_claim(engine: EngineClient, index: int) -> tuple[str, str]:
    name, data, _ = xml_invoice(f"cluster-load-{index}", total=Decimal(f"{30 + index}.00"))
    number = submit_claim([(name, data)], claimant=CLAIMANT, department=LOAD_DEPARTMENT, category="materials",
                          purpose=f"集群负载报销 cluster load claim {index}", engine=engine)
    return "claim", number


class Submitters:
    """Threads submitting the load, each with a client of its own; a submission that meets the dying node
    is submitted again (it was refused whole: the record and the start are one transaction)."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.done = 0
        self.lock = threading.Lock()
        self.retried = 0

    def _client(self) -> EngineClient:
        if not hasattr(self.local, "client"):
            self.local.client = EngineClient.from_settings(get_settings())
        return self.local.client  # type: ignore[no-any-return]

    def submit(self, work: Callable[[EngineClient, int], tuple[str, str]], index: int) -> tuple[str, str]:
        deadline = time.monotonic() + 120
        while True:
            try:
                result = work(self._client(), index)
                break
            except (EngineError, requests.RequestException, OSError, DBAPIError):
                assert time.monotonic() < deadline, f"submission {index} refused for 120 s"
                with self.lock:
                    self.retried += 1
                time.sleep(0.5)
        with self.lock:
            self.done += 1
        return result


class Signers:
    """The demo users signing every open task of the load, group by group, several at once."""

    def __init__(self, engine: EngineClient) -> None:
        self.engine = engine
        self.password = demo_password()
        self.local = threading.local()
        self.signed: Counter[str] = Counter()
        self.lock = threading.Lock()

    def _as(self, user: str) -> EngineClient:
        clients = self.local.__dict__.setdefault("clients", {})
        if user not in clients:
            clients[user] = self.engine.as_user(user, self.password)
        return clients[user]  # type: ignore[no-any-return]

    def sign(self, task: dict[str, Any], user: str) -> None:
        key = task["taskDefinitionKey"]
        assert key in DECISIONS, f"the load stopped at an unexpected step: {task['name']} ({key})"
        try:
            self._as(user).complete_task(task["id"], DECISIONS[key])
        except (EngineError, requests.RequestException):
            return  # a dying node, a parallel join: the task is read again in the next round
        with self.lock:
            self.signed[key] += 1

    def drive(self, ended: Callable[[], bool], timeout: float) -> None:
        """Sign whatever is open, round after round, until ``ended()``."""
        deadline = time.monotonic() + timeout
        with ThreadPoolExecutor(SIGNERS) as pool:
            while not ended():
                assert time.monotonic() < deadline, f"the load did not end in {timeout:.0f} s"
                work = []
                try:
                    for group, user in APPROVER_OF_GROUP.items():
                        work += [(task, user) for task in self.engine.tasks(candidateGroup=group)]
                except (EngineError, requests.RequestException):
                    time.sleep(0.5)
                    continue
                list(pool.map(lambda item: self.sign(*item), work))
                if not work:
                    time.sleep(0.5)


def _instances(engine: EngineClient, key: str, business_keys: set[str]) -> list[dict[str, Any]]:
    found = engine.get("/history/process-instance", processDefinitionKey=key)
    return [h for h in found if h.get("businessKey") in business_keys]


def _activity_counts(engine: EngineClient, key: str, activity_id: str) -> Counter[str]:
    rows = engine.get("/history/activity-instance", processDefinitionKey=key, activityId=activity_id)
    return Counter(row["processInstanceId"] for row in rows)


def _positive_entries(document_type: str, numbers: set[str]) -> Counter[tuple[str, str]]:
    with session_scope() as session:
        rows = session.exec(select(JournalEntry.document_no, JournalEntry.bucket).where(
            JournalEntry.document_type == document_type, JournalEntry.amount_fen > 0)).all()
    return Counter((number, bucket) for number, bucket in rows if number in numbers)


def test_killing_an_engine_node_under_the_issues_load_loses_nothing_and_doubles_nothing(cluster, engine,
                                                                                       stand_in_portals):
    began = time.monotonic()
    victim = _node(cluster, 2)
    pid = victim.pid()
    worker = next(p.service for p in cluster_stack.pieces(cluster) if p.service.name == "worker")
    worker_pid = worker.pid()
    assert pid is not None and worker_pid is not None
    submitters = Submitters()
    signers = Signers(engine)
    kill_after = (LOAD_REQUESTS + LOAD_CLAIMS) // 3
    killed = threading.Event()

    def kill_in_the_thick_of_it() -> None:
        # a third submitted: submissions still arriving, workers holding tasks fetched from both nodes
        while submitters.done < kill_after:
            time.sleep(0.05)
        os.killpg(pid, signal.SIGKILL)
        killed.set()

    killer = threading.Thread(target=kill_in_the_thick_of_it, daemon=True)
    killer.start()
    work = [(_load_claim if index % 5 == 4 and index // 5 < LOAD_CLAIMS else _load_request, index)
            for index in range(LOAD_REQUESTS + LOAD_CLAIMS)]
    with ThreadPoolExecutor(SUBMITTERS) as pool:
        submitted = list(pool.map(lambda item: submitters.submit(*item), work))
    killer.join(5)
    assert killed.is_set()
    wait_for(lambda: victim.pid() is None, 10, message="engine-2 gone")
    submit_s = time.monotonic() - began

    requests_ = {number for kind, number in submitted if kind == "request"}
    claims = {number for kind, number in submitted if kind == "claim"}
    assert (len(requests_), len(claims)) == (LOAD_REQUESTS, LOAD_CLAIMS), "a submission was lost or doubled"

    def ended() -> bool:
        done = engine.get("/history/process-instance", finished="true")
        return len({h["businessKey"] for h in done} & (requests_ | claims)) == LOAD_REQUESTS + LOAD_CLAIMS

    signers.drive(ended, timeout=360)
    print(f"load: {LOAD_REQUESTS} requests + {LOAD_CLAIMS} claims submitted in {submit_s:.0f} s "
          f"({submitters.retried} submissions repeated after the kill), all ended after "
          f"{time.monotonic() - began:.0f} s; signed {dict(signers.signed)}")

    # every process instance exactly once, completed, through its one end
    spending = _instances(engine, "spending-approval", requests_)
    reimbursement = _instances(engine, "reimbursement", claims)
    assert sorted(h["businessKey"] for h in spending) == sorted(requests_), "a request started twice or never"
    assert sorted(h["businessKey"] for h in reimbursement) == sorted(claims), "a claim started twice or never"
    assert {h["state"] for h in spending + reimbursement} == {"COMPLETED"}
    approved = _activity_counts(engine, "spending-approval", "requestApproved")
    paid = _activity_counts(engine, "reimbursement", "claimPaid")
    assert all(approved[h["id"]] == 1 for h in spending), "a request ended twice or elsewhere"
    assert all(paid[h["id"]] == 1 for h in reimbursement), "a claim ended twice or elsewhere"
    assert engine.get("/incident") == [], "an external task ran out of retries"

    # the ledger: one reservation per request, one reservation and one actual per claim, totals add up
    with session_scope() as session:
        request_rows = session.exec(select(SpendingRequest).where(SpendingRequest.department == LOAD_DEPARTMENT)).all()
        claim_rows = session.exec(select(Claim).where(Claim.department == LOAD_DEPARTMENT)).all()
        postings = session.exec(select(VoucherPosting).where(
            VoucherPosting.document_type == "reimbursement-claim")).all()
        line = balances(session, BudgetLineKey(YEAR, LOAD_DEPARTMENT, "30218", FundingSource("fiscal")))
        claim_holdings = {row.claim_no: document_holdings(session, "reimbursement-claim", row.claim_no)
                          for row in claim_rows}
    assert {row.request_no for row in request_rows} == requests_
    assert {row.status for row in request_rows} == {"approved"}
    assert {row.claim_no for row in claim_rows} == claims and {row.status for row in claim_rows} == {"paid"}
    reserved = _positive_entries("spending-request", requests_)
    assert all(reserved[(number, Bucket.PRE_ENCUMBRANCE.value)] == 1 for number in requests_)
    assert sum(reserved.values()) == LOAD_REQUESTS, "a request moved money twice or into another bucket"
    claimed = _positive_entries("reimbursement-claim", claims)
    assert all(claimed[(number, bucket.value)] == 1 for number in claims
               for bucket in (Bucket.PRE_ENCUMBRANCE, Bucket.ACTUAL)), "a claim reserved or paid twice"
    for row in claim_rows:
        assert claim_holdings[row.claim_no][Bucket.PRE_ENCUMBRANCE] == 0, row.claim_no
        assert claim_holdings[row.claim_no][Bucket.ACTUAL] == row.payable, row.claim_no
    assert line.pre_encumbrance == sum((row.amount for row in request_rows), Decimal(0))
    assert line.actual == sum((row.payable for row in claim_rows), Decimal(0))

    # the posting journal and the ERP: one voucher per claim, none twice
    load_postings = [p for p in postings if p.document_no in claims]
    assert Counter(p.document_no for p in load_postings) == Counter({number: 1 for number in claims})
    assert {p.state for p in load_postings} == {"posted"}
    assert {row.voucher_no for row in claim_rows} == {p.voucher_no for p in load_postings}
    for posting in load_postings:
        response = httpx.get(f"{stand_in_portals.urls['erp']}/__admin/vouchers", params={"ref": posting.external_ref},
                             headers={"X-Admin-Token": STAND_IN_ADMIN_TOKEN}, timeout=15)
        assert response.json()["count"] == 1, f"{posting.document_no}: the ERP holds {response.json()['count']}"

    # the workers never restarted: they found the surviving node through the balancer by themselves
    assert worker.pid() == worker_pid
    assert _node(cluster, 1).is_healthy()
