"""Flow-test fixtures: each test's own drop folders, on the session's Prefect server (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def flow_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_server: str) -> Iterator[Path]:
    """Drop folders of this test under ``tmp_path`` and the flow settings re-read; yields the recon root."""
    from smartfin.kernel.settings import get_settings

    root = tmp_path / "reconciliation"
    monkeypatch.setenv("SMARTFIN_RECONCILIATION_DIR", str(root))
    monkeypatch.setenv("SMARTFIN_INBOX_DIR", str(tmp_path / "inbox"))
    monkeypatch.setenv("SMARTFIN_POSTING_DIR", str(tmp_path / "posting"))
    monkeypatch.setenv("SMARTFIN_REPORTS_DIR", str(tmp_path / "reports"))
    get_settings.cache_clear()
    yield root
    get_settings.cache_clear()


def set_accounts(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from smartfin.kernel.settings import get_settings

    monkeypatch.setenv("SMARTFIN_BANK_ACCOUNTS", value)
    get_settings.cache_clear()
