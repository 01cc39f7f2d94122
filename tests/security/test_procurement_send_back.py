"""Send back, resubmit and withdraw on equipment proposals, attacked through the engine's REST API.

The demo users try what their passwords let them send: a send-back at a decision that is not theirs, another
person's resubmission or withdrawal, variables the revision form does not offer. The engine refuses those
first; the administrator and the service account (which may write anything) stand for the strongest attacker,
and what must hold even then are the workers' checks against the engine's history and the project's record:
a send-back by a non-member of the step's group moves nothing, a revision not completed by the proposer of the
record changes nothing, injected variables change nothing but what the validated edit changes, and the
contract is carried only by the decisions of the latest round.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select

from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_now
from smartfin.ledger import Bucket, document_holdings, import_budget
from smartfin.processes.procurement.commands import submit_proposal
from smartfin.processes.procurement.proposals import DOCUMENT_TYPE, EquipmentProposalRecord
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.security.engine_users import Actor, admin_password, service_actor, variables
from tests.security.test_procurement_decisions import nothing_encumbered_then_voided, sign, skip_to_contract
from tests.support.engine import DEMO_PASSWORD, process_ended, wait_for

pytestmark = pytest.mark.engine

os.environ["SMARTFIN_PROCUREMENT_COMMITTEE_MEMBERS"] = "wu.hao,xu.jing,he.ping"
YEAR = hospital_now().year
DEPARTMENT = "T-EQSBX"
MEMBERS = ("wu.hao", "xu.jing", "he.ping")


@pytest.fixture(scope="module")
def line() -> str:
    csv = ("fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,"
           "tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to\n"
           f"{YEAR},{DEPARTMENT},31003,fiscal,,Send-back attacks,9000000.00,control,0,0,90,"
           f"{YEAR}-01-01,{YEAR}-12-31\n")
    with session_scope() as session:
        assert import_budget(session, csv.encode(), actor="test", filename="procurement-send-back-attacks.csv").ok
    return DEPARTMENT


def monitor(price: str) -> dict[str, Any]:
    return {"proposer": "zhang.wei", "department": DEPARTMENT, "deviceName": "监护仪 Monitor",
            "equipmentClass": "ordinary", "price": price, "monthlyVolume": 300, "pricePerExam": "150",
            "staffCount": 1, "annualCostPerStaff": "60000", "annualMaterials": "36000",
            "annualMaintenance": "10000", "annualUtilities": "1200", "managementFeeRatePct": "1",
            "fundingSource": "fiscal", "economicLifeYears": 6, "depreciationYears": 5,
            "justification": "ICU 扩床 / more ICU beds"}


def user(camunda: EngineClient, name: str) -> Actor:
    return Actor(camunda.base_url, name, DEMO_PASSWORD)


def refused(answer: Any) -> None:
    assert 400 <= answer.status < 600 and answer.status != 404, f"expected a refusal: {answer.status} {answer.body}"


def open_tasks(service: Actor, pid: str, key: str) -> list[dict[str, Any]]:
    return [t for t in service.ok("POST", "/task", {"processInstanceId": pid}) if t["taskDefinitionKey"] == key]


def asked_again(service: Actor, pid: str, key: str, old: str) -> dict[str, Any]:
    return wait_for(lambda: [t for t in open_tasks(service, pid, key) if t["id"] != old], 30,
                    message=f"{key} asked again")[0]


def decide(camunda: EngineClient, who: str, task: dict[str, Any], **values: Any) -> None:
    user(camunda, who).ok("POST", f"/task/{task['id']}/complete", {"variables": variables(**values)})


def voted_through(camunda: EngineClient, pid: str) -> dict[str, Any]:
    """All three members approve; the budget committee's review is open."""
    service = service_actor(camunda)
    wait_for(lambda: len(open_tasks(service, pid, "committeeVote")) == 3, 30, message="three ballots")
    for task in open_tasks(service, pid, "committeeVote"):
        decide(camunda, task["assignee"], task, decision="approve", comment="同意")
    return service.open_task(pid, "budgetCommitteeReview", timeout=30)


def submitted(camunda: EngineClient, price: str) -> tuple[str, str]:
    number = submit_proposal(monitor(price), engine=camunda)
    with session_scope() as session:
        row = session.get(EquipmentProposalRecord, number)
        assert row is not None and row.process_instance_id
        return number, row.process_instance_id


def sent_back(camunda: EngineClient, pid: str) -> dict[str, Any]:
    """Voted through, then sent back by the budget committee's member; the proposer's revision task."""
    review = voted_through(camunda, pid)
    decide(camunda, "sun.li", review, decision="sendBack", comment="请补充配置清单 / list the configuration")
    return service_actor(camunda).open_task(pid, "correctProposal", timeout=30)


def record(number: str) -> EquipmentProposalRecord:
    with session_scope() as session:
        row = session.get(EquipmentProposalRecord, number)
        assert row is not None
        session.expunge(row)
        return row


def reserved(number: str) -> Decimal:
    with session_scope() as session:
        return document_holdings(session, DOCUMENT_TYPE, number)[Bucket.PRE_ENCUMBRANCE]


def audited(number: str, action: str) -> list[AuditEntry]:
    with session_scope() as session:
        rows = list(session.exec(select(AuditEntry).where(AuditEntry.subject_id == number,
                                                          AuditEntry.action == action)).all())
        session.expunge_all()
        return rows


def test_a_send_back_not_by_a_member_or_without_a_reason_is_refused(camunda, workers, line):
    number, pid = submitted(camunda, "90000")
    review = voted_through(camunda, pid)
    service = service_actor(camunda)
    for outsider in ("li.na", "wu.hao", "zhang.wei"):
        refused(user(camunda, outsider).call("POST", f"/task/{review['id']}/complete",
                                             {"variables": variables(decision="sendBack", comment="退回")}))
    assert service.task(review["id"]) is not None, "the review is still open"

    # the member sends back without saying why: refused, asked again, the proposer is not bothered
    decide(camunda, "sun.li", review, decision="sendBack", comment=" ")
    again = asked_again(service, pid, "budgetCommitteeReview", review["id"])
    assert "a send-back needs a reason" in (again.get("description") or "")

    # the administrator may complete anything; a send-back still has to be a member's of the step's group
    admin = Actor(camunda.base_url, "admin", admin_password())
    admin.ok("POST", f"/task/{again['id']}/complete",
             {"variables": variables(decision="sendBack", comment="伪造退回 forged")})
    third = asked_again(service, pid, "budgetCommitteeReview", again["id"])
    assert "admin is not a member of budget-committee" in (third.get("description") or "")
    assert not open_tasks(service, pid, "correctProposal")
    assert not audited(number, "sent-back"), "a refused send-back tells nobody and moves nothing"
    assert len(audited(number, "send-back-refused")) == 2
    assert (record(number).status, reserved(number)) == ("reserved", Decimal("90000.00"))
    service.remove_instance(pid)


def test_only_the_recorded_proposer_resubmits_or_withdraws(camunda, workers, line):
    number, pid = submitted(camunda, "95000")
    revise = sent_back(camunda, pid)
    assert revise["assignee"] == "zhang.wei"
    edit = {"variables": variables(price="1000", correctionAction="resubmit")}
    for other in ("sun.li", "li.na", "wang.fang"):
        refused(user(camunda, other).call("POST", f"/task/{revise['id']}/complete", edit))
        refused(user(camunda, other).call("POST", f"/task/{revise['id']}/claim", {"userId": other}))
    service = service_actor(camunda)
    assert service.task(revise["id"])["assignee"] == "zhang.wei"

    # the strongest attacker completes the proposer's task, resubmitting and then withdrawing: nothing changes
    service.ok("POST", f"/task/{revise['id']}/complete", edit)
    again = asked_again(service, pid, "correctProposal", revise["id"])
    assert again["assignee"] == "zhang.wei" and "only the requester zhang.wei" in (again.get("description") or "")
    service.ok("POST", f"/task/{again['id']}/complete", {"variables": variables(correctionAction="withdraw")})
    third = asked_again(service, pid, "correctProposal", again["id"])
    row = record(number)
    assert (row.price_fen, row.status, reserved(number)) == (9_500_000, "sent-back", Decimal("95000.00"))
    assert not audited(number, "resubmitted") and not audited(number, "closed-withdrawn")
    assert len(audited(number, "revision-refused")) == 2

    user(camunda, "zhang.wei").ok("POST", f"/task/{third['id']}/complete",
                                  {"variables": variables(correctionAction="withdraw")})
    process_ended(camunda, pid)
    assert (record(number).status, reserved(number)) == ("withdrawn", Decimal("0.00"))


def test_variables_injected_on_resubmit_change_nothing_but_the_validated_edit(camunda, workers, line):
    number, pid = submitted(camunda, "96000")
    revise = sent_back(camunda, pid)
    proposer = user(camunda, "zhang.wei")
    for injected in ({"proposer": "li.na"}, {"collectiveDecisionRequired": False}, {"proposalNo": "EQ-0000-000001"},
                     {"committeeMembers": json.dumps(["li.na"])}, {"budgetDecision": "approve"},
                     {"totalInvestment": "1.00"}):
        refused(proposer.call("POST", f"/task/{revise['id']}/complete",
                              {"variables": variables(price="900000", correctionAction="resubmit", **injected)}))
        name, value = next(iter(injected.items()))
        refused(proposer.call("PUT", f"/process-instance/{pid}/variables/{name}",
                              {"value": str(value), "type": "String"}))
    assert record(number).price_fen == 9_600_000

    # the service account plants copies before the proposer's edit: the record and the evaluation decide
    camunda.post(f"/process-instance/{pid}/variables", {"modifications": {
        "proposer": {"value": "li.na", "type": "String"},
        "collectiveDecisionRequired": {"value": False, "type": "Boolean"},
        "committeeMembers": {"value": json.dumps(["li.na"]), "type": "Json"}}})
    # the validated edit: ¥900,000 needs the president's office meeting and the Party committee (三重一大)
    proposer.ok("POST", f"/task/{revise['id']}/complete",
                {"variables": variables(price="900000", correctionAction="resubmit")})
    review = voted_through(camunda, pid)
    row = record(number)
    assert (row.proposer, row.department, row.price_fen) == ("zhang.wei", DEPARTMENT, 90_000_000)
    assert reserved(number) == Decimal("900000.00")
    service = service_actor(camunda)
    assert service.variables(pid)["collectiveDecisionRequired"] is True
    decide(camunda, "sun.li", review, decision="approve", comment="可")
    meeting = service.open_task(pid, "presidentOfficeMeeting", timeout=30)
    assert service.identity_links(meeting["id"]) == [(None, "president", "candidate")]
    service.remove_instance(pid)


def test_decisions_of_an_earlier_round_do_not_carry_the_contract(camunda, workers, line):
    number, pid = submitted(camunda, "600000")  # above the collective-decision line
    decide(camunda, "sun.li", voted_through(camunda, pid), decision="approve", comment="可")
    service = service_actor(camunda)
    decide(camunda, "zhao.lei", service.open_task(pid, "presidentOfficeMeeting", timeout=30), decision="approve",
           comment="同意", presidentMinutesRef="院办纪〔2026〕40号", presidentMeetingDate=f"{YEAR}-05-06")
    decide(camunda, "zhou.qiang", service.open_task(pid, "partyCommitteeMeeting", timeout=30), decision="sendBack",
           comment="请降低配置 / a cheaper configuration", partyMinutesRef="党委纪〔2026〕11号",
           partyMeetingDate=f"{YEAR}-05-13")
    revise = service.open_task(pid, "correctProposal", timeout=30)
    assert audited(number, "sent-back")[0].actor == "zhou.qiang"

    # resubmitted below the collective line: round 2 needs only the budget committee, which is skipped
    user(camunda, "zhang.wei").ok("POST", f"/task/{revise['id']}/complete",
                                  {"variables": variables(price="400000", correctionAction="resubmit")})
    voted_through(camunda, pid)
    assert reserved(number) == Decimal("400000.00")
    skip_to_contract(camunda, pid, "budgetCommitteeReview")
    sign(camunda, pid, "HT-EQSB-ROUND", "400000.00")

    # round 1's budget approval does not count for round 2
    nothing_encumbered_then_voided(camunda, pid, number, "budgetCommitteeReview (budget-committee)",
                                   "no completed decision")
