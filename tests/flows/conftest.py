"""Prefect for the flow tests: one local server (SQLite) for the whole session, isolated from the machine.

The test harness starts a real Prefect API server in a subprocess; it took about 10 s here, so it is
started once per session with a generous timeout, and every flow test runs against it. ``PREFECT_HOME``
points into the session's own temporary directory and analytics are off, so a test run never reads or
writes a developer's Prefect profile.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="smartfin-test-prefect-"))
os.environ["PREFECT_HOME"] = str(_PREFECT_HOME)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "90"
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("PREFECT_PROFILES_PATH", None)

HARNESS_STARTUP_TIMEOUT_S = 90


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """A Prefect API server for this session; yields its API URL (also set as ``PREFECT_API_URL``)."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=HARNESS_STARTUP_TIMEOUT_S):
        url = PREFECT_API_URL.value()
        assert url, "the Prefect test harness did not set PREFECT_API_URL"
        os.environ["PREFECT_API_URL"] = url
        try:
            yield url
        finally:
            os.environ.pop("PREFECT_API_URL", None)


@pytest.fixture
def flow_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_server: str) -> Iterator[Path]:
    """Drop folders of this test under ``tmp_path`` and the flow settings re-read; yields the recon root."""
    from flows.settings import get_flow_settings

    root = tmp_path / "reconciliation"
    monkeypatch.setenv("SMARTFIN_RECONCILIATION_DIR", str(root))
    monkeypatch.setenv("SMARTFIN_INBOX_DIR", str(tmp_path / "inbox"))
    monkeypatch.setenv("SMARTFIN_POSTING_DIR", str(tmp_path / "posting"))
    monkeypatch.setenv("SMARTFIN_REPORTS_DIR", str(tmp_path / "reports"))
    get_flow_settings.cache_clear()
    yield root
    get_flow_settings.cache_clear()


def set_accounts(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from flows.settings import get_flow_settings

    monkeypatch.setenv("SMARTFIN_BANK_ACCOUNTS", value)
    get_flow_settings.cache_clear()
