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

from smartfin.budgeting.consolidate import consolidate, consolidation_html, consolidation_workbook
from smartfin.budgeting.controls import ControlSetting, control_numbers, import_control_numbers, set_control_numbers
from smartfin.budgeting.drafts import DraftRefused, draft_history, upload_draft
from smartfin.budgeting.issue import issue_budget
from smartfin.budgeting.projects import import_projects, pool_projects, targets_by_project
from smartfin.budgeting.rounds import (
    CompilationError,
    Stage,
    advance_round,
    get_round,
    open_round,
    set_template_version,
)
from smartfin.budgeting.workbook import template_workbook
from smartfin.kernel.clock import stored_instant
from smartfin.kernel.exits import ExitCode
from smartfin.kernel.jsontext import to_json
from smartfin.kernel.money import InvalidAmount, format_yuan, from_fen
from smartfin.ledger import BudgetError
from smartfin.store.db import session_scope

GROUP = "budget"
projects_app = typer.Typer(no_args_is_help=True, help="项目库 The project pool and its performance targets.")
round_app = typer.Typer(no_args_is_help=True, help="预算编制 The compilation round of a fiscal year.")
draft_app = typer.Typer(no_args_is_help=True, help="预算草案 Departments' drafts (一上, 二上).")
controls_app = typer.Typer(no_args_is_help=True, help="控制数 Control numbers per department and funding source.")


def register(app: typer.Typer) -> None:
    """Add the compilation commands to the ``smartfin budget`` group (opening the group when nobody has yet)."""
    group = next((info.typer_instance for info in app.registered_groups
                  if info.name == GROUP and info.typer_instance is not None), None)
    if group is None:
        group = typer.Typer(no_args_is_help=True, help="Budget lines and their execution (预算执行).")
        app.add_typer(group, name=GROUP)
    group.add_typer(projects_app, name="projects")
    group.add_typer(round_app, name="round")
    group.add_typer(draft_app, name="draft")
    group.add_typer(controls_app, name="controls")
    group.command("template")(template_command)
    group.command("consolidate")(consolidate_command)
    group.command("issue")(issue_command)


def _fail(message: object) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(ExitCode.REFUSED)


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
        raise typer.Exit(ExitCode.REFUSED)
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
def round_show(year: Annotated[int, typer.Option(help="fiscal year")],
               as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of text")] = False,
               ) -> None:
    """The round's stage, deadlines, template version and guidance."""
    try:
        with session_scope() as session:
            row = get_round(session, year)
    except CompilationError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(to_json({"fiscal_year": row.fiscal_year, "stage": row.stage, "stage_label": Stage(row.stage).label,
                            "stage_changed_at": stored_instant(row.stage_changed_at),
                            "stage_changed_by": row.stage_changed_by, "template_version": row.template_version,
                            "first_deadline": row.first_deadline, "second_deadline": row.second_deadline,
                            "guidance": row.guidance}))
        return
    typer.echo(f"{row.fiscal_year}: {Stage(row.stage).label} (since {row.stage_changed_at:%Y-%m-%d}, "
               f"{row.stage_changed_by}); template {row.template_version}; 一上 by {row.first_deadline}; "
               f"二上 by {row.second_deadline}")
    typer.echo(row.guidance)


@round_app.command("template-version")
def round_template_version(year: Annotated[int, typer.Option(help="fiscal year")],
                           version: Annotated[str, typer.Option(help="the corrected template's version")],
                           actor: Annotated[str, typer.Option(help="who changes it")] = "finance") -> None:
    """Send out a corrected template: workbooks of the earlier version are refused from now on."""
    try:
        with session_scope() as session:
            row = set_template_version(session, year, version, actor=actor)
    except CompilationError as exc:
        raise _fail(exc) from None
    typer.echo(f"{row.fiscal_year}: template version {row.template_version}")


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


# ------------------------------------------------------------------------------------- workbooks and drafts

def _write_new(path: Path, data: bytes, force: bool) -> None:
    if path.exists() and not force:
        raise _fail(f"{path} exists (add --force to replace it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def template_command(
    year: Annotated[int, typer.Option(help="fiscal year being compiled")],
    department: Annotated[str, typer.Option(help="department code")],
    out: Annotated[Path | None, typer.Option(help="file to write (default: budget-<year>-<department>.xlsx)")] = None,
    force: Annotated[bool, typer.Option("--force", help="replace the file if it exists")] = False,
) -> None:
    """The department's compilation workbook (预算编制模板): codes, funding sources, past figures, input cells."""
    path = out or Path(f"budget-{year}-{department}.xlsx")
    try:
        with session_scope() as session:
            data = template_workbook(session, year, department)
    except (CompilationError, ValueError) as exc:
        raise _fail(exc) from None
    _write_new(path, data, force)
    typer.echo(f"compilation workbook of {department} for {year} written to {path}")


@draft_app.command("upload")
def draft_upload(
    path: Annotated[Path, typer.Argument(help="the filled compilation workbook (.xlsx)")],
    uploaded_by: Annotated[str, typer.Option("--by", help="who submits it")],
    department: Annotated[str | None, typer.Option(help="the department it must be for")] = None,
) -> None:
    """Submit a department's draft to the round in progress; refused with every sheet!cell and reason."""
    if not path.exists():
        raise _fail(f"{path}: no such file")
    try:
        with session_scope() as session:
            draft = upload_draft(session, path.read_bytes(), filename=path.name, uploaded_by=uploaded_by,
                                 department=department)
    except DraftRefused as exc:
        typer.secho(f"{len(exc.problems)} problems; the draft was not accepted:", fg=typer.colors.RED, err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    except CompilationError as exc:
        raise _fail(exc) from None
    typer.echo(f"draft of {draft.department} for {draft.fiscal_year}, round {draft.round}, revision {draft.revision}: "
               f"{draft.line_count} amounts, total {format_yuan(from_fen(draft.total_fen))}")


@draft_app.command("list")
def draft_list(year: Annotated[int, typer.Option(help="fiscal year")],
               department: Annotated[str, typer.Option(help="department code")],
               as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of text")] = False,
               ) -> None:
    """Every upload of a department's drafts, both rounds, with the one in force and the one its task submitted
    marked."""
    with session_scope() as session:
        drafts = draft_history(session, year, department)
    if as_json:
        typer.echo(to_json({"fiscal_year": year, "department": department, "drafts": [
            {"round": d.round, "revision": d.revision, "status": d.status, "total": from_fen(d.total_fen),
             "uploaded_at": stored_instant(d.uploaded_at), "uploaded_by": d.uploaded_by, "filename": d.filename,
             "submitted_at": stored_instant(d.accepted_at) if d.accepted_at else None, "submitted_by": d.accepted_by}
            for d in drafts]}))
        return
    if not drafts:
        typer.echo(f"no drafts of {department} for {year}")
    for d in drafts:
        submitted = f"  submitted by {d.accepted_by} with the task" if d.accepted_at else ""
        typer.echo(f"{d.round:6} rev {d.revision} {d.status:8} {format_yuan(from_fen(d.total_fen)):>16} "
                   f"{d.uploaded_at:%Y-%m-%d %H:%M} {d.uploaded_by} {d.filename}{submitted}")


def consolidate_command(
    year: Annotated[int, typer.Option(help="fiscal year")],
    out: Annotated[Path, typer.Option(help="folder for the workbook and the HTML summary")] = Path("."),
    round_name: Annotated[Stage | None, typer.Option("--round", help="first or second (default: the round's)")] = None,
    force: Annotated[bool, typer.Option("--force", help="replace the files if they exist")] = False,
) -> None:
    """All current drafts of a round in one workbook and one HTML summary, with year-on-year change."""
    try:
        with session_scope() as session:
            result = consolidate(session, year, round_name)
    except CompilationError as exc:
        raise _fail(exc) from None
    stem = out / f"budget-consolidation-{year}-{result.round}"
    _write_new(stem.with_suffix(".xlsx"), consolidation_workbook(result), force)
    _write_new(stem.with_suffix(".html"), consolidation_html(result).encode(), force)
    typer.echo(f"{len(result.departments)} departments, total {format_yuan(from_fen(result.total))}; "
               f"no draft yet: {', '.join(result.missing) or 'none'}; written {stem}.xlsx and {stem}.html")


@controls_app.command("set")
def controls_set(
    year: Annotated[int, typer.Option(help="fiscal year")],
    department: Annotated[str, typer.Option(help="department code")],
    funding_source: Annotated[str, typer.Option(help="fiscal, own, research or earmarked")],
    amount: Annotated[str, typer.Option(help="yuan")],
    decision: Annotated[str, typer.Option(help="the budget committee's minutes or decision no.")],
    actor: Annotated[str, typer.Option(help="who records it")] = "budget-committee",
) -> None:
    """Set one control number (控制数) of a department and funding source."""
    try:
        with session_scope() as session:
            set_control_numbers(session, year, [ControlSetting(department, funding_source, amount)],
                                decision=decision, actor=actor)
    except (CompilationError, InvalidAmount) as exc:
        raise _fail(exc) from None
    typer.echo(f"control number of {department}/{funding_source} for {year}: {amount}")


@controls_app.command("import")
def controls_import(
    path: Annotated[Path, typer.Argument(help="CSV or .xlsx: department, funding_source, amount")],
    year: Annotated[int, typer.Option(help="fiscal year")],
    decision: Annotated[str, typer.Option(help="the budget committee's minutes or decision no.")],
    actor: Annotated[str, typer.Option(help="who records them")] = "budget-committee",
) -> None:
    """Set control numbers from a file; a file with any bad row sets nothing."""
    if not path.exists():
        raise _fail(f"{path}: no such file")
    with session_scope() as session:
        report = import_control_numbers(session, year, path, decision=decision, actor=actor)
    if not report.ok:
        typer.secho(f"{len(report.errors)} problems; nothing was set:", fg=typer.colors.RED, err=True)
        for issue in report.errors:
            typer.echo(f"  {issue}", err=True)
        raise typer.Exit(ExitCode.REFUSED)
    typer.echo(f"{report.set} control numbers set for {year}")


@controls_app.command("list")
def controls_list(year: Annotated[int, typer.Option(help="fiscal year")],
                  as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of text")] = False,
                  ) -> None:
    """The control numbers in force."""
    with session_scope() as session:
        found = control_numbers(session, year)
    if as_json:
        typer.echo(to_json({"fiscal_year": year, "controls": [
            {"department": department, "funding_source": source, "amount": from_fen(fen)}
            for (department, source), fen in sorted(found.items())]}))
        return
    if not found:
        typer.echo(f"no control numbers for {year}")
    for (department, source), fen in sorted(found.items()):
        typer.echo(f"{department:12} {source:10} {format_yuan(from_fen(fen)):>16}")


def issue_command(year: Annotated[int, typer.Option(help="fiscal year")],
                  actor: Annotated[str, typer.Option(help="who issues it")] = "finance") -> None:
    """Issue the approved budget (二下) into the ledger in one transaction; issuing again changes nothing."""
    try:
        with session_scope() as session:
            issue = issue_budget(session, year, actor=actor)
    except (CompilationError, BudgetError) as exc:
        raise _fail(exc) from None
    typer.echo(f"budget of {year} issued as {issue.document_no}: {issue.lines} lines "
               f"({issue.lines_created} new), total {format_yuan(from_fen(issue.total_fen))}")
