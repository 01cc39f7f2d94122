"""``smartfin backup`` and ``smartfin restore``: one archive of an installation, and a fresh machine from it.

What is in the archive and how each part is copied is told in ``smartfin.app.backup``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smartfin.app.backup import BackupError, backup, restore, summary
from smartfin.kernel.background import ServiceError
from smartfin.kernel.exits import ExitCode
from smartfin.kernel.settings import get_settings


def _progress(message: str) -> None:
    typer.echo(f"  {message}", err=True)


def backup_command(
    out: Annotated[Path | None, typer.Option(help="folder the archive is written to (default var/backups/)")] = None,
    include_secrets: Annotated[bool, typer.Option(
        help="also put var/secrets.env (engine passwords, audit sample salt) into the archive")] = False,
    stop_engine: Annotated[bool, typer.Option(
        help="stop the engine for the copy of its embedded H2 database and start it again")] = False,
) -> None:
    """Write one consistent, timestamped archive of the project's tables, the engine's database and the
    document archive (mode 0600), to be restored with `smartfin restore`."""
    settings = get_settings()
    if include_secrets:
        typer.secho("warning: the archive will hold the installation's secrets (engine passwords, audit sample "
                    "salt): keep it as safe as var/secrets.env itself", fg=typer.colors.YELLOW, err=True)
    try:
        result = backup(settings, out, include_secrets=include_secrets, stop_engine=stop_engine,
                        progress=_progress)
    except (BackupError, ServiceError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    manifest = result.manifest
    typer.echo(f"backup: {result.path}")
    typer.echo(f"  product {manifest['versions']['product']}, schema revision "
               f"{manifest['versions']['alembic_revision']}, engine {manifest['versions']['engine']['version']}")
    typer.echo(f"  {len(manifest['members'])} members, {manifest['archived_files']} archived files, secrets "
               + ("included" if manifest["secrets_included"] else "not included"))


def restore_command(
    archive: Annotated[Path, typer.Argument(help="a file written by `smartfin backup`")],
    var: Annotated[Path | None, typer.Option(help="the var/ folder to restore into (default SMARTFIN_VAR_DIR)")] = None,
    force: Annotated[bool, typer.Option(help="overwrite a var/ that is not empty")] = False,
) -> None:
    """Check the archive whole, then bring an empty var/ and the configured databases to its state and
    migrate the project's tables to the newest revision."""
    settings = get_settings()
    if var is not None:
        settings = settings.model_copy(update={"var_dir": var.resolve()})
    try:
        result = restore(settings, archive, force=force, progress=_progress)
    except (BackupError, ServiceError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
    for line in summary(result):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Adds ``backup`` and ``restore`` to the smartfin CLI."""
    app.command(name="backup")(backup_command)
    app.command(name="restore")(restore_command)
