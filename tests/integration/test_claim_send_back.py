"""Send back for revision (退回修改), resubmission and withdrawal of reimbursement claims, on the real engine.

An approver sends a claim back with a reason; the recorded claimant takes one invoice out, attaches another
and resubmits: the new file is read, audited and verified like the first ones, the reservation follows the
new amount (released and reserved again in one transaction), the chain is routed anew as a new round, and
the stored history keeps both rounds. Or the claimant withdraws the claim after the finance audit sent it
back, and nothing stays reserved or registered.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from extractors.invoice.samples import xml_invoice
from smartfin.app.document_commands import document_report
from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_now
from smartfin.ledger import Bucket, document_holdings, import_budget
from smartfin.processes.reimbursement.claims import (
    Claim,
    InvoiceRegistration,
    claim_invoices,
    list_claims,
    submit_claim,
)
from smartfin.processes.reimbursement.commands import attach_files_to_claim
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.support.engine import APPROVER_OF_GROUP, approve_chain, as_user, candidate_groups, process_ended, wait_for

pytestmark = pytest.mark.engine

YEAR = hospital_now().year
DOC = "reimbursement-claim"
CLAIMANT = "zhang.wei"
OFFICER = "wang.fang"
LINES = f"""\
fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to
{YEAR},T-BXSB,30201,fiscal,,Claims sent back,100000.00,control,0,0,95,{YEAR}-01-01,{YEAR}-12-31
"""


@pytest.fixture(scope="module")
def lines() -> int:
    with session_scope() as session:
        report = import_budget(session, LINES.encode(), actor="test", filename="claim-send-back-lines.csv")
    assert report.ok, report.errors
    return YEAR


def submit(camunda: EngineClient, *files: tuple[str, bytes]) -> tuple[str, str]:
    number = submit_claim(list(files), claimant=CLAIMANT, department="T-BXSB", category="office",
                          purpose="办公用品 office supplies", engine=camunda)
    return number, record(number).process_instance_id or ""


def record(number: str) -> Claim:
    with session_scope() as session:
        row = session.get(Claim, number)
        assert row is not None
        session.expunge(row)
        return row


def held(number: str, bucket: Bucket = Bucket.PRE_ENCUMBRANCE) -> Decimal:
    with session_scope() as session:
        return document_holdings(session, DOC, number)[bucket]


def audit(number: str, action: str) -> list[AuditEntry]:
    with session_scope() as session:
        rows = list(session.exec(select(AuditEntry).where(AuditEntry.subject_id == number,
                                                          AuditEntry.action == action)).all())
        session.expunge_all()
        return rows


def task_of(camunda: EngineClient, pid: str, key: str, timeout: float = 60) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        tasks = camunda.tasks(processInstanceId=pid)
        found = [t for t in tasks if t["taskDefinitionKey"] == key]
        if tasks and not found:
            assert {t["taskDefinitionKey"] for t in tasks} <= {key}, f"expected {key}, waits at {tasks}"
        return found[0] if found else None
    return wait_for(probe, timeout, message=f"task {key} in {pid}")


def complete(camunda: EngineClient, user: str, task: dict[str, Any], variables: dict[str, Any]) -> None:
    as_user(camunda, user).complete_task(task["id"], variables)
    wait_for(lambda: not camunda.tasks(taskId=task["id"]), 10, message="task completion")


def verify_by_hand(camunda: EngineClient, pid: str) -> None:
    complete(camunda, OFFICER, task_of(camunda, pid, "verifyManually"),
             {"decision": "consistent", "comment": "查验一致"})


def decide(camunda: EngineClient, pid: str, decision: str, comment: str) -> str:
    """The open approval step decided by its group's demo user; returns the group."""
    task = task_of(camunda, pid, "approveClaim")
    [group] = candidate_groups(camunda, task["id"])
    complete(camunda, APPROVER_OF_GROUP[group], task, {"decision": decision, "comment": comment})
    return group


def budget_figures(text: str) -> list[Decimal]:
    return [Decimal(a) for a in re.findall(r"(-?\d+\.\d{2})", text.split("\n", 1)[1])]


def claims_listed_as(status: str) -> set[str]:
    """The claims ``smartfin document claims --status STATUS`` lists."""
    with session_scope() as session:
        return {c.claim_no for c in list_claims(session, status=status)}


def test_claim_sent_back_revised_with_a_replaced_invoice_resubmitted_and_paid_with_both_rounds_kept(
        camunda, workers, lines, stand_in_portals, tmp_path: Path):
    first = xml_invoice("sendback-kept", total=Decimal("300.00"))
    second = xml_invoice("sendback-removed", total=Decimal("500.00"))
    number, pid = submit(camunda, first[:2], second[:2])
    verify_by_hand(camunda, pid)
    task_of(camunda, pid, "approveClaim")
    assert held(number) == Decimal("800.00"), "reserved before approval"
    shown = camunda.process_variables(pid)
    assert "T-BXSB" in shown["budgetLineText"].split("\n")[0]
    before, after = budget_figures(shown["budgetLineText"])
    assert before - after == Decimal("800.00"), shown["budgetLineText"]
    assert "no decisions yet" in shown["approvalHistoryText"]

    assert decide(camunda, pid, "approve", "同意") == "dept-head"
    task_of(camunda, pid, "approveClaim")  # the next step, shown what was decided
    shown = camunda.process_variables(pid)
    assert "li.na" in shown["approvalHistoryText"] and "同意 approved" in shown["approvalHistoryText"]
    sender = decide(camunda, pid, "sendBack", "第二张发票不属于本次事由 invoice 2 is not for this purpose")

    revise = task_of(camunda, pid, "reviseClaim")
    assert revise["assignee"] == CLAIMANT, "the recorded claimant revises"
    assert "invoice 2 is not for this purpose" in (revise.get("description") or "")
    assert held(number) == Decimal("800.00"), "the reservation waits for the revision"
    [sent] = audit(number, "claim.sent-back")
    assert sent.actor == APPROVER_OF_GROUP[sender] and sent.details_dict["step"] == 2
    assert number in claims_listed_as("sent-back") and number not in claims_listed_as("submitted")

    # the claimant attaches the replacement, then takes invoice 2 out and resubmits in Tasklist
    replacement = xml_invoice("sendback-added", total=Decimal("7700.00"))
    path = tmp_path / replacement[0]
    path.write_bytes(replacement[1])
    assert attach_files_to_claim(number, [path], engine=camunda) == 3
    complete(camunda, CLAIMANT, revise, {"revisionAction": "resubmit", "removeFiles": "2",
                                         "purpose": "办公用品与打印机 office supplies and a printer"})

    verify_by_hand(camunda, pid)  # the added invoice is verified like the first ones
    task_of(camunda, pid, "approveClaim")
    assert number in claims_listed_as("submitted") and number not in claims_listed_as("sent-back")
    row = record(number)
    assert row.payable == Decimal("8000.00") and row.purpose == "办公用品与打印机 office supplies and a printer"
    assert held(number) == Decimal("8000.00"), "the reservation follows the new amount, nothing doubled"
    before, after = budget_figures(camunda.process_variables(pid)["budgetLineText"])
    assert before - after == Decimal("8000.00")
    history = camunda.process_variables(pid)["approvalHistoryText"]
    assert "退回修改 sent back" in history and "重新提交 resubmitted" in history and CLAIMANT in history

    chain = approve_chain(camunda, pid, task_key="approveClaim", comment="同意")
    assert chain == ["dept-head", "vice-president", "finance-officer", "finance-vp", "chief-accountant",
                     "president"], "the new amount needs the president: the chain is routed anew"
    complete(camunda, OFFICER, task_of(camunda, pid, "financeAudit"), {"decision": "approve", "comment": "通过"})
    process_ended(camunda, pid, timeout=120)  # the posting bot keys the voucher into the stand-in ERP
    assert record(number).status == "paid"
    assert (held(number), held(number, Bucket.ACTUAL)) == (Decimal("0.00"), Decimal("8000.00"))

    with session_scope() as session:
        invoices = {r.position: r.state for r in claim_invoices(session, number)}
        live = session.exec(select(InvoiceRegistration).where(InvoiceRegistration.claim_no == number,
                                                              InvoiceRegistration.released_at.is_(None))).all()  # type: ignore[union-attr]
        report = document_report(session, number)
    assert invoices == {0: "read", 1: "excluded", 2: "read"}
    assert sorted(r.position for r in live) == [0, 2], "the removed invoice is no longer this claim's"
    assert report is not None
    assert {s["round"] for s in report["chain"]} == {1, 2}
    assert {s["amount"] for s in report["chain"] if s["round"] == 2} == {"8000.00"}
    first_round = [(d["step"], d["user"], d["outcome"]) for d in report["decisions"] if d["round"] == 1]
    assert first_round == [(1, "li.na", "approve"), (2, APPROVER_OF_GROUP[sender], "sendBack"),
                           (None, CLAIMANT, "resubmit")]
    second_round = [(d["task"], d["outcome"]) for d in report["decisions"] if d["round"] == 2]
    assert second_round.count(("approveClaim", "approve")) == 6 and ("financeAudit", "approve") in second_round
    moves = [(e["bucket"], e["amount_fen"]) for e in report["journal"]]
    assert moves[:3] == [("pre_encumbrance", 80000), ("pre_encumbrance", -80000), ("pre_encumbrance", 800000)]
    [resubmitted] = audit(number, "claim.resubmitted")
    assert resubmitted.actor == CLAIMANT
    assert resubmitted.details_dict["changes"]["removed_files"] == [f"#2 {second[0]}"]
    assert resubmitted.details_dict["changes"]["added_files"] == [f"#3 {replacement[0]}"]

    # the invoice taken out may be claimed again elsewhere: it is no duplicate any more
    again, again_pid = submit(camunda, second[:2])
    task_of(camunda, again_pid, "verifyManually")
    assert not any(f["code"] == "INVOICE_DUPLICATE" for f in record(again).findings_list)


def test_claimant_withdraws_a_claim_the_finance_audit_sent_back_and_nothing_stays_held(camunda, workers, lines):
    invoice = xml_invoice("sendback-withdrawn", total=Decimal("260.00"))
    number, pid = submit(camunda, invoice[:2])
    verify_by_hand(camunda, pid)
    approve_chain(camunda, pid, task_key="approveClaim", comment="同意")
    audit_task = task_of(camunda, pid, "financeAudit")
    shown = camunda.process_variables(pid)
    assert shown["approvalHistoryText"].count("同意 approved") >= 2
    assert budget_figures(shown["budgetLineText"])[0] - budget_figures(shown["budgetLineText"])[1] == \
        Decimal("260.00")
    complete(camunda, OFFICER, audit_task, {"decision": "sendBack", "comment": "缺少验收单 no acceptance record"})

    revise = task_of(camunda, pid, "reviseClaim")
    assert revise["assignee"] == CLAIMANT and "no acceptance record" in (revise.get("description") or "")
    [sent] = audit(number, "claim.sent-back")
    assert (sent.actor, sent.details_dict["group"]) == (OFFICER, "finance-officer")
    complete(camunda, CLAIMANT, revise, {"revisionAction": "withdraw"})
    process_ended(camunda, pid)
    assert {a["activityId"] for a in camunda.historic_activities(pid)
            if a["activityType"] == "noneEndEvent" and a["activityId"].startswith("claim")} == {"claimWithdrawn"}
    assert record(number).status == "withdrawn"
    assert held(number) == Decimal("0.00")
    assert [e.actor for e in audit(number, "claim.withdrawal-requested")] == [CLAIMANT]
    with session_scope() as session:
        live = session.exec(select(InvoiceRegistration).where(InvoiceRegistration.claim_no == number,
                                                              InvoiceRegistration.released_at.is_(None))).all()  # type: ignore[union-attr]
        report = document_report(session, number)
    assert not live, "a withdrawn claim's invoices can be claimed again"
    assert report is not None
    answers = [(d["task"], d["user"], d["outcome"]) for d in report["decisions"] if d["task"] != "approveClaim"]
    assert answers == [("financeAudit", OFFICER, "sendBack"), ("reviseClaim", CLAIMANT, "withdraw")]
