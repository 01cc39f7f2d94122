"""The approval chain of a spending request is fixed at routing, stored, and checked before money moves.

On the real engine with the product's workers: one request per routing tier reaches the ledger only after
exactly its stored chain signed; an overspend on an advisory line completes with its warning; and
``smartfin document show`` tells the whole story from the stored rows.
"""

from __future__ import annotations

import json

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.kernel.clock import hospital_now
from smartfin.ledger import BudgetLineKey, balances, import_budget
from smartfin.ledger.report import document_entries
from smartfin.processes.approvals import ApprovalChainStep, ApprovalDecision, current_chain
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
{YEAR},C-TIER,30218,fiscal,,Chain tiers,1000000.00,control,0,0,95,{YEAR}-01-01,{YEAR}-12-31
{YEAR},C-PUB,30217,fiscal,,Hospitality,100000.00,control,0,0,95,{YEAR}-01-01,{YEAR}-12-31
{YEAR},C-ADV,30218,fiscal,,Advisory line,1000.00,advisory,0,0,80,{YEAR}-01-01,{YEAR}-12-31
"""


@pytest.fixture(scope="module")
def lines() -> int:
    with session_scope() as session:
        report = import_budget(session, LINES.encode(), actor="test", filename="chain-lines.csv")
    assert report.ok, report.errors
    return YEAR


def submit(camunda, department: str, amount: str, category: str = "materials") -> tuple[str, str]:
    number = submit_spending_request({"department": department, "category": category, "amount": amount,
                                      "fundingSource": "fiscal", "requester": "zhang.wei", "payee": "国药控股",
                                      "purpose": "审批链测试 chain test"}, engine=camunda)
    with session_scope() as session:
        row = session.get(SpendingRequest, number)
        assert row is not None and row.process_instance_id
        return number, row.process_instance_id


def journal(number: str) -> list[tuple[str, int]]:
    with session_scope() as session:
        return [(e.bucket, e.amount_fen) for e in document_entries(session, number)]


def stored_chain(number: str) -> list[str]:
    with session_scope() as session:
        return [s.candidate_group for s in current_chain(session, "spending-request", number)]


def decisions(number: str) -> list[tuple[int | None, str, str | None, str | None]]:
    with session_scope() as session:
        rows = session.exec(select(ApprovalDecision).where(ApprovalDecision.document_no == number)
                            .order_by(ApprovalDecision.step)).all()
        return [(d.step, d.candidate_group, d.user_id, d.outcome) for d in rows]


def next_task_or_end(camunda, pid: str, done: str | None = None) -> dict | None:
    """The next open user task (not ``done``), or None once the process has ended."""
    def probe():
        tasks = [t for t in camunda.tasks(processInstanceId=pid) if t["id"] != done]
        if tasks:
            return tasks[0]
        return "ended" if camunda.historic_process(pid).get("state") == "COMPLETED" else None
    found = wait_for(probe, message=f"the next task of {pid}")
    return None if found == "ended" else found


def sign_every_step(camunda, pid: str, number: str) -> list[str]:
    """Approve task after task as each group's demo user; nothing may be in the journal before the last."""
    seen: list[str] = []
    task = next_task_or_end(camunda, pid)
    while task is not None and task["taskDefinitionKey"] == "approveRequest":
        assert journal(number) == [], f"money moved before step {len(seen) + 1} signed"
        [group] = candidate_groups(camunda, task["id"])
        seen.append(group)
        as_user(camunda, APPROVER_OF_GROUP[group]).complete_task(task["id"], {"decision": "approve",
                                                                              "comment": "同意"})
        task = next_task_or_end(camunda, pid, done=task["id"])
    return seen


@pytest.mark.parametrize("amount, category, expected", [
    ("50.00", "materials", ["dept-head", "chief-accountant"]),
    ("800.00", "materials", ["dept-head", "vice-president", "finance-officer", "chief-accountant"]),
    ("3000.00", "materials", ["dept-head", "vice-president", "finance-officer", "finance-vp", "chief-accountant"]),
    ("6000.00", "materials", ["dept-head", "vice-president", "finance-officer", "finance-vp", "chief-accountant",
                              "president"]),
    ("300.00", "hospitality", ["dept-head", "vice-president", "finance-officer", "chief-accountant",
                               "president"]),
])
def test_each_tier_reaches_the_ledger_only_after_exactly_its_stored_chain_signed(camunda, workers, lines, amount,
                                                                               category, expected):
    department = "C-PUB" if category == "hospitality" else "C-TIER"
    number, pid = submit(camunda, department, amount, category)
    open_task(camunda, pid)
    assert stored_chain(number) == expected, "the chain is stored when the request is routed"

    signed = sign_every_step(camunda, pid, number)

    process_ended(camunda, pid)
    assert ended_at(camunda, pid) == {"requestApproved"}
    assert signed == expected
    assert decisions(number) == [(i, group, APPROVER_OF_GROUP[group], "approve")
                                 for i, group in enumerate(expected, start=1)]
    fen = int(amount.replace(".", ""))
    assert journal(number) == [("pre_encumbrance", fen)]
    with session_scope() as session:
        steps = session.exec(select(ApprovalChainStep).where(ApprovalChainStep.document_no == number)).all()
        assert {(s.amount_fen, s.within_plan, s.round) for s in steps} == {(fen, True, 1)}
        assert all(s.routing_decision_id.startswith("spending-approval-routing:") for s in steps)
        verified = session.exec(select(AuditEntry).where(AuditEntry.subject_id == number,
                                                         AuditEntry.action == "approvals-verified")).all()
        assert len(verified) == 1


def test_advisory_line_overspend_is_approved_and_reserved_with_its_warning(camunda, workers, lines):
    number, pid = submit(camunda, "C-ADV", "1500.00")
    first = open_task(camunda, pid)
    assert first["taskDefinitionKey"] == "approveRequest", "an advisory line asks for no overspend report"
    variables = camunda.process_variables(pid)
    assert variables["withinPlan"] is True
    assert "advisory" in variables["budgetWarning"] and "1500.00" in variables["budgetWarning"]

    sign_every_step(camunda, pid, number)

    process_ended(camunda, pid)
    assert ended_at(camunda, pid) == {"requestApproved"}
    assert camunda.incidents(pid) == []
    assert journal(number) == [("pre_encumbrance", 150000)]
    with session_scope() as session:
        line = balances(session, BudgetLineKey(YEAR, "C-ADV", "30218", "fiscal"))
        actions = [e.action for e in session.exec(select(AuditEntry).where(AuditEntry.subject_id == number)).all()]
        approved = session.exec(select(AuditEntry).where(AuditEntry.subject_id == number,
                                                         AuditEntry.action == "approved")).one()
    assert line.available == -500, "an advisory line warns, it does not stop"
    assert "budget-warning" in actions
    assert "advisory" in json.loads(approved.details)["budgetWarning"]


def test_document_show_tells_chain_decisions_and_journal(camunda, workers, lines):
    number, pid = submit(camunda, "C-TIER", "800.00")
    sign_every_step(camunda, pid, number)
    process_ended(camunda, pid)

    result = CliRunner().invoke(app, ["document", "show", number, "--json"])

    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["number"] == number and shown["requester"] == "zhang.wei"
    assert shown["amount"] == "800.00" and shown["status"] == "approved"
    assert [s["group"] for s in shown["chain"]] == ["dept-head", "vice-president", "finance-officer",
                                                   "chief-accountant"]
    assert [(d["step"], d["user"], d["outcome"]) for d in shown["decisions"]] == [
        (1, "li.na", "approve"), (2, "chen.jie", "approve"), (3, "wang.fang", "approve"), (4, "liu.yang", "approve")]
    assert all(d["time"] for d in shown["decisions"])
    assert shown["journal"] == [{**shown["journal"][0], "bucket": "pre_encumbrance", "amount_fen": 80000}]
    text = CliRunner().invoke(app, ["document", "show", number])
    assert text.exit_code == 0 and "li.na" in text.output and "pre_encumbrance" in text.output
    assert CliRunner().invoke(app, ["document", "show", "REQ-0000-999999"]).exit_code == 3
