"""Split requests (拆分报销/化整为零): several requests kept just under an approval tier.

Regulations forbid splitting one matter into several payments to avoid a higher approver. A request is
flagged — never blocked, an approver judges — when, within a window, the same requester (for the same
expense category: one matter) or the same payee has other requests that each sit just below the same
tier while together they reach it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

DEFAULT_WINDOW = timedelta(days=30)
DEFAULT_MARGIN = Decimal("0.20")  # "just under" = within 20% below the threshold


@dataclass(frozen=True)
class RequestSummary:
    request_no: str
    requester: str
    payee: str
    amount: Decimal
    submitted_at: datetime
    category: str = ""


@dataclass(frozen=True)
class SplitSuspicion:
    threshold: Decimal
    related: tuple[str, ...]
    total: Decimal
    shared: str  # "requester" or "payee"

    def message(self) -> str:
        others = ", ".join(self.related)
        who = "同一申请人 same requester" if self.shared == "requester" else "同一收款方 same payee"
        return (f"疑似拆分 Possible split: {who}, {others} 合计 total ¥{self.total} "
                f"≥ 审批档位 tier ¥{self.threshold}")


def _just_under(amount: Decimal, threshold: Decimal, margin: Decimal) -> bool:
    return threshold * (1 - margin) <= amount < threshold


def detect_splits(current: RequestSummary, history: Iterable[RequestSummary],
                  thresholds: Sequence[Decimal], *, window: timedelta = DEFAULT_WINDOW,
                  margin: Decimal = DEFAULT_MARGIN) -> list[SplitSuspicion]:
    """Suspicions for ``current`` against earlier requests (``history`` may include it; it is skipped)."""
    recent = [r for r in history
              if r.request_no != current.request_no
              and abs(current.submitted_at - r.submitted_at) <= window]
    found: list[SplitSuspicion] = []
    for threshold in thresholds:
        if not _just_under(current.amount, threshold, margin):
            continue
        for shared in ("requester", "payee"):
            mine = getattr(current, shared)
            related = [r for r in recent
                       if getattr(r, shared) == mine and _just_under(r.amount, threshold, margin)
                       and (shared == "payee" or r.category == current.category)]
            total = current.amount + sum((r.amount for r in related), Decimal(0))
            if related and total >= threshold:
                found.append(SplitSuspicion(threshold, tuple(sorted(r.request_no for r in related)),
                                            total, shared))
                break
    return found
