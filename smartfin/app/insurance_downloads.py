"""The month's clearing files from the insurance settlement portal into the product: download, archive, import.

The bot (``bots.insurance_portal``) only fetches files. Here each file is archived by content (the archive
keeps the fund's original bytes) and handed to the insurance import (``smartfin.insurance.store.import_file``)
in the order the files depend on each other, each in its own transaction. Idempotent: a file whose bytes are
the month's current import already is not imported again, so a month fetched twice imports once; a corrected
file the fund republishes supersedes the earlier one (the import's own rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from bots.errors import BotError
from smartfin.insurance.store import current_import, import_file
from smartfin.kernel.exits import ExitCode
from smartfin.kernel.settings import get_settings
from smartfin.store.archive import archive_file
from smartfin.store.audit import record_audit
from smartfin.store.db import session_scope

if TYPE_CHECKING:
    from bots.runtime import BotRuntime


@dataclass(frozen=True)
class FetchedFile:
    """One file of the month: its kind, archive digest and whether this call imported it."""

    kind: str
    sha256: str
    imported: bool


def fetch_clearing_month(month: str, *, hospital: str | None = None, actor: str = "insurance-bot",
                         runtime: BotRuntime | None = None) -> list[FetchedFile]:
    """Download ``month``'s clearing files, archive them and import those not imported yet."""
    from bots.insurance_portal import MONTH_FILES, download_month  # the browser stack loads only when used

    hospital = hospital or get_settings().flows.hospital
    downloaded = download_month(month, runtime=runtime)
    fetched = []
    for kind in MONTH_FILES:
        file = downloaded.get(kind)
        if file is None:
            continue
        data = file.path.read_bytes()
        digest = archive_file(data)
        with session_scope() as session:
            current = current_import(session, kind, month)
            if current is not None and current.fingerprint == digest:
                fetched.append(FetchedFile(kind, digest, imported=False))
                continue
            import_file(session, kind, data, file=file.filename, period=month, hospital=hospital, actor=actor)
            record_audit(session, actor=actor, action="insurance-file-fetched", subject_type="ins_import",
                         subject_id=f"{month}/{kind}", details={"sha256": digest, "file": file.filename})
        fetched.append(FetchedFile(kind, digest, imported=True))
    return fetched


portal_app = typer.Typer(no_args_is_help=True, help="医保结算平台 The insurance settlement portal's monthly files.")


@portal_app.command("fetch")
def fetch(month: Annotated[str, typer.Argument(help="service month of the clearing, YYYY-MM")],
          hospital: Annotated[str | None, typer.Option(help="hospital code (settings: flows.hospital)")] = None
          ) -> None:
    """Download the month's clearing statement and detail files, archive them, import those not imported."""
    try:
        fetched = fetch_clearing_month(month, hospital=hospital)
    except (ValueError, BotError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    for f in fetched:
        typer.echo(f"{month} {f.kind}: {'imported' if f.imported else 'already imported'} ({f.sha256[:12]})")


def register(app: typer.Typer) -> None:
    """Add the ``insurance-portal`` command group to the ``smartfin`` CLI."""
    app.add_typer(portal_app, name="insurance-portal")
