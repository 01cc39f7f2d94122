"""Balances derived from the journal — pure functions, no database.

available = budget + adjustment − pre-encumbrance − encumbrance − actual. Every open commitment
(approved requests, signed contracts) counts, so money promised once cannot be promised twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from smartfin.kernel.money import from_fen
from smartfin.ledger.keys import Bucket, BudgetLineKey

ZERO = Decimal("0.00")
PCT = Decimal("0.01")


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """``part`` as a percentage of ``whole`` to two decimals (half up), or None when ``whole`` is not
    positive: a rate of nothing is undefined, and a report must say why instead of printing a number."""
    return None if whole <= 0 else (part * 100 / whole).quantize(PCT, ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Balances:
    """The five bucket totals of one line, in yuan; ``available`` and friends are computed."""

    budget: Decimal = ZERO
    adjustment: Decimal = ZERO
    pre_encumbrance: Decimal = ZERO
    encumbrance: Decimal = ZERO
    actual: Decimal = ZERO

    @classmethod
    def from_fen_totals(cls, totals: Mapping[str, int]) -> Balances:
        """Build from ``{bucket: sum of amount_fen}`` as a GROUP BY returns it."""
        unknown = set(totals) - {b.value for b in Bucket}
        if unknown:
            raise ValueError(f"unknown journal buckets {sorted(unknown)}")
        return cls(**{b.value: from_fen(int(totals.get(b.value, 0) or 0)) for b in Bucket})

    @property
    def authorised(self) -> Decimal:
        """The spending authority: original budget plus approved adjustments."""
        return self.budget + self.adjustment

    @property
    def committed(self) -> Decimal:
        """Everything requested, contracted or paid."""
        return self.pre_encumbrance + self.encumbrance + self.actual

    @property
    def open_commitments(self) -> Decimal:
        """What is promised but not yet paid (requests approved, contracts signed): pre-encumbrance plus
        encumbrance — the commitments a year-end close must carry or lapse."""
        return self.pre_encumbrance + self.encumbrance

    @property
    def available(self) -> Decimal:
        return self.authorised - self.committed

    @property
    def execution_rate(self) -> Decimal | None:
        """actual / authorised, in percent (执行率); ``0.00`` when nothing is spent, None when nothing is
        authorised (``smartfin.ledger.monitor.rate_or_reason`` says so in words)."""
        return percent(self.actual, self.authorised)


def balances_from_entries(entries: Iterable[tuple[str, int]]) -> Balances:
    """Fold ``(bucket, amount_fen)`` pairs into balances; the reference the SQL sum must agree with."""
    totals: dict[str, int] = {}
    for bucket, amount_fen in entries:
        totals[bucket] = totals.get(bucket, 0) + amount_fen
    return Balances.from_fen_totals(totals)


@dataclass(frozen=True, slots=True)
class DocumentHoldings:
    """What one source document currently holds on its line, bucket by bucket (zero when released)."""

    document_type: str
    document_no: str
    key: BudgetLineKey | None = None
    line_id: int | None = None
    held: Mapping[Bucket, Decimal] = field(default_factory=dict)
    entry_ids: tuple[int, ...] = ()

    def __getitem__(self, bucket: Bucket) -> Decimal:
        return self.held.get(bucket, ZERO)

    @property
    def total(self) -> Decimal:
        """Sum over the commitment buckets: what the document takes from ``available``."""
        return sum((self[b] for b in (Bucket.PRE_ENCUMBRANCE, Bucket.ENCUMBRANCE, Bucket.ACTUAL)), ZERO)
