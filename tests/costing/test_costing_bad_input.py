"""Inputs that cannot be worked out: one CostInputError naming every problem (where, what), nothing returned."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pandas as pd
import pytest

from smartfin.costing.compute import compute_month
from smartfin.costing.model import AllocationRules, Centre, CostInputError, MonthInputs
from smartfin.ledger.departments import DepartmentClass as K


def _problems(inputs: MonthInputs) -> list[tuple[str, str]]:
    with pytest.raises(CostInputError) as caught:
        compute_month(inputs)
    return caught.value.problems


def _with_row(frame: pd.DataFrame, **values: object) -> pd.DataFrame:
    row = {**frame.iloc[0].to_dict(), **values}
    return pd.concat([frame, pd.DataFrame([row])], ignore_index=True).astype(frame.dtypes.to_dict())


def test_a_centre_without_a_class(hand_hospital: MonthInputs) -> None:
    centres = (*hand_hospital.centres, Centre("NEW", "新科室", None))  # type: ignore[arg-type]
    assert _problems(replace(hand_hospital, centres=centres)) == [
        ("centre NEW", "cost_class is missing or unknown (got None; use one of clinical, medical-technical, "
                       "medical-auxiliary, administrative)")]


def test_a_centre_listed_twice(hand_hospital: MonthInputs) -> None:
    centres = (*hand_hospital.centres, Centre("LAB", "检验科", K.MEDICAL_TECHNICAL))
    assert _problems(replace(hand_hospital, centres=centres)) == [("centre LAB", "is listed twice")]


def test_a_negative_cost_names_its_row(hand_hospital: MonthInputs) -> None:
    direct = _with_row(hand_hospital.direct, centre="OPD", cost_item="other", amount_fen=-500)
    assert _problems(replace(hand_hospital, direct=direct)) == [
        ("direct row 19", "amount_fen must be a number not below zero (got -500)")]
    shared = _with_row(hand_hospital.shared, amount_fen=-1)
    assert _problems(replace(hand_hospital, shared=shared)) == [
        ("shared row 2", "amount_fen must be a number not below zero (got -1)")]


def test_an_unknown_cost_item(hand_hospital: MonthInputs) -> None:
    direct = _with_row(hand_hospital.direct, cost_item="bonus")
    assert _problems(replace(hand_hospital, direct=direct)) == [
        ("direct row 19", "cost_item 'bonus' is not a cost item")]


def test_rows_naming_a_department_that_is_not_a_cost_centre(hand_hospital: MonthInputs) -> None:
    charges = hand_hospital.charges.copy()
    charges.loc[[2, 4], "performing_centre"] = "H0999"      # a HIS department nobody mapped
    workload = _with_row(hand_hospital.workload, centre="ICU")
    problems = _problems(replace(hand_hospital, charges=charges, workload=workload))
    assert problems == [("workload row 9", "centre 'ICU' is not a cost centre of the month"),
                        ("charges rows 3, 5", "performing_centre 'H0999' is not a cost centre of the month")]


def test_a_driver_that_totals_zero_for_a_centre_with_cost(hand_hospital: MonthInputs) -> None:
    workload = hand_hospital.workload[hand_hospital.workload["measure"] != "packs"]
    assert _problems(replace(hand_hospital, workload=workload)) == [
        ("stage 2 centre CSSD", "driver 'packs' totals zero over the receiving centres, "
                                "but the centre has 191.82 yuan to allocate")]


def test_a_technical_centre_without_clinical_revenue(hand_hospital: MonthInputs) -> None:
    revenue = hand_hospital.revenue[hand_hospital.revenue["performing_centre"] != "RAD"]
    problems = _problems(replace(hand_hospital, revenue=revenue))
    assert problems == [("stage 3 centre RAD", "driver 'revenue from clinical ordering centres' totals zero over "
                                               "the receiving centres, but the centre has 291.81 yuan to allocate")]


def test_a_shared_cost_without_a_configured_or_usable_driver(hand_hospital: MonthInputs) -> None:
    shared = _with_row(hand_hospital.shared, name="canteen", cost_item="personnel", amount_fen=900)
    assert _problems(replace(hand_hospital, shared=shared)) == [
        ("shared row 2", "name 'canteen' has no driver configured (AllocationRules.shared)")]
    metered = replace(hand_hospital.rules, shared={"utilities": "electricity_kwh"})
    assert _problems(replace(hand_hospital, rules=metered)) == [
        ("shared cost utilities", "driver 'electricity_kwh' totals zero over the cost centres")]


def test_a_service_item_not_in_the_catalogue_and_a_bad_kind(hand_hospital: MonthInputs) -> None:
    charges = hand_hospital.charges.copy()
    charges.loc[0, "item_code"] = "S99"
    charges.loc[6, "item_kind"] = "herb"
    assert _problems(replace(hand_hospital, charges=charges)) == [
        ("charges row 7", "item_kind 'herb' is not one of service, drug, material"),
        ("charges row 1", "item_code 'S99' is not in the service-item catalogue")]


def test_duplicates_in_the_catalogue_and_the_cases(hand_hospital: MonthInputs) -> None:
    items = _with_row(hand_hospital.items)
    cases = _with_row(hand_hospital.cases)
    assert _problems(replace(hand_hospital, items=items, cases=cases)) == [
        ("items row 6", "item_code 'S1' is listed twice"), ("cases row 4", "case_id 'K1' is listed twice")]


def test_an_auxiliary_rule_for_a_centre_that_is_not_auxiliary(hand_hospital: MonthInputs) -> None:
    rules = AllocationRules(auxiliary={"CSSD": "packs", "LAB": "tests"}, shared={"utilities": "area_m2"})
    assert _problems(replace(hand_hospital, rules=rules)) == [
        ("rules.auxiliary LAB", "is not a medical auxiliary centre of the month")]


def test_every_problem_is_named_at_once(hand_hospital: MonthInputs) -> None:
    direct = _with_row(hand_hospital.direct, centre="ZZZ", amount_fen=-1)
    revenue = hand_hospital.revenue[hand_hospital.revenue["performing_centre"] != "RAD"]
    charges = hand_hospital.charges.assign(quantity=Decimal(-1))
    problems = _problems(replace(hand_hospital, direct=direct, revenue=revenue, charges=charges))
    assert [where for where, _ in problems] == [
        "direct row 19", "direct row 19", "charges rows 1, 2, 3, 4, 5 and 6 more", "stage 3 centre RAD"]
    assert "ZZZ" in str(problems[0][1])

