"""The commitment chain on the real engine: request → contract → claim → posting consumes one reservation.

An approved spending request holds a pre-encumbrance; the contract registered for it takes it over as
encumbrance and gives the unused part back (a saving); the claim citing the contract takes that over as its
reservation; the posting bot pays it and the actual is recorded. A claim citing the request directly takes
the request's reservation over and releases the saving once it is paid. Nothing is ever reserved twice:
the line's commitments always equal what the request approved, then what was paid.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from extractors.invoice.samples import xml_invoice
from smartfin.app.cli import app
from smartfin.kernel.clock import hospital_now, hospital_today
from smartfin.ledger import Bucket, BudgetLineKey, FundingSource, balances, document_holdings, import_budget
from smartfin.processes.contracts.contracts import register_contract, validate_contract
from smartfin.processes.reimbursement.claims import Claim, submit_claim
from smartfin.processes.spending.requests import submit_spending_request
from smartfin.store.db import session_scope
from tests.support.engine import APPROVER_OF_GROUP, approve_chain, as_user, candidate_groups, process_ended

from .test_reimbursement_process import OFFICER, approve_all, complete, end_of, task_of, verify_by_hand

pytestmark = pytest.mark.engine

YEAR = hospital_now().year
DEPARTMENT = f"T-CC{uuid.uuid4().hex[:5].upper()}"
KEY = BudgetLineKey(YEAR, DEPARTMENT, "30201", FundingSource.FISCAL)


@pytest.fixture(scope="module")
def line() -> BudgetLineKey:
    csv = ("fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,tolerance_pct,"
           "tolerance_amount,warning_pct,effective_from,effective_to\n"
           f"{YEAR},{DEPARTMENT},30201,fiscal,,Commitment chain,100000.00,control,0,0,95,{YEAR}-01-01,{YEAR}-12-31\n")
    with session_scope() as session:
        report = import_budget(session, csv.encode(), actor="test", filename="commitment-chain.csv")
    assert report.ok, report.errors
    return KEY


def approved_request(camunda, amount: str) -> str:  # type: ignore[no-untyped-def]
    number = submit_spending_request({"department": DEPARTMENT, "category": "office", "amount": amount,
                                      "fundingSource": "fiscal", "requester": "zhang.wei", "payee": "晨光文具",
                                      "purpose": "办公用品 commitment chain"}, engine=camunda)
    with session_scope() as session:
        from smartfin.processes.spending.requests import SpendingRequest
        pid = session.get(SpendingRequest, number).process_instance_id  # type: ignore[union-attr]
    approve_chain(camunda, pid)
    process_ended(camunda, pid)
    assert held("spending-request", number) == Decimal(amount), "the approved request holds its reservation"
    return number


def held(document_type: str, number: str, bucket: Bucket = Bucket.PRE_ENCUMBRANCE) -> Decimal:
    with session_scope() as session:
        return document_holdings(session, document_type, number)[bucket]


def line_totals() -> tuple[Decimal, Decimal, Decimal]:
    with session_scope() as session:
        result = balances(session, KEY)
    return result.pre_encumbrance, result.encumbrance, result.actual


def claim_for(camunda, name: str, total: str, references: dict[str, str]) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    filename, data, _ = xml_invoice(name, total=Decimal(total))
    number = submit_claim([(filename, data)], department=DEPARTMENT, category="office",
                          purpose="办公用品 commitment chain", engine=as_user(camunda, "zhang.wei"),
                          references=references)
    with session_scope() as session:
        row = session.get(Claim, number)
        assert row is not None
        return number, row.process_instance_id or ""


def pay(camunda, pid: str) -> None:  # type: ignore[no-untyped-def]
    verify_by_hand(camunda, pid)
    approve_all(camunda, pid)
    complete(camunda, OFFICER, task_of(camunda, pid, "financeAudit"), {"decision": "approve", "comment": "ok"})
    process_ended(camunda, pid, timeout=90)
    assert end_of(camunda, pid) == {"claimPaid"}


def test_request_contract_claim_posting_consumes_one_reservation(camunda, workers, line, stand_in_portals):
    before = line_totals()
    request = approved_request(camunda, "1000.00")
    contract_no = f"HT-{uuid.uuid4().hex[:8]}"
    draft = validate_contract(contract_no=contract_no, request_no=request, supplier="晨光文具", amount="900.00",
                              signed_on=hospital_today().isoformat(),
                              payments=[f"{hospital_today().isoformat()}:900.00"])
    with session_scope() as session:
        register_contract(session, draft, registrar=OFFICER)
    assert held("spending-request", request) == Decimal("0.00"), "the saving of 100 went back to the line"
    assert held("contract", contract_no, Bucket.ENCUMBRANCE) == Decimal("900.00")

    number, pid = claim_for(camunda, "chain-contract", "900.00", {"contract_no": contract_no})
    task_of(camunda, pid, "verifyManually")
    pay(camunda, pid)

    assert held("contract", contract_no, Bucket.ENCUMBRANCE) == Decimal("0.00")
    assert held("reimbursement-claim", number, Bucket.ACTUAL) == Decimal("900.00")
    pre, enc, actual = line_totals()
    assert (pre - before[0], enc - before[1], actual - before[2]) == (Decimal("0.00"), Decimal("0.00"),
                                                                      Decimal("900.00")), \
        "one reservation carried from request to payment; never two"

    result = CliRunner().invoke(app, ["document", "chain", request, "--json"])
    assert result.exit_code == 0, result.output
    chain = json.loads(result.output)
    assert [d["number"] for d in chain["documents"]] == [request, contract_no, number]
    assert chain["documents"][-1]["voucher_no"], "the claim's voucher is on the chain"


def test_claim_citing_the_request_takes_it_over_and_releases_the_saving_when_paid(camunda, workers, line,
                                                                                  stand_in_portals):
    before = line_totals()
    request = approved_request(camunda, "500.00")
    number, pid = claim_for(camunda, "chain-request", "420.00", {"request_no": request})
    task_of(camunda, pid, "verifyManually")
    verify_by_hand(camunda, pid)
    task_of(camunda, pid, "approveClaim")
    assert held("spending-request", request) == Decimal("80.00"), "420 taken over, 80 still held"
    assert held("reimbursement-claim", number) == Decimal("420.00")
    assert line_totals()[0] - before[0] == Decimal("500.00"), "the claim reserved nothing on top of the request"
    approve_all(camunda, pid)
    complete(camunda, OFFICER, task_of(camunda, pid, "financeAudit"), {"decision": "approve", "comment": "ok"})
    process_ended(camunda, pid, timeout=90)
    assert end_of(camunda, pid) == {"claimPaid"}
    assert held("spending-request", request) == Decimal("0.00"), "the saving of 80 is released at payment"
    pre, _, actual = line_totals()
    assert (pre - before[0], actual - before[2]) == (Decimal("0.00"), Decimal("420.00"))


def test_a_rejected_claim_gives_the_requests_reservation_back_to_the_request(camunda, workers, line,
                                                                             stand_in_portals):
    before = line_totals()
    request = approved_request(camunda, "600.00")
    number, pid = claim_for(camunda, "chain-rejected", "450.00", {"request_no": request})
    task_of(camunda, pid, "verifyManually")
    verify_by_hand(camunda, pid)
    task_of(camunda, pid, "approveClaim")
    assert (held("spending-request", request), held("reimbursement-claim", number)) == (
        Decimal("150.00"), Decimal("450.00"))
    first = task_of(camunda, pid, "approveClaim")
    group = candidate_groups(camunda, first["id"])[0]
    complete(camunda, APPROVER_OF_GROUP[group], first, {"decision": "reject", "comment": "不予报销"})
    process_ended(camunda, pid, timeout=90)
    assert held("reimbursement-claim", number) == Decimal("0.00")
    assert held("spending-request", request) == Decimal("600.00"), "the request holds all of it again"
    assert line_totals()[0] - before[0] == Decimal("600.00"), "nothing went to the line, nothing reserved twice"

    again, pid2 = claim_for(camunda, "chain-again", "600.00", {"request_no": request})
    task_of(camunda, pid2, "verifyManually")
    verify_by_hand(camunda, pid2)
    task_of(camunda, pid2, "approveClaim")
    assert held("reimbursement-claim", again) == Decimal("600.00"), "the request is still citable"
    assert held("spending-request", request) == Decimal("0.00")
