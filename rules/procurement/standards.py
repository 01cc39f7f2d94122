"""The dated standards of procurement evaluation (采购论证标准), read from ``standards.csv``.

Thresholds, tolerances and committee voting parameters change with hospital policy. They live in one
versioned table with an ``effective_from`` date per row, so a proposal is always judged by the rules in
force on its evaluation date and a change of policy is a new row, never an edit of history.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from rules.equipment import EvaluationSettings, MatchTolerance, PolicySettings, Tolerance

STANDARDS_FILE = Path(__file__).with_name("standards.csv")
COLUMNS = ("effective_from", "large_equipment_threshold", "collective_decision_threshold",
           "post_purchase_review_threshold", "depreciation_rounding_unit", "default_discount_rate_pct",
           "committee_quorum_pct", "committee_majority_pct", "review_interval",
           "match_quantity_tolerance_pct", "match_amount_tolerance_pct", "match_amount_tolerance_abs")
_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")


class StandardsError(ValueError):
    """A standards table that cannot be used; names the row and column."""


@dataclass(frozen=True)
class ProcurementStandards:
    """One row of the standards table, as the typed settings the rule functions take.

    ``committee_quorum_pct``: share of the committee that must vote (abstentions count as present).
    ``committee_majority_pct``: approvals must be *more than* this share of approve + reject votes
    (50 = simple majority; 66.66 = two thirds).
    """

    effective_from: date
    policy: PolicySettings
    evaluation: EvaluationSettings
    default_discount_rate_pct: Decimal
    committee_quorum_pct: Decimal
    committee_majority_pct: Decimal
    review_interval: str
    match_tolerance: MatchTolerance


def _decimal(row: int, column: str, text: str, *, low: Decimal = Decimal(0),
             high: Decimal | None = None, blank_ok: bool = False) -> Decimal | None:
    text = text.strip()
    if not text:
        if blank_ok:
            return None
        raise StandardsError(f"standards row {row}, {column}: 必填 / is required")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise StandardsError(f"standards row {row}, {column}: 不是数字 / is not a number: {text!r}") from None
    if not value.is_finite() or value < low or (high is not None and value > high):
        bounds = f"{low}–{high}" if high is not None else f"≥ {low}"
        raise StandardsError(f"standards row {row}, {column}: 超出范围 / must be {bounds}, got {text}")
    return value


def _row(number: int, record: dict[str, str]) -> ProcurementStandards:
    def need(column: str, **kwargs: object) -> Decimal:
        value = _decimal(number, column, record.get(column) or "", **kwargs)  # type: ignore[arg-type]
        assert value is not None
        return value

    try:
        effective = date.fromisoformat((record.get("effective_from") or "").strip())
    except ValueError:
        raise StandardsError(f"standards row {number}, effective_from: 日期无效 / not a YYYY-MM-DD date: "
                             f"{record.get('effective_from')!r}") from None
    interval = (record.get("review_interval") or "").strip()
    if not _DURATION.match(interval):
        raise StandardsError(f"standards row {number}, review_interval: 须为 ISO-8601 时长 / must be an "
                             f"ISO-8601 duration such as P1Y, got {interval!r}")
    rounding = need("depreciation_rounding_unit")
    if rounding <= 0:
        raise StandardsError(f"standards row {number}, depreciation_rounding_unit: 必须大于零 / must be > 0")
    quorum = need("committee_quorum_pct", high=Decimal(100))
    if quorum <= 0:
        raise StandardsError(f"standards row {number}, committee_quorum_pct: 必须大于零 / must be > 0")
    amount_pct = _decimal(number, "match_amount_tolerance_pct", record.get("match_amount_tolerance_pct") or "",
                          high=Decimal(100), blank_ok=True)
    amount_abs = _decimal(number, "match_amount_tolerance_abs", record.get("match_amount_tolerance_abs") or "",
                          blank_ok=True)
    quantity_pct = _decimal(number, "match_quantity_tolerance_pct",
                            record.get("match_quantity_tolerance_pct") or "", high=Decimal(100), blank_ok=True)
    return ProcurementStandards(
        effective_from=effective,
        policy=PolicySettings(
            large_equipment_threshold=need("large_equipment_threshold"),
            collective_decision_threshold=need("collective_decision_threshold"),
            post_purchase_review_threshold=need("post_purchase_review_threshold"),
        ),
        evaluation=EvaluationSettings(depreciation_rounding_unit=rounding),
        default_discount_rate_pct=need("default_discount_rate_pct", high=Decimal("99.99")),
        committee_quorum_pct=quorum,
        committee_majority_pct=need("committee_majority_pct", high=Decimal("99.99")),
        review_interval=interval,
        match_tolerance=MatchTolerance(
            quantity=Tolerance(pct=quantity_pct),
            amount=Tolerance(pct=amount_pct, absolute=amount_abs),
        ),
    )


def parse_standards(text: str) -> tuple[ProcurementStandards, ...]:
    """Every row of a standards CSV, oldest first; a bad row refuses the whole table."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise StandardsError(f"standards table: 缺少列 / missing columns {', '.join(missing)}")
    rows = [_row(reader.line_num, record) for record in reader if any((v or "").strip() for v in record.values())]
    if not rows:
        raise StandardsError("standards table: 没有数据行 / has no rows")
    dates = [r.effective_from for r in rows]
    if len(set(dates)) != len(dates):
        raise StandardsError("standards table: effective_from 重复 / two rows take effect on the same day")
    return tuple(sorted(rows, key=lambda r: r.effective_from))


@lru_cache(maxsize=4)
def load_standards(path: Path = STANDARDS_FILE) -> tuple[ProcurementStandards, ...]:
    """The standards table from ``path`` (read once per process)."""
    return parse_standards(path.read_text(encoding="utf-8"))


def standards_on(day: date, table: Sequence[ProcurementStandards] | None = None) -> ProcurementStandards:
    """The row in force on ``day``: the latest whose ``effective_from`` is not after it."""
    rows = load_standards() if table is None else table
    in_force = [r for r in rows if r.effective_from <= day]
    if not in_force:
        raise StandardsError(f"no procurement standards in force on {day} / {day} 无有效的采购论证标准")
    return in_force[-1]
