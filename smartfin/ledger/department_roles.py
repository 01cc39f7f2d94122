"""Department roles (科室角色): who holds a department-scoped role — its head (科室负责人) — in which period.

Approval routing names roles ("dept-head"); which person that is depends on the document's department. This
table is the record of it, in dated periods like the department master data: ``valid_from`` and ``valid_to``
are both days included, ``valid_to`` None = still in force. Periods of one department and role never overlap
(a department has one head at a time); one person may hold the role for several departments.

The role is a column, not a table per role, so the other department-scoped people the project keeps today
in their own processes (the compilation's budget contact, the insurance appeal officer) can move here as
further ``DepartmentRoleKind`` values without a schema change.

Scoped candidate groups
-----------------------
A role with an engine group (``ROLE_GROUPS``: ``head`` → ``dept-head``) gives each department its own engine
group ``<role group>.<department code>`` — ``dept-head.CARD`` — whose members are the role's holders today.
The routing of a document of department D puts ``dept-head.D`` into the stored chain instead of
``dept-head`` (``scoped_group``), so Tasklist offers the task to D's head only; the control step before money
moves checks the signer against this table on the day she signed (``holds_role``), never against the
engine's copy alone. Until any role is recorded (``roles_loaded`` false) routing keeps the unscoped groups, so
a hospital that has not loaded its heads works as before.

File format (CSV in UTF-8 or GBK, or ``.xlsx``; one header row; all rows or nothing): ``department`` (科室,
科室编码), ``role`` (角色; ``head``/负责人/科室负责人, default ``head``), ``user`` (用户, 用户名, 工号 — the
engine login), ``valid_from`` (生效日期; default: the day of the import), ``valid_to`` (失效日期; empty = still
in force).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from smartfin.kernel.clock import hospital_today, utc_now
from smartfin.kernel.import_files import (
    ImportFormat,
    ImportIssue,
    cell_date,
    cell_text,
    file_bytes,
    is_blank,
    read_import_table,
)
from smartfin.ledger.departments import CODE_MAX, department_on, versions_of
from smartfin.store.audit import UtcDateTime, record_audit
from smartfin.store.db import session_scope

USER_MAX = 64  # the engine's user id column
#: what the engine accepts as a group id (``general-resource-whitelist-pattern`` in the engine's configuration)
ENGINE_ID = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]*")
SCOPE_SEPARATOR = "."


class DepartmentRoleKind(StrEnum):
    """A role a person holds for one department."""

    HEAD = "head"  # 科室负责人: signs the department's requests and claims at the dept-head step


#: the engine's role group of each role whose tasks are scoped by department
ROLE_GROUPS: dict[DepartmentRoleKind, str] = {DepartmentRoleKind.HEAD: "dept-head"}
ROLE_ALIASES: dict[str, DepartmentRoleKind] = {
    "head": DepartmentRoleKind.HEAD, "dept-head": DepartmentRoleKind.HEAD, "负责人": DepartmentRoleKind.HEAD,
    "科室负责人": DepartmentRoleKind.HEAD, "部门负责人": DepartmentRoleKind.HEAD, "科主任": DepartmentRoleKind.HEAD,
}
ROLE_FORMAT = ImportFormat(
    name="department role", columns=("department", "role", "user", "valid_from", "valid_to"),
    required=("department", "user"),
    aliases={"科室": "department", "科室编码": "department", "部门": "department", "部门编码": "department",
             "角色": "role", "用户": "user", "用户名": "user", "工号": "user", "人员": "user",
             "生效日期": "valid_from", "开始日期": "valid_from", "失效日期": "valid_to", "截止日期": "valid_to",
             "结束日期": "valid_to"})


class DepartmentRole(SQLModel, table=True):
    """One period in which ``user_id`` holds ``role`` for ``department`` (days included; ``valid_to`` None =
    still in force)."""

    __tablename__ = "department_role"
    __table_args__ = (UniqueConstraint("department", "role", "valid_from", name="uq_department_role_from"),)

    id: int | None = Field(default=None, primary_key=True)
    department: str = Field(max_length=CODE_MAX, index=True)
    role: str = Field(max_length=32)
    user_id: str = Field(max_length=USER_MAX, index=True)
    valid_from: date
    valid_to: date | None = None
    recorded_by: str = Field(max_length=USER_MAX)
    recorded_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))

    def in_force(self, on: date) -> bool:
        """Whether the period covers ``on``."""
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)

    @property
    def period(self) -> str:
        """``2024-01-01 – 2026-06-30`` or ``2024-01-01 –`` (still in force)."""
        return f"{self.valid_from} – {self.valid_to or ''}".rstrip()

    @property
    def engine_group(self) -> str | None:
        """The scoped engine group this period makes its holder a member of (None for a role without one)."""
        base = ROLE_GROUPS.get(DepartmentRoleKind(self.role))
        return None if base is None else scoped_group(base, self.department)


# ------------------------------------------------------------------------------------------ groups

def scoped_group(role_group: str, department: str) -> str:
    """``dept-head`` of ``CARD`` → ``dept-head.CARD``: the engine group of one department's holders."""
    return f"{role_group}{SCOPE_SEPARATOR}{department}"


def role_of_group(group: str) -> tuple[DepartmentRoleKind, str] | None:
    """``dept-head.CARD`` → (head, ``CARD``); None for a group that is not department-scoped."""
    for role, base in ROLE_GROUPS.items():
        prefix = base + SCOPE_SEPARATOR
        if group.startswith(prefix) and len(group) > len(prefix):
            return role, group[len(prefix):]
    return None


def scoped_groups_of(groups: list[str], department: str) -> list[str]:
    """A routed chain with every department-scoped role group (``dept-head``) narrowed to ``department``."""
    scoped = set(ROLE_GROUPS.values())
    return [scoped_group(group, department) if group in scoped else group for group in groups]


# ------------------------------------------------------------------------------------------ lookups

def roles_loaded(session: Session) -> bool:
    """Whether the hospital records department roles: from then on, department-scoped steps are scoped."""
    return session.exec(select(DepartmentRole.id).limit(1)).first() is not None


def holders_on(session: Session, department: str, role: DepartmentRoleKind, on: date) -> list[str]:
    """Who holds ``role`` for ``department`` on ``on`` (at most one person: periods never overlap)."""
    rows = session.exec(select(DepartmentRole).where(
        DepartmentRole.department == department, DepartmentRole.role == role.value)).all()
    return [row.user_id for row in rows if row.in_force(on)]


def groups_held(session: Session, user: str, on: date) -> list[str]:
    """The department-scoped engine groups ``user`` holds on ``on`` (``dept-head.CARD`` ...), from the record."""
    rows = session.exec(select(DepartmentRole).where(DepartmentRole.user_id == user)).all()
    return sorted({group for row in rows if row.in_force(on) and (group := row.engine_group) is not None})


def holds_role(session: Session, user: str, group: str, on: date) -> bool:
    """Whether ``user`` held the department role that the scoped ``group`` stands for on ``on``."""
    found = role_of_group(group)
    return found is not None and user in holders_on(session, found[1], found[0], on)


def department_roles(session: Session, *, on: date | None = None) -> list[DepartmentRole]:
    """Every recorded period by department, role and day; with ``on``, only the periods in force that day."""
    rows = list(session.exec(select(DepartmentRole).order_by(
        col(DepartmentRole.department), col(DepartmentRole.role), col(DepartmentRole.valid_from))).all())
    return rows if on is None else [row for row in rows if row.in_force(on)]


def wanted_memberships(session: Session, on: date) -> dict[str, set[str]]:
    """Scoped engine group → its members on ``on``; a department whose holder's period ended keeps its group
    with no member, so the engine's copy of the record can be made exactly equal to it."""
    wanted: dict[str, set[str]] = {}
    for row in department_roles(session):
        group = row.engine_group
        if group is None:
            continue
        members = wanted.setdefault(group, set())
        if row.in_force(on):
            members.add(row.user_id)
    return wanted


# ------------------------------------------------------------------------------------------ import

@dataclass
class RoleImportReport:
    source: str
    sha256: str
    rows: int = 0
    added: int = 0
    closed: int = 0
    unchanged: int = 0
    errors: list[ImportIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Row:
    row_no: int
    department: str
    role: DepartmentRoleKind
    user: str
    valid_from: date
    valid_to: date | None


def import_department_roles(session: Session, source: str | Path | bytes, *, actor: str,
                            user_exists: Callable[[str], bool], filename: str | None = None,
                            today: date | None = None) -> RoleImportReport:
    """Record the role periods a file lists, all or nothing; every refused row is reported (row, column, reason).

    Refused: a department not in force on the period's first day, a user the engine does not know
    (``user_exists``), a period that overlaps another of the same department and role (in the file or
    recorded), a period that ends before it begins. A row equal to a recorded period changes nothing; a row
    that gives an end to a recorded open period closes it (a head leaves); any other change to a recorded
    period is refused — history is not rewritten, a successor gets her own period.
    """
    data, name = file_bytes(source, filename)
    digest = hashlib.sha256(data).hexdigest()
    report = RoleImportReport(source=name, sha256=digest)
    table, issues = read_import_table(data, name, ROLE_FORMAT)
    report.errors.extend(issues)
    if table is None:
        return report
    report.rows = len(table)
    first_day = today or hospital_today()
    rows: list[_Row] = []
    known_users: dict[str, bool] = {}
    for row_no, cells in table:
        def fail(column: str, reason: str, row_no: int = row_no) -> None:
            report.errors.append(ImportIssue(row_no, column, reason))

        problems_before = len(report.errors)
        department = cell_text(cells.get("department"))
        raw_role = cell_text(cells.get("role")) or DepartmentRoleKind.HEAD.value
        role = ROLE_ALIASES.get(raw_role) or ROLE_ALIASES.get(raw_role.lower())
        if role is None:
            fail("role", f"角色 {raw_role!r} 无法识别 / unknown role (use head / 科室负责人)")
        user = cell_text(cells.get("user"))
        if not user or len(user) > USER_MAX or not ENGINE_ID.fullmatch(user):
            fail("user", f"用户 {user!r} 无效 / an engine login of 1–{USER_MAX} letters, digits, '.', '_' or '-' "
                         "is needed")
            user = ""
        elif user not in known_users:
            known_users[user] = user_exists(user)
        if user and not known_users[user]:
            fail("user", f"流程引擎中没有用户 {user} / the engine has no user {user}")
        given_from = cells.get("valid_from")
        valid_from = first_day if is_blank(given_from) else cell_date(given_from, "valid_from", fail)
        given_to = cells.get("valid_to")
        valid_to = None if is_blank(given_to) else cell_date(given_to, "valid_to", fail)
        if valid_from is not None and valid_to is not None and valid_to < valid_from:
            fail("valid_to", f"失效日期 {valid_to} 早于生效日期 {valid_from} / the period ends before it begins")
            continue
        if not department:
            fail("department", "科室为空 / the department code is missing")
            continue
        if not ENGINE_ID.fullmatch(department):
            fail("department", f"科室编码 {department!r} 不能用作流程引擎的组名 / the code cannot name an engine "
                               "group (letters, digits, '.', '_' or '-')")
            continue
        if not versions_of(session, department):
            fail("department", f"科室 {department} 不存在 / unknown department {department} (see smartfin "
                               "departments list)")
            continue
        if valid_from is not None and department_on(session, department, valid_from) is None:
            fail("valid_from", f"科室 {department} 在 {valid_from} 未启用 / department {department} is not active "
                               f"on {valid_from}")
            continue
        if role is None or valid_from is None or len(report.errors) > problems_before:
            continue
        rows.append(_Row(row_no, department, role, user, valid_from, valid_to))
    recorded = list(session.exec(select(DepartmentRole).where(
        col(DepartmentRole.department).in_({r.department for r in rows}))).all())
    stored = {(r.department, r.role, r.valid_from): r for r in recorded}
    to_add: list[_Row] = []
    to_close: list[tuple[DepartmentRole, date]] = []
    # what the periods will be once the file is in: the recorded ones (closed where the file closes them)
    periods: dict[tuple[str, str], list[tuple[date, date | None, str]]] = {}
    for r in recorded:
        periods.setdefault((r.department, r.role), []).append(
            (r.valid_from, r.valid_to, f"已记录 recorded ({r.user_id})"))
    seen: dict[tuple[str, str, date], int] = {}
    for row in rows:
        key = (row.department, row.role.value, row.valid_from)
        if key in seen:
            report.errors.append(ImportIssue(row.row_no, "valid_from", f"与第 {seen[key]} 行同一科室、角色、生效日期 / "
                                             f"row {seen[key]} has the same department, role and first day"))
            continue
        seen[key] = row.row_no
        existing = stored.get(key)
        if existing is None:
            to_add.append(row)
            continue
        if existing.user_id != row.user:
            report.errors.append(ImportIssue(row.row_no, "user", (
                f"{row.department} 自 {row.valid_from} 已记录为 {existing.user_id} / {existing.user_id} is recorded "
                "from that day; a successor needs her own period")))
        elif existing.valid_to == row.valid_to:
            report.unchanged += 1
        elif existing.valid_to is None and row.valid_to is not None:
            to_close.append((existing, row.valid_to))
            periods[(existing.department, existing.role)] = [
                (start, row.valid_to if start == existing.valid_from else end, who)
                for start, end, who in periods[(existing.department, existing.role)]]
        else:
            report.errors.append(ImportIssue(row.row_no, "valid_to", (
                f"已记录的期间 {existing.period} 不能改为 {row.valid_from} – {row.valid_to or ''} / a recorded period "
                "is only closed, never changed otherwise")))
    for row in to_add:
        others = periods.setdefault((row.department, row.role.value), [])
        for start, end, who in others:
            if start <= (row.valid_to or date.max) and row.valid_from <= (end or date.max):
                report.errors.append(ImportIssue(row.row_no, "valid_from", (
                    f"与 {row.department} 的期间 {start} – {end or ''} ({who}) 重叠 / overlaps another period of the "
                    f"department's {row.role.value}: {start} – {end or ''}")))
                break
        else:
            others.append((row.valid_from, row.valid_to, f"第 {row.row_no} 行 row {row.row_no}"))
    if report.errors:
        ROLE_FORMAT.sort(report.errors)
        return report
    with session.begin_nested():
        for existing, last_day in to_close:
            existing.valid_to = last_day
            session.add(existing)
            report.closed += 1
        for row in to_add:
            session.add(DepartmentRole(department=row.department, role=row.role.value, user_id=row.user,
                                       valid_from=row.valid_from, valid_to=row.valid_to, recorded_by=actor))
            report.added += 1
        if report.added or report.closed:
            record_audit(session, actor=actor, action="department.roles_imported", subject_type="department_role",
                         subject_id=digest[:16], details={
                             "file": name, "sha256": digest, "rows": report.rows, "added": report.added,
                             "closed": report.closed, "unchanged": report.unchanged,
                             "periods": [[r.department, r.role.value, r.user, str(r.valid_from), str(r.valid_to or "")]
                                         for r in to_add]})
    return report


def scoped_membership(user: str, group: str, on: date) -> bool | None:
    """For a department-scoped group, whether ``user`` held its role on ``on`` (read from the record, never
    from the engine's copy); None for any other group, whose members the engine's identity service knows."""
    if role_of_group(group) is None:
        return None
    with session_scope() as session:
        return holds_role(session, user, group, on)
