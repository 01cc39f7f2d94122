"""verify-invoice never reports a claim verified while an invoice could not be checked."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from camunda.external_task.external_task import ExternalTask
from sqlmodel import select

from smartfin.camunda.runtime import Job
from smartfin.kernel.clock import hospital_now
from smartfin.processes.reimbursement import worker as handlers
from smartfin.processes.reimbursement.claims import Claim, ClaimInvoice, InvoiceState
from smartfin.processes.reimbursement.verification import (
    ManualVerifier,
    VerificationOutcome,
    VerificationQuery,
    VerificationStatus,
)
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope

_numbers = itertools.count(1)


class AlwaysConsistent:
    """A platform that finds every invoice it is asked about."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def verify(self, query: VerificationQuery, *, captcha_answer: str | None = None,
               resume_token: str | None = None) -> VerificationOutcome:
        self.asked.append(query.number)
        return VerificationOutcome(VerificationStatus.CONSISTENT, "一致 consistent", {})


@pytest.fixture
def platform() -> Iterator[AlwaysConsistent]:
    verifier = AlwaysConsistent()
    handlers.use_verifier(lambda: verifier)
    yield verifier
    handlers.use_verifier(ManualVerifier)


def claim_with(*invoices: dict[str, Any]) -> str:
    number = f"BX-UV-{next(_numbers):06d}-{hospital_now().strftime('%H%M%S%f')}"
    with session_scope() as session:
        session.add(Claim(claim_no=number, claimant="zhang.wei", department="U-BX", category="office",
                          economic_code="30201", funding_source="fiscal", fiscal_year=2026, purpose="unit"))
        session.flush()
        for position, fields in enumerate(invoices):
            session.add(ClaimInvoice(claim_no=number, position=position, sha256=f"{position:064d}",
                                     filename=f"{position}.xml", source_format="xml", **fields))
    return number


def digital(number: str, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"kind": "digital", "number": number, "issue_date": date(2026, 1, 5),
                              "total_with_tax_fen": 10600, "seller_name": "某公司"}
    fields.update(changes)
    return fields


def verify(claim_no: str) -> dict[str, Any]:
    task = ExternalTask({"id": f"task-{claim_no}", "topicName": "verify-invoice", "businessKey": claim_no,
                         "processInstanceId": f"pi-{claim_no}"})
    return handlers.verify_invoices(Job(task, {}))


def test_every_invoice_checked_and_consistent_is_verified(platform: AlwaysConsistent) -> None:
    result = verify(claim_with(digital("26442000000000000001"), digital("26442000000000000002")))
    assert result["verification"] == "verified" and result["verificationSkipped"] == []
    assert platform.asked == ["26442000000000000001", "26442000000000000002"]


def test_an_invoice_without_a_query_goes_to_a_person_with_the_reason(platform: AlwaysConsistent) -> None:
    number = claim_with(digital("26442000000000000003"), digital(None),
                        digital("26442000000000000004", kind="foreign"),
                        digital("26442000000000000005", issue_date=None),
                        digital("26442000000000000006", total_with_tax_fen=None),
                        {"state": InvoiceState.MANUAL, "manual_reason": "image only"},
                        digital("26442000000000000007", state=InvoiceState.EXCLUDED))
    result = verify(number)
    assert result["verification"] == "manual", "never verified while an invoice was skipped"
    skipped = {s["invoice"]: s["reason"] for s in result["verificationSkipped"]}
    assert sorted(skipped) == [2, 3, 4, 5, 6], "the excluded invoice is not paid and not asked about"
    assert "number is missing" in skipped[2] and "foreign" in skipped[3] and "issue date" in skipped[4]
    assert "amount" in skipped[5] and "could not be read" in skipped[6]
    for position, reason in skipped.items():
        assert f"#{position} " in result["verificationSummary"] and reason in result["verificationSummary"]
    assert platform.asked == ["26442000000000000003"], "the checkable invoice is still checked"
    with session_scope() as session:
        audited = session.exec(select(AuditEntry).where(AuditEntry.subject_id == number,
                                                        AuditEntry.action == "claim.verification-skipped")).one()
    assert [i["invoice"] for i in audited.details_dict["invoices"]] == [2, 3, 4, 5, 6]


def test_a_failed_invoice_still_wins_over_a_skipped_one() -> None:
    class Refuses(AlwaysConsistent):
        def verify(self, query: VerificationQuery, **_: Any) -> VerificationOutcome:
            return VerificationOutcome(VerificationStatus.NOT_FOUND, "查无此票 not found", {})

    handlers.use_verifier(Refuses)
    try:
        result = verify(claim_with(digital("26442000000000000008"), digital(None)))
    finally:
        handlers.use_verifier(ManualVerifier)
    assert result["verification"] == "failed"
    assert result["verificationFindings"][0]["code"] == "INVOICE_NOT_AUTHENTIC"
