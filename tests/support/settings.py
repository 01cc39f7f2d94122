"""Settings by environment for a block of test code, then the previous values back."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from smartfin.kernel.settings import Settings, get_settings


@contextmanager
def environment(values: dict[str, str]) -> Iterator[Settings]:
    """Set variables for the block (settings re-read), then restore the previous values."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield get_settings()
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()
