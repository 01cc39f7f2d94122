"""Sixty requests submitted at once against one control line: the line never goes below zero.

Every request is within plan when it is submitted (nothing is reserved yet), so all of them route and are
approved; the ledger's pre-encumbrance is what must hold when they arrive together — the first ones that
fit are reserved, the rest find the money gone and go back to their requesters as overspend reports.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_now
from smartfin.ledger import Bucket, BudgetLineKey, balances, document_holdings, import_budget
from smartfin.processes.spending.requests import SpendingRequest, submit_spending_request
from smartfin.store.db import session_scope
from tests.support.engine import APPROVER_OF_GROUP, as_user, candidate_groups, wait_for

pytestmark = pytest.mark.engine

YEAR = hospital_now().year
LINE = BudgetLineKey(YEAR, "X-CONC", "30218", "fiscal")
REQUESTS, AMOUNT, BUDGET = 60, Decimal("500.00"), Decimal("10000.00")


@pytest.fixture(scope="module")
def line() -> BudgetLineKey:
    csv = ("fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,"
           "tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to\n"
           f"{YEAR},X-CONC,30218,fiscal,,Concurrent submissions,{BUDGET},control,0,0,95,{YEAR}-01-01,{YEAR}-12-31\n")
    with session_scope() as session:
        assert import_budget(session, csv.encode(), actor="test", filename="concurrent-line.csv").ok
    return LINE


def submit(camunda: EngineClient, i: int) -> str:
    return submit_spending_request({"department": "X-CONC", "category": "materials", "amount": str(AMOUNT),
                                    "fundingSource": "fiscal", "requester": "zhang.wei", "payee": f"供应商{i:02d}",
                                    "purpose": f"并发测试 concurrent {i}"}, engine=camunda)


def instance(number: str) -> str:
    with session_scope() as session:
        row = session.get(SpendingRequest, number)
        assert row is not None and row.process_instance_id
        return row.process_instance_id


def sign_everything(camunda: EngineClient, pids: set[str]) -> None:
    """Sign every approval of these instances as its group's member until none has come for three seconds."""
    quiet = 0
    while quiet < 3:
        tasks = [t for t in camunda.tasks(taskDefinitionKey="approveRequest") if t["processInstanceId"] in pids]
        for task in tasks:
            [group] = candidate_groups(camunda, task["id"])
            as_user(camunda, APPROVER_OF_GROUP[group]).complete_task(task["id"], {"decision": "approve",
                                                                                  "comment": "同意"})
        quiet = 0 if tasks else quiet + 1
        time.sleep(1.0)


def test_sixty_concurrent_requests_never_take_the_line_below_zero(camunda, workers, line):
    with ThreadPoolExecutor(max_workers=12) as pool:
        numbers = list(pool.map(lambda i: submit(camunda, i), range(REQUESTS)))
    assert len(set(numbers)) == REQUESTS, "every submission got its own number"
    pids = {instance(number) for number in numbers}
    sign_everything(camunda, pids)

    def settled() -> bool:
        open_tasks = [t for t in camunda.tasks() if t["processInstanceId"] in pids]
        ended = [p for p in pids if camunda.historic_process(p).get("state") == "COMPLETED"]
        return all(t["taskDefinitionKey"] == "writeOverspendReport" for t in open_tasks) and \
            len(ended) + len(open_tasks) == REQUESTS
    wait_for(settled, 180, interval=1.0, message="every request reserved or back at its requester")

    with session_scope() as session:
        held = [document_holdings(session, "spending-request", n)[Bucket.PRE_ENCUMBRANCE] for n in numbers]
        line_now = balances(session, line)
    reserved = [amount for amount in held if amount > 0]
    assert line_now.available >= 0, line_now
    assert sum(reserved, Decimal("0.00")) == line_now.pre_encumbrance <= BUDGET
    assert len(reserved) == int(BUDGET / AMOUNT), "exactly what fits is reserved, nothing twice"
    waiting = [t for t in camunda.tasks() if t["processInstanceId"] in pids]
    assert len(waiting) == REQUESTS - len(reserved), "the rest wait for an overspend report, none is lost"
