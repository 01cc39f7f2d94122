"""``smartfin cost``: import the cost month's files and configuration, run the month, show a centre's cost."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from smartfin.app.progress import working
from smartfin.costing.imports import KINDS, MONTHLY_KINDS, CostImportReport, import_cost_file
from smartfin.costing.month import last_run, run_month, stored_indicators, stored_result
from smartfin.kernel.clock import month_days
from smartfin.kernel.exits import ExitCode
from smartfin.kernel.money import format_yuan, from_fen
from smartfin.ledger.departments import department_names
from smartfin.store.db import session_scope

cost_app = typer.Typer(no_args_is_help=True, help="Cost accounting (成本核算).")
profile_app = typer.Typer(no_args_is_help=True, help="Dated cost-centre profiles (service, beds, area, headcount).")
allocation_app = typer.Typer(no_args_is_help=True, help="Dated allocation drivers.")
cost_app.add_typer(profile_app, name="profile")
cost_app.add_typer(allocation_app, name="allocation")
MAX_LISTED = 50


def register(app: typer.Typer) -> None:
    """Add the ``cost`` command group to the ``smartfin`` CLI."""
    app.add_typer(cost_app, name="cost")


def _fail(message: str, code: ExitCode = ExitCode.REFUSED) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _check_month(month: str) -> None:
    try:
        month_days(month)
    except ValueError as exc:
        raise _fail(str(exc), ExitCode.USAGE) from None


def _import(kind: str, path: Path, month: str | None, actor: str) -> None:
    if not path.exists():
        raise _fail(f"{path}: no such file")
    if month is not None:
        _check_month(month)
    with working(f"导入 Importing {path.name}"), session_scope() as session:
        report = import_cost_file(session, kind, path.read_bytes(), month=month, filename=path.name, actor=actor)
    _print_report(report)


def _print_report(report: CostImportReport) -> None:
    if not report.ok:
        typer.secho(f"{report.source}: {len(report.errors)} problems; nothing was imported:", fg=typer.colors.RED,
                    err=True)
        for issue in report.errors[:MAX_LISTED]:
            typer.echo(f"  {issue}", err=True)
        if len(report.errors) > MAX_LISTED:
            typer.echo(f"  … and {len(report.errors) - MAX_LISTED} more", err=True)
        raise typer.Exit(ExitCode.REFUSED)
    if report.unchanged:
        typer.echo(f"{report.source}: the same file is already imported for {report.month} {report.kind}; "
                   "nothing changed")
    elif KINDS[report.kind].monthly:
        typer.echo(f"{report.source}: {report.rows} rows of {report.kind} for {report.month}"
                   + (" (replacing the earlier file)" if report.replaced else ""))
    else:
        typer.echo(f"{report.source}: {report.rows} rows, {report.versions} versions or mappings set")


@cost_app.command("import")
def import_command(
    kind: Annotated[str, typer.Argument(help=f"one of: {', '.join([*MONTHLY_KINDS, 'his-map'])}")],
    path: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GBK) or .xlsx")],
    month: Annotated[str | None, typer.Option(help="YYYY-MM (required for the month's files)")] = None,
    actor: Annotated[str, typer.Option(help="who imports")] = "finance",
) -> None:
    """Import one of the month's files (replacing that kind's earlier file of the month) or the HIS map."""
    if kind not in KINDS:
        raise _fail(f"unknown kind {kind!r} (use {', '.join(KINDS)})", ExitCode.USAGE)
    if KINDS[kind].monthly and month is None:
        raise _fail(f"{kind} is a month's file: give --month YYYY-MM", ExitCode.USAGE)
    _import(kind, path, month, actor)


@profile_app.command("import")
def profile_import(path: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GBK) or .xlsx")],
                   month: Annotated[str | None, typer.Option(help="valid_from default: this month's first day")] = None,
                   actor: Annotated[str, typer.Option(help="who imports")] = "finance") -> None:
    """Import cost-centre profile versions (centre, service, beds, area_m2, headcount, valid_from)."""
    _import("profile", path, month, actor)


@allocation_app.command("import")
def allocation_import(path: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GBK) or .xlsx")],
                      month: Annotated[str | None, typer.Option(help="valid_from default: this month's first day")]
                      = None,
                      actor: Annotated[str, typer.Option(help="who imports")] = "finance") -> None:
    """Import allocation driver versions (stage, subject, driver, valid_from)."""
    _import("allocation", path, month, actor)


@cost_app.command("run")
def run_command(month: Annotated[str, typer.Option(help="YYYY-MM")],
                actor: Annotated[str, typer.Option(help="who runs it")] = "finance") -> None:
    """Work the month out and publish it (replacing an earlier run); a failure publishes nothing."""
    _check_month(month)
    with working(f"核算 Working out {month}"):
        summary = run_month(month, actor=actor)
    for note in summary.notes:
        typer.echo(f"note: {note}")
    if not summary.ok:
        typer.secho(f"cost month {month} failed (run {summary.run_id}); nothing was published:",
                    fg=typer.colors.RED, err=True)
        for where, what in summary.problems:
            typer.echo(f"  {where}: {what}", err=True)
        raise typer.Exit(ExitCode.REFUSED)
    typer.echo(f"cost month {month} published (run {summary.run_id}): {summary.centres} centres, direct "
               f"¥{format_yuan(from_fen(summary.direct_fen))}, after allocation "
               f"¥{format_yuan(from_fen(summary.total_fen))}, {summary.indicators} indicator values")


def centre_report(session: Any, centre: str, month: str) -> dict[str, Any] | None:
    """What ``cost show`` prints: the centre's cost per item, where its allocated cost came from, its unit
    costs and indicators; None when the month has no published run."""
    result = stored_result(session, month)
    if result is None:
        return None
    names = department_names(session, month_days(month)[1])
    costs = result.centre_costs[result.centre_costs["centre"] == centre]
    matrix = result.matrix[result.matrix["to_centre"] == centre]
    sources = (matrix.groupby(["stage", "from_centre"], as_index=False, sort=True)["amount_fen"].sum()
               if len(matrix) else matrix)
    units = result.unit_costs[result.unit_costs["centre"] == centre]
    values = stored_indicators(session, month)
    values = values[values["centre"] == centre]
    targets = _targets(month)
    return {
        "month": month, "centre": centre, "name": names[centre],
        "items": [{"cost_item": r.cost_item, "direct": _yuan(r.direct_fen), "allocated": _yuan(r.allocated_fen),
                   "total": _yuan(r.total_fen)} for r in costs.itertuples()],
        "direct": _yuan(int(costs["direct_fen"].sum())), "allocated": _yuan(int(costs["allocated_fen"].sum())),
        "total": _yuan(int(costs["total_fen"].sum())),
        "allocated_from": [{"stage": int(r.stage), "from": r.from_centre, "from_name": names[r.from_centre],
                            "amount": _yuan(r.amount_fen)} for r in sources.itertuples()],
        "unit_costs": [{"service": r.service, "units": _text(r.units), "unit_cost": _text(r.unit_cost),
                        "total": _yuan(r.total_fen)} for r in units.itertuples()],
        "indicators": [{"indicator": r.indicator, "value": _text(r.value), "target": _text(targets.get(r.indicator))}
                       for r in values.itertuples()],
    }


def _targets(month: str) -> dict[str, Decimal]:
    try:
        from smartfin.costing.indicators import load_definitions
    except ImportError:  # the indicator definitions are not installed: show values without targets
        return {}
    return {d.key: d.target for d in load_definitions(month_days(month)[1])}


def _yuan(fen: int) -> str:
    return format_yuan(from_fen(int(fen)))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


@cost_app.command("show")
def show_command(centre: Annotated[str, typer.Argument(help="the cost centre (department code)")],
                 month: Annotated[str, typer.Option(help="YYYY-MM")],
                 as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False) -> None:
    """A centre's cost in a month: per item direct and allocated, where the allocated cost came from,
    unit costs and indicators against their targets."""
    _check_month(month)
    with session_scope() as session:
        report = centre_report(session, centre, month)
        run = last_run(session, month) if report is None else None
    if report is None:
        why = f" (last run failed: {run.reason})" if run is not None else ""
        raise _fail(f"no published cost run for {month}{why}; run: smartfin cost run --month {month}")
    if not report["items"] and not report["allocated_from"]:
        raise _fail(f"cost centre {centre} has no cost in {month}")
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{report['centre']} {report['name']} — cost {month}: total ¥{report['total']} "
               f"(direct ¥{report['direct']}, allocated ¥{report['allocated']})")
    typer.echo(f"  {'cost item':<14}{'direct':>16}{'allocated':>16}{'total':>16}")
    for row in report["items"]:
        typer.echo(f"  {row['cost_item']:<14}{row['direct']:>16}{row['allocated']:>16}{row['total']:>16}")
    if report["allocated_from"]:
        typer.echo("  allocated from:")
        for row in report["allocated_from"]:
            typer.echo(f"    stage {row['stage']}  {row['from']} {row['from_name']}: ¥{row['amount']}")
    for row in report["unit_costs"]:
        typer.echo(f"  unit cost ({row['service']}): ¥{row['unit_cost']} × {row['units']} units")
    for row in report["indicators"]:
        target = f" (target {row['target']})" if row["target"] is not None else ""
        typer.echo(f"  indicator {row['indicator']}: {row['value']}{target}")
