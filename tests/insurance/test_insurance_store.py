"""Storing the inputs and runs on SQLite and PostgreSQL: refusals, reruns, the month, receivables, appeals."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from smartfin.insurance.daily import exception_truth_keys
from smartfin.insurance.runs import (
    aging_report,
    batch_appeals,
    receivable_entries,
    record_appeal_outcome,
    run_daily,
    run_monthly,
)
from smartfin.insurance.samples import SampleDays, generate_clearing, write_day_files, write_month_files
from smartfin.insurance.store import DuplicateFile, InputRefused, import_file, run_exceptions
from smartfin.insurance.tables import (
    AppealBatch,
    AppealStatus,
    ClearingItem,
    GroupResult,
    HisSettlement,
    InsuranceException,
    InsuranceImport,
    RunStatus,
)
from tests.insurance.conftest import DAY, HOSPITAL

MONTH = "2026-10"


def _import_day(session: Session, paths: dict[str, Path], day: date = DAY) -> None:
    for kind, path in paths.items():
        import_file(session, kind, path.read_bytes(), file=path.name, period=day.isoformat(), hospital=HOSPITAL,
                    actor="clerk")


def test_a_day_is_stored_reconciled_and_rerun_without_losing_a_resolution(
        engine: Engine, sample_day: SampleDays, tmp_path: Path) -> None:
    paths = write_day_files(sample_day, tmp_path, DAY)
    with Session(engine) as session:
        _import_day(session, paths)
        run, _ = run_daily(session, DAY, hospital=HOSPITAL, actor="clerk")
        session.commit()
        assert run.status == RunStatus.EXCEPTIONS
        stored = run_exceptions(session, run.id)
        assert exception_truth_keys(stored) == sample_day.truth
        first = session.exec(select(InsuranceException).where(InsuranceException.type == "his_only")).first()
        first.status, first.resolution, first.resolved_by = "resolved", "platform file was late", "clerk"
        session.add(first)
        session.commit()
        again, _ = run_daily(session, DAY, hospital=HOSPITAL, actor="clerk")
        session.commit()
        assert again.id == run.id and again.run_count == 2
        rows = session.exec(select(InsuranceException).where(InsuranceException.run_id == run.id)).all()
        assert len(rows) == len(sample_day.truth)
        kept = [r for r in rows if r.exception_key == first.exception_key]
        assert len(kept) == 1 and kept[0].status == "resolved" and kept[0].resolution == "platform file was late"


def test_the_same_file_twice_another_day_and_a_corrected_file(engine: Engine, sample_day: SampleDays,
                                                              tmp_path: Path) -> None:
    paths = write_day_files(sample_day, tmp_path, DAY)
    with Session(engine) as session:
        _import_day(session, paths)
        session.commit()
        with pytest.raises(DuplicateFile, match=r"is the same file as 'his\.csv' accepted for 2026-11-03"):
            import_file(session, "his", paths["his"].read_bytes(), file="his-again.csv", period=DAY.isoformat(),
                        hospital=HOSPITAL, actor="clerk")
        session.rollback()
        with pytest.raises(InputRefused, match="holds settlements of 2026-11-03, the file is for 2026-11-04"):
            import_file(session, "platform", paths["platform"].read_bytes() + b"\n", file="platform.csv",
                        period=(DAY + timedelta(days=1)).isoformat(), hospital=HOSPITAL, actor="clerk")
        session.rollback()
        count = len(session.exec(select(HisSettlement)).all())
        fewer = paths["his"].read_bytes().rsplit(b"\n", 2)[0] + b"\n"
        import_file(session, "his", fewer, file="his-corrected.csv", period=DAY.isoformat(), hospital=HOSPITAL,
                    actor="clerk")
        session.commit()
        assert len(session.exec(select(HisSettlement)).all()) == count - 1
        statuses = sorted(i.status for i in session.exec(select(InsuranceImport).where(
            InsuranceImport.kind == "his")))
        assert statuses == ["accepted", "superseded"]


def test_a_day_without_the_platform_file_is_refused_not_reconciled(engine: Engine, sample_day: SampleDays,
                                                                    tmp_path: Path) -> None:
    paths = write_day_files(sample_day, tmp_path, DAY)
    with Session(engine) as session:
        _import_day(session, {"his": paths["his"]})
        run, _ = run_daily(session, DAY, hospital=HOSPITAL, actor="clerk")
        assert run.status == RunStatus.REFUSED
        assert set(run_exceptions(session, run.id)["settlement_id"]) == {"platform", "platform_total"}


def _month(session: Session, tmp_path: Path, **kwargs: object) -> None:
    sample = generate_clearing(MONTH, HOSPITAL, **kwargs)  # type: ignore[arg-type]
    paths = write_month_files(sample, tmp_path)
    for kind in ("clearing", "clearing_items", "group"):
        import_file(session, kind, paths[kind].read_bytes(), file=paths[kind].name, period=MONTH,
                    hospital=HOSPITAL, actor="clerk")
    return sample  # type: ignore[return-value]


def test_a_month_books_receivables_matches_receipts_and_ages_the_rest(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        sample = _month(session, tmp_path, late="offsite")
        costs = pd.DataFrame({"case_id": sample.groups["case_id"][:100],
                              "cost_fen": sample.groups["charge_fen"][:100] - 1_00})
        run = run_monthly(session, MONTH, hospital=HOSPITAL, actor="clerk", receipts=sample.receipts,
                          case_costs=costs)
        session.commit()
        exceptions = run_exceptions(session, run.id)
        assert set(zip(exceptions["type"], exceptions["insurance_type"], strict=True)) == {
            ("disbursement_unmatched", "offsite")}
        entries = receivable_entries(session)
        statements = sample.statements.set_index("insurance_type")
        for kind in ("employee", "resident"):
            mine = entries[(entries["insurance_type"] == kind) & (entries["bucket"] == "settlement")]
            assert mine["amount_fen"].sum() == 0, "declared − refused − deducted − retained − received"
        offsite = entries[(entries["insurance_type"] == "offsite") & (entries["bucket"] == "settlement")]
        assert offsite["amount_fen"].sum() == statements.loc["offsite", "disbursed_fen"]
        as_of = date(2026, 12, 31)
        table = aging_report(session, as_of).set_index("insurance_type")
        assert table.loc["offsite", "61-90"] == statements.loc["offsite", "disbursed_fen"]
        assert table.loc["employee", "retention_fen"] == statements.loc["employee", "retained_fen"]
        groups = session.exec(select(GroupResult)).all()
        assert sum(g.cases for g in groups) == len(sample.groups)
        assert sum(g.payment_fen for g in groups) == sample.groups["payment_fen"].sum()
        assert sum(g.costed_cases for g in groups) == 100
        booked = len(entries)
        again = run_monthly(session, MONTH, hospital=HOSPITAL, actor="clerk", receipts=sample.receipts,
                            case_costs=costs)
        session.commit()
        assert again.run_count == 2 and len(receivable_entries(session)) == booked
        assert len(session.exec(select(GroupResult)).all()) == len(groups)
        late = pd.DataFrame([{"line_id": "Blate", "booked_at": date(2027, 1, 15), "reference": "YBLATE",
                              "amount_fen": int(statements.loc["offsite", "disbursed_fen"]),
                              "memo": "医保基金拨付", "counterparty_name": "省医保局"}])
        third = run_monthly(session, MONTH, hospital=HOSPITAL, actor="clerk", receipts=late)
        session.commit()
        assert third.status == RunStatus.RECONCILED
        assert aging_report(session, date(2027, 1, 31)).set_index("insurance_type").loc[
            "offsite", "outstanding_fen"] == 0


def test_an_unbalanced_statement_is_an_exception_and_books_nothing(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        sample = _month(session, tmp_path, unbalanced="resident", late=None)
        run = run_monthly(session, MONTH, hospital=HOSPITAL, actor="clerk", receipts=sample.receipts)
        exceptions = run_exceptions(session, run.id)
        unbalanced = exceptions[exceptions["type"] == "statement_unbalanced"]
        assert list(unbalanced["insurance_type"]) == ["resident"]
        assert "declared" in unbalanced["detail"].iloc[0]
        entries = receivable_entries(session)
        assert "resident" not in set(entries["insurance_type"])
        # its bank receipt then matches nothing: an explicit exception, not a silent credit
        assert "receipt_unmatched" in set(exceptions["type"])


def test_a_statement_for_another_hospital_or_month_is_refused(engine: Engine, tmp_path: Path) -> None:
    sample = generate_clearing(MONTH, "H999")
    paths = write_month_files(sample, tmp_path)
    with Session(engine) as session:
        with pytest.raises(InputRefused, match="is for hospital 'H999', this hospital is 'H001'"):
            import_file(session, "clearing", paths["clearing"].read_bytes(), file="clearing.csv", period=MONTH,
                        hospital=HOSPITAL, actor="clerk")
        with pytest.raises(InputRefused, match="is for month 2026-10, expected 2026-09"):
            import_file(session, "clearing", paths["clearing"].read_bytes(), file="clearing.csv",
                        period="2026-09", hospital="H999", actor="clerk")


def test_refusals_and_deductions_are_batched_per_department_once(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        sample = _month(session, tmp_path)
        batches = batch_appeals(session, MONTH, actor="clerk")
        session.commit()
        assert {b.department for b in batches} == set(sample.items["department"])
        assert sum(b.amount_fen for b in batches) == sample.items["amount_fen"].sum()
        assert batch_appeals(session, MONTH, actor="clerk") == []
        assert all(i.status == "batched" for i in session.exec(select(ClearingItem)))
        batch = batches[0]
        with pytest.raises(ValueError, match="must be between 0"):
            record_appeal_outcome(session, batch.business_key, status=AppealStatus.RECOVERED, by="officer",
                                  recovered_fen=batch.amount_fen + 1)
        record_appeal_outcome(session, batch.business_key, status=AppealStatus.RECOVERED, by="officer",
                              recovered_fen=batch.amount_fen // 2, recovered_on=date(2026, 12, 20))
        session.commit()
        receipt = pd.DataFrame([{"line_id": "Brec", "booked_at": date(2026, 12, 28), "reference": "YBREC1",
                                 "amount_fen": batch.amount_fen // 2,
                                 "memo": f"申诉追回 {batch.business_key}", "counterparty_name": "市医保基金"}])
        run_monthly(session, MONTH, hospital=HOSPITAL, actor="clerk",
                    receipts=pd.concat([sample.receipts, receipt], ignore_index=True))
        session.commit()
        stored = session.exec(select(AppealBatch).where(AppealBatch.business_key == batch.business_key)).one()
        assert stored.recovery_reference == "YBREC1"


def test_a_declared_amount_other_than_what_the_his_settled_is_an_exception(engine: Engine, tmp_path: Path) -> None:
    from smartfin.insurance.samples import generate_days

    days = generate_days(date(2026, 10, 30), 2, 300, seed=41)
    with Session(engine) as session:
        for day in (date(2026, 10, 30), date(2026, 10, 31)):
            _import_day(session, write_day_files(days, tmp_path / day.isoformat(), day), day)
        sample = _month(session, tmp_path / "month", late=None)
        his = days.his.drop_duplicates("settlement_id")
        fund = (his["pooled_fen"] + his["serious_illness_fen"] + his["assistance_fen"]).groupby(
            his["insurance_type"]).sum()
        run = run_monthly(session, MONTH, hospital=HOSPITAL, actor="clerk", receipts=sample.receipts)
        found = run_exceptions(session, run.id)
        declared = found[found["type"] == "declared_mismatch"].set_index("insurance_type")
        assert set(declared.index) == {"employee", "resident", "offsite"}
        for kind in declared.index:  # the duplicate settlement of the HIS file counts once
            assert declared.loc[kind, "his_fen"] == fund[kind]


def test_a_refused_period_keeps_every_file_and_reason_however_long_the_names(engine: Engine) -> None:
    from smartfin.insurance.store import record_refusal

    names = ", ".join(f"platform-{i:02d}-第二次补发的医保平台对账明细文件.csv" for i in range(4))
    with Session(engine) as session:
        run = record_refusal(session, "daily", HOSPITAL, DAY.isoformat(), "flow", {names: "4 platform files"})
        session.commit()
        stored = run_exceptions(session, run.id)
        assert run.status == RunStatus.REFUSED and len(stored) == 1
        assert stored["detail"].iloc[0] == f"{names}: 4 platform files"
