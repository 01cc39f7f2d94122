"""Delegation rules (授权) without an engine: who may be named, for how long, and when a deputy's signature counts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

import smartfin.app.tables  # noqa: F401  (registers every table for the scoped-group database)
from smartfin.ledger.department_roles import DepartmentRole
from smartfin.processes.approvals import ApprovalChainStep, SignedTask, chain_problems
from smartfin.processes.delegations import (
    Delegation,
    DelegationRefused,
    Directory,
    deputy_check,
    grant_problems,
    one_year_after,
    parse_instant,
    wanted_groups,
)
from smartfin.store.db import get_engine, session_scope
from tests.support.settings import environment

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
MEMBERS = {("li.na", "dept-head"), ("wang.fang", "finance-officer"), ("he.ping", "budget-committee")}
USERS = {"li.na", "wang.fang", "sun.li", "zhang.wei", "he.ping"}
DIRECTORY = Directory(user_exists=USERS.__contains__, is_member=lambda u, g: (u, g) in MEMBERS)


def problems(**changes: object) -> list[str]:
    values: dict[str, object] = {"delegator": "li.na", "deputy": "sun.li", "groups": ["dept-head"],
                                 "valid_from": NOW, "valid_to": NOW + timedelta(days=14), "reason": "休假 leave",
                                 "now": NOW, "directory": DIRECTORY}
    values.update(changes)
    return grant_problems(**values)  # type: ignore[arg-type]


def test_a_member_names_a_deputy_for_two_weeks() -> None:
    assert problems() == []


def test_exactly_one_year_is_allowed_thirteen_months_are_not() -> None:
    assert problems(valid_to=one_year_after(NOW)) == []
    [reason] = problems(valid_to=NOW + timedelta(days=396))
    assert "至多一年" in reason or "at most one year" in reason
    assert problems(valid_to=one_year_after(NOW) + timedelta(seconds=1))


def test_one_year_from_29_february_ends_on_28_february() -> None:
    assert one_year_after(datetime(2028, 2, 29, tzinfo=UTC)) == datetime(2029, 2, 28, tzinfo=UTC)


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"deputy": "li.na"}, "cannot name themselves"),
    ({"valid_to": NOW}, "must end after it starts"),
    ({"valid_from": NOW - timedelta(days=30), "valid_to": NOW - timedelta(days=1)}, "already have ended"),
    ({"deputy": "ghost"}, "ghost is not an engine user"),
    ({"delegator": "ghost"}, "ghost is not an engine user"),
    ({"groups": ["finance-officer"]}, "li.na is not a member of finance-officer"),
    ({"deputy": "he.ping", "groups": ["dept-head"], "delegator": "li.na"}, None),
    ({"deputy": "wang.fang", "delegator": "li.na", "groups": ["dept-head"]}, None),
    ({"groups": []}, "at least one candidate group"),
    ({"groups": ["camunda-admin"]}, "not an approver group"),
    ({"groups": ["deputy.li.na.dept-head"]}, "not an approver group"),
    ({"reason": "  "}, "a reason is required"),
    ({"valid_to": datetime(2026, 3, 10)}, "timezone-aware"),
])
def test_refusals_name_their_reason(changes: dict[str, object], fragment: str | None) -> None:
    found = problems(**changes)
    if fragment is None:
        assert found == []
    else:
        assert any(fragment in p for p in found), found


def test_a_deputy_already_in_the_group_gains_nothing() -> None:
    assert any("already a member of finance-officer" in p for p in
               problems(delegator="wang.fang", deputy="wang.fang", groups=["finance-officer"]))
    members = MEMBERS | {("sun.li", "dept-head")}
    directory = Directory(USERS.__contains__, lambda u, g: (u, g) in members)
    assert any("sun.li is already a member of dept-head" in p for p in problems(directory=directory))


def test_no_chains_a_deputy_cannot_pass_on_what_they_hold_as_deputy() -> None:
    directory = Directory(USERS.__contains__, lambda u, g: (u, g) in MEMBERS,
                          deputy_for=lambda u, g: (u, g) == ("sun.li", "dept-head"))
    found = problems(delegator="sun.li", deputy="zhang.wei", directory=directory)
    assert any("no re-delegation" in p for p in found), found


def test_dates_on_the_command_line_are_hospital_days_and_the_end_day_is_included() -> None:
    start = parse_instant("2026-07-01", end_of_day=False)
    end = parse_instant("2027-06-30", end_of_day=True)
    assert start.isoformat() == "2026-07-01T00:00:00+08:00"
    assert end == one_year_after(start)
    with pytest.raises(DelegationRefused):
        parse_instant("30/06/2027", end_of_day=True)


# ----------------------------------------------------------------------------------- the control step

def delegation(**changes: object) -> Delegation:
    values: dict[str, object] = {"id": 7, "delegator": "li.na", "deputy": "sun.li", "groups": "dept-head",
                                 "valid_from": NOW - timedelta(days=1), "valid_to": NOW + timedelta(days=1),
                                 "reason": "leave", "granted_by": "li.na", "granted_at": NOW - timedelta(days=1)}
    values.update(changes)
    return Delegation(**values)  # type: ignore[arg-type]


def signed(user: str, ended: datetime = NOW) -> SignedTask:
    stamp = ended.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return SignedTask(task_id="t1", task_key="approveRequest", groups=frozenset({"dept-head"}), user=user,
                      assignee=user, outcome="approve", comment=None, started=stamp, ended=stamp, completed=True)


CHAIN = [ApprovalChainStep(document_type="spending-request", document_no="REQ-1", round=1, step=1,
                           candidate_group="dept-head", amount_fen=80000, within_plan=True,
                           routing_decision_id="d", routing_decision_version=1, routed_by_task="x")]


def control(task: SignedTask, rows: list[Delegation], excluded: tuple[str, ...] = ("zhang.wei",)) -> list[str]:
    def is_member(user: str, group: str) -> bool:
        return (user, group) in MEMBERS
    return chain_problems(CHAIN, [task], amount=Decimal("800.00"), excluded=excluded, is_member=is_member,
                          deputies=deputy_check(rows, is_member))


def test_a_deputy_signature_within_the_period_counts() -> None:
    assert control(signed("sun.li"), [delegation()]) == []


def test_without_the_deputies_argument_only_members_sign() -> None:
    found = chain_problems(CHAIN, [signed("sun.li")], amount=Decimal("800.00"), excluded=(),
                           is_member=lambda u, g: (u, g) in MEMBERS)
    assert found == ["第 1 级 dept-head / step 1 (dept-head): sun.li 不属于 dept-head / sun.li is not a member of "
                     "dept-head"]


@pytest.mark.parametrize(("rows", "fragment"), [
    ([], "no delegation for dept-head names sun.li"),
    ([delegation(valid_to=NOW - timedelta(minutes=1))], "was not valid then"),
    ([delegation(valid_from=NOW + timedelta(minutes=1))], "was not valid then"),
    ([delegation(revoked_at=NOW - timedelta(minutes=1), revoked_by="li.na")], "was revoked before"),
    ([delegation(groups="finance-officer")], "no delegation for dept-head"),
    ([delegation(delegator="wang.fang")], "wang.fang is not a member of dept-head"),
])
def test_a_deputy_signature_outside_a_valid_delegation_is_refused(rows: list[Delegation], fragment: str) -> None:
    found = control(signed("sun.li"), rows)
    assert any("sun.li is not a member of dept-head" in p and fragment in p for p in found), found


def test_a_revocation_after_the_signature_does_not_undo_it() -> None:
    assert control(signed("sun.li"), [delegation(revoked_at=NOW + timedelta(minutes=5), revoked_by="li.na")]) == []


def test_the_requester_never_signs_even_as_a_recorded_deputy() -> None:
    found = control(signed("zhang.wei"), [delegation(deputy="zhang.wei")])
    assert any("zhang.wei is the requester" in p for p in found), found


def test_the_engine_mirror_holds_only_active_delegations() -> None:
    rows = [delegation(), delegation(id=8, deputy="he.ping", valid_to=NOW - timedelta(days=1)),
            delegation(id=9, deputy="zhang.wei", revoked_at=NOW - timedelta(hours=1)),
            delegation(id=10, delegator="wang.fang", deputy="he.ping", groups="finance-officer")]
    assert wanted_groups(rows, NOW) == {"deputy.li.na.dept-head": {"sun.li"},
                                        "deputy.wang.fang.finance-officer": {"he.ping"}}


# ------------------------------------------------------------------- department-scoped groups (dept-head.CARD)

@pytest.fixture
def card_head_until_march(tmp_path: Path) -> Iterator[None]:
    """li.na recorded as CARD's head until 2026-03-01 (a database of its own)."""
    with environment({"SMARTFIN_DATABASE_URL": f"sqlite:///{tmp_path / 'roles.db'}"}):
        get_engine.cache_clear()
        with session_scope() as session:
            session.add(DepartmentRole(department="CARD", role="head", user_id="li.na", valid_from=date(2024, 1, 1),
                                       valid_to=date(2026, 3, 1), recorded_by="test"))
        yield
    get_engine.cache_clear()


def scoped_control(task: SignedTask, rows: list[Delegation]) -> list[str]:
    chain = [step.model_copy(update={"candidate_group": "dept-head.CARD"}) for step in CHAIN]
    in_engine = MEMBERS | {("li.na", "dept-head.CARD"), ("he.ping", "dept-head.CARD")}

    def is_member(user: str, group: str) -> bool:  # the engine's copy, which may lag or be wrong
        return (user, group) in in_engine
    return chain_problems(chain, [replace(task, groups=frozenset({"dept-head.CARD"}))], amount=Decimal("800.00"),
                          excluded=("zhang.wei",), is_member=is_member, deputies=deputy_check(rows, is_member))


def test_a_scoped_step_is_signed_by_the_recorded_head_or_her_deputy_on_that_day(card_head_until_march) -> None:
    assert scoped_control(signed("li.na"), []) == []
    assert scoped_control(signed("sun.li"), [delegation(groups="dept-head.CARD")]) == []
    # the engine says he.ping is in the group, the record does not: not a signature
    [problem] = scoped_control(signed("he.ping"), [])
    assert "he.ping is not a member of dept-head.CARD" in problem
    # after li.na's period ended, neither she nor her deputy signs for CARD
    later = NOW + timedelta(days=2)
    assert "li.na is not a member of dept-head.CARD" in scoped_control(signed("li.na", later), [])[0]
    deputy = scoped_control(signed("sun.li", later), [delegation(groups="dept-head.CARD",
                                                                 valid_to=later + timedelta(days=1))])
    assert "li.na is not a member of dept-head.CARD" in deputy[0]


def test_a_delegation_of_dept_head_covers_the_delegators_own_department_on_that_day(card_head_until_march) -> None:
    assert scoped_control(signed("sun.li"), [delegation()]) == []  # groups="dept-head", the plain role
    [other_role] = scoped_control(signed("sun.li"), [delegation(groups="finance-officer")])
    assert "no delegation for dept-head.CARD names sun.li" in other_role
    later = NOW + timedelta(days=2)  # li.na no longer heads CARD: what she delegated no longer reaches it
    [ended] = scoped_control(signed("sun.li", later), [delegation(valid_to=later + timedelta(days=1))])
    assert "li.na is not a member of dept-head.CARD" in ended


def test_a_scoped_group_may_be_named_but_no_other_dotted_group() -> None:
    directory = Directory(user_exists=USERS.__contains__,
                          is_member=lambda u, g: (u, g) in MEMBERS | {("li.na", "dept-head.CARD")})
    assert problems(groups=["dept-head.CARD"], directory=directory) == []
    [refused] = problems(groups=["finance.officer"], directory=directory)
    assert "finance.officer is not an approver group that can be delegated" in refused


def test_the_mirror_opens_the_delegators_scoped_groups_of_a_delegated_role() -> None:
    held = {"li.na": ["dept-head.CARD"], "wang.fang": ["dept-head.LAB"]}
    rows = [delegation(), delegation(id=10, delegator="wang.fang", deputy="he.ping", groups="finance-officer")]
    assert wanted_groups(rows, NOW, lambda user: held.get(user, [])) == {
        "deputy.li.na.dept-head": {"sun.li"}, "deputy.li.na.dept-head.CARD": {"sun.li"},
        "deputy.wang.fang.finance-officer": {"he.ping"}}  # wang.fang delegated no dept-head: LAB stays hers
