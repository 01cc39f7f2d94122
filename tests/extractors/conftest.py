"""Shared fixtures: generated samples are cached per session because rendering PDFs takes time."""

from __future__ import annotations

from datetime import date

import pytest

from extractors.invoice.samples import Sample
from tests.support.invoice_samples import SAMPLE_FACTORIES, bad_file_samples

LATE = date(2100, 1, 1)  # "today" for tests that must not trip the future-date rule


@pytest.fixture(scope="session")
def bad_samples() -> dict[str, Sample]:
    return {s.name: s for s in bad_file_samples()}


@pytest.fixture(scope="session")
def sample_cache() -> dict[tuple[str, int], Sample]:
    return {}


@pytest.fixture
def make_sample(sample_cache: dict[tuple[str, int], Sample]):  # type: ignore[no-untyped-def]
    def make(layout: str, seed: int) -> Sample:
        key = (layout, seed)
        if key not in sample_cache:
            sample_cache[key] = SAMPLE_FACTORIES[layout](seed)
        return sample_cache[key]

    return make
