"""A whole compilation on SQLite and PostgreSQL: template → fill → upload (一上) → consolidate → control numbers →
revise (二上) → approve → issue into the ledger; the issue is idempotent, refuses what it must, and leaves nothing
behind when refused."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from sqlmodel import Session, func, select

from smartfin.budgeting.consolidate import consolidate, consolidation_html, consolidation_workbook
from smartfin.budgeting.controls import ControlSetting, control_numbers, import_control_numbers, set_control_numbers
from smartfin.budgeting.drafts import upload_draft
from smartfin.budgeting.issue import ISSUE_DOCUMENT, issue_budget
from smartfin.budgeting.projects import import_projects
from smartfin.budgeting.rounds import (
    APPROVAL_DOCUMENT_TYPE,
    CompilationError,
    Stage,
    advance_round,
    approval_document_no,
    get_round,
    mark_stage,
    open_round,
)
from smartfin.budgeting.tables import BudgetIssue
from smartfin.budgeting.workbook import template_workbook
from smartfin.ledger import (
    AlreadyBudgeted,
    BudgetExceeded,
    BudgetLine,
    BudgetLineKey,
    JournalEntry,
    adjust,
    balances,
    create_line,
    import_departments,
    line_journal,
    pre_encumber,
    record_actual,
)
from smartfin.ledger.keys import FundingSource as F
from smartfin.store.audit import record_audit
from tests.budgeting.test_budgeting_drafts import POOL
from tests.budgeting.workbooks import fill

CARRY = BudgetLineKey(2027, "CARD", "30201", F.FISCAL)


def _history(session: Session) -> None:
    """2026: CARD office costs ¥100,000 budgeted, ¥40,000 spent; 2027 carry-over of ¥2,000 onto the 2027 line."""
    last = BudgetLineKey(2026, "CARD", "30201", F.FISCAL)
    create_line(session, last, actor="finance", budget="100000", document_no="B2026")
    pre_encumber(session, last, "40000", document_type="spending-request", document_no="SR-1", actor="card")
    record_actual(session, document_type="spending-request", document_no="SR-1", actor="finance")
    create_line(session, CARRY, actor="year-end", name="办公费 carried over")
    adjust(session, CARRY, "2000", document_no="CO-2026-1", actor="year-end", reason="财政拨款结转",
           document_type="budget-carry-over", effective_on=date(2027, 1, 1))


def _submit(session: Session, department: str, basic: dict, projects: dict | None = None) -> None:  # type: ignore[type-arg]
    data = fill(template_workbook(session, 2027, department), basic, projects)
    upload_draft(session, data, filename=f"{department}.xlsx", uploaded_by=f"{department.lower()}-head",
                 department=department)


def _to_second_round(session: Session) -> None:
    assert import_departments(session, ("code,name,class,valid_from\nCARD,心血管内科,clinical,2020-01-01\n"
                                        "RADI,放射科,medical-technical,2020-01-01\nFIN,财务处,administrative,"
                                        "2020-01-01\n").encode(), actor="finance", filename="d.csv").ok
    assert import_projects(session, POOL.encode(), actor="finance", filename="pool.csv").ok
    _history(session)
    open_round(session, 2027, guidance="零基预算；一般性支出压减 5%", first_deadline=date(2026, 10, 15),
               second_deadline=date(2026, 11, 30), template_version="2027.1", actor="finance")
    _submit(session, "CARD", {("30201", F.FISCAL): 110000, ("30218", F.OWN): 50000},
            {4: (None, "31003", 300000)})
    _submit(session, "RADI", {("30201", F.FISCAL): 20000, ("30213", F.OWN): Decimal("8000.50")})


def test_a_year_is_compiled_and_issued_into_the_ledger(session: Session) -> None:
    _to_second_round(session)
    template = openpyxl.load_workbook(io.BytesIO(template_workbook(session, 2027, "CARD")))
    basic = template["基本支出"]
    assert basic["A17"].value == "30201" and basic["F17"].value == 100000 and basic["G17"].value == 40000
    assert basic.protection.sheet and not basic["H17"].protection.locked and basic["A17"].protection.locked
    assert any("H17" in v.sqref and v.type == "decimal" for v in basic.data_validations.dataValidation)
    assert template["_stamp"].sheet_state == "veryHidden" and template["_stamp"]["B1"].value == "2027.1"

    first = consolidate(session, 2027)
    assert [(d.department, d.total) for d in first.departments] == [("CARD", 46000000), ("RADI", 2800050)]
    assert first.missing == ["FIN"]
    office = first.departments[0].by_code["30201"]
    assert (office.total, office.previous) == (11000000, 10000000)  # +10 % on the 2026 budget
    page = consolidation_html(first)
    assert "+10.00%" in page and "未上报 no draft yet:</b> FIN" in page
    book = openpyxl.load_workbook(io.BytesIO(consolidation_workbook(first)), read_only=True)
    rows = list(book["科室汇总 departments"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[8]) for r in rows] == [("CARD", 460000), ("RADI", 28000.5)]

    with pytest.raises(CompilationError, match="stage first"):
        set_control_numbers(session, 2027, [ControlSetting("CARD", "fiscal", "1")], decision="x", actor="bc")
    advance_round(session, 2027, Stage.CONSOLIDATION, actor="finance")
    with pytest.raises(CompilationError, match="no control numbers yet for CARD, RADI"):
        advance_round(session, 2027, Stage.SECOND, actor="finance")
    report = import_control_numbers(session, 2027, (
        "科室,资金来源,控制数\nCARD,财政,100000\nCARD,自有,45000\nCARD,专项,300000\nRADI,财政,20000\n"
        "RADI,自有,8000.50\n").encode(), decision="预算管理委员会 2026-3 号纪要", actor="budget-committee",
        filename="controls.csv")
    assert report.ok, report.errors
    assert control_numbers(session, 2027, "CARD") == {("CARD", "fiscal"): 10000000, ("CARD", "own"): 4500000,
                                                       ("CARD", "earmarked"): 30000000}
    advance_round(session, 2027, Stage.SECOND, actor="finance")
    assert [d.control_total for d in consolidate(session, 2027, "first").departments] == [44500000, 2800050]
    controls = openpyxl.load_workbook(io.BytesIO(template_workbook(session, 2027, "CARD")))["控制数"]
    assert [controls[f"C{r}"].value for r in range(4, 8)] == [100000, 45000, "未下达 not set", 300000]

    _submit(session, "CARD", {("30201", F.FISCAL): 100000, ("30218", F.OWN): 45000}, {4: (None, "31003", 300000)})
    _submit(session, "RADI", {("30201", F.FISCAL): 20000, ("30213", F.OWN): Decimal("8000.50")})
    with pytest.raises(CompilationError, match="stage second"):
        issue_budget(session, 2027, actor="finance")
    advance_round(session, 2027, Stage.APPROVAL, actor="finance")
    _verified(session, 2027)
    advance_round(session, 2027, Stage.APPROVED, actor="party-committee")
    issue = issue_budget(session, 2027, actor="finance")
    session.commit()

    assert (issue.version, issue.lines, issue.lines_created, issue.total_fen) == (1, 5, 4, 47300050)
    assert get_round(session, 2027).stage == Stage.ISSUED
    # the carry-over line keeps its adjustment (in force from 1 January) and gets its original budget
    assert balances(session, CARRY).budget == Decimal("100000.00")
    assert [(e.bucket, e.amount_fen, e.document_type) for e in line_journal(session, CARRY)] == [
        ("adjustment", 200000, "budget-carry-over"), ("budget", 10000000, ISSUE_DOCUMENT)]
    project = balances(session, BudgetLineKey(2027, "CARD", "31003", F.EARMARKED, "P-CARD-01"))
    assert project.budget == Decimal("300000.00")
    line = session.exec(select(BudgetLine).where(BudgetLine.project == "P-CARD-01")).one()
    assert line.name == "胸痛中心建设 · 专用设备购置"
    entry = session.exec(select(JournalEntry).where(JournalEntry.line_id == line.id)).one()
    assert (entry.document_type, entry.document_no, entry.effective_on) == (
        ISSUE_DOCUMENT, "BUDGET-ISSUE-2027-V1", date(2027, 1, 1))

    # an issued line is an ordinary line: budget control reserves on it and stops at its budget
    radi = BudgetLineKey(2027, "RADI", "30213", F.OWN)
    pre_encumber(session, radi, "8000.50", document_type="spending-request", document_no="SR-2027-1", actor="radi")
    with pytest.raises(BudgetExceeded):
        pre_encumber(session, radi, "0.01", document_type="spending-request", document_no="SR-2027-2", actor="radi")
    session.rollback()

    entries = session.exec(select(func.count()).select_from(JournalEntry)).one()
    again = issue_budget(session, 2027, actor="finance")
    assert again.id == issue.id
    assert session.exec(select(func.count()).select_from(JournalEntry)).one() == entries


def test_an_issue_refused_halfway_leaves_nothing_behind(session: Session) -> None:
    _to_second_round_with_controls(session)
    _submit(session, "CARD", {("30201", F.FISCAL): 100000, ("30218", F.OWN): 45000}, {4: (None, "31003", 300000)})
    _submit(session, "RADI", {("30201", F.FISCAL): 20000, ("30213", F.OWN): 8000})
    advance_round(session, 2027, Stage.APPROVAL, actor="finance")
    _verified(session, 2027)
    advance_round(session, 2027, Stage.APPROVED, actor="party-committee")
    # RADI's office line was budgeted by an import in the meantime: the issue must not post half the year
    create_line(session, BudgetLineKey(2027, "RADI", "30213", F.OWN), actor="finance", budget="5000",
                document_no="BUDGET-IMPORT-1")
    session.commit()
    lines_before = session.exec(select(func.count()).select_from(BudgetLine)).one()
    entries_before = session.exec(select(func.count()).select_from(JournalEntry)).one()
    with pytest.raises(AlreadyBudgeted, match="RADI/30213/own"):
        issue_budget(session, 2027, actor="finance")
    session.commit()
    assert session.exec(select(func.count()).select_from(BudgetLine)).one() == lines_before
    assert session.exec(select(func.count()).select_from(JournalEntry)).one() == entries_before
    assert session.exec(select(BudgetIssue)).all() == []
    assert get_round(session, 2027).stage == Stage.APPROVED


def test_departments_not_in_master_data_are_refused_at_issue(session: Session) -> None:
    # drafts sent before the hospital loaded its departments (any code accepted then) …
    assert import_projects(session, POOL.encode(), actor="finance", filename="pool.csv").ok
    open_round(session, 2027, guidance="g", first_deadline=date(2026, 10, 15), second_deadline=date(2026, 11, 30),
               template_version="2027.1", actor="finance")
    _submit(session, "CARD", {("30201", F.FISCAL): 100})
    advance_round(session, 2027, Stage.CONSOLIDATION, actor="finance")
    set_control_numbers(session, 2027, [ControlSetting("CARD", "fiscal", "100")], decision="纪要", actor="bc")
    advance_round(session, 2027, Stage.SECOND, actor="finance")
    _submit(session, "CARD", {("30201", F.FISCAL): 100})
    advance_round(session, 2027, Stage.APPROVAL, actor="finance")
    _verified(session, 2027)
    advance_round(session, 2027, Stage.APPROVED, actor="party-committee")
    # … and master data loaded before the issue, without CARD
    assert import_departments(session, b"code,name,class,valid_from\nFIN,finance,administrative,2020-01-01\n",
                              actor="finance", filename="d.csv").ok
    with pytest.raises(CompilationError, match="not in the master data for 2027: CARD"):
        issue_budget(session, 2027, actor="finance")
    assert session.exec(select(BudgetLine)).all() == []


def test_approval_waits_for_every_proposer_and_for_drafts_within_the_control_numbers_now(session: Session) -> None:
    _to_second_round_with_controls(session)
    _submit(session, "CARD", {("30201", F.FISCAL): 1000})
    with pytest.raises(CompilationError, match="no 二上 draft from RADI"):
        advance_round(session, 2027, Stage.APPROVAL, actor="finance")
    _submit(session, "RADI", {("30201", F.FISCAL): 1000})
    # the committee cuts CARD's fiscal control number after its draft was accepted
    set_control_numbers(session, 2027, [ControlSetting("CARD", "fiscal", "999.99")], decision="纪要 4", actor="bc")
    with pytest.raises(CompilationError, match=r"CARD fiscal 1000\.00 exceeds its control number 999\.99"):
        advance_round(session, 2027, Stage.APPROVAL, actor="finance")
    _submit(session, "CARD", {("30201", F.FISCAL): Decimal("999.99")})
    assert advance_round(session, 2027, Stage.APPROVAL, actor="finance").stage == Stage.APPROVAL


def _to_second_round_with_controls(session: Session) -> None:
    _to_second_round(session)
    advance_round(session, 2027, Stage.CONSOLIDATION, actor="finance")
    set_control_numbers(session, 2027, [ControlSetting(d, s, "1000000") for d in ("CARD", "RADI")
                                        for s in ("fiscal", "own", "earmarked")], decision="纪要", actor="bc")
    advance_round(session, 2027, Stage.SECOND, actor="finance")


def _verified(session: Session, year: int, action: str = "approvals-verified") -> None:
    """The verdict the compilation process's control step records after checking the signatures."""
    record_audit(session, actor="system", action=action, subject_type=APPROVAL_DOCUMENT_TYPE,
                 subject_id=approval_document_no(year), details={"problems": []})


def test_approved_and_the_issue_need_the_process_verified_approval(session: Session) -> None:
    _to_second_round_with_controls(session)
    _submit(session, "CARD", {("30201", F.FISCAL): 100000, ("30218", F.OWN): 45000}, {4: (None, "31003", 300000)})
    _submit(session, "RADI", {("30201", F.FISCAL): 20000, ("30213", F.OWN): 8000})
    advance_round(session, 2027, Stage.APPROVAL, actor="finance")
    with pytest.raises(CompilationError, match="no approval verified by the budget-compilation process"):
        advance_round(session, 2027, Stage.APPROVED, actor="finance")
    # a round forced to approved without the process (as an old command line could) is not issued
    mark_stage(session, get_round(session, 2027), Stage.APPROVED, actor="finance")
    with pytest.raises(CompilationError, match="no approval verified"):
        issue_budget(session, 2027, actor="finance")
    # an earlier verified round of approvals does not carry a later broken one
    _verified(session, 2027)
    _verified(session, 2027, "approvals-incomplete")
    with pytest.raises(CompilationError, match="no approval verified"):
        issue_budget(session, 2027, actor="finance")
    _verified(session, 2027)
    assert issue_budget(session, 2027, actor="finance").version == 1
