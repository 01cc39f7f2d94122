"""The engine's department-scoped groups (``dept-head.CARD``) kept equal to the department role record.

Tasklist shows a user the tasks offered to her groups, so a department head sees her department's approval
steps only when the engine has her in that department's scoped group. The record
(``smartfin.ledger.department_roles``) is the truth; this module mirrors what is in force *today* into the
engine: it creates each scoped group (type ``department-role``, named after the role and the department),
adds the holders and removes everyone else — a head whose period ended loses the membership — and deletes
the groups no period names any more.

Group ids: ``<role group>.<department code>``, e.g. ``dept-head.CARD`` (the department codes are checked at
import to be valid engine ids). A deputy signs for a scoped group through a delegation that names it
(``smartfin delegation grant --group dept-head.CARD``), like any other group.

It runs on every ``smartfin up``, after a role import, from ``smartfin departments roles sync``, and with the
scheduled delegation sync, as the engine administrator (the service account may not write identities other
than deputy groups). The engine's copy can lag by a day at most; the control step before money moves never
relies on it and checks each signer against the record itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session

from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_today
from smartfin.ledger.department_roles import role_of_group, wanted_memberships
from smartfin.ledger.departments import department_name
from smartfin.store.audit import record_audit

ROLE_GROUP_TYPE = "department-role"
ROLE_NAMES = {"head": "科室负责人 head"}


@dataclass
class RoleGroupSync:
    """What one sync changed in the engine."""

    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    added: list[tuple[str, str]] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.deleted or self.added or self.removed)

    def summary(self) -> str:
        """One line for a command's output or a flow's log."""
        if not self.changed:
            return "department groups already in step"
        return (f"department groups: {len(self.created)} created, {len(self.deleted)} deleted, "
                f"{len(self.added)} memberships added, {len(self.removed)} removed")


def sync_department_groups(session: Session, admin: EngineClient, on: date | None = None) -> RoleGroupSync:
    """Make the engine's scoped groups and their members exactly the role holders in force on ``on``.

    Idempotent; ``admin`` is the engine administrator's client. Every change is audited.
    """
    day = on or hospital_today()
    wanted = wanted_memberships(session, day)
    existing = {str(g["id"]) for g in admin.get("/group", type=ROLE_GROUP_TYPE) or []}
    report = RoleGroupSync()
    for group_id, holders in sorted(wanted.items()):
        if group_id not in existing:
            found = role_of_group(group_id)
            assert found is not None
            role, department = found
            name = f"{department_name(session, department, day)} {ROLE_NAMES.get(role.value, role.value)}"
            admin.post("/group/create", {"id": group_id, "type": ROLE_GROUP_TYPE, "name": name[:255]})
            report.created.append(group_id)
            members: set[str] = set()
        else:
            members = {str(u["id"]) for u in admin.get("/user", memberOfGroup=group_id) or []}
        for user in sorted(holders - members):
            admin.put(f"/group/{group_id}/members/{user}")
            report.added.append((group_id, user))
        for user in sorted(members - holders):
            admin.delete(f"/group/{group_id}/members/{user}")
            report.removed.append((group_id, user))
    for group_id in sorted(existing - set(wanted)):
        admin.delete(f"/group/{group_id}")
        report.deleted.append(group_id)
    if report.changed:
        record_audit(session, actor="system", action="department-groups-synced", subject_type="department_role",
                     subject_id="engine", details={"on": day.isoformat(), "created": report.created,
                                                   "deleted": report.deleted, "added": report.added,
                                                   "removed": report.removed})
    return report
