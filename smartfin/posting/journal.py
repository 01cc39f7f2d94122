"""The posting journal: which voucher went to the ERP, in which state, under which portal number.

Posting into a legacy ERP cannot be wrapped in a transaction with our database: the portal saves, and
only afterwards do we learn its voucher number. A crash between the two would, on a naive retry, post
the voucher again. So every posting walks a small state machine recorded *before* each risky step::

    pending ──► submitting ──► posted        (terminal: the portal's number is recorded)
                     │    └───► failed        (the portal refused it: business error, never retried as is)
                     └── crash / technical error: stays "submitting"

and the recovery rule is: **an entry found "submitting" is reconciled against the portal by its external
reference before anything is entered again** — and, because someone may have keyed the voucher by hand,
every attempt looks the reference up first anyway. After saving, the portal is searched again to verify
that exactly this one voucher carries the reference.

The procedure talks to the ERP through the small ``VoucherBook`` protocol, so it knows nothing of
browsers; the bots provide the implementation (``bots.erp.ErpPortal``), chosen in ``smartfin.app.implementations``.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Text
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel

from smartfin.kernel.clock import utc_now
from smartfin.kernel.settings import get_settings
from smartfin.ports.vouchers import PostingResult, Voucher, VoucherBook, VoucherPortal, VoucherRejected
from smartfin.store.audit import UtcDateTime, record_audit
from smartfin.store.db import get_engine, session_scope

PAUSE_ENV = "SMARTFIN_POSTING_PAUSE_AT"
PAUSE_AFTER_SAVE = "after-portal-save"


class PostingState(StrEnum):
    PENDING = "pending"
    SUBMITTING = "submitting"
    POSTED = "posted"
    FAILED = "failed"


ALLOWED_TRANSITIONS: dict[PostingState, frozenset[PostingState]] = {
    PostingState.PENDING: frozenset({PostingState.SUBMITTING, PostingState.POSTED, PostingState.FAILED}),
    PostingState.SUBMITTING: frozenset({PostingState.SUBMITTING, PostingState.POSTED, PostingState.FAILED}),
    PostingState.FAILED: frozenset({PostingState.SUBMITTING, PostingState.POSTED, PostingState.FAILED}),
    PostingState.POSTED: frozenset(),
}


class VoucherPosting(SQLModel, table=True):
    """One voucher's way into the ERP, keyed by its unique business reference."""

    __tablename__ = "voucher_posting"

    external_ref: str = Field(primary_key=True, max_length=120)
    document_type: str = Field(index=True, max_length=40)
    document_no: str = Field(index=True, max_length=80)
    state: str = Field(default=PostingState.PENDING, index=True, max_length=12)
    voucher_no: str | None = Field(default=None, max_length=40)
    amount: str = Field(max_length=20)
    content_sha256: str = Field(max_length=64)
    voucher_json: str = Field(sa_column=Column(Text, nullable=False))
    attempts: int = 0
    reconciled: bool = False
    message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    evidence_path: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    posted_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))


class IllegalTransition(RuntimeError):
    """A state change the posting state machine forbids (e.g. re-posting a posted voucher)."""


class PostingNotVerified(RuntimeError):
    """After saving, the portal's search did not show exactly the saved voucher: retry reconciles."""


class DuplicateOnPortal(RuntimeError):
    """The portal already holds several vouchers with one reference: a person must sort it out."""


def content_digest(voucher: Voucher) -> str:
    """A fingerprint of what is posted, to notice a different voucher arriving under a known reference."""
    canonical = json.dumps(voucher.as_variable(), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def transition(session: Session, entry: VoucherPosting, target: PostingState, **changes: object) -> VoucherPosting:
    """Move an entry to ``target`` (refusing forbidden moves) and record the move in the audit log."""
    current = PostingState(entry.state)
    if target not in ALLOWED_TRANSITIONS[current]:
        raise IllegalTransition(f"posting {entry.external_ref}: {current} → {target} is not allowed")
    for name, value in changes.items():
        setattr(entry, name, value)
    entry.state = target
    entry.updated_at = utc_now()
    session.add(entry)
    record_audit(session, actor="bot", action=f"voucher-{target}", subject_type="voucher-posting",
                 subject_id=entry.external_ref,
                 details={"from": current, "voucher_no": entry.voucher_no, "message": entry.message})
    return entry


def open_entry(session: Session, voucher: Voucher) -> VoucherPosting:
    """The journal entry of ``voucher``'s reference, created "pending" on first sight."""
    entry = session.get(VoucherPosting, voucher.external_ref)
    if entry is None:
        entry = VoucherPosting(
            external_ref=voucher.external_ref, document_type=voucher.document_type,
            document_no=voucher.document_no, amount=str(voucher.amount), content_sha256=content_digest(voucher),
            voucher_json=json.dumps(voucher.as_variable(), ensure_ascii=False))
        session.add(entry)
        session.flush()
    elif entry.state != PostingState.POSTED and entry.content_sha256 != content_digest(voucher):
        # A corrected voucher after a rejection: the journal keeps the version that goes to the portal.
        entry.content_sha256 = content_digest(voucher)
        entry.voucher_json = json.dumps(voucher.as_variable(), ensure_ascii=False)
        entry.amount = str(voucher.amount)
        session.add(entry)
    return entry


def find_entry(external_ref: str, engine: Engine | None = None) -> VoucherPosting | None:
    """Read one journal entry (for reports, the CLI and tests)."""
    with session_scope(engine) as session:
        return session.get(VoucherPosting, external_ref)


def recorded_result(voucher: Voucher, engine: Engine | None = None) -> PostingResult | None:
    """The recorded outcome when this very voucher is already posted (no browser needed), else None."""
    entry = find_entry(voucher.external_ref, engine)
    if entry is None or entry.state != PostingState.POSTED or entry.content_sha256 != content_digest(voucher):
        return None
    assert entry.voucher_no and entry.posted_at
    return PostingResult(entry.external_ref, entry.voucher_no, entry.posted_at, entry.reconciled, True)


def pause_point(name: str) -> None:
    """Stop dead here when ``SMARTFIN_POSTING_PAUSE_AT`` names this point (crash tests kill us here)."""
    if get_settings().posting_pause_at == name:
        print(f"paused at {name}", file=sys.stderr, flush=True)
        while True:
            time.sleep(3600)


@asynccontextmanager
async def reference_lock(external_ref: str, timeout_s: float = 300.0) -> AsyncIterator[None]:
    """Only one attempt per reference at a time on this host (two deliveries of the same task).

    An OS file lock is released by the kernel when its holder dies, so a crashed attempt never blocks
    the recovery that follows it.
    """
    folder = get_settings().var_dir / "bots" / "locks" / "postings"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (hashlib.sha256(external_ref.encode()).hexdigest()[:32] + ".lock")
    handle = path.open("a+")
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"posting {external_ref} is held by another attempt") from None
                await asyncio.sleep(0.1)
        yield
    finally:
        handle.close()


def _db(engine: Engine | None) -> Engine:
    return engine or get_engine()


async def post_idempotently(voucher: Voucher, book: VoucherBook, *, engine: Engine | None = None) -> PostingResult:
    """Post ``voucher`` at most once: journal first, look up, enter, verify, record the number.

    Safe to call any number of times for the same voucher, from any process, after any crash.
    """
    ref = voucher.external_ref
    db = _db(engine)
    async with reference_lock(ref):
        entry = await asyncio.to_thread(_open, db, voucher)
        if entry.state == PostingState.POSTED:
            if entry.content_sha256 != content_digest(voucher):
                raise VoucherRejected(f"单据 {ref} 已以凭证 {entry.voucher_no} 过账，内容不同 / already posted as "
                                      f"{entry.voucher_no} with different content; reverse it in the ERP first")
            assert entry.voucher_no and entry.posted_at
            return PostingResult(ref, entry.voucher_no, entry.posted_at, entry.reconciled, already_recorded=True)

        # Look the reference up first: recovers a crashed "submitting" attempt, and respects a voucher
        # someone keyed by hand.
        found = await book.find(ref)
        if len(found) > 1:
            raise DuplicateOnPortal(f"ERP 中外部单号 {ref} 有 {len(found)} 张凭证 {found} / several vouchers carry "
                                    "this reference; reverse the extra ones in the ERP")
        if found:
            return await asyncio.to_thread(_record_posted, db, ref, found[0], True)

        await asyncio.to_thread(_mark, db, ref, PostingState.SUBMITTING, None, None)
        try:
            number = await book.enter(voucher)
        except VoucherRejected as rejected:
            rejected.evidence = rejected.evidence or await book.evidence(f"rejected: {rejected.message}")
            await asyncio.to_thread(_mark, db, ref, PostingState.FAILED, rejected.message, rejected.evidence)
            raise
        except Exception as error:
            await asyncio.to_thread(_note, db, ref, f"{type(error).__name__}: {error}")
            raise
        pause_point(PAUSE_AFTER_SAVE)
        verified = await book.find(ref)
        if verified != [number]:
            raise PostingNotVerified(f"saved {ref} as {number}, but the ERP search shows {verified}")
        return await asyncio.to_thread(_record_posted, db, ref, number, False)


def _open(db: Engine, voucher: Voucher) -> VoucherPosting:
    with session_scope(db) as session:
        return open_entry(session, voucher)


def _mark(db: Engine, ref: str, state: PostingState, message: str | None, evidence: str | None) -> None:
    with session_scope(db) as session:
        entry = session.get(VoucherPosting, ref)
        assert entry is not None
        transition(session, entry, state, message=message, evidence_path=evidence,
                   attempts=entry.attempts + (1 if state == PostingState.SUBMITTING else 0))


def _note(db: Engine, ref: str, message: str) -> None:
    with session_scope(db) as session:
        entry = session.get(VoucherPosting, ref)
        if entry is not None:
            entry.message = message[:2000]
            entry.updated_at = utc_now()
            session.add(entry)


def _record_posted(db: Engine, ref: str, number: str, reconciled: bool) -> PostingResult:
    with session_scope(db) as session:
        entry = session.get(VoucherPosting, ref)
        assert entry is not None
        now = utc_now()
        transition(session, entry, PostingState.POSTED, voucher_no=number, posted_at=now, reconciled=reconciled,
                   message=None)
    return PostingResult(ref, number, now, reconciled)



def post_voucher(voucher: Voucher, portal: VoucherPortal, *, engine: Engine | None = None) -> PostingResult:
    """Post one voucher into the ERP at most once (the function the worker, CLI and flows call).

    A voucher already recorded as posted with the same content is answered from the journal, without
    opening the portal at all.
    """
    recorded = recorded_result(voucher, engine)
    if recorded is not None:
        return recorded
    return portal.run(voucher.external_ref, lambda book: post_idempotently(voucher, book, engine=engine))
