"""The reimbursement process on the real engine, with the product's workers running.

Posting (topic ``post-voucher``) is done by the real posting bot in Chromium against the stand-in ERP that
the test session starts; the ERP's fault switch makes it refuse a voucher for the rejection path.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlmodel import select

from extractors.invoice.samples import xml_invoice
from smartfin.camunda.client import EngineClient, EngineRequestError
from smartfin.kernel.clock import hospital_today
from smartfin.kernel.settings import get_settings
from smartfin.ledger import Bucket, document_holdings
from smartfin.processes.reimbursement.claims import Claim, InvoiceRegistration, claim_invoices, submit_claim
from smartfin.processes.reimbursement.commands import attach_files_to_claim
from smartfin.store.db import session_scope
from tests.conftest import STAND_IN_ADMIN_TOKEN
from tests.support.engine import APPROVER_OF_GROUP, as_user, candidate_groups, process_ended, wait_for
from tests.support.invoice_samples import image_only_pdf

pytestmark = pytest.mark.engine

CLAIMANT = "zhang.wei"
OFFICER = "wang.fang"


def submit(camunda: EngineClient, files: list[tuple[str, bytes]], *, department: str = "T-BX",
           **options: Any) -> tuple[str, str]:
    number = submit_claim(files, claimant=CLAIMANT, department=department, category="office",
                          purpose="办公用品 office supplies", engine=camunda, **options)
    return number, claim(number).process_instance_id or ""


def claim(number: str) -> Claim:
    with session_scope() as session:
        row = session.get(Claim, number)
        assert row is not None
        return row


def task_of(camunda: EngineClient, pid: str, key: str, timeout: float = 30) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        tasks = camunda.tasks(processInstanceId=pid)
        found = [t for t in tasks if t["taskDefinitionKey"] == key]
        if tasks and not found:
            current = {t["taskDefinitionKey"] for t in tasks}
            assert current <= {key}, f"expected {key}, the claim waits at {current}"
        return found[0] if found else None
    return wait_for(probe, timeout, message=f"task {key} in {pid}")


def complete(camunda: EngineClient, user: str, task: dict[str, Any], variables: dict[str, Any]) -> None:
    as_user(camunda, user).complete_task(task["id"], variables)
    wait_for(lambda: not camunda.tasks(taskId=task["id"]), 10, message="task completion")


def verify_by_hand(camunda: EngineClient, pid: str) -> None:
    task = task_of(camunda, pid, "verifyManually")
    assert candidate_groups(camunda, task["id"]) == ["finance-officer"]
    complete(camunda, OFFICER, task, {"decision": "consistent", "comment": "查验一致"})


def approve_all(camunda: EngineClient, pid: str, *, reject_at: str | None = None) -> list[str]:
    seen = []
    while True:
        task = wait_for(lambda: (camunda.tasks(processInstanceId=pid) or [None])[0], 30, message="next task")
        if task["taskDefinitionKey"] != "approveClaim":
            return seen
        group = candidate_groups(camunda, task["id"])[0]
        seen.append(group)
        decision = "reject" if group == reject_at else "approve"
        complete(camunda, APPROVER_OF_GROUP[group], task, {"decision": decision, "comment": "ok"})
        if decision == "reject":
            return seen


def erp_vouchers(portals: Any, ref: str) -> list[dict[str, str]]:
    response = httpx.get(f"{portals.urls['erp']}/__admin/vouchers", params={"ref": ref},
                         headers={"X-Admin-Token": STAND_IN_ADMIN_TOKEN}, timeout=15)
    response.raise_for_status()
    return list(response.json()["vouchers"])


def refuse_next_voucher(portals: Any, message: str) -> None:
    """The ERP will refuse the next voucher with a validation message, as a closed account would."""
    httpx.post(f"{portals.urls['erp']}/__admin/faults", json={"refuse_next_save": message},
               headers={"X-Admin-Token": STAND_IN_ADMIN_TOKEN}, timeout=15).raise_for_status()


def holdings(number: str) -> dict[Bucket, Decimal]:
    with session_scope() as session:
        held = document_holdings(session, "reimbursement-claim", number)
    return {bucket: held[bucket] for bucket in (Bucket.PRE_ENCUMBRANCE, Bucket.ACTUAL)}


def end_of(camunda: EngineClient, pid: str) -> set[str]:
    process_ended(camunda, pid)
    return {a["activityId"] for a in camunda.historic_activities(pid)
            if a["activityType"] == "noneEndEvent" and a["activityId"].startswith("claim")}


def test_happy_path_reads_verifies_reserves_approves_posts_and_records_the_actual(camunda, workers, budget,
                                                                                  stand_in_portals):
    name, data, values = xml_invoice("happy", total=Decimal("320.00"))
    number, pid = submit(camunda, [(name, data)])

    verify_by_hand(camunda, pid)
    task_of(camunda, pid, "approveClaim")
    assert holdings(number)[Bucket.PRE_ENCUMBRANCE] == Decimal("320.00"), "reserved before approval"
    chain = approve_all(camunda, pid)
    assert chain == ["dept-head", "vice-president", "finance-officer", "chief-accountant"]
    audit = task_of(camunda, pid, "financeAudit")
    complete(camunda, OFFICER, audit, {"decision": "approve", "comment": "审核通过"})

    process_ended(camunda, pid, timeout=90)  # the posting bot keys the voucher into the stand-in ERP
    assert end_of(camunda, pid) == {"claimPaid"}
    [voucher] = erp_vouchers(stand_in_portals, f"reimbursement-claim:{number}")
    row = claim(number)
    assert row.status == "paid" and row.voucher_no == voucher["number"]
    assert holdings(number) == {Bucket.PRE_ENCUMBRANCE: Decimal("0.00"), Bucket.ACTUAL: Decimal("320.00")}
    with session_scope() as session:
        invoice = claim_invoices(session, number)[0]
    assert invoice.number == values["number"] and invoice.total_with_tax == Decimal("320.00")
    assert invoice.issue_date == values["issue_date"]


def test_unreadable_scan_goes_to_review_where_typed_fields_are_validated_again(camunda, workers, budget):
    scan = image_only_pdf()
    number, pid = submit(camunda, [(scan.filename, scan.data)])
    review = task_of(camunda, pid, "reviewInvoices", timeout=90)  # the scan goes through OCR first
    variables = camunda.process_variables(pid)
    assert "IMAGE_ONLY" in variables["findingsText"] and "scan.pdf" in variables["reviewSummary"]

    issued = hospital_today().isoformat()
    typed = {"reviewAction": "correct", "invoicePosition": 1, "correctedNumber": "26442000000123456789",
             "correctedIssueDate": "2026-13-40", "correctedTotalWithTax": "150.00",
             "correctedSellerName": "杭州康泰医疗器械有限公司",
             "correctedBuyerName": get_settings().hospital_name, "correctedBuyerTaxId": get_settings().hospital_uscc}
    complete(camunda, OFFICER, review, typed)
    again = task_of(camunda, pid, "reviewInvoices")
    assert "CORRECTION_INVALID" in camunda.process_variables(pid)["findingsText"]

    complete(camunda, OFFICER, again, {**typed, "correctedIssueDate": issued, "correctedTotalAmount": "150.00",
                                       "correctedTotalTax": "0.00"})
    task_of(camunda, pid, "verifyManually")
    with session_scope() as session:
        invoice = claim_invoices(session, number)[0]
    assert invoice.state == "read" and invoice.number == "26442000000123456789"
    assert invoice.total_with_tax == Decimal("150.00") and invoice.corrected_by == OFFICER
    assert claim(number).payable == Decimal("150.00")


def test_duplicate_invoice_is_refused_for_the_second_claim_until_taken_out(camunda, workers, budget):
    name, data, _ = xml_invoice("dup-shared", total=Decimal("210.00"))
    first, first_pid = submit(camunda, [(name, data)])
    task_of(camunda, first_pid, "verifyManually")
    other = xml_invoice("dup-other", total=Decimal("55.00"))
    second, pid = submit(camunda, [("copy-of-" + name, data), other[:2]])

    review = task_of(camunda, pid, "reviewInvoices")
    findings = camunda.process_variables(pid)["findings"]
    duplicate = [f for f in findings if f["code"] == "INVOICE_DUPLICATE"]
    assert len(duplicate) == 1 and duplicate[0]["invoice"] == 0 and first in duplicate[0]["message"]
    complete(camunda, OFFICER, review, {"reviewAction": "exclude", "invoicePosition": 1,
                                        "reviewComment": "重复报销 duplicate"})
    task_of(camunda, pid, "verifyManually")
    assert claim(second).payable == Decimal("55.00")
    with session_scope() as session:
        live = session.exec(select(InvoiceRegistration).where(InvoiceRegistration.released_at.is_(None),  # type: ignore[union-attr]
                                                              InvoiceRegistration.claim_no.in_([first, second]))).all()  # type: ignore[attr-defined]
    assert sorted((r.claim_no, r.position) for r in live) == [(first, 0), (second, 1)]


def test_cash_over_the_limit_blocks_until_the_payment_method_is_corrected(camunda, workers, budget):
    name, data, _ = xml_invoice("cash", total=Decimal("1200.00"))
    number, pid = submit(camunda, [(name, data)], payment_method="cash")
    review = task_of(camunda, pid, "reviewInvoices")
    assert "CASH_LIMIT_EXCEEDED" in camunda.process_variables(pid)["findingsText"]
    complete(camunda, OFFICER, review, {"reviewAction": "accept"})
    review = task_of(camunda, pid, "reviewInvoices")  # accepting cannot clear a blocking finding
    complete(camunda, OFFICER, review, {"reviewAction": "correct", "correctedPaymentMethod": "transfer"})
    task_of(camunda, pid, "verifyManually")
    assert claim(number).payment_method == "transfer"


def test_finance_officer_cannot_review_her_own_claim(camunda, workers, budget):
    name, data, _ = xml_invoice("own-claim", total=Decimal("1500.00"))
    number = submit_claim([(name, data)], claimant=OFFICER, department="T-BX", category="office",
                          purpose="自己的报销 own claim", payment_method="cash", engine=camunda)
    review = task_of(camunda, claim(number).process_instance_id or "", "reviewInvoices")
    with pytest.raises(EngineRequestError, match="FOUR_EYES"):
        as_user(camunda, OFFICER).complete_task(review["id"], {"reviewAction": "accept"})
    assert camunda.tasks(taskId=review["id"]), "the review stays open for another officer"


def test_budget_exceeded_goes_to_finance_and_rejection_reserves_nothing(camunda, workers, budget):
    name, data, _ = xml_invoice("over", total=Decimal("500.00"))
    number, pid = submit(camunda, [(name, data)], department="T-BXLOW")
    verify_by_hand(camunda, pid)
    resolve = task_of(camunda, pid, "resolveBudget")
    assert "30201" in camunda.process_variables(pid)["budgetMessage"]
    complete(camunda, OFFICER, resolve, {"decision": "reject", "comment": "预算不足"})
    assert end_of(camunda, pid) == {"claimRejected"}
    assert claim(number).status == "rejected"
    assert holdings(number)[Bucket.PRE_ENCUMBRANCE] == Decimal("0.00")


def test_claim_without_budget_line_goes_to_finance(camunda, workers, budget):
    name, data, _ = xml_invoice("noline", total=Decimal("80.00"))
    _, pid = submit(camunda, [(name, data)], department="T-BXNONE")
    verify_by_hand(camunda, pid)
    resolve = task_of(camunda, pid, "resolveBudget")
    assert "T-BXNONE" in camunda.process_variables(pid)["budgetMessage"]
    complete(camunda, OFFICER, resolve, {"decision": "reject"})
    assert end_of(camunda, pid) == {"claimRejected"}


def test_rejected_voucher_then_rejection_releases_the_reservation_and_the_invoice(camunda, workers, budget,
                                                                                  stand_in_portals):
    name, data, _ = xml_invoice("voucher-rejected", total=Decimal("90.00"))
    number, pid = submit(camunda, [(name, data)])
    verify_by_hand(camunda, pid)
    assert approve_all(camunda, pid) == ["dept-head", "chief-accountant"]
    refuse_next_voucher(stand_in_portals, "科目 5001 已停用 account closed")
    complete(camunda, OFFICER, task_of(camunda, pid, "financeAudit"), {"decision": "approve"})
    assert holdings(number)[Bucket.PRE_ENCUMBRANCE] == Decimal("90.00")

    fix = task_of(camunda, pid, "fixVoucher", timeout=90)
    assert erp_vouchers(stand_in_portals, f"reimbursement-claim:{number}") == []
    assert "5001" in camunda.process_variables(pid)["voucherError"]
    complete(camunda, OFFICER, fix, {"decision": "reject", "comment": "退回重报"})
    assert end_of(camunda, pid) == {"claimRejected"}
    assert holdings(number) == {Bucket.PRE_ENCUMBRANCE: Decimal("0.00"), Bucket.ACTUAL: Decimal("0.00")}
    _, again_pid = submit(camunda, [(name, data)])  # the released invoice may be claimed again
    task_of(camunda, again_pid, "verifyManually")


def test_tasklist_start_waits_for_files_and_invalid_fields_close_the_claim(camunda, workers, budget, tmp_path):
    tasklist = as_user(camunda, CLAIMANT)
    started = tasklist.start_process("reimbursement", "", {
        "department": "T-BX", "category": "office", "fundingSource": "fiscal", "purpose": "Tasklist",
        "paymentMethod": "transfer"})
    attach = task_of(camunda, started["id"], "attachInvoices")
    assert attach["assignee"] == CLAIMANT
    number = camunda.process_variables(started["id"])["claimNo"]
    name, data, _ = xml_invoice("tasklist", total=Decimal("66.00"))
    path = tmp_path / name
    path.write_bytes(data)
    assert attach_files_to_claim(number, [path], engine=camunda) == 1
    task_of(camunda, started["id"], "verifyManually")

    refused = tasklist.start_process("reimbursement", "", {
        "department": "T-BX", "category": "caviar", "fundingSource": "fiscal", "purpose": "x"})
    assert end_of(camunda, refused["id"]) == {"claimRefused"}
    assert "caviar" in camunda.historic_variables(refused["id"])["closingReason"]
