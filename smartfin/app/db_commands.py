"""``smartfin db …``: the revision of the product's database schema, and bringing it to the newest.

Every program that opens the database already upgrades it (``smartfin.store.db.get_engine``); these
commands do it on purpose and say what happened, e.g. before a release is started on a copy of production.
The database is the configured one: SQLite under var/, or ``SMARTFIN_DATABASE_URL``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from alembic.util.exc import CommandError
from sqlalchemy import inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from smartfin.kernel.exits import ExitCode
from smartfin.kernel.settings import get_settings
from smartfin.store.db import make_engine
from smartfin.store.migrations import (
    BASELINE,
    BASELINE_MARKER_TABLE,
    MigrationError,
    current_revision,
    head_revision,
    known_revision,
    upgrade_to_head,
)

db_app = typer.Typer(no_args_is_help=True, help="The database schema: show its revision, upgrade it.")


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """A database that cannot be reached or migrated as one red line and exit code 2."""
    try:
        yield
    except (MigrationError, CommandError, SQLAlchemyError, OSError) as exc:
        typer.secho(f"error: {_first_line(exc)}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None


def _first_line(exc: BaseException) -> str:
    # SQLAlchemy's messages carry the statement and a link on further lines; the driver's words come first.
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return f"{type(cause).__name__}: {lines[0] if lines else 'no message'}"


def _database_url() -> str:
    return get_settings().effective_database_url


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _revision_of(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return current_revision(connection)


def _describe(engine: Engine, revision: str | None) -> str:
    if revision is not None:
        return revision
    with engine.connect() as connection:
        if inspect(connection).has_table(BASELINE_MARKER_TABLE):
            return f"none (tables made before migrations; adopted at {BASELINE} by `smartfin db upgrade`)"
    return "none (empty database)"


@db_app.command("current")
def current() -> None:
    """Print the database's revision and the newest one; exit code 1 when the database is behind."""
    with _one_line_errors():
        url = _database_url()
        head = head_revision()
        typer.echo(f"database: {_shown(url)}")
        sqlite_file = _sqlite_file(url)
        if sqlite_file is not None and not sqlite_file.exists():
            typer.echo("current:  none (no database file yet)")
            typer.echo(f"head:     {head}")
            typer.echo("behind: run `smartfin db upgrade` (or any command that uses the database)")
            raise typer.Exit(ExitCode.REFUSED)
        engine = make_engine(url)
        try:
            revision = _revision_of(engine)
            typer.echo(f"current:  {_describe(engine, revision)}")
        finally:
            engine.dispose()
        typer.echo(f"head:     {head}")
        if revision == head:
            typer.echo("up to date")
            return
        if revision is not None and not known_revision(revision):
            raise MigrationError(f"the database is at revision {revision}, which this version of SmartFin does "
                                 "not know: was it migrated by a newer release?")
        typer.echo("behind: run `smartfin db upgrade`")
        raise typer.Exit(ExitCode.REFUSED)


@db_app.command("upgrade")
def upgrade() -> None:
    """Bring the database to the newest revision (a new database is created; rows are kept)."""
    with _one_line_errors():
        url = _database_url()
        sqlite_file = _sqlite_file(url)
        if sqlite_file is not None:
            sqlite_file.parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(url)
        try:
            typer.echo(f"database: {_shown(url)}")
            typer.echo(f"before:   {_describe(engine, _revision_of(engine))}")
            after = upgrade_to_head(engine)
        finally:
            engine.dispose()
        typer.echo(f"after:    {after}" + (" (head)" if after == head_revision() else ""))


def register(app: typer.Typer) -> None:
    """Adds the ``db`` command group to the smartfin CLI."""
    app.add_typer(db_app, name="db")
