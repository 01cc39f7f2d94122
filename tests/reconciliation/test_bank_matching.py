"""Bank matcher passes, scores and statuses, and the bank reconciliation statement."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from smartfin.reconciliation import (
    FeeTolerance,
    MatchSettings,
    balance_statement,
    balance_statement_for,
    match_bank,
)


def bank(*rows: tuple[str, str, int, str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["line_id", "booked_at", "amount_fen", "reference", "counterparty_name"])
    frame["booked_at"] = pd.to_datetime(frame["booked_at"]).dt.tz_localize("Asia/Shanghai")
    frame["amount_fen"] = frame["amount_fen"].astype(np.int64)
    return frame


def ledger(*rows: tuple[str, str, int, str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["entry_id", "date", "amount_fen", "reference", "counterparty"])
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    frame["amount_fen"] = frame["amount_fen"].astype(np.int64)
    return frame


def only_match(result, bank_id: str) -> pd.Series:
    pairs = result.pairs()
    no = pairs.loc[pairs["bank_id"] == bank_id, "match_no"]
    assert len(no) >= 1, f"{bank_id} not matched"
    return result.matches.set_index("match_no").loc[no.iloc[0]]


def test_reference_pass_matches_exactly_with_full_score_and_reason() -> None:
    result = match_bank(bank(("b1", "2024-03-01", 1_234_500, " hx001 ", "国药控股")),
                        ledger(("e1", "2024-02-20", 1_234_500, "HX001", "某某公司"),
                               ("e2", "2024-03-01", 1_234_500, "HX002", "国药控股")))
    m = only_match(result, "b1")
    assert result.pairs()["ledger_id"].tolist() == ["e1"]  # the reference wins over a same-day amount
    assert (m["rule"], m["status"]) == ("reference", "auto-matched")
    assert m["score"] == 95  # outside the date window, so not a perfect 100
    reason = result.reason(int(result.matches["match_no"].iloc[0]))
    assert reason["fields"] == ["reference", "amount_fen"] and reason["lag_days"] == 10


def test_reference_with_different_amount_is_only_suggested() -> None:
    result = match_bank(bank(("b1", "2024-03-01", 500_000, "HX9", "")),
                        ledger(("e1", "2024-03-01", 800_000, "HX9", "")))
    m = only_match(result, "b1")
    assert (m["rule"], m["status"], m["difference_fen"]) == ("reference-amount-differs", "suggested", -300_000)


def test_amount_date_window_prefers_counterparty_and_respects_window() -> None:
    result = match_bank(
        bank(("b1", "2024-03-04", 8_812_345, "", "上海某某医疗器械有限公司"),
             ("b2", "2024-03-10", 7_777_777, "", "")),
        ledger(("e1", "2024-03-01", 8_812_345, "", "上海某某医疗器械公司"),
               ("e2", "2024-03-01", 7_777_777, "", "")))
    m = only_match(result, "b1")
    assert (m["rule"], m["status"], m["lag_days"]) == ("amount+counterparty+date", "auto-matched", 3)
    assert m["score"] == 90
    assert "b2" in set(result.unmatched_bank["line_id"])  # 9 days apart: outside ±3 days


def test_unique_amount_without_counterparty_is_automatic_closest_date_breaks_ties() -> None:
    result = match_bank(
        bank(("b1", "2024-03-05", 4_567_891, "", ""), ("b2", "2024-03-05", 2_000_000, "", "")),
        ledger(("e1", "2024-03-04", 4_567_891, "", "某公司"),
               ("e2", "2024-03-05", 2_000_000, "", ""), ("e3", "2024-03-03", 2_000_000, "", "")))
    first = only_match(result, "b1")
    assert (first["rule"], first["status"], first["basis"]) == ("amount+date", "auto-matched", "only candidate")
    second = only_match(result, "b2")
    assert second["status"] == "suggested" and second["basis"] == "closest date"
    assert result.pairs().set_index("bank_id").loc["b2", "ledger_id"] == "e2"


def test_clustered_registration_fees_go_to_review_not_auto() -> None:
    bank_rows = [(f"b{i}", "2024-03-05", 1_000, "", "") for i in range(6)]
    ledger_rows = [(f"e{i}", "2024-03-05", 1_000, "", "") for i in range(6)]
    result = match_bank(bank(*bank_rows), ledger(*ledger_rows))
    assert len(result.matches) == 6
    assert set(result.matches["status"]) == {"suggested"}
    assert (result.matches["score"] < 85).all()
    assert set(result.matches["basis"]) == {"candidates tie"}
    assert (result.matches["candidates"] == 6).all()


def test_clustered_amount_even_when_unique_in_window_is_not_trusted() -> None:
    history = [(f"h{i}", f"2024-01-{1 + i % 28:02d}", 1_000, "", "") for i in range(30)]
    result = match_bank(bank(("b1", "2024-03-05", 1_000, "", "")),
                        ledger(("e1", "2024-03-05", 1_000, "", ""), *history))
    m = only_match(result, "b1")
    assert m["status"] == "suggested" and m["basis"] == "only candidate, but a clustered amount"


def test_counterparty_singles_out_one_of_several_equal_amounts() -> None:
    result = match_bank(
        bank(("b1", "2024-03-05", 5_000, "", "王秀英")),
        ledger(("e1", "2024-03-05", 5_000, "", "李强"), ("e2", "2024-03-04", 5_000, "", "王秀英"),
               ("e3", "2024-03-05", 5_000, "", "张伟")))
    m = only_match(result, "b1")
    assert m["rule"] == "amount+counterparty+date" and m["status"] == "auto-matched"
    assert result.pairs()["ledger_id"].tolist() == ["e2"]


def test_one_to_many_by_reference_prefix_and_by_counterparty() -> None:
    result = match_bank(
        bank(("b1", "2024-03-06", 300_000, "BATCH9", "华润医药"),
             ("b2", "2024-03-06", 450_000, "", "国药控股")),
        ledger(("e1", "2024-03-05", 100_000, "BATCH9-01", "华润医药"),
               ("e2", "2024-03-06", 150_000, "BATCH9-02", "华润医药"),
               ("e3", "2024-03-06", 50_000, "BATCH9-03", "华润医药"),
               ("e4", "2024-03-04", 200_000, "P1", "国药控股"), ("e5", "2024-03-05", 250_000, "P2", "国药控股")))
    first = only_match(result, "b1")
    assert (first["rule"], first["status"], first["score"]) == ("one-to-many", "auto-matched", 95)
    assert sorted(result.pairs().query("bank_id == 'b1'")["ledger_id"]) == ["e1", "e2", "e3"]
    second = only_match(result, "b2")
    assert (second["rule"], second["status"]) == ("one-to-many", "auto-matched")
    assert sorted(result.pairs().query("bank_id == 'b2'")["ledger_id"]) == ["e4", "e5"]


def test_subset_search_suggests_the_unique_fitting_subset() -> None:
    result = match_bank(
        bank(("b1", "2024-03-06", 350_000, "", "华润医药")),
        ledger(("e1", "2024-03-05", 100_000, "", "华润医药"), ("e2", "2024-03-06", 250_000, "", "华润医药"),
               ("e3", "2024-03-06", 77_700, "", "华润医药")))
    m = only_match(result, "b1")
    assert (m["rule"], m["status"]) == ("one-to-many", "suggested")
    assert sorted(result.pairs()["ledger_id"]) == ["e1", "e2"]


def test_many_to_one() -> None:
    result = match_bank(
        bank(("b1", "2024-03-06", 600_000, "PAY7-1", "某设备公司"),
             ("b2", "2024-03-06", 400_000, "PAY7-2", "某设备公司")),
        ledger(("e1", "2024-03-05", 1_000_000, "PAY7", "某设备公司")))
    m = only_match(result, "b1")
    assert m["rule"] == "many-to-one" and m["status"] == "auto-matched"
    assert sorted(result.pairs()["bank_id"]) == ["b1", "b2"]


def test_fee_tolerance_percent_and_absolute() -> None:
    settings = MatchSettings(fee=FeeTolerance(percent=Decimal("0.006"), absolute_fen=100))
    result = match_bank(
        bank(("b1", "2024-03-02", 99_400, "", "北京医保中心"), ("b2", "2024-03-02", 49_000, "", "北京医保中心")),
        ledger(("e1", "2024-03-01", 100_000, "", "北京医保中心"), ("e2", "2024-03-01", 50_000, "", "某某")),
        settings)
    m = only_match(result, "b1")
    assert (m["rule"], m["status"], m["difference_fen"]) == ("fee-tolerance", "auto-matched", -600)
    # 10 yuan on 500 yuan is 2 %: beyond both 0.6 % and the 1-yuan absolute tolerance
    assert "b2" in set(result.unmatched_bank["line_id"])


def test_amounts_must_be_integer_fen() -> None:
    frame = bank(("b1", "2024-03-02", 1, "", ""))
    frame["amount_fen"] = frame["amount_fen"].astype(float)
    with pytest.raises(TypeError):
        match_bank(frame, ledger(("e1", "2024-03-02", 1, "", "")))


def test_empty_statement_is_the_no_data_outcome() -> None:
    result = match_bank(bank(), ledger(("e1", "2024-03-02", 100, "", "")))
    assert result.outcome == "no_data" and len(result.unmatched_ledger) == 1


def test_balance_statement_both_sides_agree() -> None:
    # bank 10,000; ledger 9,500. Ledger-only receipt 800 (deposit in transit), ledger-only payment 300
    # (cheque not presented), bank-only credit 1,200 (interest/collection), bank-only debit 200 (fee).
    statement = balance_statement(1_000_000, 950_000, pd.Series([120_000, -20_000]), pd.Series([80_000, -30_000]))
    assert statement.bank_adjusted == Decimal("10500.00")
    assert statement.ledger_adjusted == Decimal("10500.00")
    assert statement.balanced and statement.difference == 0
    off = balance_statement(1_000_000, 950_000, pd.Series([120_000]), pd.Series([80_000, -30_000]))
    assert not off.balanced and off.difference == Decimal("-200.00")


def test_balance_statement_from_a_match_result_counts_fees_and_open_suggestions() -> None:
    result = match_bank(
        bank(("b1", "2024-03-02", 99_400, "", "北京医保中心"), ("b2", "2024-03-03", 1_000, "", ""),
             ("b3", "2024-03-03", 1_000, "", "")),
        ledger(("e1", "2024-03-01", 100_000, "", "北京医保中心"), ("e2", "2024-03-03", 1_000, "", ""),
               ("e3", "2024-03-03", 1_000, "", ""), ("e4", "2024-03-03", 5_000, "", "")))
    # balances consistent with the items: ledger has +100000 +1000 +1000 +5000, bank +99400 +1000 +1000
    statement = balance_statement_for(result, bank_balance_fen=101_400, ledger_balance_fen=107_000)
    assert statement.balanced, statement
    assert statement.bank_only_debits == Decimal("6.00")  # the fee the bank kept
    assert statement.ledger_only_receipts == Decimal("70.00")  # e4 plus the two unconfirmed suggestions
    assert isinstance(statement.bank_adjusted, Decimal)
    assert date(2024, 3, 1)  # dates stay dates
