"""Duplicate invoices, hospital-wide: the exact key of an invoice, and near matches worth a second look.

An electronic invoice can be printed any number of times, so the only defence is its identity: invoice
code + number for pre-2024 invoices, the 20-digit number for digitalised ones. The registry of keys (a
unique column in the claims tables) makes the exact check race-safe; the fuzzy check below catches the
same purchase invoiced twice (same seller, amount within 1 %, dates a few days apart) and only flags it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

_SPACES = re.compile(r"\s+")


def invoice_key(kind: str | None, code: str | None, number: str | None) -> str | None:
    """``digital:<20 digits>`` or ``vat:<code>:<number>`` (foreign: ``foreign:<number>``, finance-bureau
    receipt: ``fiscal:<code>:<number>``); None if unread.

    A 20-digit number identifies a digitalised invoice on its own, whatever kind was read.
    """
    number = _SPACES.sub("", number or "")
    code = _SPACES.sub("", code or "")
    if not number:
        return None
    if len(number) == 20 and number.isdigit():
        return f"digital:{number}"
    if kind == "foreign":
        return f"foreign:{number.upper()}"
    if not code:
        return None
    if kind == "fiscal-receipt":
        return f"fiscal:{code}:{number}"
    return f"vat:{code}:{number}"


@dataclass(frozen=True)
class InvoiceSighting:
    """An invoice seen in some claim: enough to compare for a near match."""

    claim_no: str
    position: int
    key: str | None
    seller: str
    total: Decimal
    issue_date: date


def _seller(name: str | None, tax_id: str | None) -> str:
    return (tax_id or "").strip().upper() or _SPACES.sub("", name or "")


def sighting(claim_no: str, position: int, key: str | None, seller_name: str | None, seller_tax_id: str | None,
             total: Decimal | None, issue_date: date | None) -> InvoiceSighting | None:
    """A comparable sighting, or None when seller, amount or date is unknown."""
    seller = _seller(seller_name, seller_tax_id)
    if not seller or total is None or issue_date is None:
        return None
    return InvoiceSighting(claim_no, position, key, seller, total, issue_date)


def near_matches(candidate: InvoiceSighting, others: Iterable[InvoiceSighting], *, amount_percent: Decimal,
                 days: int) -> list[InvoiceSighting]:
    """Other invoices from the same seller with an amount within ``amount_percent`` and dates within ``days``.

    Exact duplicates (same key) are not near matches: they are refused by the registry instead.
    """
    out = []
    for other in others:
        if other.key is not None and other.key == candidate.key:
            continue
        if other.claim_no == candidate.claim_no and other.position == candidate.position:
            continue
        if other.seller != candidate.seller:
            continue
        if abs((other.issue_date - candidate.issue_date).days) > days:
            continue
        largest = max(abs(candidate.total), abs(other.total))
        if largest == 0 or abs(candidate.total - other.total) * 100 <= largest * amount_percent:
            out.append(other)
    return out
