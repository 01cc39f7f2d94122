"""Draft upload: every kind of bad workbook refused with its sheet!cell and reason, nothing stored; a second upload
replaces the first and keeps it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal

import pytest
from openpyxl.workbook.workbook import Workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from smartfin.budgeting.controls import ControlSetting, control_numbers, import_control_numbers, set_control_numbers
from smartfin.budgeting.drafts import (
    DraftRefused,
    accept_submission,
    current_drafts,
    draft_history,
    draft_lines,
    reopen_submission,
    upload_draft,
)
from smartfin.budgeting.projects import import_projects
from smartfin.budgeting.rounds import CompilationError, Stage, advance_round, open_round, set_template_version
from smartfin.budgeting.tables import BudgetDraft
from smartfin.budgeting.workbook import template_workbook
from smartfin.ledger import import_departments
from smartfin.ledger.keys import FundingSource as F
from smartfin.store.audit import AuditEntry
from tests.budgeting.conftest import DEPARTMENTS_CSV
from tests.budgeting.workbooks import fill

POOL = ("年度,项目编码,项目名称,科室,资金来源,优先级,指标类型,指标维度,指标名称,计量单位,目标值\n"
        "2027,P-CARD-01,胸痛中心建设,CARD,专项,1,产出指标,数量,新增导管室,间,1\n"
        "2027,P-CARD-02,心衰门诊,CARD,自有,2,,,,,\n"
        "2027,P-RADI-01,影像云平台,RADI,财政,1,产出指标,时效,报告出具时间,小时,24\n")
# the CARD template: 项目支出 row 4 = P-CARD-01, row 5 = P-CARD-02 (no targets), rows 6… free project rows
GOOD_BASIC = {("30201", F.FISCAL): 12000, ("30218", F.OWN): Decimal("3500.50")}


@pytest.fixture
def compiling(sqlite_engine: Engine) -> Iterator[Session]:
    """SQLite with three departments, the pool of 2027 and the compilation of 2027 open at 一上."""
    with Session(sqlite_engine, expire_on_commit=False) as session:
        assert import_departments(session, DEPARTMENTS_CSV.encode(), actor="finance", filename="d.csv").ok
        assert import_projects(session, POOL.encode(), actor="finance", filename="pool.csv").ok
        open_round(session, 2027, guidance="零基预算", first_deadline=date(2026, 10, 15),
                   second_deadline=date(2026, 11, 30), template_version="2027.1", actor="finance")
        session.commit()
        yield session


def _upload(session: Session, data: bytes, department: str | None = "CARD") -> BudgetDraft:
    return upload_draft(session, data, filename="card.xlsx", uploaded_by="card-head", department=department)


def _refused(session: Session, data: bytes, department: str | None = "CARD") -> list[tuple[str, str]]:
    with pytest.raises(DraftRefused) as caught:
        _upload(session, data, department)
    session.rollback()
    assert session.exec(select(BudgetDraft)).all() == [], "a refused draft left something behind"
    return [(p.where, p.reason) for p in caught.value.problems]


def test_a_filled_template_is_stored_with_every_amount_and_its_cell(compiling: Session) -> None:
    template = template_workbook(compiling, 2027, "CARD")
    draft = _upload(compiling, fill(template, GOOD_BASIC, {4: (None, "31003", 250000), 6: ("P-CARD-01", "30213", 800)}))
    assert (draft.round, draft.revision, draft.status, draft.department) == ("first", 1, "current", "CARD")
    assert draft.total_fen == 1200000 + 350050 + 25000000 + 80000
    lines = {(x.kind, x.economic_code, x.funding_source, x.project, x.amount_fen, x.cell)
             for x in draft_lines(compiling, [draft.id or 0])}
    assert lines == {("basic", "30201", "fiscal", "", 1200000, "基本支出!H17"),
                     ("basic", "30218", "own", "", 350050, "基本支出!I33"),
                     ("project", "31003", "earmarked", "P-CARD-01", 25000000, "项目支出!G4"),
                     ("project", "30213", "earmarked", "P-CARD-01", 80000, "项目支出!G6")}


def _merge(book: Workbook) -> None:
    book["基本支出"].merge_cells("J10:K10")


def _hide_row(book: Workbook) -> None:
    book["基本支出"].row_dimensions[12].hidden = True


def _hide_column(book: Workbook) -> None:
    book["基本支出"].column_dimensions["I"].hidden = True


def _swap_codes(book: Workbook) -> None:
    sheet = book["基本支出"]
    sheet["A4"], sheet["A5"] = sheet["A5"].value, sheet["A4"].value


def _unknown_code(book: Workbook) -> None:
    book["基本支出"]["A6"] = "30288"


def _below_the_rows(book: Workbook) -> None:
    book["基本支出"]["H70"] = 10


def _relabel_source(book: Workbook) -> None:
    book["基本支出"]["H3"] = "2027 自有资金 own"


def _hidden_format(book: Workbook) -> None:
    book["基本支出"]["H4"].number_format = ";;;"


BAD: dict[str, tuple[dict, dict, Callable[[Workbook], None] | None, str, str]] = {  # type: ignore[type-arg]
    "formula": ({("30201", F.FISCAL): "=1000*12"}, {}, None, "基本支出!H17", "formula instead of a value"),
    "number stored as text": ({("30201", F.FISCAL): "12000"}, {}, None, "基本支出!H17", "stored as text"),
    "text": ({("30201", F.FISCAL): "about 12k"}, {}, None, "基本支出!H17", "not an amount"),
    "negative": ({("30201", F.OWN): -5}, {}, None, "基本支出!I17", "negative amount"),
    "three decimals": ({("30201", F.FISCAL): Decimal("1.234")}, {}, None, "基本支出!H17", "more than 2 decimal"),
    "merged": ({}, {}, _merge, "基本支出!J10:K10", "merged cells"),
    "hidden row": ({}, {}, _hide_row, "基本支出!12:12", "hidden row"),
    "hidden column": ({}, {}, _hide_column, "基本支出!I:I", "hidden column"),
    "hidden cell": ({("30101", F.FISCAL): 5}, {}, _hidden_format, "基本支出!H4", "hidden cell"),
    "value below the rows": ({}, {}, _below_the_rows, "基本支出!H70", "outside the template's rows"),
    "code not in the classification (basic)": ({}, {}, _unknown_code, "基本支出!A6", "not in the economic "
                                                                                   "classification"),
    "code not in the classification (project)": ({}, {4: (None, "99999", 100)}, None, "项目支出!F4",
                                                 "not in the economic classification"),
    "project not in the pool": ({}, {6: ("P-NOPE", "30201", 100)}, None, "项目支出!A6", "not in the pool"),
    "another department's project": ({}, {6: ("P-RADI-01", "30201", 100)}, None, "项目支出!A6", "belongs to RADI"),
    "project without targets": ({}, {5: (None, "30201", 100)}, None, "项目支出!A5", "no performance targets"),
    "project amount without a code": ({}, {4: (None, None, 100)}, None, "项目支出!F4", "economic code"),
    "labels changed": ({}, {}, _swap_codes, "_stamp!B4", "labels were changed"),
    "funding-source column relabelled": ({}, {}, _relabel_source, "基本支出!H3", "heading was changed"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_workbook_is_refused_with_its_cell_and_nothing_is_stored(compiling: Session, case: str) -> None:
    basic, projects, edit, where, reason = BAD[case]
    template = template_workbook(compiling, 2027, "CARD")
    problems = _refused(compiling, fill(template, {**GOOD_BASIC, **basic}, projects, edit))
    assert [w for w, _ in problems] == [where], problems
    assert reason in problems[0][1]


def test_a_workbook_of_another_template_version_is_refused(compiling: Session) -> None:
    data = fill(template_workbook(compiling, 2027, "CARD"), GOOD_BASIC)
    set_template_version(compiling, 2027, "2027.2", actor="finance")
    problems = _refused(compiling, data)
    assert problems[0][0] == "_stamp!B1" and "2027.1" in problems[0][1] and "2027.2" in problems[0][1]


def test_a_workbook_of_another_department_is_refused(compiling: Session) -> None:
    data = fill(template_workbook(compiling, 2027, "RADI"), GOOD_BASIC)
    assert _refused(compiling, data, department="CARD")[0][0] == "_stamp!B2"


def test_a_file_that_is_not_a_workbook_is_refused(compiling: Session) -> None:
    assert _refused(compiling, b"code,amount\n30201,5\n")[0][0] == "file"


def test_a_second_upload_replaces_the_first_and_keeps_it(compiling: Session) -> None:
    template = template_workbook(compiling, 2027, "CARD")
    workbook = fill(template, GOOD_BASIC)
    first = _upload(compiling, workbook)
    again = _upload(compiling, workbook)  # the identical file: nothing new
    assert again.id == first.id
    second = _upload(compiling, fill(template, {("30201", F.FISCAL): 9000}))
    assert (second.revision, second.status, first.status) == (2, "current", "replaced")
    assert [d.id for d in current_drafts(compiling, 2027, "first")] == [second.id]
    assert [(d.revision, d.status) for d in draft_history(compiling, 2027, "CARD")] == [(1, "replaced"),
                                                                                      (2, "current")]
    assert {x.amount_fen for x in draft_lines(compiling, [first.id or 0])} == {1200000, 350050}


def test_a_submitted_draft_is_not_replaced_until_its_task_is_offered_again(compiling: Session) -> None:
    template = template_workbook(compiling, 2027, "CARD")
    workbook = fill(template, GOOD_BASIC)  # one file: a workbook saved again carries a new save time
    submitted = _upload(compiling, workbook)
    assert accept_submission(compiling, 2027, "CARD", "first", accepted_by="card-head") == submitted
    compiling.commit()
    assert submitted.accepted_by == "card-head" and submitted.accepted_at is not None
    with pytest.raises(CompilationError, match=r"CARD's first-round draft \(revision 1\) was submitted with its "
                                               r"task on .* by card-head and cannot be replaced"):
        _upload(compiling, fill(template, {("30201", F.FISCAL): 9000}))
    compiling.rollback()
    assert [(d.revision, d.status) for d in draft_history(compiling, 2027, "CARD")] == [(1, "current")]
    assert _upload(compiling, workbook).id == submitted.id, "the same file again changes nothing"
    # another department's draft is not held by CARD's submission
    radi = template_workbook(compiling, 2027, "RADI")
    assert upload_draft(compiling, fill(radi, {("30201", F.FISCAL): 10}), filename="r.xlsx", uploaded_by="radi-head",
                        department="RADI").revision == 1

    reopen_submission(compiling, 2027, "CARD", "first", actor="system", reason="sent back")
    assert submitted.accepted_at is None and submitted.accepted_by is None
    reopened = compiling.exec(select(AuditEntry).where(AuditEntry.action == "budget.draft_reopened")).one()
    assert reopened.details_dict["accepted_by"] == "card-head" and reopened.details_dict["revision"] == 1
    replacement = _upload(compiling, fill(template, {("30201", F.FISCAL): 9000}))
    assert (replacement.revision, submitted.status) == (2, "replaced")
    reopen_submission(compiling, 2027, "CARD", "first", actor="system", reason="offered again")
    assert len(compiling.exec(select(AuditEntry).where(AuditEntry.action == "budget.draft_reopened")).all()) == 1, \
        "a draft never submitted is not reported reopened"


def test_in_the_second_round_a_draft_over_its_control_number_is_refused_naming_the_cell(compiling: Session) -> None:
    _upload(compiling, fill(template_workbook(compiling, 2027, "CARD"), GOOD_BASIC))
    advance_round(compiling, 2027, Stage.CONSOLIDATION, actor="finance")
    set_control_numbers(compiling, 2027, [ControlSetting("CARD", "fiscal", "10000.00"),
                                          ControlSetting("CARD", "own", "5000.00")],
                        decision="预算管理委员会 2026-3 号纪要", actor="budget-committee")
    advance_round(compiling, 2027, Stage.SECOND, actor="finance")
    compiling.commit()
    template = template_workbook(compiling, 2027, "CARD")
    over = fill(template, GOOD_BASIC)  # fiscal 12,000 > 10,000
    with pytest.raises(DraftRefused) as caught:
        _upload(compiling, over)
    compiling.rollback()
    [problem] = caught.value.problems
    assert problem.where == "控制数!C4"
    assert "12000.00" in problem.reason and "10000.00" in problem.reason and "基本支出!H17" in problem.reason
    within = _upload(compiling, fill(template, {("30201", F.FISCAL): 10000, ("30218", F.OWN): 5000}))
    assert (within.round, within.revision) == ("second", 1)


def test_every_problem_of_a_workbook_is_reported_at_once(compiling: Session) -> None:
    template = template_workbook(compiling, 2027, "CARD")
    data = fill(template, {("30201", F.FISCAL): "=1+1", ("30218", F.OWN): -1},
                {5: (None, "30201", 100), 6: ("P-NOPE", "30201", 100)}, _hide_row)
    assert [where for where, _ in _refused(compiling, data)] == [
        "基本支出!12:12", "基本支出!H17", "基本支出!I33", "项目支出!A5", "项目支出!A6"]


def test_a_control_number_file_with_a_bad_row_sets_nothing(compiling: Session) -> None:
    advance_round(compiling, 2027, Stage.CONSOLIDATION, actor="finance")
    report = import_control_numbers(compiling, 2027, (
        "科室,资金来源,控制数\nCARD,财政,1000\nNOPE,财政,1000\nRADI,gold,1000\nFIN,自有,-5\nFIN,专项,12.345\n"
    ).encode(), decision="纪要", actor="budget-committee", filename="controls.csv")
    assert [(e.row, e.column) for e in report.errors] == [(3, "department"), (4, "funding_source"), (5, "amount"),
                                                          (6, "amount")], report.errors
    assert control_numbers(compiling, 2027) == {}
