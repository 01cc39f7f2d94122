"""Delegation (授权): a member of an approver group names a deputy who may sign that group's tasks for a while.

The requirement: a task may be handed on only to members of its candidate group, or to a deputy recorded
here with a validity period of at most one year; never to the requester; no re-delegation; each delegation
audited. This table is the record. The engine only learns what is valid *now*: ``sync_deputy_groups``
mirrors the active delegations into engine groups ``deputy.<delegator>.<group>`` (type ``deputy``), which
the engine's write guard consults when a holder assigns a task to someone outside its candidate group.
The engine's view can lag (a delegation that ran out since the last sync); the control step does not rely
on it: ``deputy_check`` answers from this table whether a deputy's signature was covered at the moment the
task was completed.

The rules of a grant are a pure function (``grant_problems``) so they are tested without an engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Field, Session, SQLModel, col, select

from smartfin.camunda.client import EngineClient
from smartfin.camunda.groups import GroupMirror, mirror_groups
from smartfin.kernel.clock import HOSPITAL_TZ, hospital_now, utc_now
from smartfin.ledger.department_roles import ROLE_GROUPS, groups_held, role_of_group, scoped_membership
from smartfin.store.audit import record_audit
from smartfin.store.db import session_scope

DEPUTY_PREFIX = "deputy."
DEPUTY_GROUP_TYPE = "deputy"
ADMIN_GROUP = "camunda-admin"
SUBJECT_TYPE = "delegation"
MAX_ENGINE_ID = 64  # the engine's group id column
# Groups a delegation can never cover: they are not approver roles, and covering them would hand out access.
NOT_DELEGABLE = frozenset({ADMIN_GROUP, "smartfin-service", "requester", "proxy-entry"})


class Delegation(SQLModel, table=True):
    """One recorded delegation: ``deputy`` may sign tasks of ``groups`` for ``delegator`` from ``valid_from``
    until (not including) ``valid_to``, unless it was revoked earlier."""

    __tablename__ = "delegation"

    id: int | None = Field(default=None, primary_key=True)
    delegator: str = Field(max_length=64, index=True)
    deputy: str = Field(max_length=64, index=True)
    groups: str = Field(max_length=400)  # comma-separated candidate groups it covers
    valid_from: datetime
    valid_to: datetime
    reason: str = Field(max_length=500)
    granted_by: str = Field(max_length=64)
    granted_at: datetime = Field(default_factory=utc_now)
    revoked_at: datetime | None = None
    revoked_by: str | None = Field(default=None, max_length=64)

    @property
    def covered(self) -> list[str]:
        return [g for g in self.groups.split(",") if g]

    def covers(self, group: str) -> bool:
        """Whether it covers tasks offered to ``group``: a group it names, or a department's scoped group
        (``dept-head.CARD``) of a role group it names (``dept-head``) — a head who hands on her department-head
        duties hands on her department's, whichever it is on the day. Whether the delegator held that
        department's role then is the control step's question (``deputy_check``)."""
        if group in self.covered:
            return True
        scoped = role_of_group(group)
        return scoped is not None and ROLE_GROUPS[scoped[0]] in self.covered

    def active_at(self, instant: datetime) -> bool:
        """Valid at ``instant`` and not revoked by then."""
        at = _aware(instant)
        if self.revoked_at is not None and _aware(self.revoked_at) <= at:
            return False
        return _aware(self.valid_from) <= at < _aware(self.valid_to)


class DelegationRefused(ValueError):
    """A grant or revocation the rules do not allow; the message lists every reason, in Chinese and English."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def _aware(instant: datetime) -> datetime:
    """Stored instants are UTC; a database that drops the offset gives them back naive."""
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def one_year_after(start: datetime) -> datetime:
    """The same wall-clock moment a calendar year later (29 February → 28 February): the longest validity."""
    try:
        return start.replace(year=start.year + 1)
    except ValueError:
        return start.replace(year=start.year + 1, day=28)


def deputy_group(delegator: str, group: str) -> str:
    """The engine group whose members are ``delegator``'s current deputies for ``group``."""
    return f"{DEPUTY_PREFIX}{delegator}.{group}"


# ----------------------------------------------------------------------------------------- the rules

@dataclass(frozen=True)
class Directory:
    """What the rules need to know about engine users, as plain callables (the engine, or a test's dict)."""

    user_exists: Callable[[str], bool]
    is_member: Callable[[str, str], bool]   # a real member of the group (deputy groups are other groups)
    deputy_for: Callable[[str, str], bool] = field(default=lambda _user, _group: False)  # holds it as deputy now


def grant_problems(*, delegator: str, deputy: str, groups: Sequence[str], valid_from: datetime,
                   valid_to: datetime, reason: str, now: datetime, directory: Directory) -> list[str]:
    """Every reason the grant is refused; an empty list means it may be recorded."""
    problems: list[str] = []
    if valid_from.tzinfo is None or valid_to.tzinfo is None:
        return ["授权起止时间须带时区 / the validity period must be timezone-aware"]
    if not reason.strip():
        problems.append("须说明授权理由 / a reason is required")
    if not deputy.strip() or not delegator.strip():
        problems.append("须指定授权人和代理人 / delegator and deputy are required")
        return problems
    if deputy == delegator:
        problems.append(f"不能授权给本人 / {delegator} cannot name themselves as deputy")
    if valid_to <= valid_from:
        problems.append(f"截止时间须晚于开始时间 / the delegation must end after it starts "
                        f"({valid_from.isoformat()} → {valid_to.isoformat()})")
    elif valid_to > one_year_after(valid_from):
        problems.append(f"授权期限不得超过一年 / a delegation may last at most one year "
                        f"({valid_from.isoformat()} → {valid_to.isoformat()})")
    if valid_to <= now:
        problems.append(f"授权截止时间已过 / the delegation would already have ended ({valid_to.isoformat()})")
    for user, role in ((delegator, "授权人 delegator"), (deputy, "代理人 deputy")):
        if not directory.user_exists(user):
            problems.append(f"{role} {user} 不是引擎用户 / {user} is not an engine user")
    if not groups:
        problems.append("须指定授权的候选组 / name at least one candidate group the deputy may sign for")
    for group in groups:
        dotted = "." in group and role_of_group(group) is None  # a department's scoped group may be named
        if group in NOT_DELEGABLE or group.startswith(DEPUTY_PREFIX) or dotted or "," in group:
            problems.append(f"{group} 不是可授权的审批组 / {group} is not an approver group that can be delegated")
            continue
        if len(deputy_group(delegator, group)) > MAX_ENGINE_ID:
            problems.append(f"用户名和组名过长 / {delegator} and {group} make a deputy group id longer than "
                            f"{MAX_ENGINE_ID} characters")
        if not directory.is_member(delegator, group):
            if directory.deputy_for(delegator, group):
                problems.append(f"{delegator} 仅为 {group} 的代理人，不得转授权 / {delegator} holds {group} only as a "
                                f"deputy: no re-delegation")
            else:
                problems.append(f"{delegator} 不属于 {group} / {delegator} is not a member of {group}")
        if directory.is_member(deputy, group):
            problems.append(f"{deputy} 已是 {group} 成员，无需授权 / {deputy} is already a member of {group}: "
                            f"a delegation would add nothing")
    return problems


# ------------------------------------------------------------------------------- grant and revoke

def engine_directory(service: EngineClient, session: Session | None = None) -> Directory:
    """The rules' view of users from the engine (asked as the service account) and of deputies from the table."""
    def user_exists(user: str) -> bool:
        return bool(user) and bool(service.get("/user", id=user))

    def is_member(user: str, group: str) -> bool:
        return bool(service.get("/user", id=user, memberOfGroup=group))

    def deputy_for(user: str, group: str) -> bool:
        if session is None:
            return False
        now = utc_now()
        return any(group in d.covered and d.active_at(now) for d in
                   session.exec(select(Delegation).where(Delegation.deputy == user)).all())
    return Directory(user_exists, is_member, deputy_for)


def grant_delegation(session: Session, directory: Directory, *, actor: str, actor_is_admin: bool, delegator: str,
                     deputy: str, groups: Sequence[str], valid_from: datetime, valid_to: datetime,
                     reason: str, now: datetime | None = None) -> Delegation:
    """Record a delegation after checking the rules; the grant is audited in the same transaction.

    The delegator grants for themselves; only an administrator grants for someone else.
    """
    now = now or utc_now()
    problems = []
    if actor != delegator and not actor_is_admin:
        problems.append(f"只有本人或管理员可以授权 / {actor} may grant only their own delegations, not {delegator}'s")
    groups = sorted({g.strip() for g in groups if g.strip()})
    problems += grant_problems(delegator=delegator, deputy=deputy, groups=groups, valid_from=valid_from,
                               valid_to=valid_to, reason=reason, now=now, directory=directory)
    if problems:
        raise DelegationRefused(problems)
    row = Delegation(delegator=delegator, deputy=deputy, groups=",".join(groups), valid_from=valid_from.astimezone(UTC),
                     valid_to=valid_to.astimezone(UTC), reason=reason.strip()[:500], granted_by=actor,
                     granted_at=now)
    session.add(row)
    session.flush()
    record_audit(session, actor=actor, action="delegation-granted", subject_type=SUBJECT_TYPE, subject_id=row.id or 0,
                 details={"delegator": delegator, "deputy": deputy, "groups": groups,
                          "valid_from": row.valid_from.isoformat(), "valid_to": row.valid_to.isoformat(),
                          "reason": row.reason})
    return row


def revoke_delegation(session: Session, delegation_id: int, *, actor: str, actor_is_admin: bool,
                      now: datetime | None = None) -> Delegation:
    """End a delegation now (the delegator, whoever granted it, or an administrator); audited."""
    now = now or utc_now()
    row = session.get(Delegation, delegation_id)
    if row is None:
        raise DelegationRefused([f"授权 {delegation_id} 不存在 / there is no delegation {delegation_id}"])
    if actor not in (row.delegator, row.granted_by) and not actor_is_admin:
        raise DelegationRefused([f"只有授权人或管理员可以撤销 / {actor} may not revoke delegation {delegation_id} "
                                 f"of {row.delegator}"])
    if row.revoked_at is not None:
        raise DelegationRefused([f"授权 {delegation_id} 已于 {row.revoked_at.isoformat()} 撤销 / delegation "
                                 f"{delegation_id} was already revoked"])
    row.revoked_at = now
    row.revoked_by = actor
    session.add(row)
    session.flush()
    record_audit(session, actor=actor, action="delegation-revoked", subject_type=SUBJECT_TYPE, subject_id=delegation_id,
                 details={"delegator": row.delegator, "deputy": row.deputy, "groups": row.covered})
    return row


def delegations(session: Session, *, include_ended: bool = False, now: datetime | None = None) -> list[Delegation]:
    """Recorded delegations, newest first; by default only those not yet ended or revoked."""
    now = now or utc_now()
    rows = list(session.exec(select(Delegation).order_by(col(Delegation.id).desc())).all())
    if include_ended:
        return rows
    return [d for d in rows if d.revoked_at is None and _aware(d.valid_to) > now]


def as_json(row: Delegation, now: datetime | None = None) -> dict[str, Any]:
    now = now or utc_now()
    return {"id": row.id, "delegator": row.delegator, "deputy": row.deputy, "groups": row.covered,
            "valid_from": _aware(row.valid_from).isoformat(), "valid_to": _aware(row.valid_to).isoformat(),
            "reason": row.reason, "granted_by": row.granted_by, "granted_at": _aware(row.granted_at).isoformat(),
            "revoked_at": _aware(row.revoked_at).isoformat() if row.revoked_at else None,
            "revoked_by": row.revoked_by, "active": row.active_at(now)}


# ------------------------------------------------------------------------------ dates on the command line

def parse_instant(text: str, *, end_of_day: bool) -> datetime:
    """``YYYY-MM-DD`` is a hospital business day (an end date includes the whole day); an ISO time with an
    offset is taken as given, one without as the hospital's wall clock."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime.combine(day, time(), tzinfo=HOSPITAL_TZ)
            return start + timedelta(days=1) if end_of_day else start
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise DelegationRefused([f"日期格式应为 YYYY-MM-DD / {text!r} is not a date (YYYY-MM-DD) or an ISO "
                                 "time"]) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=HOSPITAL_TZ)


def default_start() -> datetime:
    """A grant without ``--from`` starts now (to the minute)."""
    return hospital_now().replace(second=0, microsecond=0)


# ------------------------------------------------------------------------------ the engine's mirror

SyncReport = GroupMirror  # what one sync of the deputy groups changed


def wanted_groups(rows: Iterable[Delegation], now: datetime,
                  held: Callable[[str], Iterable[str]] = lambda _user: ()) -> dict[str, set[str]]:
    """Engine deputy group → deputies, for the delegations active at ``now``.

    ``held(user)`` names the department-scoped groups ``user`` holds today: a delegation of ``dept-head`` also
    opens the delegator's own ``dept-head.<code>`` tasks to the deputy (``deputy.<delegator>.dept-head.<code>``).
    """
    wanted: dict[str, set[str]] = {}
    for row in rows:
        if row.active_at(now):
            scoped = [group for group in held(row.delegator) if row.covers(group)]
            for group in [*row.covered, *scoped]:
                if len(deputy_group(row.delegator, group)) <= MAX_ENGINE_ID:
                    wanted.setdefault(deputy_group(row.delegator, group), set()).add(row.deputy)
    return wanted


def sync_deputy_groups(session: Session, service: EngineClient, now: datetime | None = None) -> SyncReport:
    """Make the engine's deputy groups exactly the active delegations: create, fill, empty and delete them.

    Runs as the service account, which the engine lets write deputy groups (``deputy.*``) and nothing else
    of its identities. Idempotent; call it after every grant or revocation and regularly (validity periods
    begin and end without anyone acting).
    """
    now = now or utc_now()
    today = now.astimezone(HOSPITAL_TZ).date()
    wanted = wanted_groups(session.exec(select(Delegation)).all(), now,
                           lambda user: groups_held(session, user, today))
    report = mirror_groups(service, group_type=DEPUTY_GROUP_TYPE, wanted=wanted,
                           name_of=lambda group_id: f"代理人 deputies {group_id[len(DEPUTY_PREFIX):]}",
                           ours=lambda group_id: group_id.startswith(DEPUTY_PREFIX))
    if report.changed:
        record_audit(session, actor="system", action="deputy-groups-synced", subject_type=SUBJECT_TYPE,
                     subject_id="engine", details=report.details())
    return report


# ------------------------------------------------------------------------------ the control step

def deputy_check(rows: Sequence[Delegation], is_member: Callable[[str, str], bool]
                 ) -> Callable[[str, str, str | None], str | None]:
    """``check(user, group, ended)``: None when a recorded delegation from a member of ``group`` to ``user``,
    covering ``group``, was valid and not yet revoked when the task ended; else why the signature does not count.

    ``rows`` are the delegations naming the signers as deputies (loaded once by the caller); ``ended`` is the
    engine's end time of the task (``2026-05-01T10:00:00.000+0800``). The requester is excluded by the
    control step itself.
    """
    def check(user: str, group: str, ended: str | None) -> str | None:
        if ended is None:
            return "任务无完成时间，无法核对授权 / the task has no end time to check a delegation against"
        at = datetime.strptime(ended, "%Y-%m-%dT%H:%M:%S.%f%z")
        mine = [d for d in rows if d.deputy == user and d.covers(group)]
        if not mine:
            return f"无 {group} 的授权记录 / no delegation for {group} names {user} as deputy"
        scoped = {row.delegator: scoped_membership(row.delegator, group, at.astimezone(HOSPITAL_TZ).date())
                  for row in mine}
        for row in mine:
            recorded = scoped[row.delegator]
            if row.active_at(at) and (is_member(row.delegator, group) if recorded is None else recorded):
                return None
        reasons = []
        for row in mine:
            if _aware(row.valid_from) > at or _aware(row.valid_to) <= at:
                reasons.append(f"授权 {row.id} 在办理时不在有效期内 / delegation {row.id} was not valid then")
            elif row.revoked_at is not None and _aware(row.revoked_at) <= at:
                reasons.append(f"授权 {row.id} 已于办理前撤销 / delegation {row.id} was revoked before")
            else:
                reasons.append(f"授权人 {row.delegator} 不属于 {group} / delegation {row.id}: {row.delegator} is "
                               f"not a member of {group}")
        return "; ".join(reasons)
    return check


def deputies_of_signers(users: Iterable[str | None], is_member: Callable[[str, str], bool]
                        ) -> Callable[[str, str, str | None], str | None]:
    """The ``deputy_check`` for a control step: the delegations naming any of ``users`` as deputy, read once."""
    signers = {user for user in users if user}
    with session_scope() as session:
        rows = list(session.exec(select(Delegation).where(col(Delegation.deputy).in_(signers))).all())
        session.expunge_all()
    return deputy_check(rows, is_member)
