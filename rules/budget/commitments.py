"""The dated standards of the commitment chain (预算占用链), read from ``commitment_standards.csv``.

A later document (contract, claim) that cites an approved request may cost a little more than the request
reserved; how much more is accepted without a new approval, and how long an approved request's reservation
stays valid, are hospital policy. They live in one table with an ``effective_from`` per row, so a citation
is judged by the rule in force on its day and a change of policy is a new row, never an edit of history.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

STANDARDS_FILE = Path(__file__).with_name("commitment_standards.csv")
COLUMNS = ("effective_from", "overrun_tolerance_pct", "overrun_tolerance_amount", "request_validity_days",
           "overrun_approver_group")


class CommitmentStandardsError(ValueError):
    """A standards table that cannot be used; names the row and column."""


@dataclass(frozen=True)
class CommitmentStandards:
    """One row: an over-run is within tolerance when it is at most ``overrun_tolerance_pct`` of what the cited
    document holds *and* at most ``overrun_tolerance_amount`` yuan (both limits hold; the stricter wins);
    an approved request's reservation lapses ``request_validity_days`` after the day it was approved; an
    over-run beyond the tolerance is approved by a member of the engine group ``overrun_approver_group``."""

    effective_from: date
    overrun_tolerance_pct: Decimal
    overrun_tolerance_amount: Decimal
    request_validity_days: int
    overrun_approver_group: str = "chief-accountant"

    def overrun_allowed(self, held: Decimal) -> Decimal:
        """The largest excess over ``held`` accepted without a new approval, in yuan (to the fen, down)."""
        by_share = (held * self.overrun_tolerance_pct / 100).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
        return max(Decimal("0.00"), min(by_share, self.overrun_tolerance_amount))


def _number(row: int, column: str, text: str, *, high: Decimal | None = None) -> Decimal:
    text = (text or "").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CommitmentStandardsError(f"commitment standards row {row}, {column}: 不是数字 / is not a number: "
                                       f"{text!r}") from None
    if not value.is_finite() or value < 0 or (high is not None and value > high):
        bounds = f"0–{high}" if high is not None else "≥ 0"
        raise CommitmentStandardsError(f"commitment standards row {row}, {column}: 超出范围 / must be {bounds}, "
                                       f"got {text}")
    return value


def _group(row: int, text: str) -> str:
    group = text.strip()
    if not group or len(group) > 64 or any(c.isspace() for c in group):
        raise CommitmentStandardsError(f"commitment standards row {row}, overrun_approver_group: 须为引擎组名 / "
                                       f"must name one engine group, got {text!r}")
    return group


def _row(number: int, record: dict[str, str]) -> CommitmentStandards:
    try:
        effective = date.fromisoformat((record.get("effective_from") or "").strip())
    except ValueError:
        raise CommitmentStandardsError(f"commitment standards row {number}, effective_from: 日期无效 / not a "
                                       f"YYYY-MM-DD date: {record.get('effective_from')!r}") from None
    days = _number(number, "request_validity_days", record.get("request_validity_days") or "")
    if days != days.to_integral_value() or days < 1:
        raise CommitmentStandardsError(f"commitment standards row {number}, request_validity_days: 须为正整数 / "
                                       f"must be a whole number of days ≥ 1, got {days}")
    return CommitmentStandards(
        effective_from=effective,
        overrun_tolerance_pct=_number(number, "overrun_tolerance_pct", record.get("overrun_tolerance_pct") or "",
                                      high=Decimal(100)),
        overrun_tolerance_amount=_number(number, "overrun_tolerance_amount",
                                         record.get("overrun_tolerance_amount") or ""),
        request_validity_days=int(days),
        overrun_approver_group=_group(number, record.get("overrun_approver_group") or ""))


def parse_commitment_standards(text: str) -> tuple[CommitmentStandards, ...]:
    """Every row of a standards CSV, oldest first; a bad row refuses the whole table."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CommitmentStandardsError(f"commitment standards: 缺少列 / missing columns {', '.join(missing)}")
    rows = [_row(reader.line_num, record) for record in reader if any((v or "").strip() for v in record.values())]
    if not rows:
        raise CommitmentStandardsError("commitment standards: 没有数据行 / has no rows")
    dates = [r.effective_from for r in rows]
    if len(set(dates)) != len(dates):
        raise CommitmentStandardsError("commitment standards: effective_from 重复 / two rows take effect on the "
                                       "same day")
    return tuple(sorted(rows, key=lambda r: r.effective_from))


@lru_cache(maxsize=4)
def load_commitment_standards(path: Path = STANDARDS_FILE) -> tuple[CommitmentStandards, ...]:
    """The standards table from ``path`` (read once per process)."""
    return parse_commitment_standards(path.read_text(encoding="utf-8"))


def commitment_standards_on(day: date, table: Sequence[CommitmentStandards] | None = None) -> CommitmentStandards:
    """The row in force on ``day``: the latest whose ``effective_from`` is not after it."""
    rows = load_commitment_standards() if table is None else table
    in_force = [r for r in rows if r.effective_from <= day]
    if not in_force:
        raise CommitmentStandardsError(f"no commitment standards in force on {day} / {day} 无有效的预算占用标准")
    return in_force[-1]
