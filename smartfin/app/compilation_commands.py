"""``smartfin budget projects|round|template|draft|consolidate|controls|issue``: budget compilation (预算编制, 两上两下)
from the command line — the project pool, the year's round, the departments' workbooks and drafts, consolidation
with the control numbers, and the issue into the ledger. The ``budget-compilation`` process calls the same
functions of ``smartfin.budgeting``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from smartfin.budgeting.projects import import_projects, pool_projects, targets_by_project
from smartfin.budgeting.rounds import CompilationError, Stage, advance_round, get_round, open_round
from smartfin.store.db import session_scope

GROUP = "budget"
projects_app = typer.Typer(no_args_is_help=True, help="项目库 The project pool and its performance targets.")
round_app = typer.Typer(no_args_is_help=True, help="预算编制 The compilation round of a fiscal year.")


def register(app: typer.Typer) -> None:
    """Add the compilation commands to the ``smartfin budget`` group (opening the group when nobody has yet)."""
    group = next((info.typer_instance for info in app.registered_groups
                  if info.name == GROUP and info.typer_instance is not None), None)
    if group is None:
        group = typer.Typer(no_args_is_help=True, help="Budget lines and their execution (预算执行).")
        app.add_typer(group, name=GROUP)
    group.add_typer(projects_app, name="projects")
    group.add_typer(round_app, name="round")


def _fail(message: object) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(2)


# ------------------------------------------------------------------------------------------ project pool

@projects_app.command("import")
def projects_import(path: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GBK) or .xlsx, one row per target")],
                    actor: Annotated[str, typer.Option(help="who imports")] = "finance") -> None:
    """Import projects and their performance targets; a file with any bad row changes nothing."""
    if not path.exists():
        raise _fail(f"{path}: no such file")
    with session_scope() as session:
        report = import_projects(session, path, actor=actor)
    if not report.ok:
        typer.secho(f"{len(report.errors)} problems; nothing was imported:", fg=typer.colors.RED, err=True)
        for issue in report.errors:
            typer.echo(f"  {issue}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{report.source}: {report.rows} rows, {report.projects_created} projects created, "
               f"{report.projects_updated} updated, {report.targets} performance targets")


@projects_app.command("list")
def projects_list(
    year: Annotated[int, typer.Option(help="fiscal year")],
    department: Annotated[str | None, typer.Option(help="department code")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of a table")] = False,
) -> None:
    """The pool's projects by priority, with their performance targets."""
    with session_scope() as session:
        projects = pool_projects(session, year, department)
        targets = targets_by_project(session, projects)
    if as_json:
        typer.echo(json.dumps({"fiscal_year": year, "projects": [
            {"code": p.code, "name": p.name, "department": p.department, "funding_source": p.funding_source,
             "priority": p.priority, "status": p.status,
             "targets": [{"kind": t.kind, "dimension": t.dimension, "indicator": t.indicator, "unit": t.unit,
                          "direction": t.direction, "target": t.target_value, "actual": t.actual_value}
                         for t in targets[p.id or 0]]} for p in projects]}, ensure_ascii=False, indent=2))
        return
    if not projects:
        typer.echo(f"no projects in the pool of {year}" + (f" for {department}" if department else ""))
        return
    for project in projects:
        typer.echo(f"{project.priority:>3} {project.code} {project.name} · {project.department} · "
                   f"{project.funding_source} · {project.status}")
        found = targets[project.id or 0]
        if not found:
            typer.echo("      (no performance targets: cannot be budgeted yet)")
        for t in found:
            actual = f", actual {t.actual_value}" if t.actual_value is not None else ""
            typer.echo(f"      {t.kind}/{t.dimension} {t.indicator} {t.direction} {t.target_value} {t.unit}{actual}")


# ------------------------------------------------------------------------------------------------- round

@round_app.command("open")
def round_open(
    year: Annotated[int, typer.Option(help="fiscal year to compile")],
    guidance: Annotated[str, typer.Option(help="the year's compilation guidance (编制说明)")],
    first_deadline: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="一上 deadline")],
    second_deadline: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="二上 deadline")],
    template_version: Annotated[str, typer.Option(help="version stamped into the year's workbooks")],
    actor: Annotated[str, typer.Option(help="who opens it")] = "finance",
) -> None:
    """Open the compilation of a fiscal year (stage 一上)."""
    try:
        with session_scope() as session:
            row = open_round(session, year, guidance=guidance, first_deadline=first_deadline.date(),
                             second_deadline=second_deadline.date(), template_version=template_version,
                             actor=actor)
    except CompilationError as exc:
        raise _fail(exc) from None
    typer.echo(f"compilation of {row.fiscal_year} opened: template {row.template_version}, 一上 by "
               f"{row.first_deadline}, 二上 by {row.second_deadline}")


@round_app.command("show")
def round_show(year: Annotated[int, typer.Option(help="fiscal year")]) -> None:
    """The round's stage, deadlines, template version and guidance."""
    try:
        with session_scope() as session:
            row = get_round(session, year)
    except CompilationError as exc:
        raise _fail(exc) from None
    typer.echo(f"{row.fiscal_year}: {Stage(row.stage).label} (since {row.stage_changed_at:%Y-%m-%d}, "
               f"{row.stage_changed_by}); template {row.template_version}; 一上 by {row.first_deadline}; "
               f"二上 by {row.second_deadline}")
    typer.echo(row.guidance)


@round_app.command("advance")
def round_advance(year: Annotated[int, typer.Option(help="fiscal year")],
                  to: Annotated[Stage, typer.Option(help="the next stage")],
                  actor: Annotated[str, typer.Option(help="who moves it")] = "finance") -> None:
    """Move the round to its next stage."""
    try:
        with session_scope() as session:
            row = advance_round(session, year, to, actor=actor)
    except CompilationError as exc:
        raise _fail(exc) from None
    typer.echo(f"{row.fiscal_year}: {Stage(row.stage).label}")
