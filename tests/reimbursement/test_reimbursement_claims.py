"""Claims tables: the race-safe invoice registry (SQLite and PostgreSQL), the archive, all-or-nothing
submission, and every kind of bad file becoming a specific finding that a correction can fix."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from extractors.invoice import extract_invoice
from extractors.invoice.samples import xml_invoice
from smartfin.processes.reimbursement.claims import (
    Claim,
    ClaimFile,
    ClaimRefused,
    InvalidCorrection,
    InvoiceRegistration,
    correct_invoice,
    record_claim,
    register_invoice,
    release_invoices,
    store_extraction,
    submit_claim,
    validate_claim,
)
from smartfin.store.archive import ArchiveError, archive_file, archived_path, read_archived
from smartfin.store.db import session_scope
from tests.support.invoice_samples import bad_file_samples

KEY = "digital:26442000000123456789"


def draft(**changes: Any):  # type: ignore[no-untyped-def]
    values = {"claimant": "zhang.wei", "department": "T-BX", "category": "office", "fundingSource": "fiscal",
              "purpose": "办公用品"}
    values.update(changes)
    return validate_claim(values)


def test_exactly_one_of_many_simultaneous_claims_gets_an_invoice(db: Engine) -> None:
    contenders = [f"BX-RACE-{n:02d}" for n in range(8)]
    start = threading.Barrier(len(contenders))
    results: dict[str, str | None] = {}
    errors: list[BaseException] = []

    def claim_it(claim_no: str) -> None:
        try:
            start.wait()
            with session_scope(db) as session:
                results[claim_no] = register_invoice(session, KEY, claim_no, 0)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=claim_it, args=(c,)) for c in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    winners = [c for c, holder in results.items() if holder is None]
    assert len(winners) == 1
    assert all(holder == winners[0] for c, holder in results.items() if c != winners[0])
    with Session(db) as session:
        live = session.exec(select(InvoiceRegistration).where(InvoiceRegistration.invoice_key == KEY)).all()
    assert [(r.claim_no, r.released_at) for r in live] == [(winners[0], None)]


def test_registration_is_idempotent_and_released_invoices_can_be_claimed_again(db: Engine) -> None:
    with session_scope(db) as session:
        assert register_invoice(session, KEY, "BX-1", 0) is None
        assert register_invoice(session, KEY, "BX-1", 0) is None  # delivered twice
        assert register_invoice(session, KEY, "BX-1", 3) == "BX-1"  # twice in the same claim
        assert register_invoice(session, KEY, "BX-2", 0) == "BX-1"
        assert release_invoices(session, "BX-1", reason="claim rejected") == 1
        assert register_invoice(session, KEY, "BX-2", 0) is None
    with Session(db) as session:
        rows = session.exec(select(InvoiceRegistration).order_by(InvoiceRegistration.id)).all()  # type: ignore[arg-type]
    assert [(r.claim_no, r.released_at is None) for r in rows] == [("BX-1", False), ("BX-2", True)]


def test_archive_stores_content_once_verifies_it_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    first = archive_file(b"%PDF-1.7 invoice", root=tmp_path)
    assert archive_file(b"%PDF-1.7 invoice", root=tmp_path) == first
    stored = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert stored == [archived_path(first, tmp_path)]
    assert read_archived(first, root=tmp_path) == b"%PDF-1.7 invoice"
    archived_path(first, tmp_path).write_bytes(b"bit rot")
    with pytest.raises(ArchiveError, match="damaged"):
        read_archived(first, root=tmp_path)
    assert archive_file(b"%PDF-1.7 invoice", root=tmp_path) == first  # repaired from the good bytes
    assert read_archived(first, root=tmp_path) == b"%PDF-1.7 invoice"
    with pytest.raises(ArchiveError, match="missing"):
        read_archived("0" * 64, root=tmp_path)


class ServiceStandIn:
    """Answers like the service account: every named user exists."""

    user = "smartfin-service"

    def get(self, path: str, **params: Any) -> list[dict[str, Any]]:
        return [{"id": params["id"]}] if path == "/user" else []


class RefusingEngine(ServiceStandIn):
    def start_process(self, *_: Any) -> dict[str, Any]:
        raise RuntimeError("engine down")


class StartingEngine(ServiceStandIn):
    def __init__(self) -> None:
        self.started: list[tuple[str, str, dict[str, Any]]] = []

    def start_process(self, key: str, business_key: str, variables: dict[str, Any]) -> dict[str, Any]:
        self.started.append((key, business_key, variables))
        return {"id": "pi-1"}


def test_submission_is_all_or_nothing(sqlite_db: Engine) -> None:
    name, data, _ = xml_invoice("submit", total=Decimal("50.00"))
    options = {"claimant": "zhang.wei", "department": "T-BX", "category": "office", "purpose": "x", "db": sqlite_db}
    with pytest.raises(RuntimeError, match="engine down"):
        submit_claim([(name, data)], engine=RefusingEngine(), **options)
    with Session(sqlite_db) as session:
        assert session.exec(select(Claim)).all() == [] and session.exec(select(ClaimFile)).all() == []
    with pytest.raises(ClaimRefused, match="no such file"):
        submit_claim([Path("/nonexistent/invoice.pdf")], engine=StartingEngine(), **options)
    engine = StartingEngine()
    number = submit_claim([(name, data)], engine=engine, **options)
    assert engine.started[0][:2] == ("reimbursement", number)
    assert engine.started[0][2]["requester"] == "zhang.wei"
    with Session(sqlite_db) as session:
        assert session.get(Claim, number).process_instance_id == "pi-1"  # type: ignore[union-attr]
        assert [f.filename for f in session.exec(select(ClaimFile)).all()] == [name]


def test_bad_fields_are_all_named() -> None:
    with pytest.raises(ClaimRefused) as refused:
        draft(category="caviar", paymentMethod="barter", claimedTotal="1.234", purpose="")
    named = [name for name, _ in refused.value.problems]
    assert named == ["purpose", "paymentMethod", "claimedTotal", "category"]


@pytest.mark.parametrize("sample", bad_file_samples(), ids=lambda s: s.name)
def test_every_bad_file_becomes_a_specific_finding_and_manual_entry(sqlite_db: Engine, sample: Any) -> None:
    result = extract_invoice(sample.data, filename=sample.filename)
    with session_scope(sqlite_db) as session:
        record_claim(session, "BX-BAD-1", draft())
        row = store_extraction(session, ClaimFile(claim_no="BX-BAD-1", position=0, filename=sample.filename,
                                                  sha256="0" * 64, size=len(sample.data)), result)
        assert row.state == "manual" and row.manual_reason
        assert sample.expected_finding in [f["code"] for f in row.findings_list]
        again = store_extraction(session, ClaimFile(claim_no="BX-BAD-1", position=0, filename="x", sha256="1" * 64,
                                                    size=0), result)
        assert again.id == row.id  # reading the same file again changes nothing


def test_a_correction_is_validated_again(sqlite_db: Engine) -> None:
    name, data, values = xml_invoice("correct", total=Decimal("120.00"))
    with session_scope(sqlite_db) as session:
        record_claim(session, "BX-COR-1", draft())
        store_extraction(session, ClaimFile(claim_no="BX-COR-1", position=0, filename=name, sha256="0" * 64,
                                            size=len(data)), extract_invoice(data, filename=name))
        with pytest.raises(InvalidCorrection, match="issue_date"):
            correct_invoice(session, "BX-COR-1", 0, {"issue_date": "31/12/2026"}, actor="wang.fang")
        with pytest.raises(InvalidCorrection, match="cannot correct"):
            correct_invoice(session, "BX-COR-1", 0, {"buyer_bank": "x"}, actor="wang.fang")
        row = correct_invoice(session, "BX-COR-1", 0, {"total_with_tax": "121.00"}, actor="wang.fang")
        assert row.total_with_tax == Decimal("121.00")
        assert "TOTALS_MISMATCH" in [f["code"] for f in row.findings_list]  # 120.00 + 0.00 ≠ 121.00
        row = correct_invoice(session, "BX-COR-1", 0, {"total_amount": "121.00"}, actor="wang.fang")
        assert "UPPERCASE_MISMATCH" in [f["code"] for f in row.findings_list]  # the printed words say 120
        row = correct_invoice(session, "BX-COR-1", 0, {"total_amount": "120.00", "total_with_tax": "120.00"},
                              actor="wang.fang")
        assert [f["code"] for f in row.findings_list if f["severity"] == "block"] == []
        assert row.values_dict["fields"]["total_amount"]["confidence"] == 1.0
        assert row.number == values["number"]


def test_a_fiscal_receipt_is_stored_with_its_verification_data_and_its_own_identity(sqlite_db: Engine) -> None:
    from extractors.receipts.samples import receipt_sample

    sample = receipt_sample("fiscal-ofd", 1)
    result = extract_invoice(sample.data, filename=sample.filename)
    with session_scope(sqlite_db) as session:
        record_claim(session, "BX-FIS-1", draft())
        row = store_extraction(session, ClaimFile(claim_no="BX-FIS-1", position=0, filename=sample.filename,
                                                  sha256="0" * 64, size=len(sample.data)), result)
        assert row.state != "manual" and row.kind == "fiscal-receipt"
        assert row.invoice_key == f"fiscal:{sample.truth['code']}:{sample.truth['number']}"
        verification = row.values_dict["verification"]
        assert verification["signed"] is True and verification["verify_url"] == sample.truth["verify_url"]
        assert verification["check_code"] == sample.truth["check_code"]
        assert row.total_with_tax == sample.truth["total"]
        from smartfin.processes.reimbursement.worker import query_or_reason

        query, reason = query_or_reason(row)  # never sent to the tax invoice platform
        assert query is None and "fiscal e-receipt platform" in reason
        corrected = correct_invoice(session, "BX-FIS-1", 0, {"buyer_name": sample.truth["payer_name"]},
                                    actor="wang.fang")
        assert corrected.values_dict["verification"] == verification
        assert [f["code"] for f in corrected.findings_list if f["severity"] == "block"] == []


def test_a_receipt_with_an_unreadable_check_code_goes_to_manual_entry_with_what_was_read(sqlite_db: Engine) -> None:
    from extractors.receipts.samples import unreadable_check_code_sample

    sample = unreadable_check_code_sample()
    result = extract_invoice(sample.data, filename=sample.filename)
    with session_scope(sqlite_db) as session:
        record_claim(session, "BX-FIS-2", draft())
        row = store_extraction(session, ClaimFile(claim_no="BX-FIS-2", position=0, filename=sample.filename,
                                                  sha256="0" * 64, size=len(sample.data)), result)
        assert row.state == "manual" and "check code" in (row.manual_reason or "")
        assert "FISCAL_CHECK_CODE_UNREADABLE" in [f["code"] for f in row.findings_list]
        assert row.number == sample.truth["number"] and row.total_with_tax == sample.truth["total"]
