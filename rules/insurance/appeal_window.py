"""The appeal window of refused and deducted items (申诉期限), read from ``appeal-window.csv``.

The fund's notice says how long the hospital has to appeal; policy changes it from time to time. Each row
holds the window in force from ``effective_from``: a batch is judged by the row in force on the day its
clearing statement was issued, and a change of policy is a new row, never an edit of history.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

WINDOW_FILE = Path(__file__).with_name("appeal-window.csv")


class AppealWindowError(ValueError):
    """An appeal-window table that cannot be used; names the row and column."""


@dataclass(frozen=True)
class AppealWindow:
    """Calendar days to appeal after the statement is issued, and how many days before the end to escalate."""

    effective_from: date
    appeal_days: int
    escalate_before_days: int

    def due_on(self, issued_on: date) -> date:
        """The last day an appeal of a statement issued on ``issued_on`` reaches the fund in time."""
        return issued_on + timedelta(days=self.appeal_days)

    def escalate_on(self, issued_on: date) -> date:
        """The day an unanswered batch is escalated: ``escalate_before_days`` before the window closes."""
        return self.due_on(issued_on) - timedelta(days=self.escalate_before_days)


def _whole(row: int, column: str, text: str | None, low: int) -> int:
    try:
        value = int((text or "").strip())
    except ValueError:
        raise AppealWindowError(f"appeal window row {row}, {column}: 不是整数 / not a whole number: "
                                f"{text!r}") from None
    if value < low:
        raise AppealWindowError(f"appeal window row {row}, {column}: 须不小于 {low} / must be at least {low}, "
                                f"got {value}")
    return value


def parse_windows(text: str) -> tuple[AppealWindow, ...]:
    """The rows of a window table, oldest first; ``AppealWindowError`` naming the row and column otherwise."""
    rows = []
    for number, record in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            effective = date.fromisoformat((record.get("effective_from") or "").strip())
        except ValueError:
            raise AppealWindowError(f"appeal window row {number}, effective_from: 日期无效 / not a YYYY-MM-DD "
                                    f"date: {record.get('effective_from')!r}") from None
        days = _whole(number, "appeal_days", record.get("appeal_days"), 1)
        before = _whole(number, "escalate_before_days", record.get("escalate_before_days"), 0)
        if before >= days:
            raise AppealWindowError(f"appeal window row {number}, escalate_before_days: {before} 须小于申诉期 "
                                    f"/ must be less than appeal_days {days}")
        rows.append(AppealWindow(effective, days, before))
    if not rows:
        raise AppealWindowError("appeal window table has no rows")
    dates = [r.effective_from for r in rows]
    if len(set(dates)) != len(dates):
        raise AppealWindowError("appeal window table: two rows take effect on the same day")
    return tuple(sorted(rows, key=lambda r: r.effective_from))


@lru_cache(maxsize=1)
def _table() -> tuple[AppealWindow, ...]:
    return parse_windows(WINDOW_FILE.read_text(encoding="utf-8"))


def window_on(day: date, table: tuple[AppealWindow, ...] | None = None) -> AppealWindow:
    """The window in force on ``day``; ``AppealWindowError`` when no row was in force yet."""
    rows = [r for r in (table or _table()) if r.effective_from <= day]
    if not rows:
        raise AppealWindowError(f"no appeal window in force on {day.isoformat()}")
    return rows[-1]
