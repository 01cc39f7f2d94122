"""Hospital three-way reconciliation for one business day: HIS ↔ payment channels ↔ bank.

Levels, as the health commission's daily check asks for them:

* transaction — each HIS payment or refund against the channel bill line with the same channel order id;
* settlement — each channel's daily net (payments − refunds − fees) against its T+1 bank credit;
* cashier — each cashier's cash per HIS against the cash they deposited.

Pure functions over DataFrames; amounts are integer fen. HIS and channel frames carry ``channel``,
``order_id`` (the original payment's merchant order id, also on refunds), ``refund_id`` (empty for
payments), ``kind`` (``payment``/``refund``) and a positive ``amount_fen``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

import numpy as np
import pandas as pd

from smartfin.reconciliation.bank import MatchStatus, day_numbers
from smartfin.reconciliation.text import normalise_name


class ExceptionType(StrEnum):
    """Exception kinds a reviewer works through; names are the ones the finance office uses."""

    HIS_ONLY = "HIS_ONLY"
    CHANNEL_ONLY = "CHANNEL_ONLY"  # 单边账
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    DUPLICATE_REFUND = "DUPLICATE_REFUND"
    REFUND_WITHOUT_PAYMENT = "REFUND_WITHOUT_PAYMENT"
    SETTLEMENT_MISMATCH = "SETTLEMENT_MISMATCH"
    CASHIER_LONG = "CASHIER_LONG"  # 长款: more cash deposited than HIS recorded
    CASHIER_SHORT = "CASHIER_SHORT"  # 短款
    PREPAYMENT_IMBALANCE = "PREPAYMENT_IMBALANCE"
    PREPAYMENT_OPENING_MISMATCH = "PREPAYMENT_OPENING_MISMATCH"
    BANK_ONLY = "BANK_ONLY"  # 银行已记、单位未记
    LEDGER_ONLY = "LEDGER_ONLY"  # 单位已记、银行未记, past the date window
    BALANCE_DIFFERENCE = "BALANCE_DIFFERENCE"  # 余额调节表 does not balance
    INPUT_REJECTED = "INPUT_REJECTED"  # a file of the day was refused (encoding, columns, duplicate, ...)
    NO_DATA = "NO_DATA"  # no file at all for a day that should have one


HIS_COLUMNS = ("his_txn_id", "channel", "order_id", "refund_id", "kind", "amount_fen", "occurred_at", "cashier")
EXCEPTION_COLUMNS = ("type", "level", "channel", "amount_fen", "references", "detail")
MATCH_COLUMNS = ("level", "left_ids", "right_ids", "rule", "score", "status", "amount_fen")


@dataclass(frozen=True)
class ThreeWaySettings:
    """Who settles which channel into the bank account, after how many days, and the cash channel."""

    settlement_lag_days: int = 1
    settlement_counterparties: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        "wechat": ("财付通支付科技有限公司",),
        "alipay": ("支付宝（中国）网络技术有限公司", "支付宝(中国)网络技术有限公司"),
        "unionpay": ("银联商务股份有限公司", "中国银联股份有限公司"),
    })
    cash_channel: str = "cash"


@dataclass(frozen=True)
class ThreeWayResult:
    """Matches and exceptions of one day, plus the per-channel settlement and per-cashier tables."""

    business_date: date
    matches: pd.DataFrame
    exceptions: pd.DataFrame
    settlements: pd.DataFrame
    cashiers: pd.DataFrame
    outcome: str = "reconciled"


def _exceptions(rows: Iterable[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(EXCEPTION_COLUMNS))
    frame["amount_fen"] = frame["amount_fen"].astype(np.int64)
    return frame


def _frame_exceptions(frame: pd.DataFrame, etype: ExceptionType, level: str, id_col: str,
                      detail: str, amount: pd.Series | None = None) -> pd.DataFrame:
    """Vectorised exception rows for every row of ``frame`` (one reference each)."""
    return pd.DataFrame({
        "type": etype.value, "level": level, "channel": frame["channel"].to_numpy(dtype=object),
        "amount_fen": (amount if amount is not None else frame["amount_fen"]).to_numpy(dtype=np.int64),
        "references": [(str(v),) for v in frame[id_col]], "detail": detail,
    })


def reconcile_three_way(his: pd.DataFrame, channel_bills: pd.DataFrame, bank_lines: pd.DataFrame, *,
                        business_date: date, cash_deposits: pd.DataFrame | None = None,
                        prior_payments: pd.DataFrame | None = None,
                        settings: ThreeWaySettings | None = None) -> ThreeWayResult:
    """Reconcile one business day across HIS, channel bills and the bank statement.

    ``prior_payments`` (``channel``, ``order_id``, ``amount_fen``) are earlier days' payments, so that a
    refund of yesterday's payment is not reported as a refund without payment. ``cash_deposits``
    (``cashier``, ``amount_fen``) are the cash each cashier handed in for the day.
    """
    s = settings or ThreeWaySettings()
    if his.empty and channel_bills.empty and bank_lines.empty:
        empty = _exceptions([])
        return ThreeWayResult(business_date, pd.DataFrame(columns=list(MATCH_COLUMNS)), empty,
                              pd.DataFrame(), pd.DataFrame(), outcome="no_data")
    his = his.assign(refund_id=his["refund_id"].fillna("").astype(str))
    bills = channel_bills.assign(refund_id=channel_bills["refund_id"].fillna("").astype(str))
    electronic = his[his["channel"] != s.cash_channel]
    exceptions: list[pd.DataFrame] = []

    # duplicate refunds: the same refund recorded twice, or refunds exceeding what was paid
    def repeated(frame: pd.DataFrame) -> pd.Series:
        refunds = frame["kind"] == "refund"
        keyed = frame[refunds & (frame["refund_id"] != "")]
        dup = keyed.duplicated(["channel", "order_id", "refund_id"], keep="first")
        return pd.Series(False, index=frame.index).mask(dup.reindex(frame.index, fill_value=False), True)

    his_dup, bill_dup = repeated(electronic), repeated(bills)
    paid = pd.concat([
        electronic.loc[electronic["kind"] == "payment", ["channel", "order_id", "amount_fen"]],
        bills.loc[bills["kind"] == "payment", ["channel", "order_id", "amount_fen"]],
        prior_payments[["channel", "order_id", "amount_fen"]] if prior_payments is not None else None,
    ]).groupby(["channel", "order_id"])["amount_fen"].max()
    his_refunds = electronic[(electronic["kind"] == "refund") & ~his_dup]
    ordered = his_refunds.sort_values("occurred_at", kind="stable")
    running = ordered.groupby(["channel", "order_id"])["amount_fen"].cumsum()
    limit = paid.reindex(pd.MultiIndex.from_frame(ordered[["channel", "order_id"]])).to_numpy()
    beyond = running.to_numpy() > np.nan_to_num(limit, nan=np.inf)  # the refund that over-refunds
    his_over = pd.Series(False, index=electronic.index)
    his_over.loc[ordered.index[beyond]] = True
    for frame, mask, id_col, level, what in (
        (electronic, his_dup | his_over, "his_txn_id", "transaction", "HIS refund recorded twice or "
         "refunds exceed the original payment"),
        (bills, bill_dup, "channel_txn_id", "transaction", "channel refunded the same refund twice"),
    ):
        if mask.any():
            exceptions.append(_frame_exceptions(frame[mask], ExceptionType.DUPLICATE_REFUND, level,
                                                id_col, what))
    electronic = electronic[~(his_dup | his_over)]
    bills = bills[~bill_dup]

    # refunds whose original payment is nowhere (today, earlier days, either side)
    for frame, id_col, side in ((electronic, "his_txn_id", "HIS"), (bills, "channel_txn_id", "channel")):
        refunds = frame[frame["kind"] == "refund"]
        orphan = ~refunds.set_index(["channel", "order_id"]).index.isin(paid.index)
        if orphan.any():
            exceptions.append(_frame_exceptions(
                refunds[orphan], ExceptionType.REFUND_WITHOUT_PAYMENT, "transaction", id_col,
                f"{side} refund of an order with no payment on record"))
    orphan_keys = set()
    for frame in (electronic, bills):
        refunds = frame[frame["kind"] == "refund"]
        keys = refunds.set_index(["channel", "order_id"]).index
        orphan_keys |= set(keys[~keys.isin(paid.index)])

    def without_orphans(frame: pd.DataFrame) -> pd.DataFrame:
        if not orphan_keys:
            return frame
        keys = frame.set_index(["channel", "order_id"]).index
        return frame[~(keys.isin(list(orphan_keys)) & (frame["kind"] == "refund").to_numpy())]

    electronic, bills = without_orphans(electronic), without_orphans(bills)

    # transaction level: same channel order id (and refund id), one record with one
    key = ["channel", "order_id", "refund_id", "kind"]
    left = electronic.assign(n=electronic.groupby(key).cumcount())
    right = bills.assign(n=bills.groupby(key).cumcount())
    merged = left[[*key, "n", "his_txn_id", "amount_fen"]].merge(
        right[[*key, "n", "channel_txn_id", "amount_fen"]], on=[*key, "n"], how="outer",
        suffixes=("_his", "_bill"), indicator=True)
    both = merged[merged["_merge"] == "both"]
    equal = both["amount_fen_his"] == both["amount_fen_bill"]
    ok = both[equal]
    matches = pd.DataFrame({
        "level": "transaction", "left_ids": [(str(v),) for v in ok["his_txn_id"]],
        "right_ids": [(str(v),) for v in ok["channel_txn_id"]], "rule": "channel-order-id",
        "score": 100, "status": MatchStatus.AUTO_MATCHED.value,
        "amount_fen": ok["amount_fen_his"].astype(np.int64).to_numpy(),
    })
    bad = both[~equal]
    if len(bad):
        exceptions.append(pd.DataFrame({
            "type": ExceptionType.AMOUNT_MISMATCH.value, "level": "transaction",
            "channel": bad["channel"].to_numpy(dtype=object),
            "amount_fen": (bad["amount_fen_bill"] - bad["amount_fen_his"]).astype(np.int64).to_numpy(),
            "references": [(str(h), str(c)) for h, c in zip(bad["his_txn_id"], bad["channel_txn_id"],
                                                             strict=True)],
            "detail": [f"HIS {int(h)} fen, channel {int(c)} fen" for h, c in
                       zip(bad["amount_fen_his"], bad["amount_fen_bill"], strict=True)],
        }))
    his_only = merged[merged["_merge"] == "left_only"]
    chan_only = merged[merged["_merge"] == "right_only"]
    if len(his_only):
        exceptions.append(_frame_exceptions(his_only, ExceptionType.HIS_ONLY, "transaction", "his_txn_id",
                                            "in HIS, not in the channel bill",
                                            his_only["amount_fen_his"].astype(np.int64)))
    if len(chan_only):
        exceptions.append(_frame_exceptions(chan_only, ExceptionType.CHANNEL_ONLY, "transaction",
                                            "channel_txn_id", "in the channel bill, not in HIS (单边账)",
                                            chan_only["amount_fen_bill"].astype(np.int64)))

    settlements, settle_matches, settle_exc = _settlements(channel_bills, bank_lines, business_date, s)
    cashiers, cashier_exc = _cashiers(his, cash_deposits, s)
    all_exc = pd.concat([_exceptions([]), *exceptions, settle_exc, cashier_exc], ignore_index=True)
    all_matches = pd.concat([matches, settle_matches], ignore_index=True)
    return ThreeWayResult(business_date, all_matches, all_exc, settlements, cashiers)


def _settlements(bills: pd.DataFrame, bank_lines: pd.DataFrame, business_date: date,
                 s: ThreeWaySettings) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Channel daily net against the bank credits from the channel's settlement counterparty on T+lag."""
    signed = np.where(bills["kind"] == "refund", -bills["amount_fen"], bills["amount_fen"])
    per_channel = pd.DataFrame({"channel": bills["channel"], "signed": signed, "fee": bills["fee_fen"]}
                               ).groupby("channel").agg(gross_fen=("signed", "sum"), fees_fen=("fee", "sum"))
    per_channel["net_fen"] = per_channel["gross_fen"] - per_channel["fees_fen"]
    settle_day = np.datetime64(business_date + timedelta(days=s.settlement_lag_days)).astype(
        "datetime64[D]").astype(np.int64)
    credits = bank_lines[(bank_lines["amount_fen"] > 0)]
    if len(credits):
        credits = credits[day_numbers(credits["booked_at"]) == settle_day]
    owner = {normalise_name(n): ch for ch, names in s.settlement_counterparties.items() for n in names}
    credit_channel = credits["counterparty_name"].map(lambda n: owner.get(normalise_name(str(n))))
    rows, matches, exceptions = [], [], []
    for channel in sorted(set(per_channel.index) | set(credit_channel.dropna())):
        mine = credits[credit_channel == channel]
        net = int(per_channel["net_fen"].get(channel, 0))
        bank_fen = int(mine["amount_fen"].sum())
        ids = tuple(str(v) for v in mine["line_id"])
        rows.append({"channel": channel, "gross_fen": int(per_channel["gross_fen"].get(channel, 0)),
                     "fees_fen": int(per_channel["fees_fen"].get(channel, 0)), "net_fen": net,
                     "bank_fen": bank_fen, "bank_line_ids": ids, "difference_fen": bank_fen - net})
        if ids and bank_fen == net:
            matches.append({"level": "settlement", "left_ids": (f"{channel}:{business_date}",),
                             "right_ids": ids, "rule": "channel-daily-net", "score": 100,
                             "status": MatchStatus.AUTO_MATCHED.value, "amount_fen": net})
        elif net or ids:
            exceptions.append({"type": ExceptionType.SETTLEMENT_MISMATCH.value, "level": "settlement",
                               "channel": channel, "amount_fen": bank_fen - net,
                               "references": (f"{channel}:{business_date}", *ids),
                               "detail": (f"channel net {net} fen, bank credit {bank_fen} fen" if ids else
                                          f"no bank credit on T+{s.settlement_lag_days} for {net} fen")})
    return (pd.DataFrame(rows), pd.DataFrame(matches, columns=list(MATCH_COLUMNS)), _exceptions(exceptions))


def _cashiers(his: pd.DataFrame, deposits: pd.DataFrame | None, s: ThreeWaySettings
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each cashier's HIS cash (payments − refunds) against the cash they deposited."""
    cash = his[his["channel"] == s.cash_channel]
    signed = np.where(cash["kind"] == "refund", -cash["amount_fen"], cash["amount_fen"])
    expected = pd.Series(signed, index=cash["cashier"].to_numpy()).groupby(level=0).sum()
    deposited = (deposits.groupby("cashier")["amount_fen"].sum() if deposits is not None
                 else pd.Series(dtype=np.int64))
    table = pd.DataFrame({"expected_fen": expected, "deposited_fen": deposited}).fillna(0).astype(np.int64)
    table["difference_fen"] = table["deposited_fen"] - table["expected_fen"]
    table.index.name = "cashier"
    rows = []
    for cashier, row in table[table["difference_fen"] != 0].iterrows():
        etype = ExceptionType.CASHIER_LONG if row["difference_fen"] > 0 else ExceptionType.CASHIER_SHORT
        rows.append({"type": etype.value, "level": "cashier", "channel": s.cash_channel,
                     "amount_fen": int(row["difference_fen"]), "references": (str(cashier),),
                     "detail": f"HIS cash {int(row['expected_fen'])} fen, deposited {int(row['deposited_fen'])} fen"})
    return table.reset_index(), _exceptions(rows)
