"""Reconciliation: bank statement ↔ ledger, HIS ↔ channel ↔ bank, patient prepayment daily close.

The matching core is pure (DataFrames in, frames and dataclasses out) so Prefect flows and tests call it
without a database; :mod:`smartfin.reconciliation.store` saves results idempotently per day.
"""

from smartfin.reconciliation.balance import BalanceStatement, balance_statement, balance_statement_for
from smartfin.reconciliation.bank import (
    BankMatchResult,
    FeeTolerance,
    MatchSettings,
    MatchStatus,
    match_bank,
)
from smartfin.reconciliation.prepayment import PrepaymentClose, close_prepayment_days
from smartfin.reconciliation.threeway import (
    ExceptionType,
    ThreeWayResult,
    ThreeWaySettings,
    reconcile_three_way,
)

__all__ = [
    "BalanceStatement", "BankMatchResult", "ExceptionType", "FeeTolerance", "MatchSettings", "MatchStatus",
    "PrepaymentClose", "ThreeWayResult", "ThreeWaySettings", "balance_statement", "balance_statement_for",
    "close_prepayment_days", "match_bank", "reconcile_three_way",
]
