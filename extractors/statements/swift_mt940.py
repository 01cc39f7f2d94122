"""SWIFT MT940 statements (used by banks' host-to-host channels), read with the maintained ``mt-940``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mt940

from extractors.statements.canonical import Statement, build_statement, clean_text, parse_datetime
from extractors.statements.encoding import decode_text
from extractors.statements.errors import StatementError, StatementProblem
from extractors.statements.tabular import amount_fen


def parse_mt940(path: Path, *, account: str, currency: str | None = None) -> Statement:
    """An MT940 file as a :class:`Statement`; "row" in errors is the ``:61:`` line's position.

    The file is decoded here (UTF-8 or GB18030) rather than by the library, whose guess does not know
    GBK, so Chinese ``:86:`` narratives survive.
    """
    file = path.name
    raw = path.read_bytes()
    if not raw.strip():
        build_statement([], source=file, account=account, currency=currency)
    text = decode_text(raw, file)
    try:
        parsed = mt940.parse(text)
    except Exception as exc:  # the library raises several exception types for malformed tags
        raise StatementError.single(file, f"is not a readable MT940 statement: {exc}") from None
    records: list[dict[str, Any]] = []
    problems: list[StatementProblem] = []
    for position, tx in enumerate(parsed, start=1):
        data = tx.data
        amount = data.get("amount")
        if amount is None or data.get("date") is None:
            problems.append(StatementProblem(file, "a :61: line without amount or date", position, ":61:"))
            continue
        details = clean_text(data.get("transaction_details"))
        customer_ref = clean_text(data.get("customer_reference"))
        records.append({
            "source_row": position,
            "booked_at": parse_datetime(data.get("entry_date") or data["date"]),
            "value_date": parse_datetime(data["date"]),
            "amount_fen": amount_fen(str(amount.amount)),
            "currency": amount.currency,
            "reference": customer_ref if customer_ref.upper() != "NONREF" else clean_text(
                data.get("bank_reference")),
            "counterparty_name": "",
            "counterparty_account": "",
            "memo": details or clean_text(data.get("extra_details")),
        })
    if problems:
        raise StatementError(problems)
    closing = parsed.data.get("final_closing_balance")
    opening = parsed.data.get("final_opening_balance") or parsed.data.get("opening_balance")
    return build_statement(
        records, source=file, account=account,
        currency=currency or (closing.amount.currency if closing else None),
        opening_balance_fen=amount_fen(str(opening.amount.amount)) if opening else None,
        closing_balance_fen=amount_fen(str(closing.amount.amount)) if closing else None)
