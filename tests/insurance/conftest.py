"""Fixtures of the insurance tests: the SQLite/PostgreSQL pair of databases and one generated day."""

from __future__ import annotations

from datetime import date

import pytest

from smartfin.insurance.samples import SampleDays, generate_days
from tests.support import databases

sqlite_engine, pg_engine, engine = databases.sqlite_engine, databases.pg_engine, databases.engine

DAY = date(2026, 11, 3)
HOSPITAL = "H001"


@pytest.fixture(scope="session")
def sample_day() -> SampleDays:
    """A day of 2,000 settlements with every fault planted and known."""
    return generate_days(DAY, 1, 2_000, seed=5)
