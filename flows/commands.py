"""``smartfin flows``: list the scheduled flows, run one now, or serve them all on their schedules."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from smartfin.app.progress import working
from smartfin.kernel.exits import ExitCode
from smartfin.kernel.spreadsheet import SpreadsheetFormat, check_export_target, write_export

flows_app = typer.Typer(no_args_is_help=True, help="Scheduled flows (Prefect): reconciliation, inbox, posting, "
                                                     "budget monitor, cost accounting.")


def register(app: typer.Typer) -> None:
    app.add_typer(flows_app, name="flows")


def _fail(message: str, code: ExitCode = ExitCode.REFUSED) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@flows_app.command("list")
def list_flows(as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of text")] = False,
               ) -> None:
    """Each flow's deployment name, schedule and purpose."""
    from flows.deployments import scheduled_flows
    from smartfin.kernel.jsontext import to_json
    from smartfin.kernel.settings import get_settings

    settings = get_settings().flows
    if as_json:
        typer.echo(to_json({"prefect_api": settings.effective_prefect_api_url, "timezone": settings.timezone,
                            "flows": [{"name": item.name, "cron": item.cron, "description": item.description}
                                      for item in scheduled_flows(settings)]}))
        return
    typer.echo(f"Prefect API: {settings.effective_prefect_api_url}   time zone: {settings.timezone}")
    for item in scheduled_flows(settings):
        typer.echo(f"{item.name:16} {item.cron:16} {item.description}")


@flows_app.command("run")
def run_flow(
    name: Annotated[str, typer.Argument(help="bank-daily, three-way-daily, inbox-scan, posting-batch, "
                                             "budget-monthly, budget-lapse, cost-monthly or delegation-sync "
                                             "(see `smartfin flows list`)")],
    business_date: Annotated[str | None, typer.Option("--date", help="business day YYYY-MM-DD (reconciliation: "
                                                      "the day reconciled; budget, lapse: the as-of date)")] = None,
    review: Annotated[bool, typer.Option("--review/--no-review",
                                         help="open review processes for the exceptions (reconciliation) or the "
                                              "indicators off target (cost)")] = True,
    month: Annotated[str | None, typer.Option("--month", help="month YYYY-MM (cost-monthly, insurance-monthly; "
                                                              "default: the month just closed)")] = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="also hand out the run's Excel workbook at this path "
                                                             "(bank-daily: the 余额调节表; three-way-daily: the "
                                                             "exceptions; the monthly and forecast reports)")] = None,
    force: Annotated[bool, typer.Option("--force", help="replace the --xlsx file if it exists")] = False,
) -> None:
    """Run one flow now, in this process, against the configured Prefect API."""
    from flows.cost import FLOW_NAME as COST_FLOW
    from flows.cost import parse_month
    from flows.deployments import flow_by_name, run_now, run_workbook

    if xlsx is not None:
        check_export_target(xlsx, SpreadsheetFormat.XLSX, replace=force)  # before the run, not after it
    try:
        day = date.fromisoformat(business_date) if business_date else None
        parameters: dict[str, str] = {}
        if month is not None:
            if flow_by_name(name).name not in (COST_FLOW, "insurance-monthly"):
                raise ValueError(f"--month is a parameter of {COST_FLOW} and insurance-monthly only, not of {name}")
            parameters["month"] = parse_month(month)
        with working(f"运行 Running {name}"):
            chosen, state = run_now(name, day, open_reviews=review, **parameters)
    except (LookupError, ValueError) as exc:
        _fail(str(exc), ExitCode.USAGE)
        return
    typer.echo(f"{chosen.name}: {state.name}")
    if state.is_failed():
        try:
            state.result()
        except Exception as exc:
            _fail(str(exc))
    else:
        result = state.result()
        typer.echo(f"{result}")
        if xlsx is not None:
            workbook = run_workbook(chosen.name, result)
            if workbook is None or not workbook.is_file():
                _fail(f"{chosen.name} wrote no workbook for this run; nothing written to {xlsx}")
                return
            write_export(xlsx, workbook.read_bytes(), SpreadsheetFormat.XLSX, replace=force)
            typer.echo(f"workbook written to {xlsx}")


@flows_app.command("serve")
def serve() -> None:
    """Serve every flow on its schedule from this process until stopped (what `smartfin up` starts)."""
    from flows.deployments import apply_prefect_environment, serve_all

    apply_prefect_environment()
    serve_all()


@flows_app.command("deploy")
def deploy_flows(
    pool: Annotated[str, typer.Option("--pool", help="the Prefect work pool (type process) whose workers run "
                                                     "the flows; `up --profile cluster` creates it")],
) -> None:
    """Register every scheduled flow as a deployment on a work pool, or update it (schedule, description).

    `smartfin up --profile cluster` runs this on every start; run it by hand after changing a schedule
    (SMARTFIN_*_CRON) with the cluster's client environment loaded.
    """
    from flows.deployments import deploy_to_pool, scheduled_flows
    from smartfin.kernel.settings import get_settings

    settings = get_settings().flows
    try:
        ids = deploy_to_pool(pool, settings)
    except ValueError as exc:  # Prefect refuses an unknown pool this way
        _fail(str(exc))
        return
    for item in scheduled_flows(settings):
        typer.echo(f"{item.name:16} {item.cron:16} ({settings.timezone})")
    typer.echo(f"{len(ids)} deployments on work pool {pool!r} at {settings.effective_prefect_api_url}")
