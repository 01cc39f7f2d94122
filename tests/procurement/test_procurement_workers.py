"""Worker handlers on the project's database, without an engine: outcomes, BPMN errors, idempotency."""

from __future__ import annotations

import itertools
from decimal import Decimal as D
from types import SimpleNamespace
from typing import Any

import pytest
from camunda.external_task.external_task import ExternalTask
from sqlmodel import select

from smartfin.camunda.runtime import BusinessError, Job
from smartfin.kernel.clock import hospital_now
from smartfin.ledger import Bucket, document_holdings, import_budget
from smartfin.processes.approvals import ApprovalDecision
from smartfin.processes.procurement import worker as handlers
from smartfin.processes.procurement.proposals import DOCUMENT_TYPE, EquipmentProposalRecord, reviews_of, votes_of
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope

YEAR = hospital_now().year
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def line() -> str:
    csv = ("fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,"
           "tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to\n"
           f"{YEAR},U-PROC,31003,fiscal,,Unit equipment,1000000.00,control,0,0,90,{YEAR}-01-01,{YEAR}-12-31\n")
    with session_scope() as session:
        assert import_budget(session, csv.encode(), actor="test", filename="unit.csv").ok
    return "U-PROC"


def job(variables: dict[str, Any], key: str | None = None) -> Job:
    task = ExternalTask({"id": f"task-{next(_numbers)}", "topicName": "t", "businessKey": key,
                         "processInstanceId": f"pi-{key}"})
    return Job(task, dict(variables))


def proposal(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "proposer": "zhang.wei", "department": "U-PROC", "deviceName": "彩超 Ultrasound", "equipmentClass": "ordinary",
        "price": "200000", "monthlyVolume": 400, "pricePerExam": "150", "staffCount": 1,
        "annualCostPerStaff": "60000", "annualMaterials": "24000", "annualMaintenance": "8000",
        "annualUtilities": "1000", "managementFeeRatePct": "1", "fundingSource": "fiscal",
        "economicLifeYears": 6, "depreciationYears": 5, "chargeCodes": "220800001",
    }
    values.update(changes)
    return values


def evaluated(number: str, **changes: Any) -> dict[str, Any]:
    values = proposal(**changes)
    return {**values, **handlers.evaluate_equipment(job(values, number))}


def held(number: str) -> dict[Bucket, D]:
    with session_scope() as session:
        holdings = document_holdings(session, DOCUMENT_TYPE, number)
    return {b: holdings[b] for b in (Bucket.PRE_ENCUMBRANCE, Bucket.ENCUMBRANCE)}


def test_invalid_proposal_is_a_bpmn_error_naming_the_fields(line: str) -> None:
    with pytest.raises(BusinessError) as error:
        handlers.evaluate_equipment(job(proposal(monthlyVolume=-3, economicLifeYears=0), "U-EQ-INVALID"))
    assert error.value.code == "PROPOSAL_INVALID"
    assert error.value.variables["proposalErrorFields"] == ["monthlyVolume", "economicLifeYears"]
    assert "monthlyVolume" in error.value.message and "must not be negative" in error.value.message
    with session_scope() as session:
        assert session.get(EquipmentProposalRecord, "U-EQ-INVALID") is None


def test_debt_financed_large_equipment_is_a_policy_block(line: str) -> None:
    with pytest.raises(BusinessError) as error:
        handlers.evaluate_equipment(job(proposal(equipmentClass="A", fundingSource="debt", price="6000000",
                                                 chargeCodes="1"), "U-EQ-DEBT"))
    assert error.value.code == "POLICY_BLOCKED"
    assert error.value.variables["findings"][0]["code"] == "DEBT_FINANCED_LARGE_EQUIPMENT"
    with session_scope() as session:
        assert session.get(EquipmentProposalRecord, "U-EQ-DEBT").status == "blocked"


def test_evaluation_twice_keeps_one_record_and_the_same_figures(line: str) -> None:
    first = evaluated("U-EQ-TWICE")
    second = evaluated("U-EQ-TWICE")
    assert first == second
    assert first["totalInvestment"] == "200000.00" and first["annualRevenue"] == "720000.00"
    assert first["collectiveDecisionRequired"] is False and first["postPurchaseReviewRequired"] is False


def test_reservation_contract_and_release_are_idempotent(line: str, monkeypatch) -> None:
    # the decisions a contract needs are read from the engine's history, which this unit test has not;
    # that control is tested against the real engine in tests/security/test_procurement_decisions.py
    monkeypatch.setattr(handlers, "decision_problems", lambda job, row, barred: ([], []))
    variables = evaluated("U-EQ-LEDGER")
    reserved = handlers.pre_encumber_proposal(job(variables, "U-EQ-LEDGER"))
    again = handlers.pre_encumber_proposal(job(variables, "U-EQ-LEDGER"))
    assert reserved["preEncumbranceEntry"] == again["preEncumbranceEntry"]
    assert held("U-EQ-LEDGER") == {Bucket.PRE_ENCUMBRANCE: D("200000.00"), Bucket.ENCUMBRANCE: D("0.00")}

    contract = {**variables, "contractNo": "HT-1", "decisions": [{"task": "signContract", "user": "wang.fang"}]}
    with pytest.raises(BusinessError) as error:
        handlers.encumber_contract(job({**contract, "contractAmount": "200000.01"}, "U-EQ-LEDGER"))
    assert error.value.code == "CONTRACT_EXCEEDS_APPROVAL" and "200000.01" in error.value.variables["contractProblem"]
    with pytest.raises(BusinessError, match="contractAmount"):
        handlers.encumber_contract(job({**contract, "contractAmount": "abc"}, "U-EQ-LEDGER"))
    for _ in range(2):
        handlers.encumber_contract(job({**contract, "contractAmount": "190000.00"}, "U-EQ-LEDGER"))
    assert held("U-EQ-LEDGER") == {Bucket.PRE_ENCUMBRANCE: D("0.00"), Bucket.ENCUMBRANCE: D("190000.00")}

    closed = handlers.release_proposal(job({**variables, "outcome": "abandoned"}, "U-EQ-LEDGER"))
    assert closed["releasedAmount"] == "190000.00"
    assert handlers.release_proposal(job({**variables, "outcome": "abandoned"}, "U-EQ-LEDGER"))[
        "releasedAmount"] == "0.00"
    assert held("U-EQ-LEDGER")[Bucket.ENCUMBRANCE] == D("0.00")


def test_a_resubmitted_proposal_replaces_its_reservation_never_doubles_it(line: str) -> None:
    from smartfin.ledger import BudgetLineKey, balances

    key = BudgetLineKey(YEAR, "U-PROC", "31003", "fiscal", "")
    with session_scope() as session:
        before = balances(session, key).pre_encumbrance
    variables = evaluated("U-EQ-RESUB")
    handlers.pre_encumber_proposal(job(variables, "U-EQ-RESUB"))
    # sent back and resubmitted cheaper: evaluated again on the new figures, reserved again
    cheaper = evaluated("U-EQ-RESUB", price="150000")
    for _ in range(2):
        result = handlers.pre_encumber_proposal(job(cheaper, "U-EQ-RESUB"))
    assert result["reservedAmount"] == "150000.00"
    assert held("U-EQ-RESUB") == {Bucket.PRE_ENCUMBRANCE: D("150000.00"), Bucket.ENCUMBRANCE: D("0.00")}
    # the same figures again (a resubmission that changed only the justification) keep the reservation
    same = handlers.pre_encumber_proposal(job(evaluated("U-EQ-RESUB", price="150000", justification="更正"),
                                              "U-EQ-RESUB"))
    assert same["preEncumbranceEntry"] == result["preEncumbranceEntry"]
    with session_scope() as session:
        assert balances(session, key).pre_encumbrance - before == D("150000.00")


def test_no_budget_line_is_a_bpmn_error(line: str) -> None:
    variables = evaluated("U-EQ-NOLINE", department="U-NOWHERE")
    with pytest.raises(BusinessError) as error:
        handlers.pre_encumber_proposal(job(variables, "U-EQ-NOLINE"))
    assert error.value.code == "BUDGET_UNAVAILABLE" and "U-NOWHERE" in error.value.message


def test_convene_excludes_the_proposer_and_uses_configured_members(line: str, monkeypatch) -> None:
    monkeypatch.setenv("SMARTFIN_PROCUREMENT_COMMITTEE_MEMBERS", "wu.hao, xu.jing,he.ping")
    variables = evaluated("U-EQ-CONVENE", proposer="he.ping")
    result = handlers.convene_committee(job(variables, "U-EQ-CONVENE"))
    assert result["committeeMembers"] == ["wu.hao", "xu.jing"]
    assert result["committeeQuorum"] == 2 and result["committeeMajorityPct"] == "50"
    # members, quorum and majority come from the group and the standards, never from variables
    given = handlers.convene_committee(job({**variables, "proposer": "x", "committeeMembers": "a,b,c,d",
                                            "committeeMajorityPct": "66.66"}, "U-EQ-CONVENE"))
    assert given["committeeMembers"] == ["wu.hao", "xu.jing"]
    assert given["committeeQuorum"] == 2 and given["committeeMajorityPct"] == "50"
    monkeypatch.setenv("SMARTFIN_PROCUREMENT_COMMITTEE_MEMBERS", "")
    with pytest.raises(RuntimeError, match="SMARTFIN_PROCUREMENT_COMMITTEE_MEMBERS"):
        handlers.convene_committee(job({"proposer": "x"}, "U-EQ-CONVENE"))


class History:
    """Just enough of the engine's REST API for the tally: the group, the starter and vote-task history."""

    def __init__(self, group: list[str], votes: list[tuple[str, str | None, str, str]], starter: str = "",
                 vote_started: str | None = None) -> None:
        self.group, self.starter, self.vote_started = group, starter, vote_started
        self.prefix = f"{next(_numbers)}-t"  # task ids are unique in the engine, so across tests here too
        # (assignee, completing user in the operation log, decision, comment), in completion order
        self.votes = votes

    def get(self, path: str, **params: Any) -> Any:
        if path == "/user":
            return [{"id": u} for u in self.group]
        if path == "/history/task":
            return [{"id": f"{self.prefix}{n}", "assignee": a, "deleteReason": "completed",
                     "activityInstanceId": f"ai{n}", "startTime": f"2026-03-01T10:00:0{n}.000+0800",
                     "endTime": f"2026-03-01T10:00:0{n}.000+0800"}
                    for n, (a, _, _, _) in enumerate(self.votes)]
        if path == "/history/activity-instance":  # when the latest vote began
            assert params["activityId"] == "committeeVote#multiInstanceBody"
            return [{"startTime": self.vote_started}] if self.vote_started else []
        if path == "/history/user-operation":
            user = self.votes[int(params["taskId"].rpartition("-t")[2])][1]
            return [{"userId": user, "operationType": "Complete"}] if user else []
        if path == "/history/variable-instance":
            vote = self.votes[int(params["activityInstanceIdIn"][2:])]
            return [{"value": vote[2] if params["variableName"] == "decision" else vote[3]}]
        raise AssertionError(f"unexpected GET {path}")

    def historic_process(self, _pid: str) -> dict[str, Any]:
        return {"startUserId": self.starter}


def engine_job(variables: dict[str, Any], key: str, engine: History) -> Job:
    made = job(variables, key)
    made.worker = SimpleNamespace(engine=engine)  # type: ignore[assignment]
    return made


def test_tally_stores_each_ballot_once(line: str) -> None:
    variables = evaluated("U-EQ-TALLY")
    history = History(["he.ping", "wu.hao", "xu.jing"], [("wu.hao", "wu.hao", "approve", "ok"),
                                                        ("xu.jing", "xu.jing", "reject", "too dear"),
                                                        ("he.ping", "he.ping", "approve", "fine")])
    decisions = [{"task": "committeeVote", "user": "wu.hao", "outcome": "approve", "comment": "ok"},
                 {"task": "budgetCommitteeReview", "user": "sun.li", "outcome": "reject", "comment": ""},
                 {"task": "committeeVote", "user": "xu.jing", "outcome": "reject", "comment": "too dear"},
                 {"task": "committeeVote", "user": "he.ping", "outcome": "approve", "comment": "fine"}]
    state = {**variables, "committeeMembers": ["wu.hao", "xu.jing", "he.ping"], "committeeQuorum": 2,
             "committeeMajorityPct": "50", "decisions": decisions}
    for _ in range(2):
        result = handlers.tally_votes(engine_job(state, "U-EQ-TALLY", history))
    assert result["committeeOutcome"] == "approve"
    assert result["committeeDissent"] == [{"member": "xu.jing", "vote": "reject", "comment": "too dear"}]
    with session_scope() as session:
        assert [(v.member, v.vote) for v in votes_of(session, "U-EQ-TALLY")] == [
            ("wu.hao", "approve"), ("xu.jing", "reject"), ("he.ping", "approve")]
        assert session.get(EquipmentProposalRecord, "U-EQ-TALLY").committee_outcome == "approve"


def test_tally_reads_history_and_current_membership_never_variables(line: str) -> None:
    variables = evaluated("U-EQ-RIGGED")
    # he.ping left the group after the vote was convened; wang.fang never was in it
    history = History(["wu.hao", "xu.jing"], [("he.ping", "he.ping", "approve", "former member"),
                                              ("wang.fang", "wang.fang", "approve", "not a member"),
                                              ("wu.hao", "smartfin-service", "approve", "for wu.hao"),
                                              ("xu.jing", "xu.jing", "approve", "yes")], starter="zhang.wei")
    forged = [{"task": "committeeVote", "user": m, "outcome": "approve", "comment": "forged"}
              for m in ("wu.hao", "xu.jing", "he.ping")]
    state = {**variables, "committeeMembers": ["wang.fang", "xu.jing"], "committeeQuorum": 1,
             "committeeMajorityPct": "0", "decisions": forged, "approveVotes": 4}
    result = handlers.tally_votes(engine_job(state, "U-EQ-RIGGED", history))
    assert result["committeeOutcome"] == "reject" and "未达法定人数" in result["committeeSummary"]
    assert [v["member"] for v in result["committeeVotes"]] == ["xu.jing"]
    assert [r["user"] for r in result["committeeRefusedBallots"]] == ["he.ping", "wang.fang", "smartfin-service"]
    with session_scope() as session:
        assert [v.member for v in votes_of(session, "U-EQ-RIGGED")] == ["xu.jing"]
    with pytest.raises(RuntimeError, match="history"):
        handlers.tally_votes(job(state, "U-EQ-RIGGED"))


def test_tally_sends_back_with_every_reason_and_counts_only_the_latest_vote(line: str) -> None:
    variables = evaluated("U-EQ-SENDBK")
    # round 1 (before 10:00:02): two approvals that no longer count; round 2: one approval, two send-backs
    history = History(["wu.hao", "xu.jing", "he.ping"], [("wu.hao", "wu.hao", "approve", "round one"),
                                                        ("xu.jing", "xu.jing", "approve", "round one"),
                                                        ("wu.hao", "wu.hao", "sendBack", "补充同类设备使用率"),
                                                        ("xu.jing", "xu.jing", "sendBack", "降低配置"),
                                                        ("he.ping", "he.ping", "approve", "ok")],
                      vote_started="2026-03-01T10:00:02.000+0800")
    state = {**variables, "proposer": "forged.user", "committeeMembers": ["wu.hao"], "committeeQuorum": 1}
    for _ in range(2):
        result = handlers.tally_votes(engine_job(state, "U-EQ-SENDBK", history))
    assert result["committeeOutcome"] == "sendBack"
    assert result["sendBackReason"] == "wu.hao: 补充同类设备使用率\nxu.jing: 降低配置"
    assert result["proposer"] == variables["proposer"], "the revision goes to the proposer of the record"
    with session_scope() as session:
        row = session.get(EquipmentProposalRecord, "U-EQ-SENDBK")
        assert (row.status, row.committee_outcome) == ("sent-back", "sendBack")
        assert [(v.member, v.vote) for v in votes_of(session, "U-EQ-SENDBK")] == [
            ("wu.hao", "sendBack"), ("xu.jing", "sendBack"), ("he.ping", "approve")]
        sent = session.exec(select(AuditEntry).where(AuditEntry.subject_id == "U-EQ-SENDBK",
                                                     AuditEntry.action == "sent-back")).all()
        assert len(sent) == 1, "a re-delivered tally tells the proposer once"
        kept = session.exec(select(ApprovalDecision).where(ApprovalDecision.document_no == "U-EQ-SENDBK")).all()
        assert sorted((d.round, d.task_key, d.user_id, d.outcome, d.task_id[-1]) for d in kept) == [
            (1, "committeeVote", "he.ping", "approve", "4"), (1, "committeeVote", "wu.hao", "sendBack", "2"),
            (1, "committeeVote", "xu.jing", "sendBack", "3")], "only the latest vote's ballots, each once"


def test_three_way_match_routes_a_mismatch(line: str) -> None:
    variables = evaluated("U-EQ-MATCH")
    order = [{"itemCode": "US-1", "quantity": 1, "amount": "190000.00"}]
    matched = handlers.match_purchase(job({**variables, "purchaseOrder": order,
                                           "goodsReceipt": [{"itemCode": "US-1", "quantity": 1}],
                                           "invoice": [{"itemCode": "US-1", "quantity": 1, "amount": "190050.00"}]},
                                          "U-EQ-MATCH"))
    assert matched["matchOutcome"] == "matched", "¥50 is within the ¥100 tolerance"
    twice = handlers.match_purchase(job({**variables, "purchaseOrder": order,
                                         "goodsReceipt": [{"itemCode": "US-1", "quantity": 1}],
                                         "invoice": [{"itemCode": "US-1", "quantity": 2, "amount": "380000.00"}]},
                                        "U-EQ-MATCH"))
    assert twice["matchOutcome"] == "mismatch"
    assert "quantity mismatch" in twice["matchSummary"] and "invoiced 2, received 1" in twice["matchText"]
    with pytest.raises(ValueError, match="goodsReceipt"):
        handlers.match_purchase(job({**variables, "purchaseOrder": order, "goodsReceipt": [],
                                     "invoice": order}, "U-EQ-MATCH"))


def test_review_waits_for_his_data_then_reports_once(line: str) -> None:
    from smartfin.processes.procurement.commands import import_his

    variables = evaluated("U-EQ-REVIEW")
    with pytest.raises(BusinessError) as error:
        handlers.review_post_purchase(job({**variables, "reviewsDone": 0}, "U-EQ-REVIEW"))
    assert error.value.code == "HIS_EXPORT_MISSING" and "220800001" in error.value.variables["hisMessage"]

    export = ("date,charge_code,charge_name,quantity,amount\n"
              "2026-01-03,220800001,彩超,400,60000.00\n2026-03-04,220800001,彩超,380,57000.00\n")
    imported = import_his("U-EQ-REVIEW", export.encode())
    assert imported.periods == ("2026-01", "2026-03")
    first = handlers.review_post_purchase(job({**variables, "reviewsDone": 0}, "U-EQ-REVIEW"))
    again = handlers.review_post_purchase(job({**variables, "reviewsDone": 0}, "U-EQ-REVIEW"))
    assert first == again and first["reviewsDone"] == 1
    total = first["varianceReport"]["table"][-1]
    assert total[:3] == ["TOTAL", "1200", "780"], "three months spanned: February without charges counts"
    with session_scope() as session:
        assert len(reviews_of(session, "U-EQ-REVIEW")) == 1
    with pytest.raises(BusinessError, match="HIS"):
        handlers.review_post_purchase(job({**variables, "reviewsDone": 1}, "U-EQ-REVIEW"))
