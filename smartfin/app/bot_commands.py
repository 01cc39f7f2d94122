"""Bot commands: post a voucher from a JSON file, download a bank statement, look a posting up.

The same functions the workers call, for a clerk at a terminal or a one-off repair: posting from the
command line is just as idempotent as posting from a process, and a voucher of a document the product
keeps (a claim) is posted as its records justify it, never as the file says.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from bots.config import CredentialsMissing
from bots.errors import BotError
from smartfin.app.implementations import voucher_sources
from smartfin.kernel.exits import ExitCode
from smartfin.kernel.jsontext import to_json
from smartfin.ports.vouchers import InvalidVoucher, Voucher
from smartfin.posting.journal import VoucherRejected, find_entry
from smartfin.posting.sources import VoucherRefused, voucher_as_recorded


class BotCommandError(Exception):
    """A refusal printed as one line (exit code 2)."""


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(ExitCode.REFUSED) from None


def register(app: typer.Typer) -> None:
    """Add the bot commands to the ``smartfin`` CLI."""

    @app.command(name="post-voucher")
    def post_voucher_command(
        path: Annotated[Path, typer.Argument(help="voucher JSON (the `voucher` process variable's shape)")],
    ) -> None:
        """Post one voucher into the ERP — at most once, whatever happened before."""
        from smartfin.app.implementations import post_voucher

        try:
            if not path.exists():
                raise BotCommandError(f"{path}: no such file")
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise BotCommandError(f"{path}: not JSON ({exc})") from exc
            voucher = voucher_as_recorded(voucher_sources(), Voucher.from_variable(data), data, actor="cli",
                                          where={"file": str(path)})
            result = post_voucher(voucher)
        except VoucherRejected as exc:
            _fail(Exception(f"ERP rejected the voucher / 凭证被拒绝: {exc.message} (evidence: {exc.evidence})"))
        except (BotCommandError, InvalidVoucher, BotError, CredentialsMissing, VoucherRefused) as exc:
            _fail(exc)
        how = "found in the ERP (reconciled)" if result.reconciled else "posted"
        if result.already_recorded:
            how = "already posted"
        typer.echo(f"{voucher.external_ref}: {how} as {result.voucher_no} at {result.posted_at_local}")

    @app.command(name="posting-status")
    def posting_status(reference: Annotated[str, typer.Argument(help="external reference, e.g. claim:CLM-1")],
                       as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of text")]
                       = False) -> None:
        """Show the posting journal entry of one voucher reference."""
        entry = find_entry(reference)
        if entry is None:
            _fail(BotCommandError(f"no posting recorded for {reference}"))
            return
        if as_json:
            typer.echo(to_json({k: v for k, v in entry.model_dump().items() if k != "voucher_json"}))
            return
        typer.echo(f"{entry.external_ref}: {entry.state} voucher={entry.voucher_no or '-'} attempts={entry.attempts}"
                   f" evidence={entry.evidence_path or '-'}")
        if entry.message:
            typer.echo(f"  {entry.message}")

    @app.command(name="download-statement")
    def download_statement_command(
        account: Annotated[str, typer.Option(help="bank account number")],
        start: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD")],
        end: Annotated[str, typer.Option("--to", help="last day, YYYY-MM-DD")],
        fmt: Annotated[str, typer.Option("--format", help="csv, xlsx or camt053")] = "camt053",
    ) -> None:
        """Download a bank statement for a period into var/bots/downloads/."""
        from bots.bank import download_statement

        try:
            try:
                first, last = date.fromisoformat(start), date.fromisoformat(end)
            except ValueError as exc:
                raise BotCommandError(f"--from/--to must be YYYY-MM-DD ({exc})") from exc
            downloaded = download_statement(account, first, last, fmt)
        except (BotCommandError, BotError, CredentialsMissing, ValueError) as exc:
            _fail(exc)
        typer.echo(f"{downloaded.path} sha256={downloaded.sha256}")
