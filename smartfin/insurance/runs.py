"""A day's and a month's reconciliation on the stored inputs, each in one transaction; appeal batches.

``run_daily`` reconciles the stored HIS and platform rows of a day; ``run_monthly`` checks the month's
clearing statements, books the receivables, matches disbursements and appeal recoveries to the bank
receipts it is given (the flow reads them from the bank statements of the insurance income account), and
works out the DRG/DIP results with the case costs it is given (cost accounting's, when the month has them).
Rerunning a period gives the same stored result: entries already booked are not booked again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from smartfin.insurance import monthly
from smartfin.insurance.daily import FEN, DailyResult, reconcile_day
from smartfin.insurance.store import (
    bulk_insert,
    current_import,
    day_inputs,
    earlier_settlements,
    finish_run,
    open_run,
    save_daily,
    save_exceptions,
    table_frame,
)
from smartfin.insurance.tables import (
    AppealBatch,
    AppealStatus,
    ClearingItem,
    ClearingStatement,
    GroupResult,
    GroupSettlement,
    HisSettlement,
    InsuranceRun,
    ReceivableEntry,
    RunStatus,
)
from smartfin.kernel.clock import hospital_today, month_days, utc_now
from smartfin.store.audit import record_audit

#: the ledger's bucket and entry kind of what an appeal recovered: owed by the fund until its bank receipt
RECOVERY = "recovery"


def run_daily(session: Session, day: date, *, hospital: str, actor: str) -> tuple[InsuranceRun, DailyResult | None]:
    """Reconcile the stored inputs of ``day``; a missing input is an ``input_missing`` exception.

    Returns the stored run and the day's result (``None`` when there was nothing to reconcile), whose
    ``ties`` the reports show.
    """
    run = open_run(session, "daily", hospital, day.isoformat(), actor)
    inputs = day_inputs(session, day)
    imports = {k: current_import(session, k, day.isoformat()) for k in inputs}
    fingerprints = {k: i.fingerprint for k, i in imports.items() if i is not None}
    missing = [k for k, i in imports.items() if i is None]
    if len(missing) == len(imports):
        return finish_run(session, run, status=RunStatus.NO_DATA, inputs={}, summary={}, exception_count=0), None
    if missing:
        frame = pd.DataFrame({"type": "input_missing", "settlement_id": missing, "insurance_type": None,
                              "component": None, "his_fen": None, "other_fen": None,
                              "detail": [f"no accepted {k} file for {day.isoformat()}" for k in missing]})
        count = save_exceptions(session, run, frame)
        return finish_run(session, run, status=RunStatus.REFUSED, inputs=fingerprints,
                          summary={"missing_inputs": len(missing)}, exception_count=count), None
    his = inputs["his"]
    ids = pd.concat([his["settlement_id"], his["reverses"].dropna()]).unique().tolist()
    earlier = earlier_settlements(session, day, ids)
    result = reconcile_day(his, inputs["platform"], inputs["platform_total"],
                           earlier=earlier[["settlement_id", *FEN]])
    return save_daily(session, run, result, fingerprints), result


def _book(session: Session, entries: pd.DataFrame, run_id: int) -> int:
    """Append the entries not yet in the ledger (the unique key makes a rerun book nothing twice)."""
    if entries.empty:
        return 0
    existing = {(e.month, e.insurance_type, e.entry_kind, e.reference) for e in session.exec(
        select(ReceivableEntry).where(col(ReceivableEntry.month).in_(entries["month"].unique().tolist())))}
    keys = list(zip(entries["month"], entries["insurance_type"], entries["entry_kind"], entries["reference"],
                    strict=True))
    new = entries[[k not in existing for k in keys]].assign(run_id=run_id)
    bulk_insert(session, ReceivableEntry, new)
    return len(new)


def run_monthly(session: Session, month: str, *, hospital: str, actor: str, receipts: pd.DataFrame,
                case_costs: pd.DataFrame | None = None) -> InsuranceRun:
    """Reconcile the month's clearing: statements, receivables, bank receipts, DRG/DIP results."""
    run = open_run(session, "monthly", hospital, month, actor)
    assert run.id is not None
    statements = table_frame(session, ClearingStatement, ClearingStatement.month == month)
    imports = {k: current_import(session, k, month) for k in ("clearing", "clearing_items", "group")}
    fingerprints = {k: i.fingerprint for k, i in imports.items() if i is not None}
    if statements.empty:
        frame = pd.DataFrame([monthly._exception("input_missing", None, f"no clearing statement for {month}",
                                                 subject="clearing")])
        count = save_exceptions(session, run, frame)
        return finish_run(session, run, status=RunStatus.REFUSED, inputs=fingerprints,
                          summary={"missing_inputs": 1}, exception_count=count)
    items = table_frame(session, ClearingItem, ClearingItem.month == month)
    found = [monthly.check_statements(statements, items),
             monthly.check_declared(statements, his_fund_payments(session, month))]
    balanced = statements[statements["balanced"]]
    booked = _book(session, monthly.statement_entries(balanced), run.id)

    targets = pd.DataFrame({"reference": balanced["statement_no"], "target_kind": "disbursement",
                            "insurance_type": balanced["insurance_type"], "month": balanced["month"],
                            "amount_fen": balanced["disbursed_fen"], "not_before": balanced["issued_on"]})
    recoveries = session.exec(select(AppealBatch).where(AppealBatch.status == AppealStatus.RECOVERED,
                                                        col(AppealBatch.recovery_reference).is_(None))).all()
    if recoveries:
        targets = pd.concat([targets, pd.DataFrame([{
            "reference": b.business_key, "target_kind": "recovery", "insurance_type": None, "month": b.month,
            "amount_fen": b.recovered_fen, "not_before": b.recovered_on or month_days(b.month)[1]}
            for b in recoveries])], ignore_index=True)
    # receipts already booked against an earlier run are not offered again
    taken = set(session.exec(select(ReceivableEntry.reference).where(ReceivableEntry.entry_kind == "received")))
    offered = receipts[~receipts["reference"].isin(taken)] if len(receipts) else receipts
    done = {f"{e.month}|{e.insurance_type}" for e in session.exec(select(ReceivableEntry).where(
        ReceivableEntry.entry_kind == "received", ReceivableEntry.bucket == "settlement",
        ReceivableEntry.month == month))}
    targets = targets[~(targets["target_kind"].eq("disbursement")
                        & (targets["month"] + "|" + targets["insurance_type"].fillna("")).isin(done))]
    matches, unmatched = monthly.match_receipts(targets, offered)
    found.append(unmatched)
    received = []
    for m in matches.to_dict("records"):
        if m["target_kind"] == "disbursement":
            received.append({"month": m["month"], "insurance_type": m["insurance_type"], "entry_kind": "received",
                             "bucket": "settlement", "amount_fen": -m["amount_fen"], "booked_on": m["booked_on"],
                             "reference": m["bank_reference"]})
        else:
            batch = next(b for b in recoveries if b.business_key == m["target"])
            batch.recovery_reference = m["bank_reference"]
            session.add(batch)
            received += recovery_receipts(session, batch, m["bank_reference"], m["booked_on"])
    booked += _book(session, pd.DataFrame(received), run.id)

    session.execute(GroupResult.__table__.delete().where(  # type: ignore[attr-defined]
        GroupResult.run_id == run.id))
    groups = table_frame(session, GroupSettlement, GroupSettlement.month == month)
    group_rows = 0
    if len(groups):
        results = monthly.group_results(groups, case_costs).assign(run_id=run.id, month=month)
        bulk_insert(session, GroupResult, results)
        group_rows = len(results)
    exceptions = pd.concat([f for f in found if len(f)], ignore_index=True) if any(len(f) for f in found) \
        else pd.DataFrame(columns=monthly.EXCEPTION_COLUMNS)
    count = save_exceptions(session, run, exceptions)
    summary = {"statements": len(statements), "items": len(items), "entries_booked": booked,
               "receipts_matched": len(matches), "group_rows": group_rows, "exceptions": count}
    return finish_run(session, run, status=RunStatus.EXCEPTIONS if count else RunStatus.RECONCILED,
                      inputs=fingerprints, summary=summary, exception_count=count)


def his_fund_payments(session: Session, month: str) -> dict[str, int]:
    """What the HIS settled on the funds (pooled, serious illness, medical assistance) per insurance type in
    ``month``, each settlement once, summed in the database (a month is 300,000 rows)."""
    first, last = month_days(month)
    fund = HisSettlement.pooled_fen + HisSettlement.serious_illness_fen + HisSettlement.assistance_fen
    in_month = (HisSettlement.settled_on >= first, HisSettlement.settled_on <= last)
    # a settlement the HIS file lists twice is one settlement (the daily run reports the repeat)
    once = select(func.min(HisSettlement.id)).where(*in_month).group_by(HisSettlement.settlement_id)
    rows = session.exec(select(HisSettlement.insurance_type, func.sum(fund)).where(
        *in_month, col(HisSettlement.id).in_(once)).group_by(HisSettlement.insurance_type)).all()
    return {kind: int(total) for kind, total in rows}


def receivable_entries(session: Session) -> pd.DataFrame:
    """The whole receivables ledger as a frame (aging, reports, the cash forecast)."""
    return table_frame(session, ReceivableEntry)


def aging_report(session: Session, as_of: date) -> pd.DataFrame:
    """Outstanding insurance receivables per type and age bucket on ``as_of``."""
    return monthly.aging(receivable_entries(session), as_of)


# --------------------------------------------------------------------------------------- appeal batches

def batch_appeals(session: Session, month: str, *, actor: str) -> list[AppealBatch]:
    """Group the month's open refused and deducted items per department into new appeal batches.

    The ``insurance-appeal`` process opens one task per batch. Items already in a batch are not batched
    again, so calling it twice opens nothing new; items arriving later form the department's next batch.
    """
    items = session.exec(select(ClearingItem).where(ClearingItem.month == month, ClearingItem.status == "open",
                                                    col(ClearingItem.appeal_batch_id).is_(None))
                         .order_by(col(ClearingItem.department), col(ClearingItem.id))).all()
    by_department: dict[str, list[ClearingItem]] = {}
    for item in items:
        by_department.setdefault(item.department, []).append(item)
    batches = []
    for department, mine in sorted(by_department.items()):
        sequence = len(session.exec(select(AppealBatch.id).where(AppealBatch.month == month,
                                                                 AppealBatch.department == department)).all()) + 1
        batch = AppealBatch(business_key=f"INS-APPEAL-{month}-{department}-{sequence}", month=month,
                            department=department, sequence=sequence, item_count=len(mine),
                            amount_fen=sum(i.amount_fen for i in mine))
        session.add(batch)
        session.flush()
        for item in mine:
            item.appeal_batch_id = batch.id
            item.status = "batched"
            session.add(item)
        record_audit(session, actor=actor, action="insurance.appeal_batch", subject_type="ins_appeal_batch",
                     subject_id=batch.business_key, details={"items": len(mine), "amount_fen": batch.amount_fen})
        batches.append(batch)
    return batches


def recovery_split(items: list[ClearingItem], recovered_fen: int,
                   recovered_items: Mapping[int, int] | None = None) -> dict[str, int]:
    """The recovered amount per insurance type of the batch's items.

    ``recovered_items`` (item id → fen, what finance recorded per item) decides it exactly. Without it the
    amount is shared over the items' insurance types in proportion to their refused or deducted amounts,
    whole fen by the largest remainder, so the parts always add up to ``recovered_fen``.
    """
    by_type: dict[str, int] = defaultdict(int)
    if recovered_items is not None:
        kinds = {i.id: i.insurance_type for i in items}
        unknown = sorted(set(recovered_items) - set(kinds), key=str)
        if unknown:
            raise ValueError(f"recovered items {unknown} are not items of the batch")
        for item_id, fen in recovered_items.items():
            if fen:
                by_type[kinds[item_id]] += fen
        if sum(by_type.values()) != recovered_fen:
            raise ValueError(f"the items' recoveries add up to {sum(by_type.values())} fen, not {recovered_fen}")
        return dict(sorted(by_type.items()))
    weights: dict[str, int] = defaultdict(int)
    for item in items:
        weights[item.insurance_type] += item.amount_fen
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("the batch has no item to share the recovery over")
    shares = {kind: divmod(recovered_fen * weight, total) for kind, weight in sorted(weights.items())}
    left = recovered_fen - sum(q for q, _ in shares.values())
    for kind in sorted(shares, key=lambda k: (-shares[k][1], k))[:left]:
        by_type[kind] += 1
    for kind, (whole, _) in shares.items():
        by_type[kind] += whole
    return {k: v for k, v in sorted(by_type.items()) if v}


def recovery_receipts(session: Session, batch: AppealBatch, reference: str, booked_on: date) -> list[dict[str, object]]:
    """The ``received`` entries of a recovery matched to the bank receipt ``reference``: one per insurance type
    of the batch's ``recovery`` entries, so the cash forecast counts the money as that type's collection of the
    service month, on the receipt's day. The receipt is not booked against the settlement a second time."""
    due = session.exec(select(ReceivableEntry).where(ReceivableEntry.reference == batch.business_key,
                                                     ReceivableEntry.bucket == RECOVERY,
                                                     ReceivableEntry.entry_kind == RECOVERY)).all()
    return [{"month": e.month, "insurance_type": e.insurance_type, "entry_kind": "received", "bucket": RECOVERY,
             "amount_fen": -e.amount_fen, "booked_on": booked_on, "reference": reference} for e in due]


def record_appeal_outcome(session: Session, business_key: str, *, status: AppealStatus, by: str,
                          recovered_fen: int = 0, recovered_on: date | None = None,
                          recovered_items: Mapping[int, int] | None = None) -> AppealBatch:
    """Record what became of a batch (appealed, accepted, recovered with the amount the fund pays back).

    The recovery cannot exceed the batch's amount. It is booked as the fund's debt in the receivables ledger's
    ``recovery`` bucket per insurance type (``recovery_split``; ``recovered_items`` = item id → fen as finance
    recorded them); the monthly run then matches it to a bank receipt and books it received.
    """
    batch = session.exec(select(AppealBatch).where(AppealBatch.business_key == business_key)).one()
    if recovered_fen < 0 or recovered_fen > batch.amount_fen:
        raise ValueError(f"{business_key}: recovered amount {recovered_fen} fen must be between 0 and the "
                         f"batch's {batch.amount_fen} fen")
    if status == AppealStatus.RECOVERED and recovered_fen == 0:
        raise ValueError(f"{business_key}: a recovery needs the amount recovered")
    if status == AppealStatus.RECOVERED:
        booked = session.exec(select(ReceivableEntry.id).where(ReceivableEntry.reference == business_key,
                                                               ReceivableEntry.bucket == RECOVERY)).first()
        if booked is not None:
            raise ValueError(f"{business_key}: its recovery is recorded already")
        items = list(session.exec(select(ClearingItem).where(ClearingItem.appeal_batch_id == batch.id)).all())
        day = recovered_on or hospital_today()
        session.add_all([ReceivableEntry(month=batch.month, insurance_type=kind, entry_kind=RECOVERY,
                                         bucket=RECOVERY, amount_fen=fen, booked_on=day, reference=business_key)
                         for kind, fen in recovery_split(items, recovered_fen, recovered_items).items()])
    batch.status = status
    batch.recovered_fen = recovered_fen
    batch.recovered_on = recovered_on
    batch.decided_by = by
    batch.decided_at = utc_now()
    session.add(batch)
    record_audit(session, actor=by, action="insurance.appeal_outcome", subject_type="ins_appeal_batch",
                 subject_id=business_key, details={"status": status.value, "recovered_fen": recovered_fen})
    return batch
