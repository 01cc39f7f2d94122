"""The invoice-inbox flow with its real default: dropped files start real reimbursement claims.

No function is passed in: the inbox uses ``smartfin.claims.submit_claim`` against the real engine.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from smartfin.claims import Claim
from smartfin.db import session_scope
from tests.reimbursement.reimbursement_invoices import xml_invoice
from tests.support.engine import wait_for

pytestmark = [pytest.mark.engine, pytest.mark.browser]


def test_a_dropped_invoice_becomes_one_reimbursement_claim(camunda, workers, budget, prefect_api, tmp_path):
    from flows.inbox import invoice_inbox

    batch = tmp_path / "inbox" / "batch-1"
    batch.mkdir(parents=True)
    (batch / "claim.json").write_text(json.dumps({
        "claimant": "zhang.wei", "department": "T-BX", "category": "office", "fundingSource": "fiscal",
        "purpose": "收件箱 inbox"}), encoding="utf-8")
    name, data, _ = xml_invoice("inbox-e2e", total=Decimal("45.00"))
    (batch / name).write_bytes(data)

    [outcome] = invoice_inbox(folder=tmp_path / "inbox", settle_seconds=0)
    assert outcome["status"] == "submitted", outcome
    with session_scope() as session:
        claim = session.get(Claim, outcome["claim_no"])
        assert claim is not None and claim.process_instance_id
        pid = claim.process_instance_id
    assert camunda.get(f"/process-instance/{pid}")["businessKey"] == outcome["claim_no"]
    wait_for(lambda: camunda.tasks(processInstanceId=pid), 60, message="the claim's first human task")
    assert invoice_inbox(folder=tmp_path / "inbox", settle_seconds=0) == [], "a second scan takes nothing"
