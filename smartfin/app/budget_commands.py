"""``smartfin budget show``: every budget line with its buckets and what is available, as finance reads it."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from smartfin.kernel.money import format_yuan
from smartfin.ledger.report import budget_rows, total
from smartfin.store.db import session_scope

budget_app = typer.Typer(no_args_is_help=True, help="Budget lines and their execution (预算执行).")
BUCKETS = ("budget", "adjustment", "pre_encumbrance", "encumbrance", "actual", "available")
HEADINGS = ("预算 budget", "调整 adj.", "预占 pre-enc.", "占用 enc.", "执行 actual", "可用 available")


def register(app: typer.Typer) -> None:
    """Add the ``budget`` command group to the ``smartfin`` CLI."""
    app.add_typer(budget_app, name="budget")


@budget_app.command("show")
def show(
    year: Annotated[int | None, typer.Option(help="fiscal year (default: all years)")] = None,
    department: Annotated[str | None, typer.Option(help="department code, e.g. CARD")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of a table")] = False,
) -> None:
    """Every line with budget, adjustments, pre-encumbrance, encumbrance, actual and available."""
    with session_scope() as session:
        rows = budget_rows(session, year=year, department=department)
    if as_json:
        typer.echo(json.dumps({"lines": [row.as_json() for row in rows],
                               "totals": {b: format_yuan(total(rows, b)) for b in BUCKETS}},
                              ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo("no budget lines" + (f" for {year}" if year else "") + (f" in {department}" if department else ""))
        return
    typer.echo(f"{'line':44} " + " ".join(f"{h:>15}" for h in HEADINGS))
    for row in rows:
        label = str(row.line.key)[:44]
        typer.echo(f"{label:44} " + " ".join(f"{format_yuan(getattr(row.balances, b)):>15}" for b in BUCKETS))
    typer.echo(f"{'合计 total':42} " + " ".join(f"{format_yuan(total(rows, b)):>15}" for b in BUCKETS))
