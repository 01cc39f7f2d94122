"""The department role record (科室负责人): import with per-row refusals, dated periods, the scoped group names
that routing puts into a chain, and who holds a role on a day."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
from sqlmodel import Session, select

from smartfin.ledger.department_import import import_departments
from smartfin.ledger.department_roles import (
    DepartmentRole,
    DepartmentRoleKind,
    holders_on,
    holds_role,
    import_department_roles,
    role_of_group,
    roles_loaded,
    scoped_groups_of,
    wanted_memberships,
)
from smartfin.ledger.departments import Department
from smartfin.store.audit import AuditEntry

DEPARTMENTS = ("code,name,class,valid_from,valid_to\n"
               "CARD,心血管内科,clinical,2024-01-01,\n"
               "RAD,放射科,medical-technical,2020-01-01,\n"
               "OLD,旧科室,clinical,2020-01-01,2022-12-31\n")
USERS = {"li.na", "qian.yu", "feng.tao"}
HEADER = "department,role,user,valid_from,valid_to\n"


def _load(session: Session) -> None:
    assert import_departments(session, DEPARTMENTS.encode(), actor="finance").ok


def _roles(session: Session, rows: str, *, today: date = date(2026, 3, 1), filename: str = "roles.csv",
           data: bytes | None = None):  # type: ignore[no-untyped-def]
    return import_department_roles(session, data if data is not None else (HEADER + rows).encode(), actor="guo.hua",
                                   user_exists=USERS.__contains__, filename=filename, today=today)


def test_heads_are_recorded_with_their_periods_actor_and_audit(session: Session) -> None:
    _load(session)
    report = _roles(session, "CARD,head,li.na,2024-01-01,\nRAD,科室负责人,qian.yu,,\n")
    assert report.ok, report.errors
    assert (report.rows, report.added, report.unchanged) == (2, 2, 0)
    rows = session.exec(select(DepartmentRole).order_by(DepartmentRole.department)).all()
    assert [(r.department, r.role, r.user_id, r.valid_from, r.valid_to, r.recorded_by) for r in rows] == [
        ("CARD", "head", "li.na", date(2024, 1, 1), None, "guo.hua"),
        ("RAD", "head", "qian.yu", date(2026, 3, 1), None, "guo.hua")]  # no first day: the day of the import
    assert rows[0].engine_group == "dept-head.CARD"
    [audit] = session.exec(select(AuditEntry).where(AuditEntry.action == "department.roles_imported")).all()
    assert audit.actor == "guo.hua"
    assert roles_loaded(session)
    again = _roles(session, "CARD,head,li.na,2024-01-01,\n")
    assert (again.added, again.unchanged) == (0, 1)


def test_every_bad_row_is_named_and_nothing_is_recorded(session: Session) -> None:
    _load(session)
    assert _roles(session, "CARD,head,li.na,2024-01-01,2025-12-31\n").ok
    report = _roles(session, (
        "CARD,head,li.na,2024-01-01,2025-12-31\n"   # 2: unchanged, fine
        "NOPE,head,li.na,2024-01-01,\n"             # 3: unknown department
        "RAD,head,nobody,2024-01-01,\n"             # 4: unknown engine user
        "CARD,head,qian.yu,2025-06-01,\n"           # 5: overlaps li.na's recorded period
        "OLD,head,feng.tao,2024-01-01,\n"           # 6: department not active on the first day
        "RAD,boss,feng.tao,2024-01-01,\n"           # 7: unknown role
        "RAD,head,feng.tao,2024-05-01,2024-04-01\n"  # 8: ends before it begins
        "RAD,head,feng.tao,2024-01-01,2024-12-31\n"  # 9: fine on its own …
        "RAD,head,qian.yu,2024-12-01,\n"            # 10: … but this one overlaps row 9
        "CARD,head,qian.yu,2026-01-01,\n"))         # 11: the successor: fine
    assert not report.ok
    by_row = {(issue.row, issue.column): issue.reason for issue in report.errors}
    assert set(by_row) == {(3, "department"), (4, "user"), (5, "valid_from"), (6, "valid_from"), (7, "role"),
                           (8, "valid_to"), (10, "valid_from")}
    assert "unknown department NOPE" in by_row[(3, "department")]
    assert "the engine has no user nobody" in by_row[(4, "user")]
    assert "overlaps" in by_row[(5, "valid_from")] and "li.na" in by_row[(5, "valid_from")]
    assert "not active on 2024-01-01" in by_row[(6, "valid_from")]
    assert "row 9" in by_row[(10, "valid_from")]
    assert len(session.exec(select(DepartmentRole)).all()) == 1


def test_a_head_leaves_and_her_successor_takes_over_on_the_next_day(session: Session) -> None:
    _load(session)
    assert _roles(session, "CARD,head,li.na,2024-01-01,\n").ok
    report = _roles(session, "CARD,head,li.na,2024-01-01,2026-06-30\nCARD,head,qian.yu,2026-07-01,\n")
    assert report.ok, report.errors
    assert (report.closed, report.added) == (1, 1)
    assert holders_on(session, "CARD", DepartmentRoleKind.HEAD, date(2026, 6, 30)) == ["li.na"]
    assert holders_on(session, "CARD", DepartmentRoleKind.HEAD, date(2026, 7, 1)) == ["qian.yu"]
    assert holds_role(session, "li.na", "dept-head.CARD", date(2026, 6, 30))
    assert not holds_role(session, "li.na", "dept-head.CARD", date(2026, 7, 1))
    assert not holds_role(session, "li.na", "dept-head", date(2026, 6, 1))  # not a scoped group
    assert wanted_memberships(session, date(2026, 7, 1)) == {"dept-head.CARD": {"qian.yu"}}
    # a recorded period is only closed, never moved: a different end is refused
    moved = _roles(session, "CARD,head,li.na,2024-01-01,2026-05-31\n")
    assert [(i.row, i.column) for i in moved.errors] == [(2, "valid_to")]
    taken = _roles(session, "CARD,head,feng.tao,2024-01-01,\n")
    assert [(i.row, i.column) for i in taken.errors] == [(2, "user")]


def test_chinese_headers_in_an_excel_file(session: Session) -> None:
    _load(session)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["科室", "角色", "用户名", "生效日期", "失效日期"])
    sheet.append(["RAD", "科室负责人", "qian.yu", date(2024, 1, 1), None])
    buffer = io.BytesIO()
    book.save(buffer)
    report = _roles(session, "", data=buffer.getvalue(), filename="科室负责人.xlsx")
    assert report.ok, report.errors
    assert holders_on(session, "RAD", DepartmentRoleKind.HEAD, date(2025, 1, 1)) == ["qian.yu"]


def test_scoped_group_names() -> None:
    assert scoped_groups_of(["dept-head", "vice-president", "president"], "CARD") == [
        "dept-head.CARD", "vice-president", "president"]
    assert role_of_group("dept-head.CARD") == (DepartmentRoleKind.HEAD, "CARD")
    assert role_of_group("dept-head") is None
    assert role_of_group("deputy.li.na.dept-head") is None
    assert role_of_group("dept-head.") is None


def test_every_demo_department_has_a_demo_head(session: Session) -> None:
    from smartfin.app.demo import DEPARTMENT_ROLES_FILE, DEPARTMENTS_FILE
    from smartfin.app.demo_users import demo_users

    assert import_departments(session, DEPARTMENTS_FILE.read_bytes(), actor="demo").ok
    heads = {user.id for user in demo_users() if "dept-head" in user.groups}
    report = import_department_roles(session, DEPARTMENT_ROLES_FILE.read_bytes(), actor="demo",
                                     user_exists=heads.__contains__, filename=DEPARTMENT_ROLES_FILE.name)
    assert report.ok, report.errors
    today = date(2026, 12, 1)
    codes = {d.code for d in session.exec(select(Department)).all()}
    assert {code: holders_on(session, code, DepartmentRoleKind.HEAD, today) != [] for code in codes} == {
        code: True for code in codes}
