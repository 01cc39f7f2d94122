"""The daily reconciliation finds every planted fault exactly once and reports nothing else."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from smartfin.insurance.daily import FEN, exception_truth_keys, naive_merge, reconcile_day
from smartfin.insurance.samples import Faults, SampleDays, generate_days


def test_every_planted_fault_is_found_and_nothing_else(sample_day: SampleDays) -> None:
    result = reconcile_day(sample_day.his, sample_day.platform, sample_day.totals)
    found = exception_truth_keys(result.exceptions)
    assert found == sample_day.truth
    assert len(result.exceptions) == len(sample_day.truth)
    kinds = {k for k, _, _ in sample_day.truth}
    assert kinds == {"his_only", "platform_only", "amount_mismatch", "reversal_without_original",
                     "duplicate_settlement", "negative_component", "total_mismatch"}


def test_a_clean_day_ties_and_has_no_exception() -> None:
    clean = generate_days(date(2026, 11, 4), 1, 1_500, seed=9, faults=Faults(
        his_only=0, platform_only=0, amount_mismatch=0, reversal_without_original=0, duplicate_settlement=0,
        negative_component=0, total_mismatch=0))
    result = reconcile_day(clean.his, clean.platform, clean.totals)
    assert result.exceptions.empty
    assert (result.ties["residual_fen"] == 0).all() and (result.ties["explained_fen"] == 0).all()
    assert set(result.ties["insurance_type"]) == {"employee", "resident", "offsite"}


def test_the_ties_explain_the_difference_by_the_detail(sample_day: SampleDays) -> None:
    result = reconcile_day(sample_day.his, sample_day.platform, sample_day.totals)
    ties = result.ties.set_index(["insurance_type", "component"])
    his_only = result.exceptions[result.exceptions["type"] == "his_only"]
    # the HIS total minus the platform's detail is what the detail's exceptions explain, to the fen
    for kind in ("employee", "resident", "offsite"):
        assert ties.loc[(kind, "total"), "his_fen"] - ties.loc[(kind, "total"), "platform_detail_fen"] == \
            ties.loc[(kind, "total"), "explained_fen"]
    assert his_only["his_fen"].notna().all()


def test_a_reversal_of_an_earlier_day_pairs_with_its_original_and_a_repeat_is_a_duplicate() -> None:
    two = generate_days(date(2026, 11, 5), 2, 300, seed=3, faults=Faults(
        his_only=0, platform_only=0, amount_mismatch=0, reversal_without_original=0, duplicate_settlement=0,
        negative_component=0, total_mismatch=0, reversals=0, reversal_chains=0))
    day1, day2 = date(2026, 11, 5), date(2026, 11, 6)
    original = two.his[two.his["settled_on"] == day1].iloc[[0]]
    reversal = original.copy()
    reversal["settlement_id"], reversal["reverses"], reversal["settled_on"] = "JSREV1", original[
        "settlement_id"].iloc[0], day2
    for column in FEN:
        reversal[column] = -reversal[column]
    repeat = two.his[two.his["settled_on"] == day1].iloc[[1]].assign(settled_on=day2)
    his2 = pd.concat([two.his[two.his["settled_on"] == day2], reversal], ignore_index=True)
    platform2 = pd.concat([two.platform[two.platform["settled_on"] == day2], reversal.drop(
        columns=["patient_id", "department"])], ignore_index=True)
    totals2 = platform2.groupby(["settled_on", "insurance_type", "medical_category"], as_index=False).agg(
        count=("settlement_id", "size"), **{c: (c, "sum") for c in FEN})
    earlier = two.his[two.his["settled_on"] == day1]
    result = reconcile_day(his2, platform2, totals2, earlier=earlier)
    assert result.exceptions.empty
    without = reconcile_day(his2, platform2, totals2)
    assert set(without.exceptions["type"]) == {"reversal_without_original"}
    his3 = pd.concat([his2, repeat], ignore_index=True)
    dup = reconcile_day(his3, platform2, totals2, earlier=earlier)
    assert list(dup.exceptions["type"]) == ["duplicate_settlement"]
    assert "earlier day" in dup.exceptions["detail"].iloc[0]


@pytest.mark.parametrize("change", ["amounts", "twice"])
def test_a_reversal_that_does_not_mirror_its_original_or_is_repeated_is_named(change: str) -> None:
    day = generate_days(date(2026, 11, 7), 1, 200, seed=4, faults=Faults(
        his_only=0, platform_only=0, amount_mismatch=0, reversal_without_original=0, duplicate_settlement=0,
        negative_component=0, total_mismatch=0, reversals=1, reversal_chains=0))
    his = day.his.copy()
    reversal = his[his["reverses"].notna()]
    if change == "amounts":
        his.loc[reversal.index, "cash_fen"] -= 1
        expected = "reversal_mismatch"
    else:
        again = reversal.assign(settlement_id="JSREV2")
        his = pd.concat([his, again], ignore_index=True)
        expected = "reversal_repeated"
    result = reconcile_day(his, day.platform, day.totals)
    assert expected in set(result.exceptions["type"])
    assert result.exceptions.loc[result.exceptions["type"] == expected, "detail"].str.contains(
        reversal["reverses"].iloc[0]).all()


def test_the_naive_merge_misses_what_the_reconciliation_finds(sample_day: SampleDays) -> None:
    naive = exception_truth_keys(naive_merge(sample_day.his, sample_day.platform))
    assert sample_day.truth - naive, "the baseline should miss duplicates, reversals and totals"


def test_two_days_in_one_call_are_reconciled_like_a_month() -> None:
    days = generate_days(date(2026, 11, 1), 3, 400, seed=21)
    result = reconcile_day(days.his, days.platform, days.totals)
    assert exception_truth_keys(result.exceptions) == days.truth
    assert days.his["settled_on"].nunique() == 3
    assert max(days.his["settled_on"]) == date(2026, 11, 1) + timedelta(days=2)
