"""The first step of a submitted document meets its record, however early the engine hands it over.

A submission records its document and starts the process in one transaction, so on PostgreSQL the engine
can give the first external task to a worker before that transaction commits. The worker must then wait
for the commit and find the record: not insert a second one and fail on the duplicate key (spending), not
miss it and retry seconds later (claims). The engine's hand-over is played here by the start itself: it
runs the worker's registration in another thread, on another connection, while the submission is still
open — exactly the moment the cluster showed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from camunda.external_task.external_task import ExternalTask
from sqlmodel import func, select

from extractors.invoice.samples import InvoiceLine, xml_invoice
from smartfin.camunda.runtime import Job
from smartfin.kernel.clock import hospital_today
from smartfin.kernel.settings import get_settings
from smartfin.ledger import import_budget
from smartfin.processes import submitters
from smartfin.processes.reimbursement import worker as claim_worker
from smartfin.processes.reimbursement.claims import Claim, submit_claim
from smartfin.processes.spending import requests as spending
from smartfin.processes.spending import worker as spending_worker
from smartfin.store.db import get_engine, session_scope
from tests.integration.conftest import HEADER, YEAR

pytestmark = pytest.mark.postgres

DEPARTMENT = "T-RACE"
#: how long the worker is given to act while the submission is still open
HAND_OVER_S = 1.5


@pytest.fixture
def project_on_postgres(postgres_url: str, tmp_path, monkeypatch) -> Iterator[None]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SMARTFIN_DATABASE_URL", postgres_url)
    monkeypatch.setenv("SMARTFIN_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    get_engine.cache_clear()
    budget = HEADER + (f"{YEAR},{DEPARTMENT},30218,fiscal,,Race,100000.00,control,0,0,90,"
                       f"{YEAR}-01-01,{YEAR}-12-31\n")
    with session_scope() as session:
        assert import_budget(session, budget.encode(), actor="test", filename="race.csv").ok
    yield
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


class EarlyHandOver:
    """The engine's start, handing the first step to ``register`` in another thread before returning."""

    def __init__(self, register: Any) -> None:
        self.register = register
        self.outcome: dict[str, Any] = {}
        self.thread: threading.Thread | None = None
        self.waited = False

    def __call__(self, submitter: Any, process_key: str, business_key: str,
                 variables: dict[str, Any]) -> dict[str, Any]:
        job = Job(ExternalTask({"id": "task-race", "topicName": "register", "businessKey": business_key,
                                "processInstanceId": "pi-race"}), dict(variables))

        def run() -> None:
            try:
                self.outcome["result"] = self.register(job)
            except Exception as exc:  # the test reports whatever the worker met
                self.outcome["error"] = exc

        self.thread = threading.Thread(target=run)
        self.thread.start()
        self.thread.join(HAND_OVER_S)
        self.waited = self.thread.is_alive()
        return {"id": "pi-race"}

    def finished(self) -> Any:
        assert self.thread is not None
        self.thread.join(30)
        assert not self.thread.is_alive()
        if "error" in self.outcome:
            raise AssertionError(f"the worker failed: {self.outcome['error']!r}")
        return self.outcome["result"]


def _service_submitter(engine: Any, named: str | None, *, role: str = "requester", **_: Any) -> Any:
    return submitters.Submitter(engine, str(named), entered_by="smartfin")


def test_register_request_waits_for_the_submission_and_records_nothing_twice(project_on_postgres, monkeypatch):
    def register(job: Job) -> Any:
        with session_scope() as session:
            draft = spending.validate_request(job.variables, session=session)
        return spending_worker._registered(job, draft)

    hand_over = EarlyHandOver(register)
    monkeypatch.setattr(spending, "start", hand_over)
    monkeypatch.setattr(spending, "resolve_submitter", _service_submitter)
    number = spending.submit_spending_request(
        {"department": DEPARTMENT, "category": "materials", "amount": "88.00", "fundingSource": "fiscal",
         "requester": "zhang.wei", "payee": "国药控股", "purpose": "race"}, engine=object())
    row, _warnings, _check = hand_over.finished()
    assert hand_over.waited, "the worker went ahead before the submission committed"
    assert (row.request_no, row.process_instance_id, row.amount) == (number, "pi-race", Decimal("88.00"))
    with session_scope() as session:
        assert session.exec(select(func.count()).select_from(spending.SpendingRequest)).one() == 1


def test_register_claim_waits_for_the_submission_instead_of_retrying(project_on_postgres, monkeypatch):
    hand_over = EarlyHandOver(claim_worker.register_claim)
    monkeypatch.setattr(submitters, "start", hand_over)
    monkeypatch.setattr(submitters, "resolve_submitter", _service_submitter)
    name, data, _ = xml_invoice("race-1", issued=hospital_today(), seller="北京仁和医用耗材有限公司",
                                buyer="滨江市第一人民医院",
                                lines=[InvoiceLine("*医用耗材*医用外科口罩", Decimal(2), Decimal("26.00"),
                                                   Decimal("0.13"), unit="包")])
    number = submit_claim([(name, data)], claimant="zhang.wei", department=DEPARTMENT, category="materials",
                          purpose="race", engine=object())
    variables = hand_over.finished()
    assert hand_over.waited, "the worker went ahead before the submission committed"
    assert variables["claimNo"] == number and variables["fileCount"] == 1
    with session_scope() as session:
        claim = session.get(Claim, number)
        assert claim is not None and claim.process_instance_id == "pi-race"
