"""Statement download by the bank bot, then bank reconciliation: the daily flow with its portal source.

The stand-in online bank generates each account's day deterministically, so the test reads the same
day from the bank's own generator (the truth) and writes the hospital's bank journal from it: every
line but one booked in the journal (some with the bank's serial number, some without), and a cheque
written a clearing window earlier that the bank has still not paid. The flow must download the
statement in the configured format through the real bot, match the rest and report exactly those two
open items, with the 余额调节表 balanced.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import set_accounts
from recon_days import ledger_csv, write
from sqlmodel import select

from flows.bank import daily_bank_reconciliation
from portals.bank.statements import StatementBook, Transaction
from portals.money import fen_to_decimal
from smartfin.kernel.settings import get_settings
from smartfin.reconciliation import MatchSettings
from smartfin.reconciliation.models import ReconException
from smartfin.store.db import session_scope

pytestmark = pytest.mark.browser
ACCOUNT = "33010201040012345"  # the stand-in bank's basic account
CHEQUE_FEN = 123_400  # written before the day, never presented to the bank


def busy_day(book: StatementBook) -> tuple[date, tuple[Transaction, ...]]:
    """The latest past day with at least four transactions (weekends can be quiet)."""
    account = book.account(ACCOUNT)
    assert account is not None
    day = date.today() - timedelta(days=1)
    while len(book.day(account, day)) < 4:
        day -= timedelta(days=1)
    return day, book.day(account, day)


def journal_of(txns: tuple[Transaction, ...], opening_fen: int) -> tuple[str, int]:
    """The hospital's journal of the day: all but the last bank line; its balance includes the cheque."""
    rows, balance = [], opening_fen - CHEQUE_FEN
    for number, txn in enumerate(txns[:-1]):
        amount = txn.credit_fen - txn.debit_fen
        balance += amount
        reference = txn.txn_id if number % 2 == 0 else ""  # half by serial, half by amount and date
        rows.append((f"J-{txn.txn_id}", txn.booked_at.date().isoformat(), str(fen_to_decimal(amount)), reference,
                     txn.counterparty_name))
    return ledger_csv(rows, str(fen_to_decimal(balance))), balance


@pytest.mark.parametrize("fmt,bank", [("camt053", "citybank"), ("csv", "citybank"), ("xlsx", "citybank")])
def test_downloaded_statement_is_reconciled(flow_env: Path, monkeypatch: pytest.MonkeyPatch,
                                            stand_in_portals: object, fmt: str, bank: str) -> None:
    book = StatementBook()
    day, txns = busy_day(book)
    account = book.account(ACCOUNT)
    assert account is not None
    opening = book.statement(account, day, day).opening_balance_fen
    monkeypatch.setenv("SMARTFIN_STATEMENT_SOURCE", "portal")
    set_accounts(monkeypatch, json.dumps([{"account": ACCOUNT, "bank": bank, "statement_format": fmt}]))
    journal, _ = journal_of(txns, opening)
    root = get_settings().flows.recon_root / "bank" / ACCOUNT
    folder = root / day.isoformat()
    write(folder / "ledger.csv", journal)
    written = day - timedelta(days=MatchSettings().date_window_days)  # its last day as a timing item
    write(root / written.isoformat() / "ledger.csv",
          ledger_csv([("J-CHEQUE-77", written.isoformat(), str(fen_to_decimal(-CHEQUE_FEN)), "", "某某物业")], None))

    [row] = daily_bank_reconciliation(business_date=day, open_reviews=False)

    saved = sorted(p.name for p in folder.iterdir() if p.name.startswith("statement"))
    assert len(saved) == 1 and saved[0].endswith({"camt053": ".xml", "csv": ".csv", "xlsx": ".xlsx"}[fmt])
    assert row["outcome"] == "reconciled", row
    assert row["statement_lines"] == len(txns)
    assert row["auto_matched"] + row["suggested"] == len(txns) - 1
    assert row["balanced"] is True
    with session_scope() as session:
        open_items = session.exec(select(ReconException).where(ReconException.run_id == row["run_id"])).all()
        kinds = sorted((e.type, e.amount_fen) for e in open_items)
    last = txns[-1]
    assert kinds == sorted([("BANK_ONLY", last.credit_fen - last.debit_fen), ("LEDGER_ONLY", -CHEQUE_FEN)])


def test_refused_download_is_recorded_with_the_banks_reason(flow_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                            stand_in_portals: object) -> None:
    unknown = "62220000999988887"  # not an account of this online-banking user
    monkeypatch.setenv("SMARTFIN_STATEMENT_SOURCE", "portal")
    set_accounts(monkeypatch, json.dumps([{"account": unknown, "bank": "citybank"}]))
    day = date.today() - timedelta(days=1)

    [row] = daily_bank_reconciliation(business_date=day, open_reviews=False)

    assert row["outcome"] == "no_data"
    with session_scope() as session:
        [problem] = session.exec(select(ReconException).where(ReconException.run_id == row["run_id"])).all()
    assert problem.type == "NO_DATA" and "BankRefused" in problem.detail and unknown in problem.detail
