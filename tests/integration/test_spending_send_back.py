"""Send back for revision (退回修改) and withdrawal of spending requests, on the real engine with the workers.

An approver sends a request back with a reason; the recorded requester revises and resubmits it, the chain is
routed anew from the new amount as a new round, and the stored history keeps both rounds; or the requester
withdraws it and nothing stays reserved.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select

from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_now
from smartfin.ledger import Bucket, document_holdings, import_budget
from smartfin.processes.approvals import ApprovalDecision, all_steps, recorded_decisions
from smartfin.processes.spending.requests import (
    SpendingRequest,
    list_requests,
    request_statuses,
    submit_spending_request,
)
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.support.engine import (
    APPROVER_OF_GROUP,
    approve_chain,
    as_user,
    candidate_groups,
    ended_at,
    open_task,
    process_ended,
    wait_for,
)

pytestmark = pytest.mark.engine

YEAR = hospital_now().year
LINES = f"""\
fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to
{YEAR},T-SENDBK,30218,fiscal,,Send back and resubmit,1000000.00,control,0,0,95,{YEAR}-01-01,{YEAR}-12-31
{YEAR},T-SENDBK,30215,fiscal,,Send back: meetings,1000000.00,control,0,0,95,{YEAR}-01-01,{YEAR}-12-31
"""
DOC = "spending-request"


@pytest.fixture(scope="module")
def lines() -> int:
    with session_scope() as session:
        report = import_budget(session, LINES.encode(), actor="test", filename="send-back-lines.csv")
    assert report.ok, report.errors
    return YEAR


def submit(camunda: EngineClient, amount: str, requester: str = "zhang.wei") -> tuple[str, str]:
    number = submit_spending_request({"department": "T-SENDBK", "category": "materials", "amount": amount,
                                      "fundingSource": "fiscal", "requester": requester, "payee": "国药控股",
                                      "purpose": "耗材 consumables"}, engine=camunda)
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


def held(number: str) -> Decimal:
    with session_scope() as session:
        return document_holdings(session, DOC, number)[Bucket.PRE_ENCUMBRANCE]


def audit(number: str, action: str) -> list[AuditEntry]:
    with session_scope() as session:
        rows = list(session.exec(select(AuditEntry).where(AuditEntry.subject_id == number,
                                                          AuditEntry.action == action)).all())
        session.expunge_all()
        return rows


def decide(camunda: EngineClient, pid: str, decision: str, comment: str) -> dict[str, Any]:
    """The open approval step decided by its group's demo user; returns the task."""
    task = open_task(camunda, pid)
    assert task["taskDefinitionKey"] == "approveRequest"
    [group] = candidate_groups(camunda, task["id"])
    as_user(camunda, APPROVER_OF_GROUP[group]).complete_task(task["id"], {"decision": decision, "comment": comment})
    return task


def revision_task(camunda: EngineClient, pid: str) -> dict[str, Any]:
    return wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid)
                             if t["taskDefinitionKey"] == "reviseRequest"], 30, message="revision task")[0]


def listed(number: str) -> str:
    """The request's status as ``smartfin document requests`` shows it."""
    with session_scope() as session:
        row = session.get(SpendingRequest, number)
        assert row is not None
        return request_statuses(session, [row])[number]


def listed_as(status: str) -> set[str]:
    with session_scope() as session:
        return {r.request_no for r in list_requests(session, status=status)}


def test_sent_back_request_is_revised_resubmitted_and_routed_again_as_a_new_round(camunda, workers, lines):
    number, pid = submit(camunda, "800.00")
    decide(camunda, pid, "approve", "同意")                                   # dept-head
    decide(camunda, pid, "sendBack", "请写明耗材规格 name the items")          # vice-president

    task = revision_task(camunda, pid)
    assert task["assignee"] == "zhang.wei", "the recorded requester revises"
    assert "请写明耗材规格" in (task.get("description") or "")
    assert camunda.process_variables(pid)["sendBackReason"] == "请写明耗材规格 name the items"
    assert record(number).status == "submitted" and held(number) == Decimal("0.00")
    [sent] = audit(number, "sent-back")
    assert sent.actor == "chen.jie" and sent.details_dict["reason"] == "请写明耗材规格 name the items"
    assert listed(number) == "sent-back", "the list shows it waiting for its requester"
    assert number in listed_as("sent-back") and number not in listed_as("submitted")

    as_user(camunda, "zhang.wei").complete_task(task["id"], {
        "amount": "8000.00", "purpose": "一次性注射器 500 盒 syringes", "revisionAction": "resubmit"})

    wait_for(lambda: listed(number) == "submitted", 30, message="the resubmitted request listed as in approval")
    chain = approve_chain(camunda, pid)
    assert chain == ["dept-head", "vice-president", "finance-officer", "finance-vp", "chief-accountant",
                     "president"], "the new amount needs the president: the chain is routed anew"
    process_ended(camunda, pid)
    assert ended_at(camunda, pid) == {"requestApproved"}
    row = record(number)
    assert (row.status, row.amount, row.purpose) == ("approved", Decimal("8000.00"), "一次性注射器 500 盒 syringes")
    assert held(number) == Decimal("8000.00")
    [resubmitted] = audit(number, "resubmitted")
    assert resubmitted.actor == "zhang.wei"
    assert resubmitted.details_dict["changes"]["amount_fen"] == ["80000", "800000"]
    with session_scope() as session:
        steps = all_steps(session, DOC, number)
        decisions = recorded_decisions(session, DOC, number)
    assert {s.round for s in steps} == {1, 2}
    assert [s.candidate_group for s in steps if s.round == 1] == ["dept-head", "vice-president", "finance-officer",
                                                                 "chief-accountant"]
    assert {s.amount for s in steps if s.round == 2} == {Decimal("8000.00")}
    first = [(d.step, d.user_id, d.outcome, d.comment) for d in decisions if d.round == 1]
    assert first == [(1, "li.na", "approve", "同意"), (2, "chen.jie", "sendBack", "请写明耗材规格 name the items"),
                     (None, "zhang.wei", "resubmit", None)]
    second = [(d.step, d.user_id, d.outcome) for d in decisions if d.round == 2]
    assert [s for s, _, _ in second] == [1, 2, 3, 4, 5, 6] and all(o == "approve" for _, _, o in second)
    assert all(d.decided_at for d in decisions)


def test_requester_withdraws_a_sent_back_request_and_nothing_stays_reserved(camunda, workers, lines):
    number, pid = submit(camunda, "600.00")
    decide(camunda, pid, "sendBack", "预算科目不对 wrong line")
    task = revision_task(camunda, pid)
    as_user(camunda, "zhang.wei").complete_task(task["id"], {"revisionAction": "withdraw"})
    process_ended(camunda, pid)
    assert ended_at(camunda, pid) == {"requestWithdrawnByRequester"}
    assert wait_for(lambda: record(number).status == "withdrawn", message="withdrawn status")
    assert held(number) == Decimal("0.00")
    assert [e.actor for e in audit(number, "withdrawal-requested")] == ["zhang.wei"]
    with session_scope() as session:
        answers = [(d.round, d.user_id, d.outcome) for d in recorded_decisions(session, DOC, number)]
    assert answers == [(1, "li.na", "sendBack"), (1, "zhang.wei", "withdraw")]


def test_an_invalid_revision_goes_back_to_the_requester_with_the_reason_and_the_record_unchanged(
        camunda, workers, lines):
    number, pid = submit(camunda, "700.00")
    decide(camunda, pid, "sendBack", "金额有误 wrong amount")
    task = revision_task(camunda, pid)
    as_user(camunda, "zhang.wei").complete_task(task["id"], {"amount": "12.345", "category": "no-such-category",
                                                             "revisionAction": "resubmit"})
    again = wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid)
                              if t["taskDefinitionKey"] == "reviseRequest" and t["id"] != task["id"]], 30,
                     message="the revision task again")[0]
    assert again["assignee"] == "zhang.wei"
    problem = camunda.process_variables(pid)["revisionProblem"]
    assert "amount" in problem and "category" in problem
    assert "amount" in (again.get("description") or "")
    row = record(number)
    assert (row.amount, row.category) == (Decimal("700.00"), "materials")
    assert not audit(number, "resubmitted")

    as_user(camunda, "zhang.wei").complete_task(again["id"], {"amount": "650.00", "category": "materials",
                                                              "revisionAction": "resubmit"})
    task = wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid)
                             if t["taskDefinitionKey"] == "approveRequest"], 30, message="round 2")[0]
    assert candidate_groups(camunda, task["id"]) == ["dept-head"]
    assert record(number).amount == Decimal("650.00")
    camunda.correlate("SpendingRequestWithdrawn", number)
    process_ended(camunda, pid)
    assert wait_for(lambda: record(number).status == "withdrawn", message="withdrawn")


def test_a_send_back_without_a_reason_is_refused_and_the_step_asked_again(camunda, workers, lines):
    number, pid = submit(camunda, "900.00")
    first = decide(camunda, pid, "sendBack", "  ")
    again = wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid)
                              if t["taskDefinitionKey"] == "approveRequest" and t["id"] != first["id"]], 30,
                     message="the step asked again")[0]
    assert candidate_groups(camunda, again["id"]) == ["dept-head"]
    assert "reason" in (again.get("description") or "")
    assert [e.actor for e in audit(number, "send-back-refused")] == ["li.na"]
    assert not audit(number, "sent-back")
    assert listed(number) == "submitted", "a refused send-back leaves the request in approval"
    chain = approve_chain(camunda, pid)
    assert chain == ["dept-head", "vice-president", "finance-officer", "chief-accountant"]
    process_ended(camunda, pid)
    assert record(number).status == "approved", "the refused send-back signs nothing and breaks nothing"
    with session_scope() as session:
        refused = session.exec(select(ApprovalDecision).where(ApprovalDecision.task_id == first["id"])).first()
    assert refused is None
