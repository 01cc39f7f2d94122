"""Generated insurance settlement days and months with known truth: for the demo, the tests and the benchmark.

``generate_days`` builds a hospital's HIS settlement records and the platform's detail and daily totals for a
run of days, then plants a known number of each fault the reconciliation must find (a settlement the
platform lacks, one only the platform has, a fund component that differs, a reversal without original, a
settlement recorded twice, a negative fund component, a platform daily total that does not tie), along with
things that must *not* be reported: ordinary reversals, reversal chains (a reversal reversed again),
off-site settlements. ``truth`` is the set of exceptions a perfect reconciliation reports, keyed exactly as
:func:`smartfin.insurance.daily.exception_truth_keys` keys a result.

``generate_clearing`` builds the fund's monthly clearing statements (one per insurance type), their refused
and deducted items, the DRG/DIP group settlements of the month's inpatient cases and the bank receipts of
the disbursements (one of them late, one statement that does not add up on request).

``write_*`` functions write them as the files the product imports: HIS files in GBK with renamed headers
(the second alias of each column) and Chinese code values, the platform's in UTF-8; amounts in yuan.
The same seed gives the same data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from extractors.insurance import COMPONENTS, column_map
from smartfin.insurance.tables import InsuranceType
from smartfin.kernel.clock import month_days

FEN = [f"{c}_fen" for c in COMPONENTS]
TYPES = (InsuranceType.EMPLOYEE.value, InsuranceType.RESIDENT.value, InsuranceType.OFFSITE.value)
CATEGORIES = ("outpatient", "inpatient", "chronic", "emergency")
_TYPE_TEXT = {"employee": "职工基本医疗保险", "resident": "城乡居民基本医疗保险", "offsite": "异地就医"}
_CATEGORY_TEXT = {"outpatient": "普通门诊", "inpatient": "住院", "chronic": "门诊慢特病", "emergency": "急诊"}


@dataclass(frozen=True)
class Faults:
    """How many of each planted fault (per generated run of days)."""

    his_only: int = 3
    platform_only: int = 2
    amount_mismatch: int = 4
    reversal_without_original: int = 2
    duplicate_settlement: int = 2
    negative_component: int = 1
    total_mismatch: int = 1
    reversals: int = 5          # ordinary reversal pairs: never an exception
    reversal_chains: int = 2    # original, its reversal, and the reversal reversed: never an exception


@dataclass
class SampleDays:
    """A run of days: the canonical frames of the three inputs and the exceptions that must be found."""

    his: pd.DataFrame
    platform: pd.DataFrame
    totals: pd.DataFrame
    truth: set[tuple[str, str, str]] = field(default_factory=set)


def _fen_amounts(rng: np.random.Generator, n: int, category: np.ndarray, kind: np.ndarray) -> dict[str, np.ndarray]:
    inpatient = category == "inpatient"
    total = np.where(inpatient, rng.lognormal(9.4, 0.7, n), rng.lognormal(5.0, 0.8, n))
    total = np.maximum((total * 100).astype(np.int64), 100)
    share = np.where(inpatient, rng.uniform(0.55, 0.8, n), rng.uniform(0.0, 0.6, n))
    share = np.where(kind == "resident", share * 0.85, share)
    pooled = (total * share).astype(np.int64)
    serious = np.where(inpatient & (total > 2_000_000), ((total - 2_000_000) * 0.5).astype(np.int64), 0)
    serious = np.minimum(serious, total - pooled)
    assistance = np.where(rng.random(n) < 0.03, np.minimum((total - pooled - serious) // 2, 50_000), 0)
    left = total - pooled - serious - assistance
    personal = np.where(kind == "employee", (left * rng.uniform(0, 0.7, n)).astype(np.int64), 0)
    cash = left - personal
    return {"total_fen": total, "pooled_fen": pooled, "personal_account_fen": personal, "cash_fen": cash,
            "serious_illness_fen": serious, "assistance_fen": assistance}


def _settlements(rng: np.random.Generator, days: list[date], per_day: int, start: int) -> pd.DataFrame:
    n = per_day * len(days)
    kind = rng.choice(np.array(TYPES), n, p=[0.55, 0.37, 0.08])
    category = rng.choice(np.array(CATEGORIES), n, p=[0.72, 0.12, 0.12, 0.04])
    frame = pd.DataFrame({
        "settled_on": np.repeat(np.array(days, dtype=object), per_day),
        "settlement_id": [f"JS{start + i:010d}" for i in range(n)],
        "patient_id": [f"P{v:08d}" for v in rng.integers(1, 5_000_000, n)],
        "insured_id": [f"{v:018d}" for v in rng.integers(10**17, 10**18 - 1, n, dtype=np.int64)],
        "insurance_type": kind, "medical_category": category,
        "department": [f"D{v:02d}" for v in rng.integers(1, 41, n)],
        "reverses": None,
    })
    for name, values in _fen_amounts(rng, n, category, kind).items():
        frame[name] = values
    return frame


def _reversal_of(rows: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    reversal = rows.copy()
    reversal["reverses"] = rows["settlement_id"].to_numpy()
    reversal["settlement_id"] = ids
    for column in FEN:
        reversal[column] = -rows[column].to_numpy()
    return reversal


def platform_totals(platform: pd.DataFrame) -> pd.DataFrame:
    """The platform's daily totals of its own detail, per day, insurance type and clearing type."""
    keys = ["settled_on", "insurance_type", "medical_category"]
    totals = platform.groupby(keys, as_index=False).agg(count=("settlement_id", "size"),
                                                        **{c: (c, "sum") for c in FEN})
    return totals


def generate_days(first_day: date, days: int = 1, per_day: int = 10_000, *, seed: int = 7,
                  faults: Faults | None = None) -> SampleDays:
    """``days`` days from ``first_day`` of ``per_day`` settlements each, with ``faults`` planted and known."""
    faults = faults or Faults()
    rng = np.random.default_rng(seed)
    day_list = [first_day + timedelta(days=i) for i in range(days)]
    base = _settlements(rng, day_list, per_day, seed * 10**8)
    truth: set[tuple[str, str, str]] = set()
    next_id = iter(range(seed * 10**8 + 9 * 10**7, seed * 10**8 + 10**8))

    def new_ids(k: int) -> list[str]:
        return [f"JS{next(next_id):010d}" for _ in range(k)]

    picks = rng.permutation(len(base))
    cursor = 0

    def take(k: int) -> pd.DataFrame:
        nonlocal cursor
        chosen = base.iloc[picks[cursor:cursor + k]]
        cursor += k
        return chosen

    # harmless: ordinary reversals and chains (reversal reversed again) on both sides
    originals = take(faults.reversals)
    reversals = _reversal_of(originals, new_ids(len(originals)))
    chain_originals = take(faults.reversal_chains)
    first = _reversal_of(chain_originals, new_ids(len(chain_originals)))
    second = _reversal_of(first, new_ids(len(first)))
    # a reversal whose original exists nowhere
    orphans = _reversal_of(take(faults.reversal_without_original), new_ids(faults.reversal_without_original))
    orphans["reverses"] = [f"JX{i:010d}" for i in range(len(orphans))]
    truth |= {("reversal_without_original", s, "") for s in orphans["settlement_id"]}
    his = pd.concat([base, reversals, first, second, orphans], ignore_index=True)
    platform = his.drop(columns=["patient_id", "department"]).copy()

    his_only = take(faults.his_only)["settlement_id"]
    platform = platform[~platform["settlement_id"].isin(his_only)]
    truth |= {("his_only", s, "") for s in his_only}

    extra = _settlements(rng, day_list[-1:], faults.platform_only, seed * 10**8 + 8 * 10**7)
    platform = pd.concat([platform, extra.drop(columns=["patient_id", "department"])], ignore_index=True)
    truth |= {("platform_only", s, "") for s in extra["settlement_id"]}

    mismatched = take(faults.amount_mismatch)["settlement_id"]
    rows = platform["settlement_id"].isin(mismatched)
    platform.loc[rows, "pooled_fen"] += 1_00
    truth |= {("amount_mismatch", s, "pooled") for s in mismatched}

    negatives = take(faults.negative_component)["settlement_id"]
    for frame in (his, platform):
        frame.loc[frame["settlement_id"].isin(negatives), "cash_fen"] = -5_00
    truth |= {("negative_component", s, "") for s in negatives}

    duplicated = take(faults.duplicate_settlement)
    his = pd.concat([his, his[his["settlement_id"].isin(duplicated["settlement_id"])]], ignore_index=True)
    truth |= {("duplicate_settlement", s, "") for s in duplicated["settlement_id"]}

    totals = platform_totals(platform)
    for k in range(faults.total_mismatch):
        kind = TYPES[k % len(TYPES)]
        row = totals.index[totals["insurance_type"] == kind][0]
        totals.loc[row, "pooled_fen"] += 3_00
        truth.add(("total_mismatch", kind, "pooled"))
    his = his.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    platform = platform.sample(frac=1.0, random_state=seed + 1).reset_index(drop=True)
    return SampleDays(his, platform, totals, truth)


# ------------------------------------------------------------------------------------------------- files

def yuan_texts(fen: pd.Series) -> pd.Series:
    """Integer fen as the yuan text a file carries (``-12.05``), without floats."""
    values = fen.astype(np.int64)
    magnitude = values.abs()
    sign = np.where(values < 0, "-", "")
    return pd.Series(sign, index=fen.index) + (magnitude // 100).astype(str) + "." + (
        magnitude % 100).astype(str).str.zfill(2)


def _header(kind: str, canon: str, renamed: bool) -> str:
    aliases = column_map(kind).columns[canon]
    return aliases[1] if renamed and len(aliases) > 1 else aliases[0]


def write_table(frame: pd.DataFrame, kind: str, path: Path, *, renamed: bool = False, encoding: str = "utf-8",
                chinese_codes: bool = False, title: str | None = None) -> Path:
    """One canonical frame as the CSV a source delivers (headers from the column map, amounts in yuan)."""
    out = pd.DataFrame(index=frame.index)
    for canon in column_map(kind).columns:
        source = f"{canon}_fen" if f"{canon}_fen" in frame.columns else canon
        if source not in frame.columns:
            continue
        values = frame[source]
        if source.endswith("_fen"):
            values = yuan_texts(values)
        elif canon in ("settled_on", "issued_on"):
            values = values.map(lambda d: d.strftime("%Y/%m/%d") if chinese_codes else d.isoformat())
        elif chinese_codes and canon == "insurance_type":
            values = values.map(_TYPE_TEXT)
        elif chinese_codes and canon == "medical_category":
            values = values.map(_CATEGORY_TEXT)
        out[_header(kind, canon, renamed)] = values.fillna("")
    text = out.to_csv(index=False, lineterminator="\n")
    if title:
        text = f"{title}\n{text}"
    path.write_bytes(text.encode(encoding))
    return path


def write_day_files(sample: SampleDays, folder: Path, day: date) -> dict[str, Path]:
    """A day's three files: ``his.csv`` (GBK, renamed columns, Chinese values), ``platform.csv`` and
    ``platform-total.csv`` (UTF-8, the platform's own headers)."""
    folder.mkdir(parents=True, exist_ok=True)
    his = sample.his[sample.his["settled_on"] == day]
    platform = sample.platform[sample.platform["settled_on"] == day]
    totals = sample.totals[sample.totals["settled_on"] == day]
    return {
        "his": write_table(his, "his", folder / "his.csv", renamed=True, encoding="gbk", chinese_codes=True,
                           title=f"医保结算记录 {day.isoformat()}"),
        "platform": write_table(platform, "platform", folder / "platform.csv"),
        "platform_total": write_table(totals, "platform_total", folder / "platform-total.csv"),
    }


# ---------------------------------------------------------------------------------------------- a month

@dataclass
class SampleMonth:
    """A month's clearing statements, items, group settlements and bank receipts, with what must be found."""

    month: str
    statements: pd.DataFrame
    items: pd.DataFrame
    groups: pd.DataFrame
    receipts: pd.DataFrame
    truth: set[tuple[str, str, str]] = field(default_factory=set)


def generate_clearing(month: str, hospital: str, *, seed: int = 11, cases: int = 400,
                      unbalanced: str | None = None, late: str | None = "offsite") -> SampleMonth:
    """The fund's clearing of ``month``: one statement per insurance type, issued on the 20th of the next
    month; the disbursement of ``late`` arrives after the run (no bank receipt); ``unbalanced`` names an
    insurance type whose statement's parts do not add up."""
    rng = np.random.default_rng(seed)
    _, last = month_days(month)
    issued = last + timedelta(days=20)
    statements, items = [], []
    for k, kind in enumerate(TYPES):
        declared = int(rng.integers(5_000_000_00, 9_000_000_00)) if kind != "offsite" else 80_000_000
        n_items = int(rng.integers(6, 12))
        for j in range(n_items):
            items.append({
                "statement_no": f"QS{month.replace('-', '')}{k}", "kind": "refused" if j % 3 else "deducted",
                "settlement_id": f"JS{seed:02d}{k}{j:07d}", "department": f"D{1 + (j % 5):02d}",
                "item_code": f"X{j:05d}", "item_name": ["超限用药", "重复收费", "超标准收费", "分解住院"][j % 4],
                "amount_fen": int(rng.integers(1_000, 500_000)), "reason_code": f"R{j % 4}",
                "reason": ["超出限定支付范围", "重复收取费用", "超出物价标准", "分解住院"][j % 4]})
        mine = [i for i in items if i["statement_no"] == f"QS{month.replace('-', '')}{k}"]
        refused = sum(i["amount_fen"] for i in mine if i["kind"] == "refused")
        deducted = sum(i["amount_fen"] for i in mine if i["kind"] == "deducted")
        approved = declared - refused - deducted
        retained = approved * 5 // 100
        disbursed = approved - retained
        statements.append({"hospital": hospital, "month": month, "insurance_type": kind,
                           "statement_no": f"QS{month.replace('-', '')}{k}", "issued_on": issued,
                           "declared_fen": declared, "approved_fen": approved, "refused_fen": refused,
                           "deducted_fen": deducted, "retained_fen": retained,
                           "disbursed_fen": disbursed + (1_00 if kind == unbalanced else 0)})
    statements_frame = pd.DataFrame(statements)
    truth: set[tuple[str, str, str]] = set()
    if unbalanced:
        truth.add(("statement_unbalanced", unbalanced, ""))
    receipts = [{"line_id": f"B{month}{k}", "booked_at": issued + timedelta(days=3 + k),
                 "amount_fen": int(s["disbursed_fen"]), "reference": f"YB{month.replace('-', '')}{k}",
                 "memo": f"医保基金拨付 {s['statement_no']}", "counterparty_name": "市医疗保障基金"}
                for k, s in enumerate(statements) if s["insurance_type"] != late]
    if late:
        truth.add(("disbursement_unmatched", late, ""))
    groups = _groups(rng, month, cases)
    return SampleMonth(month, statements_frame, pd.DataFrame(items), groups, pd.DataFrame(receipts), truth)


def _groups(rng: np.random.Generator, month: str, cases: int) -> pd.DataFrame:
    codes = [f"G{g:03d}" for g in range(1, 21)]
    group = rng.choice(np.array(codes), cases)
    weight_milli = {c: int(rng.integers(400, 3_000)) for c in codes}
    rate = 12_000  # yuan per unit weight
    payment = np.array([weight_milli[g] * rate // 10 for g in group], dtype=np.int64)  # fen
    charge = (payment * rng.uniform(0.7, 1.3, cases)).astype(np.int64)
    return pd.DataFrame({
        "month": month, "case_id": [f"C{month.replace('-', '')}{i:06d}" for i in range(cases)],
        "settlement_id": [f"JSG{i:08d}" for i in range(cases)],
        "insurance_type": rng.choice(np.array(TYPES[:2]), cases), "department": [f"D{v:02d}" for v in
                                                                                 rng.integers(1, 9, cases)],
        "method": "drg", "group_code": group,
        "weight": [f"{weight_milli[g] / 1000:.3f}" for g in group], "rate": f"{rate}.00",
        "payment_fen": payment, "charge_fen": charge})


def write_month_files(sample: SampleMonth, folder: Path) -> dict[str, Path]:
    """The month's clearing statement, its items and the group settlements as the fund's files."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "clearing": write_table(sample.statements, "clearing", folder / "clearing.csv", encoding="gbk",
                                chinese_codes=True),
        "clearing_items": write_table(sample.items, "clearing_items", folder / "clearing-items.csv",
                                      encoding="gbk"),
        "group": write_table(sample.groups, "group", folder / "group.csv"),
    }
