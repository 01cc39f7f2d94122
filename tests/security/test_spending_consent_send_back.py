"""The unit head's prior consent to an overspend can send the request back for revision (退回修改), and that
send-back is checked like an approver's: attacked through the engine's REST API as the demo users and the
administrator, then the ordinary path — sent back, revised within plan, approved — on the real engine.

The engine refuses the demo users who are not candidates of the consent step; the administrator (whom the
write guard lets complete anything) stands for the strongest attacker, and what must hold even then is the
worker's check against the engine's history: a send-back by a non-member of the consent group, or without a
reason, tells nobody and moves nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select

from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_now
from smartfin.ledger import Bucket, document_holdings, import_budget
from smartfin.processes.spending.requests import SpendingRequest, submit_spending_request
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.security.engine_users import Actor, admin_password, service_actor, variables
from tests.support.engine import DEMO_PASSWORD, approve_chain, process_ended, wait_for

pytestmark = pytest.mark.engine

YEAR = hospital_now().year
DEPARTMENT = "X-CONSBK"
LINE = f"""\
fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to
{YEAR},{DEPARTMENT},30218,fiscal,,Consent send-back,1000.00,control,0,0,95,{YEAR}-01-01,{YEAR}-12-31
"""
PRESIDENT = "zhao.lei"  # the demo member of the consent group (president)


@pytest.fixture(scope="module")
def line(camunda: EngineClient) -> str:
    with session_scope() as session:
        report = import_budget(session, LINE.encode(), actor="test", filename="consent-send-back-line.csv")
    assert report.ok, report.errors
    return DEPARTMENT


def user(camunda: EngineClient, name: str) -> Actor:
    return Actor(camunda.base_url, name, DEMO_PASSWORD)


def decision(value: str, comment: str) -> dict[str, Any]:
    return {"variables": variables(decision=value, comment=comment)}


def refused(answer: Any) -> None:
    assert 400 <= answer.status < 600 and answer.status != 404, f"expected a refusal: {answer.status} {answer.body}"


def audited(number: str, action: str) -> list[AuditEntry]:
    with session_scope() as session:
        rows = list(session.exec(select(AuditEntry).where(AuditEntry.subject_id == number,
                                                          AuditEntry.action == action)).all())
        session.expunge_all()
        return rows


def open_tasks(service: Actor, pid: str, key: str) -> list[dict[str, Any]]:
    return [t for t in service.ok("POST", "/task", {"processInstanceId": pid}) if t["taskDefinitionKey"] == key]


def at_consent(camunda: EngineClient, amount: str = "1500.00") -> tuple[str, str, dict[str, Any]]:
    """An over-plan request whose requester submitted the overspend report: the consent task."""
    number = submit_spending_request({"department": DEPARTMENT, "category": "materials", "amount": amount,
                                      "fundingSource": "fiscal", "requester": "zhang.wei", "payee": "某公司",
                                      "purpose": "超支退回测试 consent send-back"}, engine=camunda)
    with session_scope() as session:
        row = session.get(SpendingRequest, number)
        assert row is not None and row.process_instance_id
        pid = row.process_instance_id
    service = service_actor(camunda)
    report = service.open_task(pid, "writeOverspendReport")
    user(camunda, "zhang.wei").ok("POST", f"/task/{report['id']}/complete", {"variables": variables(
        overspendJustification="临时增加耗材 extra consumables", overspendAction="submit")})
    return number, pid, service.open_task(pid, "consentOverspend", timeout=30)


def asked_again(service: Actor, pid: str, before: str) -> dict[str, Any]:
    return wait_for(lambda: [t for t in open_tasks(service, pid, "consentOverspend") if t["id"] != before], 30,
                    message="the consent asked again")[0]


def test_a_consent_send_back_by_anyone_but_a_member_of_the_consent_group_with_a_reason_is_refused(
        camunda, workers, line):
    number, pid, consent = at_consent(camunda)
    service = service_actor(camunda)
    for outsider in ("li.na", "wang.fang", "zhang.wei"):  # a department head, a finance officer, the requester
        refused(user(camunda, outsider).call("POST", f"/task/{consent['id']}/complete",
                                             decision("sendBack", "退回 back")))
    assert service.task(consent["id"]) is not None, "the consent is still open"

    # the administrator completes anything; a send-back still has to be a member's of the consent group
    admin = Actor(camunda.base_url, "admin", admin_password())
    admin.ok("POST", f"/task/{consent['id']}/complete", decision("sendBack", "伪造退回 forged"))
    again = asked_again(service, pid, consent["id"])
    assert "not a member of president" in (again.get("description") or "")
    assert not open_tasks(service, pid, "reviseRequest")
    [refusal] = audited(number, "send-back-refused")
    assert refusal.details_dict["step"] == "consent"
    assert any("not a member of president" in p for p in refusal.details_dict["problems"])

    # the president without a reason: the requester would not know what to change
    user(camunda, PRESIDENT).ok("POST", f"/task/{again['id']}/complete", decision("sendBack", "  "))
    third = asked_again(service, pid, again["id"])
    assert "needs a reason" in (third.get("description") or "")
    assert not open_tasks(service, pid, "reviseRequest")
    assert not audited(number, "sent-back"), "a send-back that does not hold tells nobody"
    with session_scope() as session:
        assert document_holdings(session, "spending-request", number)[Bucket.PRE_ENCUMBRANCE] == Decimal("0.00")
    service.remove_instance(pid)


def test_the_president_sends_back_the_requester_revises_within_plan_and_the_chain_approves(camunda, workers, line):
    number, pid, consent = at_consent(camunda)
    service = service_actor(camunda)
    user(camunda, PRESIDENT).ok("POST", f"/task/{consent['id']}/complete",
                                decision("sendBack", "请压缩到预算内 keep it within the budget"))
    revise = service.open_task(pid, "reviseRequest", timeout=30)
    assert revise["assignee"] == "zhang.wei"
    assert "keep it within the budget" in (revise.get("description") or "")
    [sent] = audited(number, "sent-back")
    assert sent.actor == PRESIDENT and sent.details_dict["group"] == "president"
    assert sent.details_dict["step"] == "consent"

    user(camunda, "zhang.wei").ok("POST", f"/task/{revise['id']}/complete",
                                  {"variables": variables(amount="800.00", revisionAction="resubmit")})
    chain = approve_chain(camunda, pid)
    assert chain[0] == "dept-head"
    process_ended(camunda, pid)
    with session_scope() as session:
        row = session.get(SpendingRequest, number)
        assert row is not None and (row.status, row.amount) == ("approved", Decimal("800.00"))
        assert document_holdings(session, "spending-request", number)[Bucket.PRE_ENCUMBRANCE] == Decimal("800.00")
    assert [e.actor for e in audited(number, "resubmitted")] == ["zhang.wei"]
