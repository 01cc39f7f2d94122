"""Fixtures of the budget compilation tests: the same test on SQLite and PostgreSQL, a small hospital's departments."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import smartfin.app.tables  # noqa: F401  (registers every table)
from smartfin.ledger import import_departments
from tests.support import databases

sqlite_engine, pg_engine, engine = databases.sqlite_engine, databases.pg_engine, databases.engine

DEPARTMENTS_CSV = """code,name,class,valid_from
CARD,心血管内科,clinical,2020-01-01
RADI,放射科,medical-technical,2020-01-01
FIN,财务处,administrative,2020-01-01
"""


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.rollback()


@pytest.fixture
def hospital(session: Session) -> Session:
    """A session whose database knows three departments (CARD, RADI, FIN)."""
    report = import_departments(session, DEPARTMENTS_CSV.encode(), actor="finance", filename="departments.csv")
    assert report.ok, report.errors
    session.commit()
    return session
