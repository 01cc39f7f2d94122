"""The one shape every statement parser produces, whatever the bank or format.

Matching works on this frame only, so a new bank is a new column map, never a change to the matcher.
Amounts are signed integer fen (credit to the account positive), dates are Asia/Shanghai, references stay
strings (leading zeros matter), and Chinese text is kept exactly as the bank wrote it.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pandas as pd

from extractors.statements.errors import (
    CurrencyMismatch,
    NoStatementData,
    StatementProblem,
)
from smartfin.kernel.clock import HOSPITAL_TZ

SHANGHAI = HOSPITAL_TZ  # statements are read in the hospital's time zone

CANONICAL_COLUMNS: tuple[str, ...] = (
    "line_id", "account", "booked_at", "value_date", "amount_fen", "currency", "reference",
    "counterparty_name", "counterparty_account", "memo", "balance_fen", "source_row",
)

_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y%m%d %H:%M:%S",
    "%Y%m%d%H%M%S", "%Y年%m月%d日 %H:%M:%S", "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d",
    "%Y年%m月%d日", "%Y.%m.%d",
)


def parse_datetime(value: object) -> datetime:
    """A bank date or timestamp as an aware Asia/Shanghai datetime; ``ValueError`` when unreadable.

    Date-only values become local midnight, so that a day boundary is the hospital's, not UTC's.
    """
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value.astimezone(SHANGHAI)
    if isinstance(value, date):
        return datetime.combine(value, time(0), SHANGHAI)
    text = clean_text(value)
    if not text:
        raise ValueError("is missing")
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=SHANGHAI)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"is not a date ({text!r})") from None
    return parsed.replace(tzinfo=SHANGHAI) if parsed.tzinfo is None else parsed.astimezone(SHANGHAI)


_TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%H%M%S", "%H:%M:%S.%f")


def combine_time(booked: datetime, value: object) -> datetime:
    """The date of ``booked`` at the time of day in ``value``: for exports that split 交易日期 and 交易时间.

    An empty time keeps ``booked`` as it is; an unreadable one is a ``ValueError`` naming the text.
    """
    if isinstance(value, datetime):
        value = value.time()
    if isinstance(value, time):
        return datetime.combine(booked.date(), value, SHANGHAI)
    text = clean_text(value)
    if not text:
        return booked
    for fmt in _TIME_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt).time()
        except ValueError:
            continue
        return datetime.combine(booked.date(), parsed, SHANGHAI)
    raise ValueError(f"is not a time of day ({text!r})")


def clean_text(value: object) -> str:
    """Trimmed text with export artefacts removed, Chinese characters untouched.

    WeChat and some bank exports prefix ids with a backtick or wrap them as ``="0123"`` so that Excel
    keeps leading zeros; those wrappers are not part of the value.
    """
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = str(value).strip().replace("\u3000", " ").strip()
    if text.startswith('="') and text.endswith('"'):
        text = text[2:-1]
    return text.lstrip("`'\t").strip()


def normalise_for_fingerprint(text: str) -> str:
    """Whitespace-collapsed NFKC text: the same line re-exported with other spacing hashes alike."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


@dataclass(frozen=True)
class Statement:
    """One uploaded statement: its canonical lines and what identifies it."""

    source: str
    account: str
    currency: str
    lines: pd.DataFrame
    fingerprint: str
    opening_balance_fen: int | None = None
    closing_balance_fen: int | None = None

    @property
    def period_start(self) -> date:
        return self.lines["booked_at"].min().date()

    @property
    def period_end(self) -> date:
        return self.lines["booked_at"].max().date()

    @property
    def closing_balance(self) -> Decimal | None:
        return None if self.closing_balance_fen is None else Decimal(self.closing_balance_fen) / 100


def fingerprint_lines(account: str, lines: pd.DataFrame) -> str:
    """sha256 of the account and its normalised lines, order-independent.

    Built from the canonical values, not the bytes, so the same statement exported again as Excel
    instead of CSV (or re-encoded) is still recognised as a duplicate.
    """
    rows = sorted(
        "|".join((
            r.booked_at.strftime("%Y-%m-%dT%H:%M:%S"), str(int(r.amount_fen)), r.currency,
            normalise_for_fingerprint(r.reference), normalise_for_fingerprint(r.counterparty_account),
            normalise_for_fingerprint(r.counterparty_name), normalise_for_fingerprint(r.memo),
        ))
        for r in lines.itertuples(index=False)
    )
    digest = hashlib.sha256()
    digest.update(normalise_for_fingerprint(account).encode())
    for row in rows:
        digest.update(b"\n")
        digest.update(row.encode())
    return digest.hexdigest()


def build_statement(records: list[dict[str, Any]], *, source: str, account: str,
                    currency: str | None, opening_balance_fen: int | None = None,
                    closing_balance_fen: int | None = None) -> Statement:
    """Assemble parsed records into a :class:`Statement`, checking currency and emptiness.

    ``currency`` is the account's currency; a line in another currency is refused (with its row) rather
    than silently mixed into CNY sums.
    """
    if not records:
        raise NoStatementData([StatementProblem(source, "no statement lines: no data for this file")])
    account_currency = (currency or records[0].get("currency") or "CNY").upper()
    wrong = [StatementProblem(source, f"currency {r['currency']} differs from the account's "
                              f"currency {account_currency}", r["source_row"], "currency")
             for r in records if r.get("currency") and r["currency"].upper() != account_currency]
    if wrong:
        raise CurrencyMismatch(wrong)
    frame = pd.DataFrame.from_records(records)
    frame["account"] = account
    frame["currency"] = account_currency
    for col in ("reference", "counterparty_name", "counterparty_account", "memo"):
        frame[col] = frame[col].fillna("").astype(str) if col in frame else ""
    frame["amount_fen"] = frame["amount_fen"].astype("int64")
    frame["balance_fen"] = (frame["balance_fen"].astype("Int64") if "balance_fen" in frame
                            else pd.array([pd.NA] * len(frame), dtype="Int64"))
    frame["booked_at"] = pd.to_datetime(frame["booked_at"]).dt.tz_convert(SHANGHAI)
    if "value_date" in frame:
        frame["value_date"] = pd.to_datetime(frame["value_date"].fillna(frame["booked_at"]))
        frame["value_date"] = frame["value_date"].dt.tz_convert(SHANGHAI)
    else:
        frame["value_date"] = frame["booked_at"]
    frame["source_row"] = frame["source_row"].astype("int64")
    fingerprint = fingerprint_lines(account, frame)
    frame["line_id"] = [f"{fingerprint[:12]}:{n}" for n in frame["source_row"]]
    return Statement(source=source, account=account, currency=account_currency,
                     lines=frame[list(CANONICAL_COLUMNS)].reset_index(drop=True),
                     fingerprint=fingerprint, opening_balance_fen=opening_balance_fen,
                     closing_balance_fen=closing_balance_fen)
