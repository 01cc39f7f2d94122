"""Adjustment rules on SQLite and PostgreSQL (fixtures shared with the other database tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import smartfin.app.tables  # noqa: F401  (registers every table)
from tests.support import databases

sqlite_engine, pg_engine, engine = databases.sqlite_engine, databases.pg_engine, databases.engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.rollback()
