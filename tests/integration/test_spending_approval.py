"""The spending-approval process on the real engine, with the product's workers running."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from smartfin.camunda.client import EngineAuthError, EngineClient, EngineRequestError
from smartfin.ledger import Bucket, BudgetLineKey, balances, document_holdings
from smartfin.processes.documents import Refused
from smartfin.processes.spending.requests import SpendingRequest, submit_spending_request
from smartfin.store.db import session_scope
from tests.support.engine import (
    approve_chain,
    as_user,
    candidate_groups,
    ended_at,
    open_task,
    process_ended,
    wait_for,
)

pytestmark = pytest.mark.engine


def submit(camunda: EngineClient, department: str, amount: str, *, category: str = "materials",
           funding: str = "fiscal", requester: str = "zhang.wei", payee: str = "国药控股",
           economic_code: str | None = None) -> tuple[str, str]:
    number = submit_spending_request({"department": department, "category": category, "amount": amount,
                                      "fundingSource": funding, "requester": requester, "payee": payee,
                                      "purpose": "测试 test"}, engine=camunda)
    with session_scope() as session:
        row = session.get(SpendingRequest, number)
        assert row is not None and row.process_instance_id
        return number, row.process_instance_id


def request_row(number: str) -> SpendingRequest:
    with session_scope() as session:
        row = session.get(SpendingRequest, number)
        assert row is not None
        return row


def held(number: str) -> Decimal:
    with session_scope() as session:
        holdings = document_holdings(session, "spending-request", number)
    return holdings[Bucket.PRE_ENCUMBRANCE]


def test_within_budget_request_reaches_dept_head_and_pre_encumbers_when_approved(camunda, workers, budget):
    number, pid = submit(camunda, "T-CARD", "3680.00")
    task = open_task(camunda, pid)
    assert task["taskDefinitionKey"] == "approveRequest"
    assert candidate_groups(camunda, task["id"]) == ["dept-head"]
    # Tasklist users see only their groups' tasks
    assert [t["id"] for t in as_user(camunda, "li.na").tasks(processInstanceId=pid)] == [task["id"]]
    assert as_user(camunda, "wang.fang").tasks(processInstanceId=pid) == []
    assert held(number) == Decimal("0.00"), "nothing is reserved before approval"

    chain = approve_chain(camunda, pid)

    assert chain == ["dept-head", "vice-president", "finance-officer", "finance-vp", "chief-accountant"]
    process_ended(camunda, pid)
    assert ended_at(camunda, pid) == {"requestApproved"}
    assert request_row(number).status == "approved"
    assert held(number) == Decimal("3680.00")
    with session_scope() as session:
        line = balances(session, BudgetLineKey(budget, "T-CARD", "30218", "fiscal"))
    assert line.pre_encumbrance >= Decimal("3680.00")
    decisions = camunda.historic_variables(pid)["decisions"]
    assert [d["user"] for d in decisions] == ["li.na", "chen.jie", "wang.fang", "yang.min", "liu.yang"]
    assert all(d["outcome"] == "approve" and d["time"] for d in decisions)


def test_over_budget_request_takes_the_over_plan_path_with_consent_as_override(camunda, workers, budget):
    number, pid = submit(camunda, "T-MEET", "26500.00", category="meeting", funding="own")
    report = open_task(camunda, pid)
    assert report["taskDefinitionKey"] == "writeOverspendReport"
    assert report["assignee"] == "zhang.wei"
    variables = camunda.process_variables(pid)
    assert variables["withinPlan"] is False and "BUDGET" not in variables.get("budgetOutcome", "")
    as_user(camunda, "zhang.wei").complete_task(report["id"], {
        "overspendJustification": "区域学术会议规模扩大，参会人数增加一倍", "overspendAction": "submit"})

    consent = wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid)
                                if t["taskDefinitionKey"] == "consentOverspend"], message="consent task")[0]
    assert candidate_groups(camunda, consent["id"]) == ["president"]
    as_user(camunda, "zhao.lei").complete_task(consent["id"], {"decision": "approve", "comment": "同意"})

    chain = approve_chain(camunda, pid)
    assert "budget-committee" in chain and chain[0] == "dept-head"
    process_ended(camunda, pid)
    assert request_row(number).status == "approved"
    assert held(number) == Decimal("26500.00")
    with session_scope() as session:
        from sqlmodel import select

        from smartfin.ledger import JournalEntry
        entry = session.exec(select(JournalEntry).where(JournalEntry.document_no == number)).one()
    assert entry.override_by == "zhao.lei"
    assert "学术会议" in (entry.override_reason or "")


def test_rejected_request_reserves_nothing(camunda, workers, budget):
    number, pid = submit(camunda, "T-REJ", "2000.00")
    chain = approve_chain(camunda, pid, reject_at="finance-officer")
    assert chain[-1] == "finance-officer"
    process_ended(camunda, pid)
    assert ended_at(camunda, pid) == {"requestRejected"}
    assert request_row(number).status == "rejected"
    assert held(number) == Decimal("0.00")


def test_withdrawn_request_reserves_nothing(camunda, workers, budget):
    number, pid = submit(camunda, "T-WD", "1500.00")
    open_task(camunda, pid)
    camunda.correlate("SpendingRequestWithdrawn", number)
    process_ended(camunda, pid)
    assert ended_at(camunda, pid) == {"requestWithdrawn"}
    assert wait_for(lambda: request_row(number).status == "withdrawn", message="withdrawn status")
    assert held(number) == Decimal("0.00")


def test_requester_can_never_approve_their_own_request(camunda, workers, budget):
    number, pid = submit(camunda, "T-4EYES", "800.00", requester="li.na")
    task = open_task(camunda, pid)
    assert candidate_groups(camunda, task["id"]) == ["dept-head"]
    li_na = as_user(camunda, "li.na")
    with pytest.raises(EngineRequestError, match="FOUR_EYES"):
        li_na.claim_task(task["id"], "li.na")
    with pytest.raises(EngineRequestError, match="FOUR_EYES"):
        li_na.complete_task(task["id"], {"decision": "approve", "comment": "self"})
    assert camunda.tasks(taskId=task["id"]), "the task stays open"
    assert held(number) == Decimal("0.00")


def test_unknown_budget_line_is_refused_before_anything_is_written(camunda, budget):
    with pytest.raises(Refused, match="NOPE"):
        submit(camunda, "NOPE", "100.00")
    with session_scope() as session:
        from sqlmodel import select
        assert session.exec(select(SpendingRequest).where(SpendingRequest.department == "NOPE")).all() == []


def test_request_started_in_tasklist_without_budget_line_closes_as_no_budget_line(camunda, workers, budget):
    instance = as_user(camunda, "zhang.wei").start_process("spending-approval", "TL-NOLINE-1", {
        "department": "GHOST", "category": "materials", "fundingSource": "fiscal", "amount": "120.00",
        "payee": "某公司", "purpose": "Tasklist start form"})  # the requester is the starter
    process_ended(camunda, instance["id"])
    assert ended_at(camunda, instance["id"]) == {"requestNoBudget"}
    assert request_row("TL-NOLINE-1").status == "no-budget-line"
    reason = request_row("TL-NOLINE-1").closing_reason or ""
    assert "GHOST" in reason


@pytest.mark.parametrize("amount, problem", [("-5", "negative"), ("abc", "not a number"),
                                              ("12.345", "more than 2 decimal places")])
def test_invalid_request_from_tasklist_closes_as_invalid_naming_the_field(camunda, workers, budget, amount,
                                                                          problem):
    key = f"TL-INVALID-{abs(hash(amount)) % 10**6}"
    instance = as_user(camunda, "zhang.wei").start_process("spending-approval", key, {
        "department": "T-CARD", "category": "materials", "fundingSource": "fiscal", "amount": amount,
        "payee": "某公司", "purpose": "bad amount"})  # the requester is the starter
    process_ended(camunda, instance["id"])
    assert ended_at(camunda, instance["id"]) == {"requestRefused"}
    reason = camunda.historic_variables(instance["id"])["closingReason"]
    assert "amount" in reason and problem in reason


@pytest.mark.parametrize("values, field", [
    ({"department": "", "category": "materials"}, "department"),
    ({"department": "T-CARD", "category": ""}, "category"),
    ({"department": "T-CARD", "category": "snacks"}, "category"),
])
def test_cli_submission_names_the_missing_or_wrong_field(camunda, budget, values, field):
    from smartfin.processes.spending.requests import InvalidRequest
    with pytest.raises(InvalidRequest) as error:
        submit_spending_request({**values, "amount": "10.00", "fundingSource": "fiscal",
                                 "requester": "zhang.wei", "payee": "x", "purpose": "y"}, engine=camunda)
    assert field in [name for name, _ in error.value.problems]


def test_split_requests_just_under_a_tier_are_flagged_to_the_approver(camunda, workers, budget):
    _, first = submit(camunda, "T-SPLIT", "4800.00", payee="迈瑞医疗")
    open_task(camunda, first)
    _number, second = submit(camunda, "T-SPLIT", "4750.00", payee="迈瑞医疗")
    open_task(camunda, second)
    warning = camunda.process_variables(second)["splitWarning"]
    assert "5000" in warning and "疑似拆分" in warning


def test_idle_approval_is_escalated_by_its_timer(camunda, workers, budget):
    _number, pid = submit(camunda, "T-ESC", "300.00")
    task = open_task(camunda, pid)
    assert task["priority"] == 50
    timer = wait_for(lambda: camunda.get("/job", processInstanceId=pid, timers="true"), message="timer job")
    assert timer[0]["dueDate"], "the escalation timer is scheduled"
    camunda.post(f"/job/{timer[0]['id']}/execute")  # what the job executor does when the task is left idle
    escalated = wait_for(lambda: [t for t in camunda.tasks(taskId=task["id"]) if t["priority"] >= 80],
                         message="priority raised")
    assert escalated[0]["id"] == task["id"], "the approval task itself stays open"
    comments = camunda.get(f"/task/{task['id']}/comment")
    assert any("escalated" in c["message"] for c in comments)


@pytest.mark.parametrize("amount, category, funding, within, expected", [
    ("50.00", "materials", "fiscal", True, ["dept-head", "chief-accountant"]),
    ("800.00", "materials", "fiscal", True, ["dept-head", "vice-president", "finance-officer",
                                             "chief-accountant"]),
    ("6000.00", "materials", "fiscal", True, ["dept-head", "vice-president", "finance-officer", "finance-vp",
                                              "chief-accountant", "president"]),
    ("300.00", "hospitality", "fiscal", True, ["dept-head", "vice-president", "finance-officer",
                                               "chief-accountant", "president"]),
    ("500000.00", "equipment", "earmarked", True, ["dept-head", "vice-president", "finance-officer",
                                                   "budget-committee", "finance-vp", "chief-accountant",
                                                   "president", "party-committee"]),
    ("50.00", "materials", "fiscal", False, ["dept-head", "budget-committee", "chief-accountant"]),
])
def test_routing_table_tiers(camunda, amount, category, funding, within, expected):
    from smartfin.camunda.variables import encode_variables
    result = camunda.post("/decision-definition/key/spending-approval-routing/evaluate", {
        "variables": encode_variables({"amount": amount, "category": category, "fundingSource": funding,
                                       "withinPlan": within})})
    assert [row["approverGroup"]["value"] for row in result] == expected


def test_each_approver_reads_the_budget_line_before_and_after_and_the_decisions_so_far(camunda, workers, budget):
    _, pid = submit(camunda, "T-CARD", "1234.50")
    first = open_task(camunda, pid)
    shown = camunda.process_variables(pid)
    line = str(BudgetLineKey(budget, "T-CARD", "30218", "fiscal"))
    assert shown["budgetLineText"].startswith(line), shown["budgetLineText"]
    now, after = (Decimal(a) for a in re.findall(r"(-?\d+\.\d{2})", shown["budgetLineText"].split("\n", 1)[1]))
    assert now - after == Decimal("1234.50")
    assert shown["approvalHistoryText"] == "尚无审批记录 no decisions yet"

    as_user(camunda, "li.na").complete_task(first["id"], {"decision": "approve", "comment": "符合预算 within plan"})
    second = wait_for(lambda: next((t for t in camunda.tasks(processInstanceId=pid) if t["id"] != first["id"]), None),
                      30, message="the second approval step")
    assert second["taskDefinitionKey"] == "approveRequest"
    history = camunda.process_variables(pid)["approvalHistoryText"].splitlines()
    assert len(history) == 1 and re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} dept-head li\.na 同意 approved：符合预算 "
                                              r"within plan", history[0]), history
    # a text to read: the approver's own write to it is refused by the engine, and the next step rewrites it
    with pytest.raises(EngineAuthError, match="WRITE_GUARD: field 'approvalHistoryText'"):
        as_user(camunda, "chen.jie").complete_task(second["id"], {"decision": "approve", "approvalHistoryText": "x"})
    camunda.delete(f"/process-instance/{pid}")
