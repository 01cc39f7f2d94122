"""Tasklist filters per workflow role, written through the engine's REST API on every `smartfin up`.

A filter is what an approver opens in Tasklist: "部门负责人待办" lists the tasks offered to the
``dept-head`` group and to the department-scoped groups ``dept-head.<department code>`` (a head reads only
her own department's: the engine shows a user the tasks offered to her groups). Each filter names the
process variables Tasklist shows in the list (document number, requester, department, amount, purpose;
Tasklist itself shows how long ago the task was created), so an approver sees what a task is about before opening it.

The set of filters is derived from the engine's workflow groups (type ``WORKFLOW``, seeded by the
engine from its role list), so a role added to the engine gets its filter on the next `up` without a
change here. The setup is idempotent and converges: every managed filter carries a stable key in its
properties (``smartfinFilter``), so a filter whose name, description, query or columns changed is
updated in place, never duplicated; its read grants are set to exactly the groups it is meant for.
Filters and authorizations are written as the engine administrator: the service account has no right
to create authorizations, and must not have one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smartfin.camunda.client import EngineClient
from smartfin.camunda.secrets import ensure_secrets
from smartfin.kernel.settings import Settings

#: property holding the stable identity of a filter managed here
MANAGED_KEY = "smartfinFilter"
#: the engine's resource type number of filters (org.camunda.bpm.engine.authorization.Resources.FILTER)
FILTER_RESOURCE_TYPE = 5
AUTH_GRANT = 1
WORKFLOW_GROUP_TYPE = "WORKFLOW"
LIST_PREFIX = "list_"
NEWEST_FIRST = [{"sortBy": "created", "sortOrder": "desc"}]

#: the variables shown in the task list, as the processes set them (first the document numbers of the
#: spending, reimbursement and procurement processes, then who asks, where, how much and what for).
#: The engine copies them onto each user task as ``list_<name>`` (TaskListColumnsPlugin, names in
#: engine/src/main/resources/application.yaml ``smartfin.tasklist.list-variables``): a candidate may read
#: the task's own variables, not the process's. Tasklist shows only those a task has
#: (``showUndefinedVariable`` false).
LIST_VARIABLES: tuple[tuple[str, str], ...] = (
    ("requestNo", "申请单号"),
    ("claimNo", "报销单号"),
    ("proposalNo", "论证单号"),
    ("requester", "申请人"),
    ("claimant", "报销人"),
    ("proposer", "申报人"),
    ("departmentName", "科室"),
    ("department", "科室代码"),
    ("amount", "金额(元)"),
    ("totalInvestment", "总投资(元)"),
    ("purpose", "用途"),
    ("project", "项目"),
)


@dataclass(frozen=True)
class FilterSpec:
    """What one managed filter must look like and which groups may read it."""

    key: str
    name: str
    description: str
    query: dict[str, Any]
    priority: int
    groups: tuple[str, ...]
    #: names the filter had before it was managed here (the engine's seeder created them)
    former_names: tuple[str, ...] = ()

    def properties(self) -> dict[str, Any]:
        return {
            MANAGED_KEY: self.key,
            "description": self.description,
            "priority": self.priority,
            "refresh": True,
            "showUndefinedVariable": False,
            "variables": [{"name": LIST_PREFIX + name, "label": label} for name, label in LIST_VARIABLES],
        }

    def body(self) -> dict[str, Any]:
        return {"resourceType": "Task", "name": self.name, "owner": None,
                "query": self.query, "properties": self.properties()}


@dataclass
class FilterSetup:
    """What one run changed, by filter name."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    grants_changed: int = 0


def _names(group: dict[str, Any]) -> tuple[str, str]:
    """(Chinese, English) parts of a role group's name "部门负责人 Department head"."""
    name = str(group.get("name") or group["id"]).strip()
    chinese, _, english = name.partition(" ")
    return chinese, english.strip()


def role_pattern(group_id: str) -> str:
    """The role's own group and its department-scoped groups (``dept-head`` and ``dept-head.CARD`` …), as a
    LIKE pattern. The engine lists only the tasks the user may read — those offered to her own groups — so a
    department head's filter shows her department's steps and none of another department's."""
    return f"{group_id}%"


def role_filter_specs(groups: list[dict[str, Any]]) -> list[FilterSpec]:
    """One filter per workflow group, plus the two every role member shares ("我的任务", "我可办理的任务")."""
    roles = sorted((g for g in groups if g.get("type") == WORKFLOW_GROUP_TYPE), key=lambda g: str(g["id"]))
    everyone = tuple(str(g["id"]) for g in roles)
    specs = [
        FilterSpec(
            key="assigned-to-me", name="我的任务",
            description="已认领或分配给我的任务，最新的在前",
            query={"assigneeExpression": "${currentUser()}", "sorting": NEWEST_FIRST},
            priority=-10, groups=everyone, former_names=("我的任务 My tasks",)),
        FilterSpec(
            key="offered-to-me", name="我可办理的任务",
            description="我所在各组（含代理授权）可办理的全部任务，含已被认领的",
            query={"candidateGroupsExpression": "${currentUserGroups()}", "includeAssignedTasks": True,
                   "sorting": NEWEST_FIRST},
            priority=-5, groups=everyone),
    ]
    for group in roles:
        group_id = str(group["id"])
        chinese, english = _names(group)
        specs.append(FilterSpec(
            key=f"role:{group_id}", name=f"{chinese}待办",
            description=f"提交给{chinese}（{group_id}）审批或办理的任务，含已被认领的，最新的在前",
            query={"candidateGroupLike": role_pattern(group_id), "includeAssignedTasks": True,
                   "sorting": NEWEST_FIRST},
            priority=0, groups=(group_id,),
            former_names=(f"{chinese}待办 {english} tasks",) if english else ()))
    return specs


def _same_query(stored: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    """The engine returns a query with every criterion, unset ones as null/false/empty: compare what is set."""
    def meaningful(query: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in query.items() if v not in (None, False, [], {}, "")}
    return meaningful(stored or {}) == meaningful(wanted)


def _same(stored: dict[str, Any], spec: FilterSpec) -> bool:
    return (stored.get("name") == spec.name
            and (stored.get("properties") or {}) == spec.properties()
            and _same_query(stored.get("query"), spec.query))


def _find(stored: list[dict[str, Any]], spec: FilterSpec) -> dict[str, Any] | None:
    for item in stored:
        if (item.get("properties") or {}).get(MANAGED_KEY) == spec.key:
            return item
    for item in stored:
        if item.get("name") in spec.former_names and MANAGED_KEY not in (item.get("properties") or {}):
            return item
    return None


def _grant_exactly(admin: EngineClient, filter_id: str, groups: tuple[str, ...]) -> int:
    """READ on the filter for exactly ``groups`` (grants to other groups removed); returns changes."""
    changes = 0
    existing = admin.get("/authorization", resourceType=FILTER_RESOURCE_TYPE, resourceId=filter_id,
                         type=AUTH_GRANT) or []
    by_group = {a["groupId"]: a for a in existing if a.get("groupId")}
    for group_id in groups:
        found = by_group.get(group_id)
        if found is None:
            admin.post("/authorization/create", {"type": AUTH_GRANT, "permissions": ["READ"], "groupId": group_id,
                                                 "userId": None, "resourceType": FILTER_RESOURCE_TYPE,
                                                 "resourceId": filter_id})
            changes += 1
        elif sorted(found.get("permissions") or []) != ["READ"]:
            admin.put(f"/authorization/{found['id']}", {"permissions": ["READ"], "groupId": group_id, "userId": None,
                                                        "resourceType": FILTER_RESOURCE_TYPE,
                                                        "resourceId": filter_id})
            changes += 1
    for group_id, found in by_group.items():
        if group_id not in groups:
            admin.delete(f"/authorization/{found['id']}")
            changes += 1
    for found in existing:  # a managed filter is never readable by single users or by everyone
        if found.get("userId"):
            admin.delete(f"/authorization/{found['id']}")
            changes += 1
    return changes


def prepare_filters(admin: EngineClient) -> FilterSetup:
    """Create or update every role filter and set its read grants; run as the engine administrator."""
    groups = admin.get("/group", type=WORKFLOW_GROUP_TYPE) or []
    stored = list(admin.get("/filter", resourceType="Task") or [])
    setup = FilterSetup()
    for spec in role_filter_specs(groups):
        found = _find(stored, spec)
        if found is None:
            created = admin.post("/filter/create", spec.body())
            filter_id = str(created["id"])
            setup.created.append(spec.name)
        else:
            filter_id = str(found["id"])
            if _same(found, spec):
                setup.unchanged.append(spec.name)
            else:
                admin.put(f"/filter/{filter_id}", spec.body())
                setup.updated.append(spec.name)
        setup.grants_changed += _grant_exactly(admin, filter_id, spec.groups)
    return setup


def admin_client(settings: Settings) -> EngineClient:
    """The engine administrator's client (password from the environment or var/secrets.env)."""
    password = ensure_secrets(settings)["SMARTFIN_ENGINE_ADMIN_PASSWORD"]
    client = EngineClient(settings.engine_rest_url, "admin", password)
    client.refused_hint = "check SMARTFIN_ENGINE_ADMIN_PASSWORD or var/secrets.env"
    return client
