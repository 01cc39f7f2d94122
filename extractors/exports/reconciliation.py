"""The hospital's own exports that feed the daily reconciliations: HIS payments, bank journal, cash, prepayments.

These come with fixed column names (unlike bank statements and channel bills, which go through the
column maps of :mod:`extractors.statements`) and are read with the same encoding detection and the same
exact money parsing. Every missing column and every unreadable amount is reported with file, row and
column, all at once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from extractors.statements import MissingColumns, StatementError, StatementProblem, decode_text
from extractors.statements.canonical import SHANGHAI, parse_datetime
from smartfin.kernel.money import InvalidAmount, parse_amount, to_fen

LEDGER_COLUMNS = ("entry_id", "date", "amount", "reference", "counterparty")
HIS_COLUMNS = ("his_txn_id", "channel", "order_id", "refund_id", "kind", "amount", "occurred_at", "cashier")
CASH_COLUMNS = ("cashier", "amount")
PREPAYMENT_BALANCE_COLUMNS = ("account", "business_date", "opening", "closing")
PREPAYMENT_MOVEMENT_COLUMNS = ("account", "business_date", "kind", "amount")


def read_export(path: Path, required: Sequence[str], *, money: Sequence[str] = ()) -> pd.DataFrame:
    """A CSV export with fixed column names (UTF-8 or GBK) as strings, money columns as int64 fen.

    Every missing column and every unreadable amount is reported with file, row and column, all at
    once; nothing is half-read.
    """
    text = decode_text(path.read_bytes(), path.name)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise MissingColumns([StatementProblem(path.name, f"empty file; expected columns {list(required)}")])
    header = [h.strip() for h in rows[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise MissingColumns([StatementProblem(
            path.name, f"missing column(s) {missing} (expected {list(required)}); headers seen: {header}", 1)])
    records = [dict(zip(header, (c.strip() for c in row), strict=False)) for row in rows[1:] if any(
        c.strip() for c in row)]
    frame = pd.DataFrame.from_records(records, columns=header).fillna("")
    problems: list[StatementProblem] = []
    for column in money:
        fen = np.zeros(len(frame), dtype=np.int64)
        for i, value in enumerate(frame[column]):
            try:
                fen[i] = to_fen(parse_amount(value, allow_zero=True, allow_negative=True))
            except InvalidAmount as exc:
                problems.append(StatementProblem(path.name, exc.reason, i + 2, column))
        frame[f"{column}_fen"] = fen
    if problems:
        raise StatementError(problems)
    return frame


@dataclass(frozen=True)
class LedgerDay:
    """The bank journal entries exported for one account and day, and the journal's closing balance."""

    entries: pd.DataFrame
    closing_balance_fen: int | None


def read_ledger_export(path: Path) -> LedgerDay:
    """``ledger.csv``: entry_id, date, amount (signed, receipts positive), reference, counterparty and
    optionally ``balance`` (running balance; the last row's is the closing balance)."""
    frame = read_export(path, LEDGER_COLUMNS, money=("amount",))
    closing = None
    if "balance" in frame.columns and len(frame) and frame["balance"].iloc[-1]:
        closing = to_fen(parse_amount(frame["balance"].iloc[-1], allow_zero=True, allow_negative=True))
    entries = pd.DataFrame({
        "entry_id": frame["entry_id"].astype(str), "date": [parse_datetime(v).date() for v in frame["date"]],
        "amount_fen": frame["amount_fen"].astype(np.int64), "reference": frame["reference"].astype(str),
        "counterparty": frame["counterparty"].astype(str)})
    return LedgerDay(entries, closing)


def read_his_export(path: Path) -> pd.DataFrame:
    """``his.csv`` in the columns :func:`smartfin.reconciliation.reconcile_three_way` expects."""
    frame = read_export(path, HIS_COLUMNS, money=("amount",))
    kinds = set(frame["kind"]) - {"payment", "refund"}
    if kinds:
        raise StatementError.single(path.name, f"kind must be payment or refund, found {sorted(kinds)}",
                                    column="kind")
    return pd.DataFrame({
        "his_txn_id": frame["his_txn_id"], "channel": frame["channel"], "order_id": frame["order_id"],
        "refund_id": frame["refund_id"], "kind": frame["kind"], "amount_fen": frame["amount_fen"].abs(),
        "occurred_at": pd.to_datetime([parse_datetime(v) for v in frame["occurred_at"]]).tz_convert(SHANGHAI),
        "cashier": frame["cashier"]})


def read_cash_export(path: Path) -> pd.DataFrame:
    frame = read_export(path, CASH_COLUMNS, money=("amount",))
    return pd.DataFrame({"cashier": frame["cashier"], "amount_fen": frame["amount_fen"]})


def read_prepayment(balances: Path, movements: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The HIS's prepayment balances and movements for :func:`close_prepayment_days`."""
    b = read_export(balances, PREPAYMENT_BALANCE_COLUMNS, money=("opening", "closing"))
    m = read_export(movements, PREPAYMENT_MOVEMENT_COLUMNS, money=("amount",))
    return (pd.DataFrame({"account": b["account"], "business_date": b["business_date"],
                          "opening_fen": b["opening_fen"], "closing_fen": b["closing_fen"]}),
            pd.DataFrame({"account": m["account"], "business_date": m["business_date"], "kind": m["kind"],
                          "amount_fen": m["amount_fen"].abs()}))
