"""The cluster profile's generated configuration and address rules, without starting anything."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from smartfin.cluster.balancer import HEALTH_PATH, config_text
from smartfin.cluster.hosts import is_local
from smartfin.cluster.nodes import node_settings
from smartfin.cluster.postgres import database_roles, engine_jdbc_url, project_database_url
from smartfin.kernel.settings import ClusterSettings, Settings


def settings(tmp_path, **cluster) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(var_dir=tmp_path, cluster=ClusterSettings(**cluster))


def test_nodes_are_parsed_and_a_bad_one_is_named(tmp_path):
    assert settings(tmp_path, engine_nodes="10.0.0.21:8080, 10.0.0.22:8081").cluster.nodes == [
        ("10.0.0.21", 8080), ("10.0.0.22", 8081)]
    with pytest.raises(ValueError, match=r"'10\.0\.0\.23' is not host:port"):
        _ = settings(tmp_path, engine_nodes="10.0.0.21:8080,10.0.0.23").cluster.nodes


def test_balancer_config_lists_every_node_with_the_health_check_and_binds_where_configured(tmp_path):
    text = config_text(settings(tmp_path, engine_nodes="10.0.0.21:8080,10.0.0.22:8080", balancer_port=9000))
    assert "bind 127.0.0.1:9000" in text
    assert "server engine-1 10.0.0.21:8080 check" in text and "server engine-2 10.0.0.22:8080 check" in text
    assert f"option httpchk GET {HEALTH_PATH}" in text
    # the long poll of fetchAndLock must not be cut by the balancer
    timeout = int(text.split("timeout server ")[1].split("s")[0])
    assert timeout * 1000 > Settings().worker_long_poll_ms


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="HAProxy is installed by make setup")
def test_haproxy_accepts_the_generated_config(tmp_path):
    path = tmp_path / "haproxy.cfg"
    path.write_text(config_text(settings(tmp_path)), encoding="utf-8")
    result = subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_each_purpose_has_its_own_database_and_role_and_the_password_is_generated_privately(tmp_path):
    configured = settings(tmp_path, pg_port=6000)
    assert [r.name for r in database_roles(configured)] == ["smartfin_engine", "smartfin", "smartfin_prefect"]
    url = project_database_url(configured)
    assert url.startswith("postgresql+psycopg://smartfin:") and url.endswith("@127.0.0.1:6000/smartfin")
    assert (tmp_path / "secrets.env").stat().st_mode & 0o777 == 0o600
    assert project_database_url(configured) == url, "the password is generated once"
    assert engine_jdbc_url(configured) == "jdbc:postgresql://127.0.0.1:6000/smartfin_engine"
    node = node_settings(configured, "127.0.0.1", 8081)
    assert node.engine_url == "http://127.0.0.1:8081" and node.engine_jdbc_user == "smartfin_engine"


def test_only_addresses_of_this_machine_are_started_here():
    assert is_local("127.0.0.1")
    assert not is_local("192.0.2.10")  # TEST-NET-1: never assigned to a host
    assert not is_local("no-such-host.invalid")


def test_the_prefect_server_uses_its_own_database_by_environment_and_binds_where_configured(tmp_path):
    from smartfin.cluster.postgres import password, role
    from smartfin.cluster.prefect import server_service, worker_service

    configured = settings(tmp_path, pg_port=6000, prefect_host="0.0.0.0", prefect_port=4300)
    server = server_service(configured)
    secret = password(configured, role(configured, "prefect"))
    assert server.env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] == (
        f"postgresql+asyncpg://smartfin_prefect:{secret}@127.0.0.1:6000/smartfin_prefect")
    assert secret not in " ".join(server.argv), "the password would show in the process list"
    assert server.argv[server.argv.index("--host") + 1] == "0.0.0.0"
    assert server.env["PREFECT_API_URL"] == "http://127.0.0.1:4300/api"
    worker = worker_service(configured, {"SMARTFIN_ENGINE_URL": "http://127.0.0.1:8090"})
    assert worker.argv[worker.argv.index("--pool") + 1] == "smartfin"
    assert worker.env["SMARTFIN_ENGINE_URL"] == "http://127.0.0.1:8090"
    assert worker.env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] == "30"
    assert "PREFECT_SERVER_DATABASE_CONNECTION_URL" not in worker.env


def test_a_lost_flow_run_is_crashed_after_missed_heartbeats_and_rescheduled_at_most_twice(tmp_path):
    from prefect.client.schemas.objects import StateType

    from smartfin.cluster.prefect import MISSED_HEARTBEATS, recovery_automations

    lost, again = recovery_automations(settings(tmp_path, work_pool="flows-a", flow_heartbeat_s=40))
    assert lost.trigger.within.total_seconds() == 40 * MISSED_HEARTBEATS
    assert lost.trigger.posture.value == "Proactive" and "prefect.flow-run.Completed" in lost.trigger.expect
    assert [a.state for a in lost.actions] == [StateType.CRASHED]
    assert lost.trigger.match_related.root == {"prefect.resource.role": "deployment"}
    assert again.trigger.match_related.root["prefect.resource.name"] == "flows-a"
    assert again.trigger.expect == {"prefect.flow-run.Crashed"}
    assert again.trigger.match.root["prefect.run-count"] == ["1", "2"]
    assert [a.state for a in again.actions] == [StateType.SCHEDULED]


def test_heartbeats_more_often_than_prefect_allows_are_refused(tmp_path):
    with pytest.raises(ValueError, match="flow_heartbeat_s"):
        settings(tmp_path, flow_heartbeat_s=10)


def test_the_people_facing_services_follow_the_workers_as_clients_of_the_cluster(tmp_path):
    from smartfin.app.cluster_stack import pieces

    config = settings(tmp_path, balancer_port=9000)
    found = {piece.service.name: piece for piece in pieces(config)}
    names = list(found)
    assert names.index("worker") < names.index("upload-page") < names.index("dashboard") < names.index("notifier")
    for name in ("upload-page", "dashboard", "notifier"):
        env = found[name].service.env
        assert found[name].local
        assert env["SMARTFIN_ENGINE_URL"] == config.cluster.balancer_url
        assert env["SMARTFIN_DATABASE_URL"] == project_database_url(config), name
    assert found["dashboard"].address == f"http://{config.dashboard_host}:{config.dashboard_port}"
