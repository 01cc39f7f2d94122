"""Import the year's budget from a CSV or Excel file: all rows or nothing.

File format
-----------
One header row (row 1), then one row per budget line. CSV may be UTF-8 (with or without BOM) or GBK
(as Excel on a Chinese Windows saves it); the encoding is detected. Excel files must be ``.xlsx``; the
first worksheet is read, and its first non-empty row is the header.

=================  ========================================  ========  =====================================
column             Chinese aliases                            required  values
=================  ========================================  ========  =====================================
fiscal_year        年度, 预算年度                              yes       2026
department         科室, 部门, 科室编码, 成本中心               yes       cost-centre code, e.g. ``0301``
economic_code      经济分类, 经济分类编码, 经济科目             yes       部门支出经济分类 digits, e.g. ``30218``
funding_source     资金来源, 经费来源                          yes       fiscal/own/research/earmarked or
                                                                        财政/自有/科研/专项
project            项目, 项目编码                              no        project code; empty = none
name               名称, 预算名称, 预算项目名称                 no        free text
budget             预算金额, 预算, 金额                        yes       yuan, ≥ 0, at most 2 decimals
                                                                        (``1,200,000.00`` and ``¥`` accepted)
control_level      控制方式, 控制级别                          no        control (default) / advisory / track
                                                                        or 控制 / 预警 / 跟踪
tolerance_pct      容差比例                                    no        percent, ``5`` or ``5%``; default 0
tolerance_amount   容差金额                                    no        yuan; default 0
warning_pct        预警比例                                    no        percent; default 90; 0 = no warning
effective_from     生效日期, 开始日期                          no        ``2026-01-01`` (also ``2026/1/1``)
effective_to       失效日期, 截止日期, 结束日期                 no        ``2026-12-31``
=================  ========================================  ========  =====================================

Percent cells formatted as percentages in Excel (which store 0.05 for 5 %) are read as the percentage
shown. Unknown columns are refused rather than ignored: a misspelt ``tolerance_pct`` must not silently
switch a tolerance off.

Rules
-----
* Every rejected row is reported as (row as the user sees it, header = row 1; column; reason), and a file
  with any rejected row changes nothing.
* The budget entries carry document ``budget-import`` / ``BUDGET-IMPORT-<sha256 prefix>`` of the file,
  so importing the identical file again changes nothing; a line already budgeted by another document is
  rejected ("already budgeted — use an adjustment").
* Once department master data is loaded (``smartfin departments import``), each line's department must
  be in force at some time during the line's period; before that, any department code is accepted.
* A budget takes effect on its line's ``effective_from`` (else 1 January of the fiscal year), not on the day
  of the import: a year's budget loaded in June is in the execution report of every month from January.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlmodel import Session

from smartfin.kernel.import_files import (
    KEY_COLUMN,
    ImportFormat,
    ImportIssue,
    Table,
    cell_amount,
    cell_date,
    cell_percent,
    cell_text,
    file_bytes,
    is_blank,
    read_import_table,
)
from smartfin.kernel.money import format_yuan, to_fen
from smartfin.ledger.control import find_line
from smartfin.ledger.departments import department_problem_during
from smartfin.ledger.errors import InvalidBudgetKey
from smartfin.ledger.journal import create_line, live_budget_entries, set_budget
from smartfin.ledger.keys import BudgetLineKey, ControlLevel, LineStatus, parse_control_level
from smartfin.store.audit import record_audit

__all__ = ["KEY_COLUMN", "ImportIssue", "ImportReport", "import_budget"]

IMPORT_DOCUMENT = "budget-import"

COLUMNS = ("fiscal_year", "department", "economic_code", "funding_source", "project", "name", "budget",
           "control_level", "tolerance_pct", "tolerance_amount", "warning_pct", "effective_from",
           "effective_to")
REQUIRED = ("fiscal_year", "department", "economic_code", "funding_source", "budget")
ALIASES: dict[str, str] = {
    **{c: c for c in COLUMNS},
    "年度": "fiscal_year", "预算年度": "fiscal_year",
    "科室": "department", "部门": "department", "科室编码": "department", "成本中心": "department",
    "经济分类": "economic_code", "经济分类编码": "economic_code", "经济科目": "economic_code",
    "资金来源": "funding_source", "经费来源": "funding_source",
    "项目": "project", "项目编码": "project",
    "名称": "name", "预算名称": "name", "预算项目名称": "name",
    "预算金额": "budget", "预算": "budget", "金额": "budget",
    "控制方式": "control_level", "控制级别": "control_level",
    "容差比例": "tolerance_pct", "容差金额": "tolerance_amount", "预警比例": "warning_pct",
    "生效日期": "effective_from", "开始日期": "effective_from",
    "失效日期": "effective_to", "截止日期": "effective_to", "结束日期": "effective_to",
}
DEFAULT_WARNING_PCT = Decimal(90)
BUDGET_FORMAT = ImportFormat("budget import", COLUMNS, REQUIRED, ALIASES)


@dataclass(slots=True)
class ImportReport:
    """What an import did — or, when ``errors`` is not empty, why it did nothing."""

    source: str
    sha256: str
    document_no: str
    rows: int = 0
    lines_created: int = 0
    budgets_posted: int = 0
    unchanged: int = 0
    total_budget: Decimal = Decimal("0.00")
    errors: list[ImportIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed(self) -> bool:
        return self.ok and self.budgets_posted > 0


@dataclass(frozen=True, slots=True)
class _BudgetRow:
    row: int
    key: BudgetLineKey
    name: str
    budget: Decimal
    control_level: ControlLevel
    tolerance_pct: Decimal
    tolerance_amount: Decimal
    warning_pct: Decimal | None
    effective_from: date | None
    effective_to: date | None


def import_budget(session: Session, source: str | Path | bytes, *, actor: str,
                  filename: str | None = None) -> ImportReport:
    """Create and budget the lines listed in a CSV/xlsx file, in the caller's transaction, all or nothing.

    Returns the report instead of raising on bad rows: the finance office wants every problem of the
    file at once, not the first one.
    """
    data, name = file_bytes(source, filename)
    digest = hashlib.sha256(data).hexdigest()
    report = ImportReport(source=name, sha256=digest, document_no=f"BUDGET-IMPORT-{digest[:16]}")

    table, issues = read_import_table(data, name, BUDGET_FORMAT)
    report.errors.extend(issues)
    if table is None:
        return report
    rows = _validate_rows(table, report.errors)
    report.rows = len(table)
    plan = _plan(session, rows, report)
    if report.errors:
        BUDGET_FORMAT.sort(report.errors)
        return report

    with session.begin_nested():  # one unit: a failure half-way leaves no line and no entry behind
        for row, create in plan:
            if create:
                create_line(session, row.key, actor=actor, name=row.name, control_level=row.control_level,
                            tolerance_pct=row.tolerance_pct, tolerance_amount=row.tolerance_amount,
                            warning_pct=row.warning_pct, effective_from=row.effective_from,
                            effective_to=row.effective_to)
                report.lines_created += 1
            set_budget(session, row.key, row.budget, document_type=IMPORT_DOCUMENT,
                       document_no=report.document_no, actor=actor, reason=f"budget import {name}")
            report.budgets_posted += 1
            report.total_budget += row.budget
        if report.budgets_posted:
            record_audit(session, actor=actor, action="budget.imported", subject_type="budget_import",
                         subject_id=report.document_no, details={
                             "file": name, "sha256": digest, "rows": report.rows,
                             "lines_created": report.lines_created, "budgets_posted": report.budgets_posted,
                             "total_budget": report.total_budget})
    return report


# -------------------------------------------------------------------------------------- validation

def _validate_rows(table: Table, issues: list[ImportIssue]) -> list[_BudgetRow]:
    rows: list[_BudgetRow] = []
    seen: dict[BudgetLineKey, int] = {}
    for row_no, record in table:
        before = len(issues)

        def fail(column: str, reason: str, row_no: int = row_no) -> None:
            issues.append(ImportIssue(row_no, column, reason))

        key = None
        year_text = cell_text(record.get("fiscal_year"))
        if not year_text:
            fail("fiscal_year", "is missing")
        elif not year_text.isdigit():
            fail("fiscal_year", f"must be a whole year such as 2026 (got {year_text!r})")
        else:
            try:
                key = BudgetLineKey(int(year_text), cell_text(record.get("department")),
                                    cell_text(record.get("economic_code")), cell_text(record.get("funding_source")),  # type: ignore[arg-type]
                                    cell_text(record.get("project")))
            except InvalidBudgetKey as exc:
                fail(exc.field, exc.reason + (f" (got {exc.value!r})" if exc.value not in (None, "") else ""))
        budget = cell_amount(record.get("budget"), "budget", fail, required=True)
        level = ControlLevel.CONTROL
        if not is_blank(record.get("control_level")):
            try:
                level = parse_control_level(record.get("control_level"))
            except ValueError:
                fail("control_level", f"is unknown (use control, advisory or track; got "
                                      f"{cell_text(record.get('control_level'))!r})")
        tol_pct = cell_percent(record.get("tolerance_pct"), "tolerance_pct", fail) or Decimal(0)
        tol_amount = cell_amount(record.get("tolerance_amount"), "tolerance_amount", fail) or Decimal(0)
        warning = DEFAULT_WARNING_PCT
        if not is_blank(record.get("warning_pct")):
            warning = cell_percent(record.get("warning_pct"), "warning_pct", fail)  # type: ignore[assignment]
        start = cell_date(record.get("effective_from"), "effective_from", fail)
        end = cell_date(record.get("effective_to"), "effective_to", fail)
        if start and end and start > end:
            fail("effective_to", f"{end} is before effective_from {start}")

        if key is not None:
            if key in seen:
                fail(KEY_COLUMN, f"line {key} already appears in row {seen[key]}")
            else:
                seen[key] = row_no
        if len(issues) == before and key is not None and budget is not None:
            rows.append(_BudgetRow(row_no, key, cell_text(record.get("name")), budget, level, tol_pct, tol_amount,
                                   warning or None, start, end))
    return rows


def _plan(session: Session, rows: list[_BudgetRow], report: ImportReport) -> list[tuple[_BudgetRow, bool]]:
    """Decide per valid row: create the line, budget an existing unbudgeted line, or leave it unchanged.

    Once the hospital has loaded its department master data, a line's department must be in force during
    the line's period (its effective dates, else its fiscal year): a typo in a code would otherwise open a
    line nobody can find under the department's name.
    """
    plan: list[tuple[_BudgetRow, bool]] = []
    for row in rows:
        first_day = row.effective_from or date(row.key.fiscal_year, 1, 1)
        last_day = row.effective_to or date(row.key.fiscal_year, 12, 31)
        problem = department_problem_during(session, row.key.department, first_day, last_day)
        if problem is not None:
            report.errors.append(ImportIssue(row.row, "department", problem))
            continue
        line = find_line(session, row.key)
        if line is None:
            plan.append((row, True))
            continue
        if line.status == LineStatus.CLOSED:
            report.errors.append(ImportIssue(row.row, KEY_COLUMN, f"budget line {row.key} is closed"))
            continue
        budgeted = live_budget_entries(session, line)
        if not budgeted:
            plan.append((row, False))
        elif any(e.document_type == IMPORT_DOCUMENT and e.document_no == report.document_no
                 and e.amount_fen == to_fen(row.budget) for e in budgeted):
            report.unchanged += 1
        else:
            first = budgeted[0]
            report.errors.append(ImportIssue(
                row.row, "budget", f"line {row.key} is already budgeted ({format_yuan(first.amount)} from "
                                   f"{first.document_no}) — use an adjustment"))
    return plan
