"""Forged process variables do not move commitment money: the claim's cited request, amount and department
come from the claim's record and the ledger, never from what a user sends the engine.

Attacks through the engine's REST API: the claimant tries to set variables naming another request, another
department and a tiny amount on her running claim, and the finance officer to complete the verification
with them (both refused by the engine's write guard). Past the guard — set by an administrator — variables
naming another department's request, a request "already consumed", another department and a tiny amount,
then another request and the outcome "paid" before the rejection, change nothing either.
The money moves as the record says: the claim takes over its own request's reservation for the invoiced
amount, and on rejection gives it back to that same request.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select

from smartfin.ledger import Bucket, DocumentLink, document_holdings
from smartfin.store.db import session_scope
from tests.security.engine_users import DEMO_PASSWORD, Actor, admin_password, service_actor, typed, variables
from tests.support.engine import APPROVER_OF_GROUP, candidate_groups, process_ended

from .test_commitment_citation import MINE, THEIRS, approved_request, claim_citing, held, lines  # noqa: F401

pytestmark = pytest.mark.engine

FORGED = dict(department=THEIRS, amount="1.00", payable="1.00", claimedTotal="1.00", withinPlan=True,
              requestConsumed=True, budgetMessage="已引用 / consumed")


def pre(document_type: str, number: str) -> Decimal:
    with session_scope() as session:
        return document_holdings(session, document_type, number)[Bucket.PRE_ENCUMBRANCE]


def test_forged_variables_neither_redirect_nor_resize_the_take_over_nor_the_give_back(camunda, workers, lines):  # noqa: F811
    own = approved_request(MINE, "700.00")
    other_own = approved_request(MINE, "900.00")
    theirs = approved_request(THEIRS, "1000.00")
    number, pid = claim_citing(camunda, own)   # the claim's record cites ``own`` for 300.00

    claimant = Actor(camunda.base_url, "zhang.wei", DEMO_PASSWORD)
    for name, value in (("requestNo", other_own), ("department", THEIRS), ("amount", "1.00")):
        answer = claimant.call("PUT", f"/process-instance/{pid}/variables/{name}", typed(value))
        assert answer.status >= 400, f"the claimant may not set {name} on her running claim"

    officer = Actor(camunda.base_url, "wang.fang", DEMO_PASSWORD)
    verify = officer.open_task(pid, "verifyManually", timeout=30)
    forged = officer.call("POST", f"/task/{verify['id']}/complete", {"variables": variables(
        decision="consistent", comment="ok", requestNo=other_own, **FORGED)})
    assert forged.status == 403 and "WRITE_GUARD" in forged.message, "only the form's fields may be written"

    # past the engine's write guard (an administrator, or a model that lets a field through): the variables
    # say another request, another department's request, another department and a tiny amount
    admin = Actor(camunda.base_url, "admin", admin_password())
    admin.ok("POST", f"/process-instance/{pid}/variables", {"modifications": variables(
        requestNo=theirs, references={"request_no": theirs}, cited=other_own, **FORGED)})
    assert admin.variables(pid)["requestNo"] == theirs
    officer.ok("POST", f"/task/{verify['id']}/complete", {"variables": variables(decision="consistent",
                                                                                comment="ok")})

    approve = service_actor(camunda).open_task(pid, "approveClaim", timeout=30)
    assert pre("reimbursement-claim", number) == Decimal("300.00"), "the recorded amount, not 1.00"
    assert pre("spending-request", own) == Decimal("400.00"), "taken over from the recorded request"
    assert pre("spending-request", other_own) == Decimal("900.00")
    assert pre("spending-request", theirs) == Decimal("1000.00"), "another department's request untouched"
    with session_scope() as session:
        links = session.exec(select(DocumentLink).where(DocumentLink.citing_no == number)).all()
    assert [(x.cited_no, x.consumed_fen) for x in links] == [(own, 30000)]

    group = candidate_groups(camunda, approve["id"])[0]
    approver = Actor(camunda.base_url, APPROVER_OF_GROUP[group], DEMO_PASSWORD)
    admin.ok("POST", f"/process-instance/{pid}/variables", {"modifications": variables(
        requestNo=other_own, outcome="paid", claimStatus="paid", **FORGED)})
    approver.ok("POST", f"/task/{approve['id']}/complete", {"variables": variables(decision="reject",
                                                                                  comment="不予报销")})
    process_ended(camunda, pid, timeout=60)
    assert pre("reimbursement-claim", number) == Decimal("0.00")
    assert pre("spending-request", own) == Decimal("700.00"), "given back to the recorded request"
    assert pre("spending-request", other_own) == Decimal("900.00"), "not to the one the variables name"
    assert pre("spending-request", theirs) == Decimal("1000.00")
    assert held("reimbursement-claim", number) == Decimal("0.00"), "nothing paid, nothing held"
