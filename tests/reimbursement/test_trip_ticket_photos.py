"""A photographed ticket in a claim: kept with its journey like a PDF ticket, so the class check applies."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from extractors.invoice import extract_invoice
from rules.reimbursement import audit_claim, needs_review, standards_on
from smartfin.processes.reimbursement.claims import (
    Claim,
    ClaimFile,
    claim_facts,
    claim_invoices,
    invoice_facts,
    record_claim,
    store_extraction,
    validate_claim,
)
from smartfin.store.db import session_scope
from tests.support.ocr_samples import encode, photograph, render_pdf
from tests.support.travel_samples import rail_sample

LATE = date(2100, 1, 1)


def _first_class_rail() -> Any:
    for seed in range(300, 500):
        sample = rail_sample("rail-standard", seed)
        if sample.truth["segments[0].cabin"] == "first-class":
            return sample
    raise AssertionError("no first-class sample in range")


def test_a_first_class_ticket_photo_is_over_the_standard_and_goes_to_review(sqlite_db: Engine) -> None:
    sample = _first_class_rail()
    photo = encode(photograph(render_pdf(sample.data), "tilt", 7), ".jpg", 80)
    day = sample.truth["segments[0].departure_date"]
    claim_input = validate_claim({
        "claimant": "zhang.wei", "department": "T-BX", "category": "travel", "fundingSource": "fiscal",
        "purpose": "学术会议", "travel": {"destination": sample.truth["segments[0].to_city"], "province": "",
                                       "departed": day.isoformat(),
                                       "returned": (day + timedelta(days=2)).isoformat(), "grade": "general"}})
    with session_scope(sqlite_db) as session:
        record_claim(session, "BX-PHOTO-1", claim_input)
        store_extraction(session, ClaimFile(claim_no="BX-PHOTO-1", position=0, filename="ticket.jpg",
                                            sha256="7" * 64, size=len(photo)),
                         extract_invoice(photo, filename="ticket.jpg", today=LATE))
        claim = session.get(Claim, "BX-PHOTO-1")
        assert claim is not None
        rows = claim_invoices(session, "BX-PHOTO-1")
        assert rows[0].kind == "rail-ticket" and rows[0].source_format == "image"
        assert rows[0].number == sample.truth["number"]
        assert rows[0].values_dict["ticket"]["segments"][0]["cabin"] == "first-class"
        facts = [invoice_facts(row) for row in rows]
        findings = audit_claim(claim_facts(claim), facts, standards_on(LATE))
        over = [f for f in findings if f.code == "TRAVEL_CLASS_OVER_STANDARD"]
        assert over and over[0].invoice == 0 and needs_review(findings)
        claim.travel = claim.travel.replace('"general"', '"senior"')  # a grade allowed first class
        assert "TRAVEL_CLASS_OVER_STANDARD" not in [f.code for f in audit_claim(claim_facts(claim), facts,
                                                                                 standards_on(LATE))]
