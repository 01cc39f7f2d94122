"""The hospital's clock: one time zone for business dates, and the instants the tables store.

Business dates (the fiscal year, "today" for deadlines, the tax platform's day, the day a reconciliation
covers) are the hospital's, not the server's and not UTC: a server in another zone must not shift them.
Timestamps in the tables are aware UTC instants (``utc_now``).
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

HOSPITAL_TZ = ZoneInfo("Asia/Shanghai")


def utc_now() -> datetime:
    """The current instant as an aware UTC datetime (the only kind the tables accept)."""
    return datetime.now(UTC)


def hospital_now() -> datetime:
    """The current instant on the hospital's wall clock (aware, +08:00)."""
    return datetime.now(HOSPITAL_TZ)


def hospital_today() -> date:
    """Today's business date in the hospital's time zone."""
    return hospital_now().date()


def hospital_date(instant: datetime) -> date:
    """The hospital's calendar date of an aware instant (a UTC timestamp from a table is a day later in
    Shanghai from 16:00 UTC on)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant!r}: the hospital date of an instant needs its time zone")
    return instant.astimezone(HOSPITAL_TZ).date()


def hospital_yesterday() -> date:
    """The business day a morning run reconciles: yesterday in the hospital's time zone."""
    return hospital_today() - timedelta(days=1)


def stored_instant(instant: datetime) -> datetime:
    """A stored instant made aware: one a database gave back without its offset is UTC (that is how the tables
    store them), so reports and JSON can show it on the hospital's clock."""
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def hospital_day(instant: datetime) -> date:
    """The hospital's business date of a stored instant; an instant a database gave back without its offset
    is UTC (that is how the tables store them)."""
    return stored_instant(instant).astimezone(HOSPITAL_TZ).date()


_MONTH = re.compile(r"(\d{4})-(\d{2})")


def month_days(month: str) -> tuple[date, date]:
    """The first and last day of a month written ``YYYY-MM`` (cost months, reviews, reports);
    ``ValueError`` saying what is wrong otherwise."""
    match = _MONTH.fullmatch(month or "")
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1900:
        raise ValueError(f"month must be YYYY-MM, e.g. 2026-10 (got {month!r})")
    year, number = int(match[1]), int(match[2])
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


def shift_month(month: str, months: int) -> str:
    """``YYYY-MM`` moved by ``months`` (negative: back), e.g. the same month a year earlier."""
    first, _ = month_days(month)
    index = first.year * 12 + first.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
