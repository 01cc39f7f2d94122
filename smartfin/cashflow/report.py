"""The forecast and the backtest as a finance director reads them: one HTML page (offline, printable, with the
chart of weekly closing balances against the minimum, or forecast against actual) and an Excel workbook."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from smartfin.cashflow.backtest import Backtest
from smartfin.cashflow.model import CATEGORIES, CATEGORY_NAMES, WEEKS
from smartfin.cashflow.tables import CashForecastRun
from smartfin.kernel.charts import BLUE, GREEN, SERIES, cards, esc, page, series_chart
from smartfin.kernel.money import from_fen
from smartfin.kernel.spreadsheet import CellValue, Percent, Sheet, TitledSheet, xlsx_bytes


def _yuan_text(fen: int) -> str:
    return f"¥{from_fen(fen):,.2f}"


def _week_label(start: str) -> str:
    return start[5:]


def forecast_html(runs: Sequence[CashForecastRun]) -> str:
    """The base run and its scenarios of one day: headline, chart, weekly table, drivers of each breach."""
    if not runs:
        raise ValueError("no forecast run to report")
    base = runs[0]
    labels = [_week_label(w["start"]) for w in base.weeks]
    colours = (BLUE, *SERIES[4:], *SERIES[2:4])
    series = [(run.scenario, colours[i % len(colours)], [from_fen(w["closingFen"]) for w in run.weeks])
              for i, run in enumerate(runs)]
    body = [cards([("预测日 As of", base.as_of.isoformat()), ("期初余额 Opening", _yuan_text(base.opening_fen)),
                   ("最低余额 Minimum", _yuan_text(base.minimum_fen)),
                   *[(f"{run.scenario}: 首次低于最低 first breach",
                      f"{run.breach_start}–{run.breach_end} {_yuan_text(run.breach_closing_fen or 0)}"
                      if run.breach_start else "无 none") for run in runs]]),
            series_chart(labels, series, "13 周期末余额 Weekly closing balance (yuan)",
                         threshold=(from_fen(base.minimum_fen), "最低余额 minimum"))]
    for run in runs:
        body.append(f"<h2>{esc(run.scenario)}</h2>")
        if run.warnings:
            body.append("".join(f"<p>⚠ {esc(w)}</p>" for w in run.warnings))
        head = "".join(f"<th>{esc(CATEGORY_NAMES[c])}</th>" for c in CATEGORIES)
        rows = []
        for w in run.weeks:
            cells = "".join(f"<td>{from_fen(w['byCategory'].get(c, 0)):,.0f}</td>" for c in CATEGORIES)
            style = ' style="color:#c62828;font-weight:bold"' if w["closingFen"] < run.minimum_fen else ""
            rows.append(f"<tr{style}><td>{esc(w['start'])}</td><td>{esc(w['end'])}</td>"
                        f"<td>{from_fen(w['openingFen']):,.0f}</td>{cells}<td>{from_fen(w['closingFen']):,.0f}</td></tr>")
        body.append(f"<table><tr><th>周起 Week from</th><th>至 to</th><th>期初 Opening</th>{head}"
                    f"<th>期末 Closing</th></tr>{''.join(rows)}</table>")
        if run.drivers:
            items = "".join(f"<tr><td>{esc(d['day'])}</td><td>{esc(CATEGORY_NAMES.get(d['category'], d['category']))}"
                            f"</td><td>{from_fen(d['amountFen']):,.2f}</td><td>{esc(d['driver'])}</td></tr>"
                            for d in run.drivers)
            body.append(f"<h3>主要驱动项 Driver items up to the breach</h3><table><tr><th>日期 Day</th><th>类别 "
                        f"Category</th><th>金额 Amount</th><th>项目 Item</th></tr>{items}</table>")
    return page(f"资金预测 {base.as_of}", f"资金预测 13-week cash forecast — {base.as_of}", "".join(body))


FORECAST_HEADER = ("周起 From", "至 To", "期初余额 Opening", *[CATEGORY_NAMES[c] for c in CATEGORIES],
                   "期末余额 Closing", "低于最低余额 Below minimum")
DRIVER_HEADER = ("日期 Day", "类别 Category", "金额 Amount", "项目 Item")


def forecast_workbook(runs: Sequence[CashForecastRun]) -> bytes:
    """The 13-week forecast as finance prints it: per run (base first, then each scenario) a sheet of weeks,
    one of days and one of the driver items, each titled with the scenario, the as-of day, the opening and
    minimum balances and 单位：元 above a frozen header; amounts exact in yuan."""
    sheets: list[Sheet] = []
    for i, run in enumerate(runs):
        notes = [f"情景 scenario {run.scenario}；预测日 as of {run.as_of.isoformat()}",
                 f"期初余额 opening {from_fen(run.opening_fen):,.2f}；"
                 f"最低余额 minimum {from_fen(run.minimum_fen):,.2f}"]
        for what, title, periods in (("周 weeks", "资金预测（13 周）13-week cash forecast", run.weeks),
                                     ("日 days", "资金预测（逐日）Daily cash forecast", run.days)):
            rows: list[list[CellValue]] = [
                [date.fromisoformat(p["start"]), date.fromisoformat(p["end"]), from_fen(p["openingFen"]),
                 *[from_fen(p["byCategory"].get(c, 0)) for c in CATEGORIES], from_fen(p["closingFen"]),
                 "是 yes" if p["closingFen"] < run.minimum_fen else "否 no"] for p in periods]
            sheets.append(TitledSheet(f"{i + 1} {run.scenario}"[:19] + f" {what}", title, FORECAST_HEADER, rows,
                                      notes))
        sheets.append(TitledSheet(
            f"{i + 1} {run.scenario}"[:19] + " 驱动 drivers", "首次低于最低余额前的主要驱动项 Drivers up to the breach",
            DRIVER_HEADER, [[date.fromisoformat(d["day"]), CATEGORY_NAMES.get(d["category"], d["category"]),
                             from_fen(d["amountFen"]), d["driver"]] for d in run.drivers], notes))
    return xlsx_bytes(sheets)


def backtest_html(result: Backtest, title: str = "资金预测回测 Cash forecast backtest") -> str:
    """MAPE per horizon, and the forecast against the actual closing balance 4 weeks ahead of each origin."""
    labels = [(o.origin + timedelta(days=28)).isoformat() for o in result.origins]
    chart = series_chart(labels, [("预测 forecast (4 weeks ahead)", BLUE, [from_fen(o.forecast_fen[3])
                                                                          for o in result.origins]),
                                  ("实际 actual", GREEN, [from_fen(o.actual_fen[3]) for o in result.origins])],
                         "第 4 周期末余额：预测与实际 Closing balance 4 weeks ahead: forecast and actual")
    rows = "".join(f"<tr><td>{h}</td><td>{m}%</td></tr>" for h, m in enumerate(result.mape, start=1))
    body = (cards([("预测起点 Origins", str(len(result.origins))), ("MAPE 4 周 4 weeks", f"{result.at(4)}%"),
                   ("MAPE 13 周 13 weeks", f"{result.at(WEEKS)}%")])
            + chart + f"<h2>按预测期 By horizon</h2><table><tr><th>周 Weeks ahead</th><th>MAPE</th></tr>{rows}</table>")
    return page(title, title, body)


def backtest_workbook(result: Backtest) -> bytes:
    """MAPE per horizon and every origin's forecast and actual closing balance per week."""
    mape: list[list[CellValue]] = [[h, Percent(m)] for h, m in enumerate(result.mape, start=1)]
    detail: list[list[CellValue]] = []
    for o in result.origins:
        for h in range(1, WEEKS + 1):
            detail.append([o.origin, h, from_fen(o.forecast_fen[h - 1]), from_fen(o.actual_fen[h - 1]),
                           Percent(o.error_pct(h).quantize(Decimal("0.01")))])
    notes = [f"{len(result.origins)} 个预测起点 forecast origins"]
    return xlsx_bytes([
        TitledSheet("MAPE", "资金预测回测误差 Forecast error by horizon", ["预测期（周）Weeks ahead", "MAPE"], mape,
                    notes, unit=None),
        TitledSheet("起点 Origins", "资金预测回测明细 Forecast and actual closing balance",
                    ["预测起点 Origin", "预测期（周）Weeks ahead", "预测 Forecast", "实际 Actual", "误差 Error"],
                    detail, notes)])
