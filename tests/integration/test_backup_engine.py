"""A backup of a whole installation on the real engine, restored into a new var/ and started from there.

The engine here is a second one of this module's own (its own var/ and port), because the backup copies
the engine's embedded H2 database and a restore needs an empty var/ to start a new engine from.
"""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import pytest

from smartfin.app.backup import BackupError, _h2_held, backup, engine_process, restore, verify
from smartfin.camunda.client import EngineClient
from smartfin.camunda.deploy import deploy
from smartfin.camunda.launcher import start_engine
from smartfin.kernel.settings import Settings
from smartfin.store.archive import read_archived
from tests.store.test_backup import FILES, counts, populate

pytestmark = [pytest.mark.engine, pytest.mark.own_engine]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_installation_with_a_process_instance_is_restored_on_a_new_var(tmp_path: Path) -> None:
    old = Settings(var_dir=tmp_path / "old", engine_url=f"http://127.0.0.1:{_free_port()}")
    digests = populate(old)
    service = start_engine(old)
    try:
        client = EngineClient.from_settings(old)
        deploy(client)
        instance = client.start_process("spending-approval", "BK-1", {"requester": "zhang.wei"})
        client.close()

        with pytest.raises(BackupError, match="engine is running"):
            backup(old, tmp_path / "backups")
        with pytest.raises(BackupError, match="in use by a running engine"), _h2_held(old.var_dir / "engine"):
            pass
        made = backup(old, tmp_path / "backups", include_secrets=True, stop_engine=True)
        assert engine_process(old).pid() is not None, "the engine was started again after the copy"
    finally:
        service.stop()

    manifest = verify(made.path)
    assert manifest["engine"]["kind"] == "h2" and "engine/process-engine.mv.db" in manifest["members"]
    assert manifest["versions"]["engine"]["version"] == "7.24.0"
    assert stat.S_IMODE(made.path.stat().st_mode) == 0o600

    new = Settings(var_dir=tmp_path / "new", engine_url=f"http://127.0.0.1:{_free_port()}")
    restore(new, made.path)
    assert counts(new.effective_database_url) == counts(old.effective_database_url)
    for digest, data in zip(digests, FILES, strict=True):
        assert read_archived(digest, root=new.var_dir / "archive") == data

    service = start_engine(new)
    try:
        client = EngineClient.from_settings(new)
        found = client.get("/process-instance", businessKey="BK-1")
        assert [row["id"] for row in found] == [instance["id"]]
        assert client.get("/process-definition/key/spending-approval")["key"] == "spending-approval"
        client.close()
    finally:
        service.stop()


@pytest.mark.postgres
def test_postgresql_installation_is_backed_up_online_and_restored(tmp_path: Path) -> None:
    """Project and engine on PostgreSQL: pg_dump while the engine runs, pg_restore into new databases."""
    import psycopg

    from tests.support.localpg import LocalPostgres

    with LocalPostgres(database="project_old") as postgres:
        with psycopg.connect(f"host=127.0.0.1 port={postgres.port} dbname=postgres user=postgres",
                             autocommit=True) as conn:
            for name in ("engine_old", "project_new", "engine_new"):
                conn.execute(f"create database {name}")

        def installation(suffix: str) -> Settings:
            return Settings(var_dir=tmp_path / suffix, engine_url=f"http://127.0.0.1:{_free_port()}",
                            database_url=f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/project_{suffix}",
                            engine_jdbc_url=f"jdbc:postgresql://127.0.0.1:{postgres.port}/engine_{suffix}",
                            engine_jdbc_user="postgres", engine_jdbc_password="")

        old = installation("old")
        digests = populate(old)
        service = start_engine(old)
        try:
            client = EngineClient.from_settings(old)
            deploy(client)
            instance = client.start_process("spending-approval", "BK-PG", {"requester": "zhang.wei"})
            client.close()
            made = backup(old, tmp_path / "backups", include_secrets=True)  # online: the engine keeps running
            assert engine_process(old).pid() is not None
        finally:
            service.stop()
        assert made.manifest["engine"]["kind"] == "postgresql"
        assert made.manifest["versions"]["engine"] == {"version": "7.24.0", "source": "engine REST /version"}

        new = installation("new")
        restore(new, made.path)
        assert counts(new.effective_database_url) == counts(old.effective_database_url)
        assert read_archived(digests[0], root=new.var_dir / "archive") == FILES[0]
        service = start_engine(new)
        try:
            client = EngineClient.from_settings(new)
            assert [row["id"] for row in client.get("/process-instance", businessKey="BK-PG")] == [instance["id"]]
            client.close()
        finally:
            service.stop()
