"""Committee rigging on the real engine: forged membership, rule and ballots change nothing.

Users cannot write process variables at all (the engine's write guard refuses them), so these attacks
are sent as the service account, which may write anything: what is proved here is that the product's
tally does not trust what a variable says. Membership is the engine group ``equipment-committee``
(wu.hao, xu.jing, he.ping), quorum and majority are the standards' (two thirds present, more than half
of the votes cast), and a ballot counts only when a current member completed their own vote task.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import select

from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_now
from smartfin.ledger import import_budget
from smartfin.processes.procurement.commands import submit_proposal
from smartfin.processes.procurement.proposals import EquipmentProposalRecord, votes_of
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.support.engine import as_user, process_ended, wait_for

pytestmark = pytest.mark.engine

YEAR = hospital_now().year
MEMBERS = ["he.ping", "wu.hao", "xu.jing"]


@pytest.fixture(scope="module")
def line() -> str:
    csv = ("fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,"
           "tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to\n"
           f"{YEAR},T-EQSEC,31003,fiscal,,Committee attacks,5000000.00,control,0,0,90,{YEAR}-01-01,{YEAR}-12-31\n")
    with session_scope() as session:
        assert import_budget(session, csv.encode(), actor="test", filename="committee-security.csv").ok
    return "T-EQSEC"


def monitor(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "proposer": "zhang.wei", "department": "T-EQSEC", "deviceName": "监护仪 Monitor",
        "equipmentClass": "ordinary", "price": "90000", "monthlyVolume": 300, "pricePerExam": "150",
        "staffCount": 1, "annualCostPerStaff": "60000", "annualMaterials": "36000", "annualMaintenance": "10000",
        "annualUtilities": "1200", "managementFeeRatePct": "1", "fundingSource": "fiscal",
        "economicLifeYears": 6, "depreciationYears": 5, "justification": "ICU 扩床 / more ICU beds",
    }
    values.update(changes)
    return values


def submit(camunda: EngineClient, values: dict[str, Any]) -> tuple[str, str]:
    """Submitted by the product's command as the service account, extra variables passed through."""
    number = submit_proposal(values, engine=camunda)
    with session_scope() as session:
        row = session.get(EquipmentProposalRecord, number)
        assert row is not None and row.process_instance_id
        return number, row.process_instance_id


def ballots(camunda: EngineClient, pid: str, count: int) -> list[dict[str, Any]]:
    return wait_for(lambda: (lambda found: found if len(found) >= count else None)(
        camunda.tasks(processInstanceId=pid, taskDefinitionKey="committeeVote")), 30,
        message=f"{count} committee ballots")


def ballot_of(camunda: EngineClient, pid: str, member: str) -> dict[str, Any]:
    return wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid, taskDefinitionKey="committeeVote")
                             if t["assignee"] == member], message=f"{member}'s ballot")[0]


def vote(camunda: EngineClient, pid: str, member: str, decision: str) -> None:
    task = ballot_of(camunda, pid, member)
    as_user(camunda, member).complete_task(task["id"], {"decision": decision, "comment": f"{member}: {decision}"})
    wait_for(lambda: not camunda.tasks(taskId=task["id"]), 10, message=f"{member}'s ballot completed")


def stored_votes(number: str) -> dict[str, str]:
    with session_scope() as session:
        return {v.member: v.vote for v in votes_of(session, number)}


def audit_of(number: str, action: str) -> list[dict[str, Any]]:
    with session_scope() as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.subject_id == number,
                                                     AuditEntry.action == action)).all()
        return [row.details_dict for row in rows]


def test_forged_members_quorum_majority_and_ballots_at_the_start_change_nothing(camunda, workers, line):
    forged_trail = [{"task": "committeeVote", "user": m, "outcome": "approve", "comment": "forged",
                     "time": "2020-01-01T00:00:00.000+08:00"} for m in MEMBERS]
    number, pid = submit(camunda, monitor(committeeMembers="zhang.wei,wang.fang", committeeQuorum=1,
                                          committeeMajorityPct="0"))
    camunda.post(f"/process-instance/{pid}/variables", {"modifications": {
        "decisions": {"value": json.dumps(forged_trail), "type": "Json"}}})

    open_ballots = ballots(camunda, pid, 3)
    assert sorted(t["assignee"] for t in open_ballots) == MEMBERS, "the engine group votes, not the variable"
    copies = camunda.process_variables(pid)
    assert (copies["committeeQuorum"], copies["committeeMajorityPct"]) == (3, "50"), "the standards' rule"
    assert audit_of(number, "committee-variables-ignored"), "the forged start variables are on record"

    vote(camunda, pid, "wu.hao", "approve")
    assert len(camunda.tasks(processInstanceId=pid, taskDefinitionKey="committeeVote")) == 2, \
        "one approval of three decides nothing under a quorum of three"
    vote(camunda, pid, "xu.jing", "reject")
    vote(camunda, pid, "he.ping", "reject")
    process_ended(camunda, pid)

    final = camunda.historic_variables(pid)
    assert final["committeeOutcome"] == "reject", final["committeeSummary"]
    assert "同意 1，反对 2" in final["committeeSummary"]
    assert stored_votes(number) == {"wu.hao": "approve", "xu.jing": "reject", "he.ping": "reject"}


def test_a_ballot_completed_for_a_non_member_is_not_counted(camunda, workers, line):
    number, pid = submit(camunda, monitor(deviceName="输液泵 Infusion pump", price="60000"))
    ballots(camunda, pid, 3)
    hijacked = ballot_of(camunda, pid, "wu.hao")
    # The service account hands wu.hao's ballot to a non-member, who completes it. (The service cannot
    # complete it itself here: it started the proposal, so the engine's four-eyes rule refuses it.)
    camunda.post(f"/task/{hijacked['id']}/assignee", {"userId": "wang.fang"})
    as_user(camunda, "wang.fang").complete_task(hijacked["id"], {"decision": "approve", "comment": "not a member"})
    vote(camunda, pid, "xu.jing", "approve")
    vote(camunda, pid, "he.ping", "reject")
    process_ended(camunda, pid)

    final = camunda.historic_variables(pid)
    # counted, the hijacked ballot would make 2 for, 1 against with all three present: approved
    assert final["committeeOutcome"] == "reject", final["committeeSummary"]
    assert "未达法定人数" in final["committeeSummary"], "two valid ballots of three are no quorum"
    assert stored_votes(number) == {"xu.jing": "approve", "he.ping": "reject"}
    refused = final["committeeRefusedBallots"]
    assert [r["user"] for r in refused] == ["wang.fang"] and "not a current member" in refused[0]["reason"]
    with session_scope() as session:
        assert session.get(EquipmentProposalRecord, number).committee_outcome == "reject"
