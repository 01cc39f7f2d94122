"""On the real engine: a claim with an invoice no verification query can be built for is never verified
automatically; it goes to the finance officers' manual verification task with the reason per invoice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

import pytest

from extractors.invoice.samples import xml_invoice
from smartfin.app.implementations import configured_verifier
from smartfin.ledger import Bucket, document_holdings
from smartfin.processes.reimbursement import worker as reimbursement_worker
from smartfin.processes.reimbursement.claims import DOCUMENT_TYPE, claim_invoices
from smartfin.processes.reimbursement.verification import (
    VerificationOutcome,
    VerificationQuery,
    VerificationStatus,
)
from smartfin.store.db import session_scope
from tests.integration.test_reimbursement_process import OFFICER, complete, submit, task_of

pytestmark = pytest.mark.engine


class Consistent:
    """The national platform, answering every query it gets with "consistent"."""

    asked: ClassVar[list[str]] = []

    def verify(self, query: VerificationQuery, **_: Any) -> VerificationOutcome:
        Consistent.asked.append(query.number)
        return VerificationOutcome(VerificationStatus.CONSISTENT, "一致 consistent", {})


@pytest.fixture
def platform():
    Consistent.asked.clear()  # each test sees only its own queries
    reimbursement_worker.use_verifier(Consistent)
    yield Consistent.asked
    reimbursement_worker.use_verifier(configured_verifier)


def test_an_invoice_without_a_query_goes_to_manual_verification(camunda, workers, budget, platform):
    first_name, first, _ = xml_invoice("skip-unqueryable", total=Decimal("1200.00"))
    second_name, second, checkable = xml_invoice("skip-queryable", total=Decimal("80.00"))
    number, pid = submit(camunda, [(first_name, first), (second_name, second)], payment_method="cash")
    # the claim waits in review (cash over the limit); meanwhile its first invoice turns out to be one the
    # national platform cannot check (as a foreign invoice is)
    review = task_of(camunda, pid, "reviewInvoices")
    with session_scope() as session:
        row = claim_invoices(session, number)[0]
        row.kind = "foreign"
        session.add(row)
    complete(camunda, OFFICER, review, {"reviewAction": "correct", "correctedPaymentMethod": "transfer"})

    task_of(camunda, pid, "verifyManually")
    variables = camunda.process_variables(pid)
    assert variables["verification"] == "manual", "never verified while an invoice was skipped"
    assert [(s["invoice"], "foreign" in s["reason"]) for s in variables["verificationSkipped"]] == [(1, True)]
    assert "#1 " in variables["verificationSummary"] and "national platform cannot check" in \
        variables["verificationSummary"]
    assert platform == [checkable["number"]], "the invoice that can be checked was checked"
    with session_scope() as session:
        held = document_holdings(session, DOCUMENT_TYPE, number)
    assert held[Bucket.PRE_ENCUMBRANCE] == Decimal("0.00"), "nothing is reserved before verification"


def test_a_fiscal_receipt_is_read_and_checked_by_hand_not_on_the_tax_platform(camunda, workers, budget, platform):
    from extractors.receipts.samples import receipt_sample

    receipt = receipt_sample("fiscal-ofd", 7)
    invoice_name, invoice, checkable = xml_invoice("fiscal-beside", total=Decimal("60.00"))
    number, pid = submit(camunda, [(receipt.filename, receipt.data), (invoice_name, invoice)],
                         payment_method="transfer")
    task_of(camunda, pid, "verifyManually", timeout=60)
    with session_scope() as session:
        row = claim_invoices(session, number)[0]
        assert row.kind == "fiscal-receipt" and row.number == receipt.truth["number"]
        assert row.values_dict["verification"]["signed"] is True
    variables = camunda.process_variables(pid)
    assert variables["verification"] == "manual"
    assert [(s["invoice"], "fiscal e-receipt platform" in s["reason"]) for s in variables["verificationSkipped"]] \
        == [(1, True)]
    assert platform == [checkable["number"]], "only the VAT invoice went to the tax platform"
