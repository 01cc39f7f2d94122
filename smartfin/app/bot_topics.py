"""Worker adapters for the portal bots: post a voucher, download a bank statement or a receipt.

Thin on purpose: variables in, one call into ``bots`` (the same functions the CLI and Prefect flows
call), typed variables out. Failure kinds map onto the engine's: a portal refusal is a BPMN error (the
model catches it), everything technical raises so the runtime retries with backoff and finally opens an
incident, with the evidence folder in the error. Browser work can take minutes under a slow portal, so
these topics lock for longer and the runtime keeps extending the lock while a task is in hand.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from bots.bank import download_receipt, download_statement
from bots.errors import BusinessFailure
from smartfin.app.implementations import post_voucher, voucher_sources
from smartfin.camunda.runtime import BusinessError, Job, TopicRegistry
from smartfin.ports.vouchers import Voucher
from smartfin.posting.journal import VoucherRejected
from smartfin.posting.sources import REFUSED_ACTION, VoucherRefused, checked_voucher
from smartfin.store.audit import record_audit
from smartfin.store.db import session_scope

log = logging.getLogger(__name__)
registry = TopicRegistry()
BOT_LOCK_MS = 120_000


def _date(job: Job, name: str) -> date:
    value = job.var(name)
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise BusinessError("BANK_REFUSED", f"{name}: 日期应为 YYYY-MM-DD / must be an ISO date, got {value!r}") \
            from None


def _voucher_to_post(job: Job) -> Voucher:
    """The voucher the project's records justify for this instance's document, checked against the copy.

    The document comes from the business key (the claim number of a reimbursement, the external reference
    of a ``voucher-posting``), never from the ``voucher`` variable; a copy that disagrees with the record
    in anything but the booking date, a document type without a source, or a document the record does not
    allow paying is refused (VOUCHER_REJECTED: the finance officer's review task shows the reasons).
    """
    sources = voucher_sources()
    process_key = job.task._context.get("processDefinitionKey")
    try:
        document_type, document_no = sources.document_of(process_key, job.business_key)
        with session_scope() as session:
            return checked_voucher(session, sources, document_type, document_no, job.var("voucher", None),
                                   actor="system", where={"task": job.id, "topic": job.topic,
                                                          "process": process_key,
                                                          "processInstance": job.process_instance_id})
    except VoucherRefused as exc:
        if not job.business_key:  # nothing to name the refusal by: keep it under the instance
            with session_scope() as session:
                record_audit(session, actor="system", action=REFUSED_ACTION, subject_type="voucher",
                             subject_id=job.process_instance_id, details={"task": job.id, "problems": exc.problems})
        text = "\n".join(exc.problems)
        message = f"凭证与登记记录不符，未过账 / the voucher is not the recorded one; nothing was posted:\n{text}"
        raise BusinessError("VOUCHER_REJECTED", message[:600], {"rejectionMessage": message[:3000],
                                                               "postingEvidence": ""}) from exc


@registry.topic("post-voucher", variables=["voucher"], lock_ms=BOT_LOCK_MS)
def post_voucher_task(job: Job) -> dict[str, Any]:
    """Post the recorded voucher of the process's document into the ERP once; ``voucherNo`` and ``postedAt``
    come back. The ``voucher`` variable is only compared, never posted (``_voucher_to_post``)."""
    voucher = _voucher_to_post(job)
    try:
        result = post_voucher(voucher)
    except VoucherRejected as exc:
        raise BusinessError("VOUCHER_REJECTED", exc.message,
                            {"rejectionMessage": exc.message, "postingEvidence": exc.evidence or ""}) from exc
    return {"voucherNo": result.voucher_no, "postedAt": result.posted_at_local,
            "voucherReconciled": result.reconciled}


@registry.topic("download-statement", variables=["bankAccount", "startDate", "endDate", "statementFormat"],
                lock_ms=BOT_LOCK_MS)
def download_statement_task(job: Job) -> dict[str, Any]:
    """Download one account's statement for a period into var/; returns the file and its SHA-256."""
    fmt = str(job.var("statementFormat", "camt053"))
    try:
        downloaded = download_statement(str(job.var("bankAccount")), _date(job, "startDate"), _date(job, "endDate"),
                                        fmt)
    except BusinessFailure as exc:
        raise BusinessError(exc.code, str(exc), {"bankMessage": exc.portal_message}) from exc
    except ValueError as exc:
        raise BusinessError("BANK_REFUSED", str(exc)) from exc
    return {"statementFile": str(downloaded.path), "statementSha256": downloaded.sha256,
            "statementFormat": fmt}


@registry.topic("download-receipt", variables=["bankAccount", "txnId", "bookedOn"], lock_ms=BOT_LOCK_MS)
def download_receipt_task(job: Job) -> dict[str, Any]:
    """Download the receipt PDF (回单) of one bank transaction."""
    try:
        downloaded = download_receipt(str(job.var("bankAccount")), str(job.var("txnId")), _date(job, "bookedOn"))
    except BusinessFailure as exc:
        raise BusinessError(exc.code, str(exc), {"bankMessage": exc.portal_message}) from exc
    return {"receiptFile": str(downloaded.path), "receiptSha256": downloaded.sha256}
