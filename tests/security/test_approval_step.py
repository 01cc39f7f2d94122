"""The engine refuses a completion of an approval task that does not match the chain stored at routing.

The routing worker returns the stored chain as ``approvalChain``; each ``approveRequest`` task gets the
task-local ``approvalStep`` when it is created. A user's completion is refused (403, ``WRITE_GUARD:``) when
the task's candidate group, the multi-instance element or the loop counter no longer match that chain —
however they were changed (here by the administrator or the service account, which may change them).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_now
from smartfin.ledger import import_budget
from smartfin.processes.spending.requests import SpendingRequest, submit_spending_request
from smartfin.store.db import session_scope
from tests.security.engine_users import Actor, admin_password, service_actor, variables
from tests.support.engine import DEMO_PASSWORD

pytestmark = pytest.mark.engine

YEAR = hospital_now().year
DEPARTMENT = "X-STEP"
LINE = f"""\
fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to
{YEAR},{DEPARTMENT},30218,fiscal,,Approval step tests,1000000.00,control,0,0,95,{YEAR}-01-01,{YEAR}-12-31
"""
REFUSED = 403


@pytest.fixture(scope="module")
def line(camunda: EngineClient) -> str:
    with session_scope() as session:
        report = import_budget(session, LINE.encode(), actor="test", filename="approval-step-line.csv")
    assert report.ok, report.errors
    return DEPARTMENT


def user(camunda: EngineClient, name: str) -> Actor:
    return Actor(camunda.base_url, name, DEMO_PASSWORD)


def first_approval(camunda: EngineClient) -> tuple[str, dict[str, Any]]:
    number = submit_spending_request({"department": DEPARTMENT, "category": "materials", "amount": "800.00",
                                      "fundingSource": "fiscal", "requester": "zhang.wei", "payee": "某公司",
                                      "purpose": "审批步骤测试 step test"}, engine=camunda)
    with session_scope() as session:
        row = session.get(SpendingRequest, number)
        assert row is not None and row.process_instance_id
        pid = row.process_instance_id
    service = service_actor(camunda)
    task = service.open_task(pid, "approveRequest")
    return pid, task


def complete(actor: Actor, task_id: str) -> Any:
    return actor.call("POST", f"/task/{task_id}/complete",
                      {"variables": variables(decision="approve", comment="同意 ok")})


def refused(answer: Any, *fragments: str) -> None:
    assert answer.status == REFUSED, f"expected 403, got {answer.status}: {answer.body}"
    assert "WRITE_GUARD:" in answer.message and "approval chain" in answer.message, answer.message
    for fragment in fragments:
        assert fragment in answer.message, answer.message


def test_each_approval_task_knows_its_step_and_the_routed_chain(camunda, workers, line):
    pid, task = first_approval(camunda)
    service = service_actor(camunda)
    local = service.ok("GET", f"/task/{task['id']}/localVariables")
    assert local["approvalStep"]["value"] == 1
    chain = json.loads(service.variables(pid)["approvalChain"])
    assert chain[0] == "dept-head" and len(chain) >= 2
    assert complete(user(camunda, "li.na"), task["id"]).status == 204
    second = service.open_task(pid, "approveRequest")
    assert service.ok("GET", f"/task/{second['id']}/localVariables")["approvalStep"]["value"] == 2


def test_a_changed_candidate_group_cannot_make_a_completion_pass(camunda, workers, line):
    _, task = first_approval(camunda)
    tid = task["id"]
    admin = Actor(camunda.base_url, "admin", admin_password())
    admin.ok("POST", f"/task/{tid}/identity-links/delete", {"groupId": "dept-head", "type": "candidate"})
    admin.ok("POST", f"/task/{tid}/identity-links", {"groupId": "budget-committee", "type": "candidate"})
    sun_li = user(camunda, "sun.li")  # a candidate now, but step 1 of the stored chain is dept-head's
    sun_li.ok("POST", f"/task/{tid}/claim", {"userId": "sun.li"})
    refused(complete(sun_li, tid), "dept-head", "budget-committee")
    assert service_actor(camunda).task(tid) is not None, "the task is still open"


def test_a_moved_loop_counter_or_a_missing_chain_is_refused(camunda, workers, line):
    pid, task = first_approval(camunda)
    tid = task["id"]
    service = service_actor(camunda)
    li_na = user(camunda, "li.na")
    service.ok("POST", f"/task/{tid}/variables", {"modifications": variables(loopCounter=1)})
    refused(complete(li_na, tid), "step 1", "step 2")
    service.ok("POST", f"/task/{tid}/variables", {"modifications": variables(loopCounter=0)})
    service.ok("POST", f"/task/{tid}/variables", {"modifications": variables(approverGroup="finance-officer")})
    refused(complete(li_na, tid), "approverGroup")
    service.ok("POST", f"/task/{tid}/variables", {"modifications": variables(approverGroup="dept-head")})
    service.ok("DELETE", f"/process-instance/{pid}/variables/approvalChain")
    refused(complete(li_na, tid), "approvalChain")
    service.ok("PUT", f"/process-instance/{pid}/variables/approvalChain",
               {"value": json.dumps(["finance-officer", "dept-head"]), "type": "String"})
    refused(complete(li_na, tid), "finance-officer")


def test_users_cannot_set_the_chain_or_the_step(camunda, workers, line):
    zhang_wei = user(camunda, "zhang.wei")
    for name, value in (("approvalChain", json.dumps(["dept-head"])), ("approvalRound", 1), ("approvalStep", 1)):
        answer = zhang_wei.call("POST", "/process-definition/key/spending-approval/start", {
            "businessKey": f"REQ-X-{uuid.uuid4().hex[:8]}", "variables": variables(**{name: value})})
        assert answer.status == REFUSED and "reserved" in answer.message and name in answer.message, answer.body
    _, task = first_approval(camunda)
    li_na = user(camunda, "li.na")
    li_na.ok("POST", f"/task/{task['id']}/claim", {"userId": "li.na"})
    for path in (f"/task/{task['id']}/localVariables/approvalStep", f"/task/{task['id']}/variables/approvalChain"):
        answer = li_na.call("PUT", path, {"value": "1", "type": "String"})
        assert answer.status == REFUSED and "WRITE_GUARD:" in answer.message, answer.body
