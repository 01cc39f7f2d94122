"""The economic classification of expenditure (部门支出经济分类科目), dated, read from ``economic_classification.csv``.

Compilation templates list the codes in force on the first day of the fiscal year being compiled, and a draft
may only use those codes. The classification changes by national rule (a code split, a new code): a change is
a new row with its ``valid_from`` and an end date on the old one, never an edit of history, so the templates of
an earlier year are still explained by the rows in force then.

Categories: ``personnel`` (工资福利支出 301xx and 对个人和家庭的补助 303xx), ``goods-and-services`` (商品和服务支出
302xx) — together the basic expenditure (基本支出) — and ``capital`` (资本性支出 310xx), usually project spending.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

CLASSIFICATION_FILE = Path(__file__).with_name("economic_classification.csv")
COLUMNS = ("code", "name", "category", "valid_from", "valid_to")
_CODE = re.compile(r"^\d{5}$")


class ExpenseCategory(StrEnum):
    """Which part of the budget a code belongs to."""

    PERSONNEL = "personnel"                  # 工资福利支出, 对个人和家庭的补助
    GOODS_AND_SERVICES = "goods-and-services"  # 商品和服务支出
    CAPITAL = "capital"                      # 资本性支出

    @property
    def label(self) -> str:
        """The category as finance names it, Chinese first."""
        return {ExpenseCategory.PERSONNEL: "人员经费 personnel",
                ExpenseCategory.GOODS_AND_SERVICES: "公用经费 goods and services",
                ExpenseCategory.CAPITAL: "资本性支出 capital"}[self]


class ClassificationError(ValueError):
    """A classification table that cannot be used; names the row and column."""


@dataclass(frozen=True, slots=True)
class EconomicCode:
    """One dated row of the classification."""

    code: str
    name: str
    category: ExpenseCategory
    valid_from: date
    valid_to: date | None

    def in_force(self, on: date) -> bool:
        """Whether the code may be budgeted on ``on``."""
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


def parse_classification(text: str) -> tuple[EconomicCode, ...]:
    """Every row of a classification table; ``ClassificationError`` naming the row and column otherwise.

    Two rows of one code may not be in force on the same day.
    """
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise ClassificationError(f"header must be {','.join(COLUMNS)}, not {','.join(reader.fieldnames or ())}")
    rows: list[EconomicCode] = []
    for number, raw in enumerate(reader, start=2):
        def fail(column: str, reason: str, number: int = number) -> ClassificationError:
            return ClassificationError(f"economic classification row {number}, column {column}: {reason}")
        code = (raw["code"] or "").strip()
        if not _CODE.match(code):
            raise fail("code", f"must be five digits, not {code!r}")
        name = (raw["name"] or "").strip()
        if not name:
            raise fail("name", "is missing")
        try:
            category = ExpenseCategory((raw["category"] or "").strip())
        except ValueError:
            raise fail("category", f"must be one of {', '.join(c.value for c in ExpenseCategory)}") from None
        try:
            valid_from = date.fromisoformat((raw["valid_from"] or "").strip())
            valid_to = date.fromisoformat(raw["valid_to"].strip()) if (raw["valid_to"] or "").strip() else None
        except ValueError as exc:
            raise fail("valid_from/valid_to", f"is not a YYYY-MM-DD date ({exc})") from None
        if valid_to is not None and valid_to < valid_from:
            raise fail("valid_to", "is before valid_from")
        for earlier in rows:
            if earlier.code == code and earlier.valid_from <= (valid_to or date.max) \
                    and valid_from <= (earlier.valid_to or date.max):
                raise fail("valid_from", f"code {code} is already in force then (an earlier row)")
        rows.append(EconomicCode(code, name, category, valid_from, valid_to))
    return tuple(rows)


@lru_cache(maxsize=1)
def _table() -> tuple[EconomicCode, ...]:
    return parse_classification(CLASSIFICATION_FILE.read_text(encoding="utf-8"))


def codes_in_force(on: date) -> tuple[EconomicCode, ...]:
    """The codes that may be budgeted on ``on``, in code order: the rows of a compilation template."""
    return tuple(sorted((c for c in _table() if c.in_force(on)), key=lambda c: c.code))


def codes_for_year(fiscal_year: int) -> dict[str, EconomicCode]:
    """The codes in force on 1 January of ``fiscal_year`` by code: what that year's drafts may use."""
    return {c.code: c for c in codes_in_force(date(fiscal_year, 1, 1))}
