"""Skipped or misdirected decisions on an equipment proposal: the contract encumbers nothing.

Before the signed contract moves the reservation to an encumbrance, the product checks in the engine's
history that the budget committee, and above the collective-decision line the president's office meeting
and the party committee (三重一大), decided ``approve`` — each by an authenticated member of its group, none
the proposer — and that a finance officer recorded the contract. The forgeries are made as the service
account, the strongest attacker the engine can have (demo users cannot modify instances or reassign).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_now
from smartfin.ledger import Bucket, document_holdings, import_budget
from smartfin.processes.approvals import ApprovalDecision
from smartfin.processes.procurement.proposals import DOCUMENT_TYPE, EquipmentProposalRecord
from smartfin.store.db import session_scope
from tests.security.test_procurement_committee import submit, vote
from tests.support.engine import as_user, candidate_groups, process_ended, wait_for

pytestmark = pytest.mark.engine

YEAR = hospital_now().year
MEMBERS = ["he.ping", "wu.hao", "xu.jing"]
CONTRACT = {"contractAction": "signed", "supplier": "某医疗设备有限公司", "signedOn": f"{YEAR}-04-01"}


@pytest.fixture(scope="module")
def line() -> str:
    csv = ("fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,"
           "tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to\n"
           f"{YEAR},T-EQDEC,31003,fiscal,,Decision attacks,9000000.00,control,0,0,90,{YEAR}-01-01,{YEAR}-12-31\n")
    with session_scope() as session:
        assert import_budget(session, csv.encode(), actor="test", filename="decision-security.csv").ok
    return "T-EQDEC"


def proposal(price: str) -> dict[str, Any]:
    return {"proposer": "zhang.wei", "department": "T-EQDEC", "deviceName": "监护仪 Monitor",
            "equipmentClass": "ordinary", "price": price, "monthlyVolume": 300, "pricePerExam": "150",
            "staffCount": 1, "annualCostPerStaff": "60000", "annualMaterials": "36000",
            "annualMaintenance": "10000", "annualUtilities": "1200", "managementFeeRatePct": "1",
            "fundingSource": "fiscal", "economicLifeYears": 6, "depreciationYears": 5,
            "justification": "ICU 扩床 / more ICU beds"}


def task(camunda: EngineClient, pid: str, key: str) -> dict[str, Any]:
    return wait_for(lambda: (camunda.tasks(processInstanceId=pid, taskDefinitionKey=key) or [None])[0], 30,
                    message=f"task {key}")


def complete(camunda: EngineClient, user: str, found: dict[str, Any], variables: dict[str, Any]) -> None:
    as_user(camunda, user).complete_task(found["id"], variables)
    wait_for(lambda: not camunda.tasks(taskId=found["id"]), 10, message=f"{found['taskDefinitionKey']} completed")


def voted_through(camunda: EngineClient, price: str) -> tuple[str, str]:
    number, pid = submit(camunda, proposal(price))
    for member in MEMBERS:
        vote(camunda, pid, member, "approve")
    task(camunda, pid, "budgetCommitteeReview")
    return number, pid


def held(number: str) -> dict[Bucket, Decimal]:
    with session_scope() as session:
        holdings = document_holdings(session, DOCUMENT_TYPE, number)
    return {bucket: holdings[bucket] for bucket in (Bucket.PRE_ENCUMBRANCE, Bucket.ENCUMBRANCE)}


def skip_to_contract(camunda: EngineClient, pid: str, skipped: str) -> None:
    """The service account moves the instance past ``skipped`` straight to the contract registration."""
    open_task = task(camunda, pid, skipped)
    tree = camunda.get(f"/process-instance/{pid}/activity-instances")
    instance = next(child["id"] for child in tree["childActivityInstances"] if child["activityId"] == skipped)
    camunda.post(f"/process-instance/{pid}/modification", {"instructions": [
        {"type": "startBeforeActivity", "activityId": "signContract"},
        {"type": "cancel", "activityInstanceId": instance}]})
    wait_for(lambda: not camunda.tasks(taskId=open_task["id"]), 10, message=f"{skipped} cancelled")


def sign(camunda: EngineClient, pid: str, contract_no: str, amount: str) -> None:
    complete(camunda, "wang.fang", task(camunda, pid, "signContract"),
             {**CONTRACT, "contractNo": contract_no, "contractAmount": amount})


def nothing_encumbered_then_voided(camunda: EngineClient, pid: str, number: str, *reasons: str) -> None:
    exception = task(camunda, pid, "reviewApprovalException")
    assert candidate_groups(camunda, exception["id"]) == ["finance-officer"]
    problems = camunda.process_variables(pid)["approvalProblems"]
    for reason in reasons:
        assert reason in problems, problems
    assert problems in exception["description"]
    assert held(number)[Bucket.ENCUMBRANCE] == Decimal("0.00"), "nothing is encumbered"
    with session_scope() as session:
        row = session.get(EquipmentProposalRecord, number)
        assert row is not None and row.status == "reserved" and row.contract_no is None
    complete(camunda, "wang.fang", exception, {})
    process_ended(camunda, pid)
    assert held(number) == {Bucket.PRE_ENCUMBRANCE: Decimal("0.00"), Bucket.ENCUMBRANCE: Decimal("0.00")}


def test_a_skipped_budget_committee_review_encumbers_nothing(camunda, workers, line):
    number, pid = voted_through(camunda, "90000")
    skip_to_contract(camunda, pid, "budgetCommitteeReview")
    sign(camunda, pid, "HT-DEC-001", "90000.00")

    nothing_encumbered_then_voided(camunda, pid, number, "budgetCommitteeReview (budget-committee)",
                                   "no completed decision")


def test_a_skipped_collective_decision_encumbers_nothing(camunda, workers, line):
    number, pid = voted_through(camunda, "800000")  # above the ¥500,000 collective-decision line
    complete(camunda, "sun.li", task(camunda, pid, "budgetCommitteeReview"), {"decision": "approve", "comment": "可"})
    skip_to_contract(camunda, pid, "presidentOfficeMeeting")
    sign(camunda, pid, "HT-DEC-002", "800000.00")

    nothing_encumbered_then_voided(camunda, pid, number, "presidentOfficeMeeting (president)",
                                   "partyCommitteeMeeting (party-committee)")


def test_a_budget_review_completed_outside_the_committee_encumbers_nothing(camunda, workers, line):
    number, pid = voted_through(camunda, "95000")
    review = task(camunda, pid, "budgetCommitteeReview")
    camunda.post(f"/task/{review['id']}/assignee", {"userId": "li.na"})  # a department head
    complete(camunda, "li.na", review, {"decision": "approve", "comment": "代审"})
    sign(camunda, pid, "HT-DEC-003", "95000.00")

    nothing_encumbered_then_voided(camunda, pid, number, "li.na is not a member of budget-committee")


def test_the_decisions_that_carried_a_contract_are_recorded_from_the_history(camunda, workers, line):
    number, pid = voted_through(camunda, "98000")
    complete(camunda, "sun.li", task(camunda, pid, "budgetCommitteeReview"), {"decision": "approve", "comment": "可"})
    sign(camunda, pid, "HT-DEC-004", "98000.00")

    wait_for(lambda: held(number)[Bucket.ENCUMBRANCE] == Decimal("98000.00"), 30, message="the encumbrance")
    with session_scope() as session:
        rows = session.exec(ApprovalDecision.__table__.select().where(  # type: ignore[attr-defined]
            ApprovalDecision.document_no == number)).all()
    assert sorted((r.task_key, r.user_id, r.outcome) for r in rows) == [
        ("budgetCommitteeReview", "sun.li", "approve"), *(("committeeVote", member, "approve") for member in MEMBERS),
        ("signContract", "wang.fang", None)]


def test_a_proposal_number_copy_naming_another_proposal_releases_nothing_of_it(camunda, workers, line):
    victim, _ = voted_through(camunda, "91000")
    number, pid = voted_through(camunda, "92000")
    assert held(victim)[Bucket.PRE_ENCUMBRANCE] == Decimal("91000.00")
    camunda.post(f"/process-instance/{pid}/variables", {"modifications": {
        "proposalNo": {"value": victim, "type": "String"}}})
    complete(camunda, "sun.li", task(camunda, pid, "budgetCommitteeReview"), {"decision": "reject",
                                                                              "comment": "不同意"})

    wait_for(lambda: camunda.incidents(pid), 60, message="the refused release to become an incident")
    assert held(victim)[Bucket.PRE_ENCUMBRANCE] == Decimal("91000.00"), "the other proposal keeps its money"
    with session_scope() as session:
        other = session.get(EquipmentProposalRecord, victim)
        assert other is not None and other.status == "reserved"
    assert held(number)[Bucket.PRE_ENCUMBRANCE] == Decimal("92000.00"), "nothing moved on a refused copy"
