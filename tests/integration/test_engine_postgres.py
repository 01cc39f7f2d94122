"""The engine's production form: the same application on PostgreSQL, selected by a JDBC URL alone."""

from __future__ import annotations

import socket

import psycopg
import pytest

from smartfin.camunda.client import EngineClient
from smartfin.camunda.deploy import deploy
from smartfin.camunda.launcher import start_engine
from smartfin.kernel.settings import Settings
from tests.support.localpg import LocalPostgres

pytestmark = [pytest.mark.engine, pytest.mark.own_engine, pytest.mark.postgres]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_engine_runs_on_postgresql_when_given_a_jdbc_url(tmp_path):
    with LocalPostgres(database="engine") as postgres:
        settings = Settings(var_dir=tmp_path, engine_url=f"http://127.0.0.1:{_free_port()}",
                            engine_jdbc_url=f"jdbc:postgresql://127.0.0.1:{postgres.port}/engine",
                            engine_jdbc_user="postgres", engine_jdbc_password="")
        service = start_engine(settings)
        try:
            client = EngineClient.from_settings(settings)
            deploy(client)
            instance = client.start_process("spending-approval", "PG-1", {"requester": "zhang.wei"})
            assert client.get(f"/process-instance/{instance['id']}")["businessKey"] == "PG-1"
        finally:
            service.stop()
        assert not (tmp_path / "engine").exists() or not any((tmp_path / "engine").glob("*.mv.db")), \
            "no H2 database was created"
        with psycopg.connect(f"host=127.0.0.1 port={postgres.port} dbname=engine user=postgres") as conn:
            keys = [row[0] for row in conn.execute("select key_ from act_re_procdef")]
            business_keys = [row[0] for row in conn.execute("select business_key_ from act_ru_execution "
                                                            "where parent_id_ is null")]
    assert "spending-approval" in keys
    assert business_keys == ["PG-1"]
