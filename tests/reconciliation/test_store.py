"""Storage: duplicate statement uploads refused, and re-running a day idempotent with resolutions kept."""

from __future__ import annotations

from datetime import UTC, date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlmodel import select

from extractors.statements import DuplicateStatement, OverlappingStatement, parse_statement
from smartfin.reconciliation import match_bank, reconcile_three_way
from smartfin.reconciliation.models import Match, ReconciliationRun, ReconException
from smartfin.reconciliation.store import (
    import_statement,
    resolve_exception,
    resolve_match,
    save_bank_run,
    save_three_way_run,
)
from smartfin.store.db import make_engine, session_scope
from tests.reconciliation.test_statements import ICBC_CSV
from tests.reconciliation.test_three_way import DAY, bank, bills, his


@pytest.fixture
def engine(tmp_path: Path):
    from sqlmodel import SQLModel

    import smartfin.reconciliation.models  # noqa: F401

    eng = make_engine(f"sqlite:///{tmp_path / 'recon.db'}")
    SQLModel.metadata.create_all(eng, tables=[t for name, t in SQLModel.metadata.tables.items()
                                              if name.startswith("recon_")])
    return eng


def test_statement_store_rejects_duplicate_and_overlap(engine, tmp_path: Path) -> None:
    first = tmp_path / "a.csv"
    first.write_bytes(ICBC_CSV.encode("gbk"))
    again = tmp_path / "b.csv"
    again.write_bytes(ICBC_CSV.encode("utf-8-sig"))
    overlapping = tmp_path / "c.csv"
    overlapping.write_bytes(ICBC_CSV.replace("000124", "000999").encode("gbk"))
    with session_scope(engine) as session:
        row = import_statement(session, parse_statement(first, account="A", bank="icbc"))
        assert row.line_count == 2 and row.imported_at.tzinfo is not None
    with session_scope(engine) as session, pytest.raises(DuplicateStatement):
        import_statement(session, parse_statement(again, account="A", bank="icbc"))
    with session_scope(engine) as session, pytest.raises(OverlappingStatement):
        import_statement(session, parse_statement(overlapping, account="A", bank="icbc"))


def _bank_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    b = pd.DataFrame({"line_id": ["b1", "b2", "b3"], "amount_fen": np.array([10_000, 1_000, 1_000]),
                      "booked_at": pd.Timestamp("2024-03-01", tz="Asia/Shanghai"),
                      "reference": ["R1", "", ""], "counterparty_name": ["", "", ""]})
    ledger = pd.DataFrame({"entry_id": ["e1", "e2", "e3"], "amount_fen": np.array([10_000, 1_000, 1_000]),
                           "date": date(2024, 3, 1), "reference": ["R1", "", ""], "counterparty": ["", "", ""]})
    return b, ledger


def test_bank_rerun_is_idempotent_and_keeps_resolutions(engine) -> None:
    result = match_bank(*_bank_frames())
    with session_scope(engine) as session:
        run = save_bank_run(session, result, account="A", business_date=DAY, fingerprints=["f1"])
        run_id = run.id
        suggested = session.exec(select(Match).where(Match.status == "suggested")).all()
        assert len(suggested) == 2 and run.auto_matched_count == 1
        resolve_match(session, suggested[0].id, by="zhang.kj", note="checked the receipt")
        resolved_key = suggested[0].match_key
    for _ in range(2):
        with session_scope(engine) as session:
            again = save_bank_run(session, match_bank(*_bank_frames()), account="A", business_date=DAY,
                                  fingerprints=["f1"])
            assert again.id == run_id
    with session_scope(engine) as session:
        assert len(session.exec(select(ReconciliationRun)).all()) == 1
        matches = session.exec(select(Match)).all()
        assert len(matches) == 3  # no duplicates after two reruns
        kept = [m for m in matches if m.status == "resolved"]
        assert len(kept) == 1 and kept[0].match_key == resolved_key and kept[0].resolved_by == "zhang.kj"
        assert kept[0].resolved_at is not None and kept[0].resolved_at.tzinfo == UTC
        assert session.get(ReconciliationRun, run_id).run_count == 3
        reason = next(m.reason for m in matches if m.rule == "reference")
        assert reason["rule"] == "reference" and reason["score"] == 100 and "reference" in reason["fields"]


def test_three_way_rerun_keeps_resolved_exception(engine) -> None:
    def run():
        return reconcile_three_way(his(("H1", "wechat", "O1", "", "payment", 1_000, "C1"),
                                       ("H2", "wechat", "O2", "", "payment", 2_000, "C1")),
                                   bills(("wechat", "W1", "O1", "", "payment", 1_000, 6)),
                                   bank(("S1", 994, "财付通支付科技有限公司")), business_date=DAY)
    with session_scope(engine) as session:
        saved = save_three_way_run(session, run(), hospital="H001", fingerprints=["x", "y"])
        exc = session.exec(select(ReconException).where(ReconException.type == "HIS_ONLY")).one()
        resolve_exception(session, exc.id, by="li.cn", resolution="channel confirmed late payment")
        assert saved.started_at.tzinfo is not None and saved.finished_at is not None
    with session_scope(engine) as session:
        save_three_way_run(session, run(), hospital="H001", fingerprints=["x", "y"])
    with session_scope(engine) as session:
        rows = session.exec(select(ReconException)).all()
        assert [(r.type, r.status, r.resolution) for r in rows] == [
            ("HIS_ONLY", "resolved", "channel confirmed late payment")]
        assert len(session.exec(select(Match)).all()) == 2
