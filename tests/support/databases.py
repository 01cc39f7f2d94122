"""The same test on both databases the product supports: a fresh SQLite file per test, and the session's
throwaway PostgreSQL (``tests.support.localpg``) emptied and rebuilt from the models for each test.

A conftest that wants them imports the three fixtures (``sqlite_engine``, ``pg_engine``, ``engine``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import smartfin.app.tables  # noqa: F401  (registers every table)
from smartfin.store.db import make_engine
from tests.support.localpg import LocalPostgres


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
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
