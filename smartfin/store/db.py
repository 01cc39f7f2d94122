"""The project's database: SQLite under var/ by default, PostgreSQL by URL.

SQLite runs every write transaction as ``BEGIN IMMEDIATE`` so that concurrent writers queue on the
database lock instead of failing half-way ("database is locked" at commit); PostgreSQL callers take row
locks (``SELECT … FOR UPDATE``) where money is reserved.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from smartfin.kernel.settings import get_settings
from smartfin.store.migrations import upgrade_to_head

SQLITE_BUSY_TIMEOUT_S = 30


def make_engine(url: str) -> Engine:
    """Create an engine with the locking behaviour the ledger relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S,
                                                  "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            # Let SQLAlchemy, not the driver, decide when transactions start, then start them
            # IMMEDIATE so the write lock is taken up front.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=60)


def _private_file(path: Path) -> None:
    """Create the SQLite file readable by the service user only (0600) before SQLite does; WAL and
    shared-memory files inherit its mode. An existing file is narrowed to 0600 too, by ``chmod`` alone.

    An existing database is never opened here: closing any descriptor of a file drops every POSIX lock the
    process holds on it, so the shared locks of this process's open SQLite connections would vanish, and
    another process closing its last connection would then checkpoint and delete the WAL and shared-memory
    files under them (stale reads, "disk I/O error", commits lost). ``get_engine`` runs this whenever it
    makes an engine, also while other engines of the process are connected.
    """
    if str(path) in ("", ":memory:"):
        return
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (default: the configured database), at the newest schema.

    The schema comes from the migrations (``smartfin.store.migrations``), never from ``create_all``, so
    a database made by an earlier release is upgraded in place and keeps its rows.
    """
    settings = get_settings()
    url = url or settings.effective_database_url
    if url.startswith("sqlite:///"):
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        _private_file(Path(url.removeprefix("sqlite:///")))
    engine = make_engine(url)
    upgrade_to_head(engine)
    return engine


def hold_until_commit(session: Session, key: str) -> None:
    """Make any other transaction that holds the same ``key`` wait until this one ends (commit or rollback).

    For work that is visible outside the database before its transaction commits — a process started in the
    engine, whose first step a worker on another connection may pick up at once. PostgreSQL: a transaction
    advisory lock on the key's CRC-32 (a collision only makes an unrelated holder wait a moment). SQLite needs
    nothing: every transaction of the product's engines begins ``IMMEDIATE`` and so already queues.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.connection().exec_driver_sql(f"SELECT pg_advisory_xact_lock({zlib.crc32(key.encode())})")


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A unit of work: committed when the block ends, rolled back entirely when it raises."""
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
