"""Monthly budget execution monitor: the figures as Prefect artifacts, and a one-page report for the
finance director (self-contained HTML with inline SVG charts: opens in any browser, offline, printable).
"""

from __future__ import annotations

import html
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from smartfin.app.exports import execution_report_xlsx
from smartfin.kernel.charts import AMBER, GREEN, GREY, PAGE_STYLE, RED
from smartfin.kernel.clock import hospital_today
from smartfin.kernel.settings import get_settings
from smartfin.kernel.spreadsheet import SpreadsheetFormat, write_export
from smartfin.ledger.monitor import (
    BALANCE_TARGET,
    LOW_EXECUTION,
    NO_BUDGET,
    RATES,
    ExecutionReport,
    execution_report,
    rate_or_reason,
)
from smartfin.store.db import session_scope


def last_month_end(today: date | None = None) -> date:
    """The monitor runs on the 1st and reports the month just closed."""
    today = today or hospital_today()
    return today.replace(day=1) - timedelta(days=1)


def _pct(value: Decimal | str) -> str:
    """A rate as people read it; ``rate_or_reason`` gives the words when there is no rate."""
    return value if isinstance(value, str) else f"{value}%"


def _yuan(value: Decimal) -> str:
    return f"¥{value:,.2f}"


def _colour(row: Any) -> str:
    if row["execution_rate"] is None:
        return GREY
    if row["under_40"]:
        return RED
    return AMBER if row["behind"] else GREEN


def bar_chart(frame: pd.DataFrame, label: str, progress: Decimal, title: str) -> str:
    """Horizontal bars of execution rate per row, with the 序时进度 line across them."""
    if frame.empty:
        return ""
    width, left, bar_h, gap = 760, 230, 22, 10
    plot = width - left - 70
    height = 40 + len(frame) * (bar_h + gap) + 30
    x = lambda pct: left + plot * float(min(max(pct, 0), 120)) / 120  # noqa: E731
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{html.escape(title)}">',
             f'<text x="0" y="18" font-size="15" font-weight="bold">{html.escape(title)}</text>']
    for i, row in enumerate(frame.to_dict("records")):
        y = 36 + i * (bar_h + gap)
        rate = row["execution_rate"]
        parts.append(f'<text x="{left - 8}" y="{y + 16}" font-size="13" text-anchor="end">'
                     f'{html.escape(str(row[label]))}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{plot}" height="{bar_h}" fill="#f1f1f1"/>')
        if rate is not None:
            parts.append(f'<rect x="{left}" y="{y}" width="{x(rate) - left:.1f}" height="{bar_h}" '
                         f'fill="{_colour(row)}"/>')
        parts.append(f'<text x="{x(rate or 0) + 6:.1f}" y="{y + 16}" font-size="12">'
                     f'{html.escape(_pct(rate_or_reason(row, "execution_rate")))}</text>')
    line_x = x(progress)
    parts.append(f'<line x1="{line_x:.1f}" y1="30" x2="{line_x:.1f}" y2="{height - 22}" stroke="#1565c0" '
                 f'stroke-width="2" stroke-dasharray="6 4"/>')
    parts.append(f'<text x="{line_x:.1f}" y="{height - 6}" font-size="12" fill="#1565c0" text-anchor="middle">'
                 f'序时进度 time elapsed {progress}%</text>')
    low = x(LOW_EXECUTION)
    parts.append(f'<line x1="{low:.1f}" y1="30" x2="{low:.1f}" y2="{height - 22}" stroke="{RED}" '
                 f'stroke-width="1" stroke-dasharray="2 3"/>')
    parts.append("</svg>")
    return "".join(parts)


def _table(frame: pd.DataFrame, columns: list[tuple[str, str]]) -> str:
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in columns)
    body = []
    for row in frame.to_dict("records"):
        cells = []
        for key, _ in columns:
            value = row[key]
            text = (_yuan(value) if isinstance(value, Decimal) and key not in (*RATES, "progress")
                    else html.escape(_pct(rate_or_reason(row, key))) if key in RATES
                    else html.escape(str(value)))
            cells.append(f"<td>{text}</td>")
        body.append(f'<tr style="color:{_colour(row)}">' + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


LINE_COLUMNS = [("line", "预算项目 Budget line"), ("department_name", "科室 Department"), ("name", "名称 Name"),
                ("authorised", "预算数 Budget"),
                ("actual", "执行数 Spent"), ("execution_rate", "执行率 Execution"), ("gap", "与序时进度差 vs time"),
                ("projected_balance_rate", "预计年末结余率 Projected balance")]


def render_report(report: ExecutionReport) -> str:
    """The director's one page: headline figures, charts per department and project, the lists to act on."""
    t = report.total
    execution = t["execution_rate"]
    verdict = (f"{NO_BUDGET}: 截至 {report.as_of} 没有生效的预算 none in effect as of {report.as_of}"
               if execution is None else "执行正常 On track" if not t["behind"] else
               f"执行滞后 {abs(t['gap'] or 0)} 个百分点 Behind time by {abs(t['gap'] or 0)} points")
    cards = [("预算总额 Total budget", _yuan(t["authorised"])), ("已执行 Spent", _yuan(t["actual"])),
             ("执行率 Execution rate", _pct(rate_or_reason(t, "execution_rate"))),
             ("序时进度 Time elapsed", _pct(report.progress)),
             ("预计年末结余率 Projected year-end balance", f"{_pct(rate_or_reason(t, 'projected_balance_rate'))} "
              f"(目标 target ≤ {BALANCE_TARGET}%)")]
    card_html = "".join(f'<div class="card"><div class="k">{html.escape(k)}</div><div class="v">{html.escape(v)}'
                        f"</div></div>" for k, v in cards)
    low = report.low_lines
    balance = report.lines[report.lines["balance_over_target"]]
    sections = [
        f"<h2>结论 Summary</h2><p class='verdict' style='color:{AMBER if t['behind'] else GREEN}'>"
        f"{html.escape(verdict)}</p>"
        f"<p>{len(report.behind_lines)} 个预算项目执行慢于序时进度 lines behind time; {len(low)} 个低于 "
        f"{LOW_EXECUTION}% lines under {LOW_EXECUTION}%; {len(balance)} 个预计年末结余率超过 {BALANCE_TARGET}% "
        f"lines heading for a balance above target.</p>",
        "<p class='legend'><span style='color:" + GREEN + "'>■ 正常 on track</span> "
        "<span style='color:" + AMBER + "'>■ 慢于序时进度 behind time</span> "
        "<span style='color:" + RED + f"'>■ 低于 {LOW_EXECUTION}% under {LOW_EXECUTION}%</span> "
        "<span style='color:#1565c0'>┆ 序时进度 time elapsed</span></p>",
        bar_chart(report.departments, "department_name", report.progress, "各科室执行率 Execution by department"),
        bar_chart(report.projects, "project", report.progress, "各项目执行率 Execution by project"),
        f"<h2>执行率低于 {LOW_EXECUTION}% 的预算项目 Lines under {LOW_EXECUTION}%</h2>"
        + (_table(low, LINE_COLUMNS) if len(low) else "<p>无 None.</p>"),
        "<h2>全部预算项目 All lines</h2>" + _table(report.lines, LINE_COLUMNS),
    ]
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>预算执行情况 Budget execution {report.fiscal_year} · {report.as_of}</title>
<style>{PAGE_STYLE}</style></head><body>
<h1>{report.fiscal_year} 年预算执行情况 Budget execution — 截至 as of {report.as_of}</h1>
<div class="cards">{card_html}</div>
{''.join(sections)}
<p style="color:#888;font-size:.8em">执行率 = 执行数 / (预算 + 调整)；序时进度 = 已过月数 / 12；
预计年末结余率按当前执行速度推算。Execution rate = spent / (budget + adjustments); time elapsed = elapsed
months / 12; the projected balance assumes the pace so far continues.</p>
</body></html>
"""


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for a table artifact: amounts as exact strings, a missing rate as the words saying why."""
    return [{k: (str(rate_or_reason(row, k)) if k in RATES else str(v) if isinstance(v, Decimal) else v)
             for k, v in row.items()} for row in frame.to_dict("records")]


@task(name="compute-budget-execution", retries=1, retry_delay_seconds=30, timeout_seconds=600)
def compute(fiscal_year: int, as_of: date) -> ExecutionReport:
    with session_scope() as session:
        return execution_report(session, fiscal_year, as_of)


@flow(name="budget-execution-monitor", log_prints=True, timeout_seconds=1800)
def budget_execution_monitor(as_of: date | None = None, fiscal_year: int | None = None) -> dict[str, Any]:
    """Execution vs time elapsed per line, department and project; the report written under var/reports/."""
    day = as_of or last_month_end()
    year = fiscal_year or day.year
    report = compute(year, day)
    folder = get_settings().flows.reports_root
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"budget-execution-{year}-{day:%m-%d}.html"
    path.write_text(render_report(report), encoding="utf-8")
    workbook = path.with_suffix(".xlsx")  # the same figures for finance to work on in Excel; a re-run replaces it
    write_export(workbook, execution_report_xlsx(report), SpreadsheetFormat.XLSX, replace=True)
    keep = ["line", "name", "authorised", "actual", "execution_rate", "progress", "gap", "projected_balance_rate"]
    if len(report.low_lines):
        create_table_artifact(_records(report.low_lines[keep]), key="budget-lines-under-40",
                              description=f"执行率低于 40% 的预算项目 Lines under 40% ({day})")
    create_table_artifact(_records(report.departments), key="budget-execution-by-department",
                          description=f"各科室预算执行 Execution by department ({day})")
    t = report.total
    create_markdown_artifact(
        f"# 预算执行 Budget execution {year} · {day}\n\n| | |\n|---|---:|\n"
        f"| 预算总额 Total budget | {_yuan(t['authorised'])} |\n| 已执行 Spent | {_yuan(t['actual'])} |\n"
        f"| 执行率 Execution rate | {_pct(rate_or_reason(t, 'execution_rate'))} |\n"
        f"| 序时进度 Time elapsed | {_pct(report.progress)} |\n"
        f"| 预计年末结余率 Projected balance rate (target ≤ {BALANCE_TARGET}%) | "
        f"{_pct(rate_or_reason(t, 'projected_balance_rate'))} |\n"
        f"| 低于 40% 的项目 Lines under 40% | {len(report.low_lines)} |\n\n报告 Report: `{path}`; "
        f"Excel: `{workbook}`",
        key="budget-execution-summary")
    create_link_artifact(path.resolve().as_uri(), link_text="预算执行报告 Budget execution report",
                         key="budget-execution-report")
    create_link_artifact(workbook.resolve().as_uri(), link_text="预算执行表 Budget execution workbook (Excel)",
                         key="budget-execution-workbook")
    get_run_logger().info("budget execution %s as of %s: %s vs %s elapsed; report %s", year, day,
                          _pct(rate_or_reason(t, "execution_rate")), _pct(report.progress), path)
    return {"report": str(path), "workbook": str(workbook),
            "execution_rate": str(rate_or_reason(t, "execution_rate")),
            "progress": str(report.progress),
            "lines_under_40": len(report.low_lines), "lines_behind": len(report.behind_lines)}


LAPSE_ACTOR = "flow:budget-lapse"


@task(name="lapse-reservations", retries=1, retry_delay_seconds=30, timeout_seconds=600)
def lapse_task(as_of: date) -> list[dict[str, str]]:
    from smartfin.app.budget_commands import lapse_reservations

    return [{"document_no": x.document_no, "line": x.line, "released": str(x.amount), "rule": x.rule}
            for x in lapse_reservations(as_of, actor=LAPSE_ACTOR)]


@flow(name="budget-lapse", log_prints=True, timeout_seconds=1800)
def budget_lapse(as_of: date | None = None) -> dict[str, Any]:
    """Every morning: the reservations of approved requests past their validity or their fiscal year go back to
    their lines (the same ``lapse_reservations`` as ``smartfin budget lapse``; a second run releases nothing)."""
    day = as_of or hospital_today()
    lapsed = lapse_task(day)
    released = sum((Decimal(x["released"]) for x in lapsed), Decimal("0.00"))
    get_run_logger().info("%d reservation(s) lapsed on %s, %s released", len(lapsed), day, _yuan(released))
    if lapsed:
        create_table_artifact(lapsed, key="budget-lapsed", description=f"失效释放的预占 Lapsed reservations ({day})")
    return {"as_of": day.isoformat(), "lapsed": lapsed, "released": str(released)}
