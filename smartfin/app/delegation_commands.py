"""``smartfin delegation grant|revoke|list|sync``: deputies (授权代理人) recorded with a validity period.

Grant and revoke act as the logged-in engine user (``smartfin login``): the delegator is that user, and only
an administrator (``camunda-admin``) grants for someone else. Each grant and revocation is audited with the
row, and the engine's deputy groups are brought up to date by the service account right after it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from smartfin.camunda.client import EngineClient, EngineError
from smartfin.camunda.login import groups_of, logged_in_client
from smartfin.kernel.exits import ExitCode
from smartfin.processes.delegations import (
    ADMIN_GROUP,
    DelegationRefused,
    SyncReport,
    as_json,
    default_start,
    delegations,
    engine_directory,
    grant_delegation,
    parse_instant,
    revoke_delegation,
    sync_deputy_groups,
)
from smartfin.store.db import session_scope

delegation_app = typer.Typer(no_args_is_help=True, help="Delegations to deputies (授权代理).")


def register(app: typer.Typer) -> None:
    """Add the ``delegation`` command group to the ``smartfin`` CLI."""
    app.add_typer(delegation_app, name="delegation")


@contextmanager
def _one_line_errors() -> Iterator[None]:
    try:
        yield
    except (DelegationRefused, EngineError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None


def _acting_user(service: EngineClient) -> tuple[str, bool]:
    """The logged-in user and whether they administer the engine (asked as the service account)."""
    client = logged_in_client()
    try:
        user = str(client.user)
    finally:
        client.close()
    return user, any(g["id"] == ADMIN_GROUP for g in groups_of(service, user))


def _sync(service: EngineClient) -> SyncReport:
    with session_scope() as session:
        return sync_deputy_groups(session, service)


@delegation_app.command("grant")
def grant(
    deputy: Annotated[str, typer.Option(help="engine user who may sign for you")],
    group: Annotated[list[str], typer.Option(help="candidate group the deputy may sign for (repeatable); "
                                        "dept-head covers your own department's dept-head.<code>")],
    to: Annotated[str, typer.Option("--to", help="last day (YYYY-MM-DD, included) or ISO time it ends")],
    reason: Annotated[str, typer.Option(help="why (leave, travel …)")],
    start: Annotated[str | None, typer.Option("--from", help="first day (YYYY-MM-DD) or ISO time; default now")
                     ] = None,
    delegator: Annotated[str | None, typer.Option(help="administrators only: grant for this user")] = None,
) -> None:
    """Record a deputy for your candidate group(s), at most one year; audited and mirrored into the engine."""
    with _one_line_errors():
        service = EngineClient.from_settings()
        actor, admin = _acting_user(service)
        valid_from = parse_instant(start, end_of_day=False) if start else default_start()
        valid_to = parse_instant(to, end_of_day=True)
        with session_scope() as session:
            row = grant_delegation(session, engine_directory(service, session), actor=actor, actor_is_admin=admin,
                                   delegator=delegator or actor, deputy=deputy.strip(),
                                   groups=[g for item in group for g in item.split(",")],
                                   valid_from=valid_from, valid_to=valid_to, reason=reason)
            number, groups = row.id, row.covered
        _sync(service)
        typer.echo(f"delegation {number}: {deputy} may sign for {delegator or actor} in {', '.join(groups)} "
                   f"from {valid_from.isoformat()} until {valid_to.isoformat()}")


@delegation_app.command("revoke")
def revoke(delegation_id: Annotated[int, typer.Argument(help="the delegation number")]) -> None:
    """End a delegation now (its delegator, whoever granted it, or an administrator); audited."""
    with _one_line_errors():
        service = EngineClient.from_settings()
        actor, admin = _acting_user(service)
        with session_scope() as session:
            revoke_delegation(session, delegation_id, actor=actor, actor_is_admin=admin)
        _sync(service)
        typer.echo(f"delegation {delegation_id} revoked")


@delegation_app.command("list")
def list_command(
    all_rows: Annotated[bool, typer.Option("--all", help="also those ended or revoked")] = False,
    as_json_flag: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
) -> None:
    """Delegations in force (or all of them), newest first."""
    with session_scope() as session:
        rows = [as_json(row) for row in delegations(session, include_ended=all_rows)]
    if as_json_flag:
        typer.echo(json.dumps({"delegations": rows}, ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo("no delegations")
        return
    for row in rows:
        state = "active" if row["active"] else ("revoked" if row["revoked_at"] else "not in force")
        typer.echo(f"{row['id']:>5}  {row['delegator']} → {row['deputy']}  {','.join(row['groups'])}  "
                   f"{row['valid_from']} – {row['valid_to']}  {state}  {row['reason']}")


@delegation_app.command("sync")
def sync() -> None:
    """Bring the engine's deputy groups in line with the delegations in force now (run it regularly)."""
    with _one_line_errors():
        report = _sync(EngineClient.from_settings())
        typer.echo(f"deputy groups: {len(report.created)} created, {len(report.deleted)} deleted, "
                   f"{len(report.added)} memberships added, {len(report.removed)} removed")
