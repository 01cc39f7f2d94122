"""Fixtures for the cost-accounting data tests: a fresh SQLite file per test and the session's throwaway
PostgreSQL, a small hospital's departments, and a stand-in for the month's computation.

The stand-in (``simple_calculator``) replaces ``smartfin.costing.compute`` and ``smartfin.costing.indicators``
in unit tests of the storage only: every administrative centre's cost goes to the first clinical centre at
stage 1, and one indicator per clinical centre is its total in yuan. The real computation is tested where it
is written.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import smartfin.app.tables  # noqa: F401  (registers every table)
from smartfin.costing.imports import import_cost_file
from smartfin.costing.model import (
    CASE_COST_COLUMNS,
    CENTRE_COST_COLUMNS,
    GROUP_COST_COLUMNS,
    INDICATOR_COLUMNS,
    ITEM_COST_COLUMNS,
    MATRIX_COLUMNS,
    UNIT_COST_COLUMNS,
    Direction,
    IndicatorDefinition,
    MonthInputs,
    MonthResult,
)
from smartfin.ledger import import_departments
from smartfin.ledger.departments import DepartmentClass
from smartfin.store.db import make_engine
from tests.support.localpg import LocalPostgres

DEPARTMENTS = ("code,name,class,valid_from\n"
               "ADM,院办,行政后勤类,2020-01-01\n"
               "CSSD,消毒供应中心,医疗辅助类,2020-01-01\n"
               "RAD,放射科,医疗技术类,2020-01-01\n"
               "CARD,心血管内科,临床服务类,2020-01-01\n"
               "ORTH,骨科,临床服务类,2020-01-01\n")
HIS_MAP = "his_department,centre\nH01,CARD\nH02,ORTH\nH09,RAD\n"
MONTH = "2026-10"


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'cost.db'}")
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine(pg_server: LocalPostgres) -> Iterator[Engine]:
    engine = make_engine(pg_server.url)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The same test on both databases the product supports."""
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


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
