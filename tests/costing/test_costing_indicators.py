"""Indicators of the hand-worked hospital (figures from test_costing_by_hand.py) and their dated definitions."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from smartfin.costing.compute import compute_month
from smartfin.costing.indicators import IndicatorRulesError, indicator_values, load_definitions, load_rules
from smartfin.costing.model import Direction, MonthInputs

D = Decimal


def _values(inputs: MonthInputs) -> dict[tuple[str, str], Decimal | None]:
    definitions = load_definitions(date(2026, 10, 31))
    frame = indicator_values(inputs, compute_month(inputs), definitions)
    return {(c, k): v for c, k, v in frame.itertuples(index=False, name=None)}


def test_the_hospital_and_a_clinic_by_hand(hand_hospital: MonthInputs) -> None:
    values = _values(hand_hospital)
    # Revenue (charge lines by ordering centre): all 172,000, drugs 8,000; OPD 10,000 + 20,000 + 30,000 = 60,000.
    # Hospital: materials 30,000 / 164,000 × 100 = 18.29; / 172,000 × 100 = 17.44; personnel 129,000 / 326,001
    # = 39.57%; management (ADM 42,000 + LOG 15,000 given at stage 1) 57,000 / 326,001 = 17.48%; energy
    # 100,001 / 172,000 × 10,000 = 5,814.01; per visit 81,803 / 270 = ¥3.03; per bed-day 244,198 / 900 = ¥2.71.
    assert {k: v for (c, k), v in values.items() if c == ""} == {
        "materials_per_100_revenue_excl_drugs": D("18.29"), "materials_per_100_revenue": D("17.44"),
        "personnel_cost_share": D("39.57"), "management_expense_rate": D("17.48"), "cost_per_visit": D("3.03"),
        "cost_per_bed_day": D("2.71"), "energy_per_10k_revenue": D("5814.01")}
    # OPD: materials 5,030 / 60,000 × 100 = 8.38 (no drug revenue); personnel 34,345 / 81,803 = 41.99%;
    # management 5,455 + 2,182 + 1,818 + 909 = 10,364 / 81,803 = 12.67%; ¥3.03 a visit; no bed-days, and
    # energy is a hospital-scope indicator.
    assert {k: v for (c, k), v in values.items() if c == "OPD"} == {
        "materials_per_100_revenue_excl_drugs": D("8.38"), "materials_per_100_revenue": D("8.38"),
        "personnel_cost_share": D("41.99"), "management_expense_rate": D("12.67"), "cost_per_visit": D("3.03")}
    assert ("WARD1", "cost_per_bed_day") in values and ("WARD1", "cost_per_visit") not in values
    assert not [c for c, _ in values if c in {"ADM", "LOG", "CSSD", "LAB", "RAD"}]


def test_a_centre_without_revenue_or_units_gets_none(hand_hospital: MonthInputs) -> None:
    charges = hand_hospital.charges[hand_hospital.charges["ordering_centre"] != "OPD"]
    workload = hand_hospital.workload[~hand_hospital.workload["measure"].isin(["visits", "emergency_visits"])]
    values = _values(replace(hand_hospital, charges=charges, workload=workload))
    assert values[("OPD", "materials_per_100_revenue")] is None
    assert values[("OPD", "materials_per_100_revenue_excl_drugs")] is None
    assert values[("OPD", "cost_per_visit")] is None
    assert values[("OPD", "personnel_cost_share")] == D("41.99")


def test_the_version_in_force_on_the_day() -> None:
    def target(on: date, key: str) -> Decimal:
        return next(d.target for d in load_definitions(on) if d.key == key)

    assert target(date(2025, 12, 31), "materials_per_100_revenue_excl_drugs") == D("30.00")
    assert target(date(2026, 1, 1), "materials_per_100_revenue_excl_drugs") == D("28.00")
    assert load_definitions(date(2020, 12, 31)) == []
    keys = [d.key for d in load_definitions(date(2026, 10, 31))]
    assert keys == ["materials_per_100_revenue_excl_drugs", "materials_per_100_revenue", "personnel_cost_share",
                    "management_expense_rate", "cost_per_visit", "cost_per_bed_day", "energy_per_10k_revenue"]
    personnel = next(d for d in load_definitions(date(2026, 10, 31)) if d.key == "personnel_cost_share")
    assert personnel.direction == Direction.MIN and personnel.unit == "percent" and personnel.name == "人员经费占比"
    assert "utilities" in load_rules().energy_shared_costs


def test_a_later_version_keeps_the_fields_it_does_not_change(tmp_path: Path) -> None:
    path = tmp_path / "indicators.yaml"
    path.write_text("""
indicators:
  - key: cost_per_visit
    name: 诊次成本
    unit: yuan
    direction: max
    scope: department
    versions:
      - {valid_from: 2024-01-01, target: "300"}
      - {valid_from: 2025-07-01, target: "320", scope: hospital}
""", encoding="utf-8")
    (old,) = load_definitions(date(2025, 6, 30), path)
    (new,) = load_definitions(date(2025, 7, 1), path)
    assert (old.target, old.scope, new.target, new.scope, new.name) == (D(300), "department", D(320), "hospital",
                                                                        "诊次成本")


@pytest.mark.parametrize(("entry", "message"), [
    ("- {key: beds_per_nurse, name: x, unit: yuan, direction: max, scope: department, "
     "versions: [{valid_from: 2024-01-01, target: '1'}]}", "indicator beds_per_nurse: no formula"),
    ("- {key: cost_per_visit, name: x, unit: yuan, direction: up, scope: department, "
     "versions: [{valid_from: 2024-01-01, target: '1'}]}", "version 1: direction must be max or min"),
    ("- {key: cost_per_visit, name: x, unit: yuan, direction: max, scope: department, "
     "versions: [{valid_from: 2024-01-01, target: 'lots'}]}", "version 1: target is not a number"),
    ("- {key: cost_per_visit, name: x, unit: yuan, direction: max, scope: department, versions: []}",
     "indicator cost_per_visit: has no versions"),
    ("- {key: cost_per_visit, name: x, unit: yuan, direction: max, scope: department, "
     "versions: [{valid_from: 2025-01-01, target: '1'}, {valid_from: 2024-01-01, target: '2'}]}",
     "versions must be in date order"),
])
def test_a_bad_file_is_refused_naming_the_indicator(tmp_path: Path, entry: str, message: str) -> None:
    path = tmp_path / "indicators.yaml"
    path.write_text(f"indicators:\n  {entry}\n", encoding="utf-8")
    with pytest.raises(IndicatorRulesError, match=message):
        load_definitions(date(2026, 1, 1), path)
