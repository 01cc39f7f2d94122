"""Send back for revision (退回修改) on equipment proposals, on the real engine with the product's workers.

A decision meeting or the committee sends the proposal back with a reason; the proposer of the record revises
and resubmits it — evaluated, voted on and reserved again as a new round, the collective-decision need
recomputed from the new figures — or withdraws it, giving the reservation back. The ledger never holds two
reservations for one proposal, and the history keeps both rounds.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select

from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_now
from smartfin.ledger import Bucket, BudgetLineKey, balances, document_holdings, import_budget
from smartfin.processes.approvals import ApprovalDecision
from smartfin.processes.procurement.commands import submit_proposal
from smartfin.processes.procurement.proposals import DOCUMENT_TYPE, EquipmentProposalRecord
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.security.engine_users import service_actor
from tests.support.engine import as_user, process_ended, wait_for

pytestmark = pytest.mark.engine

os.environ["SMARTFIN_PROCUREMENT_COMMITTEE_MEMBERS"] = "wu.hao,xu.jing,he.ping"
YEAR = hospital_now().year
DEPARTMENT = "T-EQSB"
KEY = BudgetLineKey(YEAR, DEPARTMENT, "31003", "fiscal", "")
MEMBERS = ("wu.hao", "xu.jing", "he.ping")


@pytest.fixture(scope="module")
def line() -> str:
    csv = ("fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,"
           "tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to\n"
           f"{YEAR},{DEPARTMENT},31003,fiscal,,Send-back equipment,3000000.00,control,0,0,90,"
           f"{YEAR}-01-01,{YEAR}-12-31\n")
    with session_scope() as session:
        assert import_budget(session, csv.encode(), actor="test", filename="procurement-send-back.csv").ok
    return DEPARTMENT


def ultrasound(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "proposer": "zhang.wei", "department": DEPARTMENT, "deviceName": "彩超 Ultrasound",
        "equipmentClass": "ordinary", "price": "300000", "monthlyVolume": 300, "pricePerExam": "150",
        "staffCount": 1, "annualCostPerStaff": "60000", "annualMaterials": "36000", "annualMaintenance": "10000",
        "annualUtilities": "1200", "managementFeeRatePct": "1", "fundingSource": "fiscal",
        "economicLifeYears": 6, "depreciationYears": 5, "justification": "床旁检查 / bedside exams",
    }
    values.update(changes)
    return values


def submit(camunda: EngineClient, values: dict[str, Any]) -> tuple[str, str]:
    number = submit_proposal(values, engine=camunda)
    with session_scope() as session:
        row = session.get(EquipmentProposalRecord, number)
        assert row is not None and row.process_instance_id
        return number, row.process_instance_id


def open_task(camunda: EngineClient, pid: str, key: str, other_than: str = "") -> dict[str, Any]:
    return wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid, taskDefinitionKey=key)
                             if t["id"] != other_than], 30, message=f"task {key}")[0]


def complete(camunda: EngineClient, user: str, task: dict[str, Any], variables: dict[str, Any]) -> None:
    as_user(camunda, user).complete_task(task["id"], variables)
    wait_for(lambda: not camunda.tasks(taskId=task["id"]), 10, message=f"{task['taskDefinitionKey']} completed")


def votes(camunda: EngineClient, pid: str, *cast: tuple[str, str, str]) -> None:
    wait_for(lambda: len(camunda.tasks(processInstanceId=pid, taskDefinitionKey="committeeVote")) >= 3, 30,
             message="three ballots")
    for member, decision, comment in cast:
        task = next(t for t in camunda.tasks(processInstanceId=pid, taskDefinitionKey="committeeVote")
                    if t["assignee"] == member)
        complete(camunda, member, task, {"decision": decision, "comment": comment})


def approved_by_committee(camunda: EngineClient, pid: str) -> None:
    votes(camunda, pid, *((member, "approve", "同意") for member in MEMBERS))


def held(number: str) -> Decimal:
    with session_scope() as session:
        return document_holdings(session, DOCUMENT_TYPE, number)[Bucket.PRE_ENCUMBRANCE]


def line_reserved() -> Decimal:
    with session_scope() as session:
        return balances(session, KEY).pre_encumbrance


def record(number: str) -> EquipmentProposalRecord:
    with session_scope() as session:
        row = session.get(EquipmentProposalRecord, number)
        assert row is not None
        session.expunge(row)
        return row


def audited(number: str, action: str) -> list[AuditEntry]:
    with session_scope() as session:
        rows = list(session.exec(select(AuditEntry).where(AuditEntry.subject_id == number,
                                                          AuditEntry.action == action)).all())
        session.expunge_all()
        return rows


def decisions(number: str) -> list[tuple[int, str, str | None, str | None]]:
    with session_scope() as session:
        rows = session.exec(select(ApprovalDecision).where(ApprovalDecision.document_no == number)).all()
        return sorted((r.round, r.task_key, r.user_id, r.outcome) for r in rows)


def test_sent_back_revised_resubmitted_and_approved_on_the_new_figures(camunda, workers, line):
    before = line_reserved()
    number, pid = submit(camunda, ultrasound())
    approved_by_committee(camunda, pid)
    review = open_task(camunda, pid, "budgetCommitteeReview")
    assert held(number) == Decimal("300000.00")
    complete(camunda, "sun.li", review, {"decision": "sendBack", "comment": "请改报高端机型并补充使用率 / upgrade"})

    revise = open_task(camunda, pid, "correctProposal")
    assert revise["assignee"] == "zhang.wei"
    assert "请改报高端机型" in (revise.get("description") or "")
    assert camunda.process_variables(pid)["sendBackReason"].startswith("请改报高端机型")
    assert record(number).status == "sent-back"
    assert held(number) == Decimal("300000.00"), "the reservation waits for the proposer"
    [sent] = audited(number, "sent-back")
    assert sent.actor == "sun.li" and sent.details_dict["round"] == 1

    # above the ¥500,000 line now: the president's office meeting and the Party committee must decide too
    complete(camunda, "zhang.wei", revise, {"price": "680000", "monthlyVolume": 500, "correctionAction": "resubmit"})
    approved_by_committee(camunda, pid)
    review = open_task(camunda, pid, "budgetCommitteeReview", other_than=review["id"])
    assert held(number) == Decimal("680000.00"), "the reservation follows the new amount"
    assert line_reserved() - before == Decimal("680000.00"), "never both reservations"
    variables = camunda.process_variables(pid)
    assert variables["collectiveDecisionRequired"] is True and variables["totalInvestment"] == "680000.00"
    complete(camunda, "sun.li", review, {"decision": "approve", "comment": "可"})
    complete(camunda, "zhao.lei", open_task(camunda, pid, "presidentOfficeMeeting"), {
        "decision": "approve", "comment": "同意", "presidentMinutesRef": "院办纪〔2026〕31号",
        "presidentMeetingDate": f"{YEAR}-05-06"})
    complete(camunda, "zhou.qiang", open_task(camunda, pid, "partyCommitteeMeeting"), {
        "decision": "approve", "comment": "同意", "partyMinutesRef": "党委纪〔2026〕9号",
        "partyMeetingDate": f"{YEAR}-05-13"})
    complete(camunda, "wang.fang", open_task(camunda, pid, "signContract"), {
        "contractAction": "signed", "contractNo": "HT-EQSB-001", "supplier": "某医疗设备有限公司",
        "signedOn": f"{YEAR}-06-01", "contractAmount": "675000.00"})

    wait_for(lambda: record(number).status == "contracted", 30, message="the contract encumbered")
    with session_scope() as session:
        holdings = document_holdings(session, DOCUMENT_TYPE, number)
        assert (holdings[Bucket.PRE_ENCUMBRANCE], holdings[Bucket.ENCUMBRANCE]) == (Decimal("0.00"),
                                                                                  Decimal("675000.00"))
    assert line_reserved() == before
    assert record(number).price_fen == 68_000_000
    # both rounds in the history: the send-back and the resubmission in round 1, the decisions in round 2
    ballots = [("committeeVote", member, "approve") for member in sorted(MEMBERS)]
    assert decisions(number) == [
        (1, "budgetCommitteeReview", "sun.li", "sendBack"), *((1, *ballot) for ballot in ballots),
        (1, "correctProposal", "zhang.wei", "resubmit"),
        (2, "budgetCommitteeReview", "sun.li", "approve"), *((2, *ballot) for ballot in ballots),
        (2, "partyCommitteeMeeting", "zhou.qiang", "approve"), (2, "presidentOfficeMeeting", "zhao.lei", "approve"),
        (2, "signContract", "wang.fang", None)]
    [resubmitted] = audited(number, "resubmitted")
    assert resubmitted.actor == "zhang.wei" and resubmitted.details_dict["changes"]["price"] == ["300000", "680000"]
    assert len(audited(number, "pre-encumbered")) == 2
    service_actor(camunda).remove_instance(pid)


def test_the_committee_sends_back_with_every_reason_then_votes_afresh(camunda, workers, line):
    number, pid = submit(camunda, ultrasound(price="200000"))
    votes(camunda, pid, ("wu.hao", "sendBack", "补充同类设备使用率"), ("xu.jing", "sendBack", "请比较两家报价"))
    revise = open_task(camunda, pid, "correctProposal")
    reason = camunda.process_variables(pid)["sendBackReason"]
    assert "wu.hao: 补充同类设备使用率" in reason and "xu.jing: 请比较两家报价" in reason
    assert record(number).committee_outcome == "sendBack" and held(number) == Decimal("0.00")

    complete(camunda, "zhang.wei", revise, {"justification": "使用率 85%，两家报价已比较",
                                            "correctionAction": "resubmit"})
    # the earlier send-back ballots count for nothing: all three members vote again
    approved_by_committee(camunda, pid)
    open_task(camunda, pid, "budgetCommitteeReview")
    assert record(number).committee_outcome == "approve" and held(number) == Decimal("200000.00")
    rounds = [entry.details_dict["ballots"] for entry in audited(number, "committee-sendBack")
              + audited(number, "committee-approve")]
    assert [len(r) for r in rounds] == [2, 3], "every round's ballots stay in the audit log"
    assert [d for d in decisions(number) if d[1] == "committeeVote"] == [
        (1, "committeeVote", "wu.hao", "sendBack"), (1, "committeeVote", "xu.jing", "sendBack"),
        *((2, "committeeVote", member, "approve") for member in sorted(MEMBERS))]
    service_actor(camunda).remove_instance(pid)


def test_withdrawn_after_a_send_back_releases_the_reservation(camunda, workers, line):
    before = line_reserved()
    number, pid = submit(camunda, ultrasound(price="250000"))
    approved_by_committee(camunda, pid)
    complete(camunda, "sun.li", open_task(camunda, pid, "budgetCommitteeReview"),
             {"decision": "sendBack", "comment": "预算年度调整后再报"})
    assert held(number) == Decimal("250000.00")
    complete(camunda, "zhang.wei", open_task(camunda, pid, "correctProposal"), {"correctionAction": "withdraw"})

    process_ended(camunda, pid)
    assert record(number).status == "withdrawn"
    assert held(number) == Decimal("0.00") and line_reserved() == before
    [closed] = audited(number, "closed-withdrawn")
    assert closed.details_dict["released"] == "250000.00"
    assert [e.actor for e in audited(number, "withdrawal-requested")] == ["zhang.wei"]
    assert (1, "correctProposal", "zhang.wei", "withdraw") in decisions(number)
