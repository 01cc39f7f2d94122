"""A small cost month written out by hand as result frames: the fixture of the report and flow-wiring tests.

Seven centres, one of each non-clinical class and four clinical ones, one of them named like a spreadsheet
formula. The frames follow ``smartfin.costing.model``; the centre costs are derived here from the direct
costs and the matrix (allocated = received − passed on) so that the figures are consistent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from smartfin.costing.model import (
    CASE_COST_COLUMNS,
    CENTRE_COST_COLUMNS,
    GROUP_COST_COLUMNS,
    INDICATOR_COLUMNS,
    ITEM_COST_COLUMNS,
    MATRIX_COLUMNS,
    UNIT_COST_COLUMNS,
    Breach,
    Centre,
    Direction,
    IndicatorDefinition,
    MonthResult,
    Service,
)
from smartfin.ledger.departments import DepartmentClass

MONTH = "2031-10"
FORMULA_NAME = "=cmd|' /C calc'!A0"

CENTRES = (
    Centre("ADM", "院办", DepartmentClass.ADMINISTRATIVE, headcount=Decimal(20), area_m2=Decimal(400)),
    Centre("CSSD", "消毒供应中心", DepartmentClass.MEDICAL_AUXILIARY, headcount=Decimal(10)),
    Centre("RAD", "放射科", DepartmentClass.MEDICAL_TECHNICAL, headcount=Decimal(30)),
    Centre("CARD", "心血管内科", DepartmentClass.CLINICAL, Service.INPATIENT, beds=60, area_m2=Decimal("1200.5"),
           headcount=Decimal(80)),
    Centre("NEUR", "神经内科", DepartmentClass.CLINICAL, Service.INPATIENT, beds=40, headcount=Decimal(50)),
    Centre("OPD", "门诊部", DepartmentClass.CLINICAL, Service.OUTPATIENT, headcount=Decimal(30)),
    Centre("EVIL", FORMULA_NAME, DepartmentClass.CLINICAL, Service.OUTPATIENT, headcount=Decimal(5)),
)

DIRECT = {  # (centre, item) → fen
    ("ADM", "personnel"): 10_000_000, ("CSSD", "materials"): 2_000_000, ("RAD", "depreciation"): 5_000_000,
    ("CARD", "personnel"): 30_000_000, ("CARD", "drugs"): 12_345_678, ("NEUR", "personnel"): 20_000_000,
    ("OPD", "personnel"): 8_000_001, ("EVIL", "other"): 100_000,
}
MATRIX = [  # stage, from, to, item, fen
    (1, "ADM", "CSSD", "personnel", 1_000_000), (1, "ADM", "RAD", "personnel", 2_000_000),
    (1, "ADM", "CARD", "personnel", 4_000_000), (1, "ADM", "NEUR", "personnel", 2_000_000),
    (1, "ADM", "OPD", "personnel", 1_000_000),
    (2, "CSSD", "RAD", "materials", 200_000), (2, "CSSD", "CARD", "materials", 1_000_000),
    (2, "CSSD", "CARD", "personnel", 500_000), (2, "CSSD", "NEUR", "materials", 800_000),
    (2, "CSSD", "NEUR", "personnel", 500_000),
    (3, "RAD", "CARD", "depreciation", 3_333_333), (3, "RAD", "CARD", "personnel", 1_111_111),
    (3, "RAD", "CARD", "materials", 166_667), (3, "RAD", "NEUR", "depreciation", 1_666_667),
    (3, "RAD", "NEUR", "personnel", 888_889), (3, "RAD", "NEUR", "materials", 33_333),
]
UNITS = {"CARD": (Service.INPATIENT, Decimal(1000)), "NEUR": (Service.INPATIENT, Decimal(800)),
         "OPD": (Service.OUTPATIENT, Decimal(4000)), "EVIL": (Service.OUTPATIENT, Decimal(7))}

DEFINITIONS = [
    IndicatorDefinition("materials_per_100_revenue", "百元医疗收入卫生材料消耗 Materials per ¥100 revenue", "yuan",
                        Decimal("20.00"), Direction.MAX, "department"),
    IndicatorDefinition("personnel_share", "人员经费占比 Personnel cost share", "percent", Decimal("40.00"),
                        Direction.MAX, "hospital"),
    IndicatorDefinition("cost_per_bed_day", "床日成本 Cost per bed-day", "yuan", Decimal("500.00"), Direction.MAX,
                        "department"),
]


def centre_costs() -> pd.DataFrame:
    """Per centre and item: direct, allocated (received − passed on), total."""
    keys = set(DIRECT) | {(t, i) for _, _, t, i, _ in MATRIX} | {(f, i) for _, f, _, i, _ in MATRIX}
    rows = []
    for centre, item in sorted(keys):
        direct = DIRECT.get((centre, item), 0)
        received = sum(fen for _, _, t, i, fen in MATRIX if (t, i) == (centre, item))
        passed = sum(fen for _, f, _, i, fen in MATRIX if (f, i) == (centre, item))
        rows.append((centre, item, direct, received - passed, direct + received - passed))
    return pd.DataFrame(rows, columns=list(CENTRE_COST_COLUMNS))


def total_fen(centre: str) -> int:
    frame = centre_costs()
    return int(frame[frame["centre"] == centre]["total_fen"].sum())


def result(month: str = MONTH) -> MonthResult:
    """The month's result frames."""
    unit_rows = [(c, s.value, total_fen(c), units, (Decimal(total_fen(c)) / 100 / units).quantize(Decimal("0.01")))
                 for c, (s, units) in UNITS.items()]
    return MonthResult(
        month=month,
        matrix=pd.DataFrame(MATRIX, columns=list(MATRIX_COLUMNS)),
        centre_costs=centre_costs(),
        unit_costs=pd.DataFrame(unit_rows, columns=list(UNIT_COST_COLUMNS)),
        item_costs=pd.DataFrame([("S001", "ccr", Decimal(120), 360_000, Decimal("30.00"), 480_000),
                                 ("S001", "rvu", Decimal(120), 372_000, Decimal("31.00"), 480_000)],
                                columns=list(ITEM_COST_COLUMNS)),
        case_costs=pd.DataFrame([("C1", "CARD", "FM19", 2_000_000, 2_200_000, 1_900_000),
                                 ("C2", "EVIL", "=HYPERLINK(1)", 100_000, 120_000, 150_000)],
                                columns=list(CASE_COST_COLUMNS)),
        group_costs=pd.DataFrame([("FM19", "CARD", 1, 2_000_000, 2_200_000, 1_900_000, -100_000),
                                  ("=HYPERLINK(1)", "EVIL", 1, 100_000, 120_000, 150_000, 50_000)],
                                 columns=list(GROUP_COST_COLUMNS)),
    )


def indicators() -> pd.DataFrame:
    return pd.DataFrame([("CARD", "materials_per_100_revenue", Decimal("23.45")),
                         ("", "personnel_share", Decimal("38.20")),
                         ("CARD", "cost_per_bed_day", Decimal("524.57")),
                         ("NEUR", "materials_per_100_revenue", None),
                         ("EVIL", "materials_per_100_revenue", Decimal("5.00"))], columns=list(INDICATOR_COLUMNS))


def last_year() -> pd.DataFrame:
    return pd.DataFrame([("CARD", "materials_per_100_revenue", Decimal("21.00")),
                         ("", "personnel_share", Decimal("36.50"))], columns=list(INDICATOR_COLUMNS))


def breaches(month: str = MONTH) -> list[Breach]:
    return [Breach(month, "CARD", "心血管内科", "materials_per_100_revenue", DEFINITIONS[0].name, Decimal("23.45"),
                   Decimal("20.00"), Direction.MAX, Decimal("21.00")),
            Breach(month, "CARD", "心血管内科", "cost_per_bed_day", DEFINITIONS[2].name, Decimal("524.57"),
                   Decimal("500.00"), Direction.MAX, None)]


def history(centre: str = "CARD", month: str = MONTH) -> pd.DataFrame:
    """Twelve months ending with ``month``, one of them (three months back) never run."""
    year, mon = (int(p) for p in month.split("-"))
    rows = []
    for back in range(11, -1, -1):
        index = year * 12 + mon - 1 - back
        m = f"{index // 12:04d}-{index % 12 + 1:02d}"
        if back == 3:
            continue
        fen = total_fen(centre) if back == 0 else 50_000_000 + back * 123_456
        rows.append((m, fen, (Decimal(fen) / 100 / 1000).quantize(Decimal("0.01"))))
    return pd.DataFrame(rows, columns=["month", "total_fen", "unit_cost"])


@dataclass(frozen=True)
class Sample:
    """Everything the page and the workbook take, for one month."""

    month: str = MONTH

    def page_args(self, code: str = "CARD") -> dict[str, object]:
        centre = next(c for c in CENTRES if c.code == code)
        return dict(month=self.month, centre=centre, result=result(self.month), indicators=indicators(),
                    definitions=DEFINITIONS, history=history(code, self.month), centres=CENTRES,
                    last_year=last_year(), breaches=breaches(self.month))
