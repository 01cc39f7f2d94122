"""Reading the HIS charge export (收费明细导出) that feeds the post-purchase review.

The export is a CSV with one charge per line: date, charge_code, charge_name, quantity, amount. Hospitals
export it from Windows tools, so it may be UTF-8 (often with a BOM) or GBK; Chinese headers are accepted
too. Bad rows never stop the import: each becomes a ``RowError`` naming the file line, the column and the
reason, so finance can correct the export or knowingly leave the row out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

from smartfin.kernel.money import InvalidAmount, parse_amount
from smartfin.kernel.text import GB18030, decode_chinese_text

COLUMNS = ("date", "charge_code", "charge_name", "quantity", "amount")
_HEADER_ALIASES = {
    "date": "date", "日期": "date", "收费日期": "date", "费用日期": "date",
    "charge_code": "charge_code", "收费编码": "charge_code", "项目编码": "charge_code",
    "收费项目编码": "charge_code",
    "charge_name": "charge_name", "收费项目名称": "charge_name", "项目名称": "charge_name",
    "收费名称": "charge_name",
    "quantity": "quantity", "数量": "quantity",
    "amount": "amount", "金额": "amount",
}
# Formats seen in HIS exports; tried in order, each on the rows the previous ones could not read.
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S",
                 "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M")


@dataclass(frozen=True)
class ChargeRow:
    """One charge line of the device. ``row`` is the line in the file (the header is line 1).

    Quantity and amount may be negative: refunds (退费) are exported as negative lines and net off.
    """

    row: int
    date: date
    charge_code: str
    charge_name: str
    quantity: Decimal
    amount: Decimal


@dataclass(frozen=True)
class RowError:
    """Why one line of the export was not read."""

    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.column}: {self.reason}"


@dataclass(frozen=True)
class ChargeExport:
    """The device's charge lines, the rows that could not be read, and how the file was decoded."""

    rows: tuple[ChargeRow, ...]
    errors: tuple[RowError, ...]
    encoding: str
    skipped_other_codes: int


def decode_export(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode the file with the given encoding, else as UTF-8 or GBK; report which ("utf-8" or "gbk")."""
    if encoding:
        return data.decode(encoding), encoding
    text, used = decode_chinese_text(data)
    return text, "gbk" if used == GB18030 else "utf-8"


def _parse_quantity(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    return value


def _parse_dates(column: pd.Series) -> pd.Series:
    parsed = pd.Series(pd.NaT, index=column.index, dtype="datetime64[ns]")
    for fmt in _DATE_FORMATS:
        missing = parsed.isna()
        if not missing.any():
            break
        parsed[missing] = pd.to_datetime(column[missing], format=fmt, errors="coerce")
    return parsed


def parse_his_charge_export(source: bytes | str | Path, charge_codes: Collection[str] | None = None, *,
                            encoding: str | None = None) -> ChargeExport:
    """Read an HIS charge export and keep the lines billed under ``charge_codes`` (all when ``None``).

    ``source`` is the file's bytes or its path. Codes stay strings: charge codes carry leading zeros.
    Lines of other codes are counted, not validated, since they belong to other departments' devices.
    """
    data = Path(source).read_bytes() if isinstance(source, str | Path) else source
    text, used_encoding = decode_export(data, encoding)
    errors: list[RowError] = []

    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return ChargeExport((), (RowError(1, "*", "empty file / 文件为空"),), used_encoding, 0)
    names = [_HEADER_ALIASES.get(h.strip().lower(), _HEADER_ALIASES.get(h.strip(), h.strip()))
             for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        return ChargeExport((), tuple(RowError(1, c, "missing column / 缺少列") for c in missing),
                            used_encoding, 0)

    records: list[list[str]] = []
    line_numbers: list[int] = []
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(names):
            errors.append(RowError(line, "*", f"expected {len(names)} fields, got {len(fields)} / 列数不符"))
            continue
        records.append([f.strip() for f in fields])
        line_numbers.append(line)

    frame = pd.DataFrame(records, columns=names, dtype=str) if records else pd.DataFrame(columns=names)
    frame["row"] = line_numbers
    frame = frame.loc[:, [*COLUMNS, "row"]]

    blank_code = frame["charge_code"] == ""
    for line in frame.loc[blank_code, "row"]:
        errors.append(RowError(int(line), "charge_code", "missing charge code / 缺少收费编码"))
    frame = frame.loc[~blank_code]
    if charge_codes is not None:
        wanted = {str(c).strip() for c in charge_codes}
        ours = frame["charge_code"].isin(wanted)
        skipped = int((~ours).sum())
        frame = frame.loc[ours]
    else:
        skipped = 0

    frame = frame.assign(parsed_date=_parse_dates(frame["date"]))
    rows: list[ChargeRow] = []
    for record in frame.itertuples(index=False):
        line = int(record.row)
        row_errors: list[RowError] = []
        if pd.isna(record.parsed_date):
            row_errors.append(RowError(line, "date", f"not a date: {record.date!r} / 日期无效"))
        try:
            quantity = _parse_quantity(record.quantity)
        except ValueError as exc:
            row_errors.append(RowError(line, "quantity", f"{exc} / 数量无效"))
        try:
            amount = parse_amount(record.amount, field="amount", allow_zero=True, allow_negative=True)
        except InvalidAmount as exc:
            row_errors.append(RowError(line, "amount", f"{exc.reason} / 金额无效"))
        if row_errors:
            errors.extend(row_errors)
            continue
        rows.append(ChargeRow(line, record.parsed_date.date(), record.charge_code, record.charge_name,
                              quantity, amount))

    errors.sort(key=lambda e: (e.row, COLUMNS.index(e.column) if e.column in COLUMNS else -1))
    return ChargeExport(tuple(rows), tuple(errors), used_encoding, skipped)

