"""Buyer title on the real engine: a claim whose invoice is made out to another buyer stops in review."""

from __future__ import annotations

from decimal import Decimal

import pytest

from extractors.invoice.samples import digital_xml, invoice_values_for
from tests.integration.test_reimbursement_process import OFFICER, complete, submit, task_of

pytestmark = pytest.mark.engine


def test_invoice_of_another_buyer_blocks_the_claim_until_taken_out(camunda, workers, budget):
    values = invoice_values_for("buyer-other", total=Decimal("88.00"))
    values["buyer_tax_id"] = "91330100MA27XK5Y3D"  # a company's code, not the hospital's
    values["buyer_name"] = "滨江市某科技有限公司"
    _, pid = submit(camunda, [("other-buyer.xml", digital_xml(values))])

    review = task_of(camunda, pid, "reviewInvoices")
    findings = camunda.process_variables(pid)["findings"]
    wrong = [f for f in findings if f["code"] == "BUYER_NOT_HOSPITAL"]
    assert len(wrong) == 1 and wrong[0]["invoice"] == 0 and "91330100MA27XK5Y3D" in wrong[0]["message"]
    complete(camunda, OFFICER, review, {"reviewAction": "accept"})
    again = task_of(camunda, pid, "reviewInvoices")  # accepting cannot clear a wrong buyer
    assert "BUYER_NOT_HOSPITAL" in [f["code"] for f in camunda.process_variables(pid)["findings"]]
    assert again["id"] != review["id"]
