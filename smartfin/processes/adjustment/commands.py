"""``smartfin adjustment submit|show``: a budget adjustment submitted as the logged-in user, and where it stands.

The submission is checked completely (fields, then the rules against the ledger) before anything is sent;
a refusal names each movement line and field and exits with code 2, as the rest of the command line does.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from smartfin.camunda.client import EngineError
from smartfin.kernel.exits import ExitCode
from smartfin.kernel.money import format_yuan
from smartfin.processes.adjustment.adjustments import (
    DOCUMENT_TYPE,
    AdjustmentRefused,
    get_adjustment,
    movements_of,
    movements_text,
    submit_adjustment,
)
from smartfin.processes.approvals import recorded_decisions, shown_statuses
from smartfin.processes.documents import Refused
from smartfin.store.db import session_scope

group = typer.Typer(no_args_is_help=True, help="预算调整 Budget adjustments (increase, decrease, transfer).")


def register(app: typer.Typer) -> None:
    """Add the ``adjustment`` command group."""
    app.add_typer(group, name="adjustment")


@group.command("submit")
def submit_command(
    department: Annotated[str, typer.Option(help="the department asking, e.g. CARD")],
    reason: Annotated[str, typer.Option(help="why the budget must change")],
    movement: Annotated[list[str], typer.Option(
        help="repeatable: 'kind; from line; to line; amount; reason' — kind increase, decrease or transfer; "
             "a line reads 2026/CARD/30218/fiscal[/project]")],
    effective: Annotated[str | None, typer.Option(help="YYYY-MM-DD it takes effect (default: today)")] = None,
    requester: Annotated[str | None, typer.Option(help="proxy entry (代录) only: the engine user it is for")] = None,
) -> None:
    """Submit an adjustment as the logged-in user; it is routed to the finance head or the president's office
    meeting by the dated adjustment standards."""
    submit_as_logged_in({"department": department, "reason": reason, "movements": "\n".join(movement),
                         "effectiveOn": effective or "", "requester": requester or ""})


def submit_as_logged_in(values: dict[str, str]) -> str:
    """Submit an adjustment as the logged-in user and say so; refusals name each field and exit with code 2.

    The one way the command line asks for a budget adjustment (``smartfin adjustment submit`` and the one-line
    ``smartfin budget adjust``): nothing on the command line posts to the budget without the process's tiers,
    rules and yearly count.
    """
    from smartfin.camunda.login import logged_in_client

    try:
        number = submit_adjustment(values, engine=logged_in_client())
        with session_scope() as session:
            tier = get_adjustment(session, number).tier
    except AdjustmentRefused as refused:
        typer.secho("error: the adjustment was refused / 调整未通过校验:", fg=typer.colors.RED, err=True)
        for field, why in refused.problems:
            typer.echo(f"  {field}: {why}", err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    except (Refused, EngineError, LookupError, ValueError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    typer.echo(f"submitted {number} (decides: {tier}); it moves the budget once approved, see "
               f"`smartfin adjustment show {number}`")
    return number


@group.command("show")
def show_command(
    adjustment_no: Annotated[str, typer.Argument(help="the adjustment number, e.g. ADJ-2026-000001")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """An adjustment: its movements, who decides, who decided in each round (a send-back and the requester's
    answer included), and whether it was posted; ``sent-back`` while its requester revises it."""
    try:
        with session_scope() as session:
            row = get_adjustment(session, adjustment_no)
            movements = movements_of(session, adjustment_no)
            decisions = recorded_decisions(session, DOCUMENT_TYPE, adjustment_no)
            status = shown_statuses(session, DOCUMENT_TYPE, {adjustment_no: row.status})[adjustment_no]
            found = {"adjustmentNo": row.adjustment_no, "department": row.department, "requester": row.requester,
                     "effectiveOn": row.effective_on.isoformat(), "total": format_yuan(row.total), "tier": row.tier,
                     "status": status, "minutesNo": row.minutes_no, "approvedBy": row.approved_by,
                     "closingReason": row.closing_reason, "movements": movements_text(movements).splitlines(),
                     "decisions": [[d.round, d.task_key, d.user_id, d.outcome, d.comment] for d in decisions]}
    except LookupError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{found['adjustmentNo']}  {found['department']}  ¥{found['total']}  effective {found['effectiveOn']}  "
               f"{found['status']}  (decides: {found['tier']})")
    for line in found["movements"]:
        typer.echo(f"    {line}")
    for round_no, task, user, outcome, comment in found["decisions"]:
        typer.echo(f"    round {round_no} {task}: {user} {outcome}" + (f"  {comment}" if comment else "")
                   + (f"  minutes {found['minutesNo']}" if found["minutesNo"] and outcome == "approve" else ""))
    if found["closingReason"]:
        typer.echo(f"    {found['closingReason']}")
