"""The spreadsheets finance keeps and imports (the budget, the departments): rows located as the user sees them.

A file is CSV in UTF-8 (with or without BOM) or GBK (as Excel on a Chinese Windows saves it; the encoding is
detected), or ``.xlsx`` (the first worksheet, whose first non-empty row is the header). Headers are matched
through an ``ImportFormat``'s aliases (English and Chinese); unknown columns are refused rather than
ignored, because a misspelt column must not silently drop what it was meant to say.

Nothing here knows what a row means: the budget importer and the department importer read their rows with
``read_import_table`` and the cell readers below, and report every problem as an ``ImportIssue`` (row as the
user sees it, header = row 1; column; reason), so both imports speak the same way.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd

from smartfin.kernel.money import InvalidAmount, parse_amount
from smartfin.kernel.text import decode_chinese_text

KEY_COLUMN = "key"  # the column named in errors about the row (or the file) as a whole
ROW_COLUMN = "_row"  # the row number as the user sees it, in ``read_import_frame``'s frame

#: how a row's validation reports a problem: ``fail(column, reason)``
Fail = Callable[[str, str], None]
#: rows as ``(row number in the file, {canonical column: raw value})``
Table = list[tuple[int, dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class ImportIssue:
    """One reason a row was refused, located as the user sees the file."""

    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.reason}"


@dataclass(frozen=True)
class ImportFormat:
    """The columns one kind of import file has: canonical names, which are required, and their aliases."""

    name: str                      # named in errors: "unknown column (see the {name} format)"
    columns: tuple[str, ...]
    required: tuple[str, ...]
    aliases: dict[str, str]        # header as written (English or Chinese) → canonical column

    def canonical(self, label: str) -> str | None:
        """The canonical column a header names (as written, or in lower case); None when it names none."""
        for candidate in (label, label.lower()):
            if candidate in self.columns:
                return candidate
            if candidate in self.aliases:
                return self.aliases[candidate]
        return None

    def sort(self, issues: list[ImportIssue]) -> None:
        """Order issues by row, then by the column's place in the format (the order a person reads them)."""
        issues.sort(key=lambda issue: (issue.row, self.columns.index(issue.column) if issue.column in self.columns
                                       else len(self.columns)))


def file_bytes(source: str | Path | bytes, filename: str | None = None) -> tuple[bytes, str]:
    """The file's content and the name to report it under (an upload has only the name it was given)."""
    if isinstance(source, bytes):
        return source, filename or "upload"
    path = Path(source)
    return path.read_bytes(), filename or path.name


def read_import_table(data: bytes, name: str, layout: ImportFormat) -> tuple[Table | None, list[ImportIssue]]:
    """Rows as ``(row number in the file, {canonical column: raw value})``, plus header and layout problems.

    The table is None when the file cannot be read at all or its header is wrong; blank rows are skipped.
    """
    frame, issues = read_import_frame(data, name, layout)
    if frame is None:
        return None, issues
    columns = [c for c in frame.columns if c != ROW_COLUMN]
    table: Table = [(int(row_no), dict(zip(columns, values, strict=True)))
                    for row_no, *values in frame[[ROW_COLUMN, *columns]].itertuples(index=False, name=None)]
    return table, issues


def read_import_frame(data: bytes, name: str, layout: ImportFormat) -> tuple[pd.DataFrame | None, list[ImportIssue]]:
    """The file as one frame of raw values under canonical column names, with the row number as the user sees
    it in ``ROW_COLUMN``, plus header and layout problems: the same reading as ``read_import_table`` for files
    too large to hold one dict per row (a month's HIS charge lines).

    The frame is None when the file cannot be read at all or its header is wrong; blank rows are dropped.
    """
    if not data.strip():
        return None, [ImportIssue(1, KEY_COLUMN, "the file is empty")]
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return None, [ImportIssue(1, KEY_COLUMN, "old Excel .xls format: save the file as .xlsx or CSV")]
    if data[:4] == b"PK\x03\x04" or name.lower().endswith(".xlsx"):
        try:
            frame, first_row = _xlsx_frame(data)
        except Exception as exc:  # openpyxl raises many types for a damaged file
            return None, [ImportIssue(1, KEY_COLUMN, f"cannot read the Excel file: {exc}")]
        from_text = False
    else:
        try:
            text, _encoding = decode_chinese_text(data)
        except UnicodeDecodeError:
            return None, [ImportIssue(1, KEY_COLUMN, "the file is neither UTF-8 nor GBK text")]
        try:
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            return None, [ImportIssue(1, KEY_COLUMN, f"cannot read the CSV file: {exc}")]
        first_row, from_text = 1, True
    if frame is None:
        return None, [ImportIssue(1, KEY_COLUMN, "the file has no header row")]

    issues: list[ImportIssue] = []
    columns: list[str | None] = []
    for header in frame.columns:
        label = _normalise_header(header)
        canonical = layout.canonical(label)
        if label.lower().startswith("unnamed:") or not label:
            canonical = None  # an empty header cell; its values are checked below
        elif canonical is None:
            issues.append(ImportIssue(first_row, label, f"unknown column (see the {layout.name} format)"))
        elif canonical in columns:
            issues.append(ImportIssue(first_row, label, f"duplicate column ({canonical})"))
            canonical = None
        columns.append(canonical)
    for required in layout.required:
        if required not in columns:
            issues.append(ImportIssue(first_row, required, "required column is missing"))
    if issues:
        return None, issues

    frame.columns = pd.RangeIndex(len(columns))
    if frame.empty:
        blank = pd.DataFrame(index=frame.index, columns=frame.columns, dtype=bool)
    elif from_text:  # every cell a string: test them column by column, not one call per cell
        blank = frame.apply(lambda values: values.str.strip() == "")
    else:
        blank = frame.map(is_blank)
    named = [i for i, col in enumerate(columns) if col is not None]
    unnamed = [i for i, col in enumerate(columns) if col is None]
    keep = ~blank.all(axis=1)
    rows = pd.Series(range(first_row + 1, first_row + 1 + len(frame)), index=frame.index)
    if unnamed:
        stray = keep & ~blank[unnamed].all(axis=1)
        issues.extend(ImportIssue(int(row_no), KEY_COLUMN, "value under a column without a header")
                      for row_no in rows[stray])
    result = frame.loc[keep, named]
    result.columns = [columns[i] for i in named]
    result.insert(0, ROW_COLUMN, rows[keep])
    return result.reset_index(drop=True), issues


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
            if all(is_blank(v) for v in values):
                continue
            header, header_row = values, cells[0].row
            continue
        rows.append(values)
    workbook.close()
    if header is None:
        return None, 1
    labels = [f"Unnamed: {i}" if is_blank(h) else str(h) for i, h in enumerate(header)]
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


# ------------------------------------------------------------------------------------------- cells

def is_blank(value: object) -> bool:
    """An empty cell, whichever way CSV, pandas or Excel spell "empty"."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()


def cell_text(value: object) -> str:
    """A cell as the text the user typed: NFKC, trimmed; codes Excel turned into numbers back as digits."""
    if is_blank(value):
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
    return cell_text(value) if not isinstance(value, Decimal | int) else value


def cell_amount(value: object, column: str, fail: Fail, *, required: bool = False) -> Decimal | None:
    """Yuan with at most two decimals (``1,200,000.00`` and ``¥`` accepted); None when blank or wrong."""
    if is_blank(value) and not required:
        return None
    try:
        return parse_amount(_amount_input(value), field=column, allow_zero=True)
    except InvalidAmount as exc:
        fail(column, exc.reason + (f" (got {cell_text(value)!r})" if not is_blank(value) else ""))
        return None


def cell_percent(value: object, column: str, fail: Fail) -> Decimal | None:
    """A percentage ``5`` or ``5%`` between 0 and 100; None when blank or wrong."""
    if is_blank(value):
        return None
    raw = _amount_input(value)
    if isinstance(raw, str):
        raw = raw.rstrip("%％").strip()
    try:
        pct = parse_amount(raw, field=column, allow_zero=True)
    except InvalidAmount as exc:
        fail(column, exc.reason + f" (got {cell_text(value)!r})")
        return None
    if pct > 100:
        fail(column, f"must be a percentage between 0 and 100 (got {cell_text(value)!r})")
        return None
    return pct


_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]00:00(?::00(?:\.0+)?)?)?$")


def cell_date(value: object, column: str, fail: Fail) -> date | None:
    """``2026-01-01`` (also ``2026/1/1``, ``2026年1月1日``, ``20260101`` or an Excel date); None when blank or wrong."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value)
    match = _DATE.match(text) or (re.match(r"^(\d{4})(\d{2})(\d{2})$", text))
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    fail(column, f"is not a valid date (use YYYY-MM-DD; got {text!r})")
    return None
