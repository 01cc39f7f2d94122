"""A citing document that will never be paid gives what it took over back to the document it cited
(SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, select

from smartfin.kernel.clock import hospital_today
from smartfin.ledger import (
    Bucket,
    assess_citation,
    balances,
    consume,
    create_line,
    document_holdings,
    give_back,
    lapse,
    open_citers,
    pre_encumber,
    record_actual,
)
from smartfin.store.audit import AuditEntry

from .conftest import KEY

REQUEST = "spending-request"
CLAIM = "reimbursement-claim"


def _setup(session: Session) -> None:
    create_line(session, KEY, actor="planner", budget="10000.00")
    pre_encumber(session, KEY, "1000.00", document_type=REQUEST, document_no="REQ-1", actor="approver")


def _held(session: Session, kind: str, number: str, bucket: Bucket = Bucket.PRE_ENCUMBRANCE) -> Decimal:
    return document_holdings(session, kind, number)[bucket]


def test_a_rejected_claim_gives_the_reservation_back_to_the_request_once(session: Session) -> None:
    _setup(session)
    consume(session, cited_type=REQUEST, cited_no="REQ-1", citing_type=CLAIM, citing_no="BX-1", key=KEY,
            amount="1030.00", bucket=Bucket.PRE_ENCUMBRANCE, actor="system")  # 30 new money, within tolerance
    assert (_held(session, REQUEST, "REQ-1"), _held(session, CLAIM, "BX-1")) == (Decimal("0.00"), Decimal("1030.00"))
    assert open_citers(session, REQUEST, "REQ-1") == ["BX-1"]

    [back] = give_back(session, citing_type=CLAIM, citing_no="BX-1", actor="system", reason="claim rejected")
    assert (back.to_cited, back.to_line) == (Decimal("1000.00"), Decimal("30.00"))
    assert _held(session, REQUEST, "REQ-1") == Decimal("1000.00"), "the request holds it again"
    assert _held(session, CLAIM, "BX-1") == Decimal("0.00")
    line = balances(session, KEY)
    assert (line.pre_encumbrance, line.available) == (Decimal("1000.00"), Decimal("9000.00"))
    assert open_citers(session, REQUEST, "REQ-1") == []

    assert give_back(session, citing_type=CLAIM, citing_no="BX-1", actor="system", reason="again") == []
    assert _held(session, REQUEST, "REQ-1") == Decimal("1000.00"), "idempotent"
    audits = session.exec(select(AuditEntry).where(AuditEntry.action == "budget.given_back")).all()
    assert [(a.subject_id, a.details_dict["citing_no"]) for a in audits] == [("REQ-1", "BX-1")]

    # still citable, and its validity still runs from its approval (not from the give-back)
    assert assess_citation(session, cited_type=REQUEST, cited_no="REQ-1", key=KEY, amount="1000.00").held \
        == Decimal("1000.00")
    consume(session, cited_type=REQUEST, cited_no="REQ-1", citing_type=CLAIM, citing_no="BX-2", key=KEY,
            amount="900.00", bucket=Bucket.PRE_ENCUMBRANCE, actor="system")
    assert _held(session, CLAIM, "BX-2") == Decimal("900.00")
    assert _held(session, REQUEST, "REQ-1") == Decimal("100.00")
    assert lapse(session, document_types=(REQUEST,), as_of=hospital_today()) == [], "not lapsed by the give-back"


def test_a_cancelled_contract_gives_back_what_its_claims_did_not_take(session: Session) -> None:
    _setup(session)
    consume(session, cited_type=REQUEST, cited_no="REQ-1", citing_type="contract", citing_no="HT-1", key=KEY,
            amount="1000.00", bucket=Bucket.ENCUMBRANCE, actor="wang.fang")
    consume(session, cited_type="contract", cited_no="HT-1", citing_type=CLAIM, citing_no="BX-1", key=KEY,
            amount="400.00", bucket=Bucket.PRE_ENCUMBRANCE, actor="system")
    record_actual(session, document_type=CLAIM, document_no="BX-1", actor="system", amount="400.00")
    assert give_back(session, citing_type=CLAIM, citing_no="BX-1", actor="system", reason="paid") == [], \
        "a paid claim holds nothing: nothing to give back"
    [back] = give_back(session, citing_type="contract", citing_no="HT-1", actor="zhou.hui", reason="cancelled")
    assert (back.to_cited, back.to_line) == (Decimal("600.00"), Decimal("0.00"))
    assert _held(session, REQUEST, "REQ-1") == Decimal("600.00")
    assert _held(session, "contract", "HT-1", Bucket.ENCUMBRANCE) == Decimal("0.00")
    line = balances(session, KEY)
    assert (line.pre_encumbrance, line.encumbrance, line.actual) == (
        Decimal("600.00"), Decimal("0.00"), Decimal("400.00"))
