"""The local Prefect server on PostgreSQL by configuration: `up`'s own service, a product flow run on it.

The embedded default is SQLite under var/prefect/; a hospital that runs Prefect for several machines
sets ``SMARTFIN_PREFECT_DATABASE_URL`` instead. This starts the very service `smartfin up` starts,
with that URL pointing at the session's PostgreSQL, runs a flow through the CLI against it, and reads
the flow run back from PostgreSQL itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from flows.deployments import prefect_environment
from flows.services import prefect_service
from smartfin.kernel.settings import PROJECT_ROOT, get_settings
from tests.support.localpg import LocalPostgres, free_port

pytestmark = pytest.mark.postgres
DATABASE = "prefect_server_test"


def test_prefect_server_keeps_its_flow_runs_in_postgresql(pg_server: LocalPostgres, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    server = f"postgres@127.0.0.1:{pg_server.port}"
    with psycopg.connect(f"postgresql://{server}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    monkeypatch.setenv("SMARTFIN_PREFECT_DATABASE_URL", f"postgresql+asyncpg://{server}/{DATABASE}")
    monkeypatch.setenv("SMARTFIN_PREFECT_PORT", str(free_port()))
    monkeypatch.setenv("SMARTFIN_PREFECT_HOME", str(tmp_path / "prefect"))
    monkeypatch.setenv("SMARTFIN_POSTING_DIR", str(tmp_path / "posting"))
    get_settings.cache_clear()
    settings = get_settings().model_copy(update={"var_dir": tmp_path / "var"})  # its own pid and log files
    service = prefect_service(settings)
    try:
        service.start(timeout=180)
        env = {**os.environ, **prefect_environment(), "PYTHONPATH": str(PROJECT_ROOT)}
        done = subprocess.run([sys.executable, "-m", "smartfin.app.cli", "flows", "run", "posting-batch"], env=env,
                              cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "posting-batch: Completed" in done.stdout
    finally:
        service.stop()
        get_settings.cache_clear()

    with psycopg.connect(f"postgresql://{server}/{DATABASE}") as db:
        runs = db.execute("SELECT f.name, r.state_type FROM flow_run r JOIN flow f ON f.id = r.flow_id").fetchall()
    assert ("posting-batch", "COMPLETED") in runs
    assert not (tmp_path / "prefect" / "prefect.db").exists(), "nothing went to the SQLite default"
