"""Forged, missing and misdirected signatures on spending requests: nothing moves, a finance officer is told.

The forgeries are done as the service account, which the engine's write guard lets write anything — the
strongest attacker the engine can have. What must hold even then is the control step before
pre-encumbrance (the stored chain against the engine's history) and each worker's check of the variables
against the recorded request. The demo users' own attempts are refused by the guard first.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import select

from smartfin.camunda.client import EngineClient, EngineError
from smartfin.camunda.variables import encode_variables
from smartfin.kernel.clock import hospital_now
from smartfin.ledger import BudgetLineKey, balances, import_budget
from smartfin.ledger.report import document_entries
from smartfin.processes.spending.requests import SpendingRequest, submit_spending_request
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.support.engine import (
    APPROVER_OF_GROUP,
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
{YEAR},X-CHAIN,30218,fiscal,,Attacks on the chain,1000000.00,control,0,0,95,{YEAR}-01-01,{YEAR}-12-31
{YEAR},X-TIGHT,30218,fiscal,,Tight control line,1000.00,control,0,0,95,{YEAR}-01-01,{YEAR}-12-31
"""
ATTACKED_LINES = (BudgetLineKey(YEAR, "X-CHAIN", "30218", "fiscal"), BudgetLineKey(YEAR, "X-TIGHT", "30218", "fiscal"))


@pytest.fixture(scope="module")
def lines() -> int:
    with session_scope() as session:
        report = import_budget(session, LINES.encode(), actor="test", filename="chain-attack-lines.csv")
    assert report.ok, report.errors
    return YEAR


def submit(camunda: EngineClient, amount: str, *, department: str = "X-CHAIN",
           requester: str = "zhang.wei") -> tuple[str, str]:
    number = submit_spending_request({"department": department, "category": "materials", "amount": amount,
                                      "fundingSource": "fiscal", "requester": requester, "payee": "某医疗器械公司",
                                      "purpose": "攻击测试 attack test"}, engine=camunda)
    with session_scope() as session:
        row = session.get(SpendingRequest, number)
        assert row is not None and row.process_instance_id
        return number, row.process_instance_id


def journal(number: str) -> list[tuple[str, int]]:
    with session_scope() as session:
        return [(e.bucket, e.amount_fen) for e in document_entries(session, number)]


def status(number: str) -> str:
    with session_scope() as session:
        row = session.get(SpendingRequest, number)
        assert row is not None
        return row.status


def approve(camunda: EngineClient, task: dict[str, Any]) -> None:
    [group] = candidate_groups(camunda, task["id"])
    as_user(camunda, APPROVER_OF_GROUP[group]).complete_task(task["id"], {"decision": "approve", "comment": "同意"})
    wait_for(lambda: not camunda.tasks(taskId=task["id"]), 10, message="task completion")


def approve_rest(camunda: EngineClient, pid: str) -> None:
    """Every remaining approval, signed by its group's member, until another task comes or the process ends."""
    def next_task() -> Any:
        tasks = camunda.tasks(processInstanceId=pid)
        if tasks:
            return tasks[0]
        return "ended" if camunda.historic_process(pid).get("state") == "COMPLETED" else None
    while True:
        task = wait_for(next_task, message=f"the next task of {pid}")
        if task == "ended" or task["taskDefinitionKey"] != "approveRequest":
            return
        approve(camunda, task)


def service_set(camunda: EngineClient, task_id: str, name: str, value: Any) -> None:
    camunda.post(f"/task/{task_id}/variables", {"modifications": encode_variables({name: value})})


def forge_step_copies(camunda: EngineClient, pid: str, task_id: str, position: int) -> None:
    """Also rewrite the engine's copies of the chain (the routed ``approvalChain``, the task's ``approvalStep`` and
    ``approverGroup``) so that the engine lets the forged completion through: the service account may write them,
    and what must still catch the forgery is the stored chain."""
    [group] = candidate_groups(camunda, task_id)
    chain = json.loads(camunda.process_variables(pid)["approvalChain"])
    chain[position] = group
    camunda.post(f"/process-instance/{pid}/variables",
                 {"modifications": encode_variables({"approvalChain": json.dumps(chain)})})
    camunda.put(f"/task/{task_id}/localVariables/approvalStep", {"value": position + 1, "type": "Integer"})
    service_set(camunda, task_id, "approverGroup", group)


def sent_to_exception(camunda: EngineClient, pid: str, number: str, *reasons: str) -> None:
    """The request waits at the finance officer's exception task, no money moved; voiding it closes it."""
    task = open_task(camunda, pid)
    assert task["taskDefinitionKey"] == "reviewApprovalException", task["taskDefinitionKey"]
    assert candidate_groups(camunda, task["id"]) == ["finance-officer"]
    problems = camunda.process_variables(pid)["approvalProblems"]
    for reason in reasons:
        assert reason in problems, problems
    assert problems in task["description"], "the finance officer reads the reasons on the task"
    assert journal(number) == [], "nothing is reserved for a broken chain"
    with session_scope() as session:
        audit = session.exec(select(AuditEntry).where(AuditEntry.subject_id == number,
                                                      AuditEntry.action == "approvals-incomplete")).all()
    assert audit, "the failed verification is in the audit log"
    as_user(camunda, "wang.fang").complete_task(task["id"])
    process_ended(camunda, pid)
    assert ended_at(camunda, pid) == {"requestVoided"}
    assert status(number) == "rejected"
    assert journal(number) == []


def test_skipping_steps_through_the_loop_counter_sends_the_request_to_the_exception_task(camunda, workers, lines):
    number, pid = submit(camunda, "6000.00")  # six approvers
    approve(camunda, open_task(camunda, pid))
    second = open_task(camunda, pid)
    service_set(camunda, second["id"], "loopCounter", 5)  # the chain now ends after this signature
    forge_step_copies(camunda, pid, second["id"], 5)
    approve(camunda, second)

    sent_to_exception(camunda, pid, number, "6 steps, 2 approvals", "step 3 (finance-officer)")


def test_approval_completed_by_a_user_outside_the_group_is_not_a_signature(camunda, workers, lines):
    number, pid = submit(camunda, "800.00")
    first = open_task(camunda, pid)
    camunda.post(f"/task/{first['id']}/assignee", {"userId": "sun.li"})  # budget committee, not dept-head
    as_user(camunda, "sun.li").complete_task(first["id"], {"decision": "approve", "comment": "代签"})
    approve_rest(camunda, pid)

    sent_to_exception(camunda, pid, number, "step 1 (dept-head)", "sun.li is not a member of dept-head")


def test_approval_whose_candidate_group_was_swapped_is_not_a_signature(camunda, workers, lines):
    number, pid = submit(camunda, "800.00")
    first = open_task(camunda, pid)
    camunda.post(f"/task/{first['id']}/identity-links/delete", {"groupId": "dept-head", "type": "candidate"})
    camunda.post(f"/task/{first['id']}/identity-links", {"groupId": "budget-committee", "type": "candidate"})
    forge_step_copies(camunda, pid, first["id"], 0)
    as_user(camunda, "sun.li").complete_task(first["id"], {"decision": "approve", "comment": "代签"})
    approve_rest(camunda, pid)

    sent_to_exception(camunda, pid, number, "candidate groups were budget-committee, not dept-head",
                      "sun.li is not a member of dept-head")


def test_missing_consent_over_plan_moves_no_money_even_with_a_forged_decisions_variable(camunda, workers, lines):
    _, filler = submit(camunda, "900.00", department="X-TIGHT")
    approve_rest(camunda, filler)
    process_ended(camunda, filler)
    number, pid = submit(camunda, "800.00", department="X-TIGHT")  # only ¥100 left on a control line
    report = open_task(camunda, pid)
    assert report["taskDefinitionKey"] == "writeOverspendReport"
    forged = [{"task": "consentOverspend", "user": "zhao.lei", "outcome": "approve", "time": "2026-01-01T00:00"}]
    camunda.post(f"/process-instance/{pid}/variables", {"modifications": encode_variables(
        {"decisions": forged, "withinPlan": False, "overspendJustification": "伪造 forged"})})
    camunda.post(f"/process-instance/{pid}/modification", {"instructions": [
        {"type": "startBeforeActivity", "activityId": "fixApprovalChain"},
        {"type": "cancel", "activityId": "writeOverspendReport"}]})
    approve_rest(camunda, pid)

    sent_to_exception(camunda, pid, number, "over plan without the unit head's prior consent")


def test_requester_overwritten_so_she_can_sign_her_own_request_is_caught(camunda, workers, lines):
    number, pid = submit(camunda, "800.00", requester="li.na")  # li.na is also a department head
    first = open_task(camunda, pid)
    service_set(camunda, first["id"], "requester", "zhang.wei")
    as_user(camunda, "li.na").complete_task(first["id"], {"decision": "approve", "comment": "self"})
    approve_rest(camunda, pid)

    sent_to_exception(camunda, pid, number, "li.na is the requester", "variable requester")


def test_demo_users_cannot_rewrite_the_request_on_their_task(camunda, workers, lines):
    number, pid = submit(camunda, "300.00")
    task = open_task(camunda, pid)
    li_na = as_user(camunda, "li.na")
    for name, value in (("requestNo", "REQ-1999-000001"), ("amount", "1.00"), ("requester", "li.na")):
        with pytest.raises(EngineError, match="WRITE_GUARD") as refused:
            li_na.put(f"/task/{task['id']}/variables/{name}", {"value": value, "type": "String"})
        assert name in str(refused.value)
    variables = camunda.process_variables(pid)
    assert (variables["requestNo"], variables["amount"], variables["requester"]) == (number, "300.00", "zhang.wei")


def test_another_requests_number_set_on_a_task_closes_neither_and_moves_no_money(camunda, workers, lines):
    victim, victim_pid = submit(camunda, "50000.00")
    open_task(camunda, victim_pid)
    number, pid = submit(camunda, "50.00")
    first = open_task(camunda, pid)
    service_set(camunda, first["id"], "requestNo", victim)  # the guard would refuse this to a user
    approve(camunda, first)
    approve_rest(camunda, pid)

    sent_to_exception(camunda, pid, number, f"variable requestNo is '{victim}'")
    assert status(victim) == "submitted" and journal(victim) == []
    assert open_task(camunda, victim_pid)["taskDefinitionKey"] == "approveRequest"


def test_a_worker_refuses_an_amount_that_disagrees_with_the_record(camunda, workers, lines):
    """The amount copy changed at the last signature: the control step reads the record and refuses."""
    number, pid = submit(camunda, "700.00")
    while True:
        task = open_task(camunda, pid)
        if candidate_groups(camunda, task["id"]) == ["chief-accountant"]:
            break
        approve(camunda, task)
    service_set(camunda, task["id"], "amount", "7.00")
    approve(camunda, task)

    sent_to_exception(camunda, pid, number, "variable amount is '7.00'")


def test_attacked_lines_never_go_below_zero(camunda, workers, lines):
    with session_scope() as session:
        for key in ATTACKED_LINES:
            assert balances(session, key).available >= 0, key
