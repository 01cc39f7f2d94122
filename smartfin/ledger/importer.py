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
* A budget takes effect on its line's ``effective_from`` (else 1 January of the fiscal year), not on the day
  of the import: a year's budget loaded in June is in the execution report of every month from January.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
from sqlmodel import Session

from smartfin.kernel.money import InvalidAmount, format_yuan, parse_amount, to_fen
from smartfin.kernel.text import decode_chinese_text
from smartfin.ledger.control import find_line
from smartfin.ledger.errors import InvalidBudgetKey
from smartfin.ledger.journal import create_line, live_budget_entries, set_budget
from smartfin.ledger.keys import BudgetLineKey, ControlLevel, LineStatus, parse_control_level
from smartfin.store.audit import record_audit

IMPORT_DOCUMENT = "budget-import"
KEY_COLUMN = "key"  # the column named in errors about the line as a whole

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


@dataclass(frozen=True, slots=True)
class ImportIssue:
    """One reason a row was refused, located as the user sees the file."""

    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.reason}"


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
    if isinstance(source, bytes):
        data, name = source, filename or "upload"
    else:
        path = Path(source)
        data, name = path.read_bytes(), filename or path.name
    digest = hashlib.sha256(data).hexdigest()
    report = ImportReport(source=name, sha256=digest, document_no=f"BUDGET-IMPORT-{digest[:16]}")

    table, issues = _read_table(data, name)
    report.errors.extend(issues)
    if table is None:
        return report
    rows = _validate_rows(table, report.errors)
    report.rows = len(table)
    plan = _plan(session, rows, report)
    if report.errors:
        report.errors.sort(key=lambda issue: (issue.row, _column_order(issue.column)))
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


# ----------------------------------------------------------------------------------------- reading

def _read_table(data: bytes, name: str) -> tuple[list[tuple[int, dict[str, Any]]] | None, list[ImportIssue]]:
    """Rows as ``(row number in the file, {canonical column: raw value})``, plus header problems."""
    if not data.strip():
        return None, [ImportIssue(1, KEY_COLUMN, "the file is empty")]
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return None, [ImportIssue(1, KEY_COLUMN, "old Excel .xls format: save the file as .xlsx or CSV")]
    if data[:4] == b"PK\x03\x04" or name.lower().endswith(".xlsx"):
        try:
            frame, first_row = _xlsx_frame(data)
        except Exception as exc:  # openpyxl raises many types for a damaged file
            return None, [ImportIssue(1, KEY_COLUMN, f"cannot read the Excel file: {exc}")]
    else:
        try:
            text, _encoding = decode_chinese_text(data)
        except UnicodeDecodeError:
            return None, [ImportIssue(1, KEY_COLUMN, "the file is neither UTF-8 nor GBK text")]
        try:
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            return None, [ImportIssue(1, KEY_COLUMN, f"cannot read the CSV file: {exc}")]
        first_row = 1
    if frame is None:
        return None, [ImportIssue(1, KEY_COLUMN, "the file has no header row")]

    issues: list[ImportIssue] = []
    columns: list[str | None] = []
    for header in frame.columns:
        label = _normalise_header(header)
        canonical = ALIASES.get(label) or ALIASES.get(label.lower())
        if label.lower().startswith("unnamed:") or not label:
            canonical = None  # an empty header cell; its values are checked below
        elif canonical is None:
            issues.append(ImportIssue(first_row, label, "unknown column (see the budget import format)"))
        elif canonical in columns:
            issues.append(ImportIssue(first_row, label, f"duplicate column ({canonical})"))
            canonical = None
        columns.append(canonical)
    for required in REQUIRED:
        if required not in columns:
            issues.append(ImportIssue(first_row, required, "required column is missing"))
    if issues:
        return None, issues

    table: list[tuple[int, dict[str, Any]]] = []
    for offset, values in enumerate(frame.itertuples(index=False, name=None)):
        row_no = first_row + 1 + offset
        record = {col: value for col, value in zip(columns, values, strict=True) if col is not None}
        if all(_is_blank(v) for v in values):
            continue
        stray = [v for col, v in zip(columns, values, strict=True) if col is None and not _is_blank(v)]
        if stray:
            issues.append(ImportIssue(row_no, KEY_COLUMN, "value under a column without a header"))
        table.append((row_no, record))
    return table, issues


def _xlsx_frame(data: bytes) -> tuple[pd.DataFrame | None, int]:
    """The first worksheet as a frame of raw cell values, and the sheet row number of its header."""
    workbook = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    sheet = workbook.worksheets[0]
    header: list[Any] | None = None
    header_row = 1
    rows: list[list[Any]] = []
    for cells in sheet.iter_rows():
        values = [_cell_value(cell) for cell in cells]
        if header is None:
            if all(_is_blank(v) for v in values):
                continue
            header, header_row = values, cells[0].row
            continue
        rows.append(values)
    workbook.close()
    if header is None:
        return None, 1
    labels = [f"Unnamed: {i}" if _is_blank(h) else str(h) for i, h in enumerate(header)]
    return pd.DataFrame(rows, columns=labels, dtype=object), header_row


def _cell_value(cell: Any) -> Any:
    value = cell.value
    # A cell formatted as a percentage stores 0.05 and shows 5 %: take what the user sees.
    if isinstance(value, int | float) and not isinstance(value, bool) and "%" in (cell.number_format or ""):
        return Decimal(repr(value)) * 100
    return value


def _normalise_header(header: object) -> str:
    text = unicodedata.normalize("NFKC", str(header)).replace("\ufeff", "").strip()
    return re.sub(r"\s+", "_", text)


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()


# -------------------------------------------------------------------------------------- validation

def _validate_rows(table: Iterable[tuple[int, dict[str, Any]]], issues: list[ImportIssue]) -> list[_BudgetRow]:
    rows: list[_BudgetRow] = []
    seen: dict[BudgetLineKey, int] = {}
    for row_no, record in table:
        before = len(issues)

        def fail(column: str, reason: str, row_no: int = row_no) -> None:
            issues.append(ImportIssue(row_no, column, reason))

        key = None
        year_text = _text(record.get("fiscal_year"))
        if not year_text:
            fail("fiscal_year", "is missing")
        elif not year_text.isdigit():
            fail("fiscal_year", f"must be a whole year such as 2026 (got {year_text!r})")
        else:
            try:
                key = BudgetLineKey(int(year_text), _text(record.get("department")),
                                    _text(record.get("economic_code")), _text(record.get("funding_source")),  # type: ignore[arg-type]
                                    _text(record.get("project")))
            except InvalidBudgetKey as exc:
                fail(exc.field, exc.reason + (f" (got {exc.value!r})" if exc.value not in (None, "") else ""))
        budget = _amount(record.get("budget"), "budget", fail, required=True)
        level = ControlLevel.CONTROL
        if not _is_blank(record.get("control_level")):
            try:
                level = parse_control_level(record.get("control_level"))
            except ValueError:
                fail("control_level", f"is unknown (use control, advisory or track; got "
                                      f"{_text(record.get('control_level'))!r})")
        tol_pct = _percent(record.get("tolerance_pct"), "tolerance_pct", fail) or Decimal(0)
        tol_amount = _amount(record.get("tolerance_amount"), "tolerance_amount", fail) or Decimal(0)
        warning = DEFAULT_WARNING_PCT
        if not _is_blank(record.get("warning_pct")):
            warning = _percent(record.get("warning_pct"), "warning_pct", fail)  # type: ignore[assignment]
        start = _date(record.get("effective_from"), "effective_from", fail)
        end = _date(record.get("effective_to"), "effective_to", fail)
        if start and end and start > end:
            fail("effective_to", f"{end} is before effective_from {start}")

        if key is not None:
            if key in seen:
                fail(KEY_COLUMN, f"line {key} already appears in row {seen[key]}")
            else:
                seen[key] = row_no
        if len(issues) == before and key is not None and budget is not None:
            rows.append(_BudgetRow(row_no, key, _text(record.get("name")), budget, level, tol_pct, tol_amount,
                                   warning or None, start, end))
    return rows


def _plan(session: Session, rows: list[_BudgetRow], report: ImportReport) -> list[tuple[_BudgetRow, bool]]:
    """Decide per valid row: create the line, budget an existing unbudgeted line, or leave it unchanged."""
    plan: list[tuple[_BudgetRow, bool]] = []
    for row in rows:
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


def _text(value: object) -> str:
    if _is_blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps codes typed as numbers as floats
    if isinstance(value, datetime):
        return value.date().isoformat()
    return unicodedata.normalize("NFKC", str(value)).strip()


def _amount_input(value: object) -> object:
    if isinstance(value, float):
        # Excel stores numbers as binary doubles; the shortest repr is the figure the user typed.
        return Decimal(repr(value))
    return _text(value) if not isinstance(value, Decimal | int) else value


def _amount(value: object, column: str, fail: Any, *, required: bool = False) -> Decimal | None:
    if _is_blank(value) and not required:
        return None
    try:
        return parse_amount(_amount_input(value), field=column, allow_zero=True)
    except InvalidAmount as exc:
        fail(column, exc.reason + (f" (got {_text(value)!r})" if not _is_blank(value) else ""))
        return None


def _percent(value: object, column: str, fail: Any) -> Decimal | None:
    if _is_blank(value):
        return None
    raw = _amount_input(value)
    if isinstance(raw, str):
        raw = raw.rstrip("%％").strip()
    try:
        pct = parse_amount(raw, field=column, allow_zero=True)
    except InvalidAmount as exc:
        fail(column, exc.reason + f" (got {_text(value)!r})")
        return None
    if pct > 100:
        fail(column, f"must be a percentage between 0 and 100 (got {_text(value)!r})")
        return None
    return pct


_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]00:00(?::00(?:\.0+)?)?)?$")


def _date(value: object, column: str, fail: Any) -> date | None:
    if _is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    match = _DATE.match(text) or (re.match(r"^(\d{4})(\d{2})(\d{2})$", text))
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    fail(column, f"is not a valid date (use YYYY-MM-DD; got {text!r})")
    return None


def _column_order(column: str) -> int:
    return COLUMNS.index(column) if column in COLUMNS else len(COLUMNS)
