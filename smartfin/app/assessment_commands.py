"""``smartfin budget assess``, ``smartfin budget assess-open`` and ``smartfin budget actuals``: the budget
performance assessment (预算绩效评价) of a fiscal year — the report (screen, HTML with charts, Excel), the
year-end Tasklist entry of actual indicator values per department, and the same values from a workbook.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from rules.budget.assessment import AssessmentRuleError
from smartfin.budgeting.assessment import ActualValuesRefused, assess, enter_actual_values, read_value_file
from smartfin.budgeting.assessment_report import assessment_html, assessment_workbook
from smartfin.kernel.exits import ExitCode
from smartfin.kernel.spreadsheet import (
    ExportExists,
    ExportRefused,
    SpreadsheetFormat,
    check_export_target,
    write_export,
)
from smartfin.processes.assessment.entries import EntryRefused, open_entries
from smartfin.store.db import session_scope

GROUP = "budget"


def register(app: typer.Typer) -> None:
    """Add the assessment commands to the ``smartfin budget`` group (opening the group when nobody has yet)."""
    group = next((info.typer_instance for info in app.registered_groups
                  if info.name == GROUP and info.typer_instance is not None), None)
    if group is None:
        group = typer.Typer(no_args_is_help=True, help="Budget lines and their execution (预算执行).")
        app.add_typer(group, name=GROUP)
    group.command("assess")(assess_command)
    group.command("assess-open")(assess_open)
    group.command("actuals")(actuals_import)


def _fail(message: object, code: ExitCode = ExitCode.REFUSED) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def assess_command(
    year: Annotated[int, typer.Option(help="fiscal year to assess")],
    html: Annotated[Path | None, typer.Option("--html", help="write the report as an HTML page with charts")] = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="write the report as an Excel workbook")] = None,
    as_of: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"],
                                                   help="read the ledger as of this day (default: today, or "
                                                        "the year end once it is over)")] = None,
    force: Annotated[bool, typer.Option("--force", help="replace files that exist")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="the scores as JSON")] = False,
) -> None:
    """预算绩效评价 Score every department and project of a year: execution against time progress, balance rate,
    indicators against targets, by the dated rule; departments below the threshold get next year's cut."""
    try:
        if xlsx is not None:
            check_export_target(xlsx, SpreadsheetFormat.XLSX, replace=force)
        if html is not None and html.exists() and not force:
            raise ExportExists(f"{html} exists")
        with session_scope() as session:
            result = assess(session, year, as_of.date() if as_of else None)
    except ExportExists as exc:
        raise _fail(f"{exc} (add --force to replace it)") from None
    except (ExportRefused, AssessmentRuleError) as exc:
        raise _fail(exc) from None
    if xlsx is not None:
        write_export(xlsx, assessment_workbook(result), SpreadsheetFormat.XLSX, replace=force)
    if html is not None:
        html.write_text(assessment_html(result), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps({"fiscal_year": year, "as_of": result.as_of.isoformat(),
                               "progress": str(result.progress), "departments": [
            {"department": d.key, "score": None if d.score is None else str(d.score), "grade": d.grade,
             "execution_rate": None if d.execution_rate is None else str(d.execution_rate),
             "balance_rate": None if d.balance_rate is None else str(d.balance_rate),
             "cut_percent": str(result.cuts.get(d.key, 0)),
             "parts": {p.component: None if p.points is None else str(p.points) for p in d.parts}}
            for d in result.departments]}, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{year} 预算绩效评价 as of {result.as_of} (序时进度 {result.progress}%), rule of "
               f"{result.rule.effective_from}")
    for d in result.departments:
        parts = " · ".join(f"{p.component} {'n/a' if p.points is None else p.points}/{p.most}" for p in d.parts)
        cut = f"  → cut {result.cuts[d.key]}%" if d.key in result.cuts else ""
        typer.echo(f"  {d.key} {d.name}: {d.score if d.score is not None else '—'} {d.grade}  ({parts}){cut}")
    for written in (xlsx, html):
        if written is not None:
            typer.echo(f"written to {written}")


def assess_open(
    year: Annotated[int, typer.Option(help="fiscal year whose actual values are entered")],
    head: Annotated[list[str], typer.Option(help="DEPARTMENT=USER: the department's head who enters (repeat)")],
    actor: Annotated[str, typer.Option(help="who opens the entries")] = "finance",
) -> None:
    """Open the year-end Tasklist entry of actual indicator values for each named department and its head."""
    heads: dict[str, str] = {}
    for item in head:
        department, sep, user = item.partition("=")
        if not sep or not department.strip() or not user.strip():
            raise _fail(f"--head {item!r}: write DEPARTMENT=USER, e.g. CARD=li.na", ExitCode.USAGE)
        heads[department.strip()] = user.strip()
    try:
        opened = open_entries(year, heads, actor=actor)
    except EntryRefused as exc:
        raise _fail(exc) from None
    typer.echo(f"{len(opened)} entries opened" + (": " + ", ".join(opened) if opened else ""))


def actuals_import(
    path: Annotated[Path, typer.Argument(help="CSV or .xlsx with columns project, indicator, actual")],
    year: Annotated[int, typer.Option(help="fiscal year")],
    department: Annotated[str, typer.Option(help="the department whose values these are")],
    actor: Annotated[str, typer.Option(help="who enters them")],
) -> None:
    """Enter a department's actual indicator values from a workbook; any bad row and nothing is entered."""
    if not path.exists():
        raise _fail(f"{path}: no such file")
    values, issues = read_value_file(path)
    count = 0
    if not issues:
        try:
            with session_scope() as session:
                count = enter_actual_values(session, year, department, values, actor=actor)
        except ActualValuesRefused as exc:
            issues = exc.issues
    if issues:
        typer.secho(f"{len(issues)} problems; nothing was entered:", fg=typer.colors.RED, err=True)
        for issue in issues:
            typer.echo(f"  {issue}", err=True)
        raise typer.Exit(ExitCode.REFUSED)
    typer.echo(f"{count} actual values of {department} ({year}) entered from {path.name}")
