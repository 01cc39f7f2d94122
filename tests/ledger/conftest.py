"""Fixtures for the ledger tests: a fresh SQLite file per test and one throwaway PostgreSQL per session.

PostgreSQL is started from the Debian binaries by ``tests.support.localpg``. If it cannot start, the tests
that need it fail with the reason — they are never skipped silently.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import smartfin.app.tables  # noqa: F401  (registers every table)
from smartfin.ledger import BudgetLineKey, FundingSource
from tests.support import databases

# the same test on SQLite and PostgreSQL (fixtures shared with the other database tests)
sqlite_engine, pg_engine, engine = databases.sqlite_engine, databases.pg_engine, databases.engine

KEY = BudgetLineKey(2026, "0301", "30218", FundingSource.FISCAL)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.rollback()
