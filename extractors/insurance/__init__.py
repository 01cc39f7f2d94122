"""Medical-insurance files in, canonical frames out: HIS settlement records, the platform's detail and daily
totals, the fund's monthly clearing statement with its refused and deducted items, DRG/DIP group settlements.

Each source names its columns differently and renames them between versions, so the headers live in
``column_maps/*.json`` (one map per kind, with aliases; a hospital passes its own map for another HIS). Files
come in UTF-8 or GBK (``extractors.statements.encoding``), as CSV or Excel; the header row is found like a
bank statement's (``extractors.statements.tabular``). A month holds about 300,000 settlements, so cells are
converted column by column (pandas string operations, integer arithmetic for yuan → fen) rather than row
by row. Every malformed cell is named by file, row and column, all of them together, and the file is then
refused whole: nothing is half-read.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from extractors.statements.encoding import decode_text
from extractors.statements.errors import StatementError, StatementProblem
from extractors.statements.tabular import HEADER_SEARCH_ROWS, ColumnMap, locate_columns, normalise_header

COLUMN_MAPS_DIR = Path(__file__).with_name("column_maps")
COMPONENTS = ("total", "pooled", "personal_account", "cash", "serious_illness", "assistance")
_FOOTER = ("合计", "总计", "小计", "共计", "#")


class InsuranceFileError(StatementError):
    """An insurance file that cannot be accepted; ``problems`` names every file/row/column and reason."""


@dataclass(frozen=True)
class FileKind:
    """What one kind of file must hold and how each canonical column is converted."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    months: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    integers: tuple[str, ...] = ()
    decimals: tuple[str, ...] = ()


_SETTLEMENT = ("settled_on", "settlement_id", "insured_id", "insurance_type", "medical_category", *COMPONENTS)
KINDS: dict[str, FileKind] = {
    "his": FileKind("his", (*_SETTLEMENT, "patient_id", "department"), ("reverses",), COMPONENTS,
                    ("settled_on",), codes=("insurance_type", "medical_category")),
    "platform": FileKind("platform", _SETTLEMENT, ("reverses",), COMPONENTS, ("settled_on",),
                         codes=("insurance_type", "medical_category")),
    "platform_total": FileKind("platform_total", ("settled_on", "insurance_type", "medical_category", "count",
                                                  *COMPONENTS), (), COMPONENTS, ("settled_on",),
                               codes=("insurance_type", "medical_category"), integers=("count",)),
    "clearing": FileKind("clearing", ("hospital", "month", "insurance_type", "statement_no", "issued_on",
                                      "declared", "approved", "refused", "deducted", "retained", "disbursed"),
                         (), ("declared", "approved", "refused", "deducted", "retained", "disbursed"),
                         ("issued_on",), ("month",), ("insurance_type",)),
    "clearing_items": FileKind("clearing_items", ("statement_no", "kind", "settlement_id", "department",
                                                  "item_code", "item_name", "amount", "reason_code", "reason"),
                               (), ("amount",), codes=("kind",)),
    "group": FileKind("group", ("month", "case_id", "settlement_id", "insurance_type", "department", "method",
                                "group_code", "weight", "rate", "payment", "charge"), (), ("payment", "charge"),
                      months=("month",), codes=("insurance_type", "method"), decimals=("weight", "rate")),
}


@dataclass(frozen=True)
class InsuranceFile:
    """One file read: canonical columns (amounts as ``<name>_fen`` int64), ``source_row``, the sha256."""

    kind: str
    file: str
    fingerprint: str
    rows: pd.DataFrame


def column_map(kind: str, override: str | Path | ColumnMap | None = None) -> ColumnMap:
    """The shipped column map of ``kind``, or the hospital's own (a map, a JSON path or a map name)."""
    if isinstance(override, ColumnMap):
        return override
    if override is not None:
        path = Path(override)
        return ColumnMap.load(path if path.suffix else COLUMN_MAPS_DIR / f"{override}.json")
    return ColumnMap.load(COLUMN_MAPS_DIR / f"{kind}.json")


def _grid(data: bytes, file: str) -> pd.DataFrame:
    if data[:4] == b"PK\x03\x04":  # an xlsx workbook is a zip
        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            rows = [["" if v is None else str(v) for v in row]
                    for row in workbook.worksheets[0].iter_rows(values_only=True)]
        finally:
            workbook.close()
        width = max((len(r) for r in rows), default=0)
        return pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=object)
    text = decode_text(data, file)
    sample = text[:4096]
    sep = "\t" if sample.count("\t") > sample.count(",") else ","
    width = max((len(r) for r in csv.reader(io.StringIO(sample), delimiter=sep)), default=1)
    # na_filter off: every cell stays text, a short row's missing cells are "" (no NaN pass over the frame)
    return pd.read_csv(io.StringIO(text), sep=sep, header=None, dtype=object, keep_default_na=False,
                       na_filter=False, names=range(max(width, 1)), engine="c", quoting=csv.QUOTE_MINIMAL)


def _clean(values: pd.Series, wrapped: bool) -> pd.Series:
    """Trimmed cell texts. List comprehensions, not ``.str``: pandas' string accessor costs about a
    microsecond a cell, fifty times a plain ``str.strip`` loop, and a month has millions of cells.

    ``wrapped`` says the file holds Excel's text wrappers somewhere (``="0123"``, a leading backtick, used to
    keep leading zeros of ids); they are not part of the value. Files without them skip that pass.
    """
    text = [str(v).strip() for v in values.tolist()]
    if wrapped:
        text = [t[2:-1] if t.startswith('="') and t.endswith('"') else t.removeprefix("`") for t in text]
    return pd.Series(np.array(text, dtype=object), index=values.index, dtype=object)


_WIDTH = 24  # characters an amount cell may have (a yuan amount of 15 digits with separators fits)
_POW10 = 10 ** np.arange(19, dtype=np.int64)


def amounts_fen(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Yuan texts (``1,234.50``, ``-3.1``, ``¥12``) to int64 fen, and the mask of cells that are no amount.

    Exact integer arithmetic on the characters themselves: each cell becomes a row of code points (as wide
    as the column's longest cell) and the digits are weighed by their place (hundreds of fen before the
    point, tens and units after it), so there is no float anywhere and no per-cell Python call.
    """
    if not len(values):
        return pd.Series([], index=values.index, dtype=np.int64), pd.Series([], index=values.index, dtype=bool)
    cells = values.to_numpy(dtype=object).astype(str)
    width = cells.dtype.itemsize // 4
    too_long = np.zeros(len(cells), dtype=bool)
    if width > _WIDTH:
        too_long = np.char.str_len(cells) > _WIDTH
        cells, width = cells.astype(f"U{_WIDTH}"), _WIDTH
    codes = cells.view(np.uint32).reshape(len(cells), width)
    digit = (codes >= 48) & (codes <= 57)
    dot = codes == 46
    minus = codes == 45
    ignorable = (codes == 0) | (codes == 32) | (codes == 44) | (codes == 0xA5) | (codes == 0xFFE5)
    columns = np.arange(width)
    has_dot = dot.any(axis=1)
    has_minus = minus.any(axis=1)
    dot_at = np.where(has_dot, dot.argmax(axis=1), width)[:, None]
    first_digit = np.where(digit.any(axis=1), digit.argmax(axis=1), width)
    whole = digit & (columns < dot_at)
    fraction = digit & (columns > dot_at)
    n_whole = whole.sum(axis=1, dtype=np.int8)
    n_fraction = fraction.sum(axis=1, dtype=np.int8)
    bad = (too_long | (~(digit | dot | minus | ignorable)).any(axis=1) | (dot.sum(axis=1, dtype=np.int8) > 1)
           | (minus.sum(axis=1, dtype=np.int8) > 1) | (has_minus & (minus.argmax(axis=1) > first_digit))
           | (n_whole == 0) | (n_whole > 15) | (n_fraction > 2))
    # place of each digit: whole digits count the whole digits to their right, plus two for the fen
    right = np.cumsum(whole[:, ::-1], axis=1, dtype=np.int8)[:, ::-1] - whole
    place = np.where(whole, right + 2, np.where(fraction, 2 - np.cumsum(fraction, axis=1, dtype=np.int8), 0))
    weights = np.where(whole | fraction, _POW10[np.clip(place, 0, 18)], 0)
    fen = ((codes.astype(np.int64) - 48) * weights).sum(axis=1)
    fen = np.where(bad, 0, np.where(has_minus, -fen, fen))
    return pd.Series(fen, index=values.index, dtype=np.int64), pd.Series(bad, index=values.index)


def _by_unique(values: pd.Series, convert: Callable[[str], object]) -> tuple[pd.Series, pd.Series]:
    """Convert each distinct text once (a month has 31 dates, not 300,000); None marks a bad cell."""
    uniques = values.unique()
    mapping = {}
    for text in uniques:
        try:
            mapping[text] = convert(text)
        except (ValueError, KeyError):
            mapping[text] = None
    converted = values.map(mapping)
    return converted, converted.isna()


def parse_day(text: str) -> date:
    """``2026-11-03``, ``2026/11/03``, ``20261103``, with or without a time after it."""
    text = text.strip().split(" ")[0].split("T")[0].replace("/", "-").replace(".", "-")
    if re.fullmatch(r"\d{8}", text):
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    year, month, day = text.split("-")
    return date(int(year), int(month), int(day))


def parse_month(text: str) -> str:
    """``2026-10``, ``202610``, ``2026/10``, ``2026年10月`` → ``2026-10``."""
    found = re.fullmatch(r"(\d{4})\D?(\d{1,2})\D?", text.strip())
    if not found or not 1 <= int(found.group(2)) <= 12:
        raise ValueError(text)
    return f"{found.group(1)}-{int(found.group(2)):02d}"


def _decimal_text(text: str) -> str:
    if not re.fullmatch(r"\d{1,12}(\.\d{1,8})?", text):
        raise ValueError(text)
    return text


def read_insurance_file(data: bytes, kind: str, *, file: str,
                        cmap: str | Path | ColumnMap | None = None) -> InsuranceFile:
    """Read one file of ``kind`` (see :data:`KINDS`) into canonical columns, or refuse it with every reason."""
    spec = KINDS[kind]
    cmap = column_map(kind, cmap)
    try:
        grid = _grid(data, file)
        if grid.empty:
            raise InsuranceFileError.single(file, "is empty")
        located = locate_columns(grid.head(HEADER_SEARCH_ROWS).values.tolist(), cmap, file, spec.required)
    except InsuranceFileError:
        raise
    except StatementError as exc:  # the statement reader's refusal (encoding, columns), kept word for word
        raise InsuranceFileError(exc.problems) from None
    wrapped = b'="' in data or b"`" in data
    body = grid.iloc[located.header_row:]
    first = _clean(body.iloc[:, 0], wrapped)
    # a row is blank, or a 合计 footer, only if its first cell is empty or starts like one: look closer there
    initial = np.array(first.tolist() or [""], dtype="U1")[:len(first)]
    suspect = np.isin(initial, ["", *{f[0] for f in _FOOTER}])
    keep = np.ones(len(body), dtype=bool)
    for at in np.flatnonzero(suspect):
        cells = [str(c).strip() for c in body.iloc[at]]
        keep[at] = any(cells) and not cells[0].startswith(_FOOTER)
    body = body[keep]
    if body.empty:
        raise InsuranceFileError.single(file, f"holds no {kind} rows below its header (row {located.header_row})")
    rows = pd.DataFrame({"source_row": (body.index.to_numpy() + 1).astype(np.int64)}, index=body.index)
    headers = located.headers
    codes = {normalise_header(k): v for k, v in cmap.kind_values.items()}
    problems: list[StatementProblem] = []

    def report(mask: pd.Series, column: str, reason: Callable[[str], str], texts: pd.Series) -> None:
        for index in mask[mask].index[:50]:
            problems.append(StatementProblem(file, reason(texts[index]), int(index) + 1, column))
        if int(mask.sum()) > 50:
            problems.append(StatementProblem(file, f"and {int(mask.sum()) - 50} more bad cells", None, column))

    for canon in (*spec.required, *spec.optional):
        position = located.positions.get(canon)
        if position is None:
            rows[canon] = None
            continue
        shown = headers[position] if position < len(headers) else canon
        if canon in spec.amounts:  # amounts skip the trimming: spaces are ignored by the conversion itself
            texts = body[position]
            fen, bad = amounts_fen(texts)
            report(bad, shown, lambda t: f"{t!r} is not an amount in yuan with at most two decimals", texts)
            rows[f"{canon}_fen"] = fen
            continue
        raw = body[position]
        texts = raw if canon in (*spec.dates, *spec.months, *spec.codes, *spec.decimals) else _clean(raw, wrapped)
        if canon in spec.dates:
            rows[canon], bad = _by_unique(texts, lambda t: parse_day(str(t).strip()))
            report(bad, shown, lambda t: f"{t!r} is not a date", texts)
        elif canon in spec.months:
            rows[canon], bad = _by_unique(texts, lambda t: parse_month(str(t).strip()))
            report(bad, shown, lambda t: f"{t!r} is not a month (YYYY-MM)", texts)
        elif canon in spec.codes:
            rows[canon], bad = _by_unique(texts, lambda t: codes[normalise_header(str(t).strip())])
            report(bad, shown, lambda t: f"{t!r} is not a known value of column map {cmap.name!r}", texts)
        elif canon in spec.integers:
            bad = pd.Series([not (t.isdigit() and len(t) < 10) for t in texts.tolist()], index=texts.index)
            rows[canon] = texts.where(~bad, "0").astype(np.int64)
            report(bad, shown, lambda t: f"{t!r} is not a count", texts)
        elif canon in spec.decimals:
            rows[canon], bad = _by_unique(texts, lambda t: _decimal_text(str(t).strip()))
            report(bad, shown, lambda t: f"{t!r} is not a decimal number", texts)
        elif canon in spec.optional:
            rows[canon] = texts.where(texts != "", None)
        else:
            bad = pd.Series(texts.to_numpy() == "", index=texts.index)
            report(bad, shown, lambda t: "is empty", texts)
            rows[canon] = texts
    if problems:
        raise InsuranceFileError(problems)
    return InsuranceFile(kind, file, hashlib.sha256(data).hexdigest(), rows.reset_index(drop=True))
