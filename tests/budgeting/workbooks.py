"""Filling a compilation workbook as a department would, with openpyxl: amounts into the input cells."""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal

import openpyxl
from openpyxl.workbook.workbook import Workbook

from smartfin.budgeting.workbook import BASIC, BASIC_FIRST_INPUT, FIRST_ROW, PROJECTS, SOURCES
from smartfin.ledger.keys import FundingSource


def fill(template: bytes, basic: dict[tuple[str, FundingSource], object] | None = None,
         projects: dict[int, tuple[str | None, object, object]] | None = None,
         edit: Callable[[Workbook], None] | None = None) -> bytes:
    """The template with ``basic`` amounts by (economic code, funding source), project rows
    ``{sheet row: (project code or None for a pool row, economic code, amount)}``, then ``edit`` applied."""
    book = openpyxl.load_workbook(io.BytesIO(template))
    sheet = book[BASIC]
    rows = {sheet.cell(row=r, column=1).value: r for r in range(FIRST_ROW, sheet.max_row + 1)}
    for (code, source), amount in (basic or {}).items():
        sheet.cell(row=rows[code], column=BASIC_FIRST_INPUT + SOURCES.index(source), value=amount)
    project_sheet = book[PROJECTS]
    for row, (project, economic, amount) in (projects or {}).items():
        if project is not None:
            project_sheet.cell(row=row, column=1, value=project)
        project_sheet.cell(row=row, column=6, value=economic)
        project_sheet.cell(row=row, column=7, value=amount)
    if edit is not None:
        edit(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def cell_of(template: bytes, code: str, source: FundingSource) -> str:
    """The address of the basic-expenditure input cell of ``code`` × ``source``, e.g. ``基本支出!H5``."""
    book = openpyxl.load_workbook(io.BytesIO(template), read_only=True)
    for number, (value,) in enumerate(book[BASIC].iter_rows(min_row=FIRST_ROW, max_col=1, values_only=True),
                                      start=FIRST_ROW):
        if value == code:
            return f"{BASIC}!{openpyxl.utils.get_column_letter(BASIC_FIRST_INPUT + SOURCES.index(source))}{number}"
    raise KeyError(code)


Y = Decimal
