"""Send back, resubmit and withdraw on reimbursement claims, attacked through the engine's REST API.

The demo users try what their passwords let them send: a send-back on a step that is not theirs, another
person's resubmission, variables the forms do not offer or show read-only (the budget line text). The engine's
write guard refuses those first; the administrator and the service account (which the guard lets write
anything) stand for the strongest attacker, and what must hold even then are the workers' checks against
the record and the engine's history: a send-back by a non-member of the step's group moves nothing, a
revision not completed by the recorded claimant changes nothing, a variable naming another claimant or
amount is not believed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select

from extractors.invoice.samples import xml_invoice
from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_now
from smartfin.ledger import Bucket, document_holdings, import_budget
from smartfin.processes.reimbursement.claims import Claim, claim_invoices, submit_claim
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.security.engine_users import Actor, admin_password, service_actor, variables
from tests.support.engine import DEMO_PASSWORD, wait_for

pytestmark = pytest.mark.engine

YEAR = hospital_now().year
DEPARTMENT = "X-BXSENDBK"
LINE = f"""\
fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to
{YEAR},{DEPARTMENT},30201,fiscal,,Claim send-back attacks,100000.00,control,0,0,95,{YEAR}-01-01,{YEAR}-12-31
"""
DOC = "reimbursement-claim"
CLAIMANT = "zhang.wei"


@pytest.fixture(scope="module")
def line(camunda: EngineClient) -> str:
    with session_scope() as session:
        report = import_budget(session, LINE.encode(), actor="test", filename="claim-send-back-attack-line.csv")
    assert report.ok, report.errors
    return DEPARTMENT


def user(camunda: EngineClient, name: str) -> Actor:
    return Actor(camunda.base_url, name, DEMO_PASSWORD)


def verify_by_hand(camunda: EngineClient, pid: str) -> None:
    """The finance officer checks the invoices by hand (the test invoices cannot be checked online)."""
    task = service_actor(camunda).open_task(pid, "verifyManually", timeout=60)
    user(camunda, "wang.fang").ok("POST", f"/task/{task['id']}/complete",
                                  {"variables": variables(decision="consistent", comment="查验一致")})


def submit(camunda: EngineClient, seed: str) -> tuple[str, str]:
    """A claim with two invoices (120 + 80 yuan), verified by hand, waiting at its first approval step."""
    files = [xml_invoice(f"{seed}-a", total=Decimal("120.00"))[:2],
             xml_invoice(f"{seed}-b", total=Decimal("80.00"))[:2]]
    number = submit_claim(files, claimant=CLAIMANT, department=DEPARTMENT, category="office",
                          purpose="退回攻击测试 send-back attack", engine=camunda)
    pid = record(number).process_instance_id or ""
    verify_by_hand(camunda, pid)
    service_actor(camunda).open_task(pid, "approveClaim", timeout=60)
    return number, pid


def record(number: str) -> Claim:
    with session_scope() as session:
        row = session.get(Claim, number)
        assert row is not None
        session.expunge(row)
        return row


def reserved(number: str) -> Decimal:
    with session_scope() as session:
        return document_holdings(session, DOC, number)[Bucket.PRE_ENCUMBRANCE]


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
    """The dept-head step sent back by its member; the claimant's revision task."""
    service = service_actor(camunda)
    task = service.open_task(pid, "approveClaim")
    user(camunda, "li.na").ok("POST", f"/task/{task['id']}/complete", decision("sendBack", "请去掉第二张 drop #2"))
    return service.open_task(pid, "reviseClaim", timeout=30)


def refused(answer: Any) -> None:
    assert 400 <= answer.status < 600 and answer.status != 404, f"expected a refusal: {answer.status} {answer.body}"


def test_a_send_back_by_someone_not_on_the_step_is_refused(camunda, workers, line):
    number, pid = submit(camunda, "attack-sb-outsider")
    service = service_actor(camunda)
    task = service.open_task(pid, "approveClaim")
    for outsider in ("wang.fang", "zhao.lei", CLAIMANT):
        refused(user(camunda, outsider).call("POST", f"/task/{task['id']}/complete",
                                             decision("sendBack", "不同意 no")))
    assert service.task(task["id"]) is not None, "the step is still open"

    # the administrator may complete anything; the send-back still has to be a member's of the step's group
    admin = Actor(camunda.base_url, "admin", admin_password())
    admin.ok("POST", f"/task/{task['id']}/complete", decision("sendBack", "伪造退回 forged"))
    again = wait_for(lambda: [t for t in open_tasks(service, pid, "approveClaim") if t["id"] != task["id"]], 30,
                     message="the step asked again")[0]
    assert "dept-head" in (again.get("description") or "")
    assert not open_tasks(service, pid, "reviseClaim")
    assert not audited(number, "claim.sent-back"), "a forged send-back tells nobody and moves nothing"
    [refusal] = audited(number, "claim.send-back-refused")
    assert any("not a member of dept-head" in p for p in refusal.details_dict["problems"])
    assert reserved(number) == Decimal("200.00")
    service.remove_instance(pid)


def test_only_the_recorded_claimant_revises_and_resubmits(camunda, workers, line):
    number, pid = submit(camunda, "attack-sb-other")
    revise = sent_back(camunda, pid)
    assert revise["assignee"] == CLAIMANT
    edit = {"variables": variables(removeFiles="2", purpose="改了 changed", revisionAction="resubmit")}
    for other in ("li.na", "chen.jie", "wang.fang"):
        refused(user(camunda, other).call("POST", f"/task/{revise['id']}/complete", edit))
        refused(user(camunda, other).call("POST", f"/task/{revise['id']}/claim", {"userId": other}))
    service = service_actor(camunda)
    assert service.task(revise["id"])["assignee"] == CLAIMANT

    # the strongest attacker completes the claimant's task: the record does not change
    service.ok("POST", f"/task/{revise['id']}/complete", edit)
    again = wait_for(lambda: [t for t in open_tasks(service, pid, "reviseClaim") if t["id"] != revise["id"]], 30,
                     message="the revision back with the claimant")[0]
    assert again["assignee"] == CLAIMANT
    row = record(number)
    assert row.purpose == "退回攻击测试 send-back attack" and row.payable == Decimal("200.00")
    with session_scope() as session:
        assert {r.state for r in claim_invoices(session, number)} == {"read"}, "no invoice was taken out"
    assert not audited(number, "claim.resubmitted")
    [refusal] = audited(number, "claim.revision-refused")
    assert any(f"only the requester {CLAIMANT}" in p for p in refusal.details_dict["problems"])
    service.remove_instance(pid)


def test_variables_naming_another_claimant_or_amount_are_not_believed(camunda, workers, line):
    number, pid = submit(camunda, "attack-sb-vars")
    service = service_actor(camunda)
    claimant = user(camunda, CLAIMANT)
    # the service account (the strongest writer) names another claimant and a smaller amount
    for name, value in (("claimant", "chen.jie"), ("amount", "1.00")):
        service.ok("PUT", f"/process-instance/{pid}/variables/{name}", {"value": value, "type": "String"})
    revise = sent_back(camunda, pid)
    assert revise["assignee"] == CLAIMANT, "the revision goes to the claimant of the record"
    assert service.variables(pid)["claimant"] == CLAIMANT
    for injected in ({"claimant": "chen.jie"}, {"amount": "2.00"}, {"approvalChain": '["dept-head"]'},
                     {"claimNo": "BX-0000-000001"}, {"sendBackReason": "none"}):
        refused(claimant.call("POST", f"/task/{revise['id']}/complete",
                              {"variables": variables(removeFiles="2", revisionAction="resubmit", **injected)}))
    claimant.ok("POST", f"/task/{revise['id']}/complete",
                {"variables": variables(removeFiles="2", revisionAction="resubmit")})
    verify_by_hand(camunda, pid)  # the resubmitted claim is read, audited and verified again
    wait_for(lambda: open_tasks(service, pid, "approveClaim"), 60, message="round 2")
    row = record(number)
    assert (row.claimant, row.payable) == (CLAIMANT, Decimal("120.00")), "invoice #2 (80.00) taken out"
    assert reserved(number) == row.payable, "reserved from the invoices kept, not from a variable"
    service.remove_instance(pid)


def test_the_budget_line_and_history_texts_cannot_be_changed_by_the_approver(camunda, workers, line):
    _, pid = submit(camunda, "attack-sb-text")
    service = service_actor(camunda)
    task = service.open_task(pid, "approveClaim")
    shown = service.variables(pid)["budgetLineText"]
    approver = user(camunda, "li.na")
    for name in ("budgetLineText", "approvalHistoryText"):
        refused(approver.call("POST", f"/task/{task['id']}/complete",
                              {"variables": variables(decision="approve", comment="ok", **{name: "可用 999999.00"})}))
        refused(approver.call("PUT", f"/task/{task['id']}/variables/{name}",
                              {"value": "可用 999999.00", "type": "String"}))
    assert service.variables(pid)["budgetLineText"] == shown
    assert service.task(task["id"]) is not None
    service.remove_instance(pid)
