"""``smartfin notify run|prefs|outbox|digest``: the notifier service, users' preferences and the outbox.

The requester of a document is looked up here, where the processes' tables may be imported: the notify
package sits below the processes and receives the lookup as a function.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session, col, select

from smartfin.kernel.background import ManagedService
from smartfin.kernel.clock import utc_now
from smartfin.kernel.exits import ExitCode
from smartfin.kernel.settings import Settings, get_settings
from smartfin.store.db import session_scope

notify_app = typer.Typer(no_args_is_help=True, help="Notifications by e-mail and chat robot (通知).")


def register(app: typer.Typer) -> None:
    """Add the ``notify`` command group to the ``smartfin`` CLI."""
    app.add_typer(notify_app, name="notify")


def document_requester(session: Session, document_type: str, document_no: str) -> str | None:
    """The engine user a document belongs to, from its process's table (never from process variables)."""
    from smartfin.processes.adjustment.adjustments import DOCUMENT_TYPE as ADJUSTMENT
    from smartfin.processes.adjustment.adjustments import BudgetAdjustment
    from smartfin.processes.compilation.records import DOCUMENT_TYPE as COMPILATION
    from smartfin.processes.compilation.records import budget_office, fiscal_year_of
    from smartfin.processes.procurement.proposals import DOCUMENT_TYPE as PROPOSAL
    from smartfin.processes.procurement.proposals import EquipmentProposalRecord
    from smartfin.processes.reimbursement.claims import DOCUMENT_TYPE as CLAIM
    from smartfin.processes.reimbursement.claims import Claim
    from smartfin.processes.spending.requests import DOCUMENT_TYPE as REQUEST
    from smartfin.processes.spending.requests import SpendingRequest

    if document_type == REQUEST:
        request = session.get(SpendingRequest, document_no)
        return request.requester if request else None
    if document_type == CLAIM:
        claim = session.get(Claim, document_no)
        return claim.claimant if claim else None
    if document_type == PROPOSAL:
        proposal = session.get(EquipmentProposalRecord, document_no)
        return proposal.proposer if proposal else None
    if document_type == ADJUSTMENT:
        adjustment = session.get(BudgetAdjustment, document_no)
        return adjustment.requester if adjustment else None
    if document_type == COMPILATION:
        from smartfin.budgeting import find_round

        found = find_round(session, fiscal_year_of(document_no))
        return budget_office(session, found.fiscal_year) if found else None
    return None


def document_holders(session: Session, process_key: str, task_key: str, business_key: str) -> list[str]:
    """The engine users who act for a task of a document now, from the project's records: for an appeal batch's
    decision, the department's insurance officers (``ins_appeal_officer``) on today's date; else nobody in
    particular (the task's candidates are told)."""
    from smartfin.kernel.clock import hospital_today
    from smartfin.processes.insuranceappeal.appeals import DECIDE_TASK, PROCESS_KEY, batch_by_key, officers_of

    if (process_key, task_key) != (PROCESS_KEY, DECIDE_TASK):
        return []
    try:
        batch = batch_by_key(session, business_key)
    except LookupError:
        return []
    return officers_of(session, batch.department, hospital_today())


def uses_demo_sink(settings: Settings) -> bool:
    """The demo (demo users on) without a configured mail server mails into the local sink, when it is installed."""
    from importlib.util import find_spec

    return settings.engine_demo and settings.notify.smtp_host is None and find_spec("aiosmtpd") is not None


def notifier_service(settings: Settings) -> ManagedService:
    """The notifier as one background process (`smartfin notify run`), started by `smartfin up`; in the demo it
    mails into the local sink."""
    env = ({"SMARTFIN_NOTIFY_SMTP_HOST": "127.0.0.1", "SMARTFIN_NOTIFY_SMTP_PORT": str(settings.notify.demo_mail_port),
            "SMARTFIN_NOTIFY_SMTP_SECURITY": "none"} if uses_demo_sink(settings) else {})
    return ManagedService(name="notifier", argv=[sys.executable, "-m", "smartfin.app.cli", "notify", "run"],
                          settings=settings, healthy=lambda: True, env=env)


def mailbox(settings: Settings) -> Path:
    return settings.var_dir / "notify" / "mailbox"


def mail_sink_service(settings: Settings) -> ManagedService:
    """The demo's local mail sink (`smartfin notify sink`): every mail kept as an .eml file under var/."""
    def healthy() -> bool:
        with socket.socket() as probe:
            probe.settimeout(1)
            return probe.connect_ex(("127.0.0.1", settings.notify.demo_mail_port)) == 0

    return ManagedService(name="mailsink", argv=[sys.executable, "-m", "smartfin.app.cli", "notify", "sink"],
                          settings=settings, healthy=healthy)


@notify_app.command("run")
def run() -> None:
    """Run the notifier in the foreground until SIGTERM/SIGINT (``smartfin up`` starts it)."""
    from smartfin.camunda.client import EngineClient
    from smartfin.camunda.runtime import configure_logging
    from smartfin.notify.notifier import Notifier

    configure_logging()
    settings = get_settings()
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    engine = EngineClient.from_settings(settings)
    try:
        Notifier(settings, engine, document_requester, holders_of=document_holders).run(stop)
    finally:
        engine.close()


@notify_app.command("prefs")
def prefs(
    user: Annotated[str, typer.Argument(help="engine user id")],
    email: Annotated[str | None, typer.Option(help="address for mails (empty = the engine profile's)")] = None,
    webhook: Annotated[str | None, typer.Option(help="on|off: mention the user in the chat robot's posts")] = None,
    digest: Annotated[str | None, typer.Option(help="immediate|daily: new tasks at once or in one daily mail")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the stored preferences as JSON")] = False,
) -> None:
    """Show or set one user's notification preferences, as the logged-in user (``smartfin login``).

    Users change their own; only an engine administrator changes someone else's — otherwise anyone could send a
    colleague's tasks to an address of their choosing. Every change is audited.
    """
    from smartfin.camunda.client import EngineClient, EngineError
    from smartfin.camunda.login import LoginError, groups_of, logged_in_client
    from smartfin.notify.notifier import PreferenceRefused, set_preference
    from smartfin.notify.tables import NotificationPreference
    from smartfin.processes.delegations import ADMIN_GROUP
    from smartfin.store.audit import record_audit

    if webhook is not None and webhook not in ("on", "off"):
        typer.secho(f"error: --webhook must be on or off, not {webhook!r}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.USAGE)
    service = EngineClient.from_settings()
    try:
        client = logged_in_client()
        acting = str(client.user)
        client.close()
        if acting != user and not any(g["id"] == ADMIN_GROUP for g in groups_of(service, acting)):
            typer.secho(f"error: {acting} may set only their own notification preferences, not {user}'s",
                        fg=typer.colors.RED, err=True)
            raise typer.Exit(ExitCode.REFUSED)
        if not service.get("/user", id=user):
            typer.secho(f"error: no engine user {user!r}", fg=typer.colors.RED, err=True)
            raise typer.Exit(ExitCode.REFUSED)
        with session_scope() as session:
            if email is None and webhook is None and digest is None:
                row = session.get(NotificationPreference, user)
            else:
                row = set_preference(session, user=user, actor=acting, email=email,
                                     webhook=None if webhook is None else webhook == "on", digest=digest)
                record_audit(session, actor=acting, action="notify-preferences-set", subject_type="user",
                             subject_id=user, details={"email": row.email, "webhook": row.webhook,
                                                       "digest": row.digest})
            shown = {"user": user, "email": row.email if row else None, "webhook": row.webhook if row else True,
                     "digest": row.digest if row else "immediate"}
    except (PreferenceRefused, EngineError, LoginError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    finally:
        service.close()
    if as_json:
        typer.echo(json.dumps(shown, ensure_ascii=False))
    else:
        typer.echo(f"{user}: e-mail {shown['email'] or '(engine profile)'}, webhook "
                   f"{'on' if shown['webhook'] else 'off'}, digest {shown['digest']}")


@notify_app.command("outbox")
def outbox(
    status: Annotated[str | None, typer.Option(help="pending|sent|failed")] = None,
    limit: Annotated[int, typer.Option(help="newest rows shown")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines")] = False,
) -> None:
    """List the newest outbox rows: who, which channel, status, attempts and the last error."""
    from smartfin.notify.tables import NotificationEvent, NotificationOutbox

    with session_scope() as session:
        query = select(NotificationOutbox, NotificationEvent).where(
            NotificationOutbox.event_id == NotificationEvent.id)
        if status:
            query = query.where(NotificationOutbox.status == status)
        rows = session.exec(query.order_by(col(NotificationOutbox.id).desc()).limit(limit)).all()
    for row, event in rows:
        shown = {"id": row.id, "event": event.event_key, "kind": event.kind, "subject": event.subject,
                 "recipient": row.recipient, "channel": row.channel, "status": row.status, "digest": row.digest,
                 "attempts": row.attempts, "last_error": row.last_error}
        if as_json:
            typer.echo(json.dumps(shown, ensure_ascii=False))
        else:
            typer.echo(f"{row.id:>6} {row.status:<8} {row.channel:<8} {row.recipient:<16} {event.subject:<20} "
                       f"tries {row.attempts} {row.last_error or ''}".rstrip())


@notify_app.command("digest")
def digest() -> None:
    """Send the daily digest now, for everything held for it (the notifier sends it at SMARTFIN_NOTIFY_DIGEST_AT)."""
    from smartfin.notify.channels import configured_channels
    from smartfin.notify.delivery import send_digests

    settings = get_settings()
    done = send_digests(settings, configured_channels(settings), force=True)
    typer.echo(f"digest: {done.sent} mails sent, {len(done.failed)} failed")
    if done.failed:
        raise typer.Exit(ExitCode.REFUSED)


@notify_app.command("sink")
def sink(port: Annotated[int | None, typer.Option(help="default SMARTFIN_NOTIFY_DEMO_MAIL_PORT")] = None) -> None:
    """A local mail sink for the demo: accepts every mail on 127.0.0.1 and keeps it in var/notify/mailbox/."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        typer.secho("error: the mail sink needs aiosmtpd (a development dependency: pip install -e '.[dev]')",
                    fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    settings = get_settings()
    folder = mailbox(settings)
    folder.mkdir(parents=True, exist_ok=True)

    class Keep:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            content = getattr(envelope, "content", b"")
            name = f"{utc_now().strftime('%Y%m%dT%H%M%S%f')}-{len(list(folder.iterdir())):05d}.eml"
            (folder / name).write_bytes(content if isinstance(content, bytes) else str(content).encode())
            return "250 OK"

    controller = Controller(Keep(), hostname="127.0.0.1", port=port or settings.notify.demo_mail_port,
                            ready_timeout=30.0)
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    controller.start()
    typer.echo(f"mail sink on 127.0.0.1:{controller.port}, mails in {folder}")
    try:
        stop.wait()
    finally:
        controller.stop()

