"""OFX statements (some foreign-bank and card portals), read with the maintained ``ofxtools``."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ofxtools.Parser import OFXTree

from extractors.statements.canonical import Statement, build_statement, clean_text, parse_datetime
from extractors.statements.errors import StatementError
from extractors.statements.tabular import amount_fen


def parse_ofx(path: Path, *, account: str, currency: str | None = None) -> Statement:
    """An OFX file's first bank statement as a :class:`Statement`; "row" is the STMTTRN's position."""
    file = path.name
    raw = path.read_bytes()
    if not raw.strip():
        build_statement([], source=file, account=account, currency=currency)
    try:
        tree = OFXTree()
        tree.parse(io.BytesIO(raw))
        statements = tree.convert().statements
    except Exception as exc:  # ofxtools raises its own and ElementTree errors
        raise StatementError.single(file, f"is not a readable OFX statement: {exc}") from None
    if not statements:
        build_statement([], source=file, account=account, currency=currency)
    stmt = statements[0]
    records: list[dict[str, Any]] = []
    for position, tx in enumerate(stmt.transactions, start=1):
        reference = clean_text(tx.refnum) or clean_text(tx.checknum) or clean_text(tx.fitid)
        records.append({
            "source_row": position,
            "booked_at": parse_datetime(tx.dtposted),
            "value_date": parse_datetime(tx.dtavail) if tx.dtavail else None,
            "amount_fen": amount_fen(str(tx.trnamt)),
            "currency": getattr(tx.currency, "cursym", None) or stmt.curdef,
            "reference": reference,
            "counterparty_name": clean_text(tx.name) or clean_text(getattr(tx.payee, "name", "")),
            "counterparty_account": clean_text(getattr(tx.bankacctto, "acctid", "")),
            "memo": clean_text(tx.memo),
        })
    ledger = getattr(stmt, "ledgerbal", None)
    return build_statement(
        records, source=file, account=account, currency=currency or stmt.curdef,
        closing_balance_fen=amount_fen(str(ledger.balamt)) if ledger is not None else None)
