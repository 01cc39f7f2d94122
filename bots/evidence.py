"""Evidence of a failed work item — screenshot, trace, page HTML, the portal's message — with secrets removed.

A trace holds every request and response of the item, including the login form's password, session
cookies and CSRF tokens; a screenshot may show a filled form. Evidence is kept under
``var/bots/evidence/`` for ``SMARTFIN_BOT_EVIDENCE_DAYS`` and is scrubbed before it is written: known
secrets (the password, cookie values) are replaced wherever they occur, and anything shaped like a
password field, a cookie header or a CSRF token is blanked by pattern.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
import zipfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, quote_plus

REDACTED = b"[REDACTED]"
# key/value shapes that carry secrets in form posts, JSON and HTML, whatever their value is
_PATTERNS = [
    re.compile(rb"((?:password|passwd|pwd|csrf_token)=)[^&\s\"'<]*", re.IGNORECASE),
    re.compile(rb"(\"name\":\s*\"(?:cookie|set-cookie)\",\s*\"value\":\s*\")(?:[^\"\\]|\\.)*", re.IGNORECASE),
    re.compile(rb"((?:cookie|set-cookie):\s*)[^\r\n\"]+", re.IGNORECASE),
    re.compile(rb"(name=\\?\"csrf_token\\?\"\s+value=\\?\")[^\"\\]*", re.IGNORECASE),
    re.compile(rb"(\"csrf_token\",?\s*\"value\":\s*\")[^\"]*", re.IGNORECASE),
]
_CSRF_VALUE = re.compile(rb"csrf_token[^A-Za-z0-9_-]{1,40}?([A-Za-z0-9_-]{16,})")


def secret_variants(values: Iterable[str]) -> list[bytes]:
    """Each secret as it may appear on the wire: raw, URL-encoded, JSON-escaped."""
    variants: set[bytes] = set()
    for value in values:
        if not value or len(value) < 4:
            continue
        for form in (value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]):
            variants.add(form.encode())
    return sorted(variants, key=len, reverse=True)


def redact(data: bytes, known: list[bytes]) -> bytes:
    """Blank known secret values and secret-shaped fields in one blob."""
    for value in known:
        data = data.replace(value, REDACTED)
    for pattern in _PATTERNS:
        data = pattern.sub(lambda m: m.group(1) + REDACTED, data)
    return data


def redact_trace(source: Path, target: Path, known_secrets: Iterable[str]) -> None:
    """Copy a trace zip entry by entry with secrets removed (CSRF values found anywhere are removed too)."""
    with zipfile.ZipFile(source) as original:
        blobs = {info.filename: original.read(info) for info in original.infolist()}
    csrf_values = {m.group(1).decode() for blob in blobs.values() for m in _CSRF_VALUE.finditer(blob)}
    known = secret_variants([*known_secrets, *csrf_values])
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as scrubbed:
        for name, blob in blobs.items():
            scrubbed.writestr(name, redact(blob, known))


def new_evidence_folder(root: Path, portal: str, reference: str) -> Path:
    """A fresh folder named by time, portal and reference (readable only by the service user)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", reference)[:60] or "item"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = root / f"{stamp}-{portal}-{slug}-{secrets.token_hex(2)}"
    folder.mkdir(parents=True, mode=0o700)
    return folder


def prune_evidence(root: Path, days: int) -> int:
    """Delete evidence folders older than ``days``; returns how many went."""
    if not root.exists():
        return 0
    cutoff = time.time() - days * 86400
    removed = 0
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
