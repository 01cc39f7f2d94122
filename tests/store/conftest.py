"""Fresh, empty databases for the migration tests: a new SQLite file, or a new database on the session's
throwaway PostgreSQL cluster (created for the test, dropped after it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import Engine, make_url

from smartfin.store.db import make_engine
from tests.support.localpg import LocalPostgres


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path / 'smartfin.db'}"


@pytest.fixture
def postgres_url(pg_server: LocalPostgres) -> Iterator[str]:
    name = f"migrations_{uuid.uuid4().hex[:12]}"
    admin = make_engine(pg_server.url)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(pg_server.url).set(database=name).render_as_string(hide_password=False)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A URL to a new, empty database; the same test runs on both databases the product supports."""
    return request.getfixturevalue(f"{request.param}_url")  # type: ignore[no-any-return]


@pytest.fixture
def engine_for() -> Iterator[Callable[[str], Engine]]:
    """Engines made the product's way (``make_engine``), disposed when the test ends."""
    engines: list[Engine] = []

    def make(url: str) -> Engine:
        engines.append(make_engine(url))
        return engines[-1]

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def engine(database_url: str, engine_for: Callable[[str], Engine]) -> Engine:
    return engine_for(database_url)
