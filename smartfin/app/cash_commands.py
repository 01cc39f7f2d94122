"""``smartfin cash``: import what the forecast learns from, forecast a day with scenarios, list the runs and
alerts, write the report, and run the backtest on a generated hospital."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import col, select

from rules.cash.dated import CashRuleError
from smartfin.app.cash import forecast_day, forecast_workbook_of_day, runs_of_day, write_forecast_report
from smartfin.app.progress import working
from smartfin.cashflow.backtest import run_backtest, weekly_origins
from smartfin.cashflow.imports import FORMATS, CashImportRefused, import_cash_file
from smartfin.cashflow.model import ForecastRefused
from smartfin.cashflow.report import backtest_html, backtest_workbook
from smartfin.cashflow.runs import ScenarioRefused, scenario_from_options
from smartfin.cashflow.samples import generate_hospital
from smartfin.cashflow.tables import CashAlert
from smartfin.kernel.exits import ExitCode
from smartfin.kernel.jsontext import to_json
from smartfin.kernel.money import format_yuan, from_fen
from smartfin.kernel.spreadsheet import (
    ExportExists,
    ExportRefused,
    SpreadsheetFormat,
    check_export_target,
    write_export,
)
from smartfin.store.db import session_scope

cash_app = typer.Typer(no_args_is_help=True, help="The 13-week cash forecast (资金预测).")


def register(app: typer.Typer) -> None:
    """Add the ``cash`` command group to the ``smartfin`` CLI."""
    app.add_typer(cash_app, name="cash")


def _fail(message: str, code: ExitCode = ExitCode.REFUSED) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _fail(f"--as-of {text!r} is not a YYYY-MM-DD date", ExitCode.USAGE) from None


@cash_app.command("import")
def import_command(
    kind: Annotated[str, typer.Argument(help=f"one of: {', '.join(FORMATS)}")],
    path: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GBK) or .xlsx")],
    actor: Annotated[str, typer.Option(help="who imports")] = "finance",
) -> None:
    """Import daily history (patient receipts, insurance collections, payroll), an insurance aging snapshot or
    supplier payables; the whole file or nothing."""
    if kind not in FORMATS:
        raise _fail(f"unknown kind {kind!r}: one of {', '.join(FORMATS)}", ExitCode.USAGE)
    if not path.is_file():
        raise _fail(f"{path}: no such file")
    try:
        with working(f"导入 Importing {path.name}"), session_scope() as session:
            result = import_cash_file(session, kind, path, actor=actor)
    except CashImportRefused as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"{result.source}: {result.rows} {kind} rows imported (import #{result.import_id})")


@cash_app.command("forecast")
def forecast_command(
    as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD; default: the latest day with every statement")] = None,
    scenario: Annotated[str | None, typer.Option(help="name of a scenario stored beside the base")] = None,
    insurance_delay_days: Annotated[int, typer.Option(help="scenario: the fund pays this many days later")] = 0,
    payment: Annotated[list[str] | None, typer.Option(help="scenario: DATE:AMOUNT[:LABEL], repeatable")] = None,
    alert: Annotated[bool, typer.Option(help="open the chief accountant's alert when the base breaches")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the runs as JSON")] = False,
    actor: Annotated[str, typer.Option(help="who runs it")] = "finance",
) -> None:
    """Forecast 14 days and 13 weeks from the bank statements (base, plus a scenario if named)."""
    try:
        scenarios = [scenario_from_options(scenario, insurance_delay_days=insurance_delay_days,
                                           payments=payment)] if scenario else []
        if not scenario and (insurance_delay_days or payment):
            raise ScenarioRefused("--insurance-delay-days and --payment describe a scenario: name it (--scenario)")
        day = forecast_day(actor=actor, as_of=_day(as_of), scenarios=scenarios, open_alert=alert)
    except (ForecastRefused, ScenarioRefused, CashRuleError) as exc:
        raise _fail(str(exc)) from None
    with session_scope() as session:
        runs = [r for r in runs_of_day(session, day.as_of) if r.id in day.run_ids]
    if as_json:
        typer.echo(json.dumps([{"asOf": r.as_of.isoformat(), "scenario": r.scenario, "openingFen": r.opening_fen,
                                "minimumFen": r.minimum_fen,
                                "breachStart": r.breach_start.isoformat() if r.breach_start else None,
                                "weeks": r.weeks, "days": r.days, "drivers": r.drivers, "warnings": r.warnings}
                               for r in runs], ensure_ascii=False, indent=2))
        return
    typer.echo(f"insurance receivables from: {day.receivables}")
    for run in runs:
        typer.echo(f"{run.scenario} — as of {run.as_of}, opening ¥{format_yuan(from_fen(run.opening_fen))}, "
                   f"minimum ¥{format_yuan(from_fen(run.minimum_fen))}")
        for w in run.weeks:
            flag = "  ⚠ below minimum" if w["closingFen"] < run.minimum_fen else ""
            typer.echo(f"  {w['start']} – {w['end']}  in {format_yuan(from_fen(w['inflowFen'])):>16}  "
                       f"out {format_yuan(from_fen(w['outflowFen'])):>16}  closing "
                       f"{format_yuan(from_fen(w['closingFen'])):>16}{flag}")
        for warning in run.warnings:
            typer.echo(f"  note: {warning}")
    if day.alert:
        typer.echo(f"alert opened for the chief accountant: {day.alert}")


@cash_app.command("report")
def report_command(
    as_of: Annotated[str, typer.Option(help="YYYY-MM-DD of stored runs")],
    out: Annotated[Path | None, typer.Option(help="folder; default var/reports/cash")] = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="write only the titled 13-week forecast workbook, "
                                              "to this .xlsx file")] = None,
    force: Annotated[bool, typer.Option("--force", help="replace the --xlsx file if it exists")] = False,
) -> None:
    """Write the day's HTML report (chart of weekly closing balances) and Excel workbook, or with --xlsx only
    the workbook (weeks, days and drivers of the base run and each scenario, in yuan) where finance wants it."""
    day = _day(as_of)
    assert day is not None
    if xlsx is not None and out is not None:
        raise _fail("--xlsx and --out exclude each other: --xlsx writes one workbook, --out a folder",
                    ExitCode.USAGE)
    try:
        if xlsx is not None:
            check_export_target(xlsx, SpreadsheetFormat.XLSX, replace=force)  # before the database is read
            with working(f"写入 Writing {xlsx.name}"):
                written = write_export(xlsx, forecast_workbook_of_day(day), SpreadsheetFormat.XLSX, replace=force)
            typer.echo(str(written))
            return
        page, workbook = write_forecast_report(day, out)
    except LookupError as exc:
        raise _fail(str(exc)) from None
    except ExportExists as exc:
        raise _fail(f"{exc} (add --force to replace it)") from None
    except ExportRefused as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"{page}\n{workbook}")


@cash_app.command("alerts")
def alerts_command(as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of text")]
                   = False) -> None:
    """The minimum-balance alerts and what the chief accountant decided."""
    with session_scope() as session:
        found = session.exec(select(CashAlert).order_by(col(CashAlert.id))).all()
        if as_json:
            typer.echo(to_json({"alerts": [a.model_dump() for a in found]}))
            return
        for a in found:
            typer.echo(f"{a.business_key}  {a.status}  {a.decision or ''} {a.decided_by or ''} {a.measure or ''}")


@cash_app.command("backtest")
def backtest_command(
    seed: Annotated[int, typer.Option(help="the generated hospital's seed")] = 7,
    out: Annotated[Path | None, typer.Option(help="folder for the HTML chart and the workbook")] = None,
) -> None:
    """Backtest the forecast on a generated three-year hospital: MAPE of the weekly closing balance per horizon."""
    hospital = generate_hospital(seed=seed)
    balances = hospital.balances()
    origins = weekly_origins(hospital.start + timedelta(days=400), hospital.end)
    result = run_backtest(lambda d: hospital.inputs_at(d, balances), balances.__getitem__, origins)
    typer.echo(f"{len(origins)} origins; MAPE by weeks ahead:")
    for weeks, mape in enumerate(result.mape, start=1):
        typer.echo(f"  {weeks:>2}: {mape}%")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "cash-backtest.html").write_text(backtest_html(result), encoding="utf-8")
        write_export(out / "cash-backtest.xlsx", backtest_workbook(result), SpreadsheetFormat.XLSX, replace=True)
        typer.echo(f"{out / 'cash-backtest.html'}\n{out / 'cash-backtest.xlsx'}")
