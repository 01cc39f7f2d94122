"""The weekly cash forecast (资金预测): the base forecast (and the standing scenarios) from the latest bank
statements, stored; the chief accountant's alert when the base falls below the minimum balance; the report.

One flow run per week, one task per stage: forecast and store the runs (``forecast_day``: the same function
``smartfin cash forecast`` calls) → open the alert → write the HTML report and the workbook under
``var/reports/cash/`` → the weekly closing balances as a Prefect table artifact. A rerun of the same day answers
from the stored runs and opens no second alert.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from smartfin.app.cash import ForecastDay, forecast_day, runs_of_day, write_forecast_report
from smartfin.cashflow.model import Scenario
from smartfin.kernel.money import format_yuan, from_fen
from smartfin.store.db import session_scope

FLOW_NAME = "cash-forecast"
ACTOR = "flow:cash-forecast"
#: the scenarios stored beside the base every week (the insurance fund paying a month late)
STANDING_SCENARIOS = (Scenario("insurance-30-days-late", insurance_delay_days=30),)


@task(name="forecast-and-store", cache_policy=NO_CACHE)
def forecast_and_store(as_of: date | None, open_alert: bool) -> ForecastDay:
    """Forecast the base and the standing scenarios, store them, open the alert for a breaching base."""
    return forecast_day(actor=ACTOR, as_of=as_of, scenarios=STANDING_SCENARIOS, open_alert=open_alert)


@task(name="write-report", cache_policy=NO_CACHE)
def write_report(as_of: date) -> tuple[str, str]:
    page, workbook = write_forecast_report(as_of)
    return str(page), str(workbook)


@task(name="publish", cache_policy=NO_CACHE)
def publish(as_of: date) -> list[dict[str, Any]]:
    """The weekly closing balances of each run as a table artifact."""
    with session_scope() as session:
        runs = runs_of_day(session, as_of)
        rows = [{"scenario": r.scenario, "week": f"{w['start']}–{w['end']}",
                 "closing": format_yuan(from_fen(w["closingFen"])),
                 "below minimum": "⚠" if w["closingFen"] < r.minimum_fen else ""} for r in runs for w in r.weeks]
    create_table_artifact(key="cash-forecast", table=rows, description=f"资金预测 cash forecast {as_of}")
    return rows


@flow(name=FLOW_NAME, log_prints=True, timeout_seconds=1800)
def cash_forecast(as_of: date | None = None, open_alert: bool = True) -> dict[str, Any]:
    """The week's cash forecast end to end (default: the latest day every account has a statement)."""
    day = forecast_and_store(as_of, open_alert)
    page, workbook = write_report(day.as_of)
    publish(day.as_of)
    get_run_logger().info("cash forecast %s: runs %s; alert %s; report %s", day.as_of, day.run_ids, day.alert, page)
    return {"as_of": day.as_of.isoformat(), "runs": list(day.run_ids), "alert": day.alert, "report": page,
            "workbook": workbook, "receivables": day.receivables}
