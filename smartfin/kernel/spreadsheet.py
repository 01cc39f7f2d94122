"""The one place that writes spreadsheets (CSV and xlsx): every export of the product goes through here.

Text that users and imported files put into the tables is stored as it came, so a budget line may be
named ``=cmd|' /C calc'!A0``. A spreadsheet program runs a cell that begins with ``=``, ``+``, ``-``, ``@``
(and, through them, DDE payloads such as ``|``), or with a tab or a carriage return that shifts the
next character to the front: opening the export would run the formula on the finance officer's
machine. Every text cell is therefore neutralised on the way out (the OWASP CSV-injection rule): such a
cell is prefixed with a single quote ``'``, so the spreadsheet shows it as text. Excel and WPS also read
the full-width ``＝ ＋ － ＠`` as formula starts, and both skip leading blanks, so those count too.

Only text is neutralised. The type of a value decides how it is written, never its look: a Decimal is
money and stays a number (a negative amount is a number, not a formula), a ``Percent`` is a percentage,
dates are dates. Floats are refused: by the time a float arrives the fen may already be lost.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell as XlsxCell
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.datavalidation import DataValidation

from smartfin.kernel.clock import HOSPITAL_TZ
from smartfin.kernel.money import CENT, format_yuan


@dataclass(frozen=True, slots=True)
class Percent:
    """A percentage in points, as the reports compute it: ``Percent(Decimal("45.67"))`` is 45.67 %."""

    points: Decimal


CellValue = str | int | bool | Decimal | Percent | date | datetime | None
Row = Sequence[CellValue]
UNIT_YUAN = "单位：元"


@dataclass(frozen=True)
class TitledSheet:
    """A report sheet as finance prints it: a title line, notes (period, account, as-of), the unit of its
    amounts (``单位：元``) above the table's right edge, then the table with its header frozen beneath them.

    ``name`` is the sheet's tab; ``unit`` is None for a sheet without amounts.
    """

    name: str
    title: str
    header: Sequence[str]
    rows: Iterable[Row]
    notes: Sequence[str] = ()
    unit: str | None = UNIT_YUAN

    @property
    def header_row(self) -> int:
        """The worksheet row of the header: after the title, the notes and (when it has its own line) the unit."""
        return 2 + len(self.notes) + (1 if self.unit and not self.notes else 0)


Sheet = tuple[str, Sequence[str], Iterable[Row]] | TitledSheet  # (title, header, rows), or a titled report sheet


class SpreadsheetFormat(StrEnum):
    """The formats an export can be written in; the value is also the file suffix without the dot."""

    CSV = "csv"
    XLSX = "xlsx"

    @property
    def suffix(self) -> str:
        return f".{self.value}"


class ExportRefused(ValueError):
    """An export that was not written (wrong suffix, missing folder, a file in the way): says which and why."""


class ExportExists(ExportRefused):
    """The output file exists and replacing it was not asked for."""


QUOTE = "'"
FORMULA_STARTS = frozenset("=+-@")  # compared after NFKC, which folds ＝＋－＠ and the small/super/subscript forms
SHIFTING_BLANKS = frozenset("\t\r")  # a tab or CR moves the next character to the front of the cell
MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.00%"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
EXCEL_DIGITS = 15  # Excel keeps 15 significant digits of a number
EXCEL_CELL_CHARS = 32767
# Characters an xlsx file cannot hold (XML 1.0): openpyxl refuses them; they are shown as U+FFFD instead.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SHEET_TITLE_ILLEGAL = re.compile(r"[\[\]:*?/\\]")
_BOLD = Font(bold=True)
_TITLE_FONT = Font(bold=True, size=14)


def _insignificant(char: str) -> bool:
    """Blanks and invisible format characters (zero-width space, BOM) that spreadsheets skip or hide."""
    return char.isspace() or unicodedata.category(char) == "Cf"


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet cell that is shown, never run: prefixed with ``'`` when it could start a formula.

    Dangerous: a first visible character that is ``= + - @`` (or its full-width or small form) after any
    blanks and invisible characters, and a tab or carriage return among the leading blanks. Everything
    else is returned unchanged, so ordinary text round-trips exactly.
    """
    for char in text:
        if char in SHIFTING_BLANKS:
            return QUOTE + text
        if not _insignificant(char):
            folded = unicodedata.normalize("NFKC", char)
            return QUOTE + text if folded[:1] in FORMULA_STARTS else text
    return text


def _where(sheet: str | None, row: int, heading: str) -> str:
    place = f"row {row}, column {heading!r}"
    return f"sheet {sheet!r}, {place}" if sheet is not None else place


def _refuse_type(value: object, where: str) -> TypeError:
    hint = " (a float may already have lost fen: pass a Decimal)" if isinstance(value, float) else ""
    return TypeError(f"{where}: a {type(value).__name__} cannot be written to a spreadsheet{hint}")


def _decimal_text(value: Decimal, where: str) -> str:
    """The exact digits of a Decimal, never in exponent form; money is padded to two places, never rounded."""
    if not value.is_finite():
        raise ValueError(f"{where}: {value} is not a finite number")
    if value == 0:
        value = abs(value)  # no "-0.00"
    try:
        exact_to_fen = value == value.quantize(CENT)
    except InvalidOperation:  # more digits than the decimal context holds: not money, written as it is
        exact_to_fen = False
    return format_yuan(value) if exact_to_fen else format(value, "f")


def _hospital_wall_clock(value: datetime, where: str) -> datetime:
    """Spreadsheets hold no time zone: an instant is written as the hospital's local time."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{where}: the time {value.isoformat()} has no time zone, so its hour is unknown")
    return value.astimezone(HOSPITAL_TZ).replace(tzinfo=None)


def _check_row(header: Sequence[str], row: Row, number: int, sheet: str | None) -> None:
    if len(row) != len(header):
        where = f"sheet {sheet!r}, row {number}" if sheet is not None else f"row {number}"
        raise ValueError(f"{where} has {len(row)} cells but the header has {len(header)} columns")


# ---------------------------------------------------------------------------------------------------- CSV

def _csv_text(value: CellValue, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return neutralise(str(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return _decimal_text(value, where)
    if isinstance(value, Percent):
        return _decimal_text(value.points, where) + "%"
    if isinstance(value, datetime):
        return _hospital_wall_clock(value, where).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    raise _refuse_type(value, where)


def csv_bytes(header: Sequence[str], rows: Iterable[Row]) -> bytes:
    """A CSV file as Excel on Chinese Windows opens it: UTF-8 with a BOM, CRLF, every text cell neutralised.

    Money is written as plain text with its exact digits (``1234.50``, ``-50000.00``); percentages as
    ``45.67%``; dates as ``2026-03-01``; times on the hospital's wall clock. Quotes, commas and line
    breaks inside a cell are quoted by the csv module.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_csv_text(heading, _where(None, 1, heading)) for heading in header])
    for number, row in enumerate(rows, start=2):
        _check_row(header, row, number, None)
        writer.writerow([_csv_text(value, _where(None, number, heading))
                         for heading, value in zip(header, row, strict=True)])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


# --------------------------------------------------------------------------------------------------- xlsx

def _exact_number(cell: XlsxCell, value: Decimal, text: str, where: str) -> None:
    """Write ``text``, the exact digits of ``value``, as the cell's number.

    openpyxl accepts a Decimal but writes it through float with ``"%.16g"``: 0.69 lands in the file as
    ``0.6899999999999999`` and 0.07 as ``0.07000000000000001`` (about one amount in six between 0.00
    and 1000.00). Excel happens to read those back as the same double, but other readers (pandas,
    LibreOffice, a later import) see the wrong fen. So the cell is given the exact text and typed
    numeric (``data_type = "n"``): the file holds ``<v>0.69</v>``, which every reader takes as 0.69.
    Excel keeps 15 significant digits, enough for every amount up to ``MAX_AMOUNT``; a longer number
    would be rounded by Excel, so it is refused rather than silently changed.
    """
    digits = len(value.normalize().as_tuple().digits) if value != 0 else 1
    if digits > EXCEL_DIGITS:
        raise ValueError(f"{where}: {text} has more than {EXCEL_DIGITS} significant digits, which Excel would round")
    cell.value = text
    cell.data_type = "n"


def _display_width(text: str) -> int:
    """Columns a text takes on screen: Chinese (wide and full-width) characters count two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _put(cell: XlsxCell, value: CellValue, where: str) -> str:
    """Write one value into a cell with its number format; return the text it shows (for the column width)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        cell.value = value
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        if not value:
            return ""  # an empty cell, not an empty string element
        text = _XML_ILLEGAL.sub("\ufffd", neutralise(str(value)))
        if len(text) > EXCEL_CELL_CHARS:
            raise ValueError(f"{where}: text of {len(text)} characters is longer than an Excel cell holds "
                             f"({EXCEL_CELL_CHARS})")
        cell.value = text
        # openpyxl stores any string starting with "=" as a formula (and "#N/A" and friends as errors)
        # unless the cell is typed as a string; neutralised text starts with "'" but the type is the guarantee.
        cell.data_type = "s"
        return text
    if isinstance(value, int):
        _exact_number(cell, Decimal(value), str(value), where)
        return f"{value:,}"
    if isinstance(value, Decimal):
        _exact_number(cell, value, _decimal_text(value, where), where)
        cell.number_format = MONEY_FORMAT
        return f"{value:,.2f}"
    if isinstance(value, Percent):
        fraction = value.points / 100
        _exact_number(cell, fraction, _decimal_text(fraction, where), where)
        cell.number_format = PERCENT_FORMAT
        return f"{value.points:.2f}%"
    if isinstance(value, datetime):
        local = _hospital_wall_clock(value, where)
        cell.value = local
        cell.number_format = DATETIME_FORMAT
        return f"{local:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, date):
        cell.value = value
        cell.number_format = DATE_FORMAT
        return value.isoformat()
    raise _refuse_type(value, where)


def _check_title(title: str, seen: set[str]) -> None:
    if not title.strip() or len(title) > 31 or _SHEET_TITLE_ILLEGAL.search(title) or title.startswith("'"):
        raise ValueError(f"sheet title {title!r}: Excel needs 1–31 characters without [ ] : * ? / \\ and no "
                         f"leading apostrophe")
    if title.casefold() in seen:
        raise ValueError(f"sheet title {title!r} is used twice")
    seen.add(title.casefold())


def _as_titled(spec: Sheet) -> TitledSheet:
    """A plain ``(title, header, rows)`` is a sheet without title lines: its header is row 1."""
    if isinstance(spec, TitledSheet):
        return spec
    name, header, rows = spec
    return TitledSheet(name=name, title="", header=header, rows=rows, unit=None)


def _write_heading_lines(sheet: Any, spec: TitledSheet) -> None:
    """The title (large, bold), one note per line, and the unit right-aligned above the last column."""
    if not spec.title:
        return
    where = f"sheet {spec.name!r}, title"
    _put(sheet.cell(row=1, column=1), spec.title, where)
    sheet.cell(row=1, column=1).font = _TITLE_FONT
    for offset, note in enumerate(spec.notes):
        _put(sheet.cell(row=2 + offset, column=1), note, f"sheet {spec.name!r}, note {offset + 1}")
    if spec.unit:
        unit = sheet.cell(row=spec.header_row - 1, column=max(len(spec.header), 1))
        if unit.value is not None:  # a one-column table: the unit goes beside its note
            unit = sheet.cell(row=spec.header_row - 1, column=2)
        _put(unit, spec.unit, f"sheet {spec.name!r}, unit")
        unit.alignment = Alignment(horizontal="right")


def xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    """An Excel workbook of one sheet per ``(title, header, rows)`` or ``TitledSheet``, every text cell neutralised.

    The header is bold, frozen and filterable; money is a number formatted ``#,##0.00`` holding its
    exact digits (see ``_exact_number``); a ``Percent`` is a number formatted ``0.00%``; dates and times
    are date cells; columns are as wide as their widest cell (Chinese characters count two), capped. A
    ``TitledSheet`` starts with its title, notes and unit, and its header stays frozen beneath them.
    """
    if not sheets:
        raise ValueError("a workbook needs at least one sheet")
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    seen: set[str] = set()
    for spec in map(_as_titled, sheets):
        title, header, first = spec.name, spec.header, spec.header_row if spec.title else 1
        _check_title(title, seen)
        sheet = book.create_sheet(title)
        _write_heading_lines(sheet, spec)
        widths = []
        for column, heading in enumerate(header, start=1):
            cell = sheet.cell(row=first, column=column)
            widths.append(_display_width(_put(cell, heading, _where(title, first, heading))))
            cell.font = _BOLD
        for number, row in enumerate(spec.rows, start=first + 1):
            _check_row(header, row, number, title)
            for column, (heading, value) in enumerate(zip(header, row, strict=True), start=1):
                shown = _put(sheet.cell(row=number, column=column), value, _where(title, number, heading))
                widths[column - 1] = max(widths[column - 1], _display_width(shown))
        for column, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(column)].width = min(max(width, 6) + 2, 60)
        sheet.freeze_panes = f"A{first + 1}"
        if header:
            sheet.auto_filter.ref = f"A{first}:{get_column_letter(len(header))}{max(sheet.max_row, first)}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()



def xlsx_stream_bytes(sheets: Sequence[Sheet]) -> bytes:
    """``xlsx_bytes`` for large workbooks (tens of thousands of rows): the same cells, written in openpyxl's
    write-only mode, so rows are streamed to the file instead of held as a worksheet in memory.

    Every value goes through the same ``_put`` (neutralised text, exact money, percentages, dates); what
    streaming gives up is the column widths measured from the cells — a column is as wide as its heading.
    """
    if not sheets:
        raise ValueError("a workbook needs at least one sheet")
    book = Workbook(write_only=True)
    seen: set[str] = set()
    for spec in sheets:
        if isinstance(spec, TitledSheet):
            raise ValueError(f"sheet {spec.name!r}: a streamed workbook has no title lines; use xlsx_bytes")
        title, header, rows = spec
        _check_title(title, seen)
        sheet = book.create_sheet(title)
        for column, heading in enumerate(header, start=1):
            sheet.column_dimensions[get_column_letter(column)].width = min(max(_display_width(heading), 6) + 4, 60)
        sheet.freeze_panes = "A2"
        heading_cells = []
        for heading in header:
            cell = WriteOnlyCell(sheet)
            _put(cell, heading, _where(title, 1, heading))
            cell.font = _BOLD
            heading_cells.append(cell)
        sheet.append(heading_cells)
        for number, row in enumerate(rows, start=2):
            _check_row(header, row, number, title)
            cells = []
            for heading, value in zip(header, row, strict=True):
                cell = WriteOnlyCell(sheet)
                _put(cell, value, _where(title, number, heading))
                cells.append(cell)
            sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ------------------------------------------------------------------------------------------------ forms

@dataclass(frozen=True, slots=True)
class InputRange:
    """A rectangle of cells a person fills in (``"H4:K63"``): unlocked, highlighted, with data validation —
    an ``amount`` (a decimal ≥ 0, formatted as money) or a ``list`` of the values ``choices`` names (a range
    formula such as ``='基本支出'!$A$4:$A$63``)."""

    cells: str
    kind: str = "amount"
    choices: str = ""
    error: str = ""


@dataclass(frozen=True)
class FormSheet:
    """A sheet of a workbook handed out to be filled in: labels written like every other cell (neutralised
    text, exact money), input ranges, and the sheet protected so that only the input cells can be changed."""

    title: str
    cells: Sequence[tuple[str, CellValue]]          # (coordinate, value) of every label
    inputs: Sequence[InputRange] = ()
    bold: Sequence[str] = ()                        # coordinates shown in bold (headings)
    widths: dict[str, float] | None = None          # column letter → width
    wrap: Sequence[str] = ()                        # column letters whose text wraps
    freeze: str | None = None
    very_hidden: bool = False                       # kept out of Excel's "unhide" list (a version stamp)


_INPUT_FILL_COLOUR = "FFF2CC"


def form_bytes(sheets: Sequence[FormSheet]) -> bytes:
    """A workbook to be filled in and read back (a budget template): every label cell written through the same
    ``_put`` as the exports, every input cell unlocked and validated, every sheet protected.

    Protection carries no password: it keeps honest users in the input cells; whoever reads the workbook back
    must still check what it finds (see ``smartfin.budgeting.drafts``).
    """
    if not sheets:
        raise ValueError("a workbook needs at least one sheet")
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    seen: set[str] = set()
    fill = PatternFill("solid", fgColor=_INPUT_FILL_COLOUR)
    unlocked = Protection(locked=False)
    for form in sheets:
        _check_title(form.title, seen)
        sheet = book.create_sheet(form.title)
        for coordinate, value in form.cells:
            _put(sheet[coordinate], value, f"sheet {form.title!r}, cell {coordinate}")
        for coordinate in form.bold:
            sheet[coordinate].font = _BOLD
        for column in form.wrap:
            for cell in sheet[column]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        for column, width in (form.widths or {}).items():
            sheet.column_dimensions[column].width = width
        for area in form.inputs:
            if area.kind == "amount":
                validation = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                                            allow_blank=True, showErrorMessage=True,
                                            error=area.error or "enter an amount, not negative")
            elif area.kind == "list":
                validation = DataValidation(type="list", formula1=area.choices, allow_blank=True,
                                            showErrorMessage=True, error=area.error or "choose from the list")
            else:
                raise ValueError(f"sheet {form.title!r}: unknown input kind {area.kind!r}")
            validation.add(area.cells)
            sheet.add_data_validation(validation)
            bounds = CellRange(area.cells)
            for row in sheet.iter_rows(min_row=bounds.min_row, max_row=bounds.max_row, min_col=bounds.min_col,
                                       max_col=bounds.max_col):
                for cell in row:
                    cell.protection = unlocked
                    cell.fill = fill
                    if area.kind == "amount":
                        cell.number_format = MONEY_FORMAT
        if form.freeze:
            sheet.freeze_panes = form.freeze
        sheet.protection.sheet = True
        if form.very_hidden:
            sheet.sheet_state = "veryHidden"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

# ------------------------------------------------------------------------------------------------ the file

def check_export_target(path: Path, fmt: SpreadsheetFormat, *, replace: bool = False) -> None:
    """Refuse, before any work is done, a path an export of ``fmt`` must not be written to.

    A suffix that does not match the format (an export never lands as ``report.csv`` holding xlsx bytes),
    a folder, a missing folder, and an existing file unless ``replace`` (``ExportExists``).
    """
    if path.suffix.lower() != fmt.suffix:
        raise ExportRefused(f"{path}: the {fmt.value} export must be written to a file ending in {fmt.suffix} "
                            f"(got {path.suffix or 'no suffix'}); nothing written")
    if path.is_dir():
        raise ExportRefused(f"{path} is a folder; give a file name ending in {fmt.suffix}; nothing written")
    if not path.parent.is_dir():
        raise ExportRefused(f"{path.parent}: no such folder; nothing written")
    if path.exists() and not replace:
        raise ExportExists(f"{path} already exists; nothing written")


def write_export(path: Path, data: bytes, fmt: SpreadsheetFormat, *, replace: bool = False) -> Path:
    """Write an export to ``path`` after ``check_export_target``; a refused or failed write leaves nothing
    behind and an old file untouched.

    Without ``replace`` the file is created exclusively (the existence check and the creation are one
    step), so a colleague's file that appeared meanwhile is not overwritten either; with it, the bytes go
    to a temporary file in the same folder that then takes the name in one rename.
    """
    check_export_target(path, fmt, replace=replace)
    target = path if not replace else path.with_name(f".{path.name}.{secrets.token_hex(6)}.partial")
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        raise ExportExists(f"{path} already exists; nothing written") from None
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(target, path)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return path
