"""Statement parsers: bank exports (CSV/Excel by column map, camt.053, MT940, OFX) and channel bills.

Every parser returns the same canonical frame (see :mod:`extractors.statements.canonical`), so the
matcher never knows which bank or format a line came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from extractors.statements.bank_table import parse_bank_table
from extractors.statements.camt053 import parse_camt053
from extractors.statements.canonical import CANONICAL_COLUMNS, SHANGHAI, Statement
from extractors.statements.channel_bills import CHANNEL_COLUMNS, parse_channel_bill
from extractors.statements.encoding import decode_text
from extractors.statements.errors import (
    CurrencyMismatch,
    DuplicateStatement,
    MissingColumns,
    NoStatementData,
    OverlappingStatement,
    StatementError,
    StatementProblem,
)
from extractors.statements.ofx import parse_ofx
from extractors.statements.swift_mt940 import parse_mt940
from extractors.statements.tabular import ColumnMap
from smartfin.kernel.text import detect_encoding

__all__ = [
    "CANONICAL_COLUMNS", "CHANNEL_COLUMNS", "SHANGHAI", "ColumnMap", "CurrencyMismatch", "DayStatements",
    "DuplicateStatement", "MissingColumns", "NoStatementData", "OverlappingStatement", "Statement",
    "StatementError", "StatementProblem", "StatementSpan", "check_new_statement", "decode_text",
    "detect_encoding", "load_day", "parse_channel_bill", "parse_statement",
]


def parse_statement(path: str | Path, *, account: str, currency: str | None = "CNY",
                    bank: str | ColumnMap | None = None, fmt: str | None = None) -> Statement:
    """Parse one statement file; the format comes from ``fmt`` or the file's content and suffix.

    ``bank`` (a column-map name such as ``icbc``, or a :class:`ColumnMap`) is needed for CSV/Excel.
    ``currency`` is the account's currency; ``None`` accepts whatever the file states.
    """
    path = Path(path)
    fmt = fmt or _sniff_format(path)
    if fmt == "camt053":
        return parse_camt053(path, account=account, currency=currency)
    if fmt == "mt940":
        return parse_mt940(path, account=account, currency=currency)
    if fmt == "ofx":
        return parse_ofx(path, account=account, currency=currency)
    if bank is None:
        raise StatementError.single(path.name, "a CSV/Excel statement needs the bank's column map")
    cmap = bank if isinstance(bank, ColumnMap) else ColumnMap.load(bank)
    return parse_bank_table(path, cmap, account=account, currency=currency)


def _sniff_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".csv"):
        return "table"
    head = path.read_bytes()[:2048].lstrip(b"\xef\xbb\xbf").lstrip()
    if b"camt.053" in head or (head.startswith(b"<?xml") and b"BkToCstmrStmt" in path.read_bytes()):
        return "camt053"
    if b"OFXHEADER" in head or b"<OFX>" in head.upper():
        return "ofx"
    if head.startswith((b":20:", b"{1:")) or b"\n:20:" in head:
        return "mt940"
    return "table"


@dataclass(frozen=True)
class StatementSpan:
    """What the store remembers of an imported statement to refuse duplicates and overlaps."""

    statement_id: str
    account: str
    fingerprint: str
    period_start: date
    period_end: date


def check_new_statement(statement: Statement, earlier: Iterable[StatementSpan]) -> None:
    """Refuse a statement already imported (same fingerprint) or overlapping an earlier one's dates.

    Overlap is refused rather than merged because two statements covering the same day would double
    every line of that day in the matcher; the clerk decides which one is right.
    """
    for span in earlier:
        if span.fingerprint == statement.fingerprint:
            raise DuplicateStatement.single(
                statement.source, f"the same statement was already imported as {span.statement_id} "
                f"(fingerprint {statement.fingerprint[:16]}…)")
        if (span.account == statement.account and span.period_start <= statement.period_end
                and statement.period_start <= span.period_end):
            raise OverlappingStatement.single(
                statement.source, f"covers {statement.period_start}–{statement.period_end}, overlapping "
                f"statement {span.statement_id} of account {span.account} "
                f"({span.period_start}–{span.period_end})")


@dataclass(frozen=True)
class DayStatements:
    """The statements found for one account and day; ``no_data`` is an outcome, not an error."""

    business_date: date
    statements: tuple[Statement, ...]
    empty_files: tuple[str, ...]

    @property
    def no_data(self) -> bool:
        return not any(len(s.lines) for s in self.statements)


def load_day(paths: Sequence[str | Path], business_date: date, *, account: str,
             currency: str | None = "CNY", bank: str | ColumnMap | None = None) -> DayStatements:
    """Parse a day's files; an empty file or no file at all yields ``no_data`` instead of silence."""
    statements: list[Statement] = []
    empty: list[str] = []
    for path in paths:
        try:
            statements.append(parse_statement(path, account=account, currency=currency, bank=bank))
        except NoStatementData:
            empty.append(Path(path).name)
    return DayStatements(business_date, tuple(statements), tuple(empty))
