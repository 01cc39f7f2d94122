"""Backtest: the forecast made at many past days, compared with the weekly closing balances that followed.

For each origin the forecast sees only what was known at its end (``SampleHospital.inputs_at`` or any source
with the same signature); for each horizon h (1 … 13 weeks) the absolute percentage error of the forecast
closing balance of week h against the actual one is taken, and the mean over the origins (MAPE) is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from smartfin.cashflow.model import WEEKS, ForecastInputs, forecast

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class OriginResult:
    """The forecast of one origin against the truth: closing balance of each week, forecast and actual."""

    origin: date
    forecast_fen: tuple[int, ...]
    actual_fen: tuple[int, ...]

    def error_pct(self, horizon: int) -> Decimal:
        actual = self.actual_fen[horizon - 1]
        return abs(Decimal(self.forecast_fen[horizon - 1] - actual)) * HUNDRED / abs(Decimal(actual))


@dataclass(frozen=True)
class Backtest:
    """Every origin's result and the MAPE per horizon (week 1 … 13), in percent."""

    origins: tuple[OriginResult, ...]
    mape: tuple[Decimal, ...]

    def at(self, weeks: int) -> Decimal:
        """The MAPE at ``weeks`` weeks ahead."""
        return self.mape[weeks - 1]


def run_backtest(inputs_at: Callable[[date], ForecastInputs], actual: Callable[[date], int],
                 origins: Sequence[date]) -> Backtest:
    """Forecast from each origin and compare each week's closing balance with ``actual`` (closing of a day)."""
    if not origins:
        raise ValueError("a backtest needs at least one origin")
    results = []
    for origin in origins:
        result = forecast(inputs_at(origin))
        truth = tuple(actual(origin + timedelta(days=7 * (h + 1))) for h in range(WEEKS))
        if any(t == 0 for t in truth):
            raise ValueError(f"origin {origin}: an actual closing balance is zero, its percentage error is undefined")
        results.append(OriginResult(origin, tuple(w.closing_fen for w in result.weeks), truth))
    mape = tuple((sum((r.error_pct(h) for r in results), Decimal(0)) / len(results)).quantize(Decimal("0.01"))
                 for h in range(1, WEEKS + 1))
    return Backtest(tuple(results), mape)


def weekly_origins(first: date, last: date) -> list[date]:
    """Every seventh day from ``first`` while 13 weeks of truth follow before ``last``."""
    out, day = [], first
    while day + timedelta(days=7 * WEEKS) <= last:
        out.append(day)
        day += timedelta(days=7)
    return out
