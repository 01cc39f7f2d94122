"""The bank reconciliation statement (银行存款余额调节表): both balances adjusted for open items.

Bank side: bank balance + receipts booked only in the ledger − payments booked only in the ledger.
Ledger side: ledger balance + credits only on the bank statement − debits only on the statement.
When every open item is a timing difference the two adjusted balances agree; when they do not, a
difference exists that no open item explains, and the statement says so instead of forcing a balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from smartfin.kernel.money import from_fen
from smartfin.reconciliation.bank import BankMatchResult


@dataclass(frozen=True)
class BalanceStatement:
    """Both sides of 余额调节表 as exact yuan, and whether they agree."""

    bank_balance: Decimal
    ledger_only_receipts: Decimal
    ledger_only_payments: Decimal
    bank_adjusted: Decimal
    ledger_balance: Decimal
    bank_only_credits: Decimal
    bank_only_debits: Decimal
    ledger_adjusted: Decimal

    @property
    def balanced(self) -> bool:
        return self.bank_adjusted == self.ledger_adjusted

    @property
    def difference(self) -> Decimal:
        return self.bank_adjusted - self.ledger_adjusted


def _credits_debits(amounts: pd.Series | np.ndarray) -> tuple[int, int]:
    values = np.asarray(amounts, dtype=np.int64)
    return int(values[values > 0].sum()), int(-values[values < 0].sum())


def balance_statement(bank_balance_fen: int, ledger_balance_fen: int, unmatched_bank: pd.Series,
                      unmatched_ledger: pd.Series, match_differences: pd.Series | None = None
                      ) -> BalanceStatement:
    """Build the statement from the open items' signed fen amounts.

    ``match_differences`` (bank − ledger per match, e.g. a fee kept by the bank) are items the bank has
    booked and the ledger has not, so they adjust the ledger side like bank-only lines.
    """
    ledger_receipts, ledger_payments = _credits_debits(unmatched_ledger)
    bank_credits, bank_debits = _credits_debits(unmatched_bank)
    if match_differences is not None:
        extra_credits, extra_debits = _credits_debits(match_differences)
        bank_credits += extra_credits
        bank_debits += extra_debits
    bank_adjusted = bank_balance_fen + ledger_receipts - ledger_payments
    ledger_adjusted = ledger_balance_fen + bank_credits - bank_debits
    return BalanceStatement(
        bank_balance=from_fen(bank_balance_fen), ledger_only_receipts=from_fen(ledger_receipts),
        ledger_only_payments=from_fen(ledger_payments), bank_adjusted=from_fen(bank_adjusted),
        ledger_balance=from_fen(ledger_balance_fen), bank_only_credits=from_fen(bank_credits),
        bank_only_debits=from_fen(bank_debits), ledger_adjusted=from_fen(ledger_adjusted))


def balance_statement_for(result: BankMatchResult, bank_balance_fen: int, ledger_balance_fen: int,
                          matched_statuses: tuple[str, ...] = ("auto-matched", "resolved")
                          ) -> BalanceStatement:
    """余额调节表 from a match result: items in matches of ``matched_statuses`` count as reconciled.

    Suggestions are open items until a person confirms them, so by default they stay on the statement.
    """
    matches = result.matches[result.matches["status"].isin(matched_statuses)]
    reconciled = result.links[result.links["match_no"].isin(matches["match_no"])]
    done_bank = reconciled.loc[reconciled["side"] == "bank", "item_id"]
    done_ledger = reconciled.loc[reconciled["side"] == "ledger", "item_id"]
    open_bank = result.bank_lines.loc[~result.bank_lines["line_id"].isin(done_bank), "amount_fen"]
    open_ledger = result.ledger.loc[~result.ledger["entry_id"].isin(done_ledger), "amount_fen"]
    return balance_statement(bank_balance_fen, ledger_balance_fen, open_bank, open_ledger,
                             matches["difference_fen"])
