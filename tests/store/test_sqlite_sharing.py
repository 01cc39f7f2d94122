"""SQLite shared by several processes (the CLI, the workers, the flows): making another engine for a
database this process already has open must keep the locks its connections hold, or a second process
closing its last connection deletes the WAL under them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from smartfin.store.db import get_engine, make_engine


def test_another_engine_on_an_open_database_keeps_its_wal_when_a_second_process_closes(sqlite_url: str) -> None:
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    first = get_engine(sqlite_url)  # creates the file and brings it to the newest schema
    held = first.connect()
    held.execute(text("SELECT count(*) FROM alembic_version")).one()
    held.commit()  # an open WAL connection between two transactions, as a worker thread has
    try:
        get_engine.cache_clear()
        second = get_engine(sqlite_url)  # e.g. another thread, or the same file under another URL
        script = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA journal_mode=WAL'); "
                  "c.execute('SELECT count(*) FROM alembic_version').fetchone(); c.close()")
        subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)

        assert path.with_name(path.name + "-wal").exists(), \
            "the other process found no one holding the database and deleted the WAL of our open connection"
        assert path.with_name(path.name + "-shm").exists()
        with make_engine(sqlite_url).begin() as again:
            again.execute(text("SELECT 1")).one()
        assert held.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
        second.dispose()
    finally:
        held.close()
        first.dispose()
        get_engine.cache_clear()
