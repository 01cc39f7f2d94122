"""Post-purchase review (购置后效益评价): actual volume and revenue from HIS against the forecast.

The forecast is yearly; actual rows are monthly (``YYYY-MM``) or yearly (``YYYY``), so the forecast is
pro-rated to the months the actuals cover. A proposal states one price for the device, not a split by
charge code; a per-code forecast therefore exists only when the device has one charge code or when the
reviewer gives each code's share. Without it the per-code rows show actuals only and the total carries
the comparison.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from extractors.exports.his_charges import ChargeRow
from rules.equipment.costbenefit import CostBenefitReport, annual_revenue, annual_volume, fen
from rules.equipment.proposal import EquipmentProposal

TOTAL = "TOTAL"
RATIO = Decimal("0.0001")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_YEAR = re.compile(r"^\d{4}$")

TABLE_HEADER = (
    "收费编码 charge code", "预测量 forecast volume", "实际量 actual volume", "量差 volume variance",
    "量差% volume variance %", "预测收入 forecast revenue", "实际收入 actual revenue",
    "收入差 revenue variance", "收入差% revenue variance %",
)


@dataclass(frozen=True)
class ActualRow:
    """Actual use of the device in one period under one charge code."""

    period: str  # YYYY-MM or YYYY
    charge_code: str
    volume: Decimal
    revenue: Decimal


@dataclass(frozen=True)
class VarianceRow:
    """Forecast against actual for one charge code (or ``TOTAL``); variance = actual − forecast.

    Percentages are fractions of the forecast; ``None`` where there is no forecast to compare with.
    """

    charge_code: str
    forecast_volume: Decimal | None
    actual_volume: Decimal
    volume_variance: Decimal | None
    volume_variance_pct: Decimal | None
    forecast_revenue: Decimal | None
    actual_revenue: Decimal
    revenue_variance: Decimal | None
    revenue_variance_pct: Decimal | None


@dataclass(frozen=True)
class VarianceReport:
    """The review table (one row per charge code, then the total) and a bilingual summary."""

    months: int
    periods: tuple[str, ...]
    rows: tuple[VarianceRow, ...]
    total: VarianceRow
    summary_zh: str
    summary_en: str

    @property
    def summary(self) -> str:
        return f"{self.summary_zh}\n{self.summary_en}"

    def table(self) -> list[list[str]]:
        """Header plus one line per code and the total, as strings ready for a sheet or a form table."""
        def text(value: Decimal | None) -> str:
            return "" if value is None else str(value)

        lines = [list(TABLE_HEADER)]
        for row in (*self.rows, self.total):
            lines.append([row.charge_code, text(row.forecast_volume), text(row.actual_volume),
                          text(row.volume_variance), text(row.volume_variance_pct),
                          text(row.forecast_revenue), text(row.actual_revenue), text(row.revenue_variance),
                          text(row.revenue_variance_pct)])
        return lines


def actuals_from_charges(rows: Iterable[ChargeRow]) -> list[ActualRow]:
    """HIS charge lines summed per month and charge code, in period then code order."""
    totals: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    for row in rows:
        key = (f"{row.date:%Y-%m}", row.charge_code)
        volume, revenue = totals.get(key, (Decimal(0), Decimal(0)))
        totals[key] = (volume + row.quantity, revenue + row.amount)
    return [ActualRow(period, code, volume, fen(revenue))
            for (period, code), (volume, revenue) in sorted(totals.items())]


def months_covered(periods: Iterable[str]) -> int:
    """Months spanned by distinct periods: 1 per ``YYYY-MM``, 12 per ``YYYY``."""
    months = 0
    for period in set(periods):
        if _MONTH.match(period):
            months += 1
        elif _YEAR.match(period):
            months += 12
        else:
            raise ValueError(f"period {period!r} is neither YYYY-MM nor YYYY")
    return months


def _pct(variance: Decimal, forecast: Decimal) -> Decimal | None:
    if forecast == 0:
        return None
    return (variance / forecast).quantize(RATIO, rounding=ROUND_HALF_UP)


def _row(code: str, forecast_volume: Decimal | None, actual_volume: Decimal,
         forecast_revenue: Decimal | None, actual_revenue: Decimal) -> VarianceRow:
    volume_variance = None if forecast_volume is None else actual_volume - forecast_volume
    revenue_variance = None if forecast_revenue is None else fen(actual_revenue - forecast_revenue)
    return VarianceRow(
        charge_code=code,
        forecast_volume=forecast_volume,
        actual_volume=actual_volume,
        volume_variance=volume_variance,
        volume_variance_pct=None if volume_variance is None else _pct(volume_variance, forecast_volume or 0),
        forecast_revenue=forecast_revenue,
        actual_revenue=fen(actual_revenue),
        revenue_variance=revenue_variance,
        revenue_variance_pct=(None if revenue_variance is None
                              else _pct(revenue_variance, forecast_revenue or 0)),
    )


def variance_report(forecast: CostBenefitReport | EquipmentProposal, actuals: Sequence[ActualRow], *,
                    code_shares: Mapping[str, Decimal] | None = None,
                    months: int | None = None) -> VarianceReport:
    """Compare actual volume and revenue with the pro-rated forecast, per charge code and in total.

    ``code_shares`` splits the forecast between charge codes (fractions summing to 1). ``months``
    overrides the months derived from the actual periods, for a review whose period had months with no
    charges at all (those months still count against the forecast).
    """
    proposal = forecast.proposal if isinstance(forecast, CostBenefitReport) else forecast
    yearly_volume = Decimal(annual_volume(proposal))
    yearly_revenue = annual_revenue(proposal)
    periods = tuple(sorted({a.period for a in actuals}))
    covered = months if months is not None else months_covered(periods)
    if covered <= 0:
        raise ValueError("the review must cover at least one month")
    fraction = Decimal(covered) / 12
    total_forecast_volume = (yearly_volume * fraction).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    total_forecast_revenue = fen(yearly_revenue * fraction)

    if code_shares is None and len(proposal.charge_codes) == 1:
        code_shares = {proposal.charge_codes[0]: Decimal(1)}
    if code_shares is not None and sum(code_shares.values(), Decimal(0)) != 1:
        raise ValueError("charge code shares must add up to 1")

    codes = list(dict.fromkeys([*proposal.charge_codes, *(code_shares or {}),
                                *(a.charge_code for a in actuals)]))
    rows = []
    for code in codes:
        volume = sum((a.volume for a in actuals if a.charge_code == code), Decimal(0))
        revenue = sum((a.revenue for a in actuals if a.charge_code == code), Decimal(0))
        share = None if code_shares is None else code_shares.get(code, Decimal(0))
        rows.append(_row(
            code,
            None if share is None else (total_forecast_volume * share).quantize(Decimal(1), ROUND_HALF_UP),
            volume,
            None if share is None else fen(total_forecast_revenue * share),
            revenue,
        ))
    total = _row(TOTAL, total_forecast_volume, sum((r.actual_volume for r in rows), Decimal(0)),
                 total_forecast_revenue, sum((r.actual_revenue for r in rows), Decimal(0)))
    summary_zh, summary_en = _summaries(proposal, periods, covered, total)
    return VarianceReport(covered, periods, tuple(rows), total, summary_zh, summary_en)


def _signed_pct(fraction: Decimal | None) -> str:
    if fraction is None:
        return "—"
    return f"{(fraction * 100).quantize(Decimal('0.01'), ROUND_HALF_UP):+}%"


def _summaries(proposal: EquipmentProposal, periods: tuple[str, ...], months: int,
               total: VarianceRow) -> tuple[str, str]:
    span = f"{periods[0]}–{periods[-1]}" if periods else "—"
    revenue_variance = total.revenue_variance or Decimal(0)
    direction_zh = "高于" if revenue_variance > 0 else "低于" if revenue_variance < 0 else "等于"
    direction_en = "above" if revenue_variance > 0 else "below" if revenue_variance < 0 else "on"
    zh = (f"{proposal.device_name} 购置后评价（{span}，{months} 个月）：实际检查 {total.actual_volume:,} 例，"
          f"预测 {total.forecast_volume:,} 例（{_signed_pct(total.volume_variance_pct)}）；"
          f"实际收入 ¥{total.actual_revenue:,.2f}，{direction_zh}预测 ¥{total.forecast_revenue:,.2f}"
          f"（差额 ¥{revenue_variance:,.2f}，{_signed_pct(total.revenue_variance_pct)}）。")
    en = (f"{proposal.device_name} post-purchase review ({span}, {months} months): "
          f"{total.actual_volume:,} exams against {total.forecast_volume:,} forecast "
          f"({_signed_pct(total.volume_variance_pct)}); revenue ¥{total.actual_revenue:,.2f}, "
          f"{direction_en} the forecast ¥{total.forecast_revenue:,.2f} "
          f"(variance ¥{revenue_variance:,.2f}, {_signed_pct(total.revenue_variance_pct)}).")
    return zh, en
