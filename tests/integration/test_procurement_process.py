"""The procurement-evaluation process on the real engine, with the product's workers running."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import pytest

from smartfin.camunda.client import EngineClient, EngineRequestError
from smartfin.ledger import Bucket, BudgetLineKey, balances, document_holdings
from smartfin.processes.procurement.commands import import_his, send_purchase_documents, submit_proposal
from smartfin.processes.procurement.proposals import (
    DOCUMENT_TYPE,
    EquipmentProposalRecord,
    reviews_of,
    votes_of,
)
from smartfin.store.db import session_scope
from tests.support.engine import as_user, candidate_groups, process_ended, wait_for

pytestmark = pytest.mark.engine

# The service account may not list engine users; the committee comes from configuration, as in production
# without that grant. Read by the worker on every task, so setting it here is enough.
os.environ["SMARTFIN_PROCUREMENT_COMMITTEE_MEMBERS"] = "wu.hao,xu.jing,he.ping"


def ct_values(**changes: Any) -> dict[str, Any]:
    """The public 128-slice CT example as a department would submit it."""
    values: dict[str, Any] = {
        "proposer": "zhang.wei", "department": "T-EQUIP", "deviceName": "128排CT", "model": "",
        "equipmentClass": "B", "price": "12170000", "installationCost": "0", "roomArea": "50",
        "roomCostPerM2": "5000", "roomDepreciationYears": 50, "monthlyVolume": 2399, "pricePerExam": "800",
        "staffCount": 6, "annualCostPerStaff": "54000", "annualMaterials": "1800000",
        "annualMaintenance": "1600000", "annualUtilities": "2252.88", "managementFeeRatePct": "1",
        "fundingSource": "own", "economicLifeYears": 10, "depreciationYears": 6,
        "chargeCodes": "250403001,250403002", "justification": "急诊胸痛中心需要 / chest-pain centre needs it",
    }
    values.update(changes)
    return values


def ultrasound_values(**changes: Any) -> dict[str, Any]:
    """A small device: below the collective-decision and review lines."""
    values: dict[str, Any] = {
        "proposer": "zhang.wei", "department": "T-EQREJ", "deviceName": "便携彩超 Portable ultrasound",
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


def tasks_of(camunda: EngineClient, pid: str, key: str, count: int = 1) -> list[dict[str, Any]]:
    return wait_for(lambda: (lambda found: found if len(found) >= count else None)(
        camunda.tasks(processInstanceId=pid, taskDefinitionKey=key)), 30, message=f"{count} task(s) {key}")


def vote(camunda: EngineClient, pid: str, member: str, decision: str, comment: str) -> None:
    task = wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid, taskDefinitionKey="committeeVote")
                             if t["assignee"] == member], message=f"{member}'s ballot")[0]
    as_user(camunda, member).complete_task(task["id"], {"decision": decision, "comment": comment})


def complete(camunda: EngineClient, pid: str, key: str, user: str, variables: dict[str, Any]) -> dict[str, Any]:
    task = tasks_of(camunda, pid, key)[0]
    as_user(camunda, user).complete_task(task["id"], variables)
    wait_for(lambda: not camunda.tasks(taskId=task["id"]), 10, message=f"{key} completed")
    return task


def end_events(camunda: EngineClient, pid: str) -> set[str]:
    return {a["activityId"] for a in camunda.historic_activities(pid)
            if a["activityType"] == "noneEndEvent" and a["activityId"].startswith("proposal")}


def held(number: str) -> dict[Bucket, Decimal]:
    with session_scope() as session:
        holdings = document_holdings(session, DOCUMENT_TYPE, number)
    return {b: holdings[b] for b in (Bucket.PRE_ENCUMBRANCE, Bucket.ENCUMBRANCE)}


def record(number: str) -> EquipmentProposalRecord:
    with session_scope() as session:
        row = session.get(EquipmentProposalRecord, number)
        assert row is not None
        return row


@pytest.fixture(scope="module")
def contracted_ct(camunda, workers, budget) -> dict[str, Any]:
    """The CT proposal taken through every decision to a signed contract, with what was seen on the way."""
    seen: dict[str, Any] = {}
    number, pid = submit(camunda, ct_values())
    seen["number"], seen["pid"], seen["year"] = number, pid, budget

    ballots = tasks_of(camunda, pid, "committeeVote", 3)
    seen["ballot_assignees"] = sorted(t["assignee"] for t in ballots)
    seen["after_evaluation"] = camunda.process_variables(pid)
    vote(camunda, pid, "wu.hao", "approve", "设备必要 / needed")
    vote(camunda, pid, "xu.jing", "reject", "现有CT可升级 / upgrade the existing CT instead")
    seen["open_ballots_after_dissent"] = len(camunda.tasks(processInstanceId=pid, taskDefinitionKey="committeeVote"))
    vote(camunda, pid, "he.ping", "approve", "效益好 / strong economics")

    review = tasks_of(camunda, pid, "budgetCommitteeReview")[0]
    seen["budget_groups"] = candidate_groups(camunda, review["id"])
    seen["before_budget_committee"] = camunda.process_variables(pid)
    seen["held_before_budget_committee"] = held(number)
    complete(camunda, pid, "budgetCommitteeReview", "sun.li", {"decision": "approve", "comment": "预算可承受"})
    complete(camunda, pid, "presidentOfficeMeeting", "zhao.lei", {
        "decision": "approve", "comment": "同意购置", "presidentMinutesRef": "院办纪〔2026〕12号",
        "presidentMeetingDate": "2026-03-02"})
    complete(camunda, pid, "partyCommitteeMeeting", "zhou.qiang", {
        "decision": "approve", "comment": "同意", "partyMinutesRef": "党委纪〔2026〕5号",
        "partyMeetingDate": "2026-03-09"})

    contract = {"contractAction": "signed", "contractNo": "HT-2026-CT-001", "supplier": "某医疗设备有限公司",
                "signedOn": "2026-04-01"}
    complete(camunda, pid, "signContract", "wang.fang", {**contract, "contractAmount": "12500000.00"})
    again = tasks_of(camunda, pid, "signContract")[0]
    seen["contract_problem"] = camunda.process_variables(pid)["contractProblem"]
    as_user(camunda, "wang.fang").complete_task(again["id"], {**contract, "contractAmount": "12100000.00"})
    seen["timer"] = wait_for(lambda: camunda.get("/job", processInstanceId=pid, timers="true"),
                             message="the post-purchase review timer")
    return seen


def test_ct_example_end_to_end_with_figures_to_the_fen(contracted_ct, camunda):
    figures = contracted_ct["after_evaluation"]
    assert figures["annualRevenue"] == "23030400.00"
    assert figures["cashOperatingCost"] == "3847952.88"
    assert figures["annualNetCashInflow"] == "19182447.12"
    assert figures["totalInvestment"] == "12420000.00"
    assert figures["staticPaybackYears"] == "0.65"
    assert figures["npv"] == "116295781.61"
    report = figures["costBenefit"]
    assert report["staticPaybackEquipmentOnlyYears"] == "0.63"
    assert report["operatingCost"] == {"materials": "1800000.00", "staff": "324000.00", "utilities": "2252.88",
                                       "maintenance": "1600000.00", "managementFee": "121700.00",
                                       "other": "0.00"}
    assert report["depreciation"] == {"equipment": "2028333.33", "room": "5000.00"}
    assert {f["code"] for f in figures["findings"]} >= {"PERMIT_REQUIRED", "COLLECTIVE_DECISION_REQUIRED",
                                                        "POST_PURCHASE_REVIEW"}
    assert figures["collectiveDecisionRequired"] is True and figures["postPurchaseReviewRequired"] is True
    assert "19,182,447.12" in figures["costBenefitSummary"]

    assert contracted_ct["ballot_assignees"] == ["he.ping", "wu.hao", "xu.jing"]
    assert contracted_ct["budget_groups"] == ["budget-committee"]
    assert contracted_ct["held_before_budget_committee"][Bucket.PRE_ENCUMBRANCE] == Decimal("12420000.00")
    assert contracted_ct["before_budget_committee"]["reservedAmount"] == "12420000.00"
    assert "12500000" in contracted_ct["contract_problem"]

    number, pid = contracted_ct["number"], contracted_ct["pid"]
    assert held(number) == {Bucket.PRE_ENCUMBRANCE: Decimal("0.00"), Bucket.ENCUMBRANCE: Decimal("12100000.00")}
    with session_scope() as session:
        line = balances(session, BudgetLineKey(contracted_ct["year"], "T-EQUIP", "31003", "own"))
    assert line.encumbrance == Decimal("12100000.00")
    row = record(number)
    assert row.status == "contracted" and row.contract_no == "HT-2026-CT-001"
    assert row.contract_amount_fen == 1_210_000_000
    assert (row.president_minutes, row.party_minutes) == ("院办纪〔2026〕12号", "党委纪〔2026〕5号")
    decisions = camunda.process_variables(pid)["decisions"]
    trail = [(d["task"], d["user"], d["outcome"]) for d in decisions]
    assert ("presidentOfficeMeeting", "zhao.lei", "approve") in trail
    assert ("partyCommitteeMeeting", "zhou.qiang", "approve") in trail


def test_committee_vote_with_a_dissent_is_approved_by_majority(contracted_ct, camunda):
    assert contracted_ct["open_ballots_after_dissent"] == 1, "one approve and one reject decide nothing yet"
    variables = camunda.process_variables(contracted_ct["pid"])
    assert variables["committeeOutcome"] == "approve"
    assert (variables["approveVotes"], variables["rejectVotes"], variables["abstainVotes"]) == (2, 1, 0)
    assert [d["member"] for d in variables["committeeDissent"]] == ["xu.jing"]
    assert "同意 2，反对 1" in variables["committeeSummary"]
    with session_scope() as session:
        votes = {v.member: (v.vote, v.comment) for v in votes_of(session, contracted_ct["number"])}
    assert votes == {"wu.hao": ("approve", "设备必要 / needed"),
                     "xu.jing": ("reject", "现有CT可升级 / upgrade the existing CT instead"),
                     "he.ping": ("approve", "效益好 / strong economics")}


def test_three_way_mismatch_opens_an_exception_task(contracted_ct, camunda):
    number, pid = contracted_ct["number"], contracted_ct["pid"]
    order = [{"itemCode": "CT-128", "quantity": 1, "amount": "12000000.00", "description": "128排CT"},
             {"itemCode": "UPS-60", "quantity": 1, "amount": "100000.00"}]
    receipt = [{"itemCode": "CT-128", "quantity": 1}, {"itemCode": "UPS-60", "quantity": 1}]
    wrong_invoice = [{"itemCode": "CT-128", "quantity": 1, "amount": "12000000.00"},
                     {"itemCode": "UPS-60", "quantity": 1, "amount": "108000.00"}]
    send_purchase_documents(number, {"purchaseOrder": order, "goodsReceipt": receipt, "invoice": wrong_invoice},
                            engine=camunda)
    task = tasks_of(camunda, pid, "resolvePurchaseMismatch")[0]
    assert candidate_groups(camunda, task["id"]) == ["finance-officer"]
    variables = camunda.process_variables(pid)
    assert variables["matchOutcome"] == "mismatch"
    assert "UPS-60" in variables["matchSummary"] and "price mismatch" in variables["matchSummary"]
    assert record(number).status == "contracted", "nothing is delivered until the documents agree"

    as_user(camunda, "wang.fang").complete_task(task["id"], {
        "decision": "await-corrected", "comment": "发票单价与订单不符，退回供应商 / invoice price differs"})
    right_invoice = [{"itemCode": "CT-128", "quantity": 1, "amount": "12000000.00"},
                     {"itemCode": "UPS-60", "quantity": 1, "amount": "100000.00"}]
    wait_for(lambda: camunda.get("/event-subscription", processInstanceId=pid, eventType="message"),
             message="waiting for corrected documents")
    send_purchase_documents(number, {"purchaseOrder": order, "goodsReceipt": receipt, "invoice": right_invoice},
                            engine=camunda)
    wait_for(lambda: camunda.process_variables(pid)["matchOutcome"] == "matched",
             message="matched on corrected documents")
    assert record(number).status == "delivered"


HIS_EXPORT = """日期,收费编码,收费项目名称,数量,金额
2026-01-05,250403001,CT平扫,1000,"800,000.00"
2026-01-20,250403001,CT平扫,1000,"800,000.00"
2026-02-10,250403002,CT增强,1800,1440000.00
2026-02-11,310100001,其他科室项目,5,100.00
2026-03-15,250403001,CT平扫,2201,1760800.00
2026-03-16,250403001,CT平扫,-1,-800.00
"""


def test_post_purchase_review_timer_produces_a_variance_report(contracted_ct, camunda):
    number, pid = contracted_ct["number"], contracted_ct["pid"]
    timer = contracted_ct["timer"][0]
    assert timer["dueDate"], "a yearly review is scheduled"
    camunda.post(f"/job/{timer['id']}/execute")  # what the job executor does a year after the contract
    missing = tasks_of(camunda, pid, "importHisExport")[0]
    assert "250403001" in camunda.process_variables(pid)["hisMessage"]

    result = import_his(number, HIS_EXPORT.encode("gbk"))
    assert result.periods == ("2026-01", "2026-02", "2026-03") and result.skipped_other_codes == 1
    as_user(camunda, "wang.fang").complete_task(missing["id"], {"comment": "已导入 / imported"})

    task = tasks_of(camunda, pid, "examineVarianceReport")[0]
    variables = camunda.process_variables(pid)
    report = variables["varianceReport"]
    total = report["table"][-1]
    # three months against a quarter of the yearly forecast: 2,399 × 3 = 7,197 exams, ¥5,757,600.00
    assert total[0] == "TOTAL" and total[1] == "7197" and total[2] == "6000"
    assert total[5] == "5757600.00" and total[6] == "4800000.00" and total[7] == "-957600.00"
    assert "低于预测" in variables["varianceSummary"] and "TOTAL" in variables["varianceTable"]
    with session_scope() as session:
        reviews = reviews_of(session, number)
    assert [(r.review_no, r.first_period, r.last_period, r.months) for r in reviews] == [
        (1, "2026-01", "2026-03", 3)]

    as_user(camunda, "wang.fang").complete_task(task["id"], {
        "decision": "below-forecast", "comment": "检查量低于预测，加强预约 / below forecast, improve booking"})
    later = wait_for(lambda: [j for j in camunda.get("/job", processInstanceId=pid, timers="true")
                              if j["id"] != timer["id"]], message="next year's review timer")
    assert later and camunda.process_variables(pid)["reviewsDone"] == 1


def test_rejected_proposal_releases_its_reservation(camunda, workers, budget):
    number, pid = submit(camunda, ultrasound_values(proposer="he.ping"))
    ballots = tasks_of(camunda, pid, "committeeVote", 2)
    assert sorted(t["assignee"] for t in ballots) == ["wu.hao", "xu.jing"], "the proposer never votes"
    vote(camunda, pid, "wu.hao", "approve", "同意")
    vote(camunda, pid, "xu.jing", "approve", "同意")
    review = tasks_of(camunda, pid, "budgetCommitteeReview")[0]
    assert held(number)[Bucket.PRE_ENCUMBRANCE] == Decimal("300000.00")
    assert camunda.process_variables(pid)["collectiveDecisionRequired"] is False

    with pytest.raises(EngineRequestError, match="FOUR_EYES"):
        as_user(camunda, "he.ping").complete_task(review["id"], {"decision": "approve", "comment": "self"})
    as_user(camunda, "sun.li").complete_task(review["id"], {"decision": "reject",
                                                            "comment": "本年度预算已安排其他项目"})
    process_ended(camunda, pid)
    assert end_events(camunda, pid) == {"proposalRejected"}
    assert held(number) == {Bucket.PRE_ENCUMBRANCE: Decimal("0.00"), Bucket.ENCUMBRANCE: Decimal("0.00")}
    row = record(number)
    assert row.status == "rejected" and "本年度预算" in (row.closing_reason or "")
    assert camunda.historic_variables(pid)["releasedAmount"] == "300000.00"


def test_two_rejections_end_the_vote_early_and_nothing_is_reserved(camunda, workers, budget):
    number, pid = submit(camunda, ultrasound_values(deviceName="监护仪 Monitor", price="80000"))
    vote(camunda, pid, "wu.hao", "reject", "重复购置 / duplicate")
    vote(camunda, pid, "he.ping", "reject", "使用率低 / low use")
    process_ended(camunda, pid)
    assert end_events(camunda, pid) == {"proposalRejected"}
    variables = camunda.historic_variables(pid)
    assert variables["committeeOutcome"] == "reject" and variables["rejectVotes"] == 2
    with session_scope() as session:
        assert {v.member for v in votes_of(session, number)} == {"wu.hao", "he.ping"}
    assert record(number).status == "rejected"
    assert held(number)[Bucket.PRE_ENCUMBRANCE] == Decimal("0.00")


def test_debt_financed_large_equipment_is_blocked(camunda, workers, budget):
    number, pid = submit(camunda, ct_values(fundingSource="debt"))
    process_ended(camunda, pid)
    assert end_events(camunda, pid) == {"proposalBlocked"}
    variables = camunda.historic_variables(pid)
    assert "debt-financed" in variables["closingReason"]
    assert variables["findings"][0]["code"] == "DEBT_FINANCED_LARGE_EQUIPMENT"
    assert variables["blocked"] == "true"
    assert record(number).status == "blocked"
    assert held(number)[Bucket.PRE_ENCUMBRANCE] == Decimal("0.00")
    assert not [a for a in camunda.historic_activities(pid) if a["activityId"] == "committeeVote"]


def test_invalid_input_goes_back_to_the_proposer_until_corrected(camunda, workers, budget):
    bad = ct_values(monthlyVolume=-5, economicLifeYears=0)
    del bad["proposer"]  # the engine records the starter as the proposer
    del bad["fundingSource"]
    instance = as_user(camunda, "zhang.wei").start_process("procurement-evaluation", "TL-EQ-INVALID", bad)
    pid = instance["id"]
    task = tasks_of(camunda, pid, "correctProposal")[0]
    assert task["assignee"] == "zhang.wei"
    variables = camunda.process_variables(pid)
    assert set(variables["proposalErrorFields"]) == {"monthlyVolume", "economicLifeYears", "fundingSource"}
    errors = variables["proposalErrors"]
    assert "monthlyVolume" in errors and "must not be negative" in errors
    assert "economicLifeYears" in errors and "fundingSource" in errors

    # the second attempt fixes those, but prices an exam below its materials (1,800,000 / 28,788 = 62.53)
    as_user(camunda, "zhang.wei").complete_task(task["id"], {
        "monthlyVolume": 2399, "economicLifeYears": 10, "fundingSource": "own", "pricePerExam": "50",
        "correctionAction": "resubmit"})
    task = wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid, taskDefinitionKey="correctProposal")
                             if t["id"] != task["id"]], message="second correction task")[0]
    variables = camunda.process_variables(pid)
    assert variables["proposalErrorFields"] == ["pricePerExam"]
    assert "62.53" in variables["proposalErrors"]

    as_user(camunda, "zhang.wei").complete_task(task["id"], {"pricePerExam": "800",
                                                             "correctionAction": "resubmit"})
    tasks_of(camunda, pid, "committeeVote", 3)
    assert record("TL-EQ-INVALID").status == "evaluated"
    assert camunda.process_variables(pid)["proposalErrors"] == ""
    camunda.delete(f"/process-instance/{pid}")


def test_proposal_without_a_budget_line_closes_as_no_budget(camunda, workers, budget):
    number, pid = submit(camunda, ultrasound_values(department="T-EQNONE", price="90000"))
    for member in ("wu.hao", "xu.jing", "he.ping"):
        vote(camunda, pid, member, "approve", "同意")
    process_ended(camunda, pid)
    assert end_events(camunda, pid) == {"proposalNoBudget"}
    assert "T-EQNONE" in camunda.historic_variables(pid)["closingReason"]
    assert record(number).status == "no-budget"


def test_withdrawn_during_correction_closes_without_a_record(camunda, workers, budget):
    values = ultrasound_values(price="-1")
    del values["proposer"]  # the engine records the starter as the proposer
    instance = as_user(camunda, "zhang.wei").start_process("procurement-evaluation", "TL-EQ-WD", values)
    pid = instance["id"]
    task = tasks_of(camunda, pid, "correctProposal")[0]
    assert "price" in camunda.process_variables(pid)["proposalErrorFields"]
    as_user(camunda, "zhang.wei").complete_task(task["id"], {"correctionAction": "withdraw"})
    process_ended(camunda, pid)
    assert end_events(camunda, pid) == {"proposalWithdrawn"}
    with session_scope() as session:
        assert session.get(EquipmentProposalRecord, "TL-EQ-WD") is None
