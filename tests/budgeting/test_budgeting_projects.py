"""The project pool (项目库) and the compilation round: import with every bad row named, re-import, rounds' stages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from smartfin.budgeting.projects import (
    find_project,
    import_projects,
    pool_projects,
    project_targets,
    record_actual_value,
)
from smartfin.budgeting.rounds import CompilationError, Stage, advance_round, get_round, open_round
from smartfin.budgeting.tables import BudgetProject
from smartfin.store.audit import AuditEntry

HEADER = "年度,项目编码,项目名称,科室,资金来源,优先级,状态,指标类型,指标维度,指标名称,计量单位,方向,目标值\n"
GOOD = HEADER + (
    "2027,P-CARD-01,胸痛中心建设,CARD,专项,1,入选,产出指标,数量,新增导管室,间,>=,1\n"
    "2027,P-CARD-01,胸痛中心建设,CARD,专项,1,入选,效益指标,满意度,患者满意度,%,>=,95\n"
    "2027,P-RADI-01,影像云平台,RADI,fiscal,2,candidate,output,timeliness,报告出具时间,小时,<=,24\n"
    "2027,P-FIN-01,财务共享中心,FIN,own,3,,,,,,,\n"
)


def _import(session: Session, text: str):  # type: ignore[no-untyped-def]
    return import_projects(session, text.encode(), actor="finance", filename="projects.csv")


def test_a_pool_file_creates_projects_with_their_targets(hospital: Session) -> None:
    report = _import(hospital, GOOD)
    assert report.ok, report.errors
    assert (report.rows, report.projects_created, report.projects_updated, report.targets) == (4, 3, 0, 3)
    card = find_project(hospital, 2027, "P-CARD-01")
    assert card is not None
    assert (card.department, card.funding_source, card.priority, card.status) == ("CARD", "earmarked", 1, "approved")
    targets = project_targets(hospital, card.id or 0)
    assert [(t.kind, t.dimension, t.indicator, t.unit, t.direction, t.target_value) for t in targets] == [
        ("output", "quantity", "新增导管室", "间", ">=", "1"),
        ("outcome", "satisfaction", "患者满意度", "%", ">=", "95")]
    assert [p.code for p in pool_projects(hospital, 2027)] == ["P-CARD-01", "P-RADI-01", "P-FIN-01"]
    fin = find_project(hospital, 2027, "P-FIN-01")
    assert fin is not None and project_targets(hospital, fin.id or 0) == []
    assert hospital.exec(select(AuditEntry).where(AuditEntry.action == "budget.projects_imported")).one()


@pytest.mark.parametrize(("row", "column", "reason"), [
    ("2027,P-X,X,CARD,专项,0,,,,,,,", "priority", "from 1"),
    ("2027,P-X,X,NOPE,专项,1,,,,,,,", "department", "unknown"),
    ("2027,P-X,X,CARD,gold,1,,,,,,,", "funding_source", "unknown"),
    ("2027,P-X,X,CARD,专项,1,maybe,,,,,,", "status", "unknown"),
    ("2027,P/X,X,CARD,专项,1,,,,,,,", "code", "'/'"),
    ("2027,P-X,X,CARD,专项,1,,产出指标,满意度,人数,人,>=,3", "dimension", "not a dimension of output"),
    ("2027,P-X,X,CARD,专项,1,,产出指标,数量,人数,人,>=,three", "target", "not a number"),
    ("2027,P-X,X,CARD,专项,1,,产出指标,数量,人数,,>=,3", "unit", "is missing"),
    ("2027,P-X,X,CARD,专项,1,,产出指标,数量,人数,人,about,3", "direction", ">="),
    ("2027,P-CARD-01,另一个名字,CARD,专项,1,入选,,,,,,", "name", "differs from row 2"),
])
def test_a_bad_row_is_named_and_nothing_is_imported(hospital: Session, row: str, column: str, reason: str) -> None:
    report = _import(hospital, GOOD + row + "\n")
    assert not report.ok
    assert [(e.row, e.column) for e in report.errors] == [(6, column)], report.errors
    assert reason in report.errors[0].reason
    assert hospital.exec(select(BudgetProject)).all() == []


def test_reimport_updates_the_project_and_keeps_actual_values(hospital: Session) -> None:
    assert _import(hospital, GOOD).ok
    record_actual_value(hospital, 2027, "P-CARD-01", "患者满意度", "96.5", actor="card-head")
    again = GOOD.replace("胸痛中心建设,CARD,专项,1", "胸痛中心建设二期,CARD,专项,2")
    report = _import(hospital, again)
    assert report.ok, report.errors
    assert (report.projects_created, report.projects_updated) == (0, 3)
    card = find_project(hospital, 2027, "P-CARD-01")
    assert card is not None and (card.name, card.priority) == ("胸痛中心建设二期", 2)
    satisfaction = next(t for t in project_targets(hospital, card.id or 0) if t.indicator == "患者满意度")
    assert (satisfaction.actual_value, satisfaction.actual_by) == ("96.5", "card-head")
    assert Decimal(satisfaction.target_value) == 95


def test_an_indicator_with_an_actual_value_cannot_be_dropped(hospital: Session) -> None:
    assert _import(hospital, GOOD).ok
    record_actual_value(hospital, 2027, "P-CARD-01", "患者满意度", "96.5", actor="card-head")
    hospital.commit()
    dropped = "\n".join(line for line in GOOD.splitlines() if "患者满意度" not in line) + "\n"
    report = _import(hospital, dropped)
    assert [(e.row, e.column) for e in report.errors] == [(2, "indicator")]
    card = find_project(hospital, 2027, "P-CARD-01")
    assert card is not None and len(project_targets(hospital, card.id or 0)) == 2


def test_a_round_opens_once_and_moves_forward_one_stage_at_a_time(session: Session) -> None:
    open_round(session, 2027, guidance="零基预算，压减一般性支出 5%", first_deadline=date(2026, 10, 15),
               second_deadline=date(2026, 11, 30), template_version="2027.1", actor="finance")
    assert get_round(session, 2027).stage == Stage.FIRST
    with pytest.raises(CompilationError, match="already open"):
        open_round(session, 2027, guidance="again", first_deadline=date(2026, 10, 15),
                   second_deadline=date(2026, 11, 30), template_version="2027.2", actor="finance")
    with pytest.raises(CompilationError, match="cannot move from first to second"):
        advance_round(session, 2027, Stage.SECOND, actor="finance")
    advance_round(session, 2027, Stage.CONSOLIDATION, actor="finance")
    assert get_round(session, 2027).stage == Stage.CONSOLIDATION
    with pytest.raises(CompilationError, match="not been opened"):
        get_round(session, 2028)
    with pytest.raises(CompilationError, match="before the 一上 deadline"):
        open_round(session, 2028, guidance="x", first_deadline=date(2027, 10, 15),
                   second_deadline=date(2027, 9, 30), template_version="2028.1", actor="finance")
