"""Posting batch: approved vouchers waiting in the outbox are posted into the legacy ERP by the bots.

Outbox layout (``SMARTFIN_POSTING_DIR``, default ``var/posting/``): ``outbox/<anything>.json`` holds one
voucher as ``Voucher.as_variable()`` writes it (contract 1: documentType, documentNo, externalRef,
bookedOn, voucherType, summary, attachments, lines, budgetLines; amounts as "123.45" strings). A posted voucher
moves to ``posted/`` with the portal's voucher number beside it; a voucher the portal or the validation
refuses moves to ``rejected/`` with the reason — nothing stays silently in the outbox.

One flow run per batch, one task per voucher, one ERP session per login at a time (the batch holds
the login's slot; another batch with the same login waits). Posting is
idempotent twice over: the poster looks the external reference up in the ERP before posting
(contract 1), and a voucher already recorded as posted in the audit log is not handed to it again.

A voucher of a document type with a voucher source (claims) is posted as the project's records justify
it, the file only compared with that (``recorded_voucher``); a file that disagrees is set aside.
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
from sqlmodel import select

from flows.portal_limits import portal_session
from smartfin.app.implementations import voucher_sources
from smartfin.kernel.settings import get_settings
from smartfin.ports.vouchers import Voucher
from smartfin.posting.journal import VoucherRejected, recorded_result
from smartfin.posting.sources import VoucherRefused, voucher_as_recorded
from smartfin.store.audit import AuditEntry, record_audit
from smartfin.store.db import session_scope

POSTED_ACTION = "posting-batch-posted"  # the batch's own record; the bot journals in smartfin.posting.journal


@dataclass(frozen=True)
class PostingReceipt:
    """What the ERP gave back: its voucher number and when it was posted (ISO with offset)."""

    voucher_no: str
    posted_at: str


#: (voucher as the JSON variable of contract 1) → receipt; raises VoucherRejected with the portal's text
VoucherPoster = Callable[[dict[str, Any]], PostingReceipt]


@dataclass
class PostingOutcome:
    voucher: str
    status: str
    voucher_no: str | None = None
    posted_at: str | None = None
    note: str = ""


def default_poster() -> VoucherPoster:
    """The ERP posting bot (``bots.erp.post_voucher``, idempotent by external reference)."""
    from smartfin.app.implementations import post_voucher

    def post(voucher: dict[str, Any]) -> PostingReceipt:
        result = post_voucher(Voucher.from_variable(voucher))
        return PostingReceipt(result.voucher_no, result.posted_at_local)

    return post


def external_ref(voucher: dict[str, Any]) -> str:
    """The unique business reference of a voucher variable (contract 1: ``documentType:documentNo``)."""
    return str(voucher.get("externalRef") or f"{voucher['documentType']}:{voucher['documentNo']}")


def check_voucher(voucher: dict[str, Any]) -> None:
    """Refuse a voucher that cannot be posted as it is, naming what is wrong (``InvalidVoucher``)."""
    Voucher.from_variable(voucher)


def recorded_voucher(voucher: dict[str, Any], path: Path) -> dict[str, Any]:
    """The voucher to post for an outbox file: for a document type with a voucher source, the one its
    records justify (the file is only compared with it, as the ``post-voucher`` topic does); any other
    voucher as the file has it, once it passes validation.

    The outbox is written by the service, not by engine users, but a file is still a copy: a claim is paid
    only as approved and reserved, whoever wrote the file. Types without a source (vouchers finance keys
    for documents the product does not keep) keep being posted from the file.
    """
    given, sources = Voucher.from_variable(voucher), voucher_sources()
    if not sources.handles(given.document_type):
        return voucher  # posted exactly as the file has it
    recorded: dict[str, Any] = voucher_as_recorded(sources, given, voucher, actor="posting-batch",
                                                   where={"file": path.name}).as_variable()
    return recorded


def _already_posted(voucher: dict[str, Any]) -> PostingReceipt | None:
    """A receipt when this voucher is already posted: by the posting bot (its journal, whoever called it)
    or by an earlier batch with another poster (the batch's audit record)."""
    recorded = recorded_result(Voucher.from_variable(voucher))
    if recorded is not None:
        return PostingReceipt(recorded.voucher_no, recorded.posted_at_local)
    with session_scope() as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == POSTED_ACTION,
                                                      AuditEntry.subject_type == "voucher",
                                                      AuditEntry.subject_id == external_ref(voucher))).first()
        if entry is None:
            return None
        details = entry.details_dict
        return PostingReceipt(details["voucherNo"], details["postedAt"])


def _move(path: Path, folder: str, note: dict[str, Any]) -> None:
    target = path.parent.parent / folder
    target.mkdir(parents=True, exist_ok=True)
    (target / (path.stem + ".result.json")).write_text(json.dumps(note, ensure_ascii=False, indent=1),
                                                       encoding="utf-8")
    path.replace(target / path.name)


@task(name="post-voucher", retries=3, retry_delay_seconds=[30, 120, 600], timeout_seconds=600,
      cache_policy=NO_CACHE, task_run_name="post {path.name}")
def post_one(path: Path, poster: VoucherPoster) -> PostingOutcome:
    """Post one voucher (or recognise it as posted), record the receipt, move the file on."""
    log = get_run_logger()
    try:
        voucher = recorded_voucher(json.loads(path.read_text(encoding="utf-8")), path)
    except (ValueError, KeyError, TypeError, VoucherRefused) as exc:
        _move(path, "rejected", {"reason": str(exc)})
        log.error("%s refused: %s", path.name, exc)
        return PostingOutcome(path.name, "rejected", note=str(exc))
    ref = external_ref(voucher)
    receipt = _already_posted(voucher)
    if receipt is None:
        try:
            receipt = poster(voucher)
        except Exception as exc:
            if not (isinstance(exc, VoucherRejected) or getattr(exc, "business", False)):
                raise  # technical: retried by the task, then the run fails
            _move(path, "rejected", {"externalRef": ref, "reason": str(exc)})
            log.error("%s rejected by the ERP: %s", ref, exc)
            return PostingOutcome(ref, "rejected", note=str(exc))
        with session_scope() as session:
            record_audit(session, actor="posting-batch", action=POSTED_ACTION, subject_type="voucher",
                         subject_id=ref, details={"voucherNo": receipt.voucher_no, "postedAt": receipt.posted_at,
                                                  "file": path.name})
    _move(path, "posted", {"externalRef": ref, **asdict(receipt)})
    log.info("%s posted as %s", ref, receipt.voucher_no)
    return PostingOutcome(ref, "posted", receipt.voucher_no, receipt.posted_at)


@flow(name="posting-batch", log_prints=True, timeout_seconds=7200)
def posting_batch(folder: Path | None = None, poster: VoucherPoster | None = None,
                  erp_login: str = "default") -> list[dict[str, Any]]:
    """Post every approved voucher of the outbox; refused ones are set aside with their reason."""
    root = folder or get_settings().flows.posting_root
    outbox = root / "outbox"
    files = sorted(outbox.glob("*.json")) if outbox.is_dir() else []
    if not files:
        get_run_logger().info("nothing to post in %s", outbox)
        return []
    chosen = poster or default_poster()
    # the ERP allows one session per login: the batch holds its login's slot and posts item after item
    with portal_session("erp", erp_login):
        outcomes = [asdict(post_one(path, chosen)) for path in files]
    create_table_artifact(outcomes, key="posting-batch", description="凭证批量过账 Posting batch")
    return outcomes
