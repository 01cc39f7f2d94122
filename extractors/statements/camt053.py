"""ISO 20022 camt.053 bank-to-customer statements, read with the maintained ``pycamt`` parser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pycamt.parser import Camt053Parser

from extractors.statements.canonical import Statement, build_statement, clean_text, parse_datetime
from extractors.statements.errors import StatementError, StatementProblem
from extractors.statements.tabular import amount_fen, problem

_NOT_PROVIDED = {"", "NOTPROVIDED", "NONREF"}


def parse_camt053(path: Path, *, account: str, currency: str | None = None) -> Statement:
    """A camt.053 file as a :class:`Statement`; "row" in errors is the entry's position (1-based).

    The end-to-end id is the payer's own reference and survives the bank chain, so it is preferred
    over the bank's servicer reference for matching.
    """
    file = path.name
    data = path.read_bytes()
    if not data.strip():
        build_statement([], source=file, account=account, currency=currency)
    try:
        parser = Camt053Parser(data)
        transactions = parser.get_transactions()
        info = parser.get_statement_info()
    except Exception as exc:  # the parser raises lxml and its own errors alike
        raise StatementError.single(file, f"is not a readable camt.053 document: {exc}") from None
    records: list[dict[str, Any]] = []
    problems: list[StatementProblem] = []
    for position, tx in enumerate(transactions, start=1):
        record: dict[str, Any] = {"source_row": position, "currency": tx.get("Currency")}
        try:
            record["booked_at"] = parse_datetime(tx.get("BookingDate") or tx.get("ValueDate"))
        except ValueError as exc:
            problems.append(problem(file, position, "BookgDt", exc))
        if tx.get("ValueDate"):
            try:
                record["value_date"] = parse_datetime(tx["ValueDate"])
            except ValueError as exc:
                problems.append(problem(file, position, "ValDt", exc))
        try:
            value = amount_fen(tx.get("Amount"))
            assert value is not None
            record["amount_fen"] = -abs(value) if tx.get("CreditDebitIndicator") == "DBIT" else abs(value)
        except ValueError as exc:
            problems.append(problem(file, position, "Amt", exc))
        credit = tx.get("CreditDebitIndicator") != "DBIT"
        end_to_end = clean_text(tx.get("EndToEndId"))
        record["reference"] = (end_to_end if end_to_end.upper() not in _NOT_PROVIDED
                               else clean_text(tx.get("TransactionID")))
        record["counterparty_name"] = clean_text(tx.get("DebtorName" if credit else "CreditorName"))
        record["counterparty_account"] = clean_text(tx.get("DebtorIBAN" if credit else "CreditorIBAN"))
        record["memo"] = clean_text(tx.get("RemittanceInformationFull") or tx.get("RemittanceInformation")
                                    or tx.get("AdditionalEntryInformation"))
        records.append(record)
    if problems:
        raise StatementError(problems)
    closing = None
    if info and info[-1].get("ClosingBalance") is not None:
        closing = amount_fen(str(info[-1]["ClosingBalance"]))
    opening = None
    if info and info[0].get("OpeningBalance") is not None:
        opening = amount_fen(str(info[0]["OpeningBalance"]))
    stmt_currency = currency or (info[0].get("Currency") if info else None)
    return build_statement(records, source=file, account=account, currency=stmt_currency,
                           opening_balance_fen=opening, closing_balance_fen=closing)
