"""Send back, resubmit and withdraw on spending requests, attacked through the engine's REST API.

The demo users try what their passwords let them send: a send-back on a step that is not theirs, another
person's resubmission or withdrawal, variables the revision form does not offer. The engine's write guard
refuses those first; the administrator and the service account (which the guard lets write anything) stand
for the strongest attacker, and what must hold even then are the workers' checks against the engine's history:
a send-back by a non-member of the step's group moves nothing, a revision not completed by the recorded
requester changes nothing.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select

from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_now
from smartfin.ledger import import_budget
from smartfin.processes.approvals import current_chain
from smartfin.processes.documents import Refused
from smartfin.processes.spending.requests import SpendingRequest, submit_spending_request, withdraw_request
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.security.engine_users import Actor, admin_password, service_actor, variables
from tests.support.engine import DEMO_PASSWORD, process_ended, wait_for

pytestmark = pytest.mark.engine

YEAR = hospital_now().year
DEPARTMENT = "X-SENDBK"
LINE = f"""\
fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to
{YEAR},{DEPARTMENT},30218,fiscal,,Send-back attacks,1000000.00,control,0,0,95,{YEAR}-01-01,{YEAR}-12-31
"""
DOC = "spending-request"


@pytest.fixture(scope="module")
def line(camunda: EngineClient) -> str:
    with session_scope() as session:
        report = import_budget(session, LINE.encode(), actor="test", filename="send-back-attack-line.csv")
    assert report.ok, report.errors
    return DEPARTMENT


def user(camunda: EngineClient, name: str) -> Actor:
    return Actor(camunda.base_url, name, DEMO_PASSWORD)


def submit(camunda: EngineClient, amount: str = "800.00") -> tuple[str, str]:
    number = submit_spending_request({"department": DEPARTMENT, "category": "materials", "amount": amount,
                                      "fundingSource": "fiscal", "requester": "zhang.wei", "payee": "某公司",
                                      "purpose": "退回攻击测试 send-back attack"}, engine=camunda)
    with session_scope() as session:
        row = session.get(SpendingRequest, number)
        assert row is not None and row.process_instance_id
        return number, row.process_instance_id


def record(number: str) -> SpendingRequest:
    with session_scope() as session:
        row = session.get(SpendingRequest, number)
        assert row is not None
        session.expunge(row)
        return row


def audited(number: str, action: str) -> list[AuditEntry]:
    with session_scope() as session:
        rows = list(session.exec(select(AuditEntry).where(AuditEntry.subject_id == number,
                                                          AuditEntry.action == action)).all())
        session.expunge_all()
        return rows


def decision(value: str, comment: str) -> dict[str, Any]:
    return {"variables": variables(decision=value, comment=comment)}


def open_tasks(service: Actor, pid: str, key: str) -> list[dict[str, Any]]:
    return [t for t in service.ok("POST", "/task", {"processInstanceId": pid}) if t["taskDefinitionKey"] == key]


def sent_back(camunda: EngineClient, pid: str) -> dict[str, Any]:
    """The dept-head step sent back by its member; the requester's revision task."""
    service = service_actor(camunda)
    task = service.open_task(pid, "approveRequest")
    user(camunda, "li.na").ok("POST", f"/task/{task['id']}/complete", decision("sendBack", "请补充规格 add specs"))
    return service.open_task(pid, "reviseRequest", timeout=30)


def refused(answer: Any) -> None:
    assert 400 <= answer.status < 600 and answer.status != 404, f"expected a refusal: {answer.status} {answer.body}"


def test_a_send_back_by_someone_not_on_the_step_is_refused(camunda, workers, line):
    number, pid = submit(camunda)
    service = service_actor(camunda)
    task = service.open_task(pid, "approveRequest")
    for outsider in ("wang.fang", "zhao.lei", "zhang.wei"):
        answer = user(camunda, outsider).call("POST", f"/task/{task['id']}/complete",
                                              decision("sendBack", "不同意 no"))
        refused(answer)
    assert service.task(task["id"]) is not None, "the step is still open"

    # the administrator may complete anything; the send-back still has to be a member's of the step's group
    admin = Actor(camunda.base_url, "admin", admin_password())
    admin.ok("POST", f"/task/{task['id']}/complete", decision("sendBack", "伪造退回 forged"))
    again = wait_for(lambda: [t for t in open_tasks(service, pid, "approveRequest") if t["id"] != task["id"]], 30,
                     message="the step asked again")[0]
    assert "dept-head" in (again.get("description") or "")
    assert not open_tasks(service, pid, "reviseRequest")
    assert not audited(number, "sent-back"), "a forged send-back tells nobody and moves nothing"
    [refusal] = audited(number, "send-back-refused")
    assert any("not a member of dept-head" in p for p in refusal.details_dict["problems"])
    service.remove_instance(pid)


def test_only_the_recorded_requester_resubmits(camunda, workers, line):
    number, pid = submit(camunda)
    revise = sent_back(camunda, pid)
    assert revise["assignee"] == "zhang.wei"
    edit = {"variables": variables(amount="1.00", revisionAction="resubmit")}
    for other in ("li.na", "chen.jie", "wang.fang"):
        refused(user(camunda, other).call("POST", f"/task/{revise['id']}/complete", edit))
        refused(user(camunda, other).call("POST", f"/task/{revise['id']}/claim", {"userId": other}))
    service = service_actor(camunda)
    assert service.task(revise["id"])["assignee"] == "zhang.wei"

    # the strongest attacker completes the requester's task: the record does not change
    service.ok("POST", f"/task/{revise['id']}/complete", edit)
    again = wait_for(lambda: [t for t in open_tasks(service, pid, "reviseRequest") if t["id"] != revise["id"]], 30,
                     message="the revision back with the requester")[0]
    assert again["assignee"] == "zhang.wei"
    assert record(number).amount == Decimal("800.00")
    assert not audited(number, "resubmitted")
    [refusal] = audited(number, "revision-refused")
    assert any("only the requester zhang.wei" in p for p in refusal.details_dict["problems"])
    service.remove_instance(pid)


def test_variables_injected_on_resubmit_change_nothing_but_the_validated_edit(camunda, workers, line):
    number, pid = submit(camunda)
    revise = sent_back(camunda, pid)
    requester = user(camunda, "zhang.wei")
    service = service_actor(camunda)
    for injected in ({"requester": "li.na"}, {"approvalChain": json.dumps(["dept-head"])}, {"approvalRound": 9},
                     {"decisions": "[]"}, {"requestNo": "REQ-0000-000001"}):
        answer = requester.call("POST", f"/task/{revise['id']}/complete",
                                {"variables": variables(amount="8000.00", revisionAction="resubmit", **injected)})
        refused(answer)
        refused(requester.call("PUT", f"/process-instance/{pid}/variables/{next(iter(injected))}",
                               {"value": "x", "type": "String"}))
    refused(requester.call("PUT", f"/process-instance/{pid}/variables/amount", {"value": "1.00", "type": "String"}))
    assert record(number).amount == Decimal("800.00")

    # the validated edit: a higher amount, which needs a higher tier
    requester.ok("POST", f"/task/{revise['id']}/complete",
                 {"variables": variables(amount="8000.00", revisionAction="resubmit")})
    task = wait_for(lambda: open_tasks(service, pid, "approveRequest"), 30, message="round 2")[0]
    row = record(number)
    assert (row.requester, row.department, row.amount) == ("zhang.wei", DEPARTMENT, Decimal("8000.00"))
    with session_scope() as session:
        chain = [(s.round, s.candidate_group, s.amount) for s in current_chain(session, DOC, number)]
    assert chain[0][0] == 2 and {s[2] for s in chain} == {Decimal("8000.00")}
    assert [s[1] for s in chain] == ["dept-head", "vice-president", "finance-officer", "finance-vp",
                                     "chief-accountant", "president"]
    assert json.loads(service.variables(pid)["approvalChain"]) == [s[1] for s in chain]
    assert service.ok("GET", f"/task/{task['id']}/identity-links")[0]["groupId"] == "dept-head"
    service.remove_instance(pid)


def test_only_the_recorded_requester_withdraws(camunda, workers, line):
    number, pid = submit(camunda)
    service = service_actor(camunda)
    service.open_task(pid, "approveRequest")
    for other in ("li.na", "wang.fang"):
        refused(user(camunda, other).call("POST", "/message", {"messageName": "SpendingRequestWithdrawn",
                                                                "businessKey": number}))
        with pytest.raises(Refused, match="only the requester"):
            withdraw_request(number, by=other, engine=camunda)
    revise = sent_back(camunda, pid)
    refused(user(camunda, "li.na").call("POST", f"/task/{revise['id']}/complete",
                                        {"variables": variables(revisionAction="withdraw")}))
    assert record(number).status == "submitted"

    withdraw_request(number, by="zhang.wei", engine=camunda)
    process_ended(camunda, pid)
    assert wait_for(lambda: record(number).status == "withdrawn", message="withdrawn")
    assert [e.actor for e in audited(number, "withdrawal-requested")] == ["zhang.wei"]
    assert audited(number, "closed-withdrawn")
