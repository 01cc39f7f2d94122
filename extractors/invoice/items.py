"""The item table of a Chinese invoice, read by column geometry.

Each header cell (项目名称, 车牌号, 金额 …) owns the horizontal band from half-way to its left neighbour to
half-way to its right neighbour; every value goes to the band it overlaps most. So the plate number and
travel dates of a toll-road invoice stay in their own columns instead of being glued onto the amount, a
negative discount line (折扣) is an item of its own, and a line without amount, quantity or tax continues
the name of the item above (names wrapping over several lines). Tables continued on later pages or on a
sales list page (销货清单) are read the same way, one page at a time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from extractors.invoice.layout import Line

# header text (compact, no spaces) → column; longer texts are tried first
HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("货物或应税劳务、服务名称", "货物或应税劳务名称", "货物(劳务)名称", "项目名称", "名称"),
    "spec": ("规格型号", "规格"),
    "unit": ("单位",),
    "quantity": ("数量",),
    "unit_price": ("单价",),
    "amount": ("金额",),
    "tax_rate": ("税率/征收率", "征收率", "税率"),
    "tax": ("税额",),
    "plate": ("车牌号", "车牌号码"),
    "vehicle_type": ("类型", "车辆类型"),
    "travel_from": ("通行日期起",),
    "travel_to": ("通行日期止",),
    "row_no": ("序号",),
}
TEXT_COLUMNS = ("name", "spec", "unit")  # cells that may wrap onto the next line
ROW_COLUMNS = ("amount", "quantity", "tax", "unit_price")  # a line with one of these starts an item
STOP_WORDS = ("合计", "小计", "总计", "价税合计")


_NUMBER = re.compile(r"[-¥]?\d[\d,]*(?:\.\d+)?%?|\*+")
_DATE_CELL = re.compile(r"\d{8}|\d{4}[-./年]\d{1,2}[-./月]\d{1,2}日?")
CONTENT: dict[str, re.Pattern[str]] = {  # what a column can hold; columns not listed hold any text
    "row_no": re.compile(r"\d{1,4}"),
    "quantity": _NUMBER, "unit_price": _NUMBER, "amount": _NUMBER, "tax": _NUMBER,
    "tax_rate": re.compile(r"\d+(?:\.\d+)?%|免税|不征税|\*+"),
    "travel_from": _DATE_CELL, "travel_to": _DATE_CELL,
}


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the table: its name, its header's extent, and the band values are assigned from."""

    name: str
    header_x0: float
    header_x1: float
    left: float
    right: float


_OPTIONS = sorted(((o, name) for name, opts in HEADERS.items() for o in opts), key=lambda p: -len(p[0]))


def _header_cells(text: str) -> list[tuple[str | None, int, int]]:
    """Known header words in one run of header text, left to right: (column or None, start, end).

    Tight tables print neighbouring headers without a gap (通行日期止金额), so a run may hold several.
    """
    out: list[tuple[str | None, int, int]] = []
    index = unknown = 0
    while index < len(text):
        for option, name in _OPTIONS:
            if text.startswith(option, index):
                if unknown < index:
                    out.append((None, unknown, index))
                out.append((name, index, index + len(option)))
                index += len(option)
                unknown = index
                break
        else:
            index += 1
    if unknown < len(text):
        out.append((None, unknown, len(text)))
    return out


def header_columns(line: Line) -> list[Column] | None:
    """The columns of an item-table header line, or None when the line is not one (needs 金额 and 税额)."""
    if "金额" not in line.text or "税额" not in line.text:
        return None
    cells: list[tuple[str, float, float]] = []
    for start, end in _runs(line, 1.2 * line.size):
        for name, a, b in _header_cells(line.text[start:end]):
            if name is None or any(c[0] == name for c in cells):
                name = f"other{len(cells)}"  # a column we do not read still keeps its values to itself
            cells.append((name, line.x0s[start + a], line.x1s[start + b - 1]))
    names = {c[0] for c in cells}
    if "amount" not in names or "tax" not in names:
        return None
    columns = []
    for index, (name, x0, x1) in enumerate(cells):
        left = float("-inf") if index == 0 else (cells[index - 1][2] + x0) / 2
        right = float("inf") if index == len(cells) - 1 else (x1 + cells[index + 1][1]) / 2
        columns.append(Column(name, x0, x1, left, right))
    return columns


def find_header(lines: Sequence[Line], start: int = 0) -> tuple[int, list[Column]] | None:
    """The first item-table header at or after ``start`` and its columns."""
    for index in range(start, len(lines)):
        columns = header_columns(lines[index])
        if columns is not None:
            return index, columns
    return None


def fits(column: str, text: str) -> bool:
    """Whether a column can hold the text: number columns hold numbers, a row number only digits."""
    pattern = CONTENT.get(column)
    return pattern is None or pattern.fullmatch(text) is not None


def column_of(columns: Sequence[Column], x0: float, x1: float, text: str = "") -> str:
    """The column a value belongs to: among the bands it touches that can hold it, the one it overlaps most.

    Numbers are right-aligned under centred headers, so a short amount may reach into the next column's
    band more than into its own; for numbers the header whose box holds the value's centre, else the
    header nearest to its centre or right edge, decides. A value never goes to a column it does not touch.
    """
    centre = (x0 + x1) / 2
    touched = [c for c in columns if min(x1, c.right) - max(x0, c.left) > 0 or c.left <= centre <= c.right]
    fitting = [c for c in touched if fits(c.name, text)] or touched or list(columns)
    if len(fitting) == 1:
        return fitting[0].name
    numeric = _NUMBER.fullmatch(text) is not None
    best, best_key = fitting[0].name, (float("inf"), 0.0)
    for column in fitting:
        overlap = min(x1, column.right) - max(x0, column.left)
        if not numeric or column.header_x0 - 2 <= centre <= column.header_x1 + 2:
            distance = 0.0
        else:
            distance = min(abs(centre - (column.header_x0 + column.header_x1) / 2), abs(x1 - column.header_x1))
        key = (distance, -overlap)
        if key < best_key:
            best, best_key = column.name, key
    return best


def _runs(line: Line, gap: float) -> list[tuple[int, int]]:
    """Character ranges of the line separated by gaps wider than ``gap``."""
    out: list[tuple[int, int]] = []
    start = 0
    for index in range(1, len(line.text) + 1):
        if index == len(line.text) or line.gap_before(index) > gap:
            out.append((start, index))
            start = index
    return out


def _headers_spanned(columns: Sequence[Column], x0: float, x1: float, margin: float) -> int:
    """How many header boxes the run reaches into by more than ``margin`` (touching an edge does not count)."""
    return sum(1 for c in columns if min(x1, c.header_x1) - max(x0, c.header_x0) > margin)


def _split_run(line: Line, columns: Sequence[Column], start: int, end: int,
               by_band: bool) -> list[tuple[str, int, int]] | None:
    """(column, start, end) of the values in a run printed across several columns without gaps.

    First by content: the run must read as consecutive columns' values (two 8-digit dates and an amount);
    else, when ``by_band``, character by character at the column bands; else None (keep the run whole).
    """
    text = line.text[start:end]
    x0, x1 = line.x0s[start], line.x1s[end - 1]
    hit = [i for i, c in enumerate(columns) if min(x1, c.right) - max(x0, c.left) > 0]
    # a short last value may end before its own column's band starts: the next column is a candidate too
    touched = list(columns[hit[0]:hit[-1] + 2]) if hit else []
    for size in range(len(touched), 1, -1):
        for first in range(len(touched) - size + 1):
            group = touched[first:first + size]
            if not all(c.name in CONTENT for c in group):
                continue
            match = re.fullmatch("".join(f"({CONTENT[c.name].pattern})" for c in group), text)
            if match:
                return [(c.name, start + match.start(i), start + match.end(i)) for i, c in enumerate(group, 1)]
    if not by_band:
        return None
    pieces: list[tuple[str, int, int]] = []
    for index in range(start, end):
        centre = (line.x0s[index] + line.x1s[index]) / 2
        band = next((c.name for c in columns if c.left <= centre < c.right), columns[-1].name)
        if pieces and pieces[-1][0] == band:
            pieces[-1] = (band, pieces[-1][1], index + 1)
        else:
            pieces.append((band, index, index + 1))
    return pieces


def line_cells(line: Line, columns: Sequence[Column]) -> dict[str, str]:
    """The text of one table line split into its columns (runs in the same column are joined).

    A run that reaches over the headers of two or more columns, or that its column cannot hold, is text
    printed without a gap between columns (tight toll-invoice cells: ``2018021220180212184.65``); it is
    cut into the columns' values (see ``_split_run``) instead of being given whole to one column.
    """
    cells: dict[str, str] = {}
    for start, end in _runs(line, 0.9 * line.size):
        x0, x1 = line.x0s[start], line.x1s[end - 1]
        text = line.text[start:end]
        name = column_of(columns, x0, x1, text)
        fitting = fits(name, text)
        split = None
        if not fitting or _headers_spanned(columns, x0, x1, 0.5 * line.size) >= 2:
            split = _split_run(line, columns, start, end, by_band=not fitting)
        parts = [(column, line.text[a:b]) for column, a, b in split] if split else [(name, text)]
        for column, piece in parts:
            cells[column] = cells.get(column, "") + piece
    return cells


def is_stop_line(line: Line) -> bool:
    """合计 / 小计 / 总计 / 价税合计 end the item rows (letter-spaced 合 计 included, as text has no spaces)."""
    return line.text.startswith(STOP_WORDS)


def read_rows(lines: Sequence[Line]) -> list[dict[str, str]]:
    """Item rows of every table found in ``lines`` (one page); a line without amount continues the item above.

    A table ends at its 合计 / 小计 / 总计 / 价税合计 line.
    """
    rows: list[dict[str, str]] = []
    position = 0
    while True:
        header = find_header(lines, position)
        if header is None:
            return rows
        index, columns = header
        position = index + 1
        for number in range(index + 1, len(lines)):
            position = number + 1
            line = lines[number]
            if is_stop_line(line):
                break
            if not line.text:
                continue
            cells = line_cells(line, columns)
            starts_item = any(name in cells for name in ROW_COLUMNS)
            if starts_item or not rows:
                rows.append(cells)
                continue
            for name in TEXT_COLUMNS:
                if name in cells:
                    rows[-1][name] = rows[-1].get(name, "") + cells[name]


def is_list_reference(name: str) -> bool:
    """The first page's placeholder item when the items are on a sales list: (详见销货清单)."""
    return "销货清单" in name or "详见清单" in name
