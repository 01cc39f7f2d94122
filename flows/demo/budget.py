"""The budget monitor's part of the demo: last month's execution report of the demo budget, page and workbook.

The demo budget takes effect on 1 January, so the month just closed shows it in full (budget, what the demo's
documents have spent by then, execution against time elapsed), whatever day the demo was first run. In January
the month just closed belongs to the previous fiscal year, which the demo has no budget for: the report is then
drawn up to today instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flows.budget import last_month_end
from flows.demo.runs import run_flow
from smartfin.kernel.clock import hospital_today


def report_day(today: date | None = None) -> date:
    """The as-of day of the demo's report: the end of last month, or today in January."""
    today = today or hospital_today()
    closed = last_month_end(today)
    return closed if closed.year == today.year else today


def budget_report(echo: Callable[[str], None], reader: str) -> list[tuple[str, str]]:
    """Run the monthly budget monitor for the demo (a re-run replaces that day's page and workbook)."""
    day = report_day()
    result = run_flow("budget-monthly", day)
    echo(f"  budget-monthly as of {day}: execution {result['execution_rate']}% of the demo budget, "
         f"time elapsed {result['progress']}%")
    return [(reader, f"预算执行报告 budget execution report as of {day}: {result['report']} "
                     f"(Excel: {result['workbook']}); again any time with `smartfin flows run budget-monthly`")]
