"""Reading back the product's titled workbooks: the table is what lies beneath the frozen header."""

from __future__ import annotations

from typing import Any

from openpyxl.utils.cell import coordinate_from_string
from openpyxl.worksheet.worksheet import Worksheet


def header_row(sheet: Worksheet) -> int:
    """The worksheet row of the header: the one just above the frozen pane (row 1 for an untitled sheet)."""
    if not sheet.freeze_panes:
        return 1
    return coordinate_from_string(sheet.freeze_panes)[1] - 1


def header(sheet: Worksheet) -> list[Any]:
    """The column names."""
    return [cell.value for cell in sheet[header_row(sheet)]]


def table_rows(sheet: Worksheet, *, cells: bool = False) -> list[tuple[Any, ...]]:
    """The rows beneath the header, as values (or as cells, to read their number formats)."""
    return list(sheet.iter_rows(min_row=header_row(sheet) + 1, values_only=not cells))
