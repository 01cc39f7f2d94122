"""The engine's front door: authentication, wrong credentials, an unreachable engine, Tasklist filters,
and deployments that create versions only for what changed."""

from __future__ import annotations

import shutil
import socket

import pytest
import requests

from smartfin.camunda.client import EngineAuthError, EngineClient, EngineUnreachable
from smartfin.camunda.deploy import collect_models, deploy
from smartfin.kernel.settings import PROJECT_ROOT
from tests.support.engine import as_user

pytestmark = pytest.mark.engine


def test_rest_requires_authentication(camunda):
    assert requests.get(camunda.base_url + "/engine", timeout=5).status_code == 200
    assert requests.get(camunda.base_url + "/task", timeout=5).status_code == 401


def test_wrong_credentials_are_named(camunda):
    stranger = EngineClient(camunda.base_url, "no.such.user", "guess")
    with pytest.raises(EngineAuthError, match=r"refused the credentials of user 'no\.such\.user'"):
        stranger.tasks()


def test_an_unreachable_engine_says_where_it_was_looked_for():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = EngineClient(f"http://127.0.0.1:{port}/engine-rest", "u", "p", timeout=3)
    with pytest.raises(EngineUnreachable, match=f"127.0.0.1:{port}.*smartfin status"):
        client.version()


def test_each_role_sees_its_own_tasklist_filter(camunda):
    names = {f["name"] for f in as_user(camunda, "li.na").get("/filter")}
    assert any("部门负责人" in n for n in names) and any("我的任务" in n for n in names)
    finance = {f["name"] for f in as_user(camunda, "wang.fang").get("/filter")}
    assert not any("部门负责人" in n for n in finance)


def test_only_changed_units_get_new_versions(camunda, tmp_path):
    shutil.copytree(PROJECT_ROOT / "bpmn" / "spending", tmp_path / "bpmn" / "spending")
    shutil.copytree(PROJECT_ROOT / "rules" / "spending", tmp_path / "rules" / "spending")
    name = "smartfin-deploy-test"
    models = collect_models(tmp_path)
    first = deploy(camunda, models, name=name)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.suffix in (".bpmn", ".form",
                                                                                                   ".dmn"))
    assert first.deployment_id and sorted(first.deployed) == files and len(files) >= 6
    again = deploy(camunda, collect_models(tmp_path), name=name)
    assert again.deployment_id is None and again.deployed == []
    form = tmp_path / "bpmn" / "spending" / "spending-decision.form"
    form.write_text(form.read_text(encoding="utf-8").replace("支出审批 Spending approval", "支出审批 Approval"),
                    encoding="utf-8")
    changed = deploy(camunda, collect_models(tmp_path), name=name)
    assert "bpmn/spending/spending-decision.form" in changed.deployed
    assert "bpmn/spending/spending-approval.bpmn" in changed.deployed, "the form's process travels with it"
