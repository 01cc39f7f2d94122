"""``smartfin insurance``: import settlement and clearing files, reconcile a day, list exceptions, age the
receivables, batch refusals and deductions for appeal. The month's clearing with the bank receipts is the
``insurance-monthly`` flow (`smartfin flows run insurance-monthly --month YYYY-MM`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import col, select

from extractors.insurance import KINDS, InsuranceFileError
from smartfin.app.progress import working
from smartfin.insurance.report import EXCEPTION_LABELS, yuan
from smartfin.insurance.runs import aging_report, batch_appeals, run_daily
from smartfin.insurance.store import run_exceptions
from smartfin.insurance.tables import AppealBatch, InsuranceException, InsuranceRun
from smartfin.kernel.clock import hospital_today, month_days
from smartfin.kernel.exits import ExitCode
from smartfin.kernel.jsontext import to_json
from smartfin.kernel.money import from_fen
from smartfin.kernel.settings import get_settings
from smartfin.store.db import session_scope

insurance_app = typer.Typer(no_args_is_help=True, help="Medical-insurance settlement reconciliation (医保对账).")
appeals_app = typer.Typer(no_args_is_help=True, help="Refused and deducted items batched for appeal (拒付申诉).")
insurance_app.add_typer(appeals_app, name="appeals")
MAX_LISTED = 50


def register(app: typer.Typer) -> None:
    """Add the ``insurance`` command group to the ``smartfin`` CLI."""
    app.add_typer(insurance_app, name="insurance")


def _fail(message: str, code: ExitCode = ExitCode.REFUSED) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


DAY_KINDS = ("his", "platform", "platform_total")


def _period(kind: str, period: str) -> str:
    daily = kind in DAY_KINDS
    try:
        if daily:
            return date.fromisoformat(period).isoformat()
        month_days(period)
        return period
    except ValueError:
        expected = "day YYYY-MM-DD" if daily else "month YYYY-MM"
        raise _fail(f"{period!r} is not a {expected} (a {kind} file is for one)", ExitCode.USAGE) from None


@insurance_app.command("import")
def import_command(
    kind: Annotated[str, typer.Argument(help=f"one of: {', '.join(KINDS)}")],
    path: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GBK) or .xlsx")],
    period: Annotated[str, typer.Option(help="the day (YYYY-MM-DD) or month (YYYY-MM) the file is for")],
    actor: Annotated[str, typer.Option(help="who imports")] = "finance",
) -> None:
    """Import one file whole (replacing that kind's earlier file of the period), or refuse it naming every
    bad row and column."""
    from smartfin.insurance.store import import_file

    if kind not in KINDS:
        raise _fail(f"unknown kind {kind!r} (use {', '.join(KINDS)})", ExitCode.USAGE)
    if not path.exists():
        raise _fail(f"{path}: no such file")
    chosen = _period(kind, period)
    try:
        with working(f"导入 Importing {path.name}"), session_scope() as session:
            record = import_file(session, kind, path.read_bytes(), file=path.name, period=chosen,
                                 hospital=get_settings().flows.hospital, actor=actor)
            rows = record.row_count
    except InsuranceFileError as exc:
        typer.secho(f"{path.name}: refused, nothing was imported:", fg=typer.colors.RED, err=True)
        for problem in exc.problems[:MAX_LISTED]:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    typer.echo(f"{path.name}: {rows} rows of {kind} for {chosen}")


@insurance_app.command("daily")
def daily_command(day: Annotated[str, typer.Option("--date", help="the day YYYY-MM-DD")],
                  actor: Annotated[str, typer.Option(help="who runs it")] = "finance") -> None:
    """Reconcile a day's imported HIS and platform files (the insurance-daily flow also imports them)."""
    chosen = date.fromisoformat(_period("his", day))
    with session_scope() as session:
        run, _ = run_daily(session, chosen, hospital=get_settings().flows.hospital, actor=actor)
        typer.echo(f"insurance {chosen}: {run.status}, {run.exception_count} exceptions (run {run.id})")
        for key, value in sorted(run.summary.items()):
            typer.echo(f"  {key}: {value}")


@insurance_app.command("exceptions")
def exceptions_command(period: Annotated[str, typer.Option(help="a day YYYY-MM-DD or a month YYYY-MM")],
                       as_json: Annotated[bool, typer.Option("--json", help="every exception as one JSON document")]
                       = False) -> None:
    """List a day's or a month's exceptions with their status."""
    kind = "daily" if len(period) == 10 else "monthly"
    with session_scope() as session:
        run = session.exec(select(InsuranceRun).where(InsuranceRun.kind == kind, InsuranceRun.period == period,
                                                      InsuranceRun.hospital == get_settings().flows.hospital)
                           ).first()
        if run is None:
            raise _fail(f"no {kind} insurance run for {period}")
        if as_json:
            rows = session.exec(select(InsuranceException).where(InsuranceException.run_id == run.id)
                                .order_by(col(InsuranceException.id))).all()
            typer.echo(to_json({"kind": kind, "period": period, "status": run.status, "exceptions": [
                {"id": e.id, "type": e.type, "label": EXCEPTION_LABELS.get(e.type, e.type),
                 "settlement_id": e.settlement_id, "insurance_type": e.insurance_type, "component": e.component,
                 "his": None if e.his_fen is None else from_fen(e.his_fen),
                 "other": None if e.other_fen is None else from_fen(e.other_fen), "detail": e.detail,
                 "status": e.status, "resolution": e.resolution, "resolved_by": e.resolved_by} for e in rows]}))
            return
        frame = run_exceptions(session, run.id or 0)
    typer.echo(f"insurance {kind} {period}: {run.status}, {len(frame)} exceptions")
    for r in frame.head(MAX_LISTED).to_dict("records"):
        typer.echo(f"  [{r['status']}] {EXCEPTION_LABELS.get(r['type'], r['type'])} "
                   f"{r['settlement_id'] or r['insurance_type'] or ''}: {r['detail']}")
    if len(frame) > MAX_LISTED:
        typer.echo(f"  … and {len(frame) - MAX_LISTED} more (the run's workbook lists them all)")


@insurance_app.command("aging")
def aging_command(as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today)")] = None,
                  as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of text")] = False,
                  ) -> None:
    """Outstanding insurance receivables per insurance type and age (0–30, 31–60, 61–90, > 90 days)."""
    day = date.fromisoformat(as_of) if as_of else hospital_today()
    with session_scope() as session:
        table = aging_report(session, day)
    if as_json:
        typer.echo(to_json({"as_of": day, "receivables": [
            {"insurance_type": r["insurance_type"],
             **{b: from_fen(int(r[b])) for b in ("0-30", "31-60", "61-90", ">90")},
             "outstanding": from_fen(int(r["outstanding_fen"])), "retention": from_fen(int(r["retention_fen"]))}
            for r in table.to_dict("records")]}))
        return
    typer.echo(f"insurance receivables on {day}")
    for r in table.to_dict("records"):
        buckets = "  ".join(f"{b}: {yuan(r[b])}" for b in ("0-30", "31-60", "61-90", ">90"))
        typer.echo(f"  {r['insurance_type']:9} {buckets}  outstanding {yuan(r['outstanding_fen'])}  "
                   f"retention {yuan(r['retention_fen'])}")


@appeals_app.command("batch")
def appeals_batch(month: Annotated[str, typer.Option(help="YYYY-MM")],
                  actor: Annotated[str, typer.Option(help="who batches")] = "finance") -> None:
    """Batch the month's open refused and deducted items per department (items already batched stay put)."""
    _period("clearing", month)
    with session_scope() as session:
        batches = batch_appeals(session, month, actor=actor)
        lines = [f"  {b.business_key}: {b.item_count} items, {yuan(b.amount_fen)}" for b in batches]
    typer.echo(f"{len(lines)} new appeal batches for {month}")
    for line in lines:
        typer.echo(line)


@appeals_app.command("list")
def appeals_list(month: Annotated[str | None, typer.Option(help="YYYY-MM (default: all)")] = None,
                 as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of text")] = False,
                 ) -> None:
    """Appeal batches with their status and what was recovered."""
    with session_scope() as session:
        query = select(AppealBatch).order_by(col(AppealBatch.month), col(AppealBatch.department))
        if month:
            query = query.where(AppealBatch.month == month)
        if as_json:
            typer.echo(to_json({"batches": [
                {"business_key": b.business_key, "month": b.month, "department": b.department, "status": b.status,
                 "items": b.item_count, "amount": from_fen(b.amount_fen), "recovered": from_fen(b.recovered_fen),
                 "recovery_reference": b.recovery_reference} for b in session.exec(query)]}))
            return
        for b in session.exec(query):
            bank = f" (bank {b.recovery_reference})" if b.recovery_reference else ""
            typer.echo(f"{b.business_key}: {b.status}, {b.item_count} items {yuan(b.amount_fen)}, recovered "
                       f"{yuan(b.recovered_fen)}{bank}")
