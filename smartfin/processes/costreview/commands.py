"""``smartfin cost reviews [--month YYYY-MM] [--json]``: the cost reviews and where each stands.

The command joins the ``smartfin cost`` group when one is registered before it (the cost accounting
commands), else it opens that group itself.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from smartfin.kernel.exits import ExitCode
from smartfin.processes.costreview.reviews import describe, list_reviews, rounds_of
from smartfin.store.db import session_scope

GROUP = "cost"


def reviews(month: Annotated[str | None, typer.Option(help="only this month, YYYY-MM")] = None,
            as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False) -> None:
    """成本分析整改 Cost reviews: status, measure and due date, each round and the follow-up."""
    try:
        with session_scope() as session:
            found = [describe(review, rounds_of(session, review)) for review in list_reviews(session, month)]
    except ValueError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    if not found:
        typer.echo("没有成本分析整改 / no cost reviews" + (f" for {month}" if month else ""))
        return
    for review in found:
        typer.echo(f"{review['businessKey']}  {review['centreName']}  {review['value']} (target "
                   f"{review['target']})  {review['status']}  rounds {len(review['rounds'])}")
        if review["measure"]:
            typer.echo(f"    measure: {review['measure']}  due {review['dueOn']}  accepted by {review['acceptedBy']}")
        if review["followUp"]:
            follow = review["followUp"]
            typer.echo(f"    {follow['month']}: {follow['value']} — {follow['outcome']}")


def register(app: typer.Typer) -> None:
    """Add ``reviews`` to the ``smartfin cost`` group (opening the group when nobody has yet)."""
    for info in app.registered_groups:
        if info.name == GROUP and info.typer_instance is not None:
            info.typer_instance.command("reviews")(reviews)
            return
    group = typer.Typer(no_args_is_help=True, help="成本核算 Cost accounting.")
    group.command("reviews")(reviews)
    app.add_typer(group, name=GROUP)
