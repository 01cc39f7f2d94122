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

from datetime import date

from sqlmodel import Session

from smartfin.camunda.client import EngineClient
from smartfin.camunda.groups import GroupMirror, mirror_groups
from smartfin.kernel.clock import hospital_today
from smartfin.ledger.department_roles import role_of_group, wanted_memberships
from smartfin.ledger.departments import department_name
from smartfin.store.audit import record_audit

ROLE_GROUP_TYPE = "department-role"
ROLE_NAMES = {"head": "科室负责人 head"}


class RoleGroupSync(GroupMirror):
    """What one sync of the department heads' groups changed in the engine."""

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
    def name_of(group_id: str) -> str:
        found = role_of_group(group_id)
        assert found is not None
        role, department = found
        return f"{department_name(session, department, day)} {ROLE_NAMES.get(role.value, role.value)}"

    report = RoleGroupSync(**vars(mirror_groups(admin, group_type=ROLE_GROUP_TYPE, wanted=wanted, name_of=name_of)))
    if report.changed:
        record_audit(session, actor="system", action="department-groups-synced", subject_type="department_role",
                     subject_id="engine", details={"on": day.isoformat(), **report.details()})
    return report
