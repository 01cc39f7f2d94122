"""An appeal's recovery, once matched to its bank receipt, is an insurance collection of the insurance types and
service month of the items it recovered: in the cash forecast's history once, beside the disbursements, and the
receipt is never counted against the settlement as well."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import smartfin.app.tables  # noqa: F401  (registers every table)
from smartfin.app.cash_sources import InsuranceLedgerReceivables
from smartfin.insurance.runs import batch_appeals, record_appeal_outcome, recovery_split, run_monthly
from smartfin.insurance.samples import generate_clearing, write_month_files
from smartfin.insurance.store import import_file
from smartfin.insurance.tables import AppealBatch, AppealStatus, ClearingItem, ReceivableEntry
from tests.insurance.conftest import HOSPITAL

MONTH = "2026-10"
RECOVERED_ON = date(2026, 12, 20)
RECEIPT_DAY = date(2026, 12, 28)


def _month(session: Session, tmp_path: Path) -> pd.DataFrame:
    sample = generate_clearing(MONTH, HOSPITAL, late=None)
    paths = write_month_files(sample, tmp_path)
    for kind in ("clearing", "clearing_items", "group"):
        import_file(session, kind, paths[kind].read_bytes(), file=paths[kind].name, period=MONTH,
                    hospital=HOSPITAL, actor="clerk")
    return sample.receipts


def test_a_matched_recovery_is_a_collection_of_its_items_types_once(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        receipts = _month(session, tmp_path)
        batch = batch_appeals(session, MONTH, actor="clerk")[0]
        items = list(session.exec(select(ClearingItem).where(ClearingItem.appeal_batch_id == batch.id)).all())
        assert len({i.insurance_type for i in items}) > 1, "the sample batch spans insurance types"
        # finance recorded half of each of the first three items (the worker passes exactly this)
        recovered = {i.id: i.amount_fen // 2 for i in items[:3] if i.id is not None}
        total = sum(recovered.values())
        record_appeal_outcome(session, batch.business_key, status=AppealStatus.RECOVERED, by="li.na",
                              recovered_fen=total, recovered_on=RECOVERED_ON, recovered_items=recovered)
        session.commit()
        expected: dict[str, int] = defaultdict(int)
        for item in items[:3]:
            expected[item.insurance_type] += item.amount_fen // 2
        source = InsuranceLedgerReceivables()
        # recorded, not yet in the bank: owed by the fund, no collection yet
        assert not [c for c in source.collections(session, RECEIPT_DAY) if c.collected_on == RECEIPT_DAY]
        owed = sum(r.outstanding_fen for r in source.receivables(session, RECOVERED_ON))

        receipt = pd.DataFrame([{"line_id": "Brec", "booked_at": RECEIPT_DAY, "reference": "YBREC1",
                                 "amount_fen": total, "memo": f"申诉追回 {batch.business_key}",
                                 "counterparty_name": "市医保基金"}])
        offered = pd.concat([receipts, receipt], ignore_index=True)
        run_monthly(session, MONTH, hospital=HOSPITAL, actor="clerk", receipts=offered)
        session.commit()
        run_monthly(session, MONTH, hospital=HOSPITAL, actor="clerk", receipts=offered)  # a rerun books nothing
        session.commit()

        stored = session.exec(select(AppealBatch).where(AppealBatch.business_key == batch.business_key)).one()
        assert stored.recovery_reference == "YBREC1"
        collections = source.collections(session, RECEIPT_DAY)
        from_recovery = [c for c in collections if c.collected_on == RECEIPT_DAY]
        assert {c.insurance_type: c.amount_fen for c in from_recovery} == dict(expected)
        assert {c.service_month for c in from_recovery} == {MONTH}
        # every bank receipt once: the disbursements and the recovery, nothing else
        assert sum(c.amount_fen for c in collections) == int(offered["amount_fen"].sum())
        assert session.exec(select(ReceivableEntry).where(ReceivableEntry.reference == "YBREC1",
                                                          ReceivableEntry.bucket == "settlement")).all() == []
        # the recovery no longer counts as owed once the bank has it
        assert sum(r.outstanding_fen for r in source.receivables(session, RECEIPT_DAY)) == owed - total


def test_a_recovery_is_recorded_once_and_split_in_whole_fen() -> None:
    items = [ClearingItem(id=1, statement_id=1, month=MONTH, insurance_type="employee", kind="refused",
                          settlement_id="S1", department="D01", item_code="X1", item_name="x", amount_fen=2,
                          reason_code="R", reason="r", source_row=1),
             ClearingItem(id=2, statement_id=2, month=MONTH, insurance_type="resident", kind="refused",
                          settlement_id="S2", department="D01", item_code="X2", item_name="x", amount_fen=1,
                          reason_code="R", reason="r", source_row=1)]
    assert recovery_split(items, 100) == {"employee": 67, "resident": 33}
    assert recovery_split(items, 1, {2: 1}) == {"resident": 1}
    with pytest.raises(ValueError, match="add up to 1 fen, not 2"):
        recovery_split(items, 2, {2: 1})
    with pytest.raises(ValueError, match="not items of the batch"):
        recovery_split(items, 1, {3: 1})


def test_a_second_recovery_of_the_same_batch_is_refused(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        _month(session, tmp_path)
        batch = batch_appeals(session, MONTH, actor="clerk")[0]
        record_appeal_outcome(session, batch.business_key, status=AppealStatus.RECOVERED, by="li.na",
                              recovered_fen=100, recovered_on=RECOVERED_ON)
        session.commit()
        with pytest.raises(ValueError, match="recorded already"):
            record_appeal_outcome(session, batch.business_key, status=AppealStatus.RECOVERED, by="li.na",
                                  recovered_fen=100, recovered_on=RECOVERED_ON)
