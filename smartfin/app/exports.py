"""What finance takes away in Excel: the budget lines (``smartfin budget export``, ``budget show --xlsx``), the
monthly execution report (the ``budget-monthly`` flow), one line's journal (``budget journal --xlsx``) and the
lists of spending requests and claims (``request list --xlsx``, ``claim list --xlsx``), all written by
``smartfin.kernel.spreadsheet``, which neutralises every text cell so that imported text such as a line named
``=cmd|...`` is shown, never run.

This module only chooses the columns and the type of each value (money as Decimal, rates as ``Percent``,
a missing rate as an empty cell); how a value becomes a cell is the kernel's job.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from smartfin.kernel.clock import stored_instant
from smartfin.kernel.money import from_fen
from smartfin.kernel.spreadsheet import (
    CellValue,
    Percent,
    Row,
    Sheet,
    SpreadsheetFormat,
    TitledSheet,
    csv_bytes,
    xlsx_bytes,
)
from smartfin.ledger.keys import BudgetLineKey
from smartfin.ledger.models import JournalEntry
from smartfin.ledger.monitor import BALANCE_TARGET, LOW_EXECUTION, ExecutionReport
from smartfin.ledger.report import LineRow, total
from smartfin.processes.reimbursement.claims import Claim
from smartfin.processes.spending.requests import SpendingRequest

# ------------------------------------------------------------------------------------------- budget lines

BUDGET_BUCKETS = ("budget", "adjustment", "pre_encumbrance", "encumbrance", "actual", "available")
BUDGET_HEADER = ("预算项目 Budget line", "科室 Department", "名称 Name", "控制方式 Control level", "状态 Status",
                 "预算 Budget", "调整 Adjustment", "预占 Pre-encumbrance", "占用 Encumbrance", "执行 Actual",
                 "可用 Available")
BUDGET_SHEET = "预算执行 Budget lines"
TOTAL_LABEL = "合计 total"


def _code(row: LineRow) -> str:
    return row.line.department


def budget_lines_table(rows: Sequence[LineRow], department_name: Callable[[LineRow], str] = _code
                       ) -> tuple[tuple[str, ...], list[Row]]:
    """The lines as ``smartfin budget show`` lists them (the department's name beside each line, the code
    when none is given), with the same total row; amounts stay Decimals."""
    table: list[Row] = [
        [str(row.line.key), department_name(row), row.line.name, row.line.control_level, row.line.status,
         *(getattr(row.balances, bucket) for bucket in BUDGET_BUCKETS)]
        for row in rows]
    table.append([TOTAL_LABEL, None, None, None, None, *(total(list(rows), bucket) for bucket in BUDGET_BUCKETS)])
    return BUDGET_HEADER, table


def budget_lines_export(rows: Sequence[LineRow], fmt: SpreadsheetFormat,
                        department_name: Callable[[LineRow], str] = _code) -> bytes:
    """The budget lines as a CSV file or a one-sheet workbook."""
    header, table = budget_lines_table(rows, department_name)
    if fmt is SpreadsheetFormat.CSV:
        return csv_bytes(header, table)
    return xlsx_bytes([(BUDGET_SHEET, header, table)])


# ----------------------------------------------------------------------------------- the execution report

# (field of the report's frames, heading, kind): kind says how a value is written
Column = tuple[str, str, str]
MEASURES: tuple[Column, ...] = (
    ("authorised", "预算数 Budget", "money"), ("actual", "执行数 Spent", "money"),
    ("committed", "已占用 Committed", "money"), ("available", "可用 Available", "money"),
    ("execution_rate", "执行率 Execution", "percent"), ("progress", "序时进度 Time elapsed", "percent"),
    ("gap", "与序时进度差 vs time", "percent"), ("balance_rate", "结余率 Balance rate", "percent"),
    ("projected_balance_rate", "预计年末结余率 Projected balance", "percent"),
    ("behind", "慢于序时进度 Behind time", "flag"),
    ("under_40", f"低于 {LOW_EXECUTION}% Under {LOW_EXECUTION}%", "flag"),
    ("balance_over_target", f"预计结余率超 {BALANCE_TARGET}% Balance over target", "flag"),
)
LINE_COLUMNS: tuple[Column, ...] = (
    ("line", "预算项目 Budget line", "text"), ("name", "名称 Name", "text"),
    ("department_name", "科室 Department", "text"),
    ("economic_code", "经济分类 Economic code", "text"), ("funding_source", "资金来源 Funding source", "text"),
    ("project", "项目 Project", "text"), *MEASURES)
DEPARTMENT_COLUMNS: tuple[Column, ...] = (
    ("department", "科室编码 Department code", "text"),
    ("department_name", "科室 Department", "text"), ("lines", "预算项目数 Lines", "count"), *MEASURES)
PROJECT_COLUMNS: tuple[Column, ...] = (
    ("project", "项目 Project", "text"), ("lines", "预算项目数 Lines", "count"), *MEASURES)


def _missing(value: Any) -> bool:
    """None, and the NaN / NA / NaT pandas puts where a frame has no value."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _exact(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"the execution report holds {value!r} ({type(value).__name__}) where an exact Decimal belongs")


def _cell(value: Any, kind: str) -> CellValue:
    """One report value as the kernel writes it: a rate without a value (nothing authorised) is an empty cell."""
    if _missing(value):
        return None
    if kind == "percent":
        return Percent(_exact(value))
    if kind == "money":
        return _exact(value)
    if kind == "flag":
        return bool(value)
    if kind == "count":
        return int(value)
    return str(value)


def _report_notes(report: ExecutionReport) -> list[str]:
    return [f"{report.fiscal_year} 年度 fiscal year {report.fiscal_year}；截至 as of {report.as_of.isoformat()}"]


def _frame_sheet(name: str, title: str, frame: pd.DataFrame, columns: Sequence[Column],
                 report: ExecutionReport) -> Sheet:
    records = frame.to_dict("records")
    return TitledSheet(name, title, [heading for _, heading, _ in columns],
                       [[_cell(record.get(field), kind) for field, _, kind in columns] for record in records],
                       _report_notes(report))


def _summary_sheet(report: ExecutionReport) -> Sheet:
    t = report.total
    kinds = {field: kind for field, _, kind in MEASURES}
    rows: list[Row] = [["年度 Fiscal year", report.fiscal_year], ["截至 As of", report.as_of]]
    rows += [[heading, _cell(t.get(field), kinds[field])] for field, heading, _ in MEASURES]
    rows += [["预计年末结余率目标 Balance rate target (≤)", Percent(BALANCE_TARGET)],
             ["慢于序时进度的项目 Lines behind time", len(report.behind_lines)],
             [f"低于 {LOW_EXECUTION}% 的项目 Lines under {LOW_EXECUTION}%", len(report.low_lines)],
             [f"预计结余率超 {BALANCE_TARGET}% 的项目 Lines over the balance target",
              int(report.lines["balance_over_target"].sum())]]
    return TitledSheet("汇总 Summary", "预算执行情况汇总 Budget execution summary", ["指标 Measure", "数值 Value"],
                       rows, _report_notes(report))


def execution_report_xlsx(report: ExecutionReport) -> bytes:
    """The monthly execution report as a workbook: summary, lines, departments and projects, one sheet each.

    For the finance director who filters and sums in Excel what the HTML report shows: each sheet titled with
    the year and the as-of day, amounts in yuan as numbers (``#,##0.00``), rates as percentages (``0.00%``), a
    rate that cannot be computed as an empty cell, the header frozen beneath the title.
    """
    return xlsx_bytes([
        _summary_sheet(report),
        _frame_sheet("预算项目 Lines", "预算项目执行情况 Execution by budget line", report.lines, LINE_COLUMNS, report),
        _frame_sheet("科室 Departments", "科室预算执行情况 Execution by department", report.departments,
                     DEPARTMENT_COLUMNS, report),
        _frame_sheet("项目 Projects", "项目预算执行情况 Execution by project", report.projects, PROJECT_COLUMNS,
                     report),
    ])


# --------------------------------------------------------------------------- titled workbooks of the CLI

def budget_execution_xlsx(rows: Sequence[LineRow], department_name: Callable[[LineRow], str], *,
                          year: int | None, department: str | None, as_of: date) -> bytes:
    """``smartfin budget show --xlsx``: the lines of `budget show` under a title saying what they cover and when.

    The same columns and total row as ``budget export`` (so the two files agree cell for cell), with the
    title, the scope and the as-of day above them and the unit in yuan.
    """
    header, table = budget_lines_table(rows, department_name)
    scope = f"{year} 年度 fiscal year {year}" if year else "全部年度 all fiscal years"
    notes = [f"{scope}；科室 department: {department or '全部 all'}；截至 as of {as_of.isoformat()}"]
    return xlsx_bytes([TitledSheet(BUDGET_SHEET, "预算执行情况表 Budget execution", header, table, notes)])


BUCKET_LABELS = {"budget": "预算 Budget", "adjustment": "调整 Adjustment", "pre_encumbrance": "预占 Pre-encumbrance",
                 "encumbrance": "占用 Encumbrance", "actual": "执行 Actual"}
JOURNAL_HEADER = ("分录 Entry", "生效日期 Effective", "记账时间 Posted", "金额栏 Bucket", "金额 Amount",
                  "单据类型 Document type", "单据号 Document", "参考 Reference", "冲销分录 Reverses", "经办 Actor",
                  "事由 Reason")


def line_journal_rows(entries: Sequence[JournalEntry]) -> list[Row]:
    """Every entry in posting order, then the total of every bucket over all the entries listed (an adjustment
    that takes effect later is in its total, as in the journal; ``budget show`` counts it once in force)."""
    rows: list[Row] = [[entry.id, entry.effective_on, stored_instant(entry.created_at),
                        BUCKET_LABELS.get(entry.bucket, entry.bucket), from_fen(entry.amount_fen), entry.document_type,
                        entry.document_no, entry.reference or None,
                        entry.reverses, entry.actor, entry.reason or None] for entry in entries]
    for bucket, label in BUCKET_LABELS.items():
        held = sum(entry.amount_fen for entry in entries if entry.bucket == bucket)
        rows.append([None, None, None, f"{TOTAL_LABEL}: {label}", from_fen(held), None, None, None, None, None, None])
    return rows


def line_journal_xlsx(key: BudgetLineKey, name: str, department_name: str, entries: Sequence[JournalEntry],
                      *, as_of: date) -> bytes:
    """``smartfin budget journal LINE --xlsx``: one line's append-only journal, as the auditor asks for it."""
    notes = [f"预算项目 line {key}  {name}".rstrip(), f"科室 department {key.department} {department_name}；"
             f"截至 as of {as_of.isoformat()}；{len(entries)} 笔分录 entries"]
    return xlsx_bytes([TitledSheet("预算明细账 Line journal", "预算项目明细账 Budget line journal", JOURNAL_HEADER,
                                   line_journal_rows(entries), notes)])


REQUEST_HEADER = ("申请单号 Request", "申请人 Requester", "科室 Department", "科室名称 Department name",
                  "类别 Category", "预算项目 Budget line", "金额 Amount", "收款人 Payee", "用途 Purpose",
                  "状态 Status", "提交时间 Submitted", "结束时间 Closed")


def _instant(value: datetime | None) -> datetime | None:
    return None if value is None else stored_instant(value)


def request_rows(requests: Sequence[SpendingRequest], department_name: Callable[[str], str],
                 statuses: Mapping[str, str] | None = None) -> list[Row]:
    """One row per request and a total of the amounts; ``statuses`` the status each shows (``sent-back`` while
    its requester revises it), else the stored one."""
    shown = statuses or {}
    rows: list[Row] = [[r.request_no, r.requester, r.department, department_name(r.department), r.category,
                        str(r.budget_key), r.amount, r.payee, r.purpose, shown.get(r.request_no, r.status),
                        _instant(r.submitted_at),
                        _instant(r.closed_at)]
                       for r in requests]
    rows.append([TOTAL_LABEL, None, None, None, None, None, sum((r.amount for r in requests), Decimal("0.00")),
                 None, None, None, None, None])
    return rows


CLAIM_HEADER = ("报销单号 Claim", "报销人 Claimant", "科室 Department", "科室名称 Department name", "类别 Category",
                "预算项目 Budget line", "申报金额 Claimed", "应付金额 Payable", "支付方式 Payment", "状态 Status",
                "凭证号 Voucher", "提交时间 Submitted", "结束时间 Closed")


def claim_rows(claims: Sequence[Claim], department_name: Callable[[str], str],
               statuses: Mapping[str, str] | None = None) -> list[Row]:
    """One row per claim and the totals of what was claimed and what is payable (a claim not yet audited has
    no payable amount: an empty cell, counted as nothing); ``statuses`` as for ``request_rows``."""
    shown = statuses or {}
    def money(fen: int | None) -> Decimal | None:
        return None if fen is None else from_fen(fen)

    rows: list[Row] = [[c.claim_no, c.claimant, c.department, department_name(c.department), c.category,
                        str(c.budget_key), money(c.claimed_total_fen), money(c.payable_fen), c.payment_method,
                        shown.get(c.claim_no, c.status), c.voucher_no, _instant(c.submitted_at),
                        _instant(c.closed_at)] for c in claims]
    rows.append([TOTAL_LABEL, None, None, None, None, None, from_fen(sum(c.claimed_total_fen or 0 for c in claims)),
                 from_fen(sum(c.payable_fen or 0 for c in claims)), None, None, None, None, None])
    return rows


def document_list_xlsx(kind: str, header: Sequence[str], rows: Sequence[Row], *, scope: str, as_of: date) -> bytes:
    """A list of documents (``request list``, ``claim list``) as one titled sheet: ``kind`` is
    ``"requests"`` or ``"claims"``."""
    titles = {"requests": ("支出申请 Requests", "支出申请清单 Spending requests"),
              "claims": ("报销单 Claims", "报销单清单 Reimbursement claims")}
    name, title = titles[kind]
    notes = [f"{scope}；截至 as of {as_of.isoformat()}；{len(rows) - 1} 张单据 documents"]
    return xlsx_bytes([TitledSheet(name, title, header, rows, notes)])
