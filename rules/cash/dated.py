"""The dated cash rules, read from ``schedule.csv`` and ``policy.csv`` (or a file given in their place).

``schedule.csv``: items the hospital knows in advance — fiscal appropriations, loan service, taxes, a payroll
schedule — each with the day of the month, the months (blank: every month), the amount in yuan and the dates
the row is in force. ``policy.csv``: values in force from a date — the payment term of each payable category
(``term:<category>``, days), the pay day, the minimum balance (yuan), the days after signing a contract is
expected to be paid when no payment schedule is known.

A change of policy is a new row that starts when the new rule applies (and the old row ending the day before),
never an edit of history; two rows of the same item in force on the same day are refused, naming both rows.
Every bad cell is refused with the file, the row and the column.
"""

from __future__ import annotations

import calendar
import csv
import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

HERE = Path(__file__).parent
SCHEDULE_FILE = HERE / "schedule.csv"
POLICY_FILE = HERE / "policy.csv"
SCHEDULE_COLUMNS = ("kind", "name", "effective_from", "effective_to", "day_of_month", "months", "amount")
POLICY_COLUMNS = ("key", "effective_from", "effective_to", "value")
#: the kinds a schedule row may have, and whether money comes in (+1) or goes out (-1)
KINDS = {"fiscal-appropriation": 1, "loan-service": -1, "taxes": -1, "payroll": -1, "other": -1}
POLICY_KEYS = ("payday", "minimum-balance", "contract-payment-days")


class CashRuleError(ValueError):
    """A cash rules file that cannot be used; names the file, the row and the column."""


@dataclass(frozen=True)
class ScheduleRule:
    """One scheduled item: ``amount`` yuan (positive; its kind says in or out) on ``day_of_month``."""

    kind: str
    name: str
    effective_from: date
    effective_to: date | None
    day_of_month: int
    months: frozenset[int]
    amount: Decimal
    row: int

    @property
    def sign(self) -> int:
        return KINDS[self.kind]

    def days(self, first: date, last: date) -> list[date]:
        """The days from ``first`` to ``last`` on which the item falls (a 31st is a shorter month's last day)."""
        out = []
        year, month = first.year, first.month
        while date(year, month, 1) <= last:
            day = date(year, month, min(self.day_of_month, calendar.monthrange(year, month)[1]))
            if first <= day <= last and month in self.months and self.in_force(day):
                out.append(day)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


@dataclass(frozen=True)
class PolicyRule:
    """One policy value in force from ``effective_from`` to ``effective_to`` (open when None)."""

    key: str
    effective_from: date
    effective_to: date | None
    value: Decimal
    row: int

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


def _where(source: str, row: int, column: str) -> str:
    return f"{source} row {row}, {column}"


def _date(source: str, row: int, column: str, text: str, *, blank_ok: bool = False) -> date | None:
    text = text.strip()
    if not text and blank_ok:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CashRuleError(f"{_where(source, row, column)}: 不是日期 / not a YYYY-MM-DD date: {text!r}") from None


def _number(source: str, row: int, column: str, text: str) -> Decimal:
    text = text.strip()
    if not text:
        raise CashRuleError(f"{_where(source, row, column)}: 必填 / is required")
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise CashRuleError(f"{_where(source, row, column)}: 不是数字 / is not a number: {text!r}") from None
    if not value.is_finite():
        raise CashRuleError(f"{_where(source, row, column)}: 不是有限数 / is not a finite number: {text!r}")
    if value < 0:
        raise CashRuleError(f"{_where(source, row, column)}: 不能为负 / must not be negative: {text}")
    if value != value.quantize(Decimal("0.01")):
        raise CashRuleError(f"{_where(source, row, column)}: 最多两位小数 / has more than 2 decimal places: {text}")
    return value


def _records(text: str, source: str, columns: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise CashRuleError(f"{source}: 缺少列 / missing columns {', '.join(missing)}")
    rows = [(reader.line_num, {k: (v or "") for k, v in record.items() if k})
            for record in reader if any((v or "").strip() for v in record.values() if isinstance(v, str))]
    return rows


def _check_dates(source: str, row: int, start: date, end: date | None) -> None:
    if end is not None and end < start:
        raise CashRuleError(f"{_where(source, row, 'effective_to')}: {end} 早于生效日 / is before effective_from "
                            f"{start}")


def _refuse_overlaps(source: str, items: Sequence[tuple[str, ScheduleRule | PolicyRule]]) -> None:
    by_item: dict[str, list[ScheduleRule | PolicyRule]] = {}
    for name, item in items:
        by_item.setdefault(name, []).append(item)
    for name, rows in by_item.items():
        rows = sorted(rows, key=lambda r: r.effective_from)
        for earlier, later in itertools.pairwise(rows):
            if earlier.effective_to is None or later.effective_from <= earlier.effective_to:
                raise CashRuleError(
                    f"{source} rows {earlier.row} and {later.row}, effective_from/effective_to: {name} 的两行生效期"
                    f"重叠 / two rows of {name} are in force on the same day ({later.effective_from}); end row "
                    f"{earlier.row} the day before {later.effective_from}")


def parse_schedule(text: str, source: str = "schedule.csv") -> tuple[ScheduleRule, ...]:
    """Every row of a schedule file; a bad row or two overlapping rows refuse the whole file."""
    rules = []
    for row, record in _records(text, source, SCHEDULE_COLUMNS):
        kind = record["kind"].strip()
        if kind not in KINDS:
            raise CashRuleError(f"{_where(source, row, 'kind')}: 未知类别 / unknown kind {kind!r} (one of "
                                f"{', '.join(KINDS)})")
        name = record["name"].strip()
        if not name:
            raise CashRuleError(f"{_where(source, row, 'name')}: 必填 / is required")
        start = _date(source, row, "effective_from", record["effective_from"])
        assert start is not None
        end = _date(source, row, "effective_to", record["effective_to"], blank_ok=True)
        _check_dates(source, row, start, end)
        day = _number(source, row, "day_of_month", record["day_of_month"])
        if day != day.to_integral_value() or not 1 <= day <= 31:
            raise CashRuleError(f"{_where(source, row, 'day_of_month')}: 须为 1–31 / must be a day 1–31, got {day}")
        months_text = record["months"].strip()
        try:
            months = frozenset(int(m) for m in months_text.split(",")) if months_text else frozenset(range(1, 13))
        except ValueError:
            raise CashRuleError(f"{_where(source, row, 'months')}: 须为逗号分隔的月份 / must be months 1–12 "
                                f"separated by commas, got {months_text!r}") from None
        if not months or not months <= frozenset(range(1, 13)):
            raise CashRuleError(f"{_where(source, row, 'months')}: 月份须为 1–12 / months must be 1–12, got "
                                f"{months_text!r}")
        amount = _number(source, row, "amount", record["amount"])
        if amount == 0:
            raise CashRuleError(f"{_where(source, row, 'amount')}: 必须大于零 / must be greater than zero")
        rules.append(ScheduleRule(kind, name, start, end, int(day), months, amount, row))
    _refuse_overlaps(source, [(f"{r.kind}/{r.name}", r) for r in rules])
    return tuple(rules)


def parse_policy(text: str, source: str = "policy.csv") -> tuple[PolicyRule, ...]:
    """Every row of a policy file; a bad row or two rows of one key in force on the same day refuse the file."""
    rules = []
    for row, record in _records(text, source, POLICY_COLUMNS):
        key = record["key"].strip()
        if key not in POLICY_KEYS and not (key.startswith("term:") and len(key) > 5):
            raise CashRuleError(f"{_where(source, row, 'key')}: 未知项 / unknown key {key!r} (one of "
                                f"{', '.join(POLICY_KEYS)} or term:<payable category>)")
        start = _date(source, row, "effective_from", record["effective_from"])
        assert start is not None
        end = _date(source, row, "effective_to", record["effective_to"], blank_ok=True)
        _check_dates(source, row, start, end)
        value = _number(source, row, "value", record["value"])
        if key != "minimum-balance" and (value != value.to_integral_value() or value <= 0):
            raise CashRuleError(f"{_where(source, row, 'value')}: {key} 须为正整数 / must be a whole number of days "
                                f"above zero, got {value}")
        if key == "payday" and value > 31:
            raise CashRuleError(f"{_where(source, row, 'value')}: 发薪日须为 1–31 / the pay day must be 1–31")
        rules.append(PolicyRule(key, start, end, value, row))
    _refuse_overlaps(source, [(r.key, r) for r in rules])
    return tuple(rules)


def load_schedule(path: Path = SCHEDULE_FILE) -> tuple[ScheduleRule, ...]:
    """The schedule file at ``path``."""
    return parse_schedule(path.read_text(encoding="utf-8"), path.name)


def load_policy(path: Path = POLICY_FILE) -> tuple[PolicyRule, ...]:
    """The policy file at ``path``."""
    return parse_policy(path.read_text(encoding="utf-8"), path.name)


@dataclass(frozen=True)
class CashPolicy:
    """The policy in force on one day, typed."""

    on: date
    payment_terms: dict[str, int]
    payday: int
    minimum_balance: Decimal
    contract_payment_days: int


def policy_on(day: date, rules: Sequence[PolicyRule] | None = None, source: str = "policy.csv") -> CashPolicy:
    """The policy values in force on ``day``; refuses when a needed value has no row in force."""
    rows = load_policy() if rules is None else rules
    values = {r.key: r.value for r in rows if r.in_force(day)}
    missing = [k for k in POLICY_KEYS if k not in values]
    if missing:
        raise CashRuleError(f"{source}: 无 {day} 生效的行 / no row in force on {day} for {', '.join(missing)}")
    terms = {k[5:]: int(v) for k, v in values.items() if k.startswith("term:")}
    return CashPolicy(day, terms, int(values["payday"]), values["minimum-balance"],
                      int(values["contract-payment-days"]))


def schedule_between(first: date, last: date, rules: Sequence[ScheduleRule] | None = None
                     ) -> list[tuple[ScheduleRule, date]]:
    """Every scheduled item from ``first`` to ``last`` with its day, in day order."""
    rows = load_schedule() if rules is None else rules
    return sorted(((r, d) for r in rows for d in r.days(first, last)), key=lambda x: (x[1], x[0].kind, x[0].name))
