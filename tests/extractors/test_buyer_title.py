"""Buyer title: invoices with a buyer tax id must be the hospital's; personal titles only where allowed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from extractors.invoice import extract_invoice
from extractors.invoice.buyer import check_buyer_title
from extractors.invoice.model import InvoiceKind, Source
from extractors.invoice.samples import digital_xml, invoice_values_for, record_from_values, xml_invoice
from rules.reimbursement.audit import needs_review
from rules.reimbursement.standards import standards_on
from smartfin.kernel.settings import get_settings
from smartfin.processes.reimbursement.claims import ClaimFile, record_claim, store_extraction, validate_claim
from smartfin.processes.reimbursement.worker import buyer_title_findings
from smartfin.store.db import make_engine, session_scope

HOSPITAL = get_settings().hospital_name
USCC = get_settings().hospital_uscc


def _record(**changes: object):  # type: ignore[no-untyped-def]
    values = invoice_values_for("title", total=Decimal("80.00"))
    values.update(changes)
    return record_from_values(values, source=Source.XML)


def _check(record, allowed: bool = False) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.code for f in check_buyer_title(record, hospital_name=HOSPITAL, hospital_uscc=USCC,
                                              personal_title_allowed=allowed)]


def test_claim_invoices_are_made_out_to_the_hospital_of_the_settings() -> None:
    _, data, values = xml_invoice("title-default")
    record = extract_invoice(data).record
    assert record is not None and values["buyer_tax_id"] == USCC
    assert _check(record) == []


def test_another_buyer_tax_id_blocks_and_names_both_codes() -> None:
    other = "91330100MA27XK5Y3D"
    findings = check_buyer_title(_record(buyer_tax_id=other, buyer_name="滨江市某科技有限公司"), hospital_name=HOSPITAL,
                                 hospital_uscc=USCC, personal_title_allowed=True, invoice=2)
    assert [f.code for f in findings] == ["BUYER_NOT_HOSPITAL"]
    assert other in findings[0].message and USCC in findings[0].message and findings[0].invoice == 2
    assert needs_review(findings)


def test_right_code_with_another_name_goes_to_review_full_width_punctuation_is_the_same_name() -> None:
    assert _check(_record(buyer_name="滨江市第二人民医院")) == ["BUYER_NAME_MISMATCH"]
    assert needs_review(check_buyer_title(_record(buyer_name="滨江市第二人民医院"), hospital_name=HOSPITAL,
                                          hospital_uscc=USCC, personal_title_allowed=False))
    assert _check(_record(buyer_name=f" {HOSPITAL} ", buyer_tax_id=USCC.lower())) == []


@pytest.mark.parametrize(("allowed", "codes"), [(False, ["PERSONAL_TITLE_NOT_ALLOWED"]), (True, [])])
def test_personal_title_only_where_allowed(allowed: bool, codes: list[str]) -> None:
    assert _check(_record(buyer_name="张伟", buyer_tax_id=None), allowed) == codes


def test_hospital_name_without_code_and_no_title_go_to_review() -> None:
    assert _check(_record(buyer_tax_id=None)) == ["BUYER_TITLE_MISSING"]
    assert _check(_record(buyer_tax_id=None, buyer_name=None)) == ["BUYER_TITLE_MISSING"]
    assert _check(_record(kind=InvoiceKind.FOREIGN, buyer_tax_id="DE123456789", buyer_name="X GmbH")) == []


def test_standards_allow_personal_titles_by_category_and_date() -> None:
    today = standards_on(date(2026, 6, 1))
    assert today.personal_title_allowed("travel", Decimal("560.00"))
    assert not today.personal_title_allowed("office", Decimal("56.00"))
    assert not standards_on(date(2019, 6, 1)).personal_title_allowed("travel", Decimal("56.00"))


@pytest.fixture
def sqlite_db(tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    import smartfin.app.tables  # noqa: F401  (registers every table)

    engine = make_engine(f"sqlite:///{tmp_path / 'claims.db'}")
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _stored(db: Engine, claim_no: str, category: str, **changes: object) -> list[str]:
    values = invoice_values_for(claim_no, total=Decimal("236.00"))
    values.update(changes)
    data = digital_xml(values)
    with session_scope(db) as session:
        claim = record_claim(session, claim_no, validate_claim({
            "claimant": "zhang.wei", "department": "T-BX", "category": category, "fundingSource": "fiscal",
            "purpose": "差旅" if category == "travel" else "办公用品"}))
        row = store_extraction(session, ClaimFile(claim_no=claim_no, position=0, filename="a.xml", sha256="0" * 64,
                                                  size=len(data)), extract_invoice(data, filename="a.xml"))
        return [f.code for f in buyer_title_findings(row, claim, standards_on(date(2026, 6, 1)))]


def test_claim_verification_flags_a_wrong_buyer(sqlite_db: Engine) -> None:
    assert _stored(sqlite_db, "BX-T-1", "office") == []
    assert _stored(sqlite_db, "BX-T-2", "office", buyer_tax_id="91330100MA27XK5Y3D") == ["BUYER_NOT_HOSPITAL"]
    assert _stored(sqlite_db, "BX-T-3", "office", buyer_tax_id=None, buyer_name="李娜") == \
        ["PERSONAL_TITLE_NOT_ALLOWED"]
    assert _stored(sqlite_db, "BX-T-4", "travel", buyer_tax_id=None, buyer_name="李娜") == []


def test_the_claim_audit_step_sends_a_wrong_buyer_to_review() -> None:
    from camunda.external_task.external_task import ExternalTask

    from smartfin.camunda.runtime import Job
    from smartfin.kernel.clock import hospital_now
    from smartfin.processes.reimbursement import worker as handlers
    from smartfin.processes.reimbursement.claims import Claim

    number = f"BX-TITLE-{hospital_now().strftime('%H%M%S%f')}"
    values = invoice_values_for(number, total=Decimal("236.00"))
    values["buyer_tax_id"] = "91330100MA27XK5Y3D"
    data = digital_xml(values)
    with session_scope() as session:
        session.add(Claim(claim_no=number, claimant="zhang.wei", department="U-BX", category="office",
                          economic_code="30201", funding_source="fiscal", fiscal_year=2026, purpose="unit"))
        session.flush()
        store_extraction(session, ClaimFile(claim_no=number, position=0, filename="a.xml", sha256="1" * 64,
                                            size=len(data)), extract_invoice(data, filename="a.xml"))
    task = ExternalTask({"id": "t-title", "topicName": "audit-claim", "businessKey": number,
                         "processInstanceId": "pi-title"})
    out = handlers.audit_claim_task(Job(task, {}))
    assert "BUYER_NOT_HOSPITAL" in [f["code"] for f in out["findings"]]
    assert out["needsReview"] is True



def test_a_fiscal_receipt_names_a_payer_not_a_buyer_and_is_not_checked() -> None:
    from datetime import date

    from extractors.invoice import InvoiceKind, extract_invoice
    from extractors.invoice.buyer import check_buyer_title
    from extractors.receipts.samples import receipt_sample

    sample = receipt_sample("fiscal-ofd", 7)
    record = extract_invoice(sample.data, filename=sample.filename, today=date(2100, 1, 1)).record
    assert record is not None and record.kind.value is InvoiceKind.FISCAL_RECEIPT
    assert check_buyer_title(record, hospital_name="滨江市第一人民医院", hospital_uscc="12330100427703821M",
                             personal_title_allowed=False) == []
