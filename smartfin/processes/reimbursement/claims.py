"""Reimbursement claims (报销单): the claim, its files and invoices, and the hospital-wide invoice registry.

A claim is submitted with its original files (``submit_claim``): the files are archived by content, the
claim and its files are recorded, and the ``reimbursement`` process is started with the claim number as
business key — all or nothing. The workers then read each file into a ``ClaimInvoice`` (values with
confidences and findings), people correct what was misread, and the invoice's identity is registered in
``InvoiceRegistration``, whose unique index lets exactly one claim hold an invoice at a time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint, func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from extractors.invoice import ExtractionResult, InvoiceKind, InvoiceRecord, Source
from extractors.invoice.model import ITEM_FIELDS, RECORD_FIELDS, Extracted, LineItem
from extractors.invoice.validation import validate_record
from extractors.travel.invoice import ticket_to_stored
from rules.reimbursement import ClaimFacts, InvoiceFacts, TravelFacts, invoice_key, legs_from_stored
from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import HOSPITAL_TZ, hospital_now, hospital_today, utc_now
from smartfin.kernel.findings import Finding, Severity
from smartfin.kernel.money import InvalidAmount, format_yuan, from_fen, parse_amount, to_fen
from smartfin.ledger import department_problem
from smartfin.ledger.staff import grade_on, register_loaded
from smartfin.processes.approvals import AWAITING_REVISION, on_the_chain, shown_statuses
from smartfin.processes.documents import (
    BudgetLineDocument,
    FieldReader,
    SubmissionRefused,
    hold_document,
    next_document_no,
)
from smartfin.processes.reimbursement.verification import VerificationAttempt  # noqa: F401  (its table is part of the claims tables)
from smartfin.store.archive import archive_file, read_archived
from smartfin.store.audit import UtcDateTime, record_audit

DOCUMENT_TYPE = "reimbursement-claim"
PROCESS_KEY = "reimbursement"
PAYMENT_METHODS = ("transfer", "official-card", "cash")
MAX_SUBMITTED_BYTES = 50 * 1024 * 1024  # refused at the door; the reader's own limit is lower
#: ``request_no`` cites the approved spending request whose reservation the claim takes over (the ledger's
#: ``consume``); ``contract_no`` a registered contract when the ledger holds one under that number
REFERENCE_NAMES = ("contract_no", "procurement_record", "asset_receipt_no", "request_no")
CORRECTABLE_FIELDS = ("kind", "code", "number", "issue_date", "check_code", "seller_name", "seller_tax_id",
                      "buyer_name", "buyer_tax_id", "total_amount", "total_tax", "total_with_tax", "total_uppercase",
                      "currency")
CLAIM_CORRECTABLE = ("payment_method", "explanation", *REFERENCE_NAMES)
_DATE_FIELDS = ("issue_date",)
_MONEY_FIELDS = ("total_amount", "total_tax", "total_with_tax")


class ClaimRefused(SubmissionRefused):
    """A claim that cannot be submitted or changed; ``problems`` names every field that is wrong."""

    label = "报销单无效 / claim refused"


class ClaimStatus:
    SUBMITTED = "submitted"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"
    INVALID = "invalid"
    WITHDRAWN = "withdrawn"      # the claimant withdrew it after it was sent back for revision
    FINAL = ("paid", "rejected", "invalid", "withdrawn")


class InvoiceState:
    READ = "read"                # values read from the file (maybe corrected)
    MANUAL = "manual"            # the file could not be read: a person must type it
    EXCLUDED = "excluded"        # taken out of the claim by the reviewer (kept, not paid)


# ------------------------------------------------------------------------------------------ tables

class Claim(BudgetLineDocument, SQLModel, table=True):
    """One claim as the project keeps it (money in fen, structures as JSON text)."""

    __tablename__ = "claim"

    claim_no: str = Field(primary_key=True, max_length=40)
    claimant: str = Field(index=True, max_length=64)
    department: str = Field(max_length=32)
    category: str = Field(max_length=32)
    economic_code: str = Field(max_length=10)
    funding_source: str = Field(max_length=16)
    project: str = Field(default="", max_length=32)
    fiscal_year: int
    purpose: str = Field(max_length=2000)
    payment_method: str = Field(default="transfer", max_length=20)
    claimed_total_fen: int | None = None
    payable_fen: int | None = None
    references: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    travel: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    explanation: str = Field(default="", max_length=2000)
    findings: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    status: str = Field(default=ClaimStatus.SUBMITTED, max_length=20, index=True)
    closing_reason: str | None = Field(default=None, max_length=1000)
    voucher_no: str | None = Field(default=None, max_length=64)
    process_instance_id: str | None = Field(default=None, max_length=64)
    submitted_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    #: who keyed the claim in when not the claimant: a proxy (代录) or the service's intake
    entered_by: str | None = Field(default=None, max_length=64)

    @property
    def references_dict(self) -> dict[str, str]:
        loaded: dict[str, str] = json.loads(self.references or "{}")
        return loaded

    @property
    def travel_dict(self) -> dict[str, Any] | None:
        return json.loads(self.travel) if self.travel else None

    @property
    def findings_list(self) -> list[dict[str, Any]]:
        loaded: list[dict[str, Any]] = json.loads(self.findings or "[]")
        return loaded

    @property
    def payable(self) -> Decimal | None:
        return None if self.payable_fen is None else from_fen(self.payable_fen)


class ClaimFile(SQLModel, table=True):
    """An original file of a claim: its name as submitted and its digest in the archive."""

    __tablename__ = "claim_file"
    __table_args__ = (UniqueConstraint("claim_no", "position", name="uq_claim_file_position"),)

    id: int | None = Field(default=None, primary_key=True)
    claim_no: str = Field(foreign_key="claim.claim_no", index=True, max_length=40)
    position: int
    filename: str = Field(max_length=255)
    sha256: str = Field(index=True, max_length=64)
    size: int
    added_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))


class ClaimInvoice(SQLModel, table=True):
    """What was read from one file (and corrected by people); the searchable fields are columns."""

    __tablename__ = "claim_invoice"
    __table_args__ = (UniqueConstraint("claim_no", "position", name="uq_claim_invoice_position"),)

    id: int | None = Field(default=None, primary_key=True)
    claim_no: str = Field(foreign_key="claim.claim_no", index=True, max_length=40)
    position: int
    sha256: str = Field(max_length=64)
    filename: str = Field(max_length=255)
    source_format: str = Field(max_length=16)
    state: str = Field(default=InvoiceState.READ, max_length=16)
    manual_reason: str | None = Field(default=None, max_length=500)
    kind: str | None = Field(default=None, max_length=32)
    code: str | None = Field(default=None, max_length=32)
    number: str | None = Field(default=None, index=True, max_length=40)
    issue_date: date | None = None
    seller_name: str | None = Field(default=None, max_length=200)
    seller_tax_id: str | None = Field(default=None, index=True, max_length=32)
    total_with_tax_fen: int | None = None
    currency: str | None = Field(default=None, max_length=8)
    invoice_key: str | None = Field(default=None, max_length=64)
    values: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    findings: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    corrected_by: str | None = Field(default=None, max_length=64)

    @property
    def total_with_tax(self) -> Decimal | None:
        return None if self.total_with_tax_fen is None else from_fen(self.total_with_tax_fen)

    @property
    def findings_list(self) -> list[dict[str, Any]]:
        loaded: list[dict[str, Any]] = json.loads(self.findings or "[]")
        return loaded

    @property
    def values_dict(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.values or "{}")
        return loaded


class InvoiceRegistration(SQLModel, table=True):
    """Which claim holds an invoice. At most one live row per invoice key (a partial unique index)."""

    __tablename__ = "invoice_registration"
    __table_args__ = (
        Index("uq_invoice_registration_live", "invoice_key", unique=True,
              sqlite_where=text("released_at IS NULL"), postgresql_where=text("released_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    invoice_key: str = Field(index=True, max_length=64)
    claim_no: str = Field(index=True, max_length=40)
    position: int
    registered_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    released_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    release_reason: str | None = Field(default=None, max_length=200)


# -------------------------------------------------------------------------------------- submission

@dataclass(frozen=True)
class ClaimDraft:
    """A validated claim, not yet stored."""

    claimant: str
    department: str
    category: str
    economic_code: str
    funding_source: str
    project: str
    fiscal_year: int
    purpose: str
    payment_method: str
    claimed_total: Decimal | None
    references: dict[str, str]
    travel: dict[str, Any] | None
    explanation: str

    def process_variables(self, claim_no: str) -> dict[str, Any]:
        return claim_variables(self, claim_no)


def claim_variables(claim: Claim | ClaimDraft, claim_no: str) -> dict[str, Any]:
    """The claim's variables in the ``reimbursement`` process (at the start and after every review);
    ``requester`` drives the four-eyes rule."""
    return {
        "claimNo": claim_no, "claimant": claim.claimant, "requester": claim.claimant,
        "department": claim.department, "category": claim.category, "economicCode": claim.economic_code,
        "fundingSource": claim.funding_source, "project": claim.project, "fiscalYear": claim.fiscal_year,
        "purpose": claim.purpose, "paymentMethod": claim.payment_method,
    }


def validate_claim(values: dict[str, Any], *, today: date | None = None, session: Session | None = None) -> ClaimDraft:
    """Check every field of a submission and collect all problems before refusing it; with ``session``, also
    that the department is one in force today (once department master data is loaded)."""
    on = today or hospital_today()
    fields = FieldReader(values)
    claimant = fields.text("claimant", 64)
    department = fields.text("department", 32)
    category = fields.text("category", 32)
    funding_source = fields.text("fundingSource", 16)
    project = fields.text("project", 32, required=False)
    purpose = fields.text("purpose", 2000)
    explanation = fields.text("explanation", 2000, required=False)
    payment_method = fields.text("paymentMethod", 20, required=False) or "transfer"
    if payment_method not in PAYMENT_METHODS:
        fields.problem("paymentMethod", f"{payment_method!r} is not one of {', '.join(PAYMENT_METHODS)}")
    claimed_total = fields.amount("claimedTotal", required=False)
    references = {k: str(v).strip() for k, v in (values.get("references") or {}).items() if str(v or "").strip()}
    unknown = sorted(set(references) - set(REFERENCE_NAMES))
    if unknown:
        fields.problem("references", f"unknown {unknown} (use {', '.join(REFERENCE_NAMES)})")
    travel = values.get("travel") or None
    if travel is not None:
        if not isinstance(travel, dict):
            fields.problem("travel", "must be an object with destination, departed, returned")
        else:
            try:
                TravelFacts.from_dict(travel)
            except ValueError as exc:
                fields.problem("travel", str(exc))
    key = fields.budget_key(fiscal_year=fields.fiscal_year(on.year), department=department, category=category,
                            funding_source=funding_source, project=project, on=on)
    if session is not None and key is not None:
        problem = department_problem(session, key.department, on)
        if problem is not None:
            fields.problem("department", problem)
    if fields.problems or key is None:
        raise ClaimRefused(fields.problems)
    return ClaimDraft(claimant, key.department, category, key.economic_code, key.funding_source.value,
                      key.project, key.fiscal_year, purpose, payment_method, claimed_total, references, travel,
                      explanation)


def next_claim_no(session: Session, on: datetime | None = None) -> str:
    """``BX-2026-000042``: sequential per year (报销 = BX), allocated inside the caller's transaction."""
    return next_document_no(session, Claim.claim_no, "BX", (on or hospital_now()).year)


def record_claim(session: Session, claim_no: str, draft: ClaimDraft,
                 process_instance_id: str | None = None) -> Claim:
    """Store the claim once; registering the same number again returns the stored row."""
    existing = session.get(Claim, claim_no)
    if existing is not None:
        return existing
    row = Claim(
        claim_no=claim_no, claimant=draft.claimant, department=draft.department, category=draft.category,
        economic_code=draft.economic_code, funding_source=draft.funding_source, project=draft.project,
        fiscal_year=draft.fiscal_year, purpose=draft.purpose, payment_method=draft.payment_method,
        claimed_total_fen=None if draft.claimed_total is None else to_fen(draft.claimed_total),
        references=json.dumps(draft.references, ensure_ascii=False),
        travel=json.dumps(draft.travel, ensure_ascii=False, default=str) if draft.travel else None,
        explanation=draft.explanation, process_instance_id=process_instance_id)
    session.add(row)
    session.flush()
    return row


def read_submitted_files(files: list[Path] | list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Every file's name and bytes, or a refusal naming each file that cannot be taken."""
    problems: list[tuple[str, str]] = []
    loaded: list[tuple[str, bytes]] = []
    for item in files:
        if isinstance(item, tuple):
            name, data = str(item[0]), bytes(item[1])
        else:
            path = Path(item)
            name = path.name
            try:
                if path.stat().st_size > MAX_SUBMITTED_BYTES:
                    problems.append((name, f"larger than {MAX_SUBMITTED_BYTES // (1024 * 1024)} MB / 文件过大"))
                    continue
                data = path.read_bytes()
            except FileNotFoundError:
                problems.append((str(path), "no such file / 文件不存在"))
                continue
            except OSError as exc:
                problems.append((str(path), f"cannot be read: {exc}"))
                continue
        if len(data) > MAX_SUBMITTED_BYTES:
            problems.append((name, f"larger than {MAX_SUBMITTED_BYTES // (1024 * 1024)} MB / 文件过大"))
            continue
        loaded.append((name[:255] or "unnamed", data))
    if problems:
        raise ClaimRefused(problems)
    return loaded


def add_files(session: Session, claim_no: str, files: list[tuple[str, bytes]]) -> list[ClaimFile]:
    """Archive the files and attach them to the claim after its existing files."""
    start = session.exec(select(func.max(ClaimFile.position)).where(ClaimFile.claim_no == claim_no)).one()
    position = -1 if start is None else start
    rows = []
    for name, data in files:
        position += 1
        row = ClaimFile(claim_no=claim_no, position=position, filename=name, sha256=archive_file(data),
                        size=len(data))
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def submit_claim(files: list[Path] | list[tuple[str, bytes]], *, claimant: str = "", department: str, category: str,
                 purpose: str, funding_source: str = "fiscal", project: str = "", claim_no: str | None = None,
                 travel: dict[str, Any] | None = None, engine: Any = None, payment_method: str = "transfer",
                 claimed_total: Decimal | str | None = None, references: dict[str, str] | None = None,
                 explanation: str = "", db: Any = None) -> str:
    """Archive the files, record the claim and start its process; returns the claim number.

    All or nothing: a refused field or file, or an engine that does not start the process, leaves no
    claim behind (archived content stays in the archive, where content without a claim harms nothing).
    ``travel`` = ``{"destination", "province", "departed", "returned", "grade", "meals_provided_days",
    "self_driving", "one_way"}``; ``references`` names contract / procurement record / asset receipt / request numbers.

    ``engine`` is who submits: a user's client (``smartfin login``) starts the claim as that user, the
    claimant; naming another ``claimant`` is a proxy entry (``proxy-entry`` group only). The service
    account's client (the default) submits for the named claimant (``smartfin.processes.submitters``).
    """
    from smartfin.camunda.client import EngineClient
    from smartfin.processes.submitters import named_or_self, record_entry, resolve_submitter, start
    from smartfin.store.db import session_scope

    engine = engine or EngineClient.from_settings()
    claimant = named_or_self(engine, claimant)
    with session_scope(db) as session:
        draft = validate_claim({
            "claimant": claimant, "department": department, "category": category, "purpose": purpose,
            "fundingSource": funding_source, "project": project, "travel": travel, "paymentMethod": payment_method,
            "claimedTotal": claimed_total, "references": references or {}, "explanation": explanation},
            session=session)
    loaded = read_submitted_files(files)
    submitter = resolve_submitter(engine, draft.claimant, role="claimant")
    with session_scope(db) as session:
        number = claim_no or next_claim_no(session)
        hold_document(session, DOCUMENT_TYPE, number)
        if session.get(Claim, number) is not None:
            raise ClaimRefused([("claim_no", f"{number} was already submitted / 报销单号已存在")])
        row = record_claim(session, number, draft)
        row.entered_by = submitter.entered_by
        add_files(session, number, loaded)
        record_audit(session, actor=submitter.actor, action="claim.submitted", subject_type=DOCUMENT_TYPE,
                     subject_id=number, details={"files": [name for name, _ in loaded],
                                                 **submitter.audit_details()})
        record_entry(session, submitter, document_type=DOCUMENT_TYPE, number=number)
        session.flush()
        instance = start(submitter, PROCESS_KEY, number, draft.process_variables(number))
        row.process_instance_id = instance["id"]
        session.add(row)
    return number


# ------------------------------------------------------------------------------------ invoices

def _stored_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, InvoiceKind):
        return value.value
    return value


def record_to_stored(record: InvoiceRecord) -> dict[str, Any]:
    """An extracted record as JSON-safe data: each value with its confidence and source."""
    fields = {name: {"value": _stored_value(getattr(record, name).value),
                     "confidence": getattr(record, name).confidence,
                     "source": getattr(record, name).source.value} for name in RECORD_FIELDS}
    items = [{name: {"value": _stored_value(getattr(item, name).value), "confidence": getattr(item, name).confidence,
                     "source": getattr(item, name).source.value} for name in ITEM_FIELDS} for item in record.items]
    return {"fields": fields, "items": items}


def _typed(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "kind":
        return InvoiceKind(value)
    if name in _DATE_FIELDS or name in ("travel_from", "travel_to"):
        return date.fromisoformat(value)
    if name in (*_MONEY_FIELDS, "quantity", "unit_price", "amount", "tax_rate", "tax"):
        return Decimal(value)
    return value


def record_from_stored(stored: dict[str, Any]) -> InvoiceRecord:
    """The record back from its stored form (for validating again after a correction)."""
    fields = stored.get("fields", {})
    kwargs: dict[str, Any] = {}
    for name in RECORD_FIELDS:
        cell = fields.get(name) or {"value": None, "confidence": 0.0, "source": Source.XML.value}
        kwargs[name] = Extracted(_typed(name, cell["value"]), float(cell["confidence"]), Source(cell["source"]))
    kwargs["items"] = tuple(
        LineItem(**{name: Extracted(_typed(name, cell["value"]), float(cell["confidence"]), Source(cell["source"]))
                    for name, cell in item.items()}) for item in stored.get("items", []))
    return InvoiceRecord(**kwargs)


def _finding_dict(finding: Finding, position: int) -> dict[str, Any]:
    """An extraction finding as the claim keeps it: placed on its invoice (extraction gives no evidence)."""
    return replace(finding, invoice=position, evidence={}).as_dict()


def _apply_record(row: ClaimInvoice, record: InvoiceRecord) -> None:
    values = record.values()
    row.kind = _stored_value(values["kind"])
    row.code = values["code"]
    row.number = values["number"]
    row.issue_date = values["issue_date"]
    row.seller_name = values["seller_name"]
    row.seller_tax_id = values["seller_tax_id"]
    row.currency = values["currency"]
    total = values["total_with_tax"]
    row.total_with_tax_fen = None if total is None else to_fen(Decimal(total).quantize(Decimal("0.01")))
    row.invoice_key = invoice_key(row.kind, row.code, row.number)
    stored = record_to_stored(record)
    for kept in ("ticket", "verification"):  # a correction keeps a ticket's journey and a receipt's verification
        if row.values and row.values_dict.get(kept):
            stored[kept] = row.values_dict[kept]
    row.values = json.dumps(stored, ensure_ascii=False)


def store_extraction(session: Session, claim_file: ClaimFile, result: ExtractionResult) -> ClaimInvoice:
    """Keep what was read from one file; reading the same file again returns the first result."""
    existing = session.exec(select(ClaimInvoice).where(ClaimInvoice.claim_no == claim_file.claim_no,
                                                       ClaimInvoice.position == claim_file.position)).first()
    if existing is not None:
        return existing
    row = ClaimInvoice(claim_no=claim_file.claim_no, position=claim_file.position, sha256=claim_file.sha256,
                       filename=claim_file.filename, source_format=result.source_format.value)
    if result.record is not None:
        if result.ticket is not None:  # a rail or air ticket keeps its journey for the trip checks
            row.values = json.dumps({"ticket": ticket_to_stored(result.ticket)}, ensure_ascii=False)
        _apply_record(row, result.record)
    if result.receipt is not None:  # a finance-bureau receipt keeps its verification data with the record
        row.values = json.dumps({**row.values_dict, "verification": result.receipt.verification()}, ensure_ascii=False)
    if result.record is None or result.needs_manual_entry:
        row.state = InvoiceState.MANUAL
        row.manual_reason = (result.needs_manual_entry or "not read")[:500]
    row.findings = json.dumps([_finding_dict(f, claim_file.position) for f in result.findings], ensure_ascii=False)
    session.add(row)
    session.flush()
    return row


class InvalidCorrection(ValueError):
    """A correction with a malformed value; the reviewer sees the message on the next review task."""


def _corrected_value(name: str, value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    value = str(value).strip()
    if name in _DATE_FIELDS:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise InvalidCorrection(f"{name}: {value!r} is not a date YYYY-MM-DD / 日期格式应为 YYYY-MM-DD") from None
    if name in _MONEY_FIELDS:
        try:
            return parse_amount(value, field=name, allow_zero=True)
        except InvalidAmount as exc:
            raise InvalidCorrection(f"{name}: {exc.reason} / 金额无效") from None
    if name == "kind":
        try:
            return InvoiceKind(value)
        except ValueError:
            kinds = ", ".join(k.value for k in InvoiceKind)
            raise InvalidCorrection(f"kind: {value!r} is not one of {kinds}") from None
    if name in ("code", "number", "check_code") and not value.replace(" ", "").isalnum():
        raise InvalidCorrection(f"{name}: {value!r} must be digits / 应为数字")
    compact = ("code", "number", "check_code", "seller_tax_id", "buyer_tax_id")
    return value.replace(" ", "") if name in compact else value


def correct_invoice(session: Session, claim_no: str, position: int, fields: dict[str, Any], *,
                    actor: str, today: date | None = None) -> ClaimInvoice:
    """Apply a person's corrections to one invoice and validate it again with the extractor's rules.

    Corrected values carry full confidence (a person confirmed them). An invoice that could not be read
    becomes readable once its key fields are typed in. A malformed value raises ``InvalidCorrection``.
    """
    row = session.exec(select(ClaimInvoice).where(ClaimInvoice.claim_no == claim_no,
                                                  ClaimInvoice.position == position)).first()
    if row is None:
        raise InvalidCorrection(f"invoice {position + 1}: the claim has no such invoice / 无此发票")
    unknown = sorted(set(fields) - set(CORRECTABLE_FIELDS))
    if unknown:
        raise InvalidCorrection(f"cannot correct {unknown}; correctable: {', '.join(CORRECTABLE_FIELDS)}")
    typed = {name: _corrected_value(name, value) for name, value in fields.items()}
    stored = row.values_dict or {"fields": {}, "items": []}
    cells = stored.setdefault("fields", {})
    for name, value in typed.items():
        cells[name] = {"value": _stored_value(value), "confidence": 1.0, "source": Source.XML.value}
    number = cells.get("number", {}).get("value")
    if not (cells.get("kind") or {}).get("value"):
        kind = InvoiceKind.DIGITAL if number and len(str(number)) == 20 else InvoiceKind.ELECTRONIC_ORDINARY
        cells["kind"] = {"value": kind.value, "confidence": 1.0, "source": Source.XML.value}
    if not (cells.get("currency") or {}).get("value"):
        cells["currency"] = {"value": "CNY", "confidence": 1.0, "source": Source.XML.value}
    for name in RECORD_FIELDS:
        cells.setdefault(name, {"value": None, "confidence": 0.0, "source": Source.XML.value})
    record = record_from_stored(stored)
    _apply_record(row, record)
    findings = [f for f in validate_record(record, today=today)
                if not (f.code == "TAX_ID_LEGACY" and f.severity is Severity.INFO)]
    row.findings = json.dumps([_finding_dict(f, position) for f in findings], ensure_ascii=False)
    if record.number.value is not None and record.total_with_tax.value is not None:
        row.state = InvoiceState.READ
        row.manual_reason = None
    row.corrected_by = actor
    session.add(row)
    record_audit(session, actor=actor, action="claim.invoice_corrected", subject_type=DOCUMENT_TYPE,
                 subject_id=claim_no, details={"position": position, "fields": {k: _stored_value(v)
                                                                                for k, v in typed.items()}})
    session.flush()
    return row


def exclude_invoice(session: Session, claim_no: str, position: int, *, actor: str, reason: str) -> ClaimInvoice:
    """Take an invoice out of the claim (kept and archived, not paid) and give up its registration."""
    row = session.exec(select(ClaimInvoice).where(ClaimInvoice.claim_no == claim_no,
                                                  ClaimInvoice.position == position)).first()
    if row is None:
        raise InvalidCorrection(f"invoice {position + 1}: the claim has no such invoice / 无此发票")
    row.state = InvoiceState.EXCLUDED
    session.add(row)
    release_invoices(session, claim_no, reason=f"excluded: {reason}", position=position)
    record_audit(session, actor=actor, action="claim.invoice_excluded", subject_type=DOCUMENT_TYPE,
                 subject_id=claim_no, details={"position": position, "reason": reason})
    return row


def correct_claim(session: Session, claim_no: str, fields: dict[str, Any], *, actor: str) -> Claim:
    """Correct claim-level fields a finding asked for (payment method, explanation, references)."""
    claim = session.get(Claim, claim_no)
    if claim is None:
        raise InvalidCorrection(f"claim {claim_no} is not registered")
    unknown = sorted(set(fields) - set(CLAIM_CORRECTABLE))
    if unknown:
        raise InvalidCorrection(f"cannot correct {unknown} on the claim; correctable: {', '.join(CLAIM_CORRECTABLE)}")
    references = claim.references_dict
    for name, value in fields.items():
        value = "" if value is None else str(value).strip()
        if name == "payment_method":
            if value not in PAYMENT_METHODS:
                raise InvalidCorrection(f"payment_method: {value!r} is not one of {', '.join(PAYMENT_METHODS)}")
            claim.payment_method = value
        elif name == "explanation":
            claim.explanation = value[:2000]
        elif value:
            references[name] = value
    claim.references = json.dumps(references, ensure_ascii=False)
    session.add(claim)
    record_audit(session, actor=actor, action="claim.corrected", subject_type=DOCUMENT_TYPE, subject_id=claim_no,
                 details={"fields": fields})
    return claim


#: what the claimant may change when a claim is sent back (the revision form's fields); the amount is not
#: among them: it comes from the invoices, so a revision adds files (``smartfin claim attach``) or removes them
REVISABLE_FIELDS = ("purpose", "explanation", "claimedTotal", "removeFiles")


def _file_numbers(text: str) -> list[int] | None:
    """``"2, 3"`` → [2, 3] (the numbers ``claim show`` prints); None when it is not a list of numbers."""
    parts = [p for p in text.replace("，", ",").replace(" ", ",").split(",") if p]
    if not all(p.isdigit() for p in parts):
        return None
    return sorted({int(p) for p in parts})


def revise_claim(session: Session, claim_no: str, values: dict[str, Any], *, actor: str,
                 round_no: int) -> dict[str, Any]:
    """Apply the claimant's revision of a sent-back claim: purpose, explanation, claimed total, and the files
    taken out. Returns what changed (audited by the caller).

    Every field is checked as at submission (``validate_claim`` on the record with the new values) and every
    problem is named at once; nothing is written unless all hold. A removed file's invoice is excluded, so
    its registration in the duplicate registry is given up (another claim may use it; this claim no longer
    does); files kept stay registered to this claim and are not duplicates of themselves. At least one file
    must remain.
    """
    claim = session.get(Claim, claim_no)
    if claim is None:
        raise LookupError(f"claim {claim_no} is not registered")
    current = {"claimant": claim.claimant, "department": claim.department, "category": claim.category,
               "fundingSource": claim.funding_source, "project": claim.project, "purpose": claim.purpose,
               "paymentMethod": claim.payment_method, "explanation": claim.explanation,
               "claimedTotal": None if claim.claimed_total_fen is None else from_fen(claim.claimed_total_fen),
               "fiscalYear": claim.fiscal_year, "references": claim.references_dict,
               "travel": claim.travel_dict}
    given = {name: values[name] for name in ("purpose", "explanation", "claimedTotal")
             if values.get(name) not in (None, "")}
    problems: list[tuple[str, str]] = []
    try:
        draft = validate_claim({**current, **given}, session=session)
    except ClaimRefused as exc:
        problems += exc.problems
        draft = None
    files = {f.position + 1: f for f in claim_files(session, claim_no)}
    invoices = {row.position + 1: row for row in claim_invoices(session, claim_no)}
    live = {n for n in files if n not in invoices or invoices[n].state != InvoiceState.EXCLUDED}
    removed = _file_numbers(str(values.get("removeFiles") or ""))
    if removed is None:
        problems.append(("removeFiles", f"{values.get('removeFiles')!r}: list file numbers as `claim show` "
                                        f"prints them, e.g. 2,3 / 请填写文件序号"))
        removed = []
    for number in removed:
        if number not in live:
            problems.append(("removeFiles", f"#{number}: the claim has no such file in use / 无此文件"))
        elif number not in invoices:
            problems.append(("removeFiles", f"#{number}: the file was added but not read yet; resubmit it first "
                                            f"/ 文件尚未识别"))
    if not live - set(removed):
        problems.append(("removeFiles", "every file would be removed: a claim needs at least one invoice "
                                        "/ 至少保留一张发票"))
    if problems or draft is None:
        raise ClaimRefused(problems)
    changes: dict[str, Any] = {}
    new = {"purpose": draft.purpose, "explanation": draft.explanation,
           "claimed_total_fen": None if draft.claimed_total is None else to_fen(draft.claimed_total)}
    for name, value in new.items():
        if getattr(claim, name) != value:
            changes[name] = [str(getattr(claim, name)), str(value)]
            setattr(claim, name, value)
    session.add(claim)
    for number in removed:
        exclude_invoice(session, claim_no, number - 1, actor=actor,
                        reason=f"removed by the claimant in revision (round {round_no})")
    if removed:
        changes["removed_files"] = [f"#{n} {files[n].filename}" for n in removed]
    added = [f"#{n} {files[n].filename}" for n in sorted(set(files) - set(invoices))]
    if added:
        changes["added_files"] = added
    session.flush()
    return changes


def claim_invoices(session: Session, claim_no: str) -> list[ClaimInvoice]:
    return list(session.exec(select(ClaimInvoice).where(ClaimInvoice.claim_no == claim_no)
                             .order_by(ClaimInvoice.position)).all())  # type: ignore[arg-type]


def claim_files(session: Session, claim_no: str) -> list[ClaimFile]:
    return list(session.exec(select(ClaimFile).where(ClaimFile.claim_no == claim_no)
                             .order_by(ClaimFile.position)).all())  # type: ignore[arg-type]


class NotOnTheChain(PermissionError):
    """The person asking for a claim's original file is not on its chain."""


def open_claim_file(session: Session, engine: EngineClient, claim_no: str, position: int, *, user: str,
                    groups: frozenset[str]) -> tuple[ClaimFile, bytes]:
    """One original file of a claim for ``user``, verified against its digest, and the opening audited.

    Only people on the claim's chain (:func:`smartfin.processes.approvals.on_the_chain`) may open it; a refusal
    is audited too (committed before the refusal is raised), so finance can see who tried. ``LookupError``
    when the claim or the file does not exist.
    """
    claim = session.get(Claim, claim_no)
    found = session.exec(select(ClaimFile).where(ClaimFile.claim_no == claim_no,
                                                 ClaimFile.position == position)).first()
    if claim is None or found is None:
        raise LookupError(f"claim {claim_no} has no file {position}")
    allowed = on_the_chain(session, engine, document_type=DOCUMENT_TYPE, document_no=claim_no,
                           requester=claim.claimant, entered_by=claim.entered_by, user=user, groups=groups)
    record_audit(session, actor=user, action="claim.file_opened" if allowed else "claim.file_refused",
                 subject_type=DOCUMENT_TYPE, subject_id=claim_no,
                 details={"position": position, "sha256": found.sha256})
    if not allowed:
        session.commit()     # the refusal's audit entry must outlive the refusal
        raise NotOnTheChain(f"{user} is not on the chain of {claim_no}")
    return found, read_archived(found.sha256)


def original_links(dashboard_url: str, claim_no: str, files: list[ClaimFile]) -> str:
    """One line per original file with the address that opens it for the people on the claim's chain
    (the dashboard's authenticated document endpoint); what the approval forms show under the invoices."""
    return "\n".join(f"{f.position + 1}. {f.filename}: {dashboard_url}/documents/claim/{claim_no}/{f.position}"
                     for f in files) or "无原件 no files"


def claim_facts(claim: Claim, on: date | None = None, *, grade: str | None = None,
                home_city: str | None = None) -> ClaimFacts:
    """The claim as the audit rules see it; ``grade`` (from the staff register) replaces the typed one,
    ``home_city`` is the hospital's city from the settings (trips start and end there)."""
    travel = claim.travel_dict
    submitted = claim.submitted_at.astimezone(HOSPITAL_TZ).date()
    trip = TravelFacts.from_dict(travel) if travel else None
    if trip is not None and grade is not None:
        trip = replace(trip, grade=grade)
    return ClaimFacts(
        claim_no=claim.claim_no, claimant=claim.claimant, category=claim.category, submitted_on=on or submitted,
        payment_method=claim.payment_method,
        claimed_total=None if claim.claimed_total_fen is None else from_fen(claim.claimed_total_fen),
        references=claim.references_dict, travel=trip, explanation=claim.explanation,
        home_city=home_city)


def traveller_grade(session: Session, claim: Claim) -> tuple[str | None, list[Finding]]:
    """The claimant's grade on the day she departed, as the staff register records it, and what to tell.

    Without a register (the hospital keeps none) the claim keeps its typed grade (None, no finding). With one,
    the recorded grade applies — a typed grade that differs is named (INFO) — and a claimant the register does
    not know goes to review (``TRAVEL_GRADE_UNRECORDED``), since lodging caps and ticket classes depend on it.
    """
    travel = claim.travel_dict
    if not travel or not register_loaded(session):
        return None, []
    trip = TravelFacts.from_dict(travel)
    recorded = grade_on(session, claim.claimant, trip.departed)
    if recorded is None:
        return None, [Finding("TRAVEL_GRADE_UNRECORDED", Severity.WARN,
                              f"{claim.claimant} 在人员职级登记中无 {trip.departed} 的记录 / the staff register has no "
                              f"grade for {claim.claimant} on {trip.departed}; the typed grade {trip.grade} is "
                              "unchecked",
                              evidence={"typed": trip.grade}, field="grade")]
    if recorded == trip.grade:
        return recorded, []
    return recorded, [Finding("TRAVEL_GRADE_FROM_REGISTER", Severity.INFO,
                              f"职级按人员登记 {recorded}（填报 {trip.grade}）/ the recorded grade {recorded} applies, "
                              f"not the typed {trip.grade}", evidence={"typed": trip.grade, "recorded": recorded},
                              field="grade")]


def invoice_facts(row: ClaimInvoice) -> InvoiceFacts:
    """One invoice as the audit rules see it."""
    items = row.values_dict.get("items", [])
    names = tuple(str(item.get("name", {}).get("value") or "") for item in items)
    return InvoiceFacts(position=row.position, kind=row.kind, code=row.code, number=row.number,
                        issue_date=row.issue_date, seller_name=row.seller_name, seller_tax_id=row.seller_tax_id,
                        total_with_tax=row.total_with_tax, currency=row.currency, item_names=names,
                        excluded=row.state == InvoiceState.EXCLUDED,
                        legs=legs_from_stored(row.position, row.values_dict.get("ticket")))


# ---------------------------------------------------------------------------------- the registry

def register_invoice(session: Session, key: str, claim_no: str, position: int) -> str | None:
    """Claim the invoice ``key`` for this claim; returns the claim that already holds it, else None.

    Race-safe: the partial unique index admits one live row per key, so of two claims registering the
    same invoice at the same moment exactly one insert succeeds (on PostgreSQL the second waits for the
    first to commit, then fails); the loser is told who holds it. Registering again for the same claim
    and position is a no-op.
    """
    holder = session.exec(select(InvoiceRegistration).where(InvoiceRegistration.invoice_key == key,
                                                            InvoiceRegistration.released_at.is_(None))).first()  # type: ignore[union-attr]
    if holder is not None:
        return None if (holder.claim_no, holder.position) == (claim_no, position) else holder.claim_no
    try:
        with session.begin_nested():
            session.add(InvoiceRegistration(invoice_key=key, claim_no=claim_no, position=position))
    except IntegrityError:
        holder = session.exec(select(InvoiceRegistration).where(InvoiceRegistration.invoice_key == key,
                                                                InvoiceRegistration.released_at.is_(None))).first()  # type: ignore[union-attr]
        if holder is None:  # released in between: nobody holds it any more, try once more
            return register_invoice(session, key, claim_no, position)
        return None if (holder.claim_no, holder.position) == (claim_no, position) else holder.claim_no
    return None


def release_invoices(session: Session, claim_no: str, *, reason: str, position: int | None = None) -> int:
    """Give up the claim's registrations (claim rejected, invoice excluded or its number corrected)."""
    query = select(InvoiceRegistration).where(InvoiceRegistration.claim_no == claim_no,
                                              InvoiceRegistration.released_at.is_(None))  # type: ignore[union-attr]
    if position is not None:
        query = query.where(InvoiceRegistration.position == position)
    rows = session.exec(query).all()
    now = utc_now()
    for row in rows:
        row.released_at = now
        row.release_reason = reason[:200]
        session.add(row)
    session.flush()
    return len(rows)


def registered_key(session: Session, claim_no: str, position: int) -> str | None:
    row = session.exec(select(InvoiceRegistration).where(InvoiceRegistration.claim_no == claim_no,
                                                         InvoiceRegistration.position == position,
                                                         InvoiceRegistration.released_at.is_(None))).first()  # type: ignore[union-attr]
    return row.invoice_key if row else None


# ------------------------------------------------------------------------------------- outcomes

def close_claim(session: Session, claim_no: str, outcome: str, reason: str | None = None) -> Claim:
    """Record the final outcome once; closing again with the same outcome changes nothing."""
    if outcome not in (*ClaimStatus.FINAL, ClaimStatus.APPROVED):
        raise ValueError(f"outcome: {outcome!r} is not one of {ClaimStatus.FINAL}")
    row = session.get(Claim, claim_no)
    if row is None:
        raise LookupError(f"claim {claim_no} is not registered")
    if row.status == outcome:
        return row
    if row.status in ClaimStatus.FINAL:
        raise ValueError(f"claim {claim_no} is already closed as {row.status}")
    row.status = outcome
    row.closing_reason = reason
    if outcome in ClaimStatus.FINAL:
        row.closed_at = utc_now()
    session.add(row)
    return row


def claim_summary(session: Session, claim_no: str) -> dict[str, Any]:
    """A claim with its files, invoices and findings, for the command line and the review form."""
    claim = session.get(Claim, claim_no)
    if claim is None:
        raise LookupError(f"claim {claim_no} is not registered / 报销单不存在")
    invoices = {row.position: row for row in claim_invoices(session, claim_no)}
    files = []
    for f in claim_files(session, claim_no):
        row = invoices.get(f.position)
        files.append({
            "position": f.position + 1, "filename": f.filename, "sha256": f.sha256, "size": f.size,
            "state": row.state if row else "not read yet",
            "number": row.number if row else None, "code": row.code if row else None,
            "issue_date": row.issue_date.isoformat() if row and row.issue_date else None,
            "seller": row.seller_name if row else None,
            "total": format_yuan(row.total_with_tax) if row and row.total_with_tax is not None else None,
            "manual_reason": row.manual_reason if row else None})
    return {"claim_no": claim.claim_no, "claimant": claim.claimant, "department": claim.department,
            "category": claim.category, "budget_line": str(claim.budget_key), "purpose": claim.purpose,
            "status": claim.status, "payable": format_yuan(claim.payable) if claim.payable is not None else None,
            "voucher_no": claim.voucher_no, "closing_reason": claim.closing_reason, "files": files,
            "findings": claim.findings_list}


def list_claims(session: Session, *, year: int | None = None, department: str | None = None,
                status: str | None = None) -> list[Claim]:
    """The stored claims, oldest first, narrowed by fiscal year, department and status when given: what
    ``smartfin document claims`` lists and writes to Excel. ``status`` is the status lists show
    (``claim_statuses``): ``sent-back`` finds the claims waiting for their claimant's revision."""
    query = select(Claim)
    if year is not None:
        query = query.where(Claim.fiscal_year == year)
    if department is not None:
        query = query.where(Claim.department == department)
    if status is not None:
        stored = ClaimStatus.SUBMITTED if status == AWAITING_REVISION else status
        query = query.where(Claim.status == stored)
    found = list(session.exec(query.order_by(Claim.submitted_at, Claim.claim_no)).all())  # type: ignore[arg-type]
    if status in (ClaimStatus.SUBMITTED, AWAITING_REVISION):
        shown = claim_statuses(session, found)
        found = [c for c in found if shown[c.claim_no] == status]
    return found


def claim_statuses(session: Session, claims: list[Claim]) -> dict[str, str]:
    """Each claim's status as lists show it: ``sent-back`` while a send-back waits for the claimant."""
    return shown_statuses(session, DOCUMENT_TYPE, {c.claim_no: c.status for c in claims}, audit_prefix="claim.")
