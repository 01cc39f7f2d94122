"""Voucher posting posts only what the project recorded and approved: real engine, real workers, real ERP.

The ``post-voucher`` topic finds the document by the instance's business key, builds its voucher from the
records (a claim: approved, its payable amount reserved) and only compares the ``voucher`` variable with
it. Attacks: demo users starting ``voucher-posting`` over REST with a fabricated voucher or a real claim's
voucher with another amount, and the service account (which may start anything) doing the same. Whatever
the engine lets through, the ERP stand-in and the posting journal must show nothing posted.
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlmodel import select

from smartfin.ports.vouchers import payment_voucher
from smartfin.posting.journal import PostingState, find_entry
from smartfin.posting.sources import REFUSED_ACTION
from smartfin.processes.reimbursement.claims import DOCUMENT_TYPE, ClaimStatus
from smartfin.processes.reimbursement.vouchers import recorded_claim_voucher
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.conftest import STAND_IN_ADMIN_TOKEN
from tests.security.engine_users import DEMO_PASSWORD, Actor, variables
from tests.security.posting_claims import recorded_claim
from tests.support.engine import open_task, process_ended

pytestmark = [pytest.mark.engine, pytest.mark.browser]


def erp_vouchers(portals: Any, ref: str) -> list[dict[str, Any]]:
    """What the ERP stand-in holds under ``ref`` (its admin endpoint, not the bot)."""
    response = httpx.get(f"{portals.urls['erp']}/__admin/vouchers?ref={quote(ref, safe='')}",
                         headers={"X-Admin-Token": STAND_IN_ADMIN_TOKEN}, timeout=15)
    response.raise_for_status()
    return list(response.json()["vouchers"])


def genuine_voucher(claim_no: str) -> dict[str, Any]:
    with session_scope() as session:
        built: dict[str, Any] = recorded_claim_voucher(session, claim_no, date.today()).as_variable()
    return built


def with_amount(voucher: dict[str, Any], amount: str) -> dict[str, Any]:
    """The same voucher with every amount changed (still balanced: it passes the voucher's own checks)."""
    changed = copy.deepcopy(voucher)
    for line in (*changed["lines"], *changed["budgetLines"]):
        for side in ("debit", "credit"):
            if line[side] != "0.00":
                line[side] = amount
    return changed


def fabricated(no: str, amount: str = "9800.00") -> dict[str, Any]:
    built: dict[str, Any] = payment_voucher(
        document_type=DOCUMENT_TYPE, document_no=no, booked_on=date.today(), summary=f"报销 {no} 伪造",
        amount=Decimal(amount)).as_variable()
    return built


def refused_at_review(camunda: Any, pid: str) -> str:
    """The instance waits at the finance officer's review; the reason it shows."""
    task = open_task(camunda, pid, timeout=90)
    assert task["taskDefinitionKey"] == "reviewRejectedVoucher"
    return str(camunda.process_variables(pid)["rejectionMessage"])


def refusals(ref: str) -> list[AuditEntry]:
    with session_scope() as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == REFUSED_ACTION,
                                                          AuditEntry.subject_id == ref)).all())


def nothing_posted(portals: Any, ref: str) -> None:
    assert erp_vouchers(portals, ref) == []
    entry = find_entry(ref)
    assert entry is None or entry.state != PostingState.POSTED


def test_a_recorded_and_approved_claim_is_posted_with_its_recorded_amount(camunda, workers, stand_in_portals):  # type: ignore[no-untyped-def]
    number = recorded_claim("2480.00")
    ref = f"{DOCUMENT_TYPE}:{number}"
    pid = str(camunda.start_process("voucher-posting", ref, {"voucher": genuine_voucher(number)})["id"])
    process_ended(camunda, pid, timeout=90)
    assert [v["number"] for v in erp_vouchers(stand_in_portals, ref)] == [camunda.historic_variables(pid)["voucherNo"]]
    entry = find_entry(ref)
    assert entry is not None and entry.state == PostingState.POSTED and entry.amount == "2480.00"


def test_a_real_claims_voucher_with_another_amount_is_refused_and_nothing_posted(camunda, workers,  # type: ignore[no-untyped-def]
                                                                                  stand_in_portals):
    number = recorded_claim("2480.00")
    ref = f"{DOCUMENT_TYPE}:{number}"
    pid = str(camunda.start_process("voucher-posting", ref,
                                    {"voucher": with_amount(genuine_voucher(number), "24800.00")})["id"])
    message = refused_at_review(camunda, pid)
    assert "lines[1].debit" in message and "24800.00" in message and "2480.00" in message
    nothing_posted(stand_in_portals, ref)
    assert refusals(ref)


def test_a_claim_not_approved_for_payment_is_refused_even_with_its_own_voucher(camunda, workers,  # type: ignore[no-untyped-def]
                                                                               stand_in_portals):
    number = recorded_claim("640.00", status=ClaimStatus.APPROVED)
    voucher = genuine_voucher(number)
    with session_scope() as session:
        from smartfin.processes.reimbursement.claims import close_claim

        close_claim(session, number, ClaimStatus.REJECTED, "rejected at finance audit")
    ref = f"{DOCUMENT_TYPE}:{number}"
    pid = str(camunda.start_process("voucher-posting", ref, {"voucher": voucher})["id"])
    assert "not payable" in refused_at_review(camunda, pid)
    nothing_posted(stand_in_portals, ref)


@pytest.mark.parametrize("document_type", [DOCUMENT_TYPE, "claim", "manual"])
def test_a_fabricated_document_is_refused(camunda, workers, stand_in_portals, document_type):  # type: ignore[no-untyped-def]
    voucher = fabricated(f"BX-FAKE-{document_type}")
    voucher.update(documentType=document_type, externalRef=f"{document_type}:{voucher['documentNo']}")
    ref = voucher["externalRef"]
    pid = str(camunda.start_process("voucher-posting", ref, {"voucher": voucher})["id"])
    message = refused_at_review(camunda, pid)
    assert "not recorded" in message or "no voucher source" in message
    nothing_posted(stand_in_portals, ref)


@pytest.mark.parametrize("user", ["zhang.wei", "wang.fang"])
def test_demo_users_starting_voucher_posting_post_nothing(camunda, workers, stand_in_portals, user):  # type: ignore[no-untyped-def]
    """A requester and a finance officer try a fabricated voucher, a real claim's voucher with ten times its
    amount, and the real claim with no voucher at all. Today the write guard refuses the ``voucher`` start
    variable (no start form) and the missing authorization refuses a bare start; were either to let a start
    through, the posting step would still post nothing."""
    actor = Actor(camunda.base_url, user, DEMO_PASSWORD)
    number = recorded_claim("1500.00")
    real = f"{DOCUMENT_TYPE}:{number}"
    attempts = [(f"{DOCUMENT_TYPE}:BX-FAKE-{user}", variables(voucher=fabricated(f"BX-FAKE-{user}"))),
                (real, variables(voucher=with_amount(genuine_voucher(number), "15000.00"))),
                (real, {})]
    for ref, start_variables in attempts:
        answer = actor.call("POST", "/process-definition/key/voucher-posting/start",
                            {"businessKey": ref, "variables": start_variables})
        if answer.status >= 400:  # the engine refuses the start (the write guard, or no authorization)
            assert answer.status == 403, answer.body
            assert ("WRITE_GUARD" in answer.message) == bool(start_variables), answer.message
        else:
            refused_at_review(camunda, str(answer.body["id"]))
        nothing_posted(stand_in_portals, ref)
