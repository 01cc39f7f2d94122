"""Security suite fixtures: the suite shares the integration suite's database and engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.master_data import restoring_master_data


@pytest.fixture(autouse=True)
def master_data_as_found() -> Iterator[None]:
    """Departments a test loads are gone after it (see ``tests.support.master_data``)."""
    yield from restoring_master_data()


@pytest.fixture(autouse=True, scope="module")
def master_data_as_found_by_the_module() -> Iterator[None]:
    """The same for departments a module-scoped fixture loads: gone after the module."""
    yield from restoring_master_data()
