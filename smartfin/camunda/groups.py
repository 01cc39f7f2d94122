"""Mirror a set of engine groups onto what the project records: one way to create, fill, empty and delete them.

The deputies' groups (授权代理) and the department heads' groups both live in the engine only as a copy of the
project's records, so Tasklist offers the right tasks; the records stay the authority. Both are kept in step
by this one function, so they cannot drift apart in how they treat a membership that ended.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from smartfin.camunda.client import EngineClient


@dataclass
class GroupMirror:
    """What one pass changed in the engine."""

    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    added: list[tuple[str, str]] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.deleted or self.added or self.removed)

    def details(self) -> dict[str, list]:
        """The changes as an audit entry's details."""
        return {"created": self.created, "deleted": self.deleted, "added": self.added, "removed": self.removed}


def mirror_groups(client: EngineClient, *, group_type: str, wanted: Mapping[str, set[str]],
                  name_of: Callable[[str], str], ours: Callable[[str], bool] = lambda group_id: True) -> GroupMirror:
    """Make the engine's groups of ``group_type`` (those ``ours`` accepts) exactly ``wanted`` (group → members).

    A missing group is created with ``name_of(group_id)``; members are added and removed one by one; a group no
    longer wanted is deleted. Idempotent: a second pass with the same ``wanted`` changes nothing.
    """
    existing = {str(g["id"]) for g in client.get("/group", type=group_type) or [] if ours(str(g["id"]))}
    report = GroupMirror()
    for group_id, holders in sorted(wanted.items()):
        if group_id not in existing:
            client.post("/group/create", {"id": group_id, "type": group_type, "name": name_of(group_id)[:255]})
            report.created.append(group_id)
            members: set[str] = set()
        else:
            members = {str(u["id"]) for u in client.get("/user", memberOfGroup=group_id) or []}
        for user in sorted(holders - members):
            client.put(f"/group/{group_id}/members/{user}")
            report.added.append((group_id, user))
        for user in sorted(members - holders):
            client.delete(f"/group/{group_id}/members/{user}")
            report.removed.append((group_id, user))
    for group_id in sorted(existing - set(wanted)):
        client.delete(f"/group/{group_id}")
        report.deleted.append(group_id)
    return report
