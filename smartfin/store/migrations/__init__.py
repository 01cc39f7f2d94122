"""Schema migrations of the project's tables (Alembic), and bringing a database to the newest revision.

The revision scripts in ``versions/`` are the schema: ``upgrade_to_head`` runs them on any database the
product opens, inside one transaction that two processes cannot run at once (SQLite's write lock taken
up front, a PostgreSQL advisory lock). Within one process a lock serialises the runs as well: Alembic's
``context`` and ``op`` are module-wide, so two threads migrating even two different databases at once
would run each other's revisions. A database created before migrations existed (tables made by
``create_all``) is recognised and adopted at the baseline revision, so its rows stay where they are.

Table classes are not imported here: a revision names its tables itself. The test that compares the
models with the migrations hands the full metadata in (``target_metadata``).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent
BASELINE = "0001_baseline"
# A table every database at the baseline has: its presence without a version table means "made by
# create_all before migrations existed".
BASELINE_MARKER_TABLE = "journal_entry"
_ADVISORY_LOCK_KEY = 0x5F1_0DB  # any constant: serialises upgrades of one PostgreSQL database
_IN_PROCESS = threading.Lock()  # Alembic's context/op proxies are module globals: one run at a time


class MigrationError(RuntimeError):
    """The database cannot be brought to the code's schema; the message says why."""


def alembic_config(connection: Connection | None = None, target_metadata: Any = None) -> Config:
    """An Alembic configuration for this package's revisions, bound to ``connection`` when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    config.attributes["target_metadata"] = target_metadata
    return config


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migration revisions found"
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(engine: Engine) -> str:
    """Bring the database to the newest revision; returns the revision it is at afterwards.

    Safe to call from several threads and processes at once: one of them migrates, the others wait for
    it and find the database at the head.
    """
    head = head_revision()
    with engine.connect() as probe:
        if current_revision(probe) == head:
            return head
    with _IN_PROCESS, engine.begin() as connection:
        _lock_for_migration(connection)
        config = alembic_config(connection)
        current = current_revision(connection)
        if current is None and inspect(connection).has_table(BASELINE_MARKER_TABLE):
            command.stamp(config, BASELINE)
        elif current is not None and not known_revision(current):
            raise MigrationError(f"the database is at revision {current}, which this version of SmartFin does "
                                 f"not know (its newest is {head}): was it migrated by a newer release?")
        command.upgrade(config, "head")
        return current_revision(connection) or head


def _lock_for_migration(connection: Connection) -> None:
    """Make every other migrating connection wait until this transaction ends."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK_KEY})")
    # SQLite: the product's engines (smartfin.store.db.make_engine) begin every transaction IMMEDIATE; any
    # other engine has not begun one yet (pysqlite defers BEGIN to the first INSERT and runs DDL outside it).
    elif connection.dialect.name == "sqlite" and not getattr(connection.connection.dbapi_connection,
                                                             "in_transaction", True):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def known_revision(revision: str) -> bool:
    """Whether ``revision`` is one of the code's revisions (a newer release's is not)."""
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False
