"""The dated budget rules: adjustment authority and yearly limits, and what a year-end close carries over.

Both tables are hospital policy that changes over time, so each row has an ``effective_from`` date and a
decision is always taken by the rows in force on its date; a change of policy is a new row, never an edit.

``adjustment_standards.csv``: below ``finance_head_limit`` (yuan) an adjustment that stays within one
department is the finance head's; at or above it, or across departments, it goes to the president's office
meeting. ``yearly_adjustment_limit`` is the number of subject adjustments (科目调整) a department may have per
fiscal year, counted as ``count_by`` says: ``line`` — every budget line of the department whose amount a
decision changes is one subject adjustment (one decision moving money on three lines counts 3); ``decision`` —
a decision counts once for each department whose lines it changes, however many lines.

``carry_over_rules.csv``: at year end each open commitment (by bucket and document type) and each line's
unspent balance (by funding source and basic/project scope) is carried to next year or lapses. The most
specific matching row wins; a holding no row places stops the close, naming it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

ADJUSTMENT_STANDARDS_FILE = Path(__file__).with_name("adjustment_standards.csv")
CARRY_OVER_RULES_FILE = Path(__file__).with_name("carry_over_rules.csv")


class BudgetRulesError(ValueError):
    """A rules table that cannot be used; names the file's row and column."""


class CountBy(StrEnum):
    """What one unit of the yearly adjustment limit is."""

    LINE = "line"
    DECISION = "decision"


@dataclass(frozen=True)
class AdjustmentStandards:
    """One row of the adjustment standards."""

    effective_from: date
    finance_head_limit: Decimal
    yearly_adjustment_limit: int
    count_by: CountBy


class CarryRule(StrEnum):
    CARRY = "carry"
    LAPSE = "lapse"


HOLDINGS = ("encumbrance", "pre_encumbrance", "balance")
SCOPES = ("project", "basic", "*")


@dataclass(frozen=True)
class CarryOverRow:
    """One row of the carry-over rules: what it places (``what``), for which holdings, and how."""

    effective_from: date
    what: str
    document_type: str
    funding_source: str
    scope: str
    rule: CarryRule
    note: str = ""

    def matches(self, what: str, document_type: str, funding_source: str, scope: str) -> bool:
        return (self.what == what and self.document_type in ("*", document_type)
                and self.funding_source in ("*", funding_source) and self.scope in ("*", scope))

    @property
    def specificity(self) -> int:
        return sum(part != "*" for part in (self.document_type, self.funding_source, self.scope))


def _date(number: int, text: str | None) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise BudgetRulesError(f"row {number}, effective_from: 日期无效 / not a YYYY-MM-DD date: {text!r}") from None


def _rows(text: str, columns: tuple[str, ...], name: str) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise BudgetRulesError(f"{name}: 缺少列 / missing columns {', '.join(missing)}")
    rows = [(number, {k: (v or "").strip() for k, v in record.items() if k}) for number, record
            in enumerate(reader, start=2)]
    if not rows:
        raise BudgetRulesError(f"{name}: 没有规则行 / has no rows")
    return rows


def parse_adjustment_standards(text: str) -> tuple[AdjustmentStandards, ...]:
    """Every row of an adjustment standards CSV, oldest first; one bad row refuses the table."""
    found = []
    for number, record in _rows(text, ("effective_from", "finance_head_limit", "yearly_adjustment_limit", "count_by"),
                                "adjustment standards"):
        try:
            limit = Decimal(record["finance_head_limit"])
            count = int(record["yearly_adjustment_limit"])
        except (InvalidOperation, ValueError):
            raise BudgetRulesError(f"adjustment standards row {number}: finance_head_limit must be an amount and "
                                   f"yearly_adjustment_limit a whole number") from None
        if not limit.is_finite() or limit <= 0 or count < 1:
            raise BudgetRulesError(f"adjustment standards row {number}: limits must be positive")
        try:
            count_by = CountBy(record["count_by"])
        except ValueError:
            raise BudgetRulesError(f"adjustment standards row {number}, count_by: must be "
                                   f"{' or '.join(c.value for c in CountBy)}, got {record['count_by']!r}") from None
        found.append(AdjustmentStandards(_date(number, record["effective_from"]), limit, count, count_by))
    return tuple(sorted(found, key=lambda s: s.effective_from))


def parse_carry_over_rules(text: str) -> tuple[CarryOverRow, ...]:
    """Every row of a carry-over rules CSV; one bad row refuses the table."""
    found = []
    for number, record in _rows(text, ("effective_from", "what", "document_type", "funding_source", "scope",
                                       "rule"), "carry-over rules"):
        what = record["what"]
        if what not in HOLDINGS:
            raise BudgetRulesError(f"carry-over rules row {number}, what: must be one of {', '.join(HOLDINGS)}, "
                                   f"got {what!r}")
        if record["scope"] not in SCOPES:
            raise BudgetRulesError(f"carry-over rules row {number}, scope: must be one of {', '.join(SCOPES)}")
        try:
            rule = CarryRule(record["rule"])
        except ValueError:
            raise BudgetRulesError(f"carry-over rules row {number}, rule: must be carry or lapse, got "
                                   f"{record['rule']!r}") from None
        document_type = record["document_type"] or "*"
        if what == "balance" and document_type != "*":
            raise BudgetRulesError(f"carry-over rules row {number}, document_type: a balance has no document")
        found.append(CarryOverRow(_date(number, record["effective_from"]), what, document_type,
                                  record["funding_source"] or "*", record["scope"] or "*", rule,
                                  record.get("note", "")))
    return tuple(found)


@lru_cache(maxsize=8)
def load_adjustment_standards(path: Path = ADJUSTMENT_STANDARDS_FILE) -> tuple[AdjustmentStandards, ...]:
    return parse_adjustment_standards(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=8)
def load_carry_over_rules(path: Path = CARRY_OVER_RULES_FILE) -> tuple[CarryOverRow, ...]:
    return parse_carry_over_rules(path.read_text(encoding="utf-8"))


def adjustment_standards_on(day: date, table: tuple[AdjustmentStandards, ...] | None = None) -> AdjustmentStandards:
    """The adjustment standards in force on ``day`` (the latest row not after it)."""
    rows = [row for row in (table or load_adjustment_standards()) if row.effective_from <= day]
    if not rows:
        raise BudgetRulesError(f"no adjustment standards in force on {day}")
    return rows[-1]


@dataclass(frozen=True)
class CarryOverRules:
    """The carry-over rows in force on one day, answering "what becomes of this holding?"."""

    rows: tuple[CarryOverRow, ...]

    def rule_for(self, what: str, *, funding_source: str, scope: str, document_type: str = "*") -> CarryRule | None:
        """The most specific row's rule, or None when no row places the holding."""
        matching = [r for r in self.rows if r.matches(what, document_type, funding_source, scope)]
        if not matching:
            return None
        return max(matching, key=lambda r: r.specificity).rule


def carry_over_rules_on(day: date, table: tuple[CarryOverRow, ...] | None = None) -> CarryOverRules:
    """The rows in force on ``day``: for each (what, document type, source, scope) the latest dated row."""
    latest: dict[tuple[str, str, str, str], CarryOverRow] = {}
    for row in sorted(table or load_carry_over_rules(), key=lambda r: r.effective_from):
        if row.effective_from <= day:
            latest[(row.what, row.document_type, row.funding_source, row.scope)] = row
    return CarryOverRules(tuple(latest.values()))
