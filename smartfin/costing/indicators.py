"""The cost indicators of a month: dated definitions from ``rules/cost/indicators.yaml`` and their values.

Targets change with policy, so each indicator has dated versions and a month is judged by the version in
force on the day the caller names (usually the month's last day): :func:`load_definitions`.

Formulas (per clinical centre, and for the hospital as a whole — centre ``""``). Revenue is medical revenue
from the HIS charge lines by *ordering* centre (开单科室); cost is the centre's full cost after allocation
(``centre_costs.total_fen``; for the hospital, all direct and shared costs):

=========================================  ==========================================================  =======
key                                        value                                                       unit
=========================================  ==========================================================  =======
``materials_per_100_revenue_excl_drugs``   health-materials cost ÷ (revenue − drug revenue) × 100      yuan
``materials_per_100_revenue``              health-materials cost ÷ revenue × 100                       yuan
``personnel_cost_share``                   personnel cost ÷ total cost × 100                           percent
``management_expense_rate``                administrative cost ÷ total cost × 100; for a centre, what  percent
                                           stage 1 brought it, for the hospital all administrative
                                           centres gave away at stage 1
``cost_per_visit``                         outpatient centres: their cost ÷ (visits + emergency        yuan
                                           visits), the hospital over all outpatient centres
``cost_per_bed_day``                       inpatient centres: their cost ÷ occupied bed-days           yuan
``energy_per_10k_revenue``                 energy (the shared costs named in ``energy_shared_costs``,  yuan
                                           for a centre its stage-0 share) ÷ revenue × 10,000
=========================================  ==========================================================  =======

Values are exact decimals rounded half up to two places; a value whose denominator is zero (a centre
without revenue, without visits) is None, never an error. ``cost_per_visit`` is given only for outpatient
centres, ``cost_per_bed_day`` only for inpatient ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

import rules
from smartfin.costing.model import (
    INDICATOR_COLUMNS,
    CostItem,
    Direction,
    IndicatorDefinition,
    MonthInputs,
    MonthResult,
    Service,
)
from smartfin.ledger.departments import DepartmentClass

INDICATORS_FILE = Path(rules.__file__).parent / "cost" / "indicators.yaml"
CENT = Decimal("0.01")
UNITS = ("yuan", "percent")
SCOPES = ("hospital", "department")
FIELDS = ("name", "unit", "target", "direction", "scope")


class IndicatorRulesError(ValueError):
    """The indicators file cannot be used; names the indicator, the version and the field."""


@dataclass(frozen=True)
class _Version:
    valid_from: date
    definition: IndicatorDefinition


@dataclass(frozen=True)
class IndicatorRules:
    """The parsed file: every indicator's versions, oldest first, and the shared costs that are energy."""

    versions: dict[str, tuple[_Version, ...]]
    energy_shared_costs: frozenset[str]


def _field(key: str, where: str, fields: dict, name: str) -> object:
    value = fields.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise IndicatorRulesError(f"indicator {key}, {where}: {name} is required")
    return value


def _definition(key: str, where: str, fields: dict) -> IndicatorDefinition:
    unit = str(_field(key, where, fields, "unit"))
    if unit not in UNITS:
        raise IndicatorRulesError(f"indicator {key}, {where}: unit must be one of {', '.join(UNITS)}, got {unit!r}")
    scope = str(_field(key, where, fields, "scope"))
    if scope not in SCOPES:
        raise IndicatorRulesError(f"indicator {key}, {where}: scope must be one of {', '.join(SCOPES)}, "
                                  f"got {scope!r}")
    try:
        direction = Direction(str(_field(key, where, fields, "direction")))
    except ValueError:
        raise IndicatorRulesError(f"indicator {key}, {where}: direction must be max or min, "
                                  f"got {fields.get('direction')!r}") from None
    raw = _field(key, where, fields, "target")
    try:
        target = Decimal(str(raw).strip())
    except InvalidOperation:
        raise IndicatorRulesError(f"indicator {key}, {where}: target is not a number: {raw!r}") from None
    if not target.is_finite():
        raise IndicatorRulesError(f"indicator {key}, {where}: target is not a finite number: {raw!r}")
    return IndicatorDefinition(key=key, name=str(_field(key, where, fields, "name")), unit=unit, target=target,
                               direction=direction, scope=scope)


def parse_rules(text: str) -> IndicatorRules:
    """The indicators file's content, checked: a bad entry refuses the whole file."""
    document = yaml.safe_load(text) or {}
    if not isinstance(document, dict) or not isinstance(document.get("indicators"), list):
        raise IndicatorRulesError("indicators file: needs a list 'indicators'")
    versions: dict[str, tuple[_Version, ...]] = {}
    for n, entry in enumerate(document["indicators"], start=1):
        key = str((entry or {}).get("key") or "").strip()
        if not key:
            raise IndicatorRulesError(f"indicator #{n}: key is required")
        if key not in FORMULAS:
            raise IndicatorRulesError(f"indicator {key}: no formula for this key (known: {', '.join(FORMULAS)})")
        if key in versions:
            raise IndicatorRulesError(f"indicator {key}: listed twice")
        base = {f: entry.get(f) for f in FIELDS if entry.get(f) is not None}
        found: list[_Version] = []
        for v, version in enumerate(entry.get("versions") or [], start=1):
            where = f"version {v}"
            start = (version or {}).get("valid_from")
            if isinstance(start, str):
                try:
                    start = date.fromisoformat(start.strip())
                except ValueError:
                    start = None
            if not isinstance(start, date):
                raise IndicatorRulesError(f"indicator {key}, {where}: valid_from must be a YYYY-MM-DD date")
            fields = {**(found[-1].definition.__dict__ if found else base),
                      **{f: version[f] for f in FIELDS if version.get(f) is not None}}
            found.append(_Version(start, _definition(key, where, fields)))
        if not found:
            raise IndicatorRulesError(f"indicator {key}: has no versions")
        starts = [v.valid_from for v in found]
        if starts != sorted(set(starts)):
            raise IndicatorRulesError(f"indicator {key}: versions must be in date order, each on its own day")
        versions[key] = tuple(found)
    energy = document.get("energy_shared_costs") or []
    return IndicatorRules(versions=versions, energy_shared_costs=frozenset(str(e) for e in energy))


@lru_cache(maxsize=8)
def _load(path: Path, stamp: float) -> IndicatorRules:
    del stamp  # part of the cache key only: an edited file is read again
    return parse_rules(path.read_text(encoding="utf-8"))


def load_rules(path: Path | None = None) -> IndicatorRules:
    """The indicators file (``rules/cost/indicators.yaml`` unless ``path``), read again when it changes."""
    path = path or INDICATORS_FILE
    return _load(path, path.stat().st_mtime)


def load_definitions(on: date, path: Path | None = None) -> list[IndicatorDefinition]:
    """Each indicator as defined on ``on`` (its latest version from on or before that day), in file order;
    an indicator with no version in force yet is left out."""
    found = []
    for versions in load_rules(path).versions.values():
        in_force = [v for v in versions if v.valid_from <= on]
        if in_force:
            found.append(in_force[-1].definition)
    return found


# ------------------------------------------------------------------------------------------------- values

@dataclass(frozen=True)
class _Scope:
    """The figures one row's indicators are worked from (fen and units)."""

    revenue: int
    drug_revenue: int
    total: int
    materials: int
    personnel: int
    management: int
    energy: int
    visits_cost: int | None      # outpatient cost and its visits, when the scope has outpatient centres
    visits: Decimal
    bed_days_cost: int | None
    bed_days: Decimal


def _ratio(numerator: int | Decimal, denominator: int | Decimal, scale: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) * scale / Decimal(denominator)).quantize(CENT, rounding=ROUND_HALF_UP)


FORMULAS: dict[str, Callable[[_Scope], Decimal | None]] = {
    "materials_per_100_revenue_excl_drugs": lambda s: _ratio(s.materials, s.revenue - s.drug_revenue, 100),
    "materials_per_100_revenue": lambda s: _ratio(s.materials, s.revenue, 100),
    "personnel_cost_share": lambda s: _ratio(s.personnel, s.total, 100),
    "management_expense_rate": lambda s: _ratio(s.management, s.total, 100),
    "cost_per_visit": lambda s: None if s.visits_cost is None else _ratio(s.visits_cost, s.visits * 100, 1),
    "cost_per_bed_day": lambda s: None if s.bed_days_cost is None else _ratio(s.bed_days_cost, s.bed_days * 100, 1),
    "energy_per_10k_revenue": lambda s: _ratio(s.energy, s.revenue, 10_000),
}
ONLY_FOR = {"cost_per_visit": Service.OUTPATIENT, "cost_per_bed_day": Service.INPATIENT}


def _sum(series: pd.Series, key: str) -> int:
    return int(series.get(key, 0))


def indicator_values(inputs: MonthInputs, result: MonthResult, definitions: Sequence[IndicatorDefinition],
                     *, energy_shared_costs: frozenset[str] | None = None) -> pd.DataFrame:
    """The month's value of each definition for the hospital (centre ``""``) and, for department-scope
    indicators, for each clinical centre (INDICATOR_COLUMNS; value a Decimal or None)."""
    energy_names = load_rules().energy_shared_costs if energy_shared_costs is None else energy_shared_costs
    charges = inputs.charges
    revenue = charges.groupby("ordering_centre")["amount_fen"].sum()
    drugs = charges[charges["item_kind"] == "drug"].groupby("ordering_centre")["amount_fen"].sum()
    costs = result.centre_costs
    total = costs.groupby("centre")["total_fen"].sum()
    by_item = costs.groupby(["cost_item", "centre"])["total_fen"].sum()
    materials = by_item.get(CostItem.MATERIALS.value, pd.Series(dtype="int64"))
    personnel = by_item.get(CostItem.PERSONNEL.value, pd.Series(dtype="int64"))
    matrix = result.matrix
    stage_1 = matrix[matrix["stage"] == 1].groupby("to_centre")["amount_fen"].sum()
    energy_in = matrix[(matrix["stage"] == 0) & matrix["from_centre"].isin(energy_names)] \
        .groupby("to_centre")["amount_fen"].sum()
    units = result.unit_costs.set_index("centre")
    clinical = sorted(c.code for c in inputs.centres if c.cost_class == DepartmentClass.CLINICAL)
    service = {c.code: c.service for c in inputs.centres}

    def unit_figures(codes: Sequence[str], kind: Service) -> tuple[int | None, Decimal]:
        rows = units[units.index.isin(codes) & (units["service"] == kind.value)]
        if rows.empty:
            return None, Decimal(0)
        return int(rows["total_fen"].sum()), sum(rows["units"], Decimal(0))

    scopes: dict[str, _Scope] = {}
    visits_cost, visits = unit_figures(clinical, Service.OUTPATIENT)
    bed_cost, bed_days = unit_figures(clinical, Service.INPATIENT)
    shared = inputs.shared
    scopes[""] = _Scope(
        revenue=int(charges["amount_fen"].sum()), drug_revenue=int(drugs.sum()), total=int(total.sum()),
        materials=int(materials.sum()), personnel=int(personnel.sum()), management=int(stage_1.sum()),
        energy=int(shared.loc[shared["name"].isin(energy_names), "amount_fen"].sum()),
        visits_cost=visits_cost, visits=visits, bed_days_cost=bed_cost, bed_days=bed_days)
    for code in clinical:
        visits_cost, visits = unit_figures([code], Service.OUTPATIENT)
        bed_cost, bed_days = unit_figures([code], Service.INPATIENT)
        scopes[code] = _Scope(
            revenue=_sum(revenue, code), drug_revenue=_sum(drugs, code), total=_sum(total, code),
            materials=_sum(materials, code), personnel=_sum(personnel, code), management=_sum(stage_1, code),
            energy=_sum(energy_in, code), visits_cost=visits_cost, visits=visits, bed_days_cost=bed_cost,
            bed_days=bed_days)

    rows = []
    for centre, figures in scopes.items():
        for definition in definitions:
            if centre and definition.scope != "department":
                continue
            only = ONLY_FOR.get(definition.key)
            if centre and only is not None and service[centre] != only:
                continue
            rows.append((centre, definition.key, FORMULAS[definition.key](figures)))
    return pd.DataFrame(rows, columns=list(INDICATOR_COLUMNS)).astype(object)
