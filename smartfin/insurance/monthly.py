"""The month's clearing (月度清算): statements that must add up, disbursements matched to bank receipts, the
receivables they leave, their aging, and DRG/DIP surplus or loss per group and department.

A clearing statement adds up when ``approved = declared − refused − deducted`` and
``disbursed = approved − retained`` (declared − refused − deducted − retained = disbursed); one that does not
is an exception of the month, never accepted as it stands. Its refused and deducted items must sum to the
statement's refused and deducted amounts. Pure functions on frames; :mod:`smartfin.insurance.runs` stores.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from smartfin.insurance.daily import EXCEPTION_COLUMNS
from smartfin.kernel.clock import month_days

AGING_BUCKETS = ("0-30", "31-60", "61-90", ">90")


def _exception(etype: str, kind: str | None, detail: str, *, subject: str | None = None, his: int | None = None,
               other: int | None = None, component: str | None = None) -> dict[str, object]:
    return {"type": etype, "settlement_id": subject, "insurance_type": kind, "component": component,
            "his_fen": his, "other_fen": other, "detail": detail}


def check_statements(statements: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Exceptions of statements whose parts do not add up, or whose items do not sum to their totals."""
    found = []
    for s in statements.to_dict("records"):
        approved = s["declared_fen"] - s["refused_fen"] - s["deducted_fen"]
        disbursed = s["approved_fen"] - s["retained_fen"]
        if s["approved_fen"] != approved or s["disbursed_fen"] != disbursed:
            found.append(_exception(
                "statement_unbalanced", s["insurance_type"],
                f"statement {s['statement_no']}: declared {s['declared_fen']} − refused {s['refused_fen']} − "
                f"deducted {s['deducted_fen']} = {approved} (statement says approved {s['approved_fen']}); "
                f"approved − retained {s['retained_fen']} = {disbursed} (statement says disbursed "
                f"{s['disbursed_fen']})", subject=s["statement_no"], his=approved, other=s["approved_fen"]
                if s["approved_fen"] != approved else s["disbursed_fen"]))
        mine = items[items["statement_id"] == s["id"]] if len(items) else items
        for kind in ("refused", "deducted"):
            listed = int(mine.loc[mine["kind"] == kind, "amount_fen"].sum()) if len(mine) else 0
            if len(mine) and listed != s[f"{kind}_fen"]:
                found.append(_exception(
                    "items_mismatch", s["insurance_type"], f"statement {s['statement_no']}: {kind} items sum to "
                    f"{listed}, the statement says {s[f'{kind}_fen']}", subject=s["statement_no"], his=listed,
                    other=s[f"{kind}_fen"], component=kind))
    return pd.DataFrame(found, columns=EXCEPTION_COLUMNS)


def check_declared(statements: pd.DataFrame, fund_fen: dict[str, int]) -> pd.DataFrame:
    """A statement whose declared amount is not what the HIS settled on the funds in its month.

    ``fund_fen`` is the HIS's pooled-fund, serious-illness and medical-assistance payments of the month per
    insurance type (reversals included, so a reversed settlement counts zero); types the HIS has no
    settlements for in the month are not compared (the month's settlements were not imported).
    """
    found = []
    for s in statements.to_dict("records"):
        his = fund_fen.get(s["insurance_type"])
        if his is not None and his != s["declared_fen"]:
            found.append(_exception(
                "declared_mismatch", s["insurance_type"], f"statement {s['statement_no']} declares "
                f"{s['declared_fen']} fen, the HIS settled {his} fen on the funds in {s['month']} (difference "
                f"{s['declared_fen'] - his})", subject=s["statement_no"], his=his, other=s["declared_fen"]))
    return pd.DataFrame(found, columns=EXCEPTION_COLUMNS)


def match_receipts(targets: pd.DataFrame, receipts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Disbursements and appeal recoveries (``targets``: reference, insurance_type, amount_fen, not_before) to
    bank credits (``receipts``: line_id, booked_at, amount_fen, reference, memo).

    A receipt pays a target of exactly its amount booked on or after the target's date; one that names the
    target's reference in its memo is preferred, then the earliest. Each side is used once. Returns the
    matches and the exceptions (``disbursement_unmatched``, ``receipt_unmatched``).
    """
    used: set[str] = set()
    matches, found = [], []
    pool = receipts.copy()
    if len(pool):
        pool["booked_on"] = pool["booked_at"].map(lambda v: v.date() if hasattr(v, "date") else v)
    for t in targets.sort_values("not_before").to_dict("records"):
        candidates = pool[(pool["amount_fen"] == t["amount_fen"]) & (pool["booked_on"] >= t["not_before"])
                          & ~pool["line_id"].isin(used)] if len(pool) else pool
        if len(candidates):
            named = candidates["memo"].fillna("").str.contains(t["reference"], regex=False)
            chosen = candidates[named].sort_values("booked_on") if named.any() else candidates.sort_values(
                "booked_on")
            hit = chosen.iloc[0]
            used.add(hit["line_id"])
            matches.append({"target": t["reference"], "target_kind": t["target_kind"],
                            "insurance_type": t["insurance_type"], "month": t["month"],
                            "amount_fen": int(t["amount_fen"]), "receipt": hit["line_id"],
                            "bank_reference": hit["reference"], "booked_on": hit["booked_on"]})
        elif t["target_kind"] == "disbursement":
            found.append(_exception("disbursement_unmatched", t["insurance_type"],
                                    f"{t['reference']}: disbursement of {t['amount_fen']} fen not (yet) received "
                                    f"on the insurance income account", subject=t["reference"],
                                    other=int(t["amount_fen"])))
    for r in (pool[~pool["line_id"].isin(used)].to_dict("records") if len(pool) else []):
        found.append(_exception("receipt_unmatched", None, f"bank receipt {r['reference']} of {r['amount_fen']} "
                                f"fen on {r['booked_on']} matches no disbursement or recovery: {r.get('memo', '')}",
                                subject=str(r["line_id"]), other=int(r["amount_fen"])))
    return (pd.DataFrame(matches, columns=["target", "target_kind", "insurance_type", "month", "amount_fen",
                                           "receipt", "bank_reference", "booked_on"]),
            pd.DataFrame(found, columns=EXCEPTION_COLUMNS))


def statement_entries(statements: pd.DataFrame) -> pd.DataFrame:
    """The receivable movements a clearing statement books (signed fen; retention moves to its bucket)."""
    rows = []
    for s in statements.to_dict("records"):
        _, last = month_days(s["month"])
        ref = s["statement_no"]
        common = {"month": s["month"], "insurance_type": s["insurance_type"], "reference": ref}
        rows += [
            {**common, "entry_kind": "declared", "bucket": "settlement", "amount_fen": s["declared_fen"],
             "booked_on": last},
            {**common, "entry_kind": "refused", "bucket": "settlement", "amount_fen": -s["refused_fen"],
             "booked_on": s["issued_on"]},
            {**common, "entry_kind": "deducted", "bucket": "settlement", "amount_fen": -s["deducted_fen"],
             "booked_on": s["issued_on"]},
            {**common, "entry_kind": "retained", "bucket": "settlement", "amount_fen": -s["retained_fen"],
             "booked_on": s["issued_on"]},
            {**common, "entry_kind": "retention", "bucket": "retention", "amount_fen": s["retained_fen"],
             "booked_on": s["issued_on"]},
        ]
    return pd.DataFrame(rows)


def aging(entries: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Outstanding receivables per insurance type and age bucket (days since the service month's end).

    Only movements booked on or before ``as_of`` count. The retention (quality deposit) is shown apart:
    it is owed until the annual assessment, not late.
    """
    columns = ["insurance_type", *AGING_BUCKETS, "outstanding_fen", "retention_fen"]
    if entries.empty:
        return pd.DataFrame(columns=columns)
    entries = entries[entries["booked_on"] <= as_of]
    by_month = entries.groupby(["insurance_type", "month", "bucket"])["amount_fen"].sum().unstack(
        "bucket", fill_value=0).reset_index()
    for bucket in ("settlement", "retention"):
        if bucket not in by_month:
            by_month[bucket] = 0
    by_month["age"] = by_month["month"].map(lambda m: (as_of - month_days(m)[1]).days)
    by_month["bucket_name"] = pd.cut(by_month["age"], [-10**6, 30, 60, 90, 10**6], labels=list(AGING_BUCKETS))
    table = by_month.pivot_table(index="insurance_type", columns="bucket_name", values="settlement",
                                 aggfunc="sum", fill_value=0, observed=False)
    table = table.reindex(columns=list(AGING_BUCKETS), fill_value=0).astype(np.int64)
    table["outstanding_fen"] = table.sum(axis=1)
    table["retention_fen"] = by_month.groupby("insurance_type")["retention"].sum().astype(np.int64)
    out = table.reset_index()
    out.columns.name = None
    return out[columns]


def group_results(groups: pd.DataFrame, case_costs: pd.DataFrame | None = None) -> pd.DataFrame:
    """DRG/DIP payment against the hospital's charges (and cost, for cases cost accounting has) per group and
    department: surplus > 0, loss < 0. ``case_costs`` has ``case_id`` and ``cost_fen``."""
    frame = groups.copy()
    if case_costs is not None and len(case_costs):
        frame = frame.merge(case_costs[["case_id", "cost_fen"]], on="case_id", how="left")
    else:
        frame["cost_fen"] = pd.NA
    frame["costed"] = frame["cost_fen"].notna()
    frame["costed_payment"] = np.where(frame["costed"], frame["payment_fen"], 0)
    frame["cost_value"] = frame["cost_fen"].fillna(0).astype(np.int64)
    out = frame.groupby(["method", "group_code", "department"], as_index=False).agg(
        cases=("case_id", "size"), payment_fen=("payment_fen", "sum"), charge_fen=("charge_fen", "sum"),
        costed_cases=("costed", "sum"), cost_fen=("cost_value", "sum"), costed_payment=("costed_payment", "sum"))
    out["charge_surplus_fen"] = out["payment_fen"] - out["charge_fen"]
    out["cost_surplus_fen"] = (out["costed_payment"] - out["cost_fen"]).astype(object)
    none = out["costed_cases"] == 0
    out.loc[none, "cost_surplus_fen"] = None
    out["cost_fen"] = out["cost_fen"].astype(object)
    out.loc[none, "cost_fen"] = None
    return out.drop(columns=["costed_payment"])
