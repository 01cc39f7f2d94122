"""The demo's people: their logins (the engine's demo profile), and acting as them on the engine.

The demo drives its documents the way the people would in Tasklist: each task is completed through the
engine's REST API by a member of its candidate group, logged in as that member, so the engine's history,
the four-eyes listener and the control steps see exactly what a person would leave behind. The tests act
on the engine the same way, through these functions. Between two acts the workers run on their own:
``wait_for`` polls with a deadline and says what never arrived.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

import yaml

from smartfin.camunda.client import EngineAuthError, EngineClient
from smartfin.kernel.clock import hospital_today
from smartfin.kernel.settings import PROJECT_ROOT
from smartfin.ledger.department_roles import holders_on, role_of_group
from smartfin.store.db import session_scope

DEMO_USERS_FILE = PROJECT_ROOT / "engine" / "src" / "main" / "resources" / "application-demo.yaml"
T = TypeVar("T")

#: the demo user who signs for each approver group (see the README's demo logins)
APPROVER_OF_GROUP = {
    "dept-head": "li.na", "vice-president": "chen.jie", "finance-officer": "wang.fang",
    "finance-vp": "yang.min", "chief-accountant": "liu.yang", "president": "zhao.lei",
    "budget-committee": "sun.li", "party-committee": "zhou.qiang", "finance-head": "guo.hua",
    "insurance-officer": "gao.yan",
}


class WaitTimedOut(TimeoutError):
    """What the demo (or a test) waited for did not happen in time; the message names it."""


class StoppedByIncident(RuntimeError):
    """A worker step of the instance failed until its retries ran out: the engine holds an incident, and
    nothing moves until someone fixes the cause and retries the step."""


@dataclass(frozen=True)
class DemoUser:
    """One person of the demo profile: login, name as the hospital writes it (family name first), groups."""

    id: str
    name: str
    groups: tuple[str, ...]


@cache
def _demo_profile() -> tuple[str, tuple[DemoUser, ...]]:
    config = yaml.safe_load(DEMO_USERS_FILE.read_text(encoding="utf-8"))["smartfin"]["demo"]
    users = tuple(DemoUser(str(u["id"]), f"{u['last-name']}{u['first-name']}", tuple(u["groups"]))
                  for u in config["users"])
    return str(config["password"]), users


def demo_password() -> str:
    """The demo users' shared password, read at run time from the demo profile (its only written place)."""
    return _demo_profile()[0]


def demo_users() -> list[DemoUser]:
    """The demo logins exactly as the engine's demo profile creates them, in the profile's order."""
    return list(_demo_profile()[1])


def wait_for(probe: Callable[[], T], timeout: float = 30.0, interval: float = 0.2,
             message: str = "condition") -> T:
    """Poll until ``probe`` returns something truthy; ``WaitTimedOut`` naming ``message`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise WaitTimedOut(f"timed out after {timeout:.0f} s waiting for {message}")
        time.sleep(interval)


def open_task(engine: EngineClient, process_instance_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """The (first) open user task of a process instance, waiting for the workers to get there."""
    return wait_for(lambda: (engine.tasks(processInstanceId=process_instance_id) or [None])[0], timeout,
                    message=f"a user task in process {process_instance_id}")


def candidate_groups(engine: EngineClient, task_id: str) -> list[str]:
    """The candidate groups of a task, sorted (who may claim it in Tasklist)."""
    links = engine.get(f"/task/{task_id}/identity-links", type="candidate")
    return sorted(link["groupId"] for link in links if link.get("groupId"))


def process_ended(engine: EngineClient, process_instance_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """The historic process instance once it has ended (completed or terminated)."""
    def ended() -> dict[str, Any] | None:
        history = engine.historic_process(process_instance_id)
        return history if history.get("state") in ("COMPLETED", "EXTERNALLY_TERMINATED") else None
    return wait_for(ended, timeout, message=f"process {process_instance_id} to end")


def complete_as(engine: EngineClient, user: str, task: dict[str, Any], variables: dict[str, Any], *,
                password: str | None = None) -> None:
    """Complete ``task`` logged in as ``user`` (the person's own REST login), then wait until it is gone."""
    person = engine.as_user(user, password or demo_password())
    try:
        person.complete_task(task["id"], variables)
    finally:
        person.close()
    wait_for(lambda: not engine.tasks(taskId=task["id"]), 10, message=f"task {task['id']} to complete")


def approver_of(group: str) -> str | None:
    """The demo user who signs for ``group``: the one named in ``APPROVER_OF_GROUP``, or for a department's
    group (``dept-head.CARD``) the head the department role record names for today."""
    if group in APPROVER_OF_GROUP:
        return APPROVER_OF_GROUP[group]
    found = role_of_group(group)
    if found is None:
        return None
    with session_scope() as session:
        holders = holders_on(session, found[1], found[0], hospital_today())
    return holders[0] if holders else None


def signing_group(engine: EngineClient, task: dict[str, Any]) -> str:
    """The one candidate group of an approval task that a demo user signs for (else ``LookupError``)."""
    groups = candidate_groups(engine, task["id"])
    if len(groups) != 1 or approver_of(groups[0]) is None:
        raise LookupError(f"task {task['id']} ({task.get('name')}) has candidate groups {groups}: no single demo "
                          f"approver to sign it")
    return groups[0]


def sign_as_group_member(engine: EngineClient, task: dict[str, Any], *, decision: str = "approve",
                         comment: str = "同意 ok", password: str | None = None) -> str:
    """Complete an approval task as the demo user of its candidate group; returns that group."""
    group = signing_group(engine, task)
    complete_as(engine, str(approver_of(group)), task, {"decision": decision, "comment": comment},
                password=password)
    return group


def approve_chain(engine: EngineClient, process_instance_id: str, *, reject_at: str | None = None,
                  comment: str = "同意 ok", task_key: str = "approveRequest", password: str | None = None,
                  timeout: float = 20.0) -> list[str]:
    """Complete approval tasks (``task_key``) as each group's demo user until none is left; returns the
    groups seen, in order. Stops after a rejection (``reject_at`` names the group that rejects), at the
    first open task of another kind, or when no task comes within ``timeout``."""
    seen: list[str] = []
    while True:
        try:
            task = open_task(engine, process_instance_id, timeout=timeout)
        except WaitTimedOut:
            return seen
        if task["taskDefinitionKey"] != task_key:
            return seen
        group = signing_group(engine, task)
        seen.append(group)
        decision = "reject" if group == reject_at else "approve"
        complete_as(engine, str(approver_of(group)), task, {"decision": decision, "comment": comment},
                    password=password)
        if decision == "reject":
            return seen


def has_ended(engine: EngineClient, process_instance_id: str) -> bool:
    """Whether the process instance has ended (completed or terminated), from the engine's history."""
    return engine.historic_process(process_instance_id).get("state") in ("COMPLETED", "EXTERNALLY_TERMINATED")


TaskAct = Callable[[dict[str, Any]], None]


def advance(engine: EngineClient, process_instance_id: str, acts: Mapping[str, TaskAct], *, what: str,
            timeout: float = 120.0) -> list[dict[str, Any]]:
    """Act on the instance's open tasks that ``acts`` names (by task definition key) until it waits for
    someone else — an open task no act names — or has ended; returns the tasks it then waits at (none when
    it ended).

    Safe to call again on an instance an earlier, interrupted call left half-way: it picks up at whatever
    is open. Between acts the workers move the instance on; ``StoppedByIncident`` when a worker step gave up,
    ``WaitTimedOut`` (naming ``what``) when nothing changes for ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        tasks = engine.tasks(processInstanceId=process_instance_id)
        mine = [task for task in tasks if task["taskDefinitionKey"] in acts]
        for task in mine:
            acts[task["taskDefinitionKey"]](task)
        if mine:
            deadline = time.monotonic() + timeout
            continue
        if tasks:
            return tasks
        if has_ended(engine, process_instance_id):
            return []
        incidents = engine.get("/incident", processInstanceId=process_instance_id)
        if incidents:
            first = incidents[0]
            reason = str(first.get("incidentMessage") or "").splitlines()[0:1]
            raise StoppedByIncident(
                f"{what}: the step {first.get('activityId')} stopped with an incident: {' '.join(reason)} (see "
                f"var/logs/worker.log; once the cause is fixed, retry the step in Cockpit and run the demo again)")
        if time.monotonic() > deadline:
            raise WaitTimedOut(f"{what}: process {process_instance_id} did not reach a user task or its end within "
                               f"{timeout:.0f} s (a worker step is stuck or failing: see var/logs/worker.log and the "
                               f"incidents in Cockpit)")
        time.sleep(0.3)


class TasklistGuide:
    """Where each demo user finds an open task in Tasklist: the filter they see it under, read from the
    engine as that user (the filters are the engine's, seeded per role), and the task's name."""

    def __init__(self, engine: EngineClient, *, password: str | None = None) -> None:
        self.engine = engine
        self.password = password or demo_password()
        self._filters: dict[str, list[dict[str, Any]]] = {}
        self._later: dict[str, list[str]] = {}

    def filters_of(self, user: str) -> list[dict[str, Any]]:
        """The Tasklist filters the user sees (none for a user who is not a demo login)."""
        if user not in self._filters:
            person = self.engine.as_user(user, self.password)
            try:
                self._filters[user] = list(person.get("/filter", resourceType="Task"))
            except EngineAuthError:
                self._filters[user] = []
            finally:
                person.close()
        return self._filters[user]

    def filter_for(self, user: str, *, group: str | None) -> str:
        """The name of the user's filter that lists tasks of ``group`` (None: tasks assigned to the user)."""
        for found in self.filters_of(user):
            query = found.get("query") or {}
            if group is None and "currentUser()" in str(query.get("assigneeExpression") or ""):
                return str(found["name"])
            like = str(query.get("candidateGroupLike") or "")
            if group is not None and (query.get("candidateGroup") == group
                                      or group in (query.get("candidateGroups") or [])
                                      or (like.endswith("%") and group.startswith(like[:-1]))):
                return str(found["name"])
        return "(all tasks)"

    def lines(self, number: str, process_instance_id: str, note: str = "", *, requester: str | None = None,
              document_type: str | None = None) -> list[tuple[str, str]]:
        """``(user, where)`` for every open task of the instance: its assignee, or every demo user of its
        candidate groups (the ``requester`` is told that the four-eyes rule stops her signing). With the
        ``document_type`` of a routed document, the stored chain's later steps are noted for ``later_lines``."""
        out: list[tuple[str, str]] = []
        suffix = f" — {note}" if note else ""
        members = demo_users()
        waiting_groups: list[str] = []
        for task in self.engine.tasks(processInstanceId=process_instance_id):
            if task.get("assignee"):
                users: list[tuple[str, str | None]] = [(task["assignee"], None)]
            else:
                groups = candidate_groups(self.engine, task["id"])
                waiting_groups += groups
                users = [(user.id, group) for group in groups for user in members
                         if group in user.groups or approver_of(group) == user.id]
            for user, group in users:
                own = " (your own: the four-eyes rule stops you signing it)" if group and user == requester else ""
                out.append((user, f"Tasklist «{self.filter_for(user, group=group)}» → {task['name']} · "
                                  f"{number}{suffix}{own}"))
        if document_type:
            self._note_later_steps(document_type, number, waiting_groups, requester)
        return out

    def _note_later_steps(self, document_type: str, number: str, waiting_groups: list[str],
                          requester: str | None) -> None:
        from smartfin.processes.approvals import current_chain
        from smartfin.store.db import session_scope

        with session_scope() as session:
            chain = [step.candidate_group for step in current_chain(session, document_type, number)]
        positions = [i for i, group in enumerate(chain) if group in waiting_groups]
        if not positions:
            return
        for step, group in enumerate(chain[positions[0] + 1:], start=positions[0] + 2):
            for user in demo_users():
                if (group in user.groups or approver_of(group) == user.id) and user.id != requester:
                    self._later.setdefault(user.id, []).append(f"{number} (step {step}/{len(chain)})")

    def later_lines(self, what: str) -> list[tuple[str, str]]:
        """One line per demo user for the noted later steps (``what`` names the documents), then forgets them."""
        lines = [(user, f"coming to you later in their chains — {what}: {', '.join(entries)}")
                 for user, entries in self._later.items()]
        self._later = {}
        return lines
