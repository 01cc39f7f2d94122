"""Where a day's reconciliation inputs are found, and how the plain exports among them are read.

Drop-folder layout (under ``SMARTFIN_RECONCILIATION_DIR``, default ``var/reconciliation/``)::

    bank/<account>/<YYYY-MM-DD>/statement*.csv|xlsx|xml|sta|ofx   the bank's statement of that day
    bank/<account>/<YYYY-MM-DD>/ledger.csv                         bank journal (银行存款日记账) export
    three-way/<hospital>/<YYYY-MM-DD>/his.csv                      HIS payment records of the day
    three-way/<hospital>/<YYYY-MM-DD>/<channel>*.csv|xlsx          channel bills (wechat, alipay, unionpay)
    three-way/<hospital>/<YYYY-MM-DD>/cash.csv                     cash handed in per cashier
    three-way/<hospital>/<YYYY-MM-DD>/prepayment-balances.csv      patient prepayment accounts (optional)
    three-way/<hospital>/<YYYY-MM-DD>/prepayment-movements.csv

Bank statements and channel bills go through :mod:`extractors.statements` (column maps, GBK/UTF-8);
the HIS, ledger and cash exports are the hospital's own and come with fixed column names, read here
with the same encoding detection and the same exact money parsing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from extractors.statements import MissingColumns, StatementError, StatementProblem, decode_text
from extractors.statements.canonical import SHANGHAI, parse_datetime
from smartfin.kernel.money import InvalidAmount, parse_amount, to_fen

STATEMENT_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".xml", ".sta", ".mt940", ".940", ".ofx", ".qfx")
CHANNELS = ("wechat", "alipay", "unionpay")

LEDGER_COLUMNS = ("entry_id", "date", "amount", "reference", "counterparty")
HIS_COLUMNS = ("his_txn_id", "channel", "order_id", "refund_id", "kind", "amount", "occurred_at", "cashier")
CASH_COLUMNS = ("cashier", "amount")
PREPAYMENT_BALANCE_COLUMNS = ("account", "business_date", "opening", "closing")
PREPAYMENT_MOVEMENT_COLUMNS = ("account", "business_date", "kind", "amount")


def bank_day_dir(root: Path, account: str, day: date) -> Path:
    return root / "bank" / account / day.isoformat()


def three_way_day_dir(root: Path, hospital: str, day: date) -> Path:
    return root / "three-way" / hospital / day.isoformat()


def statement_files(folder: Path) -> list[Path]:
    """Statement files of a day folder, in name order (the ledger export is not one of them)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().startswith("statement")
                  and p.suffix.lower() in STATEMENT_SUFFIXES)


def channel_files(folder: Path) -> dict[str, list[Path]]:
    """Channel bill files of a three-way day folder, by channel (the file name starts with it)."""
    found: dict[str, list[Path]] = {}
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            for channel in CHANNELS:
                if path.is_file() and path.name.lower().startswith(channel) and path.suffix.lower() in (
                        ".csv", ".xlsx"):
                    found.setdefault(channel, []).append(path)
    return found


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
