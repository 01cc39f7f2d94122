"""Reading a submitted document (a form, a command line, a JSON file) field by field.

Requests and claims arrive as loose dicts of strings from Tasklist forms, the CLI and the inbox. A person
fixing a submission wants every problem at once, each naming its field, so fields are read through a
``FieldReader`` that collects problems instead of stopping at the first.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from rules.spending.categories import UnknownCategory, category_for
from smartfin.kernel.money import InvalidAmount, parse_amount
from smartfin.ledger import BudgetLineKey, InvalidBudgetKey


class SubmissionRefused(ValueError):
    """A submission that cannot be accepted; ``problems`` lists (field, reason) for every wrong field."""

    label = "submission refused"

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__(f"{self.label}: " + "; ".join(f"{name}: {reason}" for name, reason in problems))


class FieldReader:
    """Reads fields of ``values`` and remembers each problem under its field name."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.problems: list[tuple[str, str]] = []

    def problem(self, field: str, reason: str) -> None:
        self.problems.append((field, reason))

    def text(self, name: str, limit: int, *, required: bool = True) -> str:
        value = self.values.get(name)
        value = "" if value is None else str(value).strip()
        if required and not value:
            self.problem(name, "is missing / 未填写")
        elif len(value) > limit:
            self.problem(name, f"is longer than {limit} characters")
        return value

    def amount(self, name: str, *, required: bool = True) -> Decimal | None:
        if not required and self.values.get(name) in (None, ""):
            return None
        try:
            return parse_amount(self.values.get(name), field=name)
        except InvalidAmount as exc:
            self.problem(name, exc.reason)
            return None

    def fiscal_year(self, default: int) -> int:
        raw = self.values.get("fiscalYear")
        if raw in (None, ""):
            return default
        try:
            return int(str(raw))
        except ValueError:
            self.problem("fiscalYear", f"is not a year: {raw!r}")
            return default

    def budget_key(self, *, fiscal_year: int, department: str, category: str, funding_source: str,
                   project: str, on: date, economic_code: str = "") -> BudgetLineKey | None:
        """The budget line the submission books to: the category gives the economic code unless one is given."""
        if category:
            try:
                economic_code = economic_code or category_for(category, on).economic_code
            except UnknownCategory as exc:
                self.problem("category", str(exc).split(": ", 1)[1])
        if self.problems:
            return None
        try:
            return BudgetLineKey(fiscal_year, department, economic_code, funding_source, project)
        except InvalidBudgetKey as exc:
            self.problem(exc.field, exc.reason)
            return None


class Refused(Exception):
    """A user-facing refusal of a document (no budget line, already submitted …): shown without a traceback."""
