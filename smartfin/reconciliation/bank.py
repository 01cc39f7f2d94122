"""Bank reconciliation: statement lines against ledger entries, in passes from surest to loosest.

Pure functions over DataFrames; storage lives in :mod:`smartfin.reconciliation.store`. Every amount is
integer fen (int64) and every candidate search is a sorted-key range query, so a year of a large
hospital's account (a million lines a side) is matched in seconds without an all-pairs merge.

Passes, each on what the earlier ones left:

1. reference exact — the payer's reference is the strongest evidence there is;
2. amount + date window — first where the counterparty agrees too, then on amount alone; hospital amounts
   cluster (registration fees of 5, 10, 20, 50 yuan), so several tying candidates, or an amount that is
   common, never yield an automatic match: they go to review;
3. one-to-many and many-to-one — one bank credit settling several entries of the same counterparty or
   reference prefix within the window, by bounded subset search;
4. fee tolerance — a net credit equal to a gross entry minus a fee within tolerance.

Sign convention: both sides are signed from the bank account's point of view, money in positive.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from smartfin.kernel.clock import HOSPITAL_TZ
from smartfin.reconciliation.text import name_similarity, normalise_name

_DAY_BITS = 20  # day numbers relative to the earliest date, far more than any statement span


class MatchStatus(StrEnum):
    """Life of a match or exception; only ``pending``, ``auto-matched`` and ``suggested`` are replaced
    when a day is re-run, human decisions stay."""

    PENDING = "pending"
    AUTO_MATCHED = "auto-matched"
    SUGGESTED = "suggested"
    RESOLVED = "resolved"
    WRITTEN_OFF = "written off"


HUMAN_STATUSES = frozenset({MatchStatus.RESOLVED, MatchStatus.WRITTEN_OFF})

#: the fields each rule compares, recorded in every match's reason
RULE_FIELDS: dict[str, tuple[str, ...]] = {
    "reference": ("reference", "amount_fen"),
    "reference+fee": ("reference", "amount_fen", "fee tolerance"),
    "reference-amount-differs": ("reference", "amount_fen"),
    "amount+counterparty+date": ("amount_fen", "counterparty", "date"),
    "amount+date": ("amount_fen", "date", "counterparty"),
    "one-to-many": ("amount_fen sum", "date", "reference prefix or counterparty"),
    "many-to-one": ("amount_fen sum", "date", "reference prefix or counterparty"),
    "fee-tolerance": ("amount_fen", "fee tolerance", "date", "counterparty"),
}


@dataclass(frozen=True)
class FeeTolerance:
    """How much a bank may keep as a fee: up to ``percent`` of the gross or ``absolute_fen``, the larger.

    Percent covers card and channel fees (0.6 % is common); the absolute amount covers fixed transfer
    charges. Both are hospital policy, so they are settings, not constants.
    """

    percent: Decimal = Decimal("0.01")
    absolute_fen: int = 200

    def max_fee_fen(self, gross_fen: np.ndarray) -> np.ndarray:
        """Largest acceptable fee for each gross amount (rounded up to the fen)."""
        scaled = int(self.percent * 1_000_000)
        pct = (np.abs(gross_fen) * scaled + 999_999) // 1_000_000
        return np.maximum(pct, self.absolute_fen)


@dataclass(frozen=True)
class MatchSettings:
    """Thresholds of the bank matcher; defaults follow common practice and are meant to be tuned."""

    date_window_days: int = 3
    auto_threshold: int = 85
    suggest_threshold: int = 60
    fee: FeeTolerance = field(default_factory=FeeTolerance)
    #: candidate pairs are materialised for a line only up to this many candidates
    max_candidates: int = 12
    #: an amount seen at least this often on the ledger is "clustered" (registration fees, round sums)
    cluster_min_count: int = 20
    #: one-to-many: at most this many candidate entries are searched, in subsets of at most this size
    max_group_items: int = 12
    max_subset_size: int = 5
    #: a ledger reference minus this suffix is the batch reference a bank credit may carry
    reference_suffix: str = r"[-_/#.]\d{1,4}$"

    def status_for(self, score: int) -> MatchStatus | None:
        if score >= self.auto_threshold:
            return MatchStatus.AUTO_MATCHED
        if score >= self.suggest_threshold:
            return MatchStatus.SUGGESTED
        return None


@dataclass(frozen=True)
class BankMatchResult:
    """The matcher's answer: matches with score and reason, links to items, and what is left over.

    ``matches`` has one row per match (``match_no``, ``rule``, ``score``, ``status``, ``basis``,
    ``bank_amount_fen``, ``ledger_amount_fen``, ``difference_fen``, ``lag_days``, ``similarity``,
    ``candidates``); ``links`` one row per matched item (``match_no``, ``side``, ``item_id``).
    """

    matches: pd.DataFrame
    links: pd.DataFrame
    unmatched_bank: pd.DataFrame
    unmatched_ledger: pd.DataFrame
    settings: MatchSettings
    bank_lines: pd.DataFrame
    ledger: pd.DataFrame
    outcome: str = "matched"

    def reason(self, match_no: int) -> dict[str, Any]:
        """The explanation stored with a match: rule, score, fields compared and what was found."""
        row = self.matches.loc[self.matches["match_no"] == match_no].iloc[0]
        return reason_of(row)

    def pairs(self, statuses: tuple[str, ...] | None = None) -> pd.DataFrame:
        """Every (bank_id, ledger_id) pair implied by the matches, for comparison with other results."""
        links = self.links
        if statuses is not None:
            keep = self.matches.loc[self.matches["status"].isin(statuses), "match_no"]
            links = links[links["match_no"].isin(keep)]
        bank = links[links["side"] == "bank"][["match_no", "item_id"]].rename(columns={"item_id": "bank_id"})
        ledger = links[links["side"] == "ledger"][["match_no", "item_id"]].rename(
            columns={"item_id": "ledger_id"})
        return bank.merge(ledger, on="match_no")


def reason_of(row: Any) -> dict[str, Any]:
    """A JSON-ready reason for one row of ``BankMatchResult.matches``."""
    return {
        "rule": row["rule"], "score": int(row["score"]), "basis": row["basis"],
        "fields": list(RULE_FIELDS.get(row["rule"], ())),
        "bank_amount_fen": int(row["bank_amount_fen"]), "ledger_amount_fen": int(row["ledger_amount_fen"]),
        "difference_fen": int(row["difference_fen"]), "lag_days": int(row["lag_days"]),
        "counterparty_similarity": float(row["similarity"]), "candidates": int(row["candidates"]),
    }


# ----------------------------------------------------------------------------------------------------
# preparation


def day_numbers(values: pd.Series) -> np.ndarray:
    """Calendar days (Asia/Shanghai) since 1970 as int64, from dates, naive or aware datetimes."""
    series = values
    if not pd.api.types.is_datetime64_any_dtype(series):
        series = pd.to_datetime(series)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert(HOSPITAL_TZ).dt.tz_localize(None)
    return series.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def _codes(*columns: pd.Series, normalise: Any) -> list[np.ndarray]:
    """Shared integer codes for normalised text across several columns; -1 for empty.

    Normalisation runs once per distinct raw value, not per row: a million lines carry a few thousand
    counterparty names.
    """
    raw = pd.concat([c.astype(object).fillna("") for c in columns], ignore_index=True)
    raw_codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    normal = pd.Series([normalise(str(u)) for u in uniques], dtype=object)
    norm_codes, _ = pd.factorize(normal)
    empty = (normal == "").to_numpy()
    norm_codes = np.where(empty, -1, norm_codes)
    out = np.where(raw_codes >= 0, norm_codes[np.maximum(raw_codes, 0)], -1).astype(np.int64)
    result, start = [], 0
    for column in columns:
        result.append(out[start:start + len(column)])
        start += len(column)
    return result


def _normalise_reference(text: str) -> str:
    return text.strip().upper()


@dataclass
class _Side:
    """One side's columns as numpy arrays; ``free`` marks items no pass has used yet."""

    ids: np.ndarray
    day: np.ndarray
    amt: np.ndarray
    ref: np.ndarray
    cp: np.ndarray
    names: np.ndarray
    refs_text: np.ndarray
    free: np.ndarray


class _Collector:
    """Accumulates matches from every pass as flat arrays, the form the final frames are built from."""

    def __init__(self) -> None:
        self.rows: list[dict[str, np.ndarray]] = []
        self.groups: list[tuple[list[int], list[int], dict[str, Any]]] = []

    def add_pairs(self, b: np.ndarray, l_: np.ndarray, **cols: Any) -> None:
        n = len(b)
        if n == 0:
            return
        row = {"b": b.astype(np.int64), "l": l_.astype(np.int64)}
        for key, value in cols.items():
            row[key] = np.broadcast_to(np.asarray(value), (n,)).copy()
        self.rows.append(row)

    def add_group(self, b: list[int], l_: list[int], **cols: Any) -> None:
        self.groups.append((b, l_, cols))


# ----------------------------------------------------------------------------------------------------
# candidate search


def _range_candidates(key_sorted: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    start = np.searchsorted(key_sorted, lo, "left")
    end = np.searchsorted(key_sorted, hi, "right")
    return start, end - start


def _expand(rows: np.ndarray, start: np.ndarray, count: np.ndarray, order: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (row, order[start..start+count)) for every row, without a Python loop."""
    total = int(count.sum())
    if total == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    left = np.repeat(rows, count)
    first = np.repeat(np.cumsum(count) - count, count)
    offs = np.arange(total) - first + np.repeat(start, count)
    return left, order[offs]


def _window_search(b_grp: np.ndarray, b_day: np.ndarray, l_grp: np.ndarray, l_day: np.ndarray,
                   window: int, cap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Same-group candidates within ±window days: full counts per side, and pairs for small counts.

    Returns (count per bank item, count per ledger item, pair bank positions, pair ledger positions);
    pairs are produced only for bank items with at most ``cap`` candidates.
    """
    base = int(min(b_day.min(initial=0), l_day.min(initial=0))) - window - 1
    shift = np.int64(_DAY_BITS)
    l_key = (l_grp << shift) | (l_day - base)
    b_key = (b_grp << shift) | (b_day - base)
    l_order = np.argsort(l_key, kind="stable")
    b_order = np.argsort(b_key, kind="stable")
    start, cnt_b = _range_candidates(l_key[l_order], b_key - window, b_key + window)
    _, cnt_l = _range_candidates(b_key[b_order], l_key - window, l_key + window)
    small = np.flatnonzero((cnt_b > 0) & (cnt_b <= cap))
    pb, pl = _expand(small, start[small], cnt_b[small], l_order)
    return cnt_b, cnt_l, pb, pl


def _group_codes(*arrays: np.ndarray) -> np.ndarray:
    """One dense code per distinct tuple of integer arrays (amount, counterparty, ...)."""
    code = pd.factorize(arrays[0])[0].astype(np.int64)
    for arr in arrays[1:]:
        other = pd.factorize(arr)[0].astype(np.int64)
        code = pd.factorize(code * (int(other.max(initial=0)) + 1) + other)[0].astype(np.int64)
    return code


def _similarities(bank: _Side, ledger: _Side, pb: np.ndarray, pl: np.ndarray) -> np.ndarray:
    """Counterparty similarity per pair, computed once per distinct pair of names."""
    sim = np.zeros(len(pb), dtype=np.float64)
    cb, cl = bank.cp[pb], ledger.cp[pl]
    known = (cb >= 0) & (cl >= 0)
    sim[known & (cb == cl)] = 1.0
    fuzzy = np.flatnonzero(known & (cb != cl))
    if len(fuzzy):
        pair_key = cb[fuzzy] * (int(max(cl.max(), 0)) + 1) + cl[fuzzy]
        codes, uniques = pd.factorize(pair_key)
        first = np.zeros(len(uniques), dtype=np.int64)
        first[codes[::-1]] = fuzzy[::-1]
        values = np.array([name_similarity(str(bank.names[pb[i]]), str(ledger.names[pl[i]])) for i in first])
        sim[fuzzy] = values[codes]
    return sim


# ----------------------------------------------------------------------------------------------------
# passes


def _pass_reference(bank: _Side, ledger: _Side, s: MatchSettings, out: _Collector) -> None:
    """Pass 1: a reference that occurs once on each side pairs its lines, whatever the dates."""
    nref = int(max(bank.ref.max(initial=-1), ledger.ref.max(initial=-1))) + 1
    if nref == 0:
        return
    bmask, lmask = bank.ref >= 0, ledger.ref >= 0
    cnt_b = np.bincount(bank.ref[bmask], minlength=nref)
    cnt_l = np.bincount(ledger.ref[lmask], minlength=nref)
    where_l = np.full(nref, -1, dtype=np.int64)
    where_l[ledger.ref[lmask]] = np.flatnonzero(lmask)
    b = np.flatnonzero(bmask & bank.free)
    b = b[(cnt_b[bank.ref[b]] == 1) & (cnt_l[bank.ref[b]] == 1)]
    l_ = where_l[bank.ref[b]]
    keep = ledger.free[l_]
    b, l_ = b[keep], l_[keep]
    diff = bank.amt[b] - ledger.amt[l_]
    lag = np.abs(bank.day[b] - ledger.day[l_])
    fee = ledger.amt[l_] - bank.amt[b]
    fee_ok = (fee > 0) & (bank.amt[b] > 0) & (fee <= s.fee.max_fee_fen(ledger.amt[l_]))
    late = lag > s.date_window_days
    exact = diff == 0
    score_exact = np.where(late, 95, 100)
    sim = _similarities(bank, ledger, b, l_)
    for mask, rule, score, basis in (
        (exact, "reference", score_exact, "unique reference"),
        (~exact & fee_ok, "reference+fee", np.where(late, 88, 92), "unique reference, fee within tolerance"),
        (~exact & ~fee_ok, "reference-amount-differs", 65, "unique reference, amounts differ"),
    ):
        idx = np.flatnonzero(mask)
        out.add_pairs(b[idx], l_[idx], rule=rule, score=np.asarray(score)[idx] if np.ndim(score) else score,
                      basis=basis, lag=lag[idx], sim=sim[idx], candidates=1)
    bank.free[b] = False
    ledger.free[l_] = False


def _pick(pb: np.ndarray, pl: np.ndarray, score: np.ndarray, order_key: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best-first one-to-one choice among scored pairs: each item used at most once."""
    frame = pd.DataFrame({"b": pb, "l": pl, "score": score, "key": order_key, "i": np.arange(len(pb))})
    frame = frame.sort_values(["score", "key"], ascending=[False, True], kind="stable")
    chosen = []
    for _ in range(16):  # later rounds let a line whose first choice was taken fall back to its next
        if frame.empty:
            break
        picked = frame.drop_duplicates("b").drop_duplicates("l")
        chosen.append(picked["i"].to_numpy())
        frame = frame[~frame["b"].isin(picked["b"]) & ~frame["l"].isin(picked["l"])]
    idx = np.concatenate(chosen) if chosen else np.empty(0, np.int64)
    return pb[idx], pl[idx], idx


def _pass_amount_counterparty(bank: _Side, ledger: _Side, s: MatchSettings, out: _Collector) -> None:
    """Pass 2a: same amount and same counterparty, the only such pair within the window on both sides."""
    b = np.flatnonzero(bank.free & (bank.cp >= 0))
    l_ = np.flatnonzero(ledger.free & (ledger.cp >= 0))
    if not len(b) or not len(l_):
        return
    grp = _group_codes(np.concatenate([bank.amt[b], ledger.amt[l_]]), np.concatenate([bank.cp[b], ledger.cp[l_]]))
    cnt_b, cnt_l, pb, pl = _window_search(grp[:len(b)], bank.day[b], grp[len(b):], ledger.day[l_],
                                          s.date_window_days, 1)
    unique = (cnt_b[pb] == 1) & (cnt_l[pl] == 1)
    pb, pl = b[pb[unique]], l_[pl[unique]]
    lag = np.abs(bank.day[pb] - ledger.day[pl])
    out.add_pairs(pb, pl, rule="amount+counterparty+date", score=np.clip(96 - 2 * lag, 0, 100),
                  basis="only candidate with this amount and counterparty", lag=lag, sim=1.0, candidates=1)
    bank.free[pb] = False
    ledger.free[pl] = False


def _pass_amount_date(bank: _Side, ledger: _Side, s: MatchSettings, out: _Collector,
                      ledger_amount_counts: pd.Series) -> None:
    """Pass 2b: same amount within the window; confidence depends on ties and how common the amount is.

    A pair is automatic only when it is the sole candidate on both sides and the amount is not a
    clustered one, or when the counterparty singles it out among several. Everything else is a
    suggestion carrying the number of candidates, so a reviewer sees why it was not trusted.
    """
    b = np.flatnonzero(bank.free)
    l_ = np.flatnonzero(ledger.free)
    if not len(b) or not len(l_):
        return
    grp = _group_codes(np.concatenate([bank.amt[b], ledger.amt[l_]]))
    cnt_b, cnt_l, qb, ql = _window_search(grp[:len(b)], bank.day[b], grp[len(b):], ledger.day[l_],
                                          s.date_window_days, s.max_candidates)
    pb, pl = b[qb], l_[ql]
    lag = np.abs(bank.day[pb] - ledger.day[pl])
    sim = _similarities(bank, ledger, pb, pl)
    clustered = ledger_amount_counts.reindex(ledger.amt[pl]).fillna(0).to_numpy() >= s.cluster_min_count
    n_b, n_l = cnt_b[qb], cnt_l[ql]
    # ledger items whose every candidate was materialised: only then is their side of a tie known
    materialised = np.bincount(ql, minlength=len(l_))
    complete_l = materialised[ql] == n_l
    frame = pd.DataFrame({"qb": qb, "ql": ql, "sim": sim, "lag": lag})
    by_b = frame.groupby("qb")["sim"]
    by_l = frame.groupby("ql")["sim"]
    best_b, second_b = by_b.transform("max").to_numpy(), _second(frame, "qb", "sim")
    best_l, second_l = by_l.transform("max").to_numpy(), _second(frame, "ql", "sim")
    lag_b_min = frame.groupby("qb")["lag"].transform("min").to_numpy()
    lag_b_second = _second(frame, "qb", "lag", smallest=True)

    unique = (n_b == 1) & (n_l == 1)
    singled_out = (~unique & complete_l & (sim >= 0.8) & (sim == best_b) & (sim == best_l)
                   & (second_b < 0.5) & (second_l < 0.5))
    closest = ~unique & ~singled_out & (lag == lag_b_min) & (lag < lag_b_second) & (sim == best_b)
    score = np.full(len(pb), 62, dtype=np.int64)  # a tie: review with all candidates counted
    score = np.where(closest, 70 - lag, score)
    score = np.where(singled_out, 90 - lag, score)
    unique_score = np.where(clustered & (sim < 0.8), 76, 94) - 2 * lag + np.where(sim >= 0.8, 2, 0)
    score = np.where(unique, unique_score, score)
    basis = np.select([unique & clustered & (sim < 0.8), unique, singled_out, closest],
                      ["only candidate, but a clustered amount", "only candidate",
                       "counterparty singles it out", "closest date"], "candidates tie")
    pb, pl, idx = _pick(pb, pl, score, lag)
    out.add_pairs(pb, pl, rule="amount+date", score=score[idx], basis=basis[idx], lag=lag[idx],
                  sim=sim[idx], candidates=np.maximum(n_b[idx], n_l[idx]))
    bank.free[pb] = False
    ledger.free[pl] = False
    _pair_clusters(bank, ledger, s, out)


def _second(frame: pd.DataFrame, by: str, col: str, smallest: bool = False) -> np.ndarray:
    """The runner-up value of ``col`` within each ``by`` group (−inf/+inf when there is none)."""
    ordered = frame.sort_values([by, col], ascending=[True, smallest], kind="stable")
    rank = ordered.groupby(by).cumcount().to_numpy()
    second = ordered.loc[rank == 1, [by, col]].set_index(by)[col]
    fill = np.inf if smallest else -np.inf
    return frame[by].map(second).fillna(fill).to_numpy()


def _pair_clusters(bank: _Side, ledger: _Side, s: MatchSettings, out: _Collector) -> None:
    """Lines with too many same-amount candidates, paired in day order for review only.

    Identical registration fees on one day cannot be told apart by amount and date; pairing them by
    order gives the reviewer a proposal, never an automatic match.
    """
    b = np.flatnonzero(bank.free)
    l_ = np.flatnonzero(ledger.free)
    if not len(b) or not len(l_):
        return
    bf = pd.DataFrame({"i": b, "amt": bank.amt[b], "day": bank.day[b]})
    lf = pd.DataFrame({"j": l_, "amt": ledger.amt[l_], "day": ledger.day[l_]})
    counts = lf.groupby(["amt", "day"]).size().rename("n")
    big = counts[counts > s.max_candidates]
    if big.empty:
        return
    bf = bf.join(big, on=["amt", "day"], how="inner")
    lf = lf.join(big, on=["amt", "day"], how="inner")
    bf["rank"] = bf.groupby(["amt", "day"]).cumcount()
    lf["rank"] = lf.groupby(["amt", "day"]).cumcount()
    pairs = bf.merge(lf[["j", "amt", "day", "rank"]], on=["amt", "day", "rank"])
    pb, pl = pairs["i"].to_numpy(), pairs["j"].to_numpy()
    out.add_pairs(pb, pl, rule="amount+date", score=60, basis="clustered amount, paired by order",
                  lag=0, sim=_similarities(bank, ledger, pb, pl), candidates=pairs["n"].to_numpy())
    bank.free[pb] = False
    ledger.free[pl] = False


def _pools(items: np.ndarray, keys: np.ndarray, days: np.ndarray) -> dict[Any, tuple[np.ndarray, np.ndarray]]:
    """Items grouped by key, each group sorted by day so a date window is a binary search."""
    if not len(items):
        return {}
    codes, uniques = pd.factorize(pd.Series(keys, dtype=object))
    order = np.lexsort((days[items], codes))
    items, codes = items[order], codes[order]
    bounds = np.flatnonzero(np.diff(codes)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(items)]])
    item_days = days[items]
    return {uniques[codes[a]]: (items[a:b], item_days[a:b]) for a, b in zip(starts, ends, strict=True)}


@lru_cache(maxsize=64)
def _subset_masks(n: int, max_size: int) -> np.ndarray:
    """0/1 matrix of every subset of ``n`` items with 2..max_size members (rows), for vector sums."""
    rows = [c for k in range(2, min(n, max_size) + 1) for c in itertools.combinations(range(n), k)]
    masks = np.zeros((len(rows), n), dtype=np.int64)
    for r, combo in enumerate(rows):
        masks[r, list(combo)] = 1
    return masks


def _aggregate_pass(one: _Side, many: _Side, s: MatchSettings, out: _Collector, one_is_bank: bool,
                    suffix: re.Pattern[str]) -> None:
    """Pass 3: one item of ``one`` settling several of ``many`` (same reference prefix or counterparty).

    Candidates are the free ``many`` items of the same key within the window, nearest dates first and at
    most ``max_group_items``; all of them summing to the amount is the usual batch settlement and is
    automatic, a unique smaller subset is a suggestion, several fitting subsets are left unmatched.
    """
    oi = np.flatnonzero(one.free)
    mi = np.flatnonzero(many.free)
    if not len(oi) or len(mi) < 2:
        return
    m_prefix = np.array([suffix.sub("", _normalise_reference(str(t))) for t in many.refs_text[mi]], dtype=object)
    o_refs = np.array([_normalise_reference(str(t)) for t in one.refs_text[oi]], dtype=object)
    by_prefix = _pools(mi[m_prefix != ""], m_prefix[m_prefix != ""], many.day)
    with_cp = mi[many.cp[mi] >= 0]
    by_cp = _pools(with_cp, many.cp[with_cp], many.day)
    window = s.date_window_days
    crowd = 4 * s.max_group_items
    for pos, ref in zip(oi, o_refs, strict=True):
        for key_kind, pool in (("reference prefix", by_prefix.get(ref) if ref else None),
                               ("counterparty", by_cp.get(int(one.cp[pos])) if one.cp[pos] >= 0 else None)):
            if pool is None:
                continue
            items, days = pool
            lo = np.searchsorted(days, one.day[pos] - window, "left")
            hi = np.searchsorted(days, one.day[pos] + window, "right")
            if hi - lo < 2 or hi - lo > crowd:  # too many same-key items in the window: not decidable
                continue
            cand = items[lo:hi]
            cand = cand[many.free[cand]]
            if len(cand) < 2:
                continue
            lags = np.abs(many.day[cand] - one.day[pos])
            cand, lags = cand[lags <= window], lags[lags <= window]
            if len(cand) < 2:
                continue
            near = np.argsort(lags, kind="stable")[: s.max_group_items]
            cand, lags = cand[near], lags[near]
            target = one.amt[pos]
            amounts = many.amt[cand]
            chosen: np.ndarray | None = None
            if amounts.sum() == target:
                chosen, score, basis = cand, (95 if key_kind == "reference prefix" else 88), f"all {key_kind} items"
            else:
                masks = _subset_masks(len(cand), s.max_subset_size)
                hits = np.flatnonzero(masks @ amounts == target)
                if len(hits) == 1:
                    chosen = cand[masks[hits[0]].astype(bool)]
                    score = 80 if key_kind == "reference prefix" else 72
                    basis = f"unique subset of {len(cand)} {key_kind} items"
            if chosen is None:
                continue
            many.free[chosen] = False
            one.free[pos] = False
            rule = "one-to-many" if one_is_bank else "many-to-one"
            lag = int(np.abs(many.day[chosen] - one.day[pos]).max())
            sims = [name_similarity(str(one.names[pos]), str(many.names[c])) for c in chosen]
            items = [int(c) for c in chosen]
            b_items, l_items = ([int(pos)], items) if one_is_bank else (items, [int(pos)])
            out.add_group(b_items, l_items, rule=rule, score=score, basis=basis, lag=lag,
                          sim=min(sims) if sims else 0.0, candidates=len(cand))
            break


def _pass_fee(bank: _Side, ledger: _Side, s: MatchSettings, out: _Collector) -> None:
    """Pass 4: a bank credit a little below a ledger receipt, the gap within the fee tolerance."""
    b = np.flatnonzero(bank.free & (bank.amt > 0))
    l_ = np.flatnonzero(ledger.free & (ledger.amt > 0))
    if not len(b) or not len(l_):
        return
    window = s.date_window_days
    base = int(min(bank.day[b].min(), ledger.day[l_].min())) - window - 1
    amt_bits = np.int64(42)
    amt_off = np.int64(1) << (amt_bits - 1)
    l_key = ((ledger.day[l_] - base) << amt_bits) | (ledger.amt[l_] + amt_off)
    order = np.argsort(l_key, kind="stable")
    key_sorted = l_key[order]
    # bound the gross from the net: gross − fee(gross) = net  ⇒  gross ≤ net / (1 − pct) (or net + abs)
    pct = float(s.fee.percent)
    max_gross = np.maximum(np.ceil(bank.amt[b] / max(1e-9, 1 - pct)).astype(np.int64),
                           bank.amt[b] + s.fee.absolute_fen)
    pbs, pls = [], []
    for offset in range(-window, window + 1):
        day = (bank.day[b] + offset - base) << amt_bits
        start, cnt = _range_candidates(key_sorted, day | (bank.amt[b] + 1 + amt_off), day | (max_gross + amt_off))
        small = np.flatnonzero((cnt > 0) & (cnt <= s.max_candidates))
        pb, pl = _expand(small, start[small], cnt[small], order)
        pbs.append(pb)
        pls.append(pl)
    qb, ql = np.concatenate(pbs), np.concatenate(pls)
    if not len(qb):
        return
    pb, pl = b[qb], l_[ql]
    fee = ledger.amt[pl] - bank.amt[pb]
    ok = fee <= s.fee.max_fee_fen(ledger.amt[pl])
    qb, ql, pb, pl, fee = qb[ok], ql[ok], pb[ok], pl[ok], fee[ok]
    n_b = np.bincount(qb, minlength=len(b))[qb]
    n_l = np.bincount(ql, minlength=len(l_))[ql]
    lag = np.abs(bank.day[pb] - ledger.day[pl])
    sim = _similarities(bank, ledger, pb, pl)
    unique = (n_b == 1) & (n_l == 1)
    score = np.where(unique & (sim >= 0.8), 90 - lag, np.where(unique, 74 - lag, 62))
    basis = np.where(unique & (sim >= 0.8), "only fee candidate, same counterparty",
                     np.where(unique, "only fee candidate", "several fee candidates"))
    pb, pl, idx = _pick(pb, pl, score, lag)
    out.add_pairs(pb, pl, rule="fee-tolerance", score=score[idx], basis=basis[idx], lag=lag[idx],
                  sim=sim[idx], candidates=np.maximum(n_b[idx], n_l[idx]))
    bank.free[pb] = False
    ledger.free[pl] = False


# ----------------------------------------------------------------------------------------------------
# entry point

BANK_COLUMNS = ("line_id", "booked_at", "amount_fen", "reference", "counterparty_name")
LEDGER_COLUMNS = ("entry_id", "date", "amount_fen", "reference", "counterparty")


def match_bank(bank_lines: pd.DataFrame, ledger: pd.DataFrame,
               settings: MatchSettings | None = None) -> BankMatchResult:
    """Match statement lines (canonical statement frame) with ledger entries.

    ``ledger`` needs ``entry_id``, ``date``, ``amount_fen``, ``reference``, ``counterparty``. An empty
    statement is the explicit ``no_data`` outcome: nothing is matched and every entry stays open.
    """
    s = settings or MatchSettings()
    for frame, needed, name in ((bank_lines, BANK_COLUMNS, "bank lines"), (ledger, LEDGER_COLUMNS, "ledger")):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} lack columns {missing}")
        if len(frame) and frame["amount_fen"].dtype.kind != "i":
            raise TypeError(f"{name}: amount_fen must be integer fen, got {frame['amount_fen'].dtype}")
    if bank_lines.empty:
        return _result(bank_lines, ledger, _Collector(), None, None, s, outcome="no_data")
    b_ref, l_ref = _codes(bank_lines["reference"], ledger["reference"], normalise=_normalise_reference)
    b_cp, l_cp = _codes(bank_lines["counterparty_name"], ledger["counterparty"], normalise=normalise_name)
    bank = _Side(bank_lines["line_id"].to_numpy(dtype=object), day_numbers(bank_lines["booked_at"]),
                 bank_lines["amount_fen"].to_numpy(dtype=np.int64), b_ref, b_cp,
                 bank_lines["counterparty_name"].to_numpy(dtype=object),
                 bank_lines["reference"].to_numpy(dtype=object), np.ones(len(bank_lines), dtype=bool))
    led = _Side(ledger["entry_id"].to_numpy(dtype=object), day_numbers(ledger["date"]),
                ledger["amount_fen"].to_numpy(dtype=np.int64), l_ref, l_cp,
                ledger["counterparty"].to_numpy(dtype=object),
                ledger["reference"].to_numpy(dtype=object), np.ones(len(ledger), dtype=bool))
    out = _Collector()
    _pass_reference(bank, led, s, out)
    _pass_amount_counterparty(bank, led, s, out)
    _pass_amount_date(bank, led, s, out, pd.Series(led.amt).value_counts())
    suffix = re.compile(s.reference_suffix)
    _aggregate_pass(bank, led, s, out, True, suffix)
    _aggregate_pass(led, bank, s, out, False, suffix)
    _pass_fee(bank, led, s, out)
    return _result(bank_lines, ledger, out, bank, led, s)


def _result(bank_lines: pd.DataFrame, ledger: pd.DataFrame, out: _Collector, bank: _Side | None,
            led: _Side | None, s: MatchSettings, outcome: str = "matched") -> BankMatchResult:
    """Frames from the collected matches; matches scoring below the suggestion threshold are dropped."""
    cols = ["rule", "score", "basis", "lag", "sim", "candidates"]
    if out.rows:
        flat = {k: np.concatenate([r[k] for r in out.rows]) for k in ["b", "l", *cols]}
    else:
        flat = {k: np.empty(0, dtype=object if k in ("rule", "basis") else np.int64) for k in ["b", "l", *cols]}
    pairs = pd.DataFrame({k: flat[k] for k in ["b", "l", *cols]})
    pairs["score"] = pairs["score"].astype(np.int64).clip(0, 100)
    pairs = pairs[pairs["score"] >= s.suggest_threshold].reset_index(drop=True)
    n_pairs = len(pairs)
    b_amt = bank.amt if bank is not None else np.empty(0, np.int64)
    l_amt = led.amt if led is not None else np.empty(0, np.int64)
    matches = pd.DataFrame({
        "match_no": np.arange(n_pairs, dtype=np.int64),
        "rule": pairs["rule"].astype(object), "score": pairs["score"].to_numpy(),
        "basis": pairs["basis"].astype(object),
        "bank_amount_fen": b_amt[pairs["b"].to_numpy(np.int64)],
        "ledger_amount_fen": l_amt[pairs["l"].to_numpy(np.int64)],
        "lag_days": pairs["lag"].astype(np.int64).to_numpy(),
        "similarity": pairs["sim"].astype(np.float64).to_numpy(),
        "candidates": pairs["candidates"].astype(np.int64).to_numpy(),
    })
    b_link = [pairs["b"].to_numpy(np.int64)]
    l_link = [pairs["l"].to_numpy(np.int64)]
    b_no = [matches["match_no"].to_numpy()]
    l_no = [matches["match_no"].to_numpy()]
    group_rows = []
    for k, (bs, ls, info) in enumerate(out.groups):
        if info["score"] < s.suggest_threshold:
            continue
        no = n_pairs + k
        group_rows.append({"match_no": no, "rule": info["rule"], "score": int(info["score"]),
                           "basis": info["basis"], "bank_amount_fen": int(b_amt[bs].sum()),
                           "ledger_amount_fen": int(l_amt[ls].sum()), "lag_days": int(info["lag"]),
                           "similarity": float(info["sim"]), "candidates": int(info["candidates"])})
        b_link.append(np.asarray(bs, np.int64))
        l_link.append(np.asarray(ls, np.int64))
        b_no.append(np.full(len(bs), no, np.int64))
        l_no.append(np.full(len(ls), no, np.int64))
    if group_rows:
        matches = pd.concat([matches, pd.DataFrame(group_rows)], ignore_index=True)
    matches["difference_fen"] = (matches["bank_amount_fen"] - matches["ledger_amount_fen"]).astype(np.int64)
    matches["status"] = np.where(matches["score"] >= s.auto_threshold, MatchStatus.AUTO_MATCHED.value,
                                 MatchStatus.SUGGESTED.value)
    bl, ll = np.concatenate(b_link), np.concatenate(l_link)
    bank_ids = bank_lines["line_id"].to_numpy(dtype=object)
    ledger_ids = ledger["entry_id"].to_numpy(dtype=object)
    links = pd.concat([
        pd.DataFrame({"match_no": np.concatenate(b_no), "side": "bank", "item_id": bank_ids[bl]}),
        pd.DataFrame({"match_no": np.concatenate(l_no), "side": "ledger", "item_id": ledger_ids[ll]}),
    ], ignore_index=True)
    used_b = np.zeros(len(bank_lines), bool)
    used_b[bl] = True
    used_l = np.zeros(len(ledger), bool)
    used_l[ll] = True
    return BankMatchResult(matches=matches, links=links, unmatched_bank=bank_lines[~used_b],
                           unmatched_ledger=ledger[~used_l], settings=s,
                           bank_lines=bank_lines, ledger=ledger, outcome=outcome)


def fen_to_yuan(fen: int) -> Decimal:
    """Integer fen as a yuan Decimal for reports (the edge where Decimal replaces int64)."""
    return (Decimal(int(fen)) / 100).quantize(Decimal("0.01"))

