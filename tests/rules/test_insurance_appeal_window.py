"""The dated appeal window: the row in force on the statement's issue date decides, bad rows are named."""

from __future__ import annotations

from datetime import date

import pytest

from rules.insurance.appeal_window import AppealWindowError, parse_windows, window_on

TABLE = parse_windows("effective_from,appeal_days,escalate_before_days,note\n"
                      "2020-01-01,10,3,old\n2026-07-01,15,5,new\n")


def test_the_window_in_force_on_the_issue_date_decides() -> None:
    old, new = window_on(date(2026, 6, 30), TABLE), window_on(date(2026, 7, 1), TABLE)
    assert old.due_on(date(2026, 6, 30)) == date(2026, 7, 10)
    assert old.escalate_on(date(2026, 6, 30)) == date(2026, 7, 7)
    assert (new.appeal_days, new.due_on(date(2026, 7, 1))) == (15, date(2026, 7, 16))
    with pytest.raises(AppealWindowError, match="no appeal window in force on 2019-12-31"):
        window_on(date(2019, 12, 31), TABLE)


def test_the_shipped_table_reads() -> None:
    assert window_on(date(2026, 11, 30)).appeal_days >= 1


@pytest.mark.parametrize(("row", "message"), [
    ("2020-13-01,10,3,x", "row 2, effective_from"),
    ("2020-01-01,ten,3,x", "row 2, appeal_days: 不是整数 / not a whole number"),
    ("2020-01-01,0,0,x", "row 2, appeal_days: 须不小于 1"),
    ("2020-01-01,10,10,x", "row 2, escalate_before_days: 10 须小于申诉期"),
])
def test_bad_rows_are_refused_naming_row_and_column(row: str, message: str) -> None:
    with pytest.raises(AppealWindowError, match=message):
        parse_windows("effective_from,appeal_days,escalate_before_days,note\n" + row + "\n")


def test_two_rows_on_one_day_are_refused() -> None:
    with pytest.raises(AppealWindowError, match="same day"):
        parse_windows("effective_from,appeal_days,escalate_before_days\n2020-01-01,10,3\n2020-01-01,12,3\n")
