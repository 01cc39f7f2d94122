"""Claims recorded the way the reimbursement process leaves them before posting, for the posting-control tests.

A claim is written into the ``claim`` table and, when it is to be payable, its payable amount is
pre-encumbered on a budget line of its own (one line per test session, so these tests share no budget
with the integration suites).
"""

from __future__ import annotations

import itertools
import uuid
from decimal import Decimal

from smartfin.kernel.clock import hospital_now
from smartfin.ledger import import_budget, pre_encumber
from smartfin.processes.reimbursement.claims import DOCUMENT_TYPE, Claim, ClaimStatus
from smartfin.store.db import session_scope

YEAR = hospital_now().year
DEPARTMENT = f"T-PC{uuid.uuid4().hex[:6].upper()}"
_numbers = itertools.count(1)
_line_ready: list[bool] = []


def _budget_line() -> None:
    if _line_ready:
        return
    csv = ("fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,"
           "tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to\n"
           f"{YEAR},{DEPARTMENT},30201,fiscal,,Posting control,1000000.00,control,0,0,90,"
           f"{YEAR}-01-01,{YEAR}-12-31\n")
    with session_scope() as session:
        report = import_budget(session, csv.encode(), actor="test", filename="posting-control.csv")
    assert report.ok, report.errors
    _line_ready.append(True)


def recorded_claim(amount: str = "2480.00", *, status: str = ClaimStatus.APPROVED, reserve: bool = True,
                   instance: str | None = None) -> str:
    """A claim as recorded at intake and carried to ``status``; its payable amount reserved when asked."""
    _budget_line()
    number = f"BX-PC-{next(_numbers):04d}-{hospital_now().strftime('%H%M%S%f')}"
    payable = Decimal(amount)
    with session_scope() as session:
        claim = Claim(claim_no=number, claimant="zhang.wei", department=DEPARTMENT, category="office",
                      economic_code="30201", funding_source="fiscal", fiscal_year=YEAR,
                      purpose="办公用品 posting control", claimed_total_fen=int(payable * 100),
                      payable_fen=int(payable * 100), status=status, process_instance_id=instance)
        session.add(claim)
        session.flush()
        if reserve:
            pre_encumber(session, claim.budget_key, payable, document_type=DOCUMENT_TYPE, document_no=number,
                         actor="test", reason="claim audited")
    return number
