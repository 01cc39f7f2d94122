"""The cost month's run: gather the inputs, work the month out, publish every result at once — or nothing.

``run_month`` reads the month's imported rows, the ledger's actuals (``smartfin.costing.actuals``) and the
dated configuration in force on the month's last day into ``MonthInputs``; ``compute_month`` works it out;
the indicators are evaluated against the definitions in force that day. Then, in ONE transaction, the run
is recorded as ``published``, the month's earlier published run (if any) becomes ``superseded`` and its
result rows are replaced by the new ones. Inputs whose files changed while the month was being worked out
fail the run (re-run it). A ``CostInputError`` or any other failure records a ``failed`` run with the
reasons and publishes nothing: the month's earlier results, if any, stay as they were.

Readers (``stored_result``, ``stored_indicators``, ``breaches``, ``history``) see only published runs.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import delete, insert, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from smartfin.costing.actuals import actual_direct_costs
from smartfin.costing.imports import KINDS
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
    Breach,
    Centre,
    CostInputError,
    CostItem,
    Direction,
    IndicatorDefinition,
    MonthInputs,
    MonthResult,
    Service,
)
from smartfin.costing.tables import (
    RESULT_TABLES,
    AllocationRule,
    AllocationStage,
    CaseCost,
    CaseInput,
    CentreCost,
    CentreProfile,
    ChargeInput,
    CostImport,
    CostRun,
    DirectInput,
    DriverInput,
    GroupCost,
    IndicatorValue,
    ItemCost,
    ItemInput,
    MatrixRow,
    RevenueInput,
    RunStatus,
    SharedInput,
    UnitCost,
    WorkloadInput,
)
from smartfin.kernel.clock import month_days, shift_month, utc_now
from smartfin.ledger.control import bucket_totals, effective_by
from smartfin.ledger.departments import DepartmentClass, department_names, departments_on
from smartfin.ledger.keys import Bucket
from smartfin.ledger.models import BudgetLine
from smartfin.store.audit import record_audit
from smartfin.store.db import session_scope

CHUNK = 20_000
HISTORY_COLUMNS = ("month", "direct_fen", "allocated_fen", "total_fen", "units", "unit_cost")
# result frame → (table, columns holding exact decimals)
_RESULTS: dict[str, tuple[type[SQLModel], tuple[str, ...], tuple[str, ...]]] = {
    "matrix": (MatrixRow, MATRIX_COLUMNS, ()),
    "centre_costs": (CentreCost, CENTRE_COST_COLUMNS, ()),
    "unit_costs": (UnitCost, UNIT_COST_COLUMNS, ("units", "unit_cost")),
    "item_costs": (ItemCost, ITEM_COST_COLUMNS, ("quantity", "unit_cost")),
    "case_costs": (CaseCost, CASE_COST_COLUMNS, ()),
    "group_costs": (GroupCost, GROUP_COST_COLUMNS, ()),
}


@dataclass(frozen=True)
class CostRunSummary:
    """What a month's run did: published (with its headline figures) or failed (with every reason)."""

    month: str
    run_id: int
    status: RunStatus
    actor: str
    direct_fen: int = 0          # direct and shared costs of the month
    total_fen: int = 0           # total after allocation (equals ``direct_fen`` to the fen)
    centres: int = 0
    indicators: int = 0
    notes: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status is RunStatus.PUBLISHED


# ------------------------------------------------------------------------------------------------ inputs

def load_inputs(session: Session, month: str) -> MonthInputs:
    """The month's inputs as the computation sees them (see the module docstring); ``CostInputError`` when
    the ledger books to a department that is not a cost centre in force on the month's last day."""
    return _gather(session, month)[0]


def _gather(session: Session, month: str) -> tuple[MonthInputs, list[str], dict[str, str]]:
    """The inputs, the notes for the run (ledger codes left out or unmapped), and the input files' hashes."""
    _first, last = month_days(month)
    centres = _centres(session, last)
    codes = {c.code for c in centres}
    imports = session.exec(select(CostImport).where(CostImport.month == month)).all()
    hashes = {i.kind: i.sha256 for i in sorted(imports, key=lambda i: i.kind)}

    imported = _frame(session, DirectInput, ["centre", "cost_item", "amount_fen", "source"], month)
    imported_items = {CostItem(i) for i in imported["cost_item"].unique()}
    for kind in hashes:
        imported_items.update(KINDS[kind].cost_items)
    ledger, notes = actual_direct_costs(session, month, imported_items=imported_items)
    problems = [(f"ledger actuals {row.centre}", f"department {row.centre} is not a cost centre in force on {last}")
                for row in ledger.drop_duplicates("centre").itertuples() if row.centre not in codes]
    if problems:
        raise CostInputError(problems)
    direct = pd.concat([imported.groupby(["centre", "cost_item", "source"], as_index=False, sort=True)["amount_fen"]
                        .sum()[list(DIRECT_COLUMNS)], ledger], ignore_index=True) if len(imported) else ledger

    charges = _frame(session, ChargeInput, list(CHARGE_COLUMNS), month, decimals=("quantity",))
    inputs = MonthInputs(
        month=month, centres=tuple(centres),
        direct=_typed(direct, DIRECT_COLUMNS),
        shared=_frame(session, SharedInput, list(SHARED_COLUMNS), month),
        drivers=_frame(session, DriverInput, list(DRIVER_COLUMNS), month, decimals=("quantity",)),
        revenue=_frame(session, RevenueInput, list(REVENUE_COLUMNS), month),
        workload=_frame(session, WorkloadInput, list(WORKLOAD_COLUMNS), month, decimals=("quantity",)),
        charges=charges,
        items=_frame(session, ItemInput, list(ITEM_COLUMNS), month, decimals=("rvu",)),
        cases=_frame(session, CaseInput, list(CASE_COLUMNS), month),
        rules=_rules(session, last))
    return inputs, notes, hashes


def _centres(session: Session, on: date) -> list[Centre]:
    """Departments in force on ``on`` with their profile in force that day (none: serves no patients, zeros)."""
    profiles = {p.centre: p for p in session.exec(select(CentreProfile).where(
        CentreProfile.valid_from <= on,
        (col(CentreProfile.valid_to).is_(None)) | (CentreProfile.valid_to >= on))).all()}
    centres = []
    for department in departments_on(session, on):
        profile = profiles.get(department.code)
        centres.append(Centre(
            code=department.code, name=department.name, cost_class=DepartmentClass(department.department_class),
            service=Service(profile.service) if profile else Service.NONE, beds=profile.beds if profile else 0,
            area_m2=Decimal(profile.area_m2) if profile else Decimal(0),
            headcount=Decimal(profile.headcount) if profile else Decimal(0)))
    return centres


def _rules(session: Session, on: date) -> AllocationRules:
    """The allocation drivers in force on ``on``; the model's defaults where nothing is configured."""
    rules = session.exec(select(AllocationRule).where(
        AllocationRule.valid_from <= on,
        (col(AllocationRule.valid_to).is_(None)) | (AllocationRule.valid_to >= on))).all()
    defaults = AllocationRules()
    administrative = next((r.driver for r in rules if r.stage == AllocationStage.ADMINISTRATIVE), None)
    default_auxiliary = next((r.driver for r in rules if r.stage == AllocationStage.AUXILIARY and not r.subject),
                             None)
    return AllocationRules(
        administrative=administrative or defaults.administrative,
        auxiliary={r.subject: r.driver for r in rules if r.stage == AllocationStage.AUXILIARY and r.subject},
        default_auxiliary=default_auxiliary or defaults.default_auxiliary,
        shared={r.subject: r.driver for r in rules if r.stage == AllocationStage.SHARED})


def _frame(session: Session, table: type[SQLModel], columns: list[str], month: str, *,
           decimals: Iterable[str] = ()) -> pd.DataFrame:
    """One input table's rows of the month as a frame of exactly ``columns`` (decimals back as ``Decimal``)."""
    sa_table = table.__table__  # type: ignore[attr-defined]
    statement = select(*[sa_table.c[c] for c in columns]).where(sa_table.c.month == month).order_by(sa_table.c.id)
    rows = session.connection().execute(statement).all()
    frame = pd.DataFrame(rows, columns=columns)
    for column in decimals:
        frame[column] = frame[column].map(Decimal)
    return _typed(frame, tuple(columns))


def _typed(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    frame = frame[list(columns)].reset_index(drop=True)
    for column in columns:
        if column.endswith("_fen") or column == "stage" or column == "cases":
            frame[column] = frame[column].astype("int64")
    return frame


# -------------------------------------------------------------------------------------------------- run

def run_month(month: str, *, actor: str, engine: Engine | None = None) -> CostRunSummary:
    """Work the month out and publish it atomically, replacing an earlier run; on failure publish nothing
    and record why (see the module docstring). Returns the summary either way."""
    from smartfin.costing.compute import compute_month
    from smartfin.costing.indicators import indicator_values, load_definitions

    month_days(month)  # a bad month is the caller's mistake, not a failed run
    started = utc_now()
    notes: list[str] = []
    hashes: dict[str, str] = {}
    try:
        with session_scope(engine) as session:
            inputs, notes, hashes = _gather(session, month)
        result = compute_month(inputs)
        indicators = indicator_values(inputs, result, load_definitions(month_days(month)[1]))
        with session_scope(engine) as session:
            return _publish(session, inputs, result, indicators, notes, hashes, actor, started)
    except CostInputError as exc:
        return _record_failure(engine, month, actor, started, notes, hashes, exc.problems)
    except Exception as exc:
        _record_failure(engine, month, actor, started, notes, hashes, [("run", f"{type(exc).__name__}: {exc}")])
        raise


def _publish(session: Session, inputs: MonthInputs, result: MonthResult, indicators: pd.DataFrame,
             notes: list[str], hashes: dict[str, str], actor: str, started: datetime) -> CostRunSummary:
    month = inputs.month
    _lock_month(session, month)
    now_hashes = {i.kind: i.sha256 for i in sorted(session.exec(select(CostImport).where(
        CostImport.month == month)).all(), key=lambda i: i.kind)}
    if now_hashes != hashes:
        raise CostInputError([("inputs", "the month's files changed while it was being worked out; run it again")])
    session.execute(update(CostRun).where(col(CostRun.month) == month, col(CostRun.status) == RunStatus.PUBLISHED)
                    .values(status=RunStatus.SUPERSEDED.value))
    for table in RESULT_TABLES:
        sa_table = table.__table__  # type: ignore[attr-defined]
        session.execute(delete(sa_table).where(sa_table.c.month == month))
    run = CostRun(month=month, status=RunStatus.PUBLISHED.value, inputs=json.dumps(hashes),
                  notes=json.dumps(notes, ensure_ascii=False), started_at=started, finished_at=utc_now(), actor=actor)
    session.add(run)
    session.flush()
    assert run.id is not None
    for name, (table, columns, decimals) in _RESULTS.items():
        _insert(session, table, getattr(result, name), columns, decimals, run.id, month)
    _insert(session, IndicatorValue, indicators, INDICATOR_COLUMNS, ("value",), run.id, month)
    direct_fen = int(inputs.direct["amount_fen"].sum()) + int(inputs.shared["amount_fen"].sum())
    total_fen = int(result.centre_costs["total_fen"].sum())
    record_audit(session, actor=actor, action="cost.month.published", subject_type="cost_run", subject_id=run.id,
                 details={"month": month, "inputs": hashes, "direct_fen": direct_fen, "total_fen": total_fen})
    return CostRunSummary(month=month, run_id=run.id, status=RunStatus.PUBLISHED, actor=actor, direct_fen=direct_fen,
                          total_fen=total_fen, centres=len(inputs.centres), indicators=len(indicators), notes=notes)


def _insert(session: Session, table: type[SQLModel], frame: pd.DataFrame, columns: tuple[str, ...],
            decimals: tuple[str, ...], run_id: int, month: str) -> None:
    """Bulk-insert one result frame (SQLAlchemy core, in chunks: 10,000 case costs are one statement each)."""
    frame = frame[list(columns)].copy()
    for column in decimals:
        frame[column] = pd.Series([None if _missing(v) else str(v) for v in frame[column]], index=frame.index,
                                  dtype=object)
    frame = frame.assign(run_id=run_id, month=month)
    sa_table = table.__table__  # type: ignore[attr-defined]
    for start in range(0, len(frame), CHUNK):
        records = [{k: _native(v) for k, v in r.items()} for r in frame.iloc[start:start + CHUNK].to_dict("records")]
        session.execute(insert(sa_table), records)


def _missing(value: Any) -> bool:
    """An undefined value (an indicator without a denominator): None, or how pandas spells it (NaN, NA)."""
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _native(value: Any) -> Any:
    """numpy scalars to Python values (drivers accept only the latter); enums to their values."""
    if hasattr(value, "item") and not isinstance(value, str | Decimal):
        return value.item()
    if isinstance(value, str):
        return str(value)
    return value


def _lock_month(session: Session, month: str) -> None:
    """Two runs of one month at once must not interleave their replacements (SQLite: the write lock)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().exec_driver_sql(f"SELECT pg_advisory_xact_lock({zlib.crc32(month.encode())})")


def _record_failure(engine: Engine | None, month: str, actor: str, started: datetime, notes: list[str],
                    hashes: dict[str, str], problems: list[tuple[str, str]]) -> CostRunSummary:
    reason = "; ".join(f"{where}: {what}" for where, what in problems)
    with session_scope(engine) as session:
        run = CostRun(month=month, status=RunStatus.FAILED.value, inputs=json.dumps(hashes),
                      notes=json.dumps(notes, ensure_ascii=False), reason=reason, started_at=started,
                      finished_at=utc_now(), actor=actor)
        session.add(run)
        session.flush()
        assert run.id is not None
        record_audit(session, actor=actor, action="cost.month.failed", subject_type="cost_run", subject_id=run.id,
                     details={"month": month, "problems": [list(p) for p in problems]})
        return CostRunSummary(month=month, run_id=run.id, status=RunStatus.FAILED, actor=actor, notes=notes,
                              problems=problems, reason=reason)


# ------------------------------------------------------------------------------------------------ reading

def published_run(session: Session, month: str) -> CostRun | None:
    """The month's published run; None when the month has not been worked out (or every run failed)."""
    return session.exec(select(CostRun).where(CostRun.month == month, CostRun.status == RunStatus.PUBLISHED)
                        .order_by(col(CostRun.id).desc())).first()


def last_run(session: Session, month: str) -> CostRun | None:
    """The month's latest run, whatever its outcome (a failed run says why)."""
    return session.exec(select(CostRun).where(CostRun.month == month).order_by(col(CostRun.id).desc())).first()


def _stored(session: Session, table: type[SQLModel], columns: tuple[str, ...], decimals: tuple[str, ...],
            run_id: int, *, centre: str | None = None) -> pd.DataFrame:
    sa_table = table.__table__  # type: ignore[attr-defined]
    statement = select(*[sa_table.c[c] for c in columns]).where(sa_table.c.run_id == run_id)
    if centre is not None:
        statement = statement.where(sa_table.c.centre == centre)
    frame = pd.DataFrame(session.connection().execute(statement.order_by(sa_table.c.id)).all(), columns=list(columns))
    for column in decimals:
        frame[column] = pd.Series([None if _missing(v) else Decimal(v) for v in frame[column]], index=frame.index,
                                  dtype=object)
    for column in columns:
        if column.endswith("_fen") or column in ("stage", "cases"):
            frame[column] = frame[column].astype("int64")
    return frame


def stored_result(session: Session, month: str) -> MonthResult | None:
    """The month's published result, as ``compute_month`` returned it; None when none is published."""
    run = published_run(session, month)
    if run is None or run.id is None:
        return None
    frames = {name: _stored(session, table, columns, decimals, run.id)
              for name, (table, columns, decimals) in _RESULTS.items()}
    return MonthResult(month=month, **frames)


def stored_indicators(session: Session, month: str) -> pd.DataFrame:
    """The month's published indicator values (``INDICATOR_COLUMNS``; empty when none is published)."""
    run = published_run(session, month)
    if run is None or run.id is None:
        return pd.DataFrame(columns=list(INDICATOR_COLUMNS))
    return _stored(session, IndicatorValue, INDICATOR_COLUMNS, ("value",), run.id)


def breaches(session: Session, month: str, definitions: list[IndicatorDefinition] | None = None) -> list[Breach]:
    """Each department's indicator on the wrong side of the target in force on the month's last day, with
    the same month a year earlier when it is stored: what cost reviews are opened for.

    Hospital-wide values (centre "") are not breaches of a department and open no review.
    """
    last = month_days(month)[1]
    if definitions is None:
        from smartfin.costing.indicators import load_definitions
        definitions = load_definitions(last)
    by_key = {d.key: d for d in definitions}
    values = stored_indicators(session, month)
    earlier = stored_indicators(session, shift_month(month, -12))
    last_year = {(c, i): v for c, i, v in earlier.itertuples(index=False, name=None)}
    names = department_names(session, last)
    found: list[Breach] = []
    for centre, key, value in values.sort_values(["centre", "indicator"]).itertuples(index=False, name=None):
        definition = by_key.get(key)
        if definition is None or value is None or not centre:
            continue
        over = value > definition.target if definition.direction is Direction.MAX else value < definition.target
        if over:
            found.append(Breach(month=month, centre=centre, centre_name=names[centre], indicator=key,
                                indicator_name=definition.name, value=value, target=definition.target,
                                direction=definition.direction, last_year=last_year.get((centre, key))))
    return found


def history(session: Session, centre: str, *, until: str, months: int = 12) -> pd.DataFrame:
    """The centre's published cost per month up to ``until`` (``HISTORY_COLUMNS``): direct, allocated and
    total fen, and its unit cost (per visit or bed-day) where it has one — the trend chart's rows."""
    wanted = [shift_month(until, -back) for back in range(months - 1, -1, -1)]
    rows = []
    for month in wanted:
        run = published_run(session, month)
        if run is None or run.id is None:
            continue
        costs = _stored(session, CentreCost, CENTRE_COST_COLUMNS, (), run.id, centre=centre)
        units = _stored(session, UnitCost, UNIT_COST_COLUMNS, ("units", "unit_cost"), run.id, centre=centre)
        rows.append((month, int(costs["direct_fen"].sum()), int(costs["allocated_fen"].sum()),
                     int(costs["total_fen"].sum()), units["units"].iloc[0] if len(units) else None,
                     units["unit_cost"].iloc[0] if len(units) else None))
    return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))


def department_budgets(session: Session, month: str) -> dict[str, int]:
    """Each department's authorised expenditure budget (budget + adjustments in effect at the month's end,
    every funding source and project) for the month's fiscal year, in fen: what its cost is held against.
    A department without budget lines is absent."""
    _first, last_day = month_days(month)
    lines = session.exec(select(BudgetLine).where(BudgetLine.fiscal_year == last_day.year)).all()
    totals = bucket_totals(session, [line.id for line in lines if line.id is not None], effective_by(last_day))
    budgets: dict[str, int] = {}
    for line in lines:
        held = totals.get(int(line.id or 0), {})
        authorised = held.get(Bucket.BUDGET.value, 0) + held.get(Bucket.ADJUSTMENT.value, 0)
        budgets[line.department] = budgets.get(line.department, 0) + authorised
    return budgets
