"""Expense categories a requester chooses, and the economic classification code each one books to.

The table is versioned data (``expense_categories.csv``, with effective dates) because the Ministry of
Finance revises the classification; code never hard-codes a category.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

CATEGORIES_FILE = Path(__file__).with_name("expense_categories.csv")


class UnknownCategory(ValueError):
    """The request names a category that is not in force on its date."""


@dataclass(frozen=True)
class ExpenseCategory:
    category: str
    name: str
    economic_code: str
    effective_from: date
    effective_to: date | None

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


@lru_cache(maxsize=4)
def load_categories(path: Path = CATEGORIES_FILE) -> tuple[ExpenseCategory, ...]:
    with open(path, encoding="utf-8", newline="") as handle:
        return tuple(
            ExpenseCategory(
                category=row["category"].strip(),
                name=row["name"].strip(),
                economic_code=row["economic_code"].strip(),
                effective_from=date.fromisoformat(row["effective_from"]),
                effective_to=date.fromisoformat(row["effective_to"]) if row["effective_to"] else None,
            )
            for row in csv.DictReader(handle)
        )


def category_for(category: str, on: date) -> ExpenseCategory:
    """The category in force on ``on``; the error lists the valid choices."""
    for entry in load_categories():
        if entry.category == category and entry.in_force(on):
            return entry
    known = ", ".join(sorted({c.category for c in load_categories() if c.in_force(on)}))
    raise UnknownCategory(f"category: {category!r} is not a known expense category on {on} (use one of {known})")
