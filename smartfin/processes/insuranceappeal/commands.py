"""``smartfin insurance-appeal``: who acts for which department, opening a month's appeals, where each stands."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from sqlmodel import col, select

from smartfin.insurance.tables import AppealBatch
from smartfin.kernel.clock import hospital_today, month_days
from smartfin.kernel.exits import ExitCode
from smartfin.processes.insuranceappeal.appeals import assign_officer, describe, end_officer, open_appeals
from smartfin.store.db import session_scope

appeal_app = typer.Typer(no_args_is_help=True, help="医保拒付扣款申诉 Insurance appeals of refused and deducted items.")


def register(app: typer.Typer) -> None:
    """Add the ``insurance-appeal`` command group to the ``smartfin`` CLI."""
    app.add_typer(appeal_app, name="insurance-appeal")


def _fail(message: str, code: ExitCode = ExitCode.REFUSED) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _day(text: str | None, name: str) -> date:
    if text is None:
        return hospital_today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _fail(f"{name}: {text!r} is not a YYYY-MM-DD date", ExitCode.USAGE) from None


@appeal_app.command("officer")
def officer(department: Annotated[str, typer.Argument(help="department code, e.g. CARD")],
            user: Annotated[str, typer.Argument(help="the engine login of the insurance officer")],
            valid_from: Annotated[str | None, typer.Option("--from", help="first day, YYYY-MM-DD (today)")] = None,
            actor: Annotated[str, typer.Option(help="who records it, for the audit log")] = "system") -> None:
    """Record a department's insurance officer (医保专管员): the only users whose answers count for it."""
    with session_scope() as session:
        row = assign_officer(session, department, user, valid_from=_day(valid_from, "--from"), actor=actor)
        typer.echo(f"{row.department}: {row.user_id} from {row.valid_from.isoformat()}")


@appeal_app.command("end-officer")
def end(department: Annotated[str, typer.Argument()], user: Annotated[str, typer.Argument()],
        last_day: Annotated[str | None, typer.Option("--last-day", help="YYYY-MM-DD (today)")] = None,
        actor: Annotated[str, typer.Option(help="who records it, for the audit log")] = "system") -> None:
    """End a person's term as a department's insurance officer."""
    with session_scope() as session:
        closed = end_officer(session, department, user, last_day=_day(last_day, "--last-day"), actor=actor)
    if not closed:
        raise _fail(f"{user} holds no open term as {department}'s insurance officer")
    typer.echo(f"{department}: {user} until {_day(last_day, '--last-day').isoformat()}")


@appeal_app.command("open")
def open_month(month: Annotated[str, typer.Argument(help="service month of the clearing, YYYY-MM")]) -> None:
    """Batch the month's refused and deducted items per department and open one appeal per new batch."""
    try:
        month_days(month)
        keys = open_appeals(month)
    except (ValueError, LookupError) as exc:
        raise _fail(str(exc)) from None
    typer.echo("\n".join(keys) if keys else f"no new appeal batches for {month}")


@appeal_app.command("list")
def list_batches(month: Annotated[str | None, typer.Option(help="only this month, YYYY-MM")] = None,
                 as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False) -> None:
    """The appeal batches: status, due date, recovered amount and each item's outcome."""
    with session_scope() as session:
        query = select(AppealBatch)
        if month is not None:
            query = query.where(AppealBatch.month == month)
        found = [describe(session, b) for b in session.exec(query.order_by(col(AppealBatch.id))).all()]
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    for batch in found:
        typer.echo(f"{batch['businessKey']}  {batch['status']}  items {batch['itemCount']}  ¥{batch['amount']}  "
                   f"due {batch['dueOn']}  recovered ¥{batch['recovered']}"
                   + ("  OVERDUE" if batch["overdue"] else ""))
        for item in batch["items"]:
            typer.echo(f"    {item['itemNo']} {item['item']} ¥{item['amount']}: {item['outcome'] or '—'}"
                       + (f" by {item['decidedBy']}" if item["decidedBy"] else "")
                       + (f", recovered ¥{item['recovered']}" if item["recovered"] is not None else ""))
