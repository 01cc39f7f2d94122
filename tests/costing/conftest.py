"""The eight-centre hospital worked by hand in ``test_costing_by_hand.py`` (and broken on purpose elsewhere)."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from smartfin.costing.model import (
    CASE_COLUMNS,
    CHARGE_COLUMNS,
    DIRECT_COLUMNS,
    DRIVER_COLUMNS,
    ITEM_COLUMNS,
    REVENUE_COLUMNS,
    SHARED_COLUMNS,
    WORKLOAD_COLUMNS,
    AllocationRules,
    Centre,
    MonthInputs,
    Service,
)
from smartfin.ledger.departments import DepartmentClass as K

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
