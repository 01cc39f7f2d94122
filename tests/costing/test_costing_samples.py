"""The synthetic hospital: deterministic, plausible, worked out without problems, and written as the imports'
files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from smartfin.costing.compute import compute_month
from smartfin.costing.model import Service
from smartfin.costing.samples import generate_month, his_codes, write_month_files
from smartfin.ledger.departments import DepartmentClass

COLUMNS = {
    "profile": ["centre", "service", "beds", "area_m2", "headcount", "valid_from"],
    "his-map": ["his_department", "centre"],
    "payroll": ["centre", "amount"],
    "materials": ["centre", "kind", "amount"],
    "depreciation": ["centre", "kind", "amount"],
    "direct": ["centre", "cost_item", "amount"],
    "shared": ["name", "cost_item", "amount"],
    "drivers": ["centre", "driver", "quantity"],
    "revenue": ["ordering_department", "performing_department", "amount"],
    "workload": ["centre", "measure", "quantity"],
    "charges": ["case_id", "item_code", "item_kind", "ordering_department", "performing_department", "quantity",
                "amount"],
    "items": ["item_code", "name", "rvu", "charge"],
    "cases": ["case_id", "department", "drg_group", "payment"],
    "departments": ["code", "name", "class", "valid_from"],
}


def test_the_same_seed_gives_the_same_month() -> None:
    a, b = generate_month("2026-10", seed=7), generate_month("2026-10", seed=7)
    c = generate_month("2026-10", seed=8)
    assert a.centres == b.centres
    for name in ("direct", "shared", "drivers", "revenue", "workload", "charges", "items", "cases"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.charges.equals(c.charges)


@pytest.mark.parametrize("centres", [8, 40])
def test_a_plausible_hospital_that_works_out(centres: int) -> None:
    inputs = generate_month("2026-10", centres=centres, items=80, charge_lines=5_000, cases=150, seed=1)
    classes = {c.cost_class for c in inputs.centres}
    assert classes == set(DepartmentClass)
    assert len({c.code for c in inputs.centres}) == len({c.name for c in inputs.centres}) == centres
    assert any(c.service == Service.OUTPATIENT for c in inputs.centres)
    assert all("\u4e00" <= c.name[0] <= "\u9fff" for c in inputs.centres)
    result = compute_month(inputs)
    assert int(result.centre_costs["total_fen"].sum()) == int(inputs.direct["amount_fen"].sum()
                                                              + inputs.shared["amount_fen"].sum())
    revenue = int(inputs.charges["amount_fen"].sum())
    personnel = int(result.centre_costs.loc[result.centre_costs["cost_item"] == "personnel", "total_fen"].sum())
    assert 0.25 < personnel / revenue < 0.5
    assert 0.8 < int(result.centre_costs["total_fen"].sum()) / revenue < 1.3
    assert (result.unit_costs["unit_cost"].notna()).all()
    assert len(result.case_costs) == 150


def test_the_files_carry_the_month_with_his_codes(tmp_path: Path) -> None:
    inputs = generate_month("2026-10", centres=12, items=40, charge_lines=2_000, cases=60, seed=3)
    paths = write_month_files(inputs, tmp_path)
    assert set(paths) == {*COLUMNS, "allocation"}
    files = {kind: pd.read_csv(paths[kind], dtype=str, keep_default_na=False) for kind in COLUMNS}
    for kind, columns in COLUMNS.items():
        assert list(files[kind].columns) == columns, kind

    def fen(column: pd.Series) -> int:
        return int(column.str.replace(".", "", regex=False).astype("int64").sum())

    direct = sum(fen(files[k]["amount"]) for k in ("payroll", "materials", "depreciation", "direct"))
    assert direct == int(inputs.direct["amount_fen"].sum())
    assert fen(files["charges"]["amount"]) == int(inputs.charges["amount_fen"].sum())
    his = his_codes(inputs)
    mapped = dict(zip(files["his-map"]["his_department"], files["his-map"]["centre"], strict=True))
    assert mapped == {v: k for k, v in his.items()}
    assert set(files["charges"]["ordering_department"]) <= set(mapped)
    assert files["charges"]["ordering_department"].map(mapped).tolist() == inputs.charges["ordering_centre"].tolist()
    assert "消毒供应中心" in paths["departments"].read_text(encoding="utf-8")
    allocation = pd.read_csv(paths["allocation"], dtype=str, keep_default_na=False)
    assert list(allocation.columns) == ["stage", "subject", "driver", "valid_from"]
    assert ("auxiliary", "CSSD") in set(zip(allocation["stage"], allocation["subject"], strict=True)) or \
        (allocation["stage"] == "auxiliary").sum() > 1, "each auxiliary centre's measure"
    assert set(allocation.loc[allocation["stage"] == "shared", "subject"]) == set(inputs.rules.shared)
