"""Worker adapters for the reimbursement process: claim variables in, extractors/rules/ledger calls, typed out.

Every handler is idempotent (the engine delivers a task at least once): files already read are not read
again, the invoice registry and the ledger answer a repeated registration or reservation with the one
already made, and closing a closed claim changes nothing. A file that cannot be read never fails a task:
it becomes findings on the claim and a review task.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from extractors.invoice import extract_invoice
from extractors.invoice.buyer import check_buyer_title
from rules.reimbursement import (
    audit_claim,
    audit_sampled,
    invoice_total,
    near_matches,
    needs_review,
    sighting,
    standards_on,
    travel_allowances,
)
from smartfin.camunda.runtime import BusinessError, Job, TopicRegistry
from smartfin.camunda.secrets import audit_sample_salt
from smartfin.kernel.clock import hospital_now, hospital_today
from smartfin.kernel.findings import Finding, Severity
from smartfin.kernel.money import format_yuan, to_fen
from smartfin.kernel.settings import get_settings
from smartfin.ledger import (
    Bucket,
    BudgetExceeded,
    BudgetLineClosed,
    BudgetLineNotEffective,
    CheckOutcome,
    CitationRefused,
    NoSuchBudgetLine,
    assess_citation,
    check_budget,
    consume,
    document_holdings,
    give_back,
    links_of,
    pre_encumber,
    record_actual,
    release_saving,
)
from smartfin.ports.verification import InvoiceVerifier, VerificationQuery, VerificationStatus
from smartfin.processes.approvals import (
    SEND_BACK,
    audit_verification,
    audited_for_task,
    chain_problems,
    chain_started,
    chain_variables,
    completed_by,
    current_chain,
    decision_history_text,
    members_of,
    record_answer,
    record_signed,
    refuse_if_broken,
    requester_answer,
    round_signatures,
    route_document,
    send_back_problems,
    signature_problems,
    signed_tasks_by_key,
)
from smartfin.processes.delegations import deputies_of_signers
from smartfin.processes.documents import (
    LINE_OR_EXCEEDED,
    audit_unregistered,
    budget_line_text,
    budget_refusal,
    hold_document,
    release_holdings,
)
from smartfin.processes.reimbursement.claims import (
    CORRECTABLE_FIELDS,
    DOCUMENT_TYPE,
    HOSPITAL_TZ,
    REVISABLE_FIELDS,
    Claim,
    ClaimInvoice,
    ClaimRefused,
    ClaimStatus,
    InvalidCorrection,
    InvoiceState,
    claim_facts,
    claim_files,
    claim_invoices,
    claim_variables,
    close_claim,
    correct_claim,
    correct_invoice,
    exclude_invoice,
    invoice_facts,
    next_claim_no,
    original_links,
    record_claim,
    record_from_stored,
    register_invoice,
    registered_key,
    release_invoices,
    revise_claim,
    store_extraction,
    traveller_grade,
    validate_claim,
)
from smartfin.processes.reimbursement.verification import CheckedVerifier, ManualVerifier
from smartfin.processes.reimbursement.vouchers import claim_voucher
from smartfin.store.archive import read_archived
from smartfin.store.audit import record_audit
from smartfin.store.db import session_scope

log = logging.getLogger(__name__)
registry = TopicRegistry()
_verifier: Callable[[], InvoiceVerifier] = ManualVerifier


def use_verifier(factory: Callable[[], InvoiceVerifier]) -> None:
    """Choose the verifier ``verify-invoice`` asks; the application's wiring calls this once at start."""
    global _verifier
    _verifier = factory


def _no_contract_register(_session: Session, _contract_no: str) -> str | None:
    return None


#: the recorded status of a contract number (None: not registered); the application's wiring supplies the
#: contracts package's answer — this package may not import it
_contract_status: Callable[[Session, str], str | None] = _no_contract_register


def use_contract_register(lookup: Callable[[Session, str], str | None]) -> None:
    """Choose where ``reserve-claim-budget`` reads a cited contract's status; the wiring calls this at start."""
    global _contract_status
    _contract_status = lookup

KEY_FIELDS = ("kind", "code", "number", "issue_date", "check_code", "seller_name", "seller_tax_id",
              "total_amount", "total_tax", "total_with_tax")
FIELD_LABELS = {"kind": "类型 kind", "code": "代码 code", "number": "号码 number", "issue_date": "日期 date",
                "check_code": "校验码 check code", "seller_name": "销售方 seller", "seller_tax_id": "税号 tax id",
                "total_amount": "金额 amount", "total_tax": "税额 tax", "total_with_tax": "价税合计 total"}
REVIEW_FIELD_VARIABLES = {
    "correctedNumber": "number", "correctedCode": "code", "correctedIssueDate": "issue_date",
    "correctedTotalAmount": "total_amount", "correctedTotalTax": "total_tax",
    "correctedTotalWithTax": "total_with_tax", "correctedSellerName": "seller_name",
    "correctedSellerTaxId": "seller_tax_id", "correctedCheckCode": "check_code",
    "correctedBuyerName": "buyer_name", "correctedBuyerTaxId": "buyer_tax_id",
}
CLAIM_FIELD_VARIABLES = {
    "correctedPaymentMethod": "payment_method", "correctedExplanation": "explanation",
    "correctedContractNo": "contract_no", "correctedProcurementRecord": "procurement_record",
    "correctedAssetReceiptNo": "asset_receipt_no",
}
REVIEW_INPUTS = ("reviewAction", "invoicePosition", "corrections", "claimCorrections", "reviewComment",
                 *REVIEW_FIELD_VARIABLES, *CLAIM_FIELD_VARIABLES)
UNAVAILABLE_RETRY = timedelta(minutes=30)
ROUTING_DECISION = "spending-approval-routing"
APPROVAL_TASK = "approveClaim"
FINANCE_AUDIT_TASK = "financeAudit"
FINANCE_AUDIT_GROUP = "finance-officer"
CHAIN_ACTIVITY = "approvalChain"


def _claim(session: Session, job: Job) -> Claim:
    """The claim of this process instance: by its business key, else by the instance id the record holds.

    Never by the ``claimNo`` variable alone: a variable names whatever its last writer wanted, so a copy
    that names another claim, or a record that belongs to another instance, is refused.
    """
    row = _find_claim(session, job)
    if row is None:
        raise LookupError(f"claim {job.business_key or job.process_instance_id!r} is not registered (task {job.id})")
    return row


def _find_claim(session: Session, job: Job) -> Claim | None:
    """The recorded claim of this instance, or None when nothing was recorded for it."""
    if job.business_key:
        row = session.get(Claim, job.business_key)
    else:
        row = session.exec(select(Claim).where(Claim.process_instance_id == job.process_instance_id)).first()
    if row is not None:
        _refuse_foreign_record(row, job)
    return row


def _refuse_foreign_record(row: Claim, job: Job) -> None:
    named = job.var("claimNo", None)
    if named not in (None, "", row.claim_no) or (row.process_instance_id not in (None, job.process_instance_id)):
        raise LookupError(f"报销单 {row.claim_no} 与流程实例 {job.process_instance_id} 的记录不符 / claim "
                          f"{row.claim_no} (instance {row.process_instance_id}) does not belong to process instance "
                          f"{job.process_instance_id} (claimNo copy {named!r}); refused")


def _last_user(job: Job, task: str) -> str:
    """Who completed the latest ``task`` of this instance, as the engine's history has it (never a variable)."""
    if job.worker is None:
        return "system"
    return completed_by(job.worker.engine, job.process_instance_id, task) or "system"


# ---------------------------------------------------------------------------------- registration

def _travel_from_form(job: Job) -> dict[str, Any] | None:
    destination = str(job.var("travelDestination", "") or "").strip()
    if not destination:
        return None
    return {"destination": destination, "province": job.var("travelProvince", ""),
            "departed": job.var("travelDeparted", ""), "returned": job.var("travelReturned", ""),
            "grade": job.var("travelGrade", "") or "general",
            "meals_provided_days": int(job.var("travelMealsProvidedDays", 0) or 0),
            "self_driving": bool(job.var("travelSelfDriving", False)),
            "one_way": bool(job.var("travelOneWay", False))}


@registry.topic("register-claim")
def register_claim(job: Job) -> dict[str, Any]:
    """A claim from the command line is already recorded; one started in Tasklist is validated and recorded.

    A claim submitted by ``submit_claim`` is held first: the submission may not have committed yet when the
    engine hands this step over, and waits here the moment until it has (``hold_document``).
    """
    with session_scope() as session:
        claim_no = job.business_key
        if claim_no:
            hold_document(session, DOCUMENT_TYPE, claim_no)
        row = session.get(Claim, claim_no) if claim_no else None
        if row is not None:
            _refuse_foreign_record(row, job)
        if row is None and job.business_key:
            # a business key without a record: not submitted through submit_claim, never re-created here
            raise LookupError(f"claim {claim_no} is not registered; the task is retried")
        if row is None:
            values = {name: job.var(name, None) for name in ("department", "category", "fundingSource", "project",
                                                             "purpose", "paymentMethod", "claimedTotal",
                                                             "explanation")}
            values["claimant"] = job.var("claimant", None) or job.var("initiator", None)
            values["references"] = {"request_no": job.var("requestNo", None) or ""}
            try:
                values["travel"] = _travel_from_form(job)
                draft = validate_claim(values, session=session)
            except (ClaimRefused, ValueError) as exc:
                raise BusinessError("CLAIM_INVALID", str(exc)) from exc
            claim_no = claim_no or next_claim_no(session)
            row = record_claim(session, claim_no, draft, job.process_instance_id)
            record_audit(session, actor=draft.claimant, action="claim.submitted", subject_type=DOCUMENT_TYPE,
                         subject_id=claim_no, details={"via": "tasklist"})
        row.process_instance_id = job.process_instance_id
        session.add(row)
        files = len(claim_files(session, row.claim_no))
        variables = claim_variables(row, row.claim_no)
    return {**variables, "fileCount": files}


# ------------------------------------------------------------------------------------ extraction

@registry.topic("extract-invoices", lock_ms=120_000)
def extract_invoices(job: Job) -> dict[str, Any]:
    """Read every file of the claim not read yet; an unreadable file becomes findings, never a failure."""
    with session_scope() as session:
        claim = _claim(session, job)
        files = claim_files(session, claim.claim_no)
        done = {row.position for row in claim_invoices(session, claim.claim_no)}
    for claim_file in files:
        if claim_file.position in done:
            continue
        data = read_archived(claim_file.sha256)  # a missing original is a fault to fix, not a finding
        result = extract_invoice(data, filename=claim_file.filename, today=hospital_today())
        with session_scope() as session:
            store_extraction(session, claim_file, result)
        log.info("read %s: %s", claim_file.filename, result.finding_codes() or "no findings")
    return {"fileCount": len(files), "invoiceCount": len(files)}


# ----------------------------------------------------------------------------------------- audit

def _percent(confidence: float) -> str:
    return f"{round(confidence * 100)}%"


def _low_confidence(row: ClaimInvoice, threshold: Decimal) -> Finding | None:
    cells = row.values_dict.get("fields", {})
    weak = {name: cells[name]["confidence"] for name in KEY_FIELDS
            if name in cells and cells[name]["value"] is not None
            and Decimal(str(cells[name]["confidence"])) < threshold}
    if not weak:
        return None
    listed = ", ".join(f"{FIELD_LABELS[n]} {_percent(c)}" for n, c in weak.items())
    return Finding("LOW_CONFIDENCE", Severity.WARN,
                   f"第 {row.position + 1} 张发票部分字段识别置信度低，请核对 / invoice {row.position + 1}: "
                   f"check the fields read with low confidence: {listed}",
                   evidence={"fields": {n: _percent(c) for n, c in weak.items()}}, invoice=row.position)


def _duplicates(session: Session, claim: Claim, row: ClaimInvoice, standards: Any) -> list[Finding]:
    out: list[Finding] = []
    previous = registered_key(session, claim.claim_no, row.position)
    if previous is not None and previous != row.invoice_key:
        release_invoices(session, claim.claim_no, reason="invoice identity corrected", position=row.position)
    if row.invoice_key:
        holder = register_invoice(session, row.invoice_key, claim.claim_no, row.position)
        if holder is not None:
            where = "本报销单内重复 / appears twice in this claim" if holder == claim.claim_no else \
                f"已在报销单 {holder} 中报销 / already claimed in {holder}"
            out.append(Finding(
                "INVOICE_DUPLICATE", Severity.BLOCK,
                f"第 {row.position + 1} 张发票重复：{where} (invoice {row.invoice_key})",
                evidence={"invoice_key": row.invoice_key, "held_by": holder}, invoice=row.position, field="number"))
    mine = sighting(claim.claim_no, row.position, row.invoice_key, row.seller_name, row.seller_tax_id,
                    row.total_with_tax, row.issue_date)
    if mine is None:
        return out
    days = int(standards.limit("fuzzy_days"))
    seller_match = (ClaimInvoice.seller_tax_id == row.seller_tax_id) if row.seller_tax_id else \
        (ClaimInvoice.seller_name == row.seller_name)
    candidates = session.exec(select(ClaimInvoice).where(
        seller_match, ClaimInvoice.state != InvoiceState.EXCLUDED,
        ClaimInvoice.issue_date >= mine.issue_date - timedelta(days=days),  # type: ignore[operator]
        ClaimInvoice.issue_date <= mine.issue_date + timedelta(days=days))).all()  # type: ignore[operator]
    others = [s for s in (sighting(c.claim_no, c.position, c.invoice_key, c.seller_name, c.seller_tax_id,
                                   c.total_with_tax, c.issue_date) for c in candidates) if s is not None]
    for match in near_matches(mine, others, amount_percent=standards.limit("fuzzy_amount_percent"), days=days):
        out.append(Finding(
            "INVOICE_NEAR_DUPLICATE", Severity.WARN,
            f"第 {row.position + 1} 张发票与报销单 {match.claim_no} 第 {match.position + 1} 张相似"
            f"（同一销售方、金额与日期相近），请核实 / invoice {row.position + 1} resembles invoice "
            f"{match.position + 1} of claim {match.claim_no} (same seller, amount within "
            f"{standards.limit('fuzzy_amount_percent')}%, dates "
            f"within {days} days)", evidence={"claim": match.claim_no, "position": match.position + 1},
            invoice=row.position))
    return out


def buyer_title_findings(row: ClaimInvoice, claim: Claim, standards: Any) -> list[Finding]:
    """The invoice's buyer must be the hospital (settings), or a person where the standards allow it."""
    if row.state in (InvoiceState.EXCLUDED, InvoiceState.MANUAL):
        return []
    record = record_from_stored(row.values_dict)
    settings = get_settings()
    allowed = standards.personal_title_allowed(claim.category, record.total_with_tax.value)
    return check_buyer_title(record, hospital_name=settings.hospital_name, hospital_uscc=settings.hospital_uscc,
                             personal_title_allowed=allowed, invoice=row.position)


def _invoice_line(row: ClaimInvoice) -> str:
    cells = row.values_dict.get("fields", {})

    def cell(name: str) -> str:
        value = (cells.get(name) or {}).get("value")
        if value is None:
            return f"{FIELD_LABELS[name]}: —"
        return f"{FIELD_LABELS[name]}: {value} ({_percent((cells.get(name) or {}).get('confidence', 0))})"

    head = f"#{row.position + 1} {row.filename} [{row.state}] sha256 {row.sha256[:12]}…"
    if row.state == InvoiceState.MANUAL:
        head += f" — 需人工录入 manual entry: {row.manual_reason}"
    return head + "\n   " + " · ".join(cell(name) for name in KEY_FIELDS)


def _findings_text(findings: list[Finding], *, severities: tuple[Severity, ...]) -> str:
    lines = []
    for f in findings:
        if f.severity in severities:
            where = f"#{f.invoice + 1} " if f.invoice is not None else ""
            lines.append(f"[{f.severity.value}] {where}{f.code}: {f.message}")
    return "\n".join(lines)


def sample_key(claim: Claim) -> str:
    """What the audit sample is drawn on: the claim number with the moment the product recorded the claim.

    The claimant may influence the number (a chosen claim number) but not the recording time to the
    microsecond, and without the secret salt neither tells whether a claim is drawn.
    """
    at = claim.submitted_at
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return f"{claim.claim_no}|{at.isoformat(timespec='microseconds')}"


@registry.topic("audit-claim")
def audit_claim_task(job: Job) -> dict[str, Any]:
    """Validate and audit: extraction findings, duplicates, confidences, then the claim-level rules."""
    today = hospital_today()
    carried = [Finding.from_dict(f) for f in job.var("verificationFindings", [])]
    correction_error = str(job.var("correctionError", "") or "")
    with session_scope() as session:
        claim = _claim(session, job)
        standards = standards_on(today)
        threshold = standards.limit("low_confidence")
        rows = claim_invoices(session, claim.claim_no)
        findings: list[Finding] = []
        for row in rows:
            if row.state == InvoiceState.EXCLUDED:
                continue
            stored = [Finding.from_dict(f) for f in row.findings_list]
            findings += stored
            if row.state == InvoiceState.MANUAL and not any(f.severity is Severity.BLOCK for f in stored):
                findings.append(Finding(
                    "MANUAL_ENTRY_REQUIRED", Severity.BLOCK,
                    f"第 {row.position + 1} 张发票需人工录入 / invoice {row.position + 1} must be typed in: "
                    f"{row.manual_reason}", evidence={}, invoice=row.position))
            weak = _low_confidence(row, threshold)
            if weak is not None:
                findings.append(weak)
            findings += _duplicates(session, claim, row, standards)
            findings += buyer_title_findings(row, claim, standards)
        facts = [invoice_facts(r) for r in rows if r.state != InvoiceState.MANUAL]
        grade, grade_findings = traveller_grade(session, claim)
        findings += grade_findings
        findings += audit_claim(claim_facts(claim, today, grade=grade, home_city=get_settings().hospital_city),
                                facts, standards)
        findings += carried
        if correction_error:
            findings.append(Finding("CORRECTION_INVALID", Severity.BLOCK,
                                    f"更正无效 / the correction was not applied: {correction_error}"))
        allowances = travel_allowances(claim_facts(claim, today, grade=grade), standards)
        invoices_sum = invoice_total(facts)
        payable = invoices_sum + allowances.total
        review = needs_review(findings)
        sampled = not review and audit_sampled(sample_key(claim), standards.limit("audit_sample_percent"),
                                               salt=audit_sample_salt(get_settings()))
        claim.findings = json.dumps([f.as_dict() for f in findings], ensure_ascii=False)
        claim.payable_fen = to_fen(payable)
        session.add(claim)
        summary = "\n".join(_invoice_line(r) for r in rows)
        documents = original_links(get_settings().dashboard_url, claim.claim_no, claim_files(session, claim.claim_no))
    if allowances.total:
        summary += (f"\n补助 allowances: 伙食 meals {format_yuan(allowances.meals)} · 市内交通 city transport "
                    f"{format_yuan(allowances.transport)}")
    return {
        "needsReview": review, "findings": [f.as_dict() for f in findings],
        "findingsText": _findings_text(findings, severities=(Severity.BLOCK, Severity.WARN, Severity.INFO)),
        "warningsText": _findings_text(findings, severities=(Severity.WARN,)) or "无 none",
        "reviewSummary": summary, "documentsText": documents, "amount": format_yuan(payable),
        "invoiceTotal": format_yuan(invoices_sum),
        "allowanceTotal": format_yuan(allowances.total), "auditSampled": sampled,
        "auditSampleText": "抽中，须核对原件 / drawn: check the originals" if sampled else "未抽中 / not drawn",
    }


# ---------------------------------------------------------------------------------------- review

def _int_or_none(value: Any) -> int | None:
    if value in (None, ""):
        return None
    return int(str(value).split(".")[0])


def _review_corrections(job: Job) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, Any]]:
    """Corrections from the Tasklist form (flat fields, one invoice) or from a script (Json lists)."""
    per_invoice: list[tuple[int, dict[str, Any]]] = []
    for item in job.var("corrections", []) or []:
        per_invoice.append((int(item["invoice"]) - 1, dict(item.get("fields") or {})))
    flat = {field: job.var(variable, None) for variable, field in REVIEW_FIELD_VARIABLES.items()}
    flat = {k: v for k, v in flat.items() if v not in (None, "")}
    position = _int_or_none(job.var("invoicePosition", None))
    if flat:
        if position is None:
            raise InvalidCorrection("请填写发票序号 / give the invoice no. the corrections are for")
        per_invoice.append((position - 1, flat))
    claim_fields = dict(job.var("claimCorrections", {}) or {})
    claim_fields.update({field: job.var(variable) for variable, field in CLAIM_FIELD_VARIABLES.items()
                         if job.var(variable, None) not in (None, "")})
    return per_invoice, claim_fields


def _confirm_as_read(session: Session, claim_no: str, position: int | None) -> None:
    for row in claim_invoices(session, claim_no):
        if position is not None and row.position != position:
            continue
        stored = row.values_dict
        for cell in stored.get("fields", {}).values():
            if cell.get("value") is not None:
                cell["confidence"] = 1.0
        row.values = json.dumps(stored, ensure_ascii=False)
        session.add(row)


@registry.topic("apply-claim-review")
def apply_claim_review(job: Job) -> dict[str, Any]:
    """Apply the reviewer's action; the claim then goes back to validation (or to rejection)."""
    action = str(job.var("reviewAction", "accept"))
    reviewer = _last_user(job, "reviewInvoices")
    cleared: dict[str, Any] = {name: None for name in REVIEW_INPUTS if name != "reviewAction"}
    comment = str(job.var("reviewComment", "") or "")
    if action == "reject":
        return {**cleared, "closingReason": f"复核退回 / rejected at review: {comment}".strip(": ")}
    position = _int_or_none(job.var("invoicePosition", None))
    result: dict[str, Any] = {**cleared, "correctionError": ""}
    try:
        with session_scope() as session:
            claim = _claim(session, job)
            per_invoice, claim_fields = _review_corrections(job)
            if action == "exclude":
                if position is None:
                    raise InvalidCorrection("请填写要剔除的发票序号 / give the invoice no. to take out")
                exclude_invoice(session, claim.claim_no, position - 1, actor=reviewer,
                                reason=comment or "excluded at review")
            elif action == "accept":
                _confirm_as_read(session, claim.claim_no, None if position is None else position - 1)
            for index, fields in per_invoice:
                unknown = set(fields) - set(CORRECTABLE_FIELDS)
                if unknown:
                    raise InvalidCorrection(f"cannot correct {sorted(unknown)}")
                correct_invoice(session, claim.claim_no, index, fields, actor=reviewer, today=hospital_today())
            if claim_fields:
                correct_claim(session, claim.claim_no, claim_fields, actor=reviewer)
            variables = claim_variables(claim, claim.claim_no)
    except InvalidCorrection as exc:
        # nothing of this review was applied (one transaction); the next review task shows why
        return {**result, "correctionError": str(exc)}
    if action in ("correct", "exclude"):
        result["verificationFindings"] = []  # changed invoices are verified again
    return {**result, **variables}


# ---------------------------------------------------------------------------------- verification

def query_or_reason(row: ClaimInvoice) -> tuple[VerificationQuery | None, str]:
    """The platform query for an invoice, or why none can be built (the invoice then goes to a person)."""
    if row.state == InvoiceState.MANUAL:
        return None, "发票未能读取，须人工录入 / the file could not be read"
    if row.kind is None:
        return None, "发票种类未识别 / the invoice kind is unknown"
    if row.kind == "foreign":
        return None, "境外票据，平台不能查验 / a foreign invoice: the national platform cannot check it"
    if row.kind == "fiscal-receipt":  # its verification data is kept in the row for the person who checks it
        return None, ("财政电子票据，须在全国财政电子票据查验平台查验 / a finance-bureau e-receipt: check it on the "
                      "national fiscal e-receipt platform, not the tax invoice platform")
    if not row.number:
        return None, "缺少发票号码 / the invoice number is missing"
    if row.issue_date is None:
        return None, "缺少开票日期 / the issue date is missing"
    cells = row.values_dict.get("fields", {})
    check_code = str((cells.get("check_code") or {}).get("value") or "")
    # rail and air tickets are digitalised invoices: the platform checks them by number, date and total
    kind = "digital" if row.kind in ("rail-ticket", "air-itinerary") else row.kind
    if kind == "digital":
        amount = row.total_with_tax
    else:
        value = (cells.get("total_amount") or {}).get("value")
        amount = Decimal(value) if value is not None else None
    if amount is None:
        return None, "缺少查验金额 / the amount the platform asks for is missing"
    return VerificationQuery(kind, row.code or "", row.number, row.issue_date, amount, check_code[-6:]), ""


def _describe(row: ClaimInvoice) -> str:
    return (f"#{row.position + 1} 代码 {row.code or '—'} 号码 {row.number or '—'} 日期 {row.issue_date or '—'} "
            f"价税合计 {format_yuan(row.total_with_tax) if row.total_with_tax is not None else '—'} "
            f"销售方 {row.seller_name or '—'}")


def _failed(row: ClaimInvoice, status: VerificationStatus, message: str) -> Finding:
    return Finding("INVOICE_NOT_AUTHENTIC", Severity.BLOCK,
                   f"第 {row.position + 1} 张发票查验未通过（{status.value}）/ invoice {row.position + 1} failed "
                   f"verification: {message}", evidence={"status": status.value}, invoice=row.position,
                   field="number")


@registry.topic("verify-invoice", lock_ms=180_000)
def verify_invoices(job: Job) -> dict[str, Any]:
    """Check each invoice with the configured verifier, within the platform's limits.

    ``verified`` only when every invoice of the claim was checked and found consistent. An invoice no
    query can be built for (not read, kind unknown or foreign, number, date or amount missing) is never
    passed over: the claim goes to the manual verification task with the reason per invoice.
    """
    verifier = CheckedVerifier(_verifier())
    with session_scope() as session:
        claim = _claim(session, job)
        rows = [r for r in claim_invoices(session, claim.claim_no) if r.state != InvoiceState.EXCLUDED]
    pending = {"captchaAnswer": None, "captchaResumeToken": None, "captchaImage": None, "captchaInvoice": None}
    if verifier.manual:
        summary = "\n".join(_describe(r) for r in rows)
        return {**pending, "verification": "manual", "verificationSummary": summary, "verificationSkipped": []}
    answer_for = _int_or_none(job.var("captchaInvoice", None))
    failures: list[Finding] = []
    retry_at: list[datetime] = []
    skipped: list[tuple[ClaimInvoice, str]] = []
    for row in rows:
        query, reason = query_or_reason(row)
        if query is None:
            skipped.append((row, reason))
            continue
        resume = row.position == answer_for
        outcome = verifier.verify(query, captcha_answer=job.var("captchaAnswer", None) if resume else None,
                                  resume_token=job.var("captchaResumeToken", None) if resume else None)
        status = outcome.status
        if status is VerificationStatus.CONSISTENT:
            continue
        if status is VerificationStatus.NEEDS_CAPTCHA:
            image = base64.b64encode(outcome.captcha_png or b"").decode()
            return {**pending, "verification": "captcha", "captchaImage": f"data:image/png;base64,{image}",
                    "captchaResumeToken": outcome.resume_token, "captchaInvoice": row.position,
                    "captchaInstruction": outcome.message}
        if status in (VerificationStatus.INCONSISTENT, VerificationStatus.NOT_FOUND):
            failures.append(_failed(row, status, outcome.message))
        else:  # too early, limit reached, platform unavailable: wait and ask again
            retry_at.append(outcome.retry_at or hospital_now() + UNAVAILABLE_RETRY)
    if failures:
        return {**pending, "verification": "failed", "verificationFindings": [f.as_dict() for f in failures]}
    if retry_at:
        when = max(retry_at).astimezone(HOSPITAL_TZ)
        return {**pending, "verification": "wait", "verifyRetryAt": when.isoformat(timespec="seconds")}
    if skipped:
        with session_scope() as session:
            record_audit(session, actor="system", action="claim.verification-skipped", subject_type=DOCUMENT_TYPE,
                         subject_id=claim.claim_no,
                         details={"invoices": [{"invoice": r.position + 1, "reason": why} for r, why in skipped]})
        summary = "\n".join(f"{_describe(r)}\n    未能自动查验 / not checked automatically: {why}"
                            for r, why in skipped)
        return {**pending, "verification": "manual", "verificationFindings": [],
                "verificationSummary": "以下发票须人工查验 / check these invoices by hand:\n" + summary,
                "verificationSkipped": [{"invoice": r.position + 1, "reason": why} for r, why in skipped]}
    return {**pending, "verification": "verified", "verificationFindings": [], "verificationSkipped": []}


@registry.topic("record-verification")
def record_verification(job: Job) -> dict[str, Any]:
    """Keep the officer's manual verification result; not consistent sends the claim to review."""
    decision = str(job.var("decision", ""))
    officer = _last_user(job, "verifyManually")
    comment = str(job.var("comment", "") or "")
    with session_scope() as session:
        claim = _claim(session, job)
        record_audit(session, actor=officer, action="claim.verified-by-hand", subject_type=DOCUMENT_TYPE,
                     subject_id=claim.claim_no, details={"result": decision, "comment": comment})
    if decision == "consistent":
        return {"verification": "verified", "verificationFindings": []}
    finding = Finding("INVOICE_NOT_AUTHENTIC", Severity.BLOCK,
                      f"人工查验不一致 / verified by hand as not consistent: {comment or decision}",
                      evidence={"verified_by": officer})
    return {"verification": "failed", "verificationFindings": [finding.as_dict()]}


# ---------------------------------------------------------------------------------------- budget

#: the BPMN error of a cited request or contract the claim may not take over (caught on ``reserveBudget``)
REFERENCE_REFUSED = "REFERENCE_REFUSED"
REQUEST_TYPE = "spending-request"   # the ledger's document type of an approved request
CONTRACT_TYPE = "contract"          # the ledger's document type of a registered contract
PENDING_OVERRUN = "pending-overrun"  # the status of a contract waiting for its over-run approval


def cited_document(session: Session, claim: Claim) -> tuple[str, str] | None:
    """The document whose holding the claim takes over, from the claim's record (never a variable).

    A cited request always counts (refused later if it holds nothing); a contract number only when the
    ledger holds a registered contract under it — the older ``contract_no`` reference of large-equipment
    claims names a paper contract that was never registered and the claim then reserves afresh.
    """
    references = claim.references_dict
    if references.get("request_no"):
        return REQUEST_TYPE, references["request_no"]
    contract_no = references.get("contract_no")
    if contract_no and document_holdings(session, CONTRACT_TYPE, contract_no).entry_ids:
        return CONTRACT_TYPE, contract_no
    if contract_no and _contract_status(session, contract_no) == PENDING_OVERRUN:
        # registered but holding nothing yet: the request still holds the money, so reserving afresh would
        # reserve it twice
        message = (f"引用合同 {contract_no} 超支待批，尚未占用预算 / the cited contract {contract_no} awaits its "
                   f"over-run approval and holds no budget yet")
        record_audit(session, actor="system", action="claim.reference-refused", subject_type=DOCUMENT_TYPE,
                     subject_id=claim.claim_no, details={"cited": contract_no, "reason": PENDING_OVERRUN,
                                                        "message": message})
        session.commit()
        raise BusinessError(REFERENCE_REFUSED, message, {"budgetMessage": message})
    return None


def _take_over(session: Session, claim: Claim, cited: tuple[str, str], amount: Decimal, *, fresh: bool = False) -> bool:
    """Consume the cited holding for the claim; whether it stays within plan (an over-run beyond the dated
    tolerance, or new money overspending the line, is routed up through the approval chain: withinPlan
    false sends it to the budget committee). Refusals become BPMN errors the model catches."""
    cited_type, cited_no = cited
    # a revised claim gave its earlier take-over back: it is assessed again, not answered from the old link
    link = None if fresh else next((x for x in links_of(session, [claim.claim_no])
                                    if (x.cited_type, x.cited_no, x.citing_no) == (cited_type, cited_no,
                                                                                  claim.claim_no)), None)
    try:
        if link is not None:  # redelivered, or back from the budget task: the take-over is done
            within = link.within_tolerance
        else:
            citation = assess_citation(session, cited_type=cited_type, cited_no=cited_no, key=claim.budget_key,
                                       amount=amount)
            within = citation.within_tolerance
        if within and link is None and citation.excess > 0:
            within = check_budget(session, claim.budget_key, citation.excess).outcome != CheckOutcome.OVER_BUDGET
        consume(session, cited_type=cited_type, cited_no=cited_no, citing_type=DOCUMENT_TYPE,
                citing_no=claim.claim_no, key=claim.budget_key, amount=amount, bucket=Bucket.PRE_ENCUMBRANCE,
                actor="system", overrun_approved=True)
    except CitationRefused as exc:
        message = f"引用单据不可用 / the cited document cannot be used: {exc.message}"
        record_audit(session, actor="system", action="claim.reference-refused", subject_type=DOCUMENT_TYPE,
                     subject_id=claim.claim_no, details={"cited": cited_no, "reason": exc.reason,
                                                        "message": exc.message})
        session.commit()
        raise BusinessError(REFERENCE_REFUSED, message, {"budgetMessage": message}) from exc
    except (BudgetExceeded, NoSuchBudgetLine, BudgetLineClosed, BudgetLineNotEffective) as exc:
        code, message = budget_refusal(exc, LINE_OR_EXCEEDED)
        raise BusinessError(code, message, {"budgetMessage": message}) from exc
    return within


def _release_revised(session: Session, claim: Claim, amount: Decimal) -> bool:
    """Give back what the claim holds when a revision changed its amount; whether it did (same transaction)."""
    held = document_holdings(session, DOCUMENT_TYPE, claim.claim_no)[Bucket.PRE_ENCUMBRANCE]
    if held <= 0 or held == amount:
        return False
    reason = f"claim revised: {format_yuan(held)} → {format_yuan(amount)}"
    given_back = give_back(session, citing_type=DOCUMENT_TYPE, citing_no=claim.claim_no, actor="system",
                           reason=reason)
    release_holdings(session, DOCUMENT_TYPE, claim.claim_no, reason)
    record_audit(session, actor="system", action="claim.reservation-revised", subject_type=DOCUMENT_TYPE,
                 subject_id=claim.claim_no, details={"before": held, "after": amount,
                                                    "given_back": {g.cited_no: g.to_cited for g in given_back}})
    return True


@registry.topic("reserve-claim-budget")
def reserve_claim_budget(job: Job) -> dict[str, Any]:
    """Check the claim's budget line and pre-encumber the payable amount in one unit of work, then fix the
    approval chain from the recorded claim (amount, category, funding source, the ledger's plan status).

    A claim that cites an approved request (or a registered contract) takes that holding over instead of
    reserving the money again (``_take_over``); the cited document comes from the claim's record.

    A claim resubmitted after a send-back may now hold a different amount than it reserved (files added or
    removed): its earlier reservation is given back and the new amount reserved in the same transaction, so
    the line never holds both, and a refusal of the new amount leaves the old reservation as it was.
    """
    with session_scope() as session:
        claim = _claim(session, job)
        amount = claim.payable or Decimal("0.00")
        if amount <= 0:
            message = "报销金额为零，无需预占 / nothing to reserve: the amount is zero"
            raise BusinessError(LINE_OR_EXCEEDED.line_unavailable, message, {"budgetMessage": message})
        revised = _release_revised(session, claim, amount)
        cited = cited_document(session, claim)
        if cited is not None:
            within_plan = _take_over(session, claim, cited, amount, fresh=revised)
            budget_message = f"引用 {cited[1]} 的预占 / takes over the reservation of {cited[1]}"
        else:
            check = check_budget(session, claim.budget_key, amount)
            refusal = budget_refusal(check, LINE_OR_EXCEEDED)
            if refusal is not None and refusal[0] == LINE_OR_EXCEEDED.line_unavailable:
                code, message = refusal
                raise BusinessError(code, message, {"budgetMessage": message})
            try:
                pre_encumber(session, claim.budget_key, amount, document_type=DOCUMENT_TYPE,
                             document_no=claim.claim_no, actor="system", reason="claim audited")
            except (BudgetExceeded, NoSuchBudgetLine, BudgetLineClosed, BudgetLineNotEffective) as exc:
                code, message = budget_refusal(exc, LINE_OR_EXCEEDED)
                raise BusinessError(code, message, {"budgetMessage": message}) from exc
            within_plan = check.outcome != CheckOutcome.OVER_BUDGET
            budget_message = check.message
        inputs = {"amount": format_yuan(amount), "category": claim.category,
                  "fundingSource": claim.funding_source, "withinPlan": within_plan}
        claim_no, department = claim.claim_no, claim.department
    steps = route_document(job, decision_key=ROUTING_DECISION, document_type=DOCUMENT_TYPE, document_no=claim_no,
                           amount=amount, within_plan=within_plan, inputs=inputs, department=department)
    return {**inputs, "budgetMessage": budget_message, **chain_variables(steps)}


@registry.topic("verify-claim-approvals")
def verify_claim_approvals(job: Job) -> dict[str, Any]:
    """The control step before the payment voucher: the stored chain and the finance audit against the
    engine's history.

    Every chain step signed once, in order, by a distinct member of its group; the finance audit completed
    with ``approve`` by a finance officer; none of them the claimant or whoever started the claim. Any
    reason is audited and sends the claim to a finance officer (APPROVALS_INCOMPLETE); no voucher is made.
    Passing marks the claim approved, which the voucher and the posting steps require.
    """
    assert job.worker is not None
    engine = job.worker.engine
    with session_scope() as session:
        claim = _claim(session, job)
        chain = current_chain(session, DOCUMENT_TYPE, claim.claim_no)
        session.expunge_all()
    since = chain_started(engine, job.process_instance_id, CHAIN_ACTIVITY)
    signed = signed_tasks_by_key(engine, job.process_instance_id, [APPROVAL_TASK, FINANCE_AUDIT_TASK], since)
    # a send-back the control refused stays in the history but signs nothing
    approvals = round_signatures(signed[APPROVAL_TASK])
    audits = [task for task in signed[FINANCE_AUDIT_TASK] if task.completed]
    starter = engine.historic_process(job.process_instance_id).get("startUserId")
    excluded = {claim.claimant, starter or ""} - {""}
    is_member = members_of(engine)
    audit = audits[-1] if audits else None
    deputies = deputies_of_signers([t.user for t in [*approvals, *([audit] if audit else [])]], is_member)
    problems = chain_problems(chain, approvals, amount=claim.payable or Decimal("0.00"), excluded=excluded,
                              is_member=is_member, consent_required=False, deputies=deputies)
    if audit is None:
        problems.append("缺少财务审核 / no finance audit was completed after the approvals")
    else:
        problems += [f"财务审核 / finance audit: {reason}" for reason in
                     signature_problems(audit, FINANCE_AUDIT_GROUP, excluded, is_member, deputies)]
    with session_scope() as session:
        if chain:
            record_signed(session, document_type=DOCUMENT_TYPE, document_no=claim.claim_no,
                          round_no=chain[0].round, chain=chain, approvals=approvals,
                          others=[audit] if audit else [])
        audit_verification(session, document_type=DOCUMENT_TYPE, document_no=claim.claim_no, chain=chain,
                           approvals=approvals, problems=problems, financeAudit=audit.user if audit else None)
        if not problems:
            close_claim(session, claim.claim_no, ClaimStatus.APPROVED)
    refuse_if_broken(problems)
    return {"approvalsVerified": True}


# ------------------------------------------------------------------- what approvers see, send back, revise

REVISION_TASK = "reviseClaim"
AUDIT_SEND_BACK = "recordAuditSendBack"  # the model's step recording a send-back from the finance audit


@registry.topic("show-claim-approval-step")
def show_claim_approval_step(job: Job) -> dict[str, Any]:
    """What the next approver or finance officer reads beside the claim: its budget line before and after
    it, and every decision taken on it so far (earlier rounds and the claimant's answers too), from the
    ledger and the engine's history.

    Texts for people only: the control step checks the signatures and the budget from the same sources
    again and never reads these variables (the engine refuses a user's write to them: read-only fields).
    """
    assert job.worker is not None
    with session_scope() as session:
        claim = _claim(session, job)
        held = document_holdings(session, DOCUMENT_TYPE, claim.claim_no)[Bucket.PRE_ENCUMBRANCE]
        budget = budget_line_text(session, claim.budget_key, claim.payable or Decimal("0.00"), held=held)
    history = decision_history_text(job.worker.engine, job.process_instance_id,
                                    [APPROVAL_TASK, FINANCE_AUDIT_TASK, REVISION_TASK],
                                    outcome_names=("revisionAction",))
    return {"budgetLineText": budget, "approvalHistoryText": history}


@registry.topic("send-back-claim")
def send_back_claim(job: Job) -> dict[str, Any]:
    """An approver or the finance audit sent the claim back for revision (退回修改): check the send-back
    against the stored chain and the engine's history, keep the round's decisions, tell the claimant
    (audit ``claim.sent-back``).

    Which step sent it back is the engine's own activity (a chain step or the finance audit), never a
    variable. A send-back that does not hold (no reason, not the step's group or one of its members, the
    claimant) is refused with SEND_BACK_REFUSED: the same step is asked again and the task shows why. The
    reservation stays until the revision is resubmitted with a new amount or withdrawn.
    """
    assert job.worker is not None
    engine = job.worker.engine
    with session_scope() as session:
        claim = _claim(session, job)
        chain = current_chain(session, DOCUMENT_TYPE, claim.claim_no)
        session.expunge_all()
    since = chain_started(engine, job.process_instance_id, CHAIN_ACTIVITY)
    signed = signed_tasks_by_key(engine, job.process_instance_id, [APPROVAL_TASK, FINANCE_AUDIT_TASK], since)
    approvals = [t for t in signed[APPROVAL_TASK] if t.completed]
    at_audit = job.activity_id == AUDIT_SEND_BACK
    if at_audit:
        audits = [t for t in signed[FINANCE_AUDIT_TASK] if t.completed]
        task = audits[-1] if audits and audits[-1].outcome == SEND_BACK else None
        signatures, step, group = round_signatures(approvals), None, FINANCE_AUDIT_GROUP
    else:
        task = approvals[-1] if approvals and approvals[-1].outcome == SEND_BACK else None
        signatures = round_signatures(approvals[:-1]) if task else []
        step = len(signatures) + 1
        group = chain[step - 1].candidate_group if chain and step <= len(chain) else None
    starter = engine.historic_process(job.process_instance_id).get("startUserId")
    is_member = members_of(engine)
    if not chain or group is None:
        problems = [f"退回不对应审批链的任何一级 / the send-back matches no step of the stored chain (step {step})"]
    else:
        deputies = deputies_of_signers([task.user] if task and task.user else [], is_member)
        problems = send_back_problems(task, group, {claim.claimant, starter or ""} - {""}, is_member, deputies)
    if problems:
        with session_scope() as session:
            record_audit(session, actor=task.user if task and task.user else "system",
                         action="claim.send-back-refused", subject_type=DOCUMENT_TYPE, subject_id=claim.claim_no,
                         details={"task": task.task_id if task else None, "step": step, "problems": problems})
        raise BusinessError("SEND_BACK_REFUSED", "退回未被接受 / send-back refused: " + "\n".join(problems)[:560])
    assert task is not None and task.user
    reason = (task.comment or "").strip()[:1000]
    with session_scope() as session:
        record_signed(session, document_type=DOCUMENT_TYPE, document_no=claim.claim_no, round_no=chain[0].round,
                      chain=chain, approvals=signatures if at_audit else [*signatures, task],
                      others=[task] if at_audit else [])
        record_audit(session, actor=task.user, action="claim.sent-back", subject_type=DOCUMENT_TYPE,
                     subject_id=claim.claim_no, details={"reason": reason, "round": chain[0].round, "step": step,
                                                        "group": group, "task": task.task_id})
    log.info("claim %s sent back by %s (%s) in round %s", claim.claim_no, task.user, group, chain[0].round)
    # the claimant of the record owns the revision task, whatever a variable said before
    return {"sendBackReason": reason, "sendBackProblem": "", "revisionProblem": "", "claimant": claim.claimant}


@registry.topic("resubmit-claim")
def resubmit_claim(job: Job) -> dict[str, Any]:
    """The claimant's answer to a send-back, read from the engine's history of the revision task (who
    completed it, the values that completion wrote), never from the process variables.

    Withdraw closes the claim (the model's next step gives back its reservation and its invoices). Resubmit
    applies the revision to the record (``revise_claim``: purpose, explanation, files removed; files added
    with ``smartfin claim attach`` while it waited), audited as ``claim.resubmitted``; the claim then goes
    through reading, audit, verification and reservation again like a new one, and its chain is routed anew
    from the new amount as a new round. A revision that does not hold goes back to the claimant with the
    reasons, the record unchanged.
    """
    assert job.worker is not None
    with session_scope() as session:
        claim = _claim(session, job)
        chain = current_chain(session, DOCUMENT_TYPE, claim.claim_no)
        round_no = chain[0].round if chain else 1
        session.expunge_all()
    answer = requester_answer(job.worker.engine, job.process_instance_id, REVISION_TASK, claim.claimant,
                              REVISABLE_FIELDS, document_type=DOCUMENT_TYPE, document_no=claim.claim_no,
                              closing_reason="报销人撤回 / withdrawn by the claimant", requester_variable="claimant",
                              audit_prefix="claim.")
    if answer.reply is not None:
        return answer.reply
    task, again = answer.task, answer.again
    assert task is not None and task.user
    try:
        with session_scope() as session:
            if not audited_for_task(session, DOCUMENT_TYPE, claim.claim_no, "claim.resubmitted", task.task_id):
                changes = revise_claim(session, claim.claim_no, task.values, actor=task.user, round_no=round_no)
                record_answer(session, DOCUMENT_TYPE, claim.claim_no, task, "resubmit")
                record_audit(session, actor=task.user, action="claim.resubmitted", subject_type=DOCUMENT_TYPE,
                             subject_id=claim.claim_no, details={"task": task.task_id, "round": round_no,
                                                                "changes": changes})
    except ClaimRefused as exc:
        return {**again, "revisionProblem": str(exc)}
    with session_scope() as session:
        row = _claim(session, job)
        files = len(claim_files(session, row.claim_no))
        variables = claim_variables(row, row.claim_no)
    return {**variables, "fileCount": files, "revisionOutcome": "resubmit", "revisionProblem": "",
            "sendBackReason": "", "verificationFindings": [], "correctionError": ""}


# ------------------------------------------------------------------------------------ posting

@registry.topic("prepare-claim-voucher")
def prepare_claim_voucher(job: Job) -> dict[str, Any]:
    """The approved claim's voucher, shown to the process (a copy: ``post-voucher`` posts the voucher
    recomputed from the record by ``vouchers.recorded_claim_voucher``)."""
    with session_scope() as session:
        claim = _claim(session, job)
        if claim.status != ClaimStatus.APPROVED:
            # only the control step (verify-claim-approvals) marks a claim approved
            raise RuntimeError(f"claim {claim.claim_no} is {claim.status}, not approved by the verified chain: "
                               f"no voucher is prepared")
        voucher = claim_voucher(claim, len(claim_files(session, claim.claim_no)), hospital_today())
    return {"voucher": voucher.as_variable()}


@registry.topic("record-claim-actual")
def record_claim_actual(job: Job) -> dict[str, Any]:
    """Posted: the actual goes to the ledger (releasing the pre-encumbrance) and the claim is paid."""
    voucher_no = str(job.var("voucherNo"))
    with session_scope() as session:
        claim = _claim(session, job)
        entry = record_actual(session, document_type=DOCUMENT_TYPE, document_no=claim.claim_no, actor="system",
                              amount=claim.payable, voucher_no=voucher_no, reason=f"voucher {voucher_no}")
        cited = cited_document(session, claim)
        saving = Decimal("0.00")
        if cited is not None and cited[0] == REQUEST_TYPE:
            # the paid claim is final: what the request still holds is a saving (a contract stays open for
            # its later payments, and lapses or is closed by rule)
            saving = release_saving(session, cited_type=cited[0], cited_no=cited[1], citing_type=DOCUMENT_TYPE,
                                    citing_no=claim.claim_no, actor="system")
        claim.voucher_no = voucher_no
        session.add(claim)
        close_claim(session, claim.claim_no, ClaimStatus.PAID, f"voucher {voucher_no}")
        record_audit(session, actor="system", action="claim.paid", subject_type=DOCUMENT_TYPE,
                     subject_id=claim.claim_no, details={"voucher_no": voucher_no, "journal_entry": entry.id,
                                                         "saving_released": saving,
                                                         "posted_at": job.var("postedAt", None),
                                                         "decisions": job.var("decisions", [])})
    return {"claimStatus": ClaimStatus.PAID, "actualEntry": entry.id}


@registry.topic("close-claim")
def close_claim_task(job: Job) -> dict[str, Any]:
    """Rejected or invalid: give back the reservation and the invoices, and record why.

    What the claim took over from a cited request or contract goes back to that document (it holds it again
    and can be cited again); only what the claim reserved on its own goes back to the line."""
    outcome = str(job.var("outcome"))
    reason = job.var("closingReason", None) or job.var("comment", None)
    with session_scope() as session:
        claim = _find_claim(session, job)
        claim_no = job.business_key
        if claim is None:
            audit_unregistered(session, job, action="claim.refused-invalid", document_type=DOCUMENT_TYPE,
                               subject_id=claim_no or job.process_instance_id, reason=reason)
            return {"claimStatus": outcome}
        given_back = give_back(session, citing_type=DOCUMENT_TYPE, citing_no=claim.claim_no, actor="system",
                               reason=f"claim {outcome}")
        release_holdings(session, DOCUMENT_TYPE, claim.claim_no, f"claim {outcome}")
        release_invoices(session, claim.claim_no, reason=f"claim {outcome}")
        close_claim(session, claim.claim_no, outcome, str(reason) if reason else None)
        record_audit(session, actor="system", action=f"claim.closed-{outcome}", subject_type=DOCUMENT_TYPE,
                     subject_id=claim.claim_no, details={"reason": reason, "decisions": job.var("decisions", []),
                                                         "given_back": {g.cited_no: g.to_cited for g in given_back}})
    return {"claimStatus": outcome}

