"""One cost month's inputs and results, as the computation sees them: typed, in memory, no database.

Money is integer fen (``int64`` columns named ``*_fen``); quantities (visits, bed-days, kg, m², headcount,
relative values) are exact ``Decimal`` in object columns. Frames carry exactly the columns listed; a frame may
be empty but always has its columns. Cost centres are departments (``smartfin.ledger.Department``): their code
and class come from the department master data, the rest from the dated cost-centre profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

import pandas as pd

from smartfin.ledger.departments import DepartmentClass


class CostItem(StrEnum):
    """The seven cost items of the national rules (成本项目)."""

    PERSONNEL = "personnel"            # 人员经费
    MATERIALS = "materials"            # 卫生材料费
    DRUGS = "drugs"                    # 药品费
    DEPRECIATION = "depreciation"      # 固定资产折旧费
    AMORTISATION = "amortisation"      # 无形资产摊销费
    RISK_FUND = "risk_fund"            # 提取医疗风险基金
    OTHER = "other"                    # 其他运行费用


class Service(StrEnum):
    """Which patients a clinical centre's cost serves: the denominator of its unit cost."""

    OUTPATIENT = "outpatient"   # 门急诊: cost per visit (诊次成本)
    INPATIENT = "inpatient"     # 住院: cost per occupied bed-day (床日成本)
    NONE = "none"               # not a clinical front line (technical, auxiliary, administrative centres)


@dataclass(frozen=True)
class Centre:
    """One cost centre in force in the month (a department and its dated profile)."""

    code: str
    name: str
    cost_class: DepartmentClass
    service: Service = Service.NONE
    beds: int = 0
    area_m2: Decimal = Decimal(0)
    headcount: Decimal = Decimal(0)


@dataclass(frozen=True)
class AllocationRules:
    """Which driver each stage of the step-down allocation uses (dated configuration, read by the caller).

    Stage 1: administrative and logistics → every other centre, by ``administrative`` (default headcount);
    stage 2: medical auxiliary → medical technical and clinical, by ``auxiliary`` (a workload measure per
    auxiliary centre, e.g. CSSD → ``packs``, laundry → ``laundry_kg``; ``default_auxiliary`` otherwise);
    stage 3: medical technical → clinical, by the revenue each technical centre earns per ordering centre.
    ``shared`` maps a shared cost (utilities, property, canteen) to its driver (``area_m2``, ``headcount``, or
    a metered measure in the driver quantities).
    """

    administrative: str = "headcount"
    auxiliary: dict[str, str] = field(default_factory=dict)   # auxiliary centre code → workload measure
    default_auxiliary: str = "workload"
    shared: dict[str, str] = field(default_factory=dict)      # shared cost name → driver


# Columns of each input frame.
DIRECT_COLUMNS = ("centre", "cost_item", "amount_fen", "source")
SHARED_COLUMNS = ("name", "cost_item", "amount_fen")            # apportioned by AllocationRules.shared[name]
DRIVER_COLUMNS = ("centre", "driver", "quantity")               # area_m2, headcount, metered use, workload …
REVENUE_COLUMNS = ("ordering_centre", "performing_centre", "amount_fen")
WORKLOAD_COLUMNS = ("centre", "measure", "quantity")            # visits, emergency_visits, bed_days, tests, packs …
CHARGE_COLUMNS = ("case_id", "item_code", "item_kind", "ordering_centre", "performing_centre", "quantity",
                  "amount_fen")                                 # item_kind: service, drug, material
ITEM_COLUMNS = ("item_code", "name", "rvu", "charge_fen")       # rvu: 成本当量 relative value per unit
CASE_COLUMNS = ("case_id", "centre", "drg_group", "payment_fen")


@dataclass(frozen=True)
class MonthInputs:
    """Everything the month's computation needs; built from the project's tables by the caller."""

    month: str                      # "2026-10"
    centres: tuple[Centre, ...]
    direct: pd.DataFrame            # DIRECT_COLUMNS: the ledger's actuals and the imported direct costs
    shared: pd.DataFrame            # SHARED_COLUMNS
    drivers: pd.DataFrame           # DRIVER_COLUMNS
    revenue: pd.DataFrame           # REVENUE_COLUMNS: HIS revenue by ordering and performing centre
    workload: pd.DataFrame          # WORKLOAD_COLUMNS
    charges: pd.DataFrame           # CHARGE_COLUMNS: HIS charge lines of the month
    items: pd.DataFrame             # ITEM_COLUMNS: the service-item catalogue with relative values and charges
    cases: pd.DataFrame             # CASE_COLUMNS: discharged inpatient cases with their DRG/DIP group
    rules: AllocationRules = field(default_factory=AllocationRules)


# Columns of each result frame.
MATRIX_COLUMNS = ("stage", "from_centre", "to_centre", "cost_item", "amount_fen")   # stage 0 = shared costs
CENTRE_COST_COLUMNS = ("centre", "cost_item", "direct_fen", "allocated_fen", "total_fen")
UNIT_COST_COLUMNS = ("centre", "service", "total_fen", "units", "unit_cost")        # unit_cost: Decimal yuan
ITEM_COST_COLUMNS = ("item_code", "method", "quantity", "cost_fen", "unit_cost", "charge_fen")  # method: ccr, rvu
CASE_COST_COLUMNS = ("case_id", "centre", "drg_group", "cost_fen", "charge_fen", "payment_fen")
GROUP_COST_COLUMNS = ("drg_group", "centre", "cases", "cost_fen", "charge_fen", "payment_fen", "surplus_fen")


@dataclass(frozen=True)
class MonthResult:
    """The month worked out. Conservation: ``centre_costs.total_fen`` sums to the direct and shared costs
    to the fen, and after allocation only clinical centres hold cost."""

    month: str
    matrix: pd.DataFrame            # MATRIX_COLUMNS: every allocated fen, from where to where, at which stage
    centre_costs: pd.DataFrame      # CENTRE_COST_COLUMNS: per centre and cost item, before and after allocation
    unit_costs: pd.DataFrame        # UNIT_COST_COLUMNS
    item_costs: pd.DataFrame        # ITEM_COST_COLUMNS
    case_costs: pd.DataFrame        # CASE_COST_COLUMNS
    group_costs: pd.DataFrame       # GROUP_COST_COLUMNS


class CostInputError(ValueError):
    """The month's inputs cannot be worked out; ``problems`` names each (where, what) — nothing is published."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{where}: {what}" for where, what in problems))


# ---------------------------------------------------------------------------------------------- indicators

class Direction(StrEnum):
    """Whether a value above (``max``) or below (``min``) the target breaches it."""

    MAX = "max"
    MIN = "min"


@dataclass(frozen=True)
class IndicatorDefinition:
    """One indicator as finance defines it (dated, in ``rules/cost/indicators.yaml``)."""

    key: str                 # e.g. materials_per_100_revenue
    name: str                # 百元医疗收入卫生材料消耗 …
    unit: str                # "yuan", "percent"
    target: Decimal
    direction: Direction
    scope: str               # "hospital" or "department" (clinical centres)


INDICATOR_COLUMNS = ("centre", "indicator", "value")   # centre "" = the whole hospital; value: Decimal or None


@dataclass(frozen=True)
class Breach:
    """A centre's indicator on the wrong side of its target in a month: what a cost review is opened for."""

    month: str
    centre: str
    centre_name: str
    indicator: str
    indicator_name: str
    value: Decimal
    target: Decimal
    direction: Direction
    last_year: Decimal | None = None      # the same month a year earlier, when stored
