"""What finance takes away in Excel: the budget lines (``smartfin budget export``), written by
``smartfin.kernel.spreadsheet``, which neutralises every text cell so that imported text such as a line named
``=cmd|...`` is shown, never run.

This module only chooses the columns and the type of each value (money as Decimal); how a value becomes a
cell is the kernel's job.
"""

from __future__ import annotations

from collections.abc import Sequence

from smartfin.kernel.spreadsheet import Row, SpreadsheetFormat, csv_bytes, xlsx_bytes
from smartfin.ledger.report import LineRow, total

# ------------------------------------------------------------------------------------------- budget lines

BUDGET_BUCKETS = ("budget", "adjustment", "pre_encumbrance", "encumbrance", "actual", "available")
BUDGET_HEADER = ("预算项目 Budget line", "名称 Name", "控制方式 Control level", "状态 Status", "预算 Budget",
                 "调整 Adjustment", "预占 Pre-encumbrance", "占用 Encumbrance", "执行 Actual", "可用 Available")
BUDGET_SHEET = "预算执行 Budget lines"
TOTAL_LABEL = "合计 total"


def budget_lines_table(rows: Sequence[LineRow]) -> tuple[tuple[str, ...], list[Row]]:
    """The lines as ``smartfin budget show`` lists them, with the same total row; amounts stay Decimals."""
    table: list[Row] = [
        [str(row.line.key), row.line.name, row.line.control_level, row.line.status,
         *(getattr(row.balances, bucket) for bucket in BUDGET_BUCKETS)]
        for row in rows]
    table.append([TOTAL_LABEL, None, None, None, *(total(list(rows), bucket) for bucket in BUDGET_BUCKETS)])
    return BUDGET_HEADER, table


def budget_lines_export(rows: Sequence[LineRow], fmt: SpreadsheetFormat) -> bytes:
    """The budget lines as a CSV file or a one-sheet workbook."""
    header, table = budget_lines_table(rows)
    if fmt is SpreadsheetFormat.CSV:
        return csv_bytes(header, table)
    return xlsx_bytes([(BUDGET_SHEET, header, table)])
