"""Daily reconciliation of the HIS settlement records with the insurance platform (日对账).

Pure functions on frames (the canonical columns of :mod:`extractors.insurance`), vectorised because a day
holds about 10,000 settlements and a month 300,000. What is found, one exception per fact:

* ``duplicate_settlement`` — a settlement id a source lists twice in the day, or that an earlier day already
  holds; the repeat is left out of the matching so it is not counted twice;
* ``negative_component`` — a settlement that is not a reversal with a negative fund component;
* ``reversal_without_original`` — a reversal (冲正) whose original is neither in the day nor in earlier days;
  ``reversal_mismatch`` — one whose amounts are not the exact negative of its original's;
  ``reversal_repeated`` — a settlement reversed more than once. Reversal chains (a reversal reversed again)
  pair each link with the one before. Pairing is checked on the hospital's own records; the platform's
  copy of a reversal is matched like any settlement;
* ``his_only`` / ``platform_only`` — a settlement on one side only;
* ``amount_mismatch`` — one per settlement and fund component that differ;
* ``total_mismatch`` — per insurance type and component (and the count), the platform's daily total does
  not equal its own detail. The day ties when HIS − platform total = the differences the detail explains
  (the ``ties`` table shows all three per insurance type and component).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from smartfin.insurance.tables import COMPONENTS

FEN = [f"{c}_fen" for c in COMPONENTS]
EXCEPTION_COLUMNS = ["type", "settlement_id", "insurance_type", "component", "his_fen", "other_fen", "detail"]


@dataclass
class DailyResult:
    """The exceptions (one row each), the per-type tie-out of the totals, and counts for the run's summary."""

    exceptions: pd.DataFrame
    ties: pd.DataFrame
    summary: dict[str, int] = field(default_factory=dict)


def _rows(kind: str, frame: pd.DataFrame, detail: pd.Series | str, *, component: str | pd.Series | None = None,
          his: pd.Series | None = None, other: pd.Series | None = None) -> pd.DataFrame:
    out = pd.DataFrame({
        "type": kind, "settlement_id": frame["settlement_id"].to_numpy(),
        "insurance_type": frame["insurance_type"].to_numpy(),
        "component": component if not isinstance(component, pd.Series) else component.to_numpy(),
        "his_fen": None if his is None else his.to_numpy(), "other_fen": None if other is None else other.to_numpy(),
        "detail": detail if isinstance(detail, str) else detail.to_numpy()}, index=range(len(frame)))
    return out


def _amounts(frame: pd.DataFrame) -> pd.Series:
    return "total " + frame["total_fen"].astype(str) + " fen"


def _duplicates(frame: pd.DataFrame, source: str, earlier_ids: pd.Index) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frame without repeats, and the repeats as exceptions (one per settlement id)."""
    repeat = frame["settlement_id"].duplicated(keep="first").to_numpy()
    seen_before = frame["settlement_id"].isin(earlier_ids).to_numpy()
    flagged = frame[repeat | seen_before].drop_duplicates("settlement_id")
    before = flagged["settlement_id"].isin(earlier_ids)
    detail = pd.Series(np.where(before, f"{source}: already settled on an earlier day",
                                f"{source}: listed more than once in the day"), index=flagged.index)
    return frame[~(repeat | seen_before)], _rows("duplicate_settlement", flagged, detail + ", " + _amounts(flagged))


def _reversals(his: pd.DataFrame, earlier: pd.DataFrame) -> list[pd.DataFrame]:
    reversal = his[his["reverses"].notna()]
    if reversal.empty:
        return []
    pool = pd.concat([his[["settlement_id", *FEN]], earlier[["settlement_id", *FEN]]], ignore_index=True)
    pool = pool.drop_duplicates("settlement_id")
    paired = reversal.merge(pool, how="left", left_on="reverses", right_on="settlement_id",
                            suffixes=("", "_original"), indicator=True)
    found = []
    orphan = paired[paired["_merge"] == "left_only"]
    found.append(_rows("reversal_without_original", orphan,
                       "reverses " + orphan["reverses"] + ", which neither the day nor an earlier day holds"))
    both = paired[paired["_merge"] == "both"]
    wrong = np.zeros(len(both), dtype=bool)
    for column in FEN:
        wrong |= both[column].to_numpy() != -both[f"{column}_original"].to_numpy()
    bad = both[wrong]
    found.append(_rows("reversal_mismatch", bad, "amounts are not the negative of " + bad["reverses"] + "'s",
                       his=bad["total_fen"], other=-bad["total_fen_original"]))
    repeated = reversal[reversal["reverses"].duplicated(keep="first")]
    found.append(_rows("reversal_repeated", repeated, repeated["reverses"] + " was already reversed"))
    return found


def reconcile_day(his: pd.DataFrame, platform: pd.DataFrame, totals: pd.DataFrame, *,
                  earlier: pd.DataFrame | None = None) -> DailyResult:
    """Reconcile a day's (or a month's) HIS records with the platform's detail and daily totals.

    ``earlier`` holds the settlements (id and amounts) of earlier days: reversals of them are paired, and a
    settlement id seen again is a duplicate.
    """
    earlier = earlier if earlier is not None else pd.DataFrame(columns=["settlement_id", *FEN])
    earlier_ids = pd.Index(earlier["settlement_id"])
    his_u, his_dup = _duplicates(his, "HIS", earlier_ids)
    platform_u, platform_dup = _duplicates(platform, "platform", pd.Index([]))
    found = [his_dup, platform_dup]

    values = his_u[FEN].to_numpy()
    negative = (values < 0).any(axis=1) & his_u["reverses"].isna().to_numpy()
    neg = his_u[negative]
    if len(neg):
        named = neg[FEN].lt(0).apply(lambda r: ", ".join(c.removesuffix("_fen") for c in FEN if r[c]), axis=1)
        found.append(_rows("negative_component", neg, "negative fund component(s) on a settlement that is "
                           "not a reversal: " + named))
    found += _reversals(his_u, earlier)

    keys = ["settlement_id", "insurance_type", *FEN]
    merged = his_u[keys].merge(platform_u[keys], on="settlement_id", how="outer", suffixes=("", "_platform"),
                               indicator=True)
    his_only = merged[merged["_merge"] == "left_only"]
    found.append(_rows("his_only", his_only, "not on the platform's detail: " + _amounts(his_only),
                       his=his_only["total_fen"]))
    platform_only = merged[merged["_merge"] == "right_only"].copy()
    platform_only["insurance_type"] = platform_only["insurance_type_platform"]
    for column in FEN:
        platform_only[column] = platform_only[f"{column}_platform"]
    found.append(_rows("platform_only", platform_only, "not in the HIS: " + _amounts(platform_only),
                       other=platform_only["total_fen"]))
    both = merged[merged["_merge"] == "both"]
    his_values = both[FEN].to_numpy(dtype=np.int64)
    platform_values = both[[f"{c}_platform" for c in FEN]].to_numpy(dtype=np.int64)
    row, col = np.nonzero(his_values != platform_values)
    if len(row):
        differ = both.iloc[row]
        component = pd.Series(np.array(COMPONENTS)[col])
        found.append(_rows("amount_mismatch", differ, "HIS and platform differ on " + component,
                           component=component, his=pd.Series(his_values[row, col]),
                           other=pd.Series(platform_values[row, col])))

    ties = tie_totals(his_u, platform_u, totals)
    off = ties[ties["residual_fen"] != 0]
    if len(off):
        found.append(pd.DataFrame({
            "type": "total_mismatch", "settlement_id": None, "insurance_type": off["insurance_type"].to_numpy(),
            "component": off["component"].to_numpy(), "his_fen": off["his_fen"].to_numpy(),
            "other_fen": off["platform_total_fen"].to_numpy(),
            "detail": ("the platform's daily total differs from its own detail by "
                       + off["residual_fen"].astype(str) + " (detail " + off["platform_detail_fen"].astype(str)
                       + ")").to_numpy()}))
    exceptions = pd.concat([f for f in found if len(f)], ignore_index=True) if any(len(f) for f in found) \
        else pd.DataFrame(columns=EXCEPTION_COLUMNS)
    summary = {"his_rows": len(his), "platform_rows": len(platform), "matched": len(both),
               "exceptions": len(exceptions)}
    summary |= {f"exceptions_{k}": int(v) for k, v in exceptions["type"].value_counts().items()}
    return DailyResult(exceptions[EXCEPTION_COLUMNS], ties, summary)


def tie_totals(his: pd.DataFrame, platform: pd.DataFrame, totals: pd.DataFrame) -> pd.DataFrame:
    """Per insurance type and component (and ``count``): HIS, platform detail, platform total, the
    difference the detail explains (HIS − detail) and the residual (detail − total) that nothing explains."""
    def sums(frame: pd.DataFrame, count: pd.Series) -> pd.DataFrame:
        summed = frame.groupby("insurance_type")[FEN].sum()
        summed["count"] = count
        return summed

    his_sum = sums(his, his.groupby("insurance_type").size())
    detail_sum = sums(platform, platform.groupby("insurance_type").size())
    total_sum = sums(totals, totals.groupby("insurance_type")["count"].sum())
    kinds = sorted(set(his_sum.index) | set(detail_sum.index) | set(total_sum.index))
    columns = [*FEN, "count"]
    his_sum, detail_sum, total_sum = (f.reindex(index=kinds, columns=columns, fill_value=0).fillna(0)
                                      .astype(np.int64) for f in (his_sum, detail_sum, total_sum))
    out = pd.DataFrame({
        "insurance_type": np.repeat(kinds, len(columns)),
        "component": [c.removesuffix("_fen") for c in columns] * len(kinds),
        "his_fen": his_sum.to_numpy().ravel(), "platform_detail_fen": detail_sum.to_numpy().ravel(),
        "platform_total_fen": total_sum.to_numpy().ravel()})
    out["explained_fen"] = out["his_fen"] - out["platform_detail_fen"]
    out["residual_fen"] = out["platform_detail_fen"] - out["platform_total_fen"]
    return out


def exception_truth_keys(exceptions: pd.DataFrame) -> set[tuple[str, str, str]]:
    """Exceptions keyed as the generated truth is: (type, settlement id or insurance type, component)."""
    keys = set()
    for etype, sid, kind, component in exceptions[["type", "settlement_id", "insurance_type", "component"]] \
            .itertuples(index=False):
        subject = kind if etype == "total_mismatch" else sid
        keys.add((etype, str(subject), component if etype in ("amount_mismatch", "total_mismatch") else ""))
    return keys


def naive_merge(his: pd.DataFrame, platform: pd.DataFrame) -> pd.DataFrame:
    """The baseline the benchmark compares against: one outer merge on settlement id and a component
    comparison, no duplicate, reversal or totals handling."""
    keys = ["settlement_id", "insurance_type", *FEN]
    merged = his[keys].merge(platform[keys], on="settlement_id", how="outer", suffixes=("", "_p"), indicator=True)
    rows = []
    rows.append(pd.DataFrame({"type": "his_only", "settlement_id": merged.loc[merged["_merge"] == "left_only",
                                                                               "settlement_id"]}))
    rows.append(pd.DataFrame({"type": "platform_only", "settlement_id": merged.loc[
        merged["_merge"] == "right_only", "settlement_id"]}))
    both = merged[merged["_merge"] == "both"]
    for column in FEN:
        differ = both[both[column] != both[f"{column}_p"]]
        rows.append(pd.DataFrame({"type": "amount_mismatch", "settlement_id": differ["settlement_id"],
                                  "component": column.removesuffix("_fen")}))
    out = pd.concat(rows, ignore_index=True)
    out["insurance_type"] = None
    out["component"] = out["component"].fillna("") if "component" in out else ""
    return out
