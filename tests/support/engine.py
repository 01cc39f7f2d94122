"""Acting on the real engine as the demo users, and waiting for asynchronous outcomes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from smartfin.camunda.client import EngineClient

DEMO_PASSWORD = "smartfin-demo"
T = TypeVar("T")

# one demo user per approver group (see engine/src/main/resources/application-demo.yaml)
APPROVER_OF_GROUP = {
    "dept-head": "li.na", "vice-president": "chen.jie", "finance-officer": "wang.fang",
    "finance-vp": "yang.min", "chief-accountant": "liu.yang", "president": "zhao.lei",
    "budget-committee": "sun.li", "party-committee": "zhou.qiang",
}


def wait_for(probe: Callable[[], T], timeout: float = 30.0, interval: float = 0.2,
             message: str = "condition") -> T:
    """Poll until ``probe`` returns something truthy; fail with ``message`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}")
        time.sleep(interval)


def as_user(engine: EngineClient, user: str) -> EngineClient:
    return engine.as_user(user, DEMO_PASSWORD)


def open_task(engine: EngineClient, process_instance_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """The one open user task of a process instance, waiting for the workers to get there."""
    return wait_for(lambda: (engine.tasks(processInstanceId=process_instance_id) or [None])[0], timeout,
                    message=f"a user task in process {process_instance_id}")


def candidate_groups(engine: EngineClient, task_id: str) -> list[str]:
    links = engine.get(f"/task/{task_id}/identity-links", type="candidate")
    return sorted(link["groupId"] for link in links if link.get("groupId"))


def process_ended(engine: EngineClient, process_instance_id: str, timeout: float = 30.0) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        history = engine.historic_process(process_instance_id)
        return history if history.get("state") in ("COMPLETED", "EXTERNALLY_TERMINATED") else None
    return wait_for(ended, timeout, message=f"process {process_instance_id} to end")


def ended_at(engine: EngineClient, process_instance_id: str) -> set[str]:
    """Outcome end events the process instance reached (by convention their ids start with "request")."""
    return {a["activityId"] for a in engine.historic_activities(process_instance_id)
            if a["activityType"] == "noneEndEvent" and a["activityId"].startswith("request")}


def approve_chain(engine: EngineClient, process_instance_id: str, *, reject_at: str | None = None,
                  comment: str = "同意 ok", task_key: str = "approveRequest") -> list[str]:
    """Complete approval tasks (``task_key``) as each group's demo user until none is left; returns the
    groups seen."""
    seen: list[str] = []
    while True:
        try:
            task = open_task(engine, process_instance_id, timeout=20)
        except AssertionError:
            return seen
        if task["taskDefinitionKey"] != task_key:
            return seen
        groups = candidate_groups(engine, task["id"])
        assert len(groups) == 1, groups
        group = groups[0]
        seen.append(group)
        decision = "reject" if group == reject_at else "approve"
        as_user(engine, APPROVER_OF_GROUP[group]).complete_task(
            task["id"], {"decision": decision, "comment": comment})
        if decision == "reject":
            return seen
        wait_for(lambda tid=task["id"]: not engine.tasks(taskId=tid), 10, message="task completion")
