"""The throwaway PostgreSQL: clear errors, and a cluster that really starts and really goes away."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from smartfin.store.db import make_engine
from tests.support.localpg import LocalPostgres, PostgresUnavailable, find_bin_dir


def test_missing_binaries_name_the_debian_package(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("tests.support.localpg.SEARCH_PATTERN", str(tmp_path / "none" / "*" / "bin"))
    monkeypatch.delenv("SMARTFIN_PG_BIN", raising=False)
    with pytest.raises(PostgresUnavailable, match="Debian package `postgresql`"):
        find_bin_dir()


@pytest.mark.postgres
def test_url_before_start_is_an_error_and_cluster_is_removed_on_stop() -> None:
    server = LocalPostgres()
    with pytest.raises(PostgresUnavailable, match="not running"):
        _ = server.url
    with server:
        assert server.url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
        root = server.root
        assert root is not None and (root / "data" / "PG_VERSION").exists()
        engine = make_engine(server.url)
        with engine.connect() as connection:
            assert connection.execute(text("SHOW listen_addresses")).scalar() == "127.0.0.1"
        engine.dispose()
    assert not root.exists()
    server.stop()  # twice is harmless
