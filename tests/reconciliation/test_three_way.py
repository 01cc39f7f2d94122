"""Three-way HIS ↔ channel ↔ bank: every exception type, and the prepayment daily close."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from smartfin.reconciliation import ExceptionType, close_prepayment_days, reconcile_three_way

DAY = date(2024, 3, 1)
T = pd.Timestamp("2024-03-01 09:00", tz="Asia/Shanghai")


def his(*rows: tuple) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["his_txn_id", "channel", "order_id", "refund_id", "kind", "amount_fen",
                                        "cashier"])
    frame["occurred_at"] = [T + pd.Timedelta(minutes=i) for i in range(len(frame))]
    frame["amount_fen"] = frame["amount_fen"].astype(np.int64)
    return frame


def bills(*rows: tuple) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["channel", "channel_txn_id", "order_id", "refund_id", "kind", "amount_fen",
                                        "fee_fen"])
    frame["occurred_at"] = T
    frame[["amount_fen", "fee_fen"]] = frame[["amount_fen", "fee_fen"]].astype(np.int64)
    return frame


def bank(*rows: tuple) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["line_id", "amount_fen", "counterparty_name"])
    frame["booked_at"] = pd.Timestamp("2024-03-02 10:00", tz="Asia/Shanghai")
    frame["reference"] = ""
    frame["amount_fen"] = frame["amount_fen"].astype(np.int64)
    return frame


def types(result) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for row in result.exceptions.itertuples():
        out.setdefault(row.type, []).append(row.references)
    return out


def test_clean_day_matches_every_level() -> None:
    result = reconcile_three_way(
        his(("H1", "wechat", "O1", "", "payment", 1_000, "C1"), ("H2", "wechat", "O2", "", "payment", 5_000, "C1"),
            ("H3", "wechat", "O2", "R1", "refund", 2_000, "C1"), ("H4", "cash", "", "", "payment", 2_000, "C1")),
        bills(("wechat", "W1", "O1", "", "payment", 1_000, 6), ("wechat", "W2", "O2", "", "payment", 5_000, 30),
              ("wechat", "W3", "O2", "R1", "refund", 2_000, -12)),
        bank(("S1", 1_000 + 5_000 - 2_000 - 24, "财付通支付科技有限公司")),
        business_date=DAY, cash_deposits=pd.DataFrame({"cashier": ["C1"], "amount_fen": [2_000]}))
    assert result.exceptions.empty, result.exceptions
    assert set(result.matches["level"]) == {"transaction", "settlement"}
    assert (result.matches["status"] == "auto-matched").all()
    assert result.settlements.iloc[0]["net_fen"] == 3_976


def test_every_exception_type() -> None:
    result = reconcile_three_way(
        his(("H1", "wechat", "O1", "", "payment", 1_000, "C1"),
            ("H2", "alipay", "O2", "", "payment", 5_000, "C1"),   # HIS only
            ("H3", "wechat", "O3", "", "payment", 2_000, "C1"),   # amount differs from the bill
            ("H4", "wechat", "O4", "", "payment", 3_000, "C1"),
            ("H5", "wechat", "O4", "R4", "refund", 3_000, "C1"),
            ("H6", "wechat", "O4", "R4", "refund", 3_000, "C1"),  # the same refund twice
            ("H7", "wechat", "O9", "R9", "refund", 800, "C1"),    # no payment anywhere
            ("H8", "cash", "", "", "payment", 10_000, "C1"), ("H9", "cash", "", "", "payment", 4_000, "C2")),
        bills(("wechat", "W1", "O1", "", "payment", 1_000, 6),
              ("wechat", "W3", "O3", "", "payment", 2_100, 12),
              ("wechat", "W4", "O4", "", "payment", 3_000, 18),
              ("wechat", "W5", "O4", "R4", "refund", 3_000, -18),
              ("wechat", "W7", "O7", "", "payment", 700, 4)),     # channel only (单边账)
        bank(("S1", 999_999, "财付通支付科技有限公司")),          # wrong settlement amount
        business_date=DAY,
        cash_deposits=pd.DataFrame({"cashier": ["C1", "C2"], "amount_fen": [10_050, 3_900]}))
    found = types(result)
    assert found[ExceptionType.HIS_ONLY] == [("H2",)]
    assert found[ExceptionType.CHANNEL_ONLY] == [("W7",)]
    assert found[ExceptionType.AMOUNT_MISMATCH] == [("H3", "W3")]
    assert found[ExceptionType.DUPLICATE_REFUND] == [("H6",)]
    assert found[ExceptionType.REFUND_WITHOUT_PAYMENT] == [("H7",)]
    assert found[ExceptionType.SETTLEMENT_MISMATCH][0][0] == "wechat:2024-03-01"
    assert found[ExceptionType.CASHIER_LONG] == [("C1",)]
    assert found[ExceptionType.CASHIER_SHORT] == [("C2",)]
    amounts = result.exceptions.set_index("type")["amount_fen"]
    assert amounts[ExceptionType.AMOUNT_MISMATCH] == 100
    assert amounts[ExceptionType.CASHIER_LONG] == 50 and amounts[ExceptionType.CASHIER_SHORT] == -100
    assert result.exceptions["amount_fen"].dtype == np.int64


def test_over_refund_and_prior_day_payment() -> None:
    prior = pd.DataFrame({"channel": ["alipay"], "order_id": ["OLD"], "amount_fen": [5_000]})
    result = reconcile_three_way(
        his(("H1", "alipay", "OLD", "R1", "refund", 3_000, "C1"), ("H2", "alipay", "OLD", "R2", "refund", 3_000, "C1")),
        bills(("alipay", "A1", "OLD", "R1", "refund", 3_000, 0), ("alipay", "A2", "OLD", "R2", "refund", 3_000, 0)),
        bank(), business_date=DAY, prior_payments=prior)
    found = types(result)
    assert ExceptionType.REFUND_WITHOUT_PAYMENT not in found  # yesterday's payment is known
    assert found[ExceptionType.DUPLICATE_REFUND] == [("H2",)]  # the refund that goes beyond 50 yuan


def test_missing_bank_credit_is_a_settlement_mismatch() -> None:
    result = reconcile_three_way(his(("H1", "unionpay", "P1", "", "payment", 10_000, "C1")),
                                 bills(("unionpay", "U1", "P1", "", "payment", 10_000, 50)), bank(),
                                 business_date=DAY)
    row = result.exceptions.iloc[0]
    assert row["type"] == ExceptionType.SETTLEMENT_MISMATCH and row["amount_fen"] == -9_950


def test_no_inputs_is_no_data() -> None:
    empty = reconcile_three_way(his(), bills(), bank(), business_date=DAY)
    assert empty.outcome == "no_data"


def test_prepayment_daily_close() -> None:
    balances = pd.DataFrame({
        "account": ["ZY001", "ZY001", "ZY002"],
        "business_date": [date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 1)],
        "opening_fen": [100_000, 130_000, 0], "closing_fen": [130_000, 90_000, 49_000]})
    movements = pd.DataFrame({
        "account": ["ZY001", "ZY001", "ZY001", "ZY002", "ZY002"],
        "business_date": [date(2024, 3, 1), date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 1),
                          date(2024, 3, 1)],
        "kind": ["deposit", "settlement", "refund", "deposit", "settlement"],
        "amount_fen": [50_000, 20_000, 40_000, 50_000, 2_000]})
    closed = close_prepayment_days(balances, movements)
    assert not closed.balanced
    exc = closed.exceptions
    assert exc["type"].tolist() == [ExceptionType.PREPAYMENT_IMBALANCE]
    assert exc.iloc[0]["references"] == ("ZY002", "2024-03-01") and exc.iloc[0]["amount_fen"] == 1_000
    ok = close_prepayment_days(balances.iloc[:2], movements.iloc[:3])
    assert ok.balanced
    broken_chain = balances.iloc[:2].assign(opening_fen=[100_000, 131_000], closing_fen=[130_000, 91_000])
    chain = close_prepayment_days(broken_chain, movements.iloc[:3])
    assert chain.exceptions["type"].tolist() == [ExceptionType.PREPAYMENT_OPENING_MISMATCH]
