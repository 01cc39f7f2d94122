"""The year-end entry of actual indicator values on the real engine: what is stored is what the engine recorded of
the completed task, by the head the project recorded for the department, for that department's projects only.

Real engine, real workers, demo users over REST: li.na heads department A; a second department head (created for
the test in ``dept-head``) heads department B. Entries are opened by the product as the service account. Attacks:
li.na working B's task (a head of another department), extra variables naming another user or department
(refused by the engine's write guard), the service account — the strongest writer the engine has — handing B's
task to li.na and forging ``department`` and ``enteredBy`` in B's instance, a line for another department's
project, a value that is no number.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from smartfin.budgeting.assessment import department_targets
from smartfin.budgeting.projects import import_projects
from smartfin.kernel.clock import hospital_today
from smartfin.ledger import import_departments
from smartfin.processes.assessment.entries import AssessmentEntry, entry_by_key, entry_key, open_entries
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.security.engine_users import DEMO_PASSWORD, Actor, admin_password, service_actor, variables
from tests.support.engine import process_ended, wait_for

pytestmark = pytest.mark.engine
HEAD = "li.na"
YEAR = hospital_today().year


def instance_of(camunda: Any, key: str) -> str:
    found = camunda.get("/history/process-instance", processDefinitionKey="budget-assessment",
                        processInstanceBusinessKey=key)
    assert len(found) == 1, (key, found)
    return str(found[0]["id"])


def entry(key: str) -> AssessmentEntry:
    with session_scope() as session:
        row = entry_by_key(session, key)
        session.expunge(row)
        return row


def actuals(department: str) -> dict[str, tuple[str | None, str | None]]:
    with session_scope() as session:
        return {f"{p.code}|{t.indicator}": (t.actual_value, t.actual_by)
                for p, t in department_targets(session, YEAR, department)}


def next_task(actor: Actor, pid: str, *, not_id: str | None = None) -> dict[str, Any]:
    return wait_for(lambda: next((t for t in actor.ok("POST", "/task", {"processInstanceId": pid})
                                  if t["taskDefinitionKey"] == "enterActualValues" and t["id"] != not_id), None),
                    30, message=f"the entry task of {pid}")


def complete(actor: Actor, task: dict[str, Any], text: str, **extra: Any) -> Any:
    return actor.call("POST", f"/task/{task['id']}/complete", {"variables": variables(actualValues=text, **extra)})


@pytest.fixture()
def other_head(camunda: Any) -> Iterator[Actor]:
    """The head of another department: a second member of ``dept-head``."""
    admin = Actor(camunda.base_url, "admin", admin_password())
    name = f"head.{uuid.uuid4().hex[:6]}"
    admin.ok("POST", "/user/create", {"profile": {"id": name, "firstName": "H", "lastName": "B",
                                                  "email": f"{name}@example.org"},
                                      "credentials": {"password": "Head-pass-1"}})
    admin.ok("PUT", f"/group/dept-head/members/{name}")
    try:
        yield Actor(camunda.base_url, name, "Head-pass-1")
    finally:
        admin.call("DELETE", f"/user/{name}")


@pytest.fixture()
def opened(camunda: Any, other_head: Actor) -> dict[str, Any]:
    """Departments A (head li.na, project PA with two indicators) and B (the other head, project PB), each with
    its entry opened; returns codes, business keys and process instances."""
    tag = uuid.uuid4().hex[:5].upper()
    a, b = f"A{tag}", f"B{tag}"
    with session_scope() as session:
        report = import_departments(session, (f"code,name,class,valid_from\n{a},心内科{tag},clinical,2020-01-01\n"
                                              f"{b},放射科{tag},medical-technical,2020-01-01\n").encode(),
                                    actor="finance", filename="departments.csv")
        assert report.ok, report.errors
        pool = ("年度,项目编码,项目名称,科室,资金来源,优先级,状态,指标类型,指标维度,指标名称,计量单位,方向,目标值\n"
                f"{YEAR},PA{tag},胸痛中心,{a},fiscal,1,入选,产出指标,数量,设备台数,台,>=,10\n"
                f"{YEAR},PA{tag},胸痛中心,{a},fiscal,1,入选,效益指标,满意度,满意度,%,>=,90\n"
                f"{YEAR},PB{tag},影像云,{b},own,1,入选,产出指标,时效,报告时间,小时,<=,24\n")
        assert import_projects(session, pool.encode(), actor="finance", filename="pool.csv").ok
    keys = open_entries(YEAR, {a: HEAD, b: other_head.user}, actor="finance", engine=camunda)
    assert keys == [entry_key(YEAR, a), entry_key(YEAR, b)]
    assert open_entries(YEAR, {a: HEAD}, actor="finance", engine=camunda) == []   # opened once
    return {"a": a, "b": b, "pa": f"PA{tag}", "pb": f"PB{tag}", "key_a": keys[0], "key_b": keys[1],
            "pid_a": instance_of(camunda, keys[0]), "pid_b": instance_of(camunda, keys[1]), "other": other_head}


def test_the_head_enters_her_departments_values(camunda, workers, opened):  # type: ignore[no-untyped-def]
    head = Actor(camunda.base_url, HEAD, DEMO_PASSWORD)
    task = next_task(head, opened["pid_a"])
    assert task["assignee"] == HEAD
    shown = {k: v["value"] for k, v in head.ok("GET", f"/task/{task['id']}/variables").items()}
    pa = opened["pa"]
    assert shown["actualValues"] == f"{pa} | 设备台数 = \n{pa} | 满意度 = "
    assert "目标 >= 10 台" in shown["targetList"]
    answer = complete(head, task, f"{pa} | 设备台数 = 8\n{pa} | 满意度 = 95")
    assert answer.status == 204, answer.body
    process_ended(camunda, opened["pid_a"])
    row = entry(opened["key_a"])
    assert (row.status, row.entered_by, row.values_entered, row.entered_task_id) == ("entered", HEAD, 2, task["id"])
    assert actuals(opened["a"]) == {f"{pa}|设备台数": ("8", HEAD), f"{pa}|满意度": ("95", HEAD)}


def test_a_head_of_another_department_cannot_enter_its_values(camunda, workers, opened):  # type: ignore[no-untyped-def]
    head, other = Actor(camunda.base_url, HEAD, DEMO_PASSWORD), opened["other"]
    pid, pb = opened["pid_b"], opened["pb"]
    task = next_task(head, pid)        # she sees it: she is a department head too
    assert task["assignee"] == other.user
    assert complete(head, task, f"{pb} | 报告时间 = 12").status == 403    # the engine: assigned to someone else
    # the service account — the strongest writer — hands her the task and forges the department and the
    # person in B's instance: the project's record of B's head still decides
    service = service_actor(camunda)
    service.ok("POST", f"/task/{task['id']}/assignee", {"userId": HEAD})
    service.ok("POST", f"/process-instance/{pid}/variables",
               {"modifications": variables(department=opened["a"], enteredBy=HEAD)})
    answer = complete(head, task, f"{pb} | 报告时间 = 12")
    assert answer.status == 204, answer.body
    back = next_task(other, pid, not_id=task["id"])
    assert f"{HEAD} is not the head recorded for department {opened['b']} ({other.user})" in back["description"]
    assert actuals(opened["b"]) == {f"{pb}|报告时间": (None, None)}
    assert entry(opened["key_b"]).status == "open"
    with session_scope() as session:
        refused = session.exec(select(AuditEntry).where(AuditEntry.action == "budget-assessment-refused",
                                                        AuditEntry.subject_id == opened["key_b"])).all()
        assert [r.actor for r in refused] == [HEAD]
    # the recorded head enters it
    assert complete(other, back, f"{pb} | 报告时间 = 12").status == 204
    process_ended(camunda, pid)
    assert actuals(opened["b"]) == {f"{pb}|报告时间": ("12", other.user)}


def test_forged_users_departments_and_values_are_refused(camunda, workers, opened):  # type: ignore[no-untyped-def]
    head = Actor(camunda.base_url, HEAD, DEMO_PASSWORD)
    pid, pa, pb = opened["pid_a"], opened["pa"], opened["pb"]
    task = next_task(head, pid)
    # variables the form does not have: the engine refuses them, nothing is completed
    for extra in ({"enteredBy": "zhao.lei"}, {"department": opened["b"]}, {"head": "zhao.lei"}):
        answer = complete(head, task, f"{pa} | 设备台数 = 8", **extra)
        assert answer.status == 403, (extra, answer.status, answer.body)
    assert head.task(task["id"]) is not None
    # a line for another department's project among her own: all refused, nothing stored
    assert complete(head, task, f"{pa} | 设备台数 = 8\n{pb} | 报告时间 = 1").status == 204
    back = next_task(head, pid, not_id=task["id"])
    assert f"{pb} indicator '报告时间' is not a target of {opened['a']}'s pool projects" in back["description"]
    assert actuals(opened["a"]) == {f"{pa}|设备台数": (None, None), f"{pa}|满意度": (None, None)}
    assert actuals(opened["b"]) == {f"{pb}|报告时间": (None, None)}
    # a value that is no number, named by its line
    assert complete(head, back, f"{pa} | 设备台数 = 8\n{pa} | 满意度 = 很高").status == 204
    again = next_task(head, pid, not_id=back["id"])
    assert "line 2: '很高' is not a number" in again["description"]
    assert actuals(opened["a"]) == {f"{pa}|设备台数": (None, None), f"{pa}|满意度": (None, None)}
    assert complete(head, again, f"{pa} | 设备台数 = 8").status == 204
    process_ended(camunda, pid)
    assert actuals(opened["a"]) == {f"{pa}|设备台数": ("8", HEAD), f"{pa}|满意度": (None, None)}
