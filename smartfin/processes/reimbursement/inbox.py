"""Exactly-once intake of files dropped into a folder: every file is taken in once, also across restarts.

A file is *claimed* — a row keyed by its content (sha256) and path, committed — before anything is done
with it, and it carries the claim number it will be submitted under from that moment on. A run that
dies after submitting but before recording leaves the row ``claimed``; the next run finds it, asks
whether that claim number already exists and records it instead of submitting again. The same content
dropped again under another name is recorded as a ``duplicate`` of the first and never submitted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Column, Text, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from smartfin.kernel.clock import utc_now
from smartfin.store.audit import UtcDateTime

INVOICE_SUFFIXES = (".pdf", ".ofd", ".xml")
SETTLE_SECONDS = 2.0  # a file younger than this may still be being copied in


class InboxStatus(StrEnum):
    CLAIMED = "claimed"  # taken by a run; submitted or not — the claim number decides
    SUBMITTED = "submitted"
    DUPLICATE = "duplicate"  # same content as an earlier file
    REJECTED = "rejected"  # not submittable as it is (e.g. claimant missing); retried on the next run


class InboxFile(SQLModel, table=True):
    """One file seen in the inbox, by content and path."""

    __tablename__ = "inbox_file"
    __table_args__ = (UniqueConstraint("sha256", "path", name="uq_inbox_file"),)

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(index=True)
    path: str
    size: int
    status: str = Field(default=InboxStatus.CLAIMED.value, index=True)
    claim_no: str | None = Field(default=None, unique=True)
    attempts: int = 1
    duplicate_of: int | None = None
    invoice_no: str | None = None
    invoice_total: str | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))
    claimed_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime,
                                                                                             nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inbox_files(folder: Path, *, settle_seconds: float = SETTLE_SECONDS, now: float | None = None) -> Iterator[Path]:
    """Invoice files under ``folder`` (recursively, name order) that are no longer being written."""
    if not folder.is_dir():
        return
    import time

    limit = (now if now is not None else time.time()) - settle_seconds
    for path in sorted(folder.rglob("*")):
        if (path.is_file() and path.suffix.lower() in INVOICE_SUFFIXES and not path.name.startswith((".", "~"))
                and path.stat().st_mtime <= limit):
            yield path


def claim_number_for(sha256: str) -> str:
    """The claim number a file is submitted under: fixed by its content, so a retry reuses it."""
    return f"INB-{sha256[:16].upper()}"


def claim_file(session: Session, path: Path, *, sha256: str | None = None) -> InboxFile | None:
    """Claim ``path`` for processing, or None when it was handled (or is being handled) already.

    Returns the row to work on: a new claim, a ``claimed`` row a crashed run left behind (``attempts``
    counts up), or a ``rejected`` row being tried again. The row is flushed; the caller commits it
    before doing anything irreversible.
    """
    sha = sha256 or file_sha256(path)
    key = str(path.resolve())
    row = session.exec(select(InboxFile).where(InboxFile.sha256 == sha, InboxFile.path == key)).first()
    if row is not None:
        if row.status in (InboxStatus.SUBMITTED, InboxStatus.DUPLICATE):
            return None
        row.attempts += 1
        row.status = InboxStatus.CLAIMED.value
        session.add(row)
        session.flush()
        return row
    first = session.exec(select(InboxFile).where(
        InboxFile.sha256 == sha, InboxFile.status.in_([InboxStatus.CLAIMED.value,  # type: ignore[attr-defined]
                                                       InboxStatus.SUBMITTED.value]))).first()
    row = InboxFile(sha256=sha, path=key, size=path.stat().st_size)
    if first is not None:
        row.status = InboxStatus.DUPLICATE.value
        row.duplicate_of = first.id
        row.finished_at = utc_now()
        row.error = (f"与已收文件相同 / same content as {first.path} (inbox file #{first.id}, "
                     f"claim {first.claim_no})")
    else:
        row.claim_no = claim_number_for(sha)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None  # another run claimed it at the same moment
    return None if row.status == InboxStatus.DUPLICATE else row


def record_submitted(session: Session, file_id: int, *, claim_no: str, invoice_no: str | None = None,
                     invoice_total: str | None = None) -> InboxFile:
    """The file's claim exists in the engine: done for good."""
    row = _row(session, file_id)
    row.status = InboxStatus.SUBMITTED.value
    row.claim_no = claim_no
    row.invoice_no = invoice_no or row.invoice_no
    row.invoice_total = invoice_total or row.invoice_total
    row.error = None
    row.finished_at = utc_now()
    session.add(row)
    session.flush()
    return row


def record_rejected(session: Session, file_id: int, reason: str) -> InboxFile:
    """Nothing was submitted and the file needs a person (the reason says what); retried next run."""
    row = _row(session, file_id)
    row.status = InboxStatus.REJECTED.value
    row.error = reason
    row.finished_at = utc_now()
    session.add(row)
    session.flush()
    return row


def _row(session: Session, file_id: int) -> InboxFile:
    row = session.get(InboxFile, file_id)
    if row is None:
        raise LookupError(f"inbox file #{file_id} does not exist")
    return row
