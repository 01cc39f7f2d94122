"""The posting control without the engine: the comparison of a voucher copy with the record, the claim's
voucher source, and the ``post-voucher`` handler refusing a copy that is not the recorded voucher.
"""

from __future__ import annotations

import copy
import itertools
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from camunda.external_task.external_task import ExternalTask

from smartfin.app import bot_topics
from smartfin.camunda.runtime import BusinessError, Job
from smartfin.ports.vouchers import Voucher, payment_voucher
from smartfin.posting.journal import find_entry
from smartfin.posting.sources import REFUSED_ACTION, VoucherRefused, VoucherSources, voucher_differences
from smartfin.processes.reimbursement.claims import DOCUMENT_TYPE, ClaimStatus
from smartfin.processes.reimbursement.vouchers import recorded_claim_voucher
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.security.posting_claims import recorded_claim

_ids = itertools.count(1)


def voucher(amount: str = "2480.00", no: str = "BX-1") -> Voucher:
    return payment_voucher(document_type=DOCUMENT_TYPE, document_no=no, booked_on=date(2026, 7, 1),
                           summary="报销 BX-1 办公用品", amount=Decimal(amount), attachments=1)


def test_the_same_voucher_and_another_booking_date_are_no_difference() -> None:
    recorded = voucher()
    assert voucher_differences(recorded, recorded.as_variable()) == []
    later = {**recorded.as_variable(), "bookedOn": "2026-07-09"}
    assert voucher_differences(recorded, later) == []
    plain = copy.deepcopy(recorded.as_variable())
    plain["lines"][0]["debit"] = "2480"  # an amount written otherwise is the same amount
    assert voucher_differences(recorded, plain) == []


def every_amount(value: str) -> Any:
    def change(variable: dict[str, Any]) -> None:
        for line in (*variable["lines"], *variable["budgetLines"]):
            for side in ("debit", "credit"):
                if line[side] != "0.00":
                    line[side] = value
    return change


EXTRA = [{"account": "5001", "summary": "x", "debit": "1.00", "credit": "0"},
         {"account": "2302", "summary": "x", "debit": "0", "credit": "1.00"}]


@pytest.mark.parametrize(("change", "named"), [
    (every_amount("2490.00"), "lines[1].debit"),
    (lambda v: v["lines"][1].update(account="100201"), "lines[2].account"),
    (lambda v: v["budgetLines"][1].update(account="800101"), "budgetLines[2].account"),
    (lambda v: v["lines"][0].update(summary="别的"), "lines[1].summary"),
    (lambda v: v.update(documentNo="BX-2", externalRef=None), "documentNo"),
    (lambda v: v.update(documentType="claim", externalRef=None), "documentType"),
    (lambda v: v.update(summary="报销 别人的单子"), "summary"),
    (lambda v: v.update(attachments=7), "attachments"),
    (lambda v: v.update(voucherType="记"), "voucherType"),
    (lambda v: v["lines"].extend(EXTRA), "lines: "),
])
def test_every_difference_that_matters_is_named(change: Any, named: str) -> None:
    recorded = voucher()
    variable = copy.deepcopy(recorded.as_variable())
    change(variable)
    problems = voucher_differences(recorded, variable)
    assert problems and any(named in p for p in problems), problems


def test_a_foreign_external_reference_and_an_invalid_copy_are_differences() -> None:
    recorded = voucher()
    assert "externalRef" in voucher_differences(recorded, {**recorded.as_variable(),
                                                           "externalRef": "reimbursement-claim:BX-9"})[0]
    assert voucher_differences(recorded, {"documentType": "x"})
    assert voucher_differences(recorded, "not a voucher")


def test_the_document_comes_from_the_business_key() -> None:
    sources = VoucherSources()
    sources.register(DOCUMENT_TYPE, recorded_claim_voucher, process_key="reimbursement")
    assert sources.document_of("reimbursement", "BX-7") == (DOCUMENT_TYPE, "BX-7")
    assert sources.document_of("voucher-posting", f"{DOCUMENT_TYPE}:BX-7") == (DOCUMENT_TYPE, "BX-7")
    for process, key in (("voucher-posting", "BX-7"), ("reimbursement", None), ("spending-approval", "SQ-1")):
        with pytest.raises(VoucherRefused):
            sources.document_of(process, key)
    with session_scope() as session, pytest.raises(VoucherRefused, match="no voucher source"):
        sources.recorded(session, "claim", "BX-7", date(2026, 7, 1))


def test_only_an_approved_claim_with_its_amount_reserved_has_a_voucher() -> None:
    payable = recorded_claim("120.50")
    with session_scope() as session:
        built = recorded_claim_voucher(session, payable, date(2026, 7, 1))
    assert built.amount == Decimal("120.50") and built.external_ref == f"{DOCUMENT_TYPE}:{payable}"
    refused = [recorded_claim(status=ClaimStatus.SUBMITTED), recorded_claim(status=ClaimStatus.PAID),
               recorded_claim(status=ClaimStatus.REJECTED), recorded_claim(reserve=False), "BX-NOT-RECORDED"]
    for number in refused:
        with session_scope() as session, pytest.raises(VoucherRefused, match=number):
            recorded_claim_voucher(session, number, date(2026, 7, 1))


def post_job(business_key: str, variable: Any, process: str = "reimbursement") -> Job:
    task = ExternalTask({"id": f"pv-{next(_ids)}", "topicName": "post-voucher", "businessKey": business_key,
                         "processInstanceId": f"pi-pv-{next(_ids)}", "processDefinitionKey": process})
    return Job(task, {"voucher": variable})


def refusals(external_ref: str) -> list[AuditEntry]:
    with session_scope() as session:
        from sqlmodel import select

        return list(session.exec(select(AuditEntry).where(AuditEntry.action == REFUSED_ACTION,
                                                          AuditEntry.subject_id == external_ref)).all())


def test_the_topic_refuses_a_changed_copy_before_the_portal_is_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    number = recorded_claim("300.00")
    with session_scope() as session:
        genuine = recorded_claim_voucher(session, number, date(2026, 7, 1)).as_variable()
    tampered = copy.deepcopy(genuine)
    every_amount("30000.00")(tampered)
    posted: list[Voucher] = []
    monkeypatch.setattr(bot_topics, "post_voucher", posted.append)
    with pytest.raises(BusinessError) as refused:
        bot_topics.post_voucher_task(post_job(number, tampered))
    assert refused.value.code == "VOUCHER_REJECTED" and "lines[1].debit" in refused.value.variables["rejectionMessage"]
    with pytest.raises(BusinessError):  # the same copy started as a stand-alone posting
        bot_topics.post_voucher_task(post_job(f"{DOCUMENT_TYPE}:{number}", tampered, "voucher-posting"))
    assert posted == [] and find_entry(f"{DOCUMENT_TYPE}:{number}") is None
    assert len(refusals(f"{DOCUMENT_TYPE}:{number}")) == 2


def test_the_topic_posts_the_recorded_voucher_not_the_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    number = recorded_claim("300.00")
    with session_scope() as session:
        genuine = recorded_claim_voucher(session, number, date(2026, 7, 1)).as_variable()
    posted: list[Voucher] = []

    def fake_post(v: Voucher) -> Any:
        posted.append(v)
        raise RuntimeError("stop before the portal")

    monkeypatch.setattr(bot_topics, "post_voucher", fake_post)
    with pytest.raises(RuntimeError, match="stop before"):
        bot_topics.post_voucher_task(post_job(number, {**genuine, "bookedOn": "2020-01-01"}))
    assert [v.amount for v in posted] == [Decimal("300.00")] and posted[0].booked_on != date(2020, 1, 1)


def test_a_claim_not_approved_for_payment_is_refused_even_with_its_exact_voucher(
        monkeypatch: pytest.MonkeyPatch) -> None:
    number = recorded_claim("300.00")
    with session_scope() as session:
        genuine = recorded_claim_voucher(session, number, date(2026, 7, 1)).as_variable()
        from smartfin.processes.reimbursement.claims import close_claim

        close_claim(session, number, ClaimStatus.REJECTED, "test")
    posted: list[Voucher] = []
    monkeypatch.setattr(bot_topics, "post_voucher", posted.append)
    with pytest.raises(BusinessError, match="not payable"):
        bot_topics.post_voucher_task(post_job(number, genuine))
    assert posted == []
