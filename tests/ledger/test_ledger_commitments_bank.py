"""The bank payment of a voucher is found by the recorded id of its bank journal entry, on SQLite and
PostgreSQL: never by an amount another payment shares, and not once the match is written off."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from smartfin.reconciliation import match_bank
from smartfin.reconciliation.bank import MatchStatus
from smartfin.reconciliation.store import bank_matches_of_entry, resolve_match, save_bank_run
from smartfin.store.db import session_scope

DAY = date(2026, 3, 2)


def test_bank_matches_of_entry_follow_the_journal_entry_id(engine: Engine) -> None:
    ids = ["记-0042", "记-0099", "PZ-7", "PZ-70"]
    bank = pd.DataFrame({"line_id": ["L-42", "L-99", "L-7", "L-70"], "amount_fen": np.array([-50000] * 4),
                         "booked_at": pd.to_datetime([f"{DAY} 1{n}:00" for n in range(4)]).tz_localize(
                             "Asia/Shanghai"),
                         "reference": ["R-42", "R-99", "R-7", "R-70"], "counterparty_name": ["晨光文具"] * 4})
    ledger = pd.DataFrame({"entry_id": ids, "date": [DAY] * 4, "amount_fen": np.array([-50000] * 4),
                           "reference": ["R-42", "R-99", "R-7", "R-70"], "counterparty": ["晨光文具"] * 4})
    with session_scope(engine) as session:
        save_bank_run(session, match_bank(bank, ledger), account="A-1", business_date=DAY, fingerprints=["f"])
    with session_scope(engine) as session:
        found = {entry: [m.left_ids for m in bank_matches_of_entry(session, entry)] for entry in ids}
        assert found == {"记-0042": [["L-42"]], "记-0099": [["L-99"]], "PZ-7": [["L-7"]], "PZ-70": [["L-70"]]}, \
            "each entry its own line; PZ-7 is not PZ-70"
        assert bank_matches_of_entry(session, "记-0043") == [] and bank_matches_of_entry(session, "") == []
        [match] = bank_matches_of_entry(session, "PZ-7")
        resolve_match(session, match.id or 0, by="zhang.kj", status=MatchStatus.WRITTEN_OFF, note="not ours")
    with session_scope(engine) as session:
        assert bank_matches_of_entry(session, "PZ-7") == []
