"""Patient prepayment (预交金) accounts: the daily close, "一日一结、一日一对".

Each day and account: opening + deposits − refunds − settlements must equal the closing balance the HIS
reports, and today's opening must equal yesterday's closing. Either failure is an exception for the day,
never a silently carried difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smartfin.reconciliation.threeway import EXCEPTION_COLUMNS, ExceptionType

MOVEMENT_KINDS = ("deposit", "refund", "settlement")


@dataclass(frozen=True)
class PrepaymentClose:
    """Per account and day: the movements, expected and reported closing; plus the exceptions."""

    days: pd.DataFrame
    exceptions: pd.DataFrame

    @property
    def balanced(self) -> bool:
        return self.exceptions.empty


def close_prepayment_days(balances: pd.DataFrame, movements: pd.DataFrame) -> PrepaymentClose:
    """Close every (account, business_date) of ``balances`` with the day's ``movements``.

    ``balances``: ``account``, ``business_date``, ``opening_fen``, ``closing_fen`` as the HIS reports them.
    ``movements``: ``account``, ``business_date``, ``kind`` (deposit/refund/settlement), ``amount_fen`` > 0.
    """
    unknown = set(movements["kind"]) - set(MOVEMENT_KINDS)
    if unknown:
        raise ValueError(f"unknown prepayment movement kinds {sorted(unknown)}; expected {MOVEMENT_KINDS}")
    sums = (movements.pivot_table(index=["account", "business_date"], columns="kind", values="amount_fen",
                                  aggfunc="sum", fill_value=0)
            .reindex(columns=list(MOVEMENT_KINDS), fill_value=0))
    days = balances.set_index(["account", "business_date"]).join(sums, how="left").fillna(0)
    days = days.rename(columns={k: f"{k}s_fen" for k in MOVEMENT_KINDS}).astype(np.int64).sort_index()
    days["expected_closing_fen"] = (days["opening_fen"] + days["deposits_fen"] - days["refunds_fen"]
                                    - days["settlements_fen"])
    days["difference_fen"] = days["closing_fen"] - days["expected_closing_fen"]
    days["previous_closing_fen"] = days.groupby(level="account")["closing_fen"].shift(1)
    days = days.reset_index()
    rows = []
    for r in days.itertuples(index=False):
        if r.difference_fen:
            rows.append({"type": ExceptionType.PREPAYMENT_IMBALANCE.value, "level": "prepayment",
                         "channel": "", "amount_fen": int(r.difference_fen),
                         "references": (str(r.account), str(r.business_date)),
                         "detail": f"opening {r.opening_fen} + deposits {r.deposits_fen} − refunds "
                                   f"{r.refunds_fen} − settlements {r.settlements_fen} = "
                                   f"{r.expected_closing_fen}, reported closing {r.closing_fen} (fen)"})
        if not pd.isna(r.previous_closing_fen) and int(r.previous_closing_fen) != r.opening_fen:
            rows.append({"type": ExceptionType.PREPAYMENT_OPENING_MISMATCH.value, "level": "prepayment",
                         "channel": "", "amount_fen": int(r.opening_fen - r.previous_closing_fen),
                         "references": (str(r.account), str(r.business_date)),
                         "detail": f"opening {r.opening_fen} differs from the previous day's closing "
                                   f"{int(r.previous_closing_fen)} (fen)"})
    exceptions = pd.DataFrame(rows, columns=list(EXCEPTION_COLUMNS))
    exceptions["amount_fen"] = exceptions["amount_fen"].astype(np.int64)
    return PrepaymentClose(days, exceptions)
