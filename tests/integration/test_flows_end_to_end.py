"""The scheduled flows with their real defaults: the inbox starts real claims, the batch posts through the bot.

No function is passed in: the inbox uses ``smartfin.processes.reimbursement.claims.submit_claim`` and the posting
batch the ERP bot, against the real engine and the stand-in ERP the test session starts.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import httpx
import pytest

from extractors.invoice.samples import xml_invoice
from smartfin.ports.vouchers import payment_voucher
from smartfin.processes.reimbursement.claims import Claim
from smartfin.store.db import session_scope
from tests.conftest import STAND_IN_ADMIN_TOKEN
from tests.support.engine import wait_for

pytestmark = [pytest.mark.engine, pytest.mark.browser]


def test_a_dropped_invoice_becomes_one_reimbursement_claim(camunda, workers, budget, prefect_server, tmp_path):
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


def test_the_posting_batch_posts_through_the_bot_once(camunda, workers, stand_in_portals, prefect_server, tmp_path):
    from flows.posting import posting_batch

    voucher = payment_voucher(document_type="batch-test", document_no="PB-1", booked_on=date(2026, 11, 2),
                              summary="批量过账 batch posting", amount=Decimal("88.00"))
    outbox = tmp_path / "posting" / "outbox"
    outbox.mkdir(parents=True)
    (outbox / "PB-1.json").write_text(json.dumps(voucher.as_variable(), ensure_ascii=False), encoding="utf-8")

    [outcome] = posting_batch(folder=tmp_path / "posting")
    assert outcome["status"] == "posted" and outcome["voucher_no"], outcome
    found = httpx.get(f"{stand_in_portals.urls['erp']}/__admin/vouchers", params={"ref": voucher.external_ref},
                      headers={"X-Admin-Token": STAND_IN_ADMIN_TOKEN}, timeout=15).json()
    assert [v["number"] for v in found["vouchers"]] == [outcome["voucher_no"]]
    (outbox / "PB-1.json").write_text(json.dumps(voucher.as_variable(), ensure_ascii=False), encoding="utf-8")
    [again] = posting_batch(folder=tmp_path / "posting")
    assert again["voucher_no"] == outcome["voucher_no"], "re-exported voucher is not posted twice"
    found = httpx.get(f"{stand_in_portals.urls['erp']}/__admin/vouchers", params={"ref": voucher.external_ref},
                      headers={"X-Admin-Token": STAND_IN_ADMIN_TOKEN}, timeout=15).json()
    assert found["count"] == 1
