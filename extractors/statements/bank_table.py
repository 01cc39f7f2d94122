"""Bank statements exported as CSV or Excel, read through a bank's column map."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from extractors.statements.canonical import Statement, build_statement, clean_text, combine_time, parse_datetime
from extractors.statements.errors import StatementError, StatementProblem
from extractors.statements.tabular import ColumnMap, amount_fen, cell, locate_columns, problem, read_rows

REQUIRED = ("booked_at", "amount|debit+credit")


def parse_bank_table(path: Path, cmap: ColumnMap, *, account: str,
                     currency: str | None = None) -> Statement:
    """Read a bank export into a :class:`Statement`; every bad cell is reported with row and column.

    Credits to the hospital's account are positive. ``currency`` is the account's currency (default:
    the column map's); lines in another currency are refused.
    """
    file = path.name
    rows = read_rows(path)
    if not any(any(clean_text(c) for c in r) for r in rows):
        build_statement([], source=file, account=account, currency=currency)
    table = locate_columns(rows, cmap, file, REQUIRED)
    records: list[dict[str, Any]] = []
    problems: list[StatementProblem] = []
    for row_no, row in table.rows:
        record: dict[str, Any] = {"source_row": row_no}
        try:
            record["booked_at"] = parse_datetime(cell(table, row, "booked_at"))
        except ValueError as exc:
            problems.append(problem(file, row_no, table.headers[table.positions["booked_at"]], exc))
        if "booked_time" in table.positions and "booked_at" in record:
            try:
                record["booked_at"] = combine_time(record["booked_at"], cell(table, row, "booked_time"))
            except ValueError as exc:
                problems.append(problem(file, row_no, table.headers[table.positions["booked_time"]], exc))
        if "value_date" in table.positions and clean_text(cell(table, row, "value_date")):
            try:
                record["value_date"] = parse_datetime(cell(table, row, "value_date"))
            except ValueError as exc:
                problems.append(problem(file, row_no, table.headers[table.positions["value_date"]], exc))
        try:
            record["amount_fen"] = _signed_amount(table, row, cmap)
        except _CellError as exc:
            problems.append(problem(file, row_no, table.headers[table.positions[exc.canon]], exc))
        if "balance" in table.positions:
            try:
                record["balance_fen"] = amount_fen(cell(table, row, "balance"), allow_empty=True)
            except ValueError as exc:
                problems.append(problem(file, row_no, table.headers[table.positions["balance"]], exc))
        raw_currency = clean_text(cell(table, row, "currency"))
        record["currency"] = cmap.currency_aliases.get(raw_currency, raw_currency.upper()) or None
        for canon in ("reference", "counterparty_name", "counterparty_account", "memo"):
            record[canon] = clean_text(cell(table, row, canon))
        records.append(record)
    if problems:
        raise StatementError(problems)
    balances = [r.get("balance_fen") for r in records if r.get("balance_fen") is not None]
    closing = balances[-1] if balances else None
    return build_statement(records, source=file, account=account, currency=currency or cmap.currency,
                           closing_balance_fen=closing)


class _CellError(ValueError):
    """A conversion failure remembering which canonical column it came from."""

    def __init__(self, canon: str, message: str) -> None:
        self.canon = canon
        super().__init__(message)


def _fen(table: Any, row: list[object], canon: str, allow_empty: bool = False) -> int | None:
    try:
        return amount_fen(cell(table, row, canon), allow_empty=allow_empty)
    except ValueError as exc:
        raise _CellError(canon, getattr(exc, "reason", str(exc))) from None


def _signed_amount(table: Any, row: list[object], cmap: ColumnMap) -> int:
    """One signed fen amount from a signed column, amount + direction, or separate debit/credit."""
    if "amount" in table.positions:
        value = _fen(table, row, "amount") or 0
        if "direction" in table.positions:
            mark = clean_text(cell(table, row, "direction"))
            if mark not in cmap.direction_values:
                raise _CellError("direction", f"direction {mark!r} is not one of {sorted(cmap.direction_values)}")
            value = abs(value) * cmap.direction_values[mark]
        return value
    credit = _fen(table, row, "credit", allow_empty=True) or 0
    debit = _fen(table, row, "debit", allow_empty=True) or 0
    if credit and debit:
        raise _CellError("credit", "both debit and credit are filled")
    if not credit and not debit:
        raise _CellError("credit", "neither debit nor credit is filled")
    return abs(credit) - abs(debit)
