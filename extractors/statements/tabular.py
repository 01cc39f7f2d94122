"""CSV and Excel exports located by column maps: header aliases (data, one JSON per bank or channel).

Each bank names its columns differently and changes them between portal versions (交易时间 vs 交易日期,
one signed amount vs 借方/贷方 columns), so the mapping lives in ``column_maps/*.json`` and a hospital
adds a bank by adding a file, not code. Title lines above the header and 合计 lines below the data are
common in these exports and are skipped.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from extractors.statements.canonical import clean_text
from extractors.statements.encoding import decode_text
from extractors.statements.errors import MissingColumns, StatementProblem
from smartfin.kernel.money import InvalidAmount, parse_amount, to_fen

COLUMN_MAPS_DIR = Path(__file__).with_name("column_maps")
HEADER_SEARCH_ROWS = 30
_FOOTER_MARKERS = ("合计", "总计", "小计", "本页合计", "共计", "总交易单数", "#")


def normalise_header(text: object) -> str:
    """Header text compared loosely: NFKC, no spaces, no unit suffix such as ``(元)``."""
    value = unicodedata.normalize("NFKC", clean_text(text)).replace(" ", "").lower()
    for suffix in ("(元)", "(人民币)", "(rmb)"):
        value = value.removesuffix(suffix)
    return value


@dataclass(frozen=True)
class ColumnMap:
    """Which file header feeds which canonical column, plus value vocabularies of one source."""

    name: str
    columns: dict[str, tuple[str, ...]]
    map_type: str = "bank"
    currency: str | None = None
    channel: str | None = None
    direction_values: dict[str, int] = field(default_factory=dict)
    currency_aliases: dict[str, str] = field(default_factory=dict)
    kind_values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnMap:
        return cls(
            name=data["name"], map_type=data.get("map_type", "bank"), currency=data.get("currency"),
            channel=data.get("channel"),
            columns={k: tuple(v) for k, v in data["columns"].items()},
            direction_values=dict(data.get("direction_values", {})),
            currency_aliases=dict(data.get("currency_aliases", {})),
            kind_values=dict(data.get("kind_values", {})),
        )

    @classmethod
    def load(cls, name_or_path: str | Path) -> ColumnMap:
        """A map by short name (``icbc``, ``wechat``) from ``column_maps/``, or from a JSON path."""
        path = Path(name_or_path)
        if not path.suffix:
            path = COLUMN_MAPS_DIR / f"{name_or_path}.json"
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


def read_rows(path: Path) -> list[list[object]]:
    """All rows of a CSV (any supported encoding) or the first sheet of an Excel workbook."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            return [list(row) for row in sheet.iter_rows(values_only=True)]
        finally:
            workbook.close()
    text = decode_text(path.read_bytes(), path.name)
    dialect: type[csv.Dialect] | csv.Dialect = csv.excel
    sample = text[:4096]
    if sample.count("\t") > sample.count(","):
        dialect = csv.excel_tab
    return [list(r) for r in csv.reader(io.StringIO(text), dialect)]


@dataclass(frozen=True)
class LocatedTable:
    """The data rows below the header and where each canonical column sits in them."""

    header_row: int
    headers: list[str]
    positions: dict[str, int]
    rows: list[tuple[int, list[object]]]


def locate_columns(rows: list[list[object]], cmap: ColumnMap, file: str,
                   required: Iterable[str]) -> LocatedTable:
    """Find the header row and each canonical column; name what is missing and what was seen.

    Each ``required`` entry lists alternatives with ``|`` and columns needed together with ``+``
    (``"amount|debit+credit"``), so the error can say every way the map would have accepted the file.
    """
    required = list(required)
    aliases = {canon: {normalise_header(a) for a in names} for canon, names in cmap.columns.items()}
    best: tuple[int, int, list[str]] | None = None
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        headers = [normalise_header(c) for c in row]
        hits = sum(1 for names in aliases.values() if names & set(headers))
        if hits and (best is None or hits > best[1]):
            best = (index, hits, headers)
    if best is None:
        seen = [clean_text(c) for c in (rows[0] if rows else []) if clean_text(c)]
        raise MissingColumns([StatementProblem(
            file, f"no header row found for column map {cmap.name!r}; first row seen: {seen}")])
    header_index, _, headers = best
    positions: dict[str, int] = {}
    for canon in cmap.columns:
        for alias in cmap.columns[canon]:
            norm = normalise_header(alias)
            if norm in headers:
                positions[canon] = headers.index(norm)
                break
    missing = []
    for need in required:
        options = need.split("|")
        if not any(all(part in positions for part in opt.split("+")) for opt in options):
            accepted = {opt: [a for part in opt.split("+") for a in cmap.columns.get(part, ())]
                        for opt in options}
            missing.append(StatementProblem(
                file, f"missing canonical column {' or '.join(options)!r} (accepted headers: {accepted}); "
                f"headers seen: {[clean_text(c) for c in rows[header_index] if clean_text(c)]}",
                header_index + 1))
    if missing:
        raise MissingColumns(missing)
    data = []
    for index in range(header_index + 1, len(rows)):
        row = rows[index]
        cells = [clean_text(c) for c in row]
        if not any(cells):
            continue
        if cells[0].startswith(_FOOTER_MARKERS):
            continue
        data.append((index + 1, list(row)))
    return LocatedTable(header_index + 1, [clean_text(c) for c in rows[header_index]], positions, data)


def cell(table: LocatedTable, row: list[object], canon: str) -> object:
    """The raw value of canonical column ``canon`` in ``row`` (None when the map has no such column)."""
    pos = table.positions.get(canon)
    if pos is None or pos >= len(row):
        return None
    return row[pos]


def amount_fen(value: object, *, allow_empty: bool = False) -> int | None:
    """A yuan cell to signed fen through :mod:`smartfin.kernel.money`; floats from Excel are read by their text.

    openpyxl yields floats for numeric cells; ``repr`` of a float read from a 2-decimal cell is its
    shortest round-tripping text, so ``Decimal(repr(x))`` recovers what the clerk typed.
    """
    if isinstance(value, float):
        value = Decimal(repr(value))
    if value is None or (isinstance(value, str) and not clean_text(value)):
        if allow_empty:
            return None
        raise InvalidAmount(value, "is missing")
    if isinstance(value, str):
        value = clean_text(value)
        if value in ("-", "--"):
            if allow_empty:
                return None
            raise InvalidAmount(value, "is missing")
    return to_fen(parse_amount(value, allow_zero=True, allow_negative=True))


def problem(file: str, row: int, column: str, exc: Exception) -> StatementProblem:
    """A located problem from a conversion failure, keeping the converter's own words."""
    reason = exc.reason if isinstance(exc, InvalidAmount) else str(exc)
    return StatementProblem(file, reason, row, column)
