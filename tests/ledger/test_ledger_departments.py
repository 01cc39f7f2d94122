"""Department master data: dated versions imported like the budget, names on a date, and the refusal of
unknown departments once master data is loaded — on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import yaml
from sqlmodel import Session, col, func, select

from smartfin.app import demo
from smartfin.kernel.clock import hospital_today
from smartfin.ledger import (
    Department,
    department_name,
    department_names,
    department_problem,
    import_budget,
    import_departments,
)
from smartfin.store.audit import AuditEntry

ROOT = Path(__file__).resolve().parents[2]
HEADER = "code,name,name_en,class,parent,valid_from,valid_to\n"
GOOD = HEADER + (
    "MED,内科,Internal Medicine,clinical,,2020-01-01,\n"
    "CARD,心内科,Cardiology,临床服务类,MED,2020-01-01,\n"
    "RAD,放射科,Radiology,医技,,2020-01-01,\n"
    "CSSD,消毒供应中心,,医疗辅助类,,2020-01-01,\n"
    "FIN,财务处,Finance,行政后勤类,,2020-01-01,\n"
)
BUDGET_HEADER = "fiscal_year,department,economic_code,funding_source,budget,effective_from,effective_to\n"


def count(session: Session, model: type, *where: object) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()  # type: ignore[no-any-return]


def versions(session: Session, code: str) -> list[tuple[str, date, date | None]]:
    rows = session.exec(select(Department).where(Department.code == code).order_by(col(Department.valid_from))).all()
    return [(d.name, d.valid_from, d.valid_to) for d in rows]


def load(session: Session, content: str, **kwargs: object) -> None:
    report = import_departments(session, content.encode(), actor="finance", filename="departments.csv",
                                **kwargs)  # type: ignore[arg-type]
    assert report.ok, report.errors


def test_good_file_loads_each_department_with_its_class_parent_and_audit(session: Session) -> None:
    report = import_departments(session, GOOD.encode(), actor="finance", filename="departments.csv")
    assert report.ok, report.errors
    assert (report.rows, report.opened, report.closed, report.unchanged) == (5, 5, 0, 0)
    card = session.exec(select(Department).where(Department.code == "CARD")).one()
    assert (card.name, card.name_en, card.department_class, card.parent_code) == ("心内科", "Cardiology",
                                                                                  "clinical", "MED")
    assert (card.valid_from, card.valid_to, card.created_by) == (date(2020, 1, 1), None, "finance")
    classes = {d.code: d.department_class for d in session.exec(select(Department)).all()}
    assert classes == {"MED": "clinical", "CARD": "clinical", "RAD": "medical-technical",
                       "CSSD": "medical-auxiliary", "FIN": "administrative"}
    created = session.exec(select(AuditEntry).where(AuditEntry.action == "department.created")).all()
    assert sorted(e.subject_id for e in created) == ["CARD", "CSSD", "FIN", "MED", "RAD"]
    assert created[0].actor == "finance" and created[0].details_dict["file"] == "departments.csv"
    [imported] = session.exec(select(AuditEntry).where(AuditEntry.action == "department.imported")).all()
    assert imported.details_dict["sha256"] == report.sha256 and imported.details_dict["opened"] == 5


def test_reimporting_the_same_file_changes_nothing(session: Session) -> None:
    load(session, GOOD)
    audited = count(session, AuditEntry)
    again = import_departments(session, GOOD.encode(), actor="finance")
    assert again.ok and not again.changed
    assert (again.opened, again.closed, again.unchanged) == (0, 0, 5)
    assert count(session, Department) == 5 and count(session, AuditEntry) == audited


def test_a_file_without_dates_is_the_same_file_on_another_day(session: Session) -> None:
    undated = HEADER + "MED,内科,,clinical,,,\nCARD,心内科,,clinical,MED,,\n"
    load(session, undated, today=date(2026, 3, 1))
    assert versions(session, "CARD") == [("心内科", date(2026, 3, 1), None)]
    later = import_departments(session, undated.encode(), actor="finance", today=date(2026, 9, 1))
    assert later.ok and (later.opened, later.closed, later.unchanged) == (0, 0, 2)


def test_chinese_headers_in_gbk_and_excel(session: Session) -> None:
    chinese = ("科室编码,科室名称,英文名称,科室类别,上级科室,生效日期,失效日期\n"
               "MED,内科,,临床,,2020/1/1,\n"
               "CARD,心内科,Cardiology,临床服务类,MED,2020年1月1日,\n")
    report = import_departments(session, chinese.encode("gbk"), actor="finance", filename="科室.csv")
    assert report.ok, report.errors
    assert versions(session, "CARD") == [("心内科", date(2020, 1, 1), None)]

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["编码", "名称", "类别", "上级科室", "生效日期"])
    sheet.append(["LAB", "检验科", "医疗技术类", None, date(2021, 7, 1)])
    sheet.append([301, "麻醉科", "临床服务类", "MED", date(2021, 7, 1)])  # a code Excel turned into a number
    buffer = io.BytesIO()
    book.save(buffer)
    report = import_departments(session, buffer.getvalue(), actor="finance", filename="科室.xlsx")
    assert report.ok, report.errors
    assert versions(session, "LAB") == [("检验科", date(2021, 7, 1), None)]
    assert versions(session, "301") == [("麻醉科", date(2021, 7, 1), None)]


@pytest.mark.parametrize("rows, expected", [
    pytest.param("MED,,,clinical,,2020-01-01,\n", [(2, "name", "is missing")], id="missing name"),
    pytest.param("MED,内科,,surgical,,2020-01-01,\n", [(2, "class", "is unknown")], id="unknown class"),
    pytest.param("MED,内科,,clinical,,2020-01-01,\nCARD,心内科,,clinical,MEDX,2020-01-01,\n",
                 [(3, "parent", "parent MEDX is unknown or not in force on 2020-01-01")], id="unknown parent"),
    pytest.param("MED,内科,,clinical,,2021-01-01,\nCARD,心内科,,clinical,MED,2020-01-01,\n",
                 [(3, "parent", "parent MED is unknown or not in force on 2020-01-01")], id="parent too young"),
    pytest.param("A,甲,,clinical,B,2020-01-01,\nB,乙,,clinical,C,2020-01-01,\nC,丙,,clinical,A,2020-01-01,\n",
                 [(2, "parent", "cycle on 2020-01-01: A → B → C → A"), (3, "parent", "A → B → C → A"),
                  (4, "parent", "A → B → C → A")], id="cycle"),
    pytest.param("MED,内科,,clinical,MED,2020-01-01,\n", [(2, "parent", "MED cannot be its own parent")],
                 id="own parent"),
    pytest.param("CARD,心内科,,clinical,,2020-01-01,2024-06-30\nCARD,心血管内科,,clinical,,2024-01-01,\n",
                 [(3, "valid_from", "overlaps row 2 (2020-01-01 – 2024-06-30)")], id="overlapping versions"),
    pytest.param("CARD,心内科,,clinical,,,\nCARD,心血管内科,,clinical,,,\n",
                 [(3, "code", "already appears in row 2")], id="duplicate code"),
    pytest.param("CARD,心内科,,clinical,,2024-01-01,2023-12-31\n", [(2, "valid_to", "is before valid_from")],
                 id="ends before it starts"),
    pytest.param("CA/RD,心内科,,clinical,,2020-01-01,\n", [(2, "code", "must not contain '/'")], id="bad code"),
    pytest.param(",心内科,,clinical,,2020-13-01,\n", [(2, "code", "is missing"),
                                                     (2, "valid_from", "is not a valid date")], id="no code"),
])
def test_each_bad_row_is_reported_and_nothing_changes(session: Session, rows: str,
                                                      expected: list[tuple[int, str, str]]) -> None:
    good = "FIN,财务处,,administrative,,2020-01-01,\n"  # a good row does not make it in either
    report = import_departments(session, (HEADER + rows + good).encode(), actor="finance")
    assert [(e.row, e.column) for e in report.errors] == [(row, column) for row, column, _ in expected]
    for issue, (_, _, fragment) in zip(report.errors, expected, strict=True):
        assert fragment in issue.reason
    assert not report.ok and report.opened == 0
    assert count(session, Department) == 0 and count(session, AuditEntry) == 0


def test_unknown_column_and_missing_required_column(session: Session) -> None:
    report = import_departments(session, b"code,name,klass\nMED,x,clinical\n", actor="finance")
    assert {(e.row, e.column, e.reason) for e in report.errors} == {
        (1, "klass", "unknown column (see the department import format)"),
        (1, "class", "required column is missing")}


def test_renaming_closes_the_old_version_and_history_keeps_the_old_name(session: Session) -> None:
    load(session, GOOD)
    renamed = HEADER + "CARD,心血管内科,Cardiology,clinical,MED,2024-01-01,\n"
    report = import_departments(session, renamed.encode(), actor="planner")
    assert report.ok, report.errors
    assert (report.opened, report.closed) == (1, 1)
    assert versions(session, "CARD") == [("心内科", date(2020, 1, 1), date(2023, 12, 31)),
                                         ("心血管内科", date(2024, 1, 1), None)]
    assert department_name(session, "CARD", date(2023, 12, 31)) == "心内科"
    assert department_name(session, "CARD", date(2024, 1, 1)) == "心血管内科"
    assert department_names(session, date(2022, 5, 1))["CARD"] == "心内科"
    assert department_names(session, date(2025, 5, 1))["CARD"] == "心血管内科"
    [closed] = session.exec(select(AuditEntry).where(AuditEntry.action == "department.closed")).all()
    assert (closed.subject_id, closed.actor, closed.details_dict["valid_to"]) == ("CARD", "planner", "2023-12-31")
    again = import_departments(session, renamed.encode(), actor="planner")
    assert again.ok and not again.changed and again.unchanged == 1


def test_the_whole_history_in_one_file_imports_and_reimports(session: Session) -> None:
    history = GOOD + "CARD,心血管内科,Cardiology,clinical,MED,2024-01-01,\n"
    report = import_departments(session, history.encode(), actor="finance")
    assert report.ok, report.errors
    assert versions(session, "CARD") == [("心内科", date(2020, 1, 1), date(2023, 12, 31)),
                                         ("心血管内科", date(2024, 1, 1), None)]
    assert import_departments(session, history.encode(), actor="finance").unchanged == 6


def test_an_undated_rename_takes_effect_on_the_day_of_the_import(session: Session) -> None:
    load(session, GOOD)
    load(session, HEADER + "CARD,心血管内科,,clinical,MED,,\n", today=date(2026, 5, 1))
    assert versions(session, "CARD") == [("心内科", date(2020, 1, 1), date(2026, 4, 30)),
                                         ("心血管内科", date(2026, 5, 1), None)]


def test_a_changed_version_with_the_same_valid_from_is_refused(session: Session) -> None:
    load(session, GOOD)
    report = import_departments(session, GOOD.replace("心内科", "心血管内科").encode(), actor="finance")
    assert [(e.row, e.column) for e in report.errors] == [(3, "valid_from")]
    assert "already loaded as 心内科" in report.errors[0].reason
    assert versions(session, "CARD") == [("心内科", date(2020, 1, 1), None)]


def test_closing_reopening_and_overlaps_with_loaded_versions(session: Session) -> None:
    load(session, GOOD)
    load(session, HEADER + "CSSD,消毒供应中心,,医疗辅助类,,2020-01-01,2025-06-30\n")
    assert versions(session, "CSSD") == [("消毒供应中心", date(2020, 1, 1), date(2025, 6, 30))]
    assert department_problem(session, "CSSD", date(2025, 6, 30)) is None
    assert "not active on 2025-07-01" in (department_problem(session, "CSSD", date(2025, 7, 1)) or "")
    assert department_name(session, "CSSD", date(2026, 1, 1)) == "消毒供应中心"  # a closed one keeps its last name

    load(session, HEADER + "CSSD,消毒供应室,,医疗辅助类,,2026-01-01,\n")  # reopened later under a new name
    old_file = HEADER + "CSSD,消毒供应中心,,医疗辅助类,,2020-01-01,\n"  # the old file would reopen the first
    report = import_departments(session, old_file.encode(), actor="finance")
    assert [(e.row, e.column) for e in report.errors] == [(2, "valid_to")]
    assert "would overlap CSSD 消毒供应室 (2026-01-01 – open)" in report.errors[0].reason
    earlier = HEADER + "CSSD,供应室,,医疗辅助类,,2019-01-01,2020-06-30\n"
    report = import_departments(session, earlier.encode(), actor="finance")
    assert [(e.row, e.column) for e in report.errors] == [(2, "valid_from")]
    assert "would overlap CSSD 消毒供应中心" in report.errors[0].reason


def test_a_parent_cannot_close_under_a_child_that_stays(session: Session) -> None:
    load(session, GOOD)
    report = import_departments(session, (HEADER + "MED,内科,Internal Medicine,clinical,,2020-01-01,2025-12-31\n")
                                .encode(), actor="finance")
    assert [(e.row, e.column) for e in report.errors] == [(2, "valid_to")]
    assert "CARD still has MED as its parent on 2026-01-01" in report.errors[0].reason
    moved = HEADER + ("MED,内科,Internal Medicine,clinical,,2020-01-01,2025-12-31\n"
                      "CARD,心血管内科,,clinical,,2026-01-01,\n")  # the child leaves the tree the same day
    load(session, moved)
    assert versions(session, "MED")[0][2] == date(2025, 12, 31)


def test_without_master_data_every_code_passes_and_names_fall_back_to_the_code(session: Session) -> None:
    assert department_problem(session, "XYZ", date(2026, 11, 30)) is None
    assert department_name(session, "XYZ", date(2026, 11, 30)) == "XYZ"
    assert department_names(session, date(2026, 11, 30))["XYZ"] == "XYZ"
    load(session, GOOD)
    assert department_problem(session, "XYZ", date(2026, 11, 30)) == (
        "科室 XYZ 不存在或已停用 / department XYZ is unknown or not active on 2026-11-30")
    assert department_problem(session, "CARD", date(2019, 12, 31)) is not None  # not yet in force
    assert department_problem(session, "CARD", date(2026, 11, 30)) is None
    assert department_name(session, "XYZ", date(2026, 11, 30)) == "XYZ"
    assert department_name(session, "CARD", date(2019, 12, 31)) == "CARD"


def test_budget_import_refuses_departments_not_in_force_once_master_data_is_loaded(session: Session) -> None:
    lines = BUDGET_HEADER + "2026,XYZ,30218,fiscal,1000.00,,\n"
    assert import_budget(session, lines.encode(), actor="planner").ok, "no master data yet: any code"
    load(session, GOOD + ("OLD,旧科室,,clinical,,2020-01-01,2025-12-31\n"
                          "GONE,撤并科室,,clinical,,2020-01-01,2026-06-30\n"))
    refused = BUDGET_HEADER + (
        "2026,CARD,30218,fiscal,1000.00,,\n"                     # row 2: in force
        "2026,NOPE,30218,fiscal,1000.00,,\n"                     # row 3: unknown
        "2026,OLD,30218,fiscal,1000.00,,\n"                      # row 4: closed before the year
        "2026,GONE,30218,fiscal,1000.00,2026-01-01,2026-06-30\n"  # row 5: in force for the line's months
        "2026,GONE,30211,fiscal,1000.00,2026-07-01,2026-12-31\n"  # row 6: closed before the line starts
    )
    report = import_budget(session, refused.encode(), actor="planner")
    assert [(e.row, e.column) for e in report.errors] == [(3, "department"), (4, "department"), (6, "department")]
    assert report.errors[0].reason == ("科室 NOPE 不存在或在 2026-01-01 至 2026-12-31 期间未启用 / department NOPE "
                                       "is unknown or not active between 2026-01-01 and 2026-12-31")
    assert "between 2026-07-01 and 2026-12-31" in report.errors[2].reason
    assert report.budgets_posted == 0


def test_the_demo_departments_cover_every_department_the_demo_uses(session: Session) -> None:
    content = (ROOT / "smartfin" / "app" / "demo_departments.csv").read_bytes()
    report = import_departments(session, content, actor="demo", filename="demo_departments.csv")
    assert report.ok, report.errors
    classes = {d.department_class for d in session.exec(select(Department)).all()}
    assert classes == {"clinical", "medical-technical", "medical-auxiliary", "administrative"}
    year = hospital_today().year
    budget = demo.BUDGET_TEMPLATE.read_text(encoding="utf-8").replace("{year}", str(year)).encode()
    assert import_budget(session, budget, actor="demo", filename="demo-budget.csv").ok
    used = {request[1] for request in demo.DEMO_REQUESTS}
    used.add(yaml.safe_load((ROOT / "rules" / "procurement" / "examples" / "ct-128.yaml").read_text())["department"])
    assert used >= {"CARD", "RAD"}
    for code in sorted(used):
        assert department_problem(session, code, hospital_today()) is None, code
        assert department_name(session, code, hospital_today()) != code
