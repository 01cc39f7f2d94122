"""The cost-accounting tables: dated configuration, the month's imported inputs, and the month's published run.

Configuration (dated; a new version closes the one before, as the department master data does):

* ``cost_centre_profile`` — per cost centre (a department code): which patients it serves, beds, floor area,
  headcount, from ``valid_from`` to ``valid_to``;
* ``cost_allocation_rule`` — which driver each allocation uses: ``administrative`` (stage 1, subject ""),
  ``auxiliary`` (stage 2, subject = the auxiliary centre; subject "" = the default), ``shared`` (subject = the
  shared cost's name, e.g. ``utilities``);
* ``cost_his_map`` — HIS department code → cost centre.

Inputs: one ``cost_import`` per (month, kind) with the file's sha256; its rows live in the table of the frame
they feed (``cost_direct_input`` for payroll, materials, depreciation and direct files; one table per other
frame of ``smartfin.costing.model.MonthInputs``). A re-import of a month's kind deletes that import's rows
and writes the new ones, never adds to them.

Charge lines are stored one row per line (about 1,000,000 a month at 3,000 beds), written with SQLAlchemy
core ``insert`` in chunks — no ORM object per line. Aggregating them per (case, item, kind, ordering,
performing) would lose nothing the computation needs, but the file's row number is what an auditor asks for,
so lines are kept.

Results: ``cost_run`` is every attempt at a month (``published``, ``failed``, or ``superseded`` by a later
published run); the result tables hold the rows of the month's one published run, replaced together with it
in one transaction. Money is integer fen (``BigInteger``); quantities, relative values and unit costs are
exact decimals stored as text, so SQLite and PostgreSQL give back the same ``Decimal``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from smartfin.kernel.clock import utc_now
from smartfin.store.audit import UtcDateTime

CODE_MAX = 32     # a department (cost centre) code, as in the department master data
KEY_MAX = 64      # HIS codes, item codes, case ids, DRG groups, measure and driver names
NAME_MAX = 200
DECIMAL_MAX = 40  # an exact decimal as text
def _money(**kwargs: object) -> object:
    return Field(sa_column=Column(BigInteger, nullable=False), **kwargs)  # type: ignore[call-overload]


# ------------------------------------------------------------------------------------------ configuration

class CentreProfile(SQLModel, table=True):
    """One version of a cost centre's profile (the department's code, class and name are master data)."""

    __tablename__ = "cost_centre_profile"
    __table_args__ = (UniqueConstraint("centre", "valid_from", name="uq_cost_centre_profile_version"),)

    id: int | None = Field(default=None, primary_key=True)
    centre: str = Field(max_length=CODE_MAX, index=True)
    service: str = Field(max_length=16)          # smartfin.costing.model.Service
    beds: int = 0
    area_m2: str = Field(default="0", max_length=DECIMAL_MAX)
    headcount: str = Field(default="0", max_length=DECIMAL_MAX)
    valid_from: date
    valid_to: date | None = None
    created_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    created_by: str = Field(default="", max_length=64)


class AllocationStage(StrEnum):
    """Which allocation a rule configures (see ``smartfin.costing.model.AllocationRules``)."""

    ADMINISTRATIVE = "administrative"   # stage 1 driver; subject ""
    AUXILIARY = "auxiliary"             # stage 2 workload measure; subject = auxiliary centre ("" = default)
    SHARED = "shared"                   # a shared cost's driver; subject = the shared cost's name


class AllocationRule(SQLModel, table=True):
    """One version of one allocation driver setting."""

    __tablename__ = "cost_allocation_rule"
    __table_args__ = (UniqueConstraint("stage", "subject", "valid_from", name="uq_cost_allocation_rule_version"),)

    id: int | None = Field(default=None, primary_key=True)
    stage: str = Field(max_length=16)
    subject: str = Field(default="", max_length=KEY_MAX)
    driver: str = Field(max_length=KEY_MAX)
    valid_from: date
    valid_to: date | None = None
    created_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    created_by: str = Field(default="", max_length=64)


class HisDepartmentMap(SQLModel, table=True):
    """Which cost centre a HIS department code books to (HIS files carry HIS codes, not cost centres)."""

    __tablename__ = "cost_his_map"

    his_department: str = Field(primary_key=True, max_length=KEY_MAX)
    centre: str = Field(max_length=CODE_MAX)
    updated_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    updated_by: str = Field(default="", max_length=64)


# ------------------------------------------------------------------------------------------------ inputs

class CostImport(SQLModel, table=True):
    """The file that supplies one kind of input for one month; its rows are in the kind's input table."""

    __tablename__ = "cost_import"
    __table_args__ = (UniqueConstraint("month", "kind", name="uq_cost_import_month_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(max_length=7)
    kind: str = Field(max_length=16)
    sha256: str = Field(max_length=64)
    filename: str = Field(default="", max_length=255)
    rows: int = 0
    imported_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    imported_by: str = Field(default="", max_length=64)


def _import_id() -> object:
    return Field(sa_column=Column(Integer, ForeignKey("cost_import.id"), nullable=False, index=True))


class DirectInput(SQLModel, table=True):
    """A direct cost of a centre: payroll, materials issued, depreciation, other direct files (``source``)."""

    __tablename__ = "cost_direct_input"

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = _import_id()  # type: ignore[assignment]
    month: str = Field(max_length=7, index=True)
    row_no: int
    centre: str = Field(max_length=CODE_MAX)
    cost_item: str = Field(max_length=16)
    amount_fen: int = _money()  # type: ignore[assignment]
    source: str = Field(max_length=16)


class SharedInput(SQLModel, table=True):
    """A shared cost (utilities, property, canteen) to apportion by its configured driver."""

    __tablename__ = "cost_shared_input"

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = _import_id()  # type: ignore[assignment]
    month: str = Field(max_length=7, index=True)
    row_no: int
    name: str = Field(max_length=KEY_MAX)
    cost_item: str = Field(max_length=16)
    amount_fen: int = _money()  # type: ignore[assignment]


class DriverInput(SQLModel, table=True):
    """A driver quantity of a centre (metered use, e.g. ``electricity_kwh``)."""

    __tablename__ = "cost_driver_input"

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = _import_id()  # type: ignore[assignment]
    month: str = Field(max_length=7, index=True)
    row_no: int
    centre: str = Field(max_length=CODE_MAX)
    driver: str = Field(max_length=KEY_MAX)
    quantity: str = Field(max_length=DECIMAL_MAX)


class RevenueInput(SQLModel, table=True):
    """HIS revenue by ordering and performing department, mapped to cost centres (HIS codes kept)."""

    __tablename__ = "cost_revenue_input"

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = _import_id()  # type: ignore[assignment]
    month: str = Field(max_length=7, index=True)
    row_no: int
    ordering_centre: str = Field(max_length=CODE_MAX)
    performing_centre: str = Field(max_length=CODE_MAX)
    ordering_his: str = Field(max_length=KEY_MAX)
    performing_his: str = Field(max_length=KEY_MAX)
    amount_fen: int = _money()  # type: ignore[assignment]


class WorkloadInput(SQLModel, table=True):
    """A workload figure of a centre (visits, emergency_visits, bed_days, tests, packs, laundry_kg …)."""

    __tablename__ = "cost_workload_input"

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = _import_id()  # type: ignore[assignment]
    month: str = Field(max_length=7, index=True)
    row_no: int
    centre: str = Field(max_length=CODE_MAX)
    measure: str = Field(max_length=KEY_MAX)
    quantity: str = Field(max_length=DECIMAL_MAX)


class ChargeInput(SQLModel, table=True):
    """One HIS charge line of the month, departments mapped to cost centres."""

    __tablename__ = "cost_charge_input"

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = _import_id()  # type: ignore[assignment]
    month: str = Field(max_length=7, index=True)
    row_no: int
    case_id: str = Field(max_length=KEY_MAX)
    item_code: str = Field(max_length=KEY_MAX)
    item_kind: str = Field(max_length=16)
    ordering_centre: str = Field(max_length=CODE_MAX)
    performing_centre: str = Field(max_length=CODE_MAX)
    quantity: str = Field(max_length=DECIMAL_MAX)
    amount_fen: int = _money()  # type: ignore[assignment]


class ItemInput(SQLModel, table=True):
    """The service-item catalogue of the month: relative value (成本当量) and charge."""

    __tablename__ = "cost_item_input"

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = _import_id()  # type: ignore[assignment]
    month: str = Field(max_length=7, index=True)
    row_no: int
    item_code: str = Field(max_length=KEY_MAX)
    name: str = Field(default="", max_length=NAME_MAX)
    rvu: str = Field(max_length=DECIMAL_MAX)
    charge_fen: int = _money()  # type: ignore[assignment]


class CaseInput(SQLModel, table=True):
    """A discharged inpatient case with its DRG/DIP group and the payment for it."""

    __tablename__ = "cost_case_input"

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = _import_id()  # type: ignore[assignment]
    month: str = Field(max_length=7, index=True)
    row_no: int
    case_id: str = Field(max_length=KEY_MAX)
    centre: str = Field(max_length=CODE_MAX)
    drg_group: str = Field(max_length=KEY_MAX)
    payment_fen: int = _money()  # type: ignore[assignment]


# ----------------------------------------------------------------------------------------------- results

class RunStatus(StrEnum):
    PUBLISHED = "published"     # the month's results are this run's
    FAILED = "failed"           # nothing was published; ``reason`` says why
    SUPERSEDED = "superseded"   # was published, replaced by a later run of the month


class CostRun(SQLModel, table=True):
    """One attempt at working out a month."""

    __tablename__ = "cost_run"
    __table_args__ = (Index("ix_cost_run_month_status", "month", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(max_length=7)
    status: str = Field(max_length=16)
    inputs: str = Field(default="{}", sa_column=Column(Text, nullable=False))    # JSON: kind → sha256
    notes: str = Field(default="[]", sa_column=Column(Text, nullable=False))     # JSON list of strings
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))      # why it failed
    started_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    finished_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    actor: str = Field(max_length=64)


def _run_id() -> object:
    return Field(sa_column=Column(Integer, ForeignKey("cost_run.id"), nullable=False, index=True))


class MatrixRow(SQLModel, table=True):
    """One allocated amount: from which centre to which, at which stage (0 = shared costs), of which item."""

    __tablename__ = "cost_matrix"
    __table_args__ = (Index("ix_cost_matrix_month_to", "month", "to_centre"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = _run_id()  # type: ignore[assignment]
    month: str = Field(max_length=7)
    stage: int
    from_centre: str = Field(max_length=KEY_MAX)   # a centre, or a shared cost's name at stage 0
    to_centre: str = Field(max_length=CODE_MAX)
    cost_item: str = Field(max_length=16)
    amount_fen: int = _money()  # type: ignore[assignment]


class CentreCost(SQLModel, table=True):
    """A centre's cost of one item in the month: direct, allocated to it, total."""

    __tablename__ = "cost_centre_cost"
    __table_args__ = (Index("ix_cost_centre_cost_month_centre", "month", "centre"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = _run_id()  # type: ignore[assignment]
    month: str = Field(max_length=7)
    centre: str = Field(max_length=CODE_MAX)
    cost_item: str = Field(max_length=16)
    direct_fen: int = _money()  # type: ignore[assignment]
    allocated_fen: int = _money()  # type: ignore[assignment]
    total_fen: int = _money()  # type: ignore[assignment]


class UnitCost(SQLModel, table=True):
    """Cost per visit (诊次成本) or per occupied bed-day (床日成本) of a clinical centre."""

    __tablename__ = "cost_unit_cost"
    __table_args__ = (Index("ix_cost_unit_cost_month_centre", "month", "centre"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = _run_id()  # type: ignore[assignment]
    month: str = Field(max_length=7)
    centre: str = Field(max_length=CODE_MAX)
    service: str = Field(max_length=16)
    total_fen: int = _money()  # type: ignore[assignment]
    units: str = Field(max_length=DECIMAL_MAX)
    unit_cost: str | None = Field(default=None, max_length=DECIMAL_MAX)


class ItemCost(SQLModel, table=True):
    """A service item's cost by one method (``ccr`` cost-to-charge ratio, ``rvu`` relative value)."""

    __tablename__ = "cost_item_cost"
    __table_args__ = (Index("ix_cost_item_cost_month", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = _run_id()  # type: ignore[assignment]
    month: str = Field(max_length=7)
    item_code: str = Field(max_length=KEY_MAX)
    method: str = Field(max_length=8)
    quantity: str = Field(max_length=DECIMAL_MAX)
    cost_fen: int = _money()  # type: ignore[assignment]
    unit_cost: str | None = Field(default=None, max_length=DECIMAL_MAX)
    charge_fen: int = _money()  # type: ignore[assignment]


class CaseCost(SQLModel, table=True):
    """One case's cost bottom-up from its items, drugs and materials."""

    __tablename__ = "cost_case_cost"
    __table_args__ = (Index("ix_cost_case_cost_month", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = _run_id()  # type: ignore[assignment]
    month: str = Field(max_length=7)
    case_id: str = Field(max_length=KEY_MAX)
    centre: str = Field(max_length=CODE_MAX)
    drg_group: str = Field(max_length=KEY_MAX)
    cost_fen: int = _money()  # type: ignore[assignment]
    charge_fen: int = _money()  # type: ignore[assignment]
    payment_fen: int = _money()  # type: ignore[assignment]


class GroupCost(SQLModel, table=True):
    """A DRG/DIP group's cost in a centre against its payment."""

    __tablename__ = "cost_group_cost"
    __table_args__ = (Index("ix_cost_group_cost_month", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = _run_id()  # type: ignore[assignment]
    month: str = Field(max_length=7)
    drg_group: str = Field(max_length=KEY_MAX)
    centre: str = Field(max_length=CODE_MAX)
    cases: int
    cost_fen: int = _money()  # type: ignore[assignment]
    charge_fen: int = _money()  # type: ignore[assignment]
    payment_fen: int = _money()  # type: ignore[assignment]
    surplus_fen: int = _money()  # type: ignore[assignment]


class IndicatorValue(SQLModel, table=True):
    """An indicator's value for a centre ("" = the whole hospital) in the month; None when undefined."""

    __tablename__ = "cost_indicator_value"
    __table_args__ = (Index("ix_cost_indicator_value_month", "month", "centre"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = _run_id()  # type: ignore[assignment]
    month: str = Field(max_length=7)
    centre: str = Field(default="", max_length=CODE_MAX)
    indicator: str = Field(max_length=KEY_MAX)
    value: str | None = Field(default=None, max_length=DECIMAL_MAX)


INPUT_TABLES = (DirectInput, SharedInput, DriverInput, RevenueInput, WorkloadInput, ChargeInput, ItemInput,
                CaseInput)
RESULT_TABLES = (MatrixRow, CentreCost, UnitCost, ItemCost, CaseCost, GroupCost, IndicatorValue)
