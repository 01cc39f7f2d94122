"""Monthly cost accounting (成本核算月结): the month just closed worked out, published, watched and reported.

One flow run per month, one task per stage, in the order finance works: load the month's inputs (the
ledger's actuals and the imports) → compute the costs and store them in one transaction (a failure
publishes nothing) → find the indicators off target → open a ``cost-review`` for each breaching
department → write one page per clinical department and the month's workbook under
``var/reports/cost/<month>/`` → the headline table as Prefect artifacts. A failing stage fails the run
with the stage's name in the message, so the finance officer knows whether nothing was published (inputs,
compute) or only the follow-up is missing. A re-run of the month replaces its stored result (``run_month``)
and its reports; reviews already open for the month are not opened twice (``open_cost_reviews`` is
idempotent per month, centre and indicator).
"""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, TypeVar

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from smartfin.costing.model import Breach, Centre, IndicatorDefinition, MonthInputs, MonthResult, Service
from smartfin.costing.report import (
    UNIT_LABELS,
    decimal_or_none,
    department_report_html,
    indicator_text,
    month_workbook,
    yuan,
)
from smartfin.kernel.clock import hospital_today, month_days, shift_month
from smartfin.kernel.money import CENT, from_fen
from smartfin.kernel.settings import get_settings
from smartfin.kernel.spreadsheet import SpreadsheetFormat, write_export
from smartfin.ledger.departments import CLASS_LABELS, DepartmentClass
from smartfin.store.db import session_scope

FLOW_NAME = "cost-monthly"
ACTOR = "flow:cost-monthly"
_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9_.-]")
T = TypeVar("T")


class CostMonthFailed(RuntimeError):
    """A stage of the monthly cost run failed; ``stage`` names it, the message says why."""

    def __init__(self, month: str, stage: str, cause: BaseException) -> None:
        self.month = month
        self.stage = stage
        super().__init__(f"成本月结 {month} 在“{stage}”步骤失败 / cost month {month} failed at stage {stage!r}: "
                         f"{type(cause).__name__}: {cause}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Prefect may persist the failure; rebuilt from its message, it keeps the stage and the month
        return (_rebuild_failure, (self.month, self.stage, str(self)))


def _rebuild_failure(month: str, stage: str, message: str) -> CostMonthFailed:
    failure = CostMonthFailed.__new__(CostMonthFailed)
    RuntimeError.__init__(failure, message)
    failure.month, failure.stage = month, stage
    return failure


def last_closed_month(today: date | None = None) -> str:
    """The flow runs early in a month and works out the month just closed."""
    day = (today or hospital_today()).replace(day=1) - timedelta(days=1)
    return f"{day:%Y-%m}"


def parse_month(value: str) -> str:
    """``YYYY-MM`` as given on the command line or as a flow parameter; ``ValueError`` naming it otherwise."""
    text = value.strip()
    month_days(text)
    return text


def month_end(month: str) -> date:
    """The month's last day: the date the month's dated definitions are read on."""
    return month_days(month)[1]


def report_folder(month: str) -> Path:
    """Where a month's cost reports live: ``<reports>/cost/<month>/``."""
    return get_settings().flows.reports_root / "cost" / month


def report_file_name(centre: str) -> str:
    """A department's page: its code, made safe as a file name."""
    return f"{_UNSAFE_FILE_CHARS.sub('_', centre)}.html"


@dataclass(frozen=True)
class InputsSummary:
    """What the load stage found: the month's cost centres and how many rows of each input."""

    month: str
    centres: tuple[Centre, ...]
    rows: dict[str, int]


@dataclass(frozen=True)
class CostReports:
    """The files one run wrote, all in ``folder``."""

    folder: Path
    workbook: Path
    pages: dict[str, Path] = field(default_factory=dict)   # centre code → page


def summarise_inputs(inputs: MonthInputs) -> InputsSummary:
    """The inputs without their frames: the flow carries names and counts between stages, not a million lines."""
    frames = ("direct", "shared", "drivers", "revenue", "workload", "charges", "items", "cases")
    return InputsSummary(inputs.month, tuple(inputs.centres), {name: len(getattr(inputs, name)) for name in frames})


# ------------------------------------------------------------------------------------------------ stages
# The month's run, its stored results and the reviews live in smartfin.costing.month, .indicators and
# smartfin.processes.costreview; they are imported where used so that the flows module (and the list of
# scheduled flows) loads without the database or the engine.

@task(name="load-cost-inputs", cache_policy=NO_CACHE, timeout_seconds=1800)
def load_month_inputs(month: str) -> InputsSummary:
    """Read the month's inputs as the computation will see them; a missing or unusable input fails here."""
    from smartfin.costing.month import load_inputs

    with session_scope() as session:
        inputs = load_inputs(session, month)
    summary = summarise_inputs(inputs)
    get_run_logger().info("cost month %s: %d centres; %s", month, len(summary.centres),
                          ", ".join(f"{k} {v}" for k, v in summary.rows.items()))
    return summary


@task(name="compute-and-store-cost-month", cache_policy=NO_CACHE, timeout_seconds=3600)
def compute_and_store(month: str, actor: str) -> Any:
    """Work the month out and store every result in one transaction, replacing an earlier run of the month.

    A refused month (its run is stored as failed, with every reason, and nothing is published) fails this
    stage with those reasons, so the flow never goes on to breaches or reports of a month that is not there.
    """
    from smartfin.costing.month import run_month

    summary = run_month(month, actor=actor)
    if not summary.ok:
        reasons = "; ".join(f"{where}: {what}" for where, what in summary.problems) or summary.reason
        raise ValueError(f"the month was not published (run {summary.run_id}): {reasons}")
    return summary


@task(name="find-cost-breaches", cache_policy=NO_CACHE, timeout_seconds=600)
def find_breaches(month: str) -> list[Breach]:
    """Each department's indicator on the wrong side of its target this month, and each accepted review
    whose measure fell due without improving its indicator (the follow-up is recorded on the review, and the
    breach re-opens it with its history)."""
    from smartfin.costing.month import breaches, stored_indicators
    from smartfin.processes.costreview.reviews import review_follow_up

    with session_scope() as session:
        found = list(breaches(session, month))
        seen = {(b.centre, b.indicator) for b in found}
        for follow in review_follow_up(session, month, stored_indicators(session, month)):
            if follow.breach is not None and (follow.centre, follow.indicator) not in seen:
                found.append(follow.breach)
                seen.add((follow.centre, follow.indicator))
        return found


@task(name="open-cost-reviews", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[30, 120],
      timeout_seconds=900)
def open_review_processes(month: str, found: list[Breach]) -> list[str]:
    """A ``cost-review`` for the head of each breaching department; once per month, centre and indicator."""
    from smartfin.camunda.client import EngineClient
    from smartfin.costing.month import stored_result
    from smartfin.processes.costreview.reviews import open_cost_reviews

    if not found:
        return []
    with session_scope() as session:  # the head sees the centre's cost structure in the task
        result = stored_result(session, month)
    return list(open_cost_reviews(month, found, engine=EngineClient.from_settings(), result=result))


def _definitions(month: str) -> list[IndicatorDefinition]:
    from smartfin.costing.indicators import load_definitions

    return list(load_definitions(month_end(month)))


@task(name="write-cost-reports", cache_policy=NO_CACHE, timeout_seconds=1800)
def write_reports(month: str, centres: tuple[Centre, ...], found: list[Breach]) -> CostReports:
    """One page per clinical department and the month's workbook, replacing the month's earlier reports
    as a whole: written into a fresh folder that then takes the month's place, so a reader never sees
    a mix of two runs and a department dropped since the last run leaves no stale page behind."""
    from smartfin.costing.month import department_budgets, history, stored_indicators, stored_result

    definitions = _definitions(month)
    clinical = [c for c in centres if c.cost_class is DepartmentClass.CLINICAL]
    with session_scope() as session:
        result = stored_result(session, month)
        if result is None:
            raise LookupError(f"no stored cost result for {month}: the compute stage has not published it")
        indicators = stored_indicators(session, month)
        last_year = stored_indicators(session, shift_month(month, -12))
        histories = {c.code: history(session, c.code, until=month, months=12) for c in clinical}
        budgets = department_budgets(session, month)
    folder = report_folder(month)
    folder.parent.mkdir(parents=True, exist_ok=True)
    fresh = folder.with_name(f".{month}.{secrets.token_hex(6)}.partial")
    fresh.mkdir()
    try:
        workbook = write_export(fresh / f"cost-{month}.xlsx",
                                month_workbook(month, result, indicators, definitions, centres=centres,
                                               breaches=found), SpreadsheetFormat.XLSX)
        pages = {}
        for centre in clinical:
            path = fresh / report_file_name(centre.code)
            path.write_text(department_report_html(month, centre, result, indicators, definitions,
                                                   histories[centre.code], centres, last_year=last_year,
                                                   breaches=found, annual_budget_fen=budgets.get(centre.code)),
                            encoding="utf-8")
            pages[centre.code] = path
        _replace_folder(folder, fresh)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    return CostReports(folder, folder / workbook.name, {code: folder / p.name for code, p in pages.items()})


def _replace_folder(folder: Path, fresh: Path) -> None:
    """``fresh`` takes ``folder``'s name; the old folder, if any, is moved aside first and then removed."""
    old = folder.with_name(f".{folder.name}.{secrets.token_hex(6)}.old") if folder.exists() else None
    if old is not None:
        folder.rename(old)
    try:
        fresh.rename(folder)
    except BaseException:
        if old is not None:
            old.rename(folder)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------------------------- headline

def headline(result: MonthResult, centres: Sequence[Centre]) -> dict[str, Any]:
    """The month in a few figures: total cost, direct cost per class, hospital cost per visit and bed-day."""
    classes = {c.code: c.cost_class for c in centres}
    costs = result.centre_costs
    total = int(costs["total_fen"].sum()) if len(costs) else 0
    by_class: dict[str, int] = {cls.value: 0 for cls in DepartmentClass}
    for row in costs.to_dict("records"):
        cls = classes.get(str(row["centre"]))
        if cls is not None:
            by_class[cls.value] += int(row["direct_fen"])
    units: dict[str, tuple[int, Decimal]] = {}
    for row in result.unit_costs.to_dict("records"):
        count = decimal_or_none(row["units"])
        if count is None:
            continue
        fen, so_far = units.get(str(row["service"]), (0, Decimal(0)))
        units[str(row["service"])] = (fen + int(row["total_fen"]), so_far + count)
    per_unit = {service: ((from_fen(fen) / count).quantize(CENT, ROUND_HALF_UP) if count else None)
                for service, (fen, count) in units.items()}
    return {"total_fen": total, "direct_by_class_fen": by_class, "unit_cost": per_unit}


def _headline_markdown(month: str, head: dict[str, Any], found: list[Breach], reviews: list[str],
                       reports: CostReports | None) -> str:
    lines = [f"# 成本核算 Cost accounting {month}", "", "| | |", "|---|---:|",
             f"| 医院总成本 Total cost | {yuan(head['total_fen'])} |"]
    lines += [f"| 直接成本 Direct cost: {CLASS_LABELS[DepartmentClass(cls)]} | {yuan(fen)} |"
              for cls, fen in head["direct_by_class_fen"].items()]
    for service in (Service.OUTPATIENT, Service.INPATIENT):
        if service.value in head["unit_cost"]:
            value = head["unit_cost"][service.value]
            lines.append(f"| 全院{UNIT_LABELS[service]} (hospital) | {indicator_text(value, 'yuan')} |")
    lines.append(f"| 超标指标 Indicators off target | {len(found)} |")
    lines.append(f"| 成本分析整改 Cost reviews opened or open | {len(reviews)} |")
    if found:
        lines += ["", "## 超标 Off target", "", "| 科室 Department | 指标 Indicator | 本月 Value | 目标 Target | "
                  "去年同月 Last year |", "|---|---|---:|---:|---:|"]
        lines += [f"| {b.centre_name} ({b.centre}) | {b.indicator_name} | {b.value} | {b.target} | "
                  f"{'无数据 no data' if b.last_year is None else b.last_year} |" for b in found]
    if reports is not None:
        lines += ["", f"报告 Reports: `{reports.folder}` ({len(reports.pages)} 个科室 departments); "
                      f"Excel: `{reports.workbook}`"]
    return "\n".join(lines)


def _or_no_data(value: Decimal | None) -> str:
    return "无数据 no data" if value is None else str(value)


def _unit_cost_rows(result: MonthResult, centres: Sequence[Centre]) -> list[dict[str, str]]:
    names = {c.code: c.name for c in centres}
    return [{"科室 centre": str(r["centre"]), "名称 name": names.get(str(r["centre"]), ""),
             "成本对象 cost object": UNIT_LABELS.get(str(r["service"]), str(r["service"])),
             "成本 cost": str(from_fen(int(r["total_fen"]))), "服务量 units": _or_no_data(decimal_or_none(r["units"])),
             "单位成本 unit cost": _or_no_data(decimal_or_none(r["unit_cost"]))}
            for r in result.unit_costs.to_dict("records")]


@task(name="publish-cost-artifacts", cache_policy=NO_CACHE, timeout_seconds=600)
def publish(month: str, centres: tuple[Centre, ...], found: list[Breach], reviews: list[str],
            reports: CostReports) -> dict[str, Any]:
    """The headline table, the unit costs and the breaches as Prefect artifacts, with links to the reports."""
    from smartfin.costing.month import stored_result

    with session_scope() as session:
        result = stored_result(session, month)
    if result is None:
        raise LookupError(f"no stored cost result for {month}")
    head = headline(result, centres)
    create_markdown_artifact(_headline_markdown(month, head, found, reviews, reports), key="cost-monthly-summary",
                             description=f"成本核算 Cost accounting {month}")
    create_table_artifact(_unit_cost_rows(result, centres), key="cost-unit-costs",
                          description=f"诊次与床日成本 Cost per visit and bed-day ({month})")
    if found:
        create_table_artifact([{"科室 centre": b.centre, "名称 name": b.centre_name, "指标 indicator": b.indicator_name,
                                "本月 value": str(b.value), "目标 target": str(b.target),
                                "去年同月 last year": "无数据 no data" if b.last_year is None else str(b.last_year)}
                               for b in found], key="cost-breaches", description=f"超标指标 Off target ({month})")
    create_link_artifact(reports.workbook.resolve().as_uri(), link_text=f"成本核算表 Cost workbook {month} (Excel)",
                         key="cost-monthly-workbook")
    create_link_artifact(reports.folder.resolve().as_uri(), link_text=f"科室成本报告 Department cost reports {month}",
                         key="cost-monthly-reports")
    return head


def _stage(month: str, name: str, call: Callable[..., T], *args: Any) -> T:
    try:
        return call(*args)
    except Exception as exc:
        raise CostMonthFailed(month, name, exc) from exc


@flow(name=FLOW_NAME, log_prints=True, timeout_seconds=7200)
def cost_monthly(month: str | None = None, open_reviews: bool = True, actor: str = ACTOR) -> dict[str, Any]:
    """The month's cost accounting end to end (default: the month just closed); see the module docstring."""
    chosen = parse_month(month) if month else last_closed_month()
    inputs = _stage(chosen, "load inputs 读取数据", load_month_inputs, chosen)
    run = _stage(chosen, "compute and store 计算与发布", compute_and_store, chosen, actor)
    found = _stage(chosen, "breaches 指标超标", find_breaches, chosen)
    reviews = _stage(chosen, "open reviews 发起整改", open_review_processes, chosen, found) if open_reviews else []
    reports = _stage(chosen, "reports 报告", write_reports, chosen, inputs.centres, found)
    head = _stage(chosen, "artifacts 发布摘要", publish, chosen, inputs.centres, found, reviews, reports)
    get_run_logger().info("cost month %s: total %s; %d off target; %d reviews; reports %s", chosen,
                          yuan(head["total_fen"]), len(found), len(reviews), reports.folder)
    return {"month": chosen, "run": run.run_id, "total_cost": str(from_fen(head["total_fen"])),
            "unit_cost": {k: ("无数据 no data" if v is None else str(v)) for k, v in head["unit_cost"].items()},
            "breaches": len(found), "reviews": reviews, "reports": str(reports.folder),
            "workbook": str(reports.workbook), "pages": len(reports.pages)}
