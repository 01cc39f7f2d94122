"""Invoice inbox: files dropped into a folder become reimbursement claims, each file exactly once.

Layout of the inbox (``SMARTFIN_INBOX_DIR``, default ``var/inbox/``): one folder per batch, with a
``claim.json`` saying whose claims they are — ``{"claimant": "zhang.wei", "department": "CARD",
"category": "materials", "purpose": "…", "funding_source": "fiscal", "project": ""}`` — and the invoice
files (PDF, OFD, XML) beside it; ``<file>.json`` next to a file overrides fields for that file. Each file
is one claim.

One flow run per scan (the batch), one task per file. The file is claimed in the database before it is
extracted or submitted (see :mod:`smartfin.processes.reimbursement.inbox`); a restart finishes what a
crashed run started without submitting anything twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from smartfin.kernel.settings import get_settings
from smartfin.processes.reimbursement.inbox import (
    claim_file,
    file_sha256,
    inbox_files,
    record_rejected,
    record_submitted,
)
from smartfin.store.db import session_scope

#: contract 3: submit_claim(files, *, claimant, department, category, purpose, funding_source, project,
#: claim_no) -> claim number (the reimbursement stream's smartfin.processes.reimbursement.claims.submit_claim)
ClaimSubmitter = Callable[..., str]
#: does a claim with this number exist already (in the engine)?
ClaimLookup = Callable[[str], bool]

REQUIRED_FIELDS = ("claimant", "department", "category")


@dataclass
class IntakeOutcome:
    file: str
    status: str
    claim_no: str | None = None
    invoice_no: str | None = None
    total: str | None = None
    note: str = ""


def default_submitter() -> ClaimSubmitter:
    """The claims intake's ``submit_claim``, imported when the flow first needs it."""
    from smartfin.processes.reimbursement.claims import submit_claim

    submitter: ClaimSubmitter = submit_claim
    return submitter


def recorded_claim_lookup(claim_no: str) -> bool:
    """True when the reimbursement stream has recorded a claim with this number (all-or-nothing with its
    process start, so a recorded claim is a started one)."""
    from smartfin.processes.reimbursement.claims import Claim

    with session_scope() as session:
        return session.get(Claim, claim_no) is not None


def claim_fields(path: Path) -> dict[str, Any]:
    """The claim's form fields: the folder's ``claim.json`` overridden by ``<file>.json``."""
    fields: dict[str, Any] = {}
    for sidecar in (path.parent / "claim.json", path.with_name(path.name + ".json")):
        if sidecar.exists():
            try:
                fields.update(json.loads(sidecar.read_text(encoding="utf-8")))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{sidecar.name}: 不是有效的 JSON / not valid JSON ({exc})") from exc
    missing = [f for f in REQUIRED_FIELDS if not str(fields.get(f, "")).strip()]
    if missing:
        raise ValueError(f"缺少报销信息 / claim fields missing: {missing} (put them in {path.parent}/claim.json)")
    return fields


def read_invoice(path: Path) -> tuple[str | None, str | None, str]:
    """Invoice number, total and a short description, for the intake record and a default purpose."""
    from extractors.invoice.extract import extract_invoice

    result = extract_invoice(path)
    if result.record is None:
        return None, None, f"需人工录入 / manual entry: {result.needs_manual_entry or 'unreadable'}"
    values = result.record.values()
    total = values.get("total_with_tax")
    return (values.get("number"), None if total is None else str(total),
            f"{values.get('seller_name') or ''} 发票 {values.get('number') or ''}".strip())


@task(name="take-in-invoice-file", retries=2, retry_delay_seconds=[10, 60], timeout_seconds=300,
      cache_policy=NO_CACHE, task_run_name="take in {path.name}")
def take_in_file(path: Path, submit: ClaimSubmitter, claim_exists: ClaimLookup) -> IntakeOutcome:
    """Claim, extract and submit one file — or finish a claim a crashed run left half-done."""
    log = get_run_logger()
    sha = file_sha256(path)
    with session_scope() as session:
        row = claim_file(session, path, sha256=sha)
        if row is None:
            return IntakeOutcome(path.name, "seen")
        file_id, claim_no, attempts = row.id, row.claim_no, row.attempts
    assert file_id is not None and claim_no is not None
    if attempts > 1 and claim_exists(claim_no):
        log.warning("%s was submitted as %s by an interrupted run; recording it, not resubmitting", path.name,
                    claim_no)
        with session_scope() as session:
            record_submitted(session, file_id, claim_no=claim_no)
        return IntakeOutcome(path.name, "submitted", claim_no, note="recovered after restart")
    try:
        fields = claim_fields(path)
    except ValueError as exc:
        with session_scope() as session:
            record_rejected(session, file_id, str(exc))
        log.error("%s: %s", path.name, exc)
        return IntakeOutcome(path.name, "rejected", note=str(exc))
    invoice_no, total, description = read_invoice(path)
    try:
        number = submit([path], claimant=str(fields["claimant"]), department=str(fields["department"]),
                        category=str(fields["category"]), purpose=str(fields.get("purpose") or description),
                        funding_source=str(fields.get("funding_source") or "fiscal"),
                        project=str(fields.get("project") or ""), claim_no=claim_no)
    except ValueError as exc:  # the claim was refused as submitted (ClaimRefused): nothing was started
        with session_scope() as session:
            record_rejected(session, file_id, str(exc))
        log.error("%s refused: %s", path.name, exc)
        return IntakeOutcome(path.name, "rejected", claim_no, invoice_no, total, note=str(exc))
    with session_scope() as session:
        record_submitted(session, file_id, claim_no=number, invoice_no=invoice_no, invoice_total=total)
    log.info("%s → claim %s", path.name, number)
    return IntakeOutcome(path.name, "submitted", number, invoice_no, total)


@flow(name="invoice-inbox", log_prints=True, timeout_seconds=3600)
def invoice_inbox(folder: Path | None = None, submit: ClaimSubmitter | None = None,
                  claim_exists: ClaimLookup | None = None, settle_seconds: float = 2.0) -> list[dict[str, Any]]:
    """Take in every new file of the inbox, one task per file, in name order."""
    root = folder or get_settings().flows.inbox_root
    submitter = submit or default_submitter()
    lookup = claim_exists or recorded_claim_lookup
    outcomes = [take_in_file(path, submitter, lookup) for path in inbox_files(root, settle_seconds=settle_seconds)]
    fresh = [asdict(o) for o in outcomes if o.status != "seen"]
    if fresh:
        create_table_artifact(fresh, key="invoice-inbox", description="发票收件箱 Invoice inbox intake")
    get_run_logger().info("inbox %s: %d new file(s), %d already seen", root, len(fresh), len(outcomes) - len(fresh))
    return fresh
