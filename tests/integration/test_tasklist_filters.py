"""The Tasklist filters per role: written through REST as `smartfin up` does, readable only by their group,
converging on a re-run, and listing a real task with its facts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest

from smartfin.app.cli import submit_spending_request
from smartfin.camunda.client import EngineAuthError, EngineClient, EngineRequestError
from smartfin.camunda.tasklist_filters import (
    FILTER_RESOURCE_TYPE,
    LIST_PREFIX,
    MANAGED_KEY,
    admin_client,
    prepare_filters,
)
from smartfin.kernel.settings import get_settings
from smartfin.processes.spending.requests import SpendingRequest
from smartfin.store.db import session_scope
from tests.support.engine import as_user, open_task

pytestmark = pytest.mark.engine

HAL = {"Accept": "application/hal+json"}


@pytest.fixture
def admin(camunda: EngineClient) -> Iterator[EngineClient]:
    with closing(admin_client(get_settings())) as client:
        yield client


def _managed(admin: EngineClient, key: str) -> list[dict[str, Any]]:
    return [f for f in admin.get("/filter", resourceType="Task") if (f.get("properties") or {}).get(MANAGED_KEY) == key]


def _readers(admin: EngineClient, filter_id: str) -> set[str]:
    grants = admin.get("/authorization", resourceType=FILTER_RESOURCE_TYPE, resourceId=filter_id, type=1)
    return {g["groupId"] or f"user:{g['userId']}" for g in grants}


def test_each_workflow_group_gets_a_chinese_filter_that_only_it_can_read(camunda, admin):
    groups = {g["id"] for g in admin.get("/group", type="WORKFLOW")}
    assert {"dept-head", "finance-officer", "chief-accountant", "vice-president", "president",
            "budget-committee", "party-committee", "equipment-committee"} <= groups
    for group in groups:
        [found] = _managed(admin, f"role:{group}")
        assert found["name"].endswith("待办") and not any(c.isascii() and c.isalpha() for c in found["name"])
        assert found["query"]["candidateGroupLike"] == f"{group}%"  # the role and its department groups
        assert _readers(admin, found["id"]) == {group}
    head = {f["name"] for f in as_user(camunda, "li.na").get("/filter", resourceType="Task")}
    officer = {f["name"] for f in as_user(camunda, "wang.fang").get("/filter", resourceType="Task")}
    assert {"部门负责人待办", "我的任务", "我可办理的任务"} <= head and "财务审核员待办" not in head
    assert "财务审核员待办" in officer and "部门负责人待办" not in officer


def test_a_user_can_neither_list_another_roles_filter_nor_change_her_own(camunda, admin):
    [finance] = _managed(admin, "role:finance-officer")
    [heads] = _managed(admin, "role:dept-head")
    head = as_user(camunda, "li.na")
    with pytest.raises((EngineAuthError, EngineRequestError)):
        head.post(f"/filter/{finance['id']}/list", {})
    with pytest.raises(EngineAuthError):
        head.put(f"/filter/{heads['id']}", {**heads, "query": {"candidateGroup": "finance-officer"}})
    assert _managed(admin, "role:dept-head")[0]["query"]["candidateGroupLike"] == "dept-head%"


def test_running_the_setup_again_updates_a_changed_filter_instead_of_adding_one(camunda, admin):
    prepare_filters(admin)
    before = len(admin.get("/filter", resourceType="Task"))
    [heads] = _managed(admin, "role:dept-head")
    tampered = {**heads, "name": "临时改名", "properties": {**heads["properties"], "variables": []},
                "query": {"candidateGroup": "finance-officer"}}
    tampered.pop("id")
    admin.put(f"/filter/{heads['id']}", tampered)
    admin.post("/authorization/create", {"type": 1, "permissions": ["READ"], "groupId": "finance-officer",
                                         "userId": None, "resourceType": FILTER_RESOURCE_TYPE,
                                         "resourceId": heads["id"]})

    setup = prepare_filters(admin)

    assert setup.updated == ["部门负责人待办"] and not setup.created
    assert len(admin.get("/filter", resourceType="Task")) == before
    [restored] = _managed(admin, "role:dept-head")
    assert restored["id"] == heads["id"] and restored["name"] == "部门负责人待办"
    assert restored["query"]["candidateGroupLike"] == "dept-head%"
    assert [v["name"] for v in restored["properties"]["variables"]][:3] == [
        f"{LIST_PREFIX}requestNo", f"{LIST_PREFIX}claimNo", f"{LIST_PREFIX}proposalNo"]
    assert _readers(admin, heads["id"]) == {"dept-head"}
    again = prepare_filters(admin)
    assert not again.created and not again.updated and again.grants_changed == 0


def test_the_role_filter_lists_a_real_task_with_its_document_facts(camunda, workers, budget, admin):
    number = submit_spending_request({"department": "T-E2E", "category": "materials", "amount": "86.50",
                                      "fundingSource": "fiscal", "requester": "zhang.wei", "payee": "国药控股",
                                      "purpose": "列表列测试 list columns"}, engine=camunda)
    with session_scope() as session:
        pid = session.get(SpendingRequest, number).process_instance_id
    open_task(camunda, pid, timeout=90)
    [heads] = _managed(admin, "role:dept-head")
    listed = as_user(camunda, "li.na").request("POST", f"/filter/{heads['id']}/list", json={}, headers=HAL,
                                               params={"firstResult": 0, "maxResults": 50})
    [task] = [t for t in listed["_embedded"]["task"] if t["processInstanceId"] == pid]
    values = {v["name"]: v["value"] for v in task["_embedded"]["variable"]}
    assert values[f"{LIST_PREFIX}requestNo"] == number
    assert values[f"{LIST_PREFIX}requester"] == "zhang.wei"
    assert values[f"{LIST_PREFIX}department"] == "T-E2E"
    assert values[f"{LIST_PREFIX}amount"] == "86.50"
    assert values[f"{LIST_PREFIX}purpose"] == "列表列测试 list columns"
    # the approver reads the task's copies, not the process's variables (queries leave out what she may not read)
    readable = as_user(camunda, "li.na").get("/variable-instance", processInstanceIdIn=pid)
    assert readable and all(v["name"].startswith(LIST_PREFIX) or v["taskId"] for v in readable)
    assert "amount" not in {v["name"] for v in readable}
