"""Fixtures of the cost-accounting tests.

* The eight-centre hospital worked by hand in ``test_costing_by_hand.py`` (and broken on purpose elsewhere).
* For the data tests: a fresh SQLite file per test and the session's throwaway PostgreSQL, a small hospital's
  departments, and a stand-in for the month's computation (``simple_calculator``), used only where a test is
  about storing a month, not about working it out: every administrative centre's cost goes to the first
  clinical centre at stage 1, and one indicator per clinical centre is its total in yuan. The real computation
  is tested in ``test_costing_*`` and end to end in ``tests/flows/test_flows_cost.py``.
"""

from __future__ import annotations

import sys
import types
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import smartfin.app.tables  # noqa: F401  (registers every table)
from smartfin.costing.imports import import_cost_file
from smartfin.costing.model import (
    CASE_COLUMNS,
    CASE_COST_COLUMNS,
    CENTRE_COST_COLUMNS,
    CHARGE_COLUMNS,
    DIRECT_COLUMNS,
    DRIVER_COLUMNS,
    GROUP_COST_COLUMNS,
    INDICATOR_COLUMNS,
    ITEM_COLUMNS,
    ITEM_COST_COLUMNS,
    MATRIX_COLUMNS,
    REVENUE_COLUMNS,
    SHARED_COLUMNS,
    UNIT_COST_COLUMNS,
    WORKLOAD_COLUMNS,
    AllocationRules,
    Centre,
    Direction,
    IndicatorDefinition,
    MonthInputs,
    MonthResult,
    Service,
)
from smartfin.ledger import import_departments
from smartfin.ledger.departments import DepartmentClass
from smartfin.ledger.departments import DepartmentClass as K
from tests.support import databases

# the same test on SQLite and PostgreSQL (fixtures shared with the other database tests)
sqlite_engine, pg_engine, engine = databases.sqlite_engine, databases.pg_engine, databases.engine

D = Decimal


def frame(rows: list[tuple], columns: tuple[str, ...]) -> pd.DataFrame:
    result = pd.DataFrame(rows, columns=list(columns))
    for column in columns:
        if column.endswith("_fen"):
            result[column] = result[column].astype("int64")
    return result


def hand_inputs() -> MonthInputs:
    """Two administrative centres, a sterile supply (CSSD), laboratory and radiology, an outpatient clinic and
    two wards; amounts in fen, kept small so the arithmetic fits in comments."""
    centres = (
        Centre("ADM", "院长办公室", K.ADMINISTRATIVE, headcount=D(10), area_m2=D(100)),
        Centre("LOG", "总务处", K.ADMINISTRATIVE, headcount=D(5), area_m2=D(50)),
        Centre("CSSD", "消毒供应中心", K.MEDICAL_AUXILIARY, headcount=D(4), area_m2=D(50)),
        Centre("LAB", "检验科", K.MEDICAL_TECHNICAL, headcount=D(6), area_m2=D(100)),
        Centre("RAD", "放射科", K.MEDICAL_TECHNICAL, headcount=D(4), area_m2=D(100)),
        Centre("OPD", "内科门诊", K.CLINICAL, Service.OUTPATIENT, headcount=D(8), area_m2=D(100)),
        Centre("WARD1", "内科病区", K.CLINICAL, Service.INPATIENT, beds=20, headcount=D(12), area_m2=D(200)),
        Centre("WARD2", "外科病区", K.CLINICAL, Service.INPATIENT, beds=15, headcount=D(10), area_m2=D(300)),
    )
    direct = frame([
        ("ADM", "personnel", 30000, "payroll"), ("ADM", "other", 2000, "direct"),
        ("LOG", "personnel", 10000, "payroll"),
        ("CSSD", "personnel", 8000, "payroll"), ("CSSD", "materials", 1000, "materials"),
        ("LAB", "personnel", 12000, "payroll"), ("LAB", "materials", 6000, "materials"),
        ("RAD", "personnel", 9000, "payroll"), ("RAD", "depreciation", 5000, "depreciation"),
        ("OPD", "personnel", 16000, "payroll"), ("OPD", "drugs", 20000, "materials"),
        ("OPD", "materials", 3000, "materials"),
        ("WARD1", "personnel", 24000, "payroll"), ("WARD1", "drugs", 30000, "materials"),
        ("WARD1", "materials", 8000, "materials"),
        ("WARD2", "personnel", 20000, "payroll"), ("WARD2", "drugs", 10000, "materials"),
        ("WARD2", "materials", 12000, "materials"),
    ], DIRECT_COLUMNS)
    shared = frame([("utilities", "other", 100001)], SHARED_COLUMNS)
    workload = frame([
        ("LAB", "packs", D(10)), ("OPD", "packs", D(20)), ("WARD1", "packs", D(30)), ("WARD2", "packs", D(40)),
        ("OPD", "visits", D(250)), ("OPD", "emergency_visits", D(20)),
        ("WARD1", "bed_days", D(500)), ("WARD2", "bed_days", D(400)),
    ], WORKLOAD_COLUMNS)
    revenue = frame([
        ("OPD", "LAB", 30000), ("WARD1", "LAB", 50000), ("WARD2", "LAB", 20000),
        ("RAD", "LAB", 5000),                                   # ordered by a technical centre: not a driver
        ("OPD", "RAD", 10000), ("WARD2", "RAD", 30000),
        ("OPD", "OPD", 50000), ("WARD1", "WARD1", 80000), ("WARD2", "WARD2", 60000),
    ], REVENUE_COLUMNS)
    items = frame([
        ("S1", "血常规", D(1), 2000), ("S2", "肝功能", D(3), 5000), ("S3", "CT平扫", D(5), 20000),
        ("S4", "一般诊疗费", D(1), 1000), ("S5", "床位费", D(2), 5000),
    ], ITEM_COLUMNS)
    charges = frame([
        ("K1", "S1", "service", "WARD1", "LAB", D(10), 20000),
        ("", "S1", "service", "OPD", "LAB", D(5), 10000),
        ("K1", "S2", "service", "WARD1", "LAB", D(2), 10000),
        ("K2", "S3", "service", "WARD2", "RAD", D(1), 20000),
        ("", "S3", "service", "OPD", "RAD", D(1), 20000),
        ("K1", "S5", "service", "WARD1", "WARD1", D(5), 25000),
        ("K1", "YP0001", "drug", "WARD1", "WARD1", D(4), 8000),
        ("K1", "CL0001", "material", "WARD1", "WARD1", D(1), 3000),
        ("K2", "S5", "service", "WARD2", "WARD2", D(4), 20000),
        ("K2", "CL0002", "material", "WARD2", "WARD2", D(2), 6000),
        ("", "S4", "service", "OPD", "OPD", D(30), 30000),
    ], CHARGE_COLUMNS)
    cases = frame([("K1", "WARD1", "FR13", 100000), ("K2", "WARD2", "GB21", 150000),
                   ("K3", "WARD2", "GB21", 50000)], CASE_COLUMNS)
    return MonthInputs(
        month="2026-10", centres=centres, direct=direct, shared=shared,
        drivers=frame([], DRIVER_COLUMNS), revenue=revenue, workload=workload, charges=charges, items=items,
        cases=cases,
        rules=AllocationRules(administrative="headcount", auxiliary={"CSSD": "packs"},
                              shared={"utilities": "area_m2"}),
    )


@pytest.fixture
def hand_hospital() -> MonthInputs:
    return hand_inputs()


DEPARTMENTS = ("code,name,class,valid_from\n"
               "ADM,院办,行政后勤类,2020-01-01\n"
               "CSSD,消毒供应中心,医疗辅助类,2020-01-01\n"
               "RAD,放射科,医疗技术类,2020-01-01\n"
               "CARD,心血管内科,临床服务类,2020-01-01\n"
               "ORTH,骨科,临床服务类,2020-01-01\n")
HIS_MAP = "his_department,centre\nH01,CARD\nH02,ORTH\nH09,RAD\n"
MONTH = "2026-10"


@pytest.fixture
def hospital(engine: Engine) -> Engine:
    """Five departments (one of each class, two clinical) and the HIS map, committed."""
    with Session(engine, expire_on_commit=False) as session:
        assert import_departments(session, DEPARTMENTS.encode(), actor="test", filename="d.csv").ok
        assert import_cost_file(session, "his-map", HIS_MAP.encode(), month=None, filename="map.csv",
                                actor="test").ok
        session.commit()
    return engine


def load(engine: Engine, kind: str, text: str, *, month: str | None = MONTH, encoding: str = "utf-8",
         filename: str = "file.csv"):  # type: ignore[no-untyped-def]
    """Import one file in its own committed transaction; the report."""
    with Session(engine, expire_on_commit=False) as session:
        report = import_cost_file(session, kind, text.encode(encoding), month=month, filename=filename,
                                  actor="finance-officer")
        session.commit()
    return report


def _simple_compute(inputs: MonthInputs) -> MonthResult:
    classes = {c.code: c.cost_class for c in inputs.centres}
    clinical = sorted(c.code for c in inputs.centres if c.cost_class is DepartmentClass.CLINICAL)
    direct = inputs.direct.groupby(["centre", "cost_item"], as_index=False)["amount_fen"].sum()
    matrix = [(1, r.centre, clinical[0], r.cost_item, int(r.amount_fen)) for r in direct.itertuples()
              if classes[r.centre] is DepartmentClass.ADMINISTRATIVE]
    costs: dict[tuple[str, str], list[int]] = {}
    for r in direct.itertuples():
        costs.setdefault((r.centre, r.cost_item), [0, 0])[0] += int(r.amount_fen)
    for _stage, source, target, item, amount in matrix:
        costs.setdefault((target, item), [0, 0])[1] += amount
        costs[(source, item)][1] -= amount
    rows = [(c, i, d, a, d + a) for (c, i), (d, a) in sorted(costs.items())]
    empty = {name: pd.DataFrame(columns=list(cols)) for name, cols in (
        ("item_costs", ITEM_COST_COLUMNS), ("case_costs", CASE_COST_COLUMNS), ("group_costs", GROUP_COST_COLUMNS))}
    unit = [(c, "inpatient", sum(t for cc, _i, _d, _a, t in rows if cc == c), Decimal(10),
             Decimal(sum(t for cc, _i, _d, _a, t in rows if cc == c)) / 1000) for c in clinical]
    return MonthResult(month=inputs.month, matrix=pd.DataFrame(matrix, columns=list(MATRIX_COLUMNS)),
                       centre_costs=pd.DataFrame(rows, columns=list(CENTRE_COST_COLUMNS)),
                       unit_costs=pd.DataFrame(unit, columns=list(UNIT_COST_COLUMNS)), **empty)


DEFINITION = IndicatorDefinition(key="total_yuan", name="科室总成本", unit="yuan", target=Decimal("1000"),
                                 direction=Direction.MAX, scope="department")


def _simple_indicators(inputs: MonthInputs, result: MonthResult, definitions: list) -> pd.DataFrame:  # type: ignore[type-arg]
    totals = result.centre_costs.groupby("centre")["total_fen"].sum()
    rows = [(c, "total_yuan", Decimal(int(totals.get(c, 0))) / 100) for c in sorted(totals.index)]
    return pd.DataFrame([*rows, ("", "total_yuan", None)], columns=list(INDICATOR_COLUMNS))


@pytest.fixture
def simple_calculator(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """Stand-ins for ``compute_month`` and the indicators (see the module docstring); ``fail_with`` makes the
    computation raise."""
    state = types.SimpleNamespace(fail_with=None, calls=0)
    compute = types.ModuleType("smartfin.costing.compute")

    def compute_month(inputs: MonthInputs) -> MonthResult:
        state.calls += 1
        state.inputs = inputs
        if state.fail_with is not None:
            raise state.fail_with
        return _simple_compute(inputs)

    compute.compute_month = compute_month  # type: ignore[attr-defined]
    indicators = types.ModuleType("smartfin.costing.indicators")
    indicators.load_definitions = lambda on: [DEFINITION]  # type: ignore[attr-defined]
    indicators.indicator_values = _simple_indicators  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "smartfin.costing.compute", compute)
    monkeypatch.setitem(sys.modules, "smartfin.costing.indicators", indicators)
    return state


__all__ = ["DEFINITION", "MONTH", "date", "load"]
