"""Fixtures for the ledger tests: a fresh SQLite file per test and one throwaway PostgreSQL per session.

PostgreSQL is started from the Debian binaries by ``tests.support.localpg``. If it cannot start, the tests
that need it fail with the reason — they are never skipped silently.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import smartfin.app.tables  # noqa: F401  (registers every table)
from smartfin.ledger import BudgetLineKey, FundingSource
from smartfin.store.db import make_engine
from tests.support.localpg import LocalPostgres

KEY = BudgetLineKey(2026, "0301", "30218", FundingSource.FISCAL)


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine(pg_server: LocalPostgres) -> Iterator[Engine]:
    engine = make_engine(pg_server.url)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The same test on both databases the product supports."""
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.rollback()
