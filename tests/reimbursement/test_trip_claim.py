"""A claim's tickets as the claim keeps them: the journey stored with the invoice, read back for the audit,
kept through a clerk's correction, and judged against the grade recorded on the claim."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from extractors.invoice import extract_invoice
from rules.reimbursement import audit_claim, standards_on
from smartfin.processes.reimbursement.claims import (
    Claim,
    ClaimFile,
    claim_facts,
    claim_invoices,
    correct_invoice,
    invoice_facts,
    record_claim,
    store_extraction,
    validate_claim,
)
from smartfin.processes.reimbursement.worker import query_or_reason
from smartfin.store.db import session_scope
from tests.support.travel_samples import air_sample, rail_sample

LATE = date(2100, 1, 1)


def _first_class_rail(seed_from: int = 0) -> Any:
    for seed in range(seed_from, seed_from + 200):
        sample = rail_sample("rail-standard", seed)
        if sample.truth["segments[0].cabin"] == "first-class":
            return sample
    raise AssertionError("no first-class sample in range")


def _travel_claim(claim_no: str, sample: Any, grade: str) -> Any:
    day = sample.truth["segments[0].departure_date"]
    return validate_claim({
        "claimant": "zhang.wei", "department": "T-BX", "category": "travel", "fundingSource": "fiscal",
        "purpose": "学术会议", "travel": {"destination": sample.truth["segments[0].to_city"], "province": "",
                                       "departed": day.isoformat(),
                                       "returned": (day + timedelta(days=2)).isoformat(), "grade": grade}})


def _store(session: Any, claim_no: str, position: int, sample: Any) -> None:
    store_extraction(session, ClaimFile(claim_no=claim_no, position=position, filename=sample.name,
                                        sha256=f"{position}" * 64, size=len(sample.data)),
                     extract_invoice(sample.data, filename=sample.name, today=LATE))


def test_a_first_class_ticket_is_over_the_standard_for_the_grade_on_record(sqlite_db: Engine) -> None:
    sample = _first_class_rail()
    with session_scope(sqlite_db) as session:
        record_claim(session, "BX-TRIP-1", _travel_claim("BX-TRIP-1", sample, "general"))
        _store(session, "BX-TRIP-1", 0, sample)
        claim = session.get(Claim, "BX-TRIP-1")
        assert claim is not None
        rows = claim_invoices(session, "BX-TRIP-1")
        assert rows[0].kind == "rail-ticket" and rows[0].values_dict["ticket"]["segments"][0]["cabin"] == "first-class"
        facts = [invoice_facts(row) for row in rows]
        assert facts[0].legs and facts[0].legs[0].to_city == sample.truth["segments[0].to_city"]
        findings = audit_claim(claim_facts(claim), facts, standards_on(LATE))
        assert "TRAVEL_CLASS_OVER_STANDARD" in [f.code for f in findings]
        query, reason = query_or_reason(rows[0])  # checked on the platform as a digitalised invoice
        assert reason == "" and query is not None
        expected = ("digital", sample.truth["number"], sample.truth["fare"])
        assert (query.invoice_kind, query.number, query.amount) == expected
        claim.travel = claim.travel.replace('"general"', '"senior"')  # the record says bureau level
        findings = audit_claim(claim_facts(claim), facts, standards_on(LATE))
        assert "TRAVEL_CLASS_OVER_STANDARD" not in [f.code for f in findings]


def test_an_itinerary_without_fare_is_corrected_and_keeps_its_journey(sqlite_db: Engine) -> None:
    sample = air_sample("air-table-multi", 3, with_fare=False)
    with session_scope(sqlite_db) as session:
        record_claim(session, "BX-TRIP-2", _travel_claim("BX-TRIP-2", sample, "general"))
        _store(session, "BX-TRIP-2", 0, sample)
        row = claim_invoices(session, "BX-TRIP-2")[0]
        assert row.state == "manual" and "票价" in (row.manual_reason or "")
        assert "AIR_FARE_MISSING" in [f["code"] for f in row.findings_list]
        row = correct_invoice(session, "BX-TRIP-2", 0, {"total_with_tax": str(sample.truth["total"])},
                              actor="wang.fang", today=LATE)
        assert [f["code"] for f in row.findings_list if f["severity"] == "block"] == []
        assert row.state == "read"
        assert len(invoice_facts(row).legs) >= 2, "the journey survives the correction"
