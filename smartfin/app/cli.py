"""The ``smartfin`` command: run the engine and workers, deploy models, submit and follow requests.

Every command fails with one readable line saying what went wrong and where to look (a log file, a
field name); tracebacks are for bugs, not for bad input or a stopped engine. The exit status says which
kind of failure it was (``smartfin.kernel.exits.ExitCode``): this module is the one place that maps the
exceptions escaping a command onto it — see ``SmartfinGroup``.
"""

from __future__ import annotations

import importlib
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from smartfin.app import cluster_stack, stack, wiring
from smartfin.app.progress import working
from smartfin.camunda.client import EngineClient, EngineError
from smartfin.camunda.deploy import ModelError, deploy
from smartfin.kernel.background import ServiceError
from smartfin.kernel.exits import ExitCode
from smartfin.kernel.jsontext import to_json
from smartfin.kernel.money import InvalidAmount
from smartfin.kernel.settings import get_settings
from smartfin.kernel.spreadsheet import ExportExists, ExportRefused
from smartfin.ledger import BudgetError, import_budget
from smartfin.processes.documents import Refused, SubmissionRefused
from smartfin.processes.spending.requests import InvalidRequest, submit_spending_request

#: failures that are the situation, not a bug: one line, no traceback, exit ``ExitCode.REFUSED``
EXPECTED_ERRORS = (Refused, SubmissionRefused, EngineError, ServiceError, ModelError, InvalidRequest, BudgetError,
                   ExportRefused, InvalidAmount)


def refusal_message(exc: BaseException) -> str:
    """The one line a refusal prints; an export in the way says how to replace it."""
    hint = " (add --force to replace it)" if isinstance(exc, ExportExists) and "--force" not in str(exc) else ""
    return f"error: {exc}{hint}"


class SmartfinGroup(TyperGroup):
    """The root command group: every command and subgroup runs inside its ``invoke``, so what escapes a
    command is turned into an exit status here, once.

    Usage errors (typer's own checks, ``typer.BadParameter``) and explicit exits pass through unchanged
    (exit 2 and the command's own code); an expected refusal (``EXPECTED_ERRORS``) prints one line and exits
    ``REFUSED``; anything else is a bug: its traceback is printed and the exit status is ``INTERNAL``.
    """

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except EXPECTED_ERRORS as exc:
            typer.secho(refusal_message(exc), fg=typer.colors.RED, err=True)
            raise typer.Exit(ExitCode.REFUSED) from None
        except Exception as exc:
            traceback.print_exception(exc)
            typer.secho(f"internal error: {type(exc).__name__}: {exc} (a bug: please report the traceback above)",
                        fg=typer.colors.RED, err=True)
            raise typer.Exit(ExitCode.INTERNAL) from None


def installed_version() -> str:
    """The version of the installed ``smartfin`` distribution (its package metadata), as `--version` prints it."""
    try:
        return version("smartfin")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"smartfin {installed_version()}")
        raise typer.Exit()


app = typer.Typer(cls=SmartfinGroup, no_args_is_help=True,
                  help="SmartFin: finance workflows for public hospitals on a Camunda 7 engine.")


@app.callback()
def _root(version_flag: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="print the installed version and exit")] = False) -> None:
    """SmartFin: finance workflows for public hospitals on a Camunda 7 engine."""


@contextmanager
def _friendly_errors() -> Iterator[None]:
    try:
        yield
    except EXPECTED_ERRORS as exc:
        typer.secho(refusal_message(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None


def _progress(message: str) -> None:
    typer.echo(f"  {message}", err=True)


@app.command()
def up(workers: Annotated[bool, typer.Option(help="also start the workers in the background")] = True,
       profile: Annotated[str, typer.Option(help="`single` (embedded databases, one engine) or `cluster` "
                                            "(PostgreSQL, engine nodes, HAProxy; README: production form)")]
       = "single") -> None:
    """Build the engine if needed, start the services in the background, deploy the models."""
    with _friendly_errors(), working("启动 Starting SmartFin (engine build, services, models)",
                                     unwatched=_progress) as progress:
        settings = get_settings()
        if profile not in ("single", "cluster"):
            raise typer.BadParameter(f"unknown profile {profile!r}: use single or cluster", param_hint="--profile")
        if profile == "cluster":
            cluster_stack.bring_up_cluster(settings, typer.echo, progress, workers=workers)
            tasklist = cluster_stack.client_settings(settings).tasklist_url
        else:
            stack.bring_up(settings, typer.echo, progress, workers=workers)
            tasklist = settings.tasklist_url
    typer.echo(f"Tasklist: {tasklist}")


@app.command()
def down() -> None:
    """Stop every service started by `up`, workers first."""
    if cluster_stack.cluster_active(get_settings()):
        for name, stopped in cluster_stack.take_down(get_settings()):
            typer.echo(f"{name}: {'stopped' if stopped else 'was not running'}")
        return
    for service in reversed(stack.stack_services(get_settings())):
        stopped = service.stop()
        typer.echo(f"{service.name}: {'stopped' if stopped else 'was not running'}")


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of text")] = False,
           ) -> None:
    """Show what runs, whether the engine answers, and what is deployed."""
    with _friendly_errors():
        settings = get_settings()
        if cluster_stack.cluster_active(settings):
            pieces = cluster_stack.health(settings)
            if as_json:
                typer.echo(to_json({"profile": "cluster", "pieces": [
                    {"name": name, "state": state, "address": address} for name, state, address in pieces]}))
                return
            typer.echo("profile  cluster")
            for name, state, address in pieces:
                typer.echo(f"{name:10} {state:34} {address}")
            return
        if as_json:
            typer.echo(to_json(_status_document(settings)))
            return
        for service in stack.stack_services(settings):
            pid = service.pid()
            state = f"running (pid {pid})" if pid else "stopped"
            typer.echo(f"{service.name:8} {state}   log: {service.log_file}")
        try:
            engine = EngineClient.from_settings(settings)
            typer.echo(f"engine   Camunda {engine.version()} at {settings.engine_rest_url}")
            for definition in engine.get("/process-definition", latestVersion="true"):
                typer.echo(f"  process {definition['key']} v{definition['version']}")
        except EngineError as exc:
            typer.echo(f"engine   not answering: {exc}")


def _status_document(settings: Any) -> dict[str, Any]:
    """`status --json`: each service with its pid and log, and the engine's version and deployed processes."""
    services = [{"name": s.name, "running": s.pid() is not None, "pid": s.pid(), "log": str(s.log_file)}
                for s in stack.stack_services(settings)]
    try:
        engine = EngineClient.from_settings(settings)
        answer: dict[str, Any] = {
            "url": settings.engine_rest_url, "version": engine.version(),
            "processes": [{"key": d["key"], "version": d["version"]}
                          for d in engine.get("/process-definition", latestVersion="true")]}
    except EngineError as exc:
        answer = {"url": settings.engine_rest_url, "error": str(exc)}
    return {"services": services, "engine": answer}


@app.command()
def logs(service: Annotated[str, typer.Argument(help="a service named by `smartfin status`")] = "engine",
         lines: Annotated[int, typer.Option("-n", help="how many lines")] = 50) -> None:
    """Print the last lines of a service's log."""
    settings = get_settings()
    services = ({p.service.name: p.service for p in cluster_stack.pieces(settings)}
                if cluster_stack.cluster_active(settings) else {s.name: s for s in stack.stack_services(settings)})
    if service not in services:
        typer.secho(f"error: unknown service {service!r}; use one of {sorted(services)}", err=True)
        raise typer.Exit(ExitCode.USAGE)
    typer.echo(services[service].tail(lines))


@app.command(name="deploy")
def deploy_command() -> None:
    """Deploy BPMN, DMN and forms from bpmn/ and rules/; only changed units get new versions."""
    with _friendly_errors():
        _deploy_and_report(EngineClient.from_settings())


def _deploy_and_report(engine: EngineClient) -> None:
    result = deploy(engine)
    if result.deployment_id:
        typer.echo(f"deployed {len(result.deployed)} resources (deployment {result.deployment_id}):")
        for name in result.deployed:
            typer.echo(f"  + {name}")
    else:
        typer.echo(f"models unchanged ({len(result.unchanged)} resources already deployed)")


@app.command()
def worker(
    topics: Annotated[str | None, typer.Option(help="comma-separated topics (default: all)")] = None,
    registry: Annotated[str | None, typer.Option(help="module:attribute of another registry")] = None,
    concurrency: Annotated[int | None, typer.Option(help="tasks handled at once")] = None,
    grace: Annotated[float, typer.Option(help="seconds to finish tasks in hand after SIGTERM")] = 30.0,
) -> None:
    """Run the external-task workers in the foreground until SIGTERM/SIGINT."""
    from smartfin.app.wiring import product_registry
    from smartfin.camunda.runtime import TopicRegistry, Worker, configure_logging

    configure_logging()
    with _friendly_errors():
        if registry:
            module_name, _, attribute = registry.partition(":")
            chosen = getattr(importlib.import_module(module_name), attribute or "registry")
            chosen = chosen() if callable(chosen) else chosen
        else:
            chosen = product_registry()
        assert isinstance(chosen, TopicRegistry)
        if topics:
            chosen = chosen.only([t.strip() for t in topics.split(",") if t.strip()])
        runner = Worker(chosen, max_concurrency=concurrency, grace_s=grace)
        runner.install_signal_handlers()
        runner.run()


@app.command()
def login(user: Annotated[str | None, typer.Option(help="your engine user id (asked when left out)")] = None) -> None:
    """Log in to the engine as yourself; commands that submit or withdraw then act as you."""
    from smartfin.camunda import login as logins

    with _friendly_errors():
        user = user or typer.prompt("engine user")
        password = typer.prompt(f"password of {user}", hide_input=True)
        logins.login(user.strip(), password)
        typer.echo(f"logged in as {user.strip()} (kept in {logins.credential_path()}, readable only by you)")


@app.command()
def logout() -> None:
    """Forget the engine login kept by `smartfin login`."""
    from smartfin.camunda import login as logins

    with _friendly_errors():
        typer.echo("logged out" if logins.clear_credential() else "not logged in")


@app.command()
def whoami() -> None:
    """Show the logged-in engine user and the engine groups they belong to."""
    from smartfin.camunda import login as logins

    with _friendly_errors():
        client = logins.logged_in_client()
        user = str(client.user)
        client.close()
        groups = logins.groups_of(EngineClient.from_settings(), user)
        typer.echo(user)
        for group in groups:
            typer.echo(f"  {group['id']}  {group.get('name') or ''}".rstrip())


def _acting_engine() -> EngineClient:
    """The logged-in user's engine client (`smartfin login`); refused with a hint when there is none."""
    from smartfin.camunda.login import logged_in_client

    return logged_in_client()


@app.command(name="submit-request")
def submit_request(
    department: Annotated[str, typer.Option(help="department (cost centre) code, e.g. CARD")],
    category: Annotated[str, typer.Option(help="expense category, e.g. materials, meeting, travel")],
    amount: Annotated[str, typer.Option(help="amount in yuan, at most two decimals")],
    payee: Annotated[str, typer.Option(help="who is paid")],
    purpose: Annotated[str, typer.Option(help="what the money is for")],
    requester: Annotated[str | None, typer.Option(
        help="proxy entry (代录) only: the engine user the request is for; default: you")] = None,
    funding_source: Annotated[str, typer.Option(help="fiscal, own, research or earmarked")] = "fiscal",
    project: Annotated[str, typer.Option(help="project code, if the line has one")] = "",
    request_no: Annotated[str | None, typer.Option(help="document number (default: next REQ-YYYY-n)")] = None,
) -> None:
    """Submit a spending request as the logged-in user: validated, checked for a budget line, then started."""
    with _friendly_errors():
        number = submit_spending_request({
            "department": department, "category": category, "amount": amount, "payee": payee,
            "purpose": purpose, "requester": requester, "fundingSource": funding_source,
            "project": project}, request_no=request_no, engine=_acting_engine())
        typer.echo(f"submitted {number}")


@app.command()
def withdraw(request_no: Annotated[str, typer.Argument(help="the request number")]) -> None:
    """Withdraw your request (or one you entered as proxy) while it is in approval or sent back for revision."""
    from smartfin.processes.spending.requests import withdraw_request

    with _friendly_errors():
        user = _acting_engine()
        try:
            withdraw_request(request_no, by=str(user.user))
        finally:
            user.close()
        typer.echo(f"withdrawn {request_no}")


@app.command(name="import-budget")
def import_budget_command(path: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GBK) or .xlsx")],
                          actor: Annotated[str, typer.Option(help="who imports")] = "finance") -> None:
    """Import budget lines; a file with any bad row changes nothing and every bad row is listed."""
    from smartfin.store.db import session_scope

    with _friendly_errors():
        if not path.exists():
            raise Refused(f"{path}: no such file")
        with working(f"导入 Importing {path.name}"), session_scope() as session:
            report = import_budget(session, path, actor=actor)
        _print_import(report)
        if not report.ok:
            raise typer.Exit(ExitCode.REFUSED)


def _print_import(report: Any) -> None:
    if report.ok:
        typer.echo(f"{report.source}: {report.rows} rows, {report.lines_created} lines created, "
                   f"{report.budgets_posted} budgets posted (total ¥{report.total_budget}), "
                   f"{report.unchanged} unchanged")
        return
    typer.secho(f"{len(report.errors)} rows rejected; nothing was imported:", fg=typer.colors.RED, err=True)
    for issue in report.errors:
        typer.echo(f"  row {issue.row}, column {issue.column}: {issue.reason}", err=True)


@app.command()
def demo(requests_only: Annotated[bool, typer.Option(
        help="only add the demo data (the services already run)")] = False) -> None:
    """The main job on the embedded defaults: the services, demo data for each capability, and what each demo
    user opens where."""
    from smartfin.app import demo as demo_module

    with _friendly_errors():
        try:
            demo_module.run(echo=typer.echo, progress=_progress, requests_only=requests_only)
        except demo_module.DemoError as exc:
            if exc.__cause__ is not None and not isinstance(exc.__cause__, EXPECTED_ERRORS):
                traceback.print_exception(exc.__cause__)  # the failing step's own traceback, for whoever fixes it
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(ExitCode.REFUSED) from None


wiring.register_commands(app)


def main() -> None:
    """The installed ``smartfin`` command: warnings and errors of every module reach the terminal, then the
    command runs (a bare ``app()`` would leave logging unconfigured)."""
    logging.basicConfig(level=logging.WARNING)
    app()


if __name__ == "__main__":
    main()
