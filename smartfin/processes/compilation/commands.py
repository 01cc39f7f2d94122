"""``smartfin budget compilation start|contact|contacts|minutes``: start the ``budget-compilation`` process of a
year, keep the departments' budget contacts, attach the approving meetings' minutes.

The commands act as the logged-in engine user (``smartfin login``): finance (finance officers, the chief
accountant) starts the process and names the contacts; a member of a deciding body attaches its minutes.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from smartfin.budgeting import CompilationError, get_round
from smartfin.camunda.client import EngineClient, EngineError
from smartfin.camunda.login import logged_in_client
from smartfin.kernel.clock import hospital_today
from smartfin.kernel.exits import ExitCode
from smartfin.kernel.jsontext import to_json
from smartfin.kernel.settings import get_settings
from smartfin.processes.approvals import members_of
from smartfin.processes.compilation.records import (
    MEETING_BODIES,
    CompilationRefused,
    attach_minutes,
    contacts,
    document_no,
    set_contact,
)
from smartfin.store.db import session_scope

PROCESS_KEY = "budget-compilation"
FINANCE_GROUPS = ("finance-officer", "chief-accountant")
compilation_app = typer.Typer(no_args_is_help=True, help="预算编制流程 The budget-compilation process (两上两下).")


def register(app: typer.Typer) -> None:
    """Add ``compilation`` under the ``smartfin budget`` group (registered before, by the budget commands)."""
    group = next(info.typer_instance for info in app.registered_groups
                 if info.name == "budget" and info.typer_instance is not None)
    group.add_typer(compilation_app, name="compilation")


def _fail(message: object) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(ExitCode.REFUSED)


def _finance_user(service: EngineClient) -> str:
    """The logged-in user, who must be in a finance group (from the engine's identity service)."""
    user = logged_in_client().user
    is_member = members_of(service)
    if not any(is_member(user, group) for group in FINANCE_GROUPS):
        raise _fail(f"{user} is not in {' or '.join(FINANCE_GROUPS)}")
    return user


@compilation_app.command("start")
def start(year: Annotated[int, typer.Option(help="fiscal year whose round finance opened")]) -> None:
    """Start the compilation process of a year (its round opened with ``smartfin budget round open``); after the
    budget office withdrew a sent-back budget from approval, a new start resumes at 二上."""
    service = EngineClient.from_settings(get_settings())
    try:
        actor = _finance_user(service)
        with session_scope() as session:
            get_round(session, year)
        started = service.start_process(PROCESS_KEY, document_no(year), {})
    except (CompilationError, EngineError) as exc:
        raise _fail(exc) from None
    finally:
        service.close()
    typer.echo(f"budget compilation {document_no(year)} started by {actor}: process {started['id']}")


@compilation_app.command("contact")
def contact(department: Annotated[str, typer.Option(help="department code")],
            user: Annotated[str, typer.Option(help="engine user who compiles its budget")]) -> None:
    """Name who compiles a department's budget (预算编制联系人); the latest naming is in force."""
    service = EngineClient.from_settings(get_settings())
    try:
        actor = _finance_user(service)
        if not service.get("/user", id=user):
            raise _fail(f"user {user!r} does not exist in the engine")
        with session_scope() as session:
            set_contact(session, department, user, actor=actor, on=hospital_today())
    except (CompilationRefused, EngineError) as exc:
        raise _fail(exc) from None
    finally:
        service.close()
    typer.echo(f"{department}: budget contact {user}")


@compilation_app.command("contacts")
def contacts_list(as_json: Annotated[bool, typer.Option("--json", help="one JSON object: department → user")]
                  = False) -> None:
    """The budget contact in force of each department."""
    with session_scope() as session:
        found = contacts(session)
    if as_json:
        typer.echo(to_json(dict(found)))
        return
    for department, user in found.items():
        typer.echo(f"{department}\t{user}")


@compilation_app.command("minutes")
def minutes(path: Annotated[Path, typer.Argument(help="the minutes file (PDF, OFD, scan)")],
            year: Annotated[int, typer.Option(help="fiscal year")],
            body: Annotated[str, typer.Option(help=" / ".join(MEETING_BODIES))],
            number: Annotated[str, typer.Option(help="minutes number, as the approval task gives it")],
            meeting_date: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="date of the meeting")]) -> None:
    """Attach a meeting's minutes to the year's compilation, as the logged-in member of that body."""
    if not path.is_file():
        raise _fail(f"{path}: no such file")
    service = EngineClient.from_settings(get_settings())
    try:
        actor = logged_in_client().user
        with session_scope() as session:
            row = attach_minutes(session, year, body, number, meeting_date.date(), path.read_bytes(),
                                 filename=path.name, actor=actor, is_member=members_of(service))
    except (CompilationRefused, EngineError) as exc:
        raise _fail(exc) from None
    finally:
        service.close()
    typer.echo(f"{body} minutes {row.minutes_no} of {row.meeting_date} attached to {document_no(year)} "
               f"(sha256 {row.sha256[:12]})")
