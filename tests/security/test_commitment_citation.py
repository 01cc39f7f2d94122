"""A claim may take over only a reservation its own department's approved request still validly holds.

Attacks through the engine's REST API as the demo claimant: citing another department's approved request
(to spend that department's reservation), citing a request past its validity, and citing a contract still
waiting for its over-run approval. Each is refused at the
reservation step with REFERENCE_REFUSED: the claim goes to a finance officer with the reason, the cited
request keeps what it held, and the claim reserves nothing.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from extractors.invoice.samples import xml_invoice
from rules.budget import commitment_standards_on
from smartfin.kernel.clock import hospital_now, hospital_today
from smartfin.ledger import Bucket, BudgetLineKey, FundingSource, JournalEntry, document_holdings, import_budget
from smartfin.ledger.control import find_line
from smartfin.processes.contracts.contracts import ContractStatus, register_contract, validate_contract
from smartfin.processes.reimbursement.claims import Claim, submit_claim
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.support.engine import as_user, candidate_groups, wait_for

pytestmark = pytest.mark.engine

YEAR = hospital_now().year
MINE = f"X-CM{uuid.uuid4().hex[:5].upper()}"
THEIRS = f"X-CT{uuid.uuid4().hex[:5].upper()}"


@pytest.fixture(scope="module")
def lines() -> None:
    header = ("fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,tolerance_pct,"
              "tolerance_amount,warning_pct,effective_from,effective_to\n")
    rows = "".join(f"{YEAR},{d},30201,fiscal,,Citation attacks,100000.00,control,0,0,95,{YEAR}-01-01,{YEAR}-12-31\n"
                   for d in (MINE, THEIRS))
    with session_scope() as session:
        report = import_budget(session, (header + rows).encode(), actor="test", filename="citation.csv")
    assert report.ok, report.errors


def approved_request(department: str, amount: str, approved_on=None) -> str:  # type: ignore[no-untyped-def]
    """A request as the ledger knows an approved one: a pre-encumbrance on its line, on its approval day."""
    number = f"REQ-X-{uuid.uuid4().hex[:8]}"
    key = BudgetLineKey(YEAR, department, "30201", FundingSource.FISCAL)
    with session_scope() as session:
        line = find_line(session, key)
        assert line is not None and line.id is not None
        session.add(JournalEntry(line_id=line.id, bucket=Bucket.PRE_ENCUMBRANCE.value,
                                 amount_fen=int(Decimal(amount) * 100),
                                 document_type="spending-request", document_no=number, actor="approver",
                                 reason="approved", effective_on=approved_on or hospital_today()))
    return number


def held(document_type: str, number: str) -> Decimal:
    with session_scope() as session:
        return document_holdings(session, document_type, number).total


def claim_citing(camunda, request: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    filename, data, _ = xml_invoice(f"cite-{request}", total=Decimal("300.00"))
    number = submit_claim([(filename, data)], department=MINE, category="office", purpose="办公用品 citation attack",
                          engine=as_user(camunda, "zhang.wei"), references={"request_no": request})
    with session_scope() as session:
        row = session.get(Claim, number)
        assert row is not None
        return number, row.process_instance_id or ""


def refused_at_reservation(camunda, pid: str, number: str, request: str, before: Decimal) -> str:  # type: ignore[no-untyped-def]
    verify = wait_for(lambda: next((t for t in camunda.tasks(processInstanceId=pid)
                                    if t["taskDefinitionKey"] == "verifyManually"), None), 30, message="verify task")
    as_user(camunda, "wang.fang").complete_task(verify["id"], {"decision": "consistent", "comment": "ok"})
    task = wait_for(lambda: next((t for t in camunda.tasks(processInstanceId=pid)
                                  if t["taskDefinitionKey"] in ("resolveBudget", "approveClaim")), None), 30,
                    message="the claim's next task")
    assert task["taskDefinitionKey"] == "resolveBudget", "the citation must be refused before any approval"
    assert candidate_groups(camunda, task["id"]) == ["finance-officer"]
    message = str(camunda.process_variables(pid)["budgetMessage"])
    assert request in message
    assert held("spending-request", request) == before, "the cited request keeps what it held"
    assert held("reimbursement-claim", number) == Decimal("0.00"), "the claim reserved nothing"
    with session_scope() as session:
        audits = session.exec(select(AuditEntry).where(AuditEntry.subject_id == number,
                                                       AuditEntry.action == "claim.reference-refused")).all()
    assert audits, "the refusal is in the audit log"
    return message


def test_a_claim_citing_another_departments_request_is_refused(camunda, workers, lines):
    theirs = approved_request(THEIRS, "5000.00")
    number, pid = claim_citing(camunda, theirs)
    message = refused_at_reservation(camunda, pid, number, theirs, Decimal("5000.00"))
    assert THEIRS in message and MINE in message


def test_a_claim_citing_an_expired_request_is_refused(camunda, workers, lines):
    validity = commitment_standards_on(hospital_today()).request_validity_days
    old = approved_request(MINE, "800.00", approved_on=hospital_today() - timedelta(days=validity + 1))
    number, pid = claim_citing(camunda, old)
    message = refused_at_reservation(camunda, pid, number, old, Decimal("800.00"))
    assert "expired" in message


def test_a_claim_citing_a_contract_awaiting_its_overrun_approval_is_refused(camunda, workers, lines):
    """While a contract waits for its over-run approval the request still holds the money and the contract
    holds nothing: a claim citing the contract must not reserve the same purchase a second time."""
    request = approved_request(MINE, "1000.00")
    contract_no = f"HT-X-{uuid.uuid4().hex[:8]}"
    draft = validate_contract(contract_no=contract_no, request_no=request, supplier="迈瑞医疗", amount="1200.00",
                              signed_on=hospital_today().isoformat(), payments=[], department=MINE)
    with session_scope() as session:
        assert register_contract(session, draft, registrar="wang.fang").status == ContractStatus.PENDING_OVERRUN
    filename, data, _ = xml_invoice(f"cite-{contract_no}", total=Decimal("300.00"))
    number = submit_claim([(filename, data)], department=MINE, category="office", purpose="办公用品 pending contract",
                          engine=as_user(camunda, "zhang.wei"), references={"contract_no": contract_no})
    with session_scope() as session:
        row = session.get(Claim, number)
        assert row is not None
        pid = row.process_instance_id or ""
    verify = wait_for(lambda: next((t for t in camunda.tasks(processInstanceId=pid)
                                    if t["taskDefinitionKey"] == "verifyManually"), None), 30, message="verify task")
    as_user(camunda, "wang.fang").complete_task(verify["id"], {"decision": "consistent", "comment": "ok"})
    task = wait_for(lambda: next((t for t in camunda.tasks(processInstanceId=pid)
                                  if t["taskDefinitionKey"] in ("resolveBudget", "approveClaim")), None), 30,
                    message="the claim's next task")
    assert task["taskDefinitionKey"] == "resolveBudget", "a claim citing a pending contract must not be approved"
    assert contract_no in str(camunda.process_variables(pid)["budgetMessage"])
    assert held("spending-request", request) == Decimal("1000.00"), "the request keeps its reservation"
    assert held("reimbursement-claim", number) == Decimal("0.00"), "the claim reserved nothing beside it"
