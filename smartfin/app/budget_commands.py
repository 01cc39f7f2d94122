"""``smartfin budget show|export|journal|adjust|lapse|close``: every budget line with its buckets and what is
available, as finance reads it, on screen, as JSON or as a CSV / Excel file; one line's journal; a one-line budget
adjustment asked for through the budget-adjustment process; the release of lapsed reservations; the year-end close.

Each line shows its department's name beside the code: the name in force at the end of the line's fiscal
year, or today while that year runs (the code itself until department master data is loaded).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from smartfin.app.exports import (
    BUCKET_LABELS,
    BUDGET_BUCKETS,
    budget_execution_xlsx,
    budget_lines_export,
    line_journal_xlsx,
)
from smartfin.app.progress import working
from smartfin.kernel.clock import hospital_today, stored_instant
from smartfin.kernel.exits import ExitCode
from smartfin.kernel.jsontext import to_json
from smartfin.kernel.money import InvalidAmount, format_yuan, parse_amount
from smartfin.kernel.spreadsheet import (
    ExportExists,
    ExportRefused,
    SpreadsheetFormat,
    check_export_target,
    write_export,
)
from smartfin.kernel.text import fit_columns
from smartfin.ledger import BudgetError, BudgetLineKey, DepartmentNames, Lapse, department_names, lapse
from smartfin.ledger.control import find_line
from smartfin.ledger.journal import line_journal
from smartfin.ledger.keys import parse_key
from smartfin.ledger.report import LineRow, budget_rows, total
from smartfin.store.db import session_scope

budget_app = typer.Typer(no_args_is_help=True, help="Budget lines and their execution (预算执行).")
BUCKETS = BUDGET_BUCKETS
NAME_COLUMNS = 16  # terminal columns for the department's name: eight Chinese characters
HEADINGS = ("预算 budget", "调整 adj.", "预占 pre-enc.", "占用 enc.", "执行 actual", "可用 available")
OPEN_HEADING = "未结 open"  # open commitments: pre-encumbrance + encumbrance (requests and contracts not yet paid)


def register(app: typer.Typer) -> None:
    """Add the ``budget`` command group to the ``smartfin`` CLI."""
    app.add_typer(budget_app, name="budget")


@budget_app.command("show")
def show(
    year: Annotated[int | None, typer.Option(help="fiscal year (default: all years)")] = None,
    department: Annotated[str | None, typer.Option(help="department code, e.g. CARD")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of a table")] = False,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="also write the lines as a titled Excel workbook")] = None,
    force: Annotated[bool, typer.Option("--force", help="replace the --xlsx file if it exists")] = False,
) -> None:
    """Every line with budget, adjustments, pre-encumbrance, encumbrance, actual and available."""
    if xlsx is not None:
        check_export_target(xlsx, SpreadsheetFormat.XLSX, replace=force)  # before the database is read
    with session_scope() as session:
        rows = budget_rows(session, year=year, department=department)
        names = {y: department_names(session, _names_day(y)) for y in {row.line.fiscal_year for row in rows}}
    scheduled = sum((row.scheduled for row in rows), Decimal("0.00"))
    if xlsx is not None:
        with working(f"写入 Writing {xlsx.name}", quiet=as_json):
            write_export(xlsx, budget_execution_xlsx(rows, lambda row: _name(row, names), year=year,
                                                     department=department, as_of=hospital_today()),
                         SpreadsheetFormat.XLSX, replace=force)
        typer.echo(f"{len(rows)} budget lines written to {xlsx}", err=as_json)
    if as_json:
        typer.echo(json.dumps({"lines": [{**row.as_json(), "department_name": _name(row, names)} for row in rows],
                               "totals": {**{b: format_yuan(total(rows, b)) for b in BUCKETS},
                                          "open_commitments": format_yuan(
                                              sum((r.balances.open_commitments for r in rows), Decimal("0.00"))),
                                          "adjustment_scheduled": format_yuan(scheduled)}},
                              ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo("no budget lines" + (f" for {year}" if year else "") + (f" in {department}" if department else ""))
        return
    typer.echo(f"{'line':44} {fit_columns('科室 department', NAME_COLUMNS)} "
               + " ".join(f"{h:>15}" for h in (*HEADINGS, OPEN_HEADING)))
    for row in rows:
        label = str(row.line.key)[:44]
        typer.echo(f"{label:44} {fit_columns(_name(row, names), NAME_COLUMNS)} "
                   + " ".join(f"{format_yuan(getattr(row.balances, b)):>15}" for b in BUCKETS)
                   + f" {format_yuan(row.balances.open_commitments):>15}")
    open_total = sum((row.balances.open_commitments for row in rows), Decimal("0.00"))
    typer.echo(f"{'合计 total':42} {' ' * NAME_COLUMNS} "
               + " ".join(f"{format_yuan(total(rows, b)):>15}" for b in BUCKETS) + f" {format_yuan(open_total):>15}")
    if scheduled:
        typer.echo(f"另有以后生效的调整 {format_yuan(scheduled)}，未计入上表 / adjustments of {format_yuan(scheduled)} "
                   f"take effect later and are not counted above (see --json)")


@budget_app.command("export")
def export(
    year: Annotated[int, typer.Option(help="fiscal year")],
    fmt: Annotated[SpreadsheetFormat, typer.Option("--format", help="csv (UTF-8 with BOM) or xlsx")],
    output: Annotated[Path, typer.Option(help="file to write; its suffix must match --format")],
    department: Annotated[str | None, typer.Option(help="department code, e.g. CARD")] = None,
    force: Annotated[bool, typer.Option("--force", help="replace the file if it exists")] = False,
) -> None:
    """The lines of `budget show` as a CSV or Excel file; text that a spreadsheet would run is written as text."""
    try:
        check_export_target(output, fmt, replace=force)  # before the database is read
        with session_scope() as session:
            rows = budget_rows(session, year=year, department=department)
            names = {year: department_names(session, _names_day(year))}
        if not rows:
            raise ExportRefused(f"no budget lines for {year}" + (f" in {department}" if department else "")
                                + "; nothing written")
        write_export(output, budget_lines_export(rows, fmt, lambda row: _name(row, names)), fmt, replace=force)
    except ExportExists as exc:
        typer.secho(f"error: {exc} (add --force to replace it)", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    except ExportRefused as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    typer.echo(f"{len(rows)} budget lines of {year}" + (f" in {department}" if department else "")
               + f" written to {output}")


@budget_app.command("journal")
def journal(
    line: Annotated[str, typer.Argument(help="the line as messages print it: YEAR/DEPT/CODE/FUNDING[/PROJECT]")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of a table")] = False,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="also write the journal as an Excel workbook")] = None,
    force: Annotated[bool, typer.Option("--force", help="replace the --xlsx file if it exists")] = False,
) -> None:
    """One line's journal (预算明细账): every entry in posting order — bucket, amount, document, who, why — and the
    total of each bucket. The journal is append-only: a correction is a reversing entry, listed too."""
    try:
        key = parse_key(line)
    except BudgetError as exc:
        raise typer.BadParameter(str(exc), param_hint="LINE") from None
    if xlsx is not None:
        check_export_target(xlsx, SpreadsheetFormat.XLSX, replace=force)
    with session_scope() as session:
        entries = list(line_journal(session, key))
        found = find_line(session, key)
        name = found.name if found is not None else ""
        department_name = department_names(session, _names_day(key.fiscal_year))[key.department]
    if xlsx is not None:
        with working(f"写入 Writing {xlsx.name}", quiet=as_json):
            write_export(xlsx, line_journal_xlsx(key, name, department_name, entries, as_of=hospital_today()),
                         SpreadsheetFormat.XLSX, replace=force)
    totals = {bucket: sum((e.amount for e in entries if e.bucket == bucket), Decimal("0.00"))
              for bucket in BUCKET_LABELS}
    if as_json:
        typer.echo(to_json({"line": str(key), "name": name, "department_name": department_name, "entries": [
            {"id": e.id, "effective_on": e.effective_on, "posted_at": stored_instant(e.created_at), "bucket": e.bucket,
             "amount": e.amount, "document_type": e.document_type, "document_no": e.document_no,
             "reference": e.reference, "reverses": e.reverses, "actor": e.actor, "reason": e.reason}
            for e in entries], "totals": totals}))
        return
    typer.echo(f"{key}  {name}  ({department_name})")
    for e in entries:
        typer.echo(f"{e.id:>7} {e.effective_on} {BUCKET_LABELS[e.bucket]:24} {format_yuan(e.amount):>15}  "
                   f"{e.document_no}  {e.actor}" + (f"  reverses {e.reverses}" if e.reverses else ""))
    for bucket, label in BUCKET_LABELS.items():
        typer.echo(f"{'合计 total':>7} {label:35} {format_yuan(totals[bucket]):>15}")
    if xlsx is not None:
        typer.echo(f"{len(entries)} entries written to {xlsx}")


def _names_day(fiscal_year: int) -> date:
    """The day whose department names a fiscal year's lines show: its last day, or today while it runs."""
    return min(hospital_today(), date(fiscal_year, 12, 31))


def _name(row: LineRow, names: dict[int, DepartmentNames]) -> str:
    return names[row.line.fiscal_year][row.line.department]


def _effective_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (use YYYY-MM-DD)", param_hint="--effective") from None


@budget_app.command("adjust")
def adjust_command(
    year: Annotated[int, typer.Option(help="fiscal year of the line")],
    department: Annotated[str, typer.Option(help="department code, e.g. CARD")],
    economic_code: Annotated[str, typer.Option(help="economic classification code, e.g. 30218")],
    amount: Annotated[str, typer.Option(help="yuan, signed: 50000.00 raises the line, -50000.00 cuts it")],
    reason: Annotated[str, typer.Option(help="why the line must change")],
    effective: Annotated[str | None, typer.Option(help="YYYY-MM-DD the adjustment takes effect, within the "
                                                       "line's period (default: today)")] = None,
    funding_source: Annotated[str, typer.Option(help="fiscal, own, research or earmarked")] = "fiscal",
    project: Annotated[str, typer.Option(help="project code, if the line has one")] = "",
    requester: Annotated[str | None, typer.Option(help="proxy entry (代录) only: the engine user it is for")] = None,
) -> None:
    """Ask for a budget adjustment (预算调整) of one line: submitted as the logged-in user through the
    ``budget-adjustment`` process, like ``smartfin adjustment submit``, so the finance head or the president's
    office meeting decides by the dated standards and the yearly count applies; the line moves once approved,
    effective on the day given. Transfers between lines: ``smartfin adjustment submit``."""
    from smartfin.processes.adjustment.commands import submit_as_logged_in

    day = _effective_date(effective)
    try:
        key = BudgetLineKey(year, department, economic_code, funding_source, project)  # type: ignore[arg-type]
        change = parse_amount(amount, field="amount", allow_negative=True)
    except (BudgetError, InvalidAmount, ValueError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.USAGE) from None
    why = " ".join(reason.replace(";", ",").replace("；", "，").split())  # one movement line, five fields
    movement = (f"increase; ; {key}; {format_yuan(change)}; {why}" if change > 0
                else f"decrease; {key}; ; {format_yuan(-change)}; {why}")
    submit_as_logged_in({"department": department, "reason": reason, "movements": movement,
                         "effectiveOn": day.isoformat() if day else "", "requester": requester or ""})


def lapse_reservations(as_of: date | None = None, *, actor: str = "system") -> list[Lapse]:
    """Release, in one transaction, the reservations of approved spending requests that lapsed by rule on
    ``as_of`` (validity of the dated standard, or the end of the line's fiscal year); each one audited with
    its rule. Running it again releases nothing more. A Prefect flow calls this too."""
    from smartfin.processes.spending.requests import DOCUMENT_TYPE as REQUEST_TYPE

    with session_scope() as session:
        return lapse(session, document_types=(REQUEST_TYPE,), as_of=as_of, actor=actor)


@budget_app.command("lapse")
def lapse_command(
    as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD the rules are applied on (default: today)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of text")] = False,
) -> None:
    """Release the reservations of approved requests past their validity or their fiscal year (失效释放)."""
    day = None
    if as_of is not None:
        try:
            day = date.fromisoformat(as_of.strip())
        except ValueError:
            raise typer.BadParameter(f"{as_of!r} is not a date (use YYYY-MM-DD)", param_hint="--as-of") from None
    lapsed = lapse_reservations(day)
    if as_json:
        typer.echo(json.dumps({"as_of": (day or hospital_today()).isoformat(),
                               "lapsed": [{"document_type": x.document_type, "document_no": x.document_no,
                                           "line": x.line, "released": format_yuan(x.amount), "rule": x.rule}
                                          for x in lapsed]}, ensure_ascii=False, indent=2))
        return
    for x in lapsed:
        typer.echo(f"{x.document_no}  {x.line}  released {format_yuan(x.amount)}  ({x.rule})")
    typer.echo(f"{len(lapsed)} reservation(s) lapsed, {format_yuan(sum((x.amount for x in lapsed), Decimal(0)))} "
               "released")


@budget_app.command("close")
def close_command(
    year: Annotated[int, typer.Option(help="the fiscal year to close (it must have ended)")],
    actor: Annotated[str, typer.Option(help="who closes it (recorded and audited)")] = "finance",
) -> None:
    """Year-end close (年终结账): open commitments and balances carried to next year or lapsed by the dated
    carry-over rules, the year's lines frozen, the close recorded; refused while budget adjustments of the year
    are still in approval (each is named). Closing a closed year changes nothing."""
    from smartfin.ledger.closing import ClosingRefused
    from smartfin.processes.adjustment.year_end import close_when_decided

    try:
        with session_scope() as session:
            closing = close_when_decided(session, year, actor=actor)
            summary = (f"{year} closed by {closing.closed_by} at {closing.closed_at:%Y-%m-%d %H:%M} UTC: "
                       f"{closing.lines_closed} lines frozen, carried {format_yuan(closing.carried)}, "
                       f"lapsed {format_yuan(closing.lapsed)}")
            carried = closing.details.get("carried") or []
    except ClosingRefused as refused:
        typer.secho(f"error: {year} cannot be closed / 不能结账:", fg=typer.colors.RED, err=True)
        for reason in refused.reasons:
            typer.echo(f"  {reason}", err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    except (BudgetError, ValueError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    typer.echo(summary)
    for item in carried:  # type: ignore[attr-defined]
        typer.echo(f"    {item['from']} → {item['to']}: {item['amount']}")
