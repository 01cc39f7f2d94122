"""Benchmark: bank matcher vs a naive amount + date merge on a year of a large hospital's account.

Generates bank lines and ledger entries with known truth (clustered registration fees, missing
references, date lags, fees kept by the bank, batch credits settling several entries, items on one side
only), runs each matcher in a fresh subprocess so peak RSS (``ru_maxrss``) is that matcher's own, and
prints seconds, peak memory, precision (over automatic matches) and recall against truth, with ratios.
Then times one day of three-way reconciliation for a 3,000-bed hospital.

    .venv/bin/python bench/bench_reconcile.py            # 1,000,000 lines a side
    .venv/bin/python bench/bench_reconcile.py --quick    # 100,000
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红鹏飞建国志海燕波宁宇晨欣怡浩然子涵梓轩")
CITIES = ["上海", "北京", "广州", "深圳", "杭州", "南京", "武汉",
          "成都", "重庆", "西安", "天津", "苏州", "长沙", "郑州"]
TRADES = ["医药", "医疗器械", "生物科技", "药业", "医用耗材",
          "检验试剂", "物业管理", "信息技术", "后勤服务", "设备维修"]
CLUSTER_AMOUNTS = np.array([500, 1000, 2000, 5000, 10000, 30000], dtype=np.int64)
CLUSTER_P = np.array([0.25, 0.30, 0.20, 0.15, 0.07, 0.03])


def _names(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    patients = np.array([a + b + c for a in SURNAMES for b in GIVEN for c in GIVEN[:30]], dtype=object)
    words = [a + b for a in GIVEN for b in GIVEN][:400]
    companies = np.array([f"{c}{w}{t}有限公司" for c in CITIES for w in words[:40] for t in TRADES],
                         dtype=object)
    rng.shuffle(patients)
    rng.shuffle(companies)
    return patients, companies


def generate(n: int, seed: int = 20240301) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(bank lines, ledger entries, truth pairs) with ``n`` rows a side."""
    rng = np.random.default_rng(seed)
    patients, companies = _names(rng)
    n_groups = int(n * 0.008)
    sizes = rng.integers(2, 5, n_groups)
    bank_only = int(n * 0.02)
    n11 = n - n_groups - bank_only
    ledger_only = n - n11 - int(sizes.sum())
    assert ledger_only >= 0
    days0 = np.datetime64("2024-01-01").astype(np.int64)

    # one-to-one pairs
    clustered = rng.random(n11) < 0.40
    amount = np.where(clustered, rng.choice(CLUSTER_AMOUNTS, n11, p=CLUSTER_P),
                      np.clip(np.exp(rng.normal(10.5, 2.0, n11)), 100, 5e9).astype(np.int64))
    round_sum = ~clustered & (rng.random(n11) < 0.10)
    amount = np.where(round_sum, np.maximum(amount // 10000, 1) * 10000, amount)
    sign = np.where(clustered | (rng.random(n11) < 0.7), 1, -1)
    ledger_amt = amount * sign
    fee_cut = (~clustered) & (sign > 0) & (rng.random(n11) < 0.05)
    fee = np.where(fee_cut, (ledger_amt * 6 + 999) // 1000, 0)
    bank_amt = ledger_amt - fee
    ledger_day = days0 + rng.integers(0, 365, n11)
    lag = rng.choice(np.array([0, 1, 2, 3, 6]), n11, p=[0.55, 0.25, 0.10, 0.07, 0.03])
    bank_day = ledger_day + lag
    cp_l = np.where(clustered, patients[rng.integers(0, len(patients), n11)],
                    companies[rng.integers(0, len(companies), n11)])
    cp_b = cp_l.copy()
    wechat = clustered & (rng.random(n11) < 0.2)
    cp_b[wechat] = "财付通支付科技有限公司"
    short = ~clustered & (rng.random(n11) < 0.3)
    cp_b[short] = np.array([c.replace("有限公司", "") for c in cp_b[short]], dtype=object)
    refs = np.array([f"HX{v:010d}" for v in rng.permutation(10 * n)[:n11]], dtype=object)
    ref_p = np.where(clustered, 0.70, np.where(fee_cut, 0.50, 0.85))
    bank_ref = np.where(rng.random(n11) < ref_p, refs, "")

    # batch credits: one bank line, 2–4 ledger entries
    g_amounts = np.clip(np.exp(rng.normal(11, 1.5, int(sizes.sum()))), 1000, 1e9).astype(np.int64)
    g_of = np.repeat(np.arange(n_groups), sizes)
    g_bank_amt = np.bincount(g_of, weights=g_amounts, minlength=n_groups).astype(np.int64)
    g_day = days0 + 3 + rng.integers(0, 360, n_groups)
    g_ledger_day = g_day[g_of] - rng.integers(0, 3, len(g_of))
    g_cp = companies[rng.integers(0, len(companies), n_groups)]
    with_prefix = rng.random(n_groups) < 0.5
    g_ref = np.array([f"PL{v:08d}" for v in range(n_groups)], dtype=object)
    member_no = np.arange(len(g_of)) - np.repeat(np.cumsum(sizes) - sizes, sizes) + 1
    g_ledger_ref = np.where(with_prefix[g_of],
                            np.array([f"{g_ref[g]}-{k:02d}" for g, k in zip(g_of, member_no, strict=True)],
                                     dtype=object),
                            np.array([f"GX{v:09d}" for v in range(len(g_of))], dtype=object))
    g_bank_ref = np.where(with_prefix, g_ref, "")

    # one side only
    bo_amt = -np.clip(np.exp(rng.normal(6, 1.5, bank_only)), 1, 1e7).astype(np.int64)
    bo_day = days0 + rng.integers(0, 365, bank_only)
    lo_clustered = rng.random(ledger_only) < 0.3
    lo_amt = np.where(lo_clustered, rng.choice(CLUSTER_AMOUNTS, ledger_only, p=CLUSTER_P),
                      np.clip(np.exp(rng.normal(10.5, 2.0, ledger_only)), 100, 5e9).astype(np.int64))
    lo_day = days0 + rng.integers(0, 365, ledger_only)
    lo_cp = np.where(lo_clustered, patients[rng.integers(0, len(patients), ledger_only)],
                     companies[rng.integers(0, len(companies), ledger_only)])

    bank_ids = np.array([f"B{v:07d}" for v in range(n)], dtype=object)
    ledger_ids = np.array([f"L{v:07d}" for v in range(n)], dtype=object)
    b_perm, l_perm = rng.permutation(n), rng.permutation(n)
    bank_amt_all = np.concatenate([bank_amt, g_bank_amt, bo_amt])
    bank_day_all = np.concatenate([bank_day, g_day, bo_day])
    bank = pd.DataFrame({
        "line_id": bank_ids[b_perm],
        "booked_at": pd.to_datetime(bank_day_all.astype("datetime64[D]")).tz_localize("Asia/Shanghai"),
        "amount_fen": bank_amt_all,
        "reference": np.concatenate([bank_ref, g_bank_ref, np.full(bank_only, "", dtype=object)]),
        "counterparty_name": np.concatenate([cp_b, g_cp, np.full(bank_only, "中国工商银行", dtype=object)]),
    })
    ledger = pd.DataFrame({
        "entry_id": ledger_ids[l_perm],
        "date": np.concatenate([ledger_day, g_ledger_day, lo_day]).astype("datetime64[D]").astype(
            "datetime64[ns]"),
        "amount_fen": np.concatenate([ledger_amt, g_amounts, lo_amt]),
        "reference": np.concatenate([refs, g_ledger_ref,
                                     np.array([f"LX{v:09d}" for v in range(ledger_only)], dtype=object)]),
        "counterparty": np.concatenate([cp_l, g_cp[g_of], lo_cp]),
    })
    truth = pd.DataFrame({
        "bank_id": np.concatenate([bank.line_id.to_numpy()[:n11], bank.line_id.to_numpy()[n11 + g_of]]),
        "ledger_id": np.concatenate([ledger.entry_id.to_numpy()[:n11],
                                     ledger.entry_id.to_numpy()[n11:n11 + len(g_of)]]),
    })
    order_b, order_l = rng.permutation(n), rng.permutation(n)
    return bank.iloc[order_b].reset_index(drop=True), ledger.iloc[order_l].reset_index(drop=True), truth


def naive_match(bank: pd.DataFrame, ledger: pd.DataFrame) -> pd.DataFrame:
    """What a spreadsheet VLOOKUP does: equal amount and equal date, n-th occurrence with n-th."""
    b = pd.DataFrame({"bank_id": bank["line_id"], "amount_fen": bank["amount_fen"],
                      "day": bank["booked_at"].dt.tz_localize(None).dt.normalize()})
    l_ = pd.DataFrame({"ledger_id": ledger["entry_id"], "amount_fen": ledger["amount_fen"],
                       "day": ledger["date"].dt.normalize()})
    b["k"] = b.groupby(["amount_fen", "day"]).cumcount()
    l_["k"] = l_.groupby(["amount_fen", "day"]).cumcount()
    return b.merge(l_, on=["amount_fen", "day", "k"])[["bank_id", "ledger_id"]]


def child(kind: str, data: Path, out: Path) -> None:
    """Run one matcher on pickled data; report seconds and this process's peak RSS as JSON."""
    with data.open("rb") as fh:
        bank, ledger = pickle.load(fh)
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if kind == "matcher":
        from smartfin.reconciliation.bank import match_bank

        result = match_bank(bank, ledger)
        seconds = time.perf_counter() - started
        pairs = result.pairs()
        status = result.matches.set_index("match_no")["status"]
        pairs["status"] = pairs["match_no"].map(status)
        rules = result.matches.groupby(["rule", "status"]).size().to_dict()
    else:
        pairs = naive_match(bank, ledger)
        seconds = time.perf_counter() - started
        pairs["status"] = "auto-matched"
        rules = {}
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pairs[["bank_id", "ledger_id", "status"]].to_pickle(out)
    print(json.dumps({"seconds": seconds, "maxrss_kib": rss, "loaded_kib": rss_loaded,
                      "rules": {f"{k[0]}/{k[1]}": int(v) for k, v in rules.items()}}))


def run_child(kind: str, data: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", kind, "--data", str(data), "--out", str(out)],
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"{kind} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def score(pairs: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    truth_keys = set(zip(truth["bank_id"], truth["ledger_id"], strict=True))
    auto = pairs[pairs["status"] == "auto-matched"]
    auto_keys = set(zip(auto["bank_id"], auto["ledger_id"], strict=True))
    all_keys = set(zip(pairs["bank_id"], pairs["ledger_id"], strict=True))
    hit = len(auto_keys & truth_keys)
    return {"auto_pairs": len(auto_keys), "precision": hit / max(1, len(auto_keys)),
            "recall": hit / len(truth_keys),
            "recall_incl_suggested": len(all_keys & truth_keys) / len(truth_keys),
            "suggested_pairs": len(all_keys) - len(auto_keys)}


def generate_day(n_payments: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame,
                                                     pd.DataFrame]:
    """One day of HIS payments/refunds, channel bills, T+1 bank credits and cash deposits."""
    rng = np.random.default_rng(seed)
    channels = np.array(["wechat", "alipay", "unionpay", "cash"], dtype=object)
    channel = rng.choice(channels, n_payments, p=[0.45, 0.25, 0.2, 0.1])
    amount = rng.choice(CLUSTER_AMOUNTS, n_payments) + np.where(rng.random(n_payments) < 0.5,
                                                               rng.integers(0, 500_000, n_payments), 0)
    at = pd.Timestamp("2024-03-01 07:00", tz="Asia/Shanghai") + pd.to_timedelta(
        rng.integers(0, 14 * 3600, n_payments), unit="s")
    order = np.array([f"HO{v:09d}" for v in range(n_payments)], dtype=object)
    cashier = np.array([f"C{v:03d}" for v in rng.integers(0, 120, n_payments)], dtype=object)
    his = pd.DataFrame({"his_txn_id": [f"H{v:09d}" for v in range(n_payments)], "channel": channel,
                        "order_id": order, "refund_id": "", "kind": "payment", "amount_fen": amount,
                        "occurred_at": at, "cashier": cashier})
    refunds = his[(his["channel"] != "cash")].sample(frac=0.03, random_state=seed)
    refunds = refunds.assign(his_txn_id=[f"R{v:09d}" for v in range(len(refunds))], kind="refund",
                             refund_id=[f"RF{v:08d}" for v in range(len(refunds))],
                             amount_fen=refunds["amount_fen"] // 2)
    his = pd.concat([his, refunds], ignore_index=True)
    electronic = his[his["channel"] != "cash"]
    bills = pd.DataFrame({"channel": electronic["channel"], "channel_txn_id": "T" + electronic["his_txn_id"],
                          "order_id": electronic["order_id"], "refund_id": electronic["refund_id"],
                          "kind": electronic["kind"], "amount_fen": electronic["amount_fen"],
                          "fee_fen": np.where(electronic["kind"] == "payment",
                                              (electronic["amount_fen"] * 6 + 999) // 1000, 0),
                          "occurred_at": electronic["occurred_at"]}).reset_index(drop=True)
    # a few of every exception: channel-only, HIS-only, amount mismatch
    bills = bills.drop(index=rng.choice(len(bills), 25, replace=False)).reset_index(drop=True)
    bills.loc[rng.choice(len(bills), 10, replace=False), "amount_fen"] += 100
    signed = np.where(bills["kind"] == "refund", -bills["amount_fen"], bills["amount_fen"])
    net = pd.Series(signed - bills["fee_fen"].to_numpy()).groupby(bills["channel"].to_numpy()).sum()
    payer = {"wechat": "财付通支付科技有限公司", "alipay": "支付宝（中国）网络技术有限公司",
             "unionpay": "银联商务股份有限公司"}
    bank = pd.DataFrame({"line_id": [f"S{i}" for i in range(len(net))],
                         "booked_at": pd.Timestamp("2024-03-02 09:00", tz="Asia/Shanghai"),
                         "amount_fen": net.to_numpy(dtype=np.int64),
                         "counterparty_name": [payer[c] for c in net.index], "reference": ""})
    cash = his[his["channel"] == "cash"].groupby("cashier")["amount_fen"].sum()
    deposits = pd.DataFrame({"cashier": cash.index, "amount_fen": cash.to_numpy()})
    deposits.loc[:2, "amount_fen"] -= 1000
    return his, bills, bank, deposits


def bench_three_way(beds: int = 3000) -> None:
    """Time one business day of HIS ↔ channel ↔ bank for a hospital of ``beds`` beds."""
    from smartfin.reconciliation.threeway import reconcile_three_way

    his, bills, bank, deposits = generate_day(n_payments=int(beds * 200 / 3), seed=7)
    started = time.perf_counter()
    result = reconcile_three_way(his, bills, bank, business_date=pd.Timestamp("2024-03-01").date(),
                                 cash_deposits=deposits)
    seconds = time.perf_counter() - started
    print(f"\nthree-way, one day, {beds} beds: {len(his):,} HIS records, {len(bills):,} channel lines, "
          f"{len(bank)} bank credits -> {len(result.matches):,} matches, "
          f"{len(result.exceptions):,} exceptions in {seconds:.2f} s")
    print("  exceptions by type:", result.exceptions.groupby("type").size().to_dict())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 lines a side")
    parser.add_argument("-n", type=int, default=None, help="lines a side")
    parser.add_argument("--child", choices=["matcher", "naive"])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.data, args.out)
        return
    n = args.n or (100_000 if args.quick else 1_000_000)
    started = time.perf_counter()
    bank, ledger, truth = generate(n)
    print(f"generated {len(bank):,} bank lines, {len(ledger):,} ledger entries, {len(truth):,} true pairs "
          f"in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.pkl"
        with data.open("wb") as fh:
            pickle.dump((bank, ledger), fh, protocol=pickle.HIGHEST_PROTOCOL)
        figures = {}
        for kind in ("matcher", "naive"):
            out = Path(tmp) / f"{kind}.pkl"
            run = run_child(kind, data, out)
            run.update(score(pd.read_pickle(out), truth))
            figures[kind] = run
    print(f"\n{'':24}{'matcher':>14}{'naive merge':>14}{'ratio':>10}")
    m, b = figures["matcher"], figures["naive"]
    rows = [("seconds", m["seconds"], b["seconds"], "{:.2f}"),
            ("peak RSS GiB", m["maxrss_kib"] / 2**20, b["maxrss_kib"] / 2**20, "{:.2f}"),
            ("  of which data GiB", m["loaded_kib"] / 2**20, b["loaded_kib"] / 2**20, "{:.2f}"),
            ("auto pairs", m["auto_pairs"], b["auto_pairs"], "{:,.0f}"),
            ("precision (auto)", m["precision"] * 100, b["precision"] * 100, "{:.3f}%"),
            ("recall (auto)", m["recall"] * 100, b["recall"] * 100, "{:.2f}%"),
            ("recall incl. suggested", m["recall_incl_suggested"] * 100, b["recall_incl_suggested"] * 100,
             "{:.2f}%"),
            ("suggested pairs", m["suggested_pairs"], b["suggested_pairs"], "{:,.0f}")]
    for label, x, y, fmt in rows:
        ratio = f"{x / y:.2f}x" if y else "-"
        print(f"{label:24}{fmt.format(x):>14}{fmt.format(y):>14}{ratio:>10}")
    print("\nmatcher matches by rule/status:", m["rules"])
    wrong_auto = m["auto_pairs"] * (1 - m["precision"])
    print(f"targets: <= 15 s: {m['seconds'] <= 15}, <= 4 GiB: {m['maxrss_kib'] / 2**20 <= 4}, "
          f">= 99.9% precision: {m['precision'] >= 0.999} ({wrong_auto:.0f} wrong automatic pairs)")
    bench_three_way()


if __name__ == "__main__":
    main()
