"""Forged, missing and misdirected signatures on reimbursement claims: no voucher, a finance officer is told.

The claim's chain is fixed when its budget is reserved (from the recorded claim), and the control step
before the payment voucher compares it, and the finance audit, with the engine's history. The forgeries
are done as the service account — the strongest attacker the engine can have — and the demo users' own
attempts are refused by the engine's write guard first.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select

from extractors.invoice.samples import xml_invoice
from smartfin.camunda.client import EngineAuthError, EngineClient
from smartfin.camunda.variables import encode_variables
from smartfin.kernel.clock import hospital_now
from smartfin.ledger import Bucket, document_holdings, import_budget
from smartfin.processes.approvals import ApprovalChainStep, ApprovalDecision
from smartfin.processes.reimbursement.claims import Claim, submit_claim
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.support.engine import (
    APPROVER_OF_GROUP,
    approve_chain,
    as_user,
    candidate_groups,
    process_ended,
    wait_for,
)

pytestmark = pytest.mark.engine

YEAR = hospital_now().year
DOCUMENT_TYPE = "reimbursement-claim"
OFFICER = "wang.fang"
LINES = f"""\
fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to
{YEAR},X-BXCHAIN,30201,fiscal,,Attacks on the claim chain,100000.00,control,0,0,95,{YEAR}-01-01,{YEAR}-12-31
"""


@pytest.fixture(scope="module")
def lines() -> int:
    with session_scope() as session:
        report = import_budget(session, LINES.encode(), actor="test", filename="claim-chain-lines.csv")
    assert report.ok, report.errors
    return YEAR


def submit(camunda: EngineClient, name: str, total: str) -> tuple[str, str]:
    filename, data, _ = xml_invoice(name, total=Decimal(total))
    number = submit_claim([(filename, data)], claimant="zhang.wei", department="X-BXCHAIN", category="office",
                          purpose="办公用品 attack test", engine=camunda)
    with session_scope() as session:
        row = session.get(Claim, number)
        assert row is not None and row.process_instance_id
        return number, row.process_instance_id


def next_task(camunda: EngineClient, pid: str, timeout: float = 60) -> dict[str, Any]:
    return wait_for(lambda: (camunda.tasks(processInstanceId=pid) or [None])[0], timeout,
                    message=f"the next task of {pid}")


def complete(camunda: EngineClient, user: str, task: dict[str, Any], variables: dict[str, Any]) -> None:
    as_user(camunda, user).complete_task(task["id"], variables)
    wait_for(lambda: not camunda.tasks(taskId=task["id"]), 10, message="task completion")


def to_approvals(camunda: EngineClient, pid: str) -> dict[str, Any]:
    """Verify the invoice by hand (the test invoices cannot be checked online) up to the first approval."""
    task = next_task(camunda, pid)
    assert task["taskDefinitionKey"] == "verifyManually", task["taskDefinitionKey"]
    complete(camunda, OFFICER, task, {"decision": "consistent", "comment": "查验一致"})
    task = next_task(camunda, pid)
    assert task["taskDefinitionKey"] == "approveClaim", task["taskDefinitionKey"]
    return task


def approve_claim_chain(camunda: EngineClient, pid: str) -> tuple[list[str], dict[str, Any]]:
    """Every remaining chain approval, signed by its group's member: the groups signed and the next task."""
    signed = approve_chain(camunda, pid, task_key="approveClaim", comment="同意")
    return signed, next_task(camunda, pid)


def reserved(number: str) -> Decimal:
    with session_scope() as session:
        return document_holdings(session, DOCUMENT_TYPE, number)[Bucket.PRE_ENCUMBRANCE]


def sent_to_exception(camunda: EngineClient, pid: str, number: str, *reasons: str) -> None:
    """The claim waits at the finance officer's exception task with no voucher; voiding it releases the money."""
    task = next_task(camunda, pid)
    assert task["taskDefinitionKey"] == "reviewApprovalException", task["taskDefinitionKey"]
    assert candidate_groups(camunda, task["id"]) == ["finance-officer"]
    problems = camunda.process_variables(pid)["approvalProblems"]
    for reason in reasons:
        assert reason in problems, problems
    assert problems in task["description"], "the finance officer reads the reasons on the task"
    assert "voucher" not in camunda.process_variables(pid), "no payment voucher for a broken chain"
    with session_scope() as session:
        claim = session.get(Claim, number)
        assert claim is not None and claim.status == "submitted", "a broken chain never marks a claim approved"
        audit = session.exec(select(AuditEntry).where(AuditEntry.subject_id == number,
                                                      AuditEntry.action == "approvals-incomplete")).all()
    assert audit, "the failed verification is in the audit log"
    as_user(camunda, OFFICER).complete_task(task["id"])
    process_ended(camunda, pid)
    assert {a["activityId"] for a in camunda.historic_activities(pid)
            if a["activityType"] == "noneEndEvent" and a["activityId"].startswith("claim")} == {"claimVoided"}
    with session_scope() as session:
        claim = session.get(Claim, number)
        assert claim is not None and claim.status == "rejected"
    assert reserved(number) == Decimal("0.00"), "voiding gives the reservation back"


def test_the_chain_is_fixed_from_the_record_and_the_signatures_are_recorded_from_the_history(camunda, workers,
                                                                                                lines):
    number, pid = submit(camunda, "chain-ok", "180.00")
    to_approvals(camunda, pid)
    signed, audit = approve_claim_chain(camunda, pid)
    assert audit["taskDefinitionKey"] == "financeAudit"
    complete(camunda, OFFICER, audit, {"decision": "approve", "comment": "审核通过"})

    def approved() -> bool:
        with session_scope() as session:
            claim = session.get(Claim, number)
            return claim is not None and claim.status in ("approved", "paid")
    wait_for(approved, 60, message="the control step to pass")
    with session_scope() as session:
        chain = session.exec(select(ApprovalChainStep).where(ApprovalChainStep.document_type == DOCUMENT_TYPE,
                                                             ApprovalChainStep.document_no == number)).all()
        decisions = session.exec(select(ApprovalDecision).where(ApprovalDecision.document_no == number)).all()
    assert [s.candidate_group for s in sorted(chain, key=lambda s: s.step)] == signed
    assert signed[0] == "dept-head" and {s.amount_fen for s in chain} == {18000}
    assert sorted((d.task_key, d.step or 0, d.user_id, d.outcome) for d in decisions) == sorted(
        [("approveClaim", step, APPROVER_OF_GROUP[group], "approve") for step, group in enumerate(signed, 1)]
        + [("financeAudit", 0, OFFICER, "approve")])


def test_an_approval_by_a_user_outside_the_group_prepares_no_voucher(camunda, workers, lines):
    number, pid = submit(camunda, "outsider", "240.00")
    first = to_approvals(camunda, pid)
    camunda.post(f"/task/{first['id']}/assignee", {"userId": "sun.li"})  # budget committee, not dept-head
    complete(camunda, "sun.li", first, {"decision": "approve", "comment": "代签"})
    _, audit = approve_claim_chain(camunda, pid)
    complete(camunda, OFFICER, audit, {"decision": "approve", "comment": "审核通过"})

    sent_to_exception(camunda, pid, number, "step 1 (dept-head)", "sun.li is not a member of dept-head")


def test_a_finance_audit_outside_finance_prepares_no_voucher(camunda, workers, lines):
    number, pid = submit(camunda, "audit-outsider", "260.00")
    to_approvals(camunda, pid)
    _, audit = approve_claim_chain(camunda, pid)
    assert audit["taskDefinitionKey"] == "financeAudit"
    camunda.post(f"/task/{audit['id']}/assignee", {"userId": "sun.li"})
    complete(camunda, "sun.li", audit, {"decision": "approve", "comment": "代审"})

    sent_to_exception(camunda, pid, number, "finance audit", "sun.li is not a member of finance-officer")


def test_an_approval_step_skipped_by_modification_prepares_no_voucher(camunda, workers, lines):
    number, pid = submit(camunda, "skipped", "300.00")
    first = to_approvals(camunda, pid)
    camunda.post(f"/process-instance/{pid}/modification", {"instructions": [
        {"type": "startBeforeActivity", "activityId": "financeAudit"},
        {"type": "cancel", "activityInstanceId": _activity_instance(camunda, first)}]})
    audit = next_task(camunda, pid)
    assert audit["taskDefinitionKey"] == "financeAudit"
    complete(camunda, OFFICER, audit, {"decision": "approve", "comment": "审核通过"})

    sent_to_exception(camunda, pid, number, "step 1 (dept-head): 无人签批 / nobody signed")


def _activity_instance(camunda: EngineClient, task: dict[str, Any]) -> str:
    """The approval subprocess's multi-instance body that holds ``task`` (cancelled as a whole)."""
    tree = camunda.get(f"/process-instance/{task['processInstanceId']}/activity-instances")
    for child in tree["childActivityInstances"]:
        if child["activityId"].startswith("approvalChain"):
            return str(child["id"])
    raise AssertionError(f"no approval chain in {tree}")


def test_the_approver_cannot_shorten_the_claim_chain_herself(camunda, workers, lines):
    number, pid = submit(camunda, "loop-counter", "6000.00")
    first = to_approvals(camunda, pid)
    approver = APPROVER_OF_GROUP[candidate_groups(camunda, first["id"])[0]]
    with pytest.raises(EngineAuthError):
        as_user(camunda, approver).put(f"/task/{first['id']}/localVariables/loopCounter",
                                       {"value": 99, "type": "Integer"})
    with pytest.raises(EngineAuthError):
        as_user(camunda, approver).complete_task(first["id"], {"decision": "approve", "loopCounter": 99,
                                                               "nrOfInstances": 1})
    with pytest.raises(EngineAuthError):
        as_user(camunda, approver).post(f"/process-instance/{pid}/variables", {"modifications": encode_variables(
            {"approverGroups": ["dept-head"]})})
    assert camunda.tasks(taskId=first["id"]), "the step is still open"
    with session_scope() as session:
        claim = session.get(Claim, number)
        assert claim is not None and claim.status == "submitted"
