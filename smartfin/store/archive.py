"""The document archive: original invoice files kept by their content (sha256), never lost, never twice.

Electronic invoices can be printed endlessly, so the archive is what proves which bytes a claim was paid
on. Files live under ``var/archive/ab/cd/<sha256>``; the same content submitted twice is stored once.
A file is written to a temporary name in the same folder, flushed to disk, and renamed into place, so a
crash leaves either the whole file or nothing — never a half-written original under a valid name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from smartfin.kernel.settings import get_settings

ARCHIVE_FOLDER = "archive"


class ArchiveError(RuntimeError):
    """The archive cannot store or return a file; the message names the digest or path."""


def archive_root(root: Path | None = None) -> Path:
    """The archive folder (``var/archive`` unless given)."""
    return root if root is not None else get_settings().var_dir / ARCHIVE_FOLDER


def digest_of(data: bytes) -> str:
    """The sha256 hex digest that names a file in the archive."""
    return hashlib.sha256(data).hexdigest()


def archived_path(sha256: str, root: Path | None = None) -> Path:
    """Where the file with this digest lives (whether or not it exists)."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ArchiveError(f"not a sha256 digest: {sha256!r}")
    return archive_root(root) / sha256[:2] / sha256[2:4] / sha256


def archive_file(data: bytes | Path, *, root: Path | None = None) -> str:
    """Store the bytes (or the file at a path) once and return their sha256.

    Idempotent: storing content that is already there only verifies the stored copy. A stored copy that
    does not match its name (disk damage) is replaced by the good bytes.
    """
    content = data.read_bytes() if isinstance(data, Path) else bytes(data)
    sha256 = digest_of(content)
    target = archived_path(sha256, root)
    if target.exists() and digest_of(target.read_bytes()) == sha256:
        return sha256
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".incoming-", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return sha256


def read_archived(sha256: str, *, root: Path | None = None) -> bytes:
    """The archived bytes for a digest, verified against it."""
    path = archived_path(sha256, root)
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise ArchiveError(f"archived file {sha256} is missing from {path.parent}") from None
    if digest_of(content) != sha256:
        raise ArchiveError(f"archived file {sha256} is damaged (its content no longer matches its digest)")
    return content
