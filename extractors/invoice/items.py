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

from extractors.invoice.layout import Line, segments

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


def _column_name(text: str) -> str | None:
    options = sorted(((o, name) for name, opts in HEADERS.items() for o in opts), key=lambda p: -len(p[0]))
    for option, name in options:
        if text == option:
            return name
    for option, name in options:
        if option in text:
            return name
    return None


def header_columns(line: Line) -> list[Column] | None:
    """The columns of an item-table header line, or None when the line is not one (needs 金额 and 税额)."""
    if "金额" not in line.text or "税额" not in line.text:
        return None
    cells: list[tuple[str, float, float]] = []
    for text, x0, x1 in segments(line, gap_factor=1.2):
        name = _column_name(text)
        if name is None or any(c[0] == name for c in cells):
            name = f"other{len(cells)}"  # a column we do not read still keeps its values to itself
        cells.append((name, x0, x1))
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


def line_cells(line: Line, columns: Sequence[Column], start: int = 0) -> dict[str, str]:
    """The text of one table line split into its columns (runs in the same column are joined)."""
    cells: dict[str, str] = {}
    for text, x0, x1 in segments(line, start, gap_factor=0.9):
        name = column_of(columns, x0, x1, text)
        cells[name] = cells.get(name, "") + text
    return cells


def is_stop_line(line: Line) -> bool:
    """合计 / 小计 / 总计 / 价税合计 end the item rows (letter-spaced 合 计 included, as text has no spaces)."""
    return line.text.startswith(STOP_WORDS)


def read_rows(lines: Sequence[Line], *, stop: Sequence[int] = ()) -> list[dict[str, str]]:
    """Item rows of every table found in ``lines`` (one page); a line without amount continues the item above.

    ``stop`` lists line indexes that end a table besides the 合计-type lines (e.g. lines with labels).
    """
    rows: list[dict[str, str]] = []
    position = 0
    stops = set(stop)
    while True:
        header = find_header(lines, position)
        if header is None:
            return rows
        index, columns = header
        position = index + 1
        for number in range(index + 1, len(lines)):
            position = number + 1
            line = lines[number]
            if number in stops or is_stop_line(line):
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
