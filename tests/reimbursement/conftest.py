"""Fixtures for the reimbursement unit tests: a fresh SQLite file per test, one throwaway PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import smartfin.app.tables  # noqa: F401  (registers every table)
from smartfin.store.db import make_engine


@pytest.fixture
def sqlite_db(tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'claims.db'}")
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """The same test on both databases the product supports."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_db")
        return
    engine = make_engine(request.getfixturevalue("pg_server").url)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()
