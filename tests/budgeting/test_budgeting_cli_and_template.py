"""The compilation commands on a database of their own, and the workbook's protection and validation."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.cell_range import MultiCellRange
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.budgeting.drafts import accept_submission
from smartfin.budgeting.projects import find_project, import_projects, project_targets
from smartfin.budgeting.rounds import APPROVAL_DOCUMENT_TYPE, approval_document_no, open_round
from smartfin.budgeting.workbook import (
    BASIC,
    BASIC_FIRST_INPUT,
    EXTRA_PROJECT_ROWS,
    FIRST_ROW,
    PROJECTS,
    SOURCES,
    template_workbook,
)
from smartfin.store.audit import record_audit
from smartfin.store.db import get_engine, session_scope
from tests.budgeting.test_budgeting_drafts import POOL
from tests.support.settings import environment

runner = CliRunner()


@pytest.fixture
def var_dir(tmp_path: Path) -> Iterator[Path]:
    with environment({"SMARTFIN_VAR_DIR": str(tmp_path), "SMARTFIN_DATABASE_URL": ""}):
        get_engine.cache_clear()
        yield tmp_path
    get_engine.cache_clear()


def _run(*args: str) -> str:
    result = runner.invoke(app, ["budget", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_year_through_the_commands(var_dir: Path) -> None:
    (var_dir / "pool.csv").write_text(POOL, encoding="utf-8")
    assert "3 projects created" in _run("projects", "import", str(var_dir / "pool.csv"))
    assert "(no performance targets: cannot be budgeted yet)" in _run("projects", "list", "--year", "2027")
    _run("round", "open", "--year", "2027", "--guidance", "零基预算", "--first-deadline", "2026-10-15",
         "--second-deadline", "2026-11-30", "--template-version", "2027.1")
    template = var_dir / "card.xlsx"
    _run("template", "--year", "2027", "--department", "CARD", "--out", str(template))
    book = openpyxl.load_workbook(template)
    book[BASIC]["H4"] = "=2*3"
    book.save(var_dir / "bad.xlsx")
    refused = runner.invoke(app, ["budget", "draft", "upload", str(var_dir / "bad.xlsx"), "--by", "card-head"])
    assert refused.exit_code == 3
    assert "基本支出!H4: 公式而非数值" in refused.output
    book[BASIC]["H4"] = 1200
    book.save(var_dir / "good.xlsx")
    assert "round first, revision 1" in _run("draft", "upload", str(var_dir / "good.xlsx"), "--by", "card-head")
    assert "current" in _run("draft", "list", "--year", "2027", "--department", "CARD")
    with session_scope() as session:  # CARD's draft task accepted with it: the draft is its submission
        accept_submission(session, 2027, "CARD", "first", accepted_by="card-head")
    book[BASIC]["H4"] = 1500
    book.save(var_dir / "changed.xlsx")
    held = runner.invoke(app, ["budget", "draft", "upload", str(var_dir / "changed.xlsx"), "--by", "card-head"])
    assert held.exit_code == 3 and "was submitted with its task" in held.output, held.output
    assert "current  " in (listed := _run("draft", "list", "--year", "2027", "--department", "CARD"))
    assert "submitted by card-head with the task" in listed and "rev 2" not in listed
    out = var_dir / "out"
    assert "1 departments, total 1200.00" in _run("consolidate", "--year", "2027", "--out", str(out))
    assert (out / "budget-consolidation-2027-first.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    _run("round", "advance", "--year", "2027", "--to", "consolidation")
    _run("controls", "set", "--year", "2027", "--department", "CARD", "--funding-source", "财政", "--amount", "1200",
         "--decision", "预算委 3 号")
    assert "CARD         fiscal              1200.00" in _run("controls", "list", "--year", "2027")
    _run("round", "advance", "--year", "2027", "--to", "second")
    _run("draft", "upload", str(var_dir / "good.xlsx"), "--by", "card-head")
    _run("round", "advance", "--year", "2027", "--to", "approval")
    # approved is the compilation process's verified approval, not a command-line step; nor is the issue before it
    for refused_args, reason in ((("round", "advance", "--year", "2027", "--to", "approved"), "no approval verified"),
                                 (("issue", "--year", "2027"), "needs approved or issued")):
        refused = runner.invoke(app, ["budget", *refused_args])
        assert refused.exit_code != 0 and reason in refused.output, refused.output
    with session_scope() as session:
        record_audit(session, actor="system", action="approvals-verified", subject_type=APPROVAL_DOCUMENT_TYPE,
                     subject_id=approval_document_no(2027), details={"problems": []})
    _run("round", "advance", "--year", "2027", "--to", "approved")
    assert "1 lines (1 new), total 1200.00" in _run("issue", "--year", "2027")
    assert "2027/CARD/30101/fiscal" in runner.invoke(app, ["budget", "show", "--year", "2027"]).output


def test_every_input_cell_is_validated_and_unlocked_and_every_label_locked(session: Session) -> None:
    assert import_projects(session, POOL.encode(), actor="finance", filename="pool.csv").ok
    open_round(session, 2027, guidance="g", first_deadline=date(2026, 10, 15), second_deadline=date(2026, 11, 30),
               template_version="2027.1", actor="finance")
    book = openpyxl.load_workbook(io.BytesIO(template_workbook(session, 2027, "CARD")))
    for title, inputs in ((BASIC, range(BASIC_FIRST_INPUT, BASIC_FIRST_INPUT + len(SOURCES))), (PROJECTS, (6, 7))):
        sheet = book[title]
        assert sheet.protection.sheet
        validated = MultiCellRange()
        for validation in sheet.data_validations.dataValidation:
            for cell_range in validation.sqref.ranges:
                validated.add(cell_range.coord)
        last = sheet.max_row
        for row in sheet.iter_rows(min_row=FIRST_ROW, max_row=last):
            for cell in row:
                if cell.column in inputs or (title == PROJECTS and cell.row >= last - EXTRA_PROJECT_ROWS + 1
                                             and cell.column == 1):
                    assert not cell.protection.locked and cell.coordinate in validated, f"{title}!{cell.coordinate}"
                else:
                    assert cell.protection.locked and cell.coordinate not in validated, f"{title}!{cell.coordinate}"
    assert [book[PROJECTS].cell(row=r, column=1).value for r in (4, 5, 6)] == ["P-CARD-01", "P-CARD-02", None]


def test_the_pool_is_imported_from_an_excel_file_too(sqlite_engine: Engine) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in POOL.splitlines():
        sheet.append([int(v) if v.isdigit() else v for v in row.split(",")])
    data = io.BytesIO()
    book.save(data)
    with Session(sqlite_engine) as session:
        report = import_projects(session, data.getvalue(), actor="finance", filename="pool.xlsx")
        assert report.ok, report.errors
        project = find_project(session, 2027, "P-RADI-01")
        assert project is not None and project.funding_source == "fiscal"
        assert [t.target_value for t in project_targets(session, project.id or 0)] == ["24"]
