"""Payment-channel bills (WeChat Pay, Alipay, UnionPay POS) as one canonical frame.

The channels' bills are the middle leg of the hospital's three-way reconciliation; like bank exports
they are read through column maps so that a channel's format change is a data change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from extractors.statements.canonical import SHANGHAI, clean_text, parse_datetime
from extractors.statements.errors import NoStatementData, StatementError, StatementProblem
from extractors.statements.tabular import ColumnMap, amount_fen, cell, locate_columns, problem, read_rows

CHANNEL_COLUMNS: tuple[str, ...] = (
    "channel", "channel_txn_id", "order_id", "refund_id", "kind", "amount_fen", "fee_fen",
    "occurred_at", "source_row",
)
REQUIRED = ("occurred_at", "order_id", "kind", "amount")


def parse_channel_bill(path: Path, cmap: ColumnMap) -> pd.DataFrame:
    """A channel bill as rows of :data:`CHANNEL_COLUMNS`.

    ``amount_fen`` is always positive and ``kind`` says ``payment`` or ``refund``; ``fee_fen`` is the fee
    charged (negative when a refund returns the fee). A refund's ``order_id`` is the original payment's.
    """
    file = path.name
    rows = read_rows(path)
    if not any(any(clean_text(c) for c in r) for r in rows):
        raise NoStatementData([StatementProblem(file, "no bill lines: no data for this file")])
    table = locate_columns(rows, cmap, file, REQUIRED)
    records: list[dict[str, Any]] = []
    problems: list[StatementProblem] = []

    def header(canon: str) -> str:
        return table.headers[table.positions[canon]]

    for row_no, row in table.rows:
        kind_text = clean_text(cell(table, row, "kind"))
        kind = cmap.kind_values.get(kind_text)
        if kind is None:
            problems.append(StatementProblem(file, f"type {kind_text!r} is not one of "
                                             f"{sorted(cmap.kind_values)}", row_no, header("kind")))
            continue
        record: dict[str, Any] = {"source_row": row_no, "kind": kind, "channel": cmap.channel or cmap.name}
        try:
            record["occurred_at"] = parse_datetime(cell(table, row, "occurred_at"))
        except ValueError as exc:
            problems.append(problem(file, row_no, header("occurred_at"), exc))
        amount_col = "refund_amount" if kind == "refund" and "refund_amount" in table.positions else "amount"
        try:
            value = amount_fen(cell(table, row, amount_col))
            record["amount_fen"] = abs(value or 0)
        except ValueError as exc:
            problems.append(problem(file, row_no, header(amount_col), exc))
        try:
            fee = abs(amount_fen(cell(table, row, "fee"), allow_empty=True) or 0)
            record["fee_fen"] = -fee if kind == "refund" else fee
        except ValueError as exc:
            problems.append(problem(file, row_no, header("fee"), exc))
        record["order_id"] = clean_text(cell(table, row, "order_id"))
        record["channel_txn_id"] = clean_text(cell(table, row, "channel_txn_id"))
        record["refund_id"] = clean_text(cell(table, row, "refund_id")) if kind == "refund" else ""
        if not record["order_id"]:
            problems.append(StatementProblem(file, "order id is missing", row_no, header("order_id")))
        records.append(record)
    if problems:
        raise StatementError(problems)
    if not records:
        raise NoStatementData([StatementProblem(file, "no bill lines: no data for this file")])
    frame = pd.DataFrame.from_records(records)
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"]).dt.tz_convert(SHANGHAI)
    frame["amount_fen"] = frame["amount_fen"].astype("int64")
    frame["fee_fen"] = frame["fee_fen"].astype("int64")
    return frame[list(CHANNEL_COLUMNS)]
