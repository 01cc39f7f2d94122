"""Work one cost month out: shared costs, the step-down allocation, unit, service-item and case costs.

A pure function of :class:`~smartfin.costing.model.MonthInputs` (no database, no clock), so the month's run,
the tests and the benchmark all call the same code.

How the month is worked out
---------------------------
1. **Validation first.** Every problem in the inputs is collected — a centre without a class, a duplicate
   centre, a negative cost, an unknown cost item, a row naming a centre that is not a cost centre of the
   month, a service charge line whose item is not in the catalogue, a shared cost whose driver is not
   configured, a stage whose driver total is zero for a centre that has cost to give away — and raised
   together as one :class:`CostInputError`; nothing partial is ever returned. Rows are named by their
   1-based position in their frame (``charges row 17``), the field and the offending value.
2. **Stage 0, shared costs** (utilities, property, canteen) are apportioned to every centre, of every class,
   by the driver ``rules.shared[name]``. In the matrix their ``from_centre`` is the shared cost's *name*.
3. **Step-down** (DOMAIN.md, "a centre that has been allocated receives nothing further"):
   stage 1 administrative → medical auxiliary, medical technical and clinical centres by
   ``rules.administrative`` (default headcount); stage 2 medical auxiliary → medical technical and clinical
   centres by the auxiliary centre's workload measure (``rules.auxiliary[code]`` or
   ``rules.default_auxiliary``); stage 3 medical technical → clinical centres by the revenue each technical
   centre earns from each ordering clinical centre. A giver's whole balance (its direct cost and all it
   received earlier) goes; afterwards only clinical centres hold cost.
4. **Cost items are kept.** Each stage apportions each cost item of the giver separately with the same
   shares, so allocated personnel cost stays personnel in the receiver and the matrix row carries its
   ``cost_item``: the seven-item structure of a clinical department's full cost is the hospital's.

Drivers: ``headcount``, ``area_m2`` and ``beds`` come from the centre profile; any other name is looked up in
the driver quantities (``drivers.driver``) and, if no driver row has that name, in the workload
(``workload.measure``). A receiver with no quantity gets nothing.

Rounding: every split of an integer number of fen uses the largest-remainder method — each receiver gets
the floor of its exact share, and the fen left over go one each to the receivers with the largest exact
remainders, ties broken by centre code (ascending). Weights are exact decimals, so the shares are exact
rationals and the result is reproducible on any machine. Conservation holds per cost item and in total:
the hospital's cost after allocation equals its direct plus shared costs to the fen.

``centre_costs``: ``direct_fen`` is the centre's own direct cost; ``allocated_fen`` is *net* — what the
matrix brings in (shared costs included) minus what the centre gave away — so ``total_fen = direct_fen +
allocated_fen`` is the cost the centre ends with (zero for every non-clinical centre).

Unit costs (诊次成本, 床日成本): a clinical centre's full cost over its units, by its configured service:
an outpatient centre over its ``visits`` + ``emergency_visits``, an inpatient one over its ``bed_days``.
A clinical centre serving both is split into an outpatient and an inpatient centre in the profile, as the
national rules' department structure does; its cost is not guessed apart here. No units: ``unit_cost`` None.

Service-item costs (医疗服务项目成本), both methods from the same *performing* cost: each centre's cost after
stages 0–2 (technical centres before they give their cost to the clinical ones, clinical centres without
the technical costs of stage 3, which are costed in the technical centre's own items), less its drug cost
and less the separately charged materials it performed (at most its materials cost). Drugs and separately
charged materials are sold at zero markup (零加成), so their charge is their cost and they are costed as
such in case costs, never twice.
- ``ccr`` (cost-to-charge ratio, 成本收入比): a centre's performing cost is spread over its service items in
  proportion to their charges — item cost = charge × the centre's cost/charge ratio.
- ``rvu`` (relative value, 成本当量): spread in proportion to rvu × quantity.
Both split the centre's cost to the fen (largest remainder, ties by item code), so a centre's item costs
add up to its performing cost when it has charges; items are summed over the centres that perform them.
``unit_cost`` is cost per unit of quantity, in yuan to the fen; ``charge_fen`` is the catalogue's charge.

Case costs (病种成本), bottom-up: for each case, its service lines at the ``ccr`` cost of their performing
centre (line charge × the centre's ratio, rounded half up to the fen per line — the line-level form of the
item method, exact in integers), plus its drug and material lines at their charge. The ``ccr`` method is
chosen for cases because it costs each line from its own charge and performing centre without needing a
per-line relative value. Group costs sum the cases per DRG/DIP group and discharging centre, with the
payment and the surplus (payment − cost).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from smartfin.costing.model import (
    CASE_COST_COLUMNS,
    CENTRE_COST_COLUMNS,
    GROUP_COST_COLUMNS,
    ITEM_COST_COLUMNS,
    MATRIX_COLUMNS,
    UNIT_COST_COLUMNS,
    Centre,
    CostInputError,
    CostItem,
    MonthInputs,
    MonthResult,
    Service,
)
from smartfin.ledger.departments import DepartmentClass

CENT = Decimal("0.01")
ITEM_ORDER = {item.value: n for n, item in enumerate(CostItem)}
ITEM_KINDS = ("service", "drug", "material")
PROFILE_DRIVERS = ("headcount", "area_m2", "beds")
OUTPATIENT_UNITS = ("visits", "emergency_visits")
INPATIENT_UNITS = ("bed_days",)
ROWS_NAMED = 5  # rows named per problem; the count says how many more

# Stage → (giving class, receiving classes)
STAGES: tuple[tuple[int, DepartmentClass, tuple[DepartmentClass, ...]], ...] = (
    (1, DepartmentClass.ADMINISTRATIVE, (DepartmentClass.MEDICAL_AUXILIARY, DepartmentClass.MEDICAL_TECHNICAL,
                                         DepartmentClass.CLINICAL)),
    (2, DepartmentClass.MEDICAL_AUXILIARY, (DepartmentClass.MEDICAL_TECHNICAL, DepartmentClass.CLINICAL)),
    (3, DepartmentClass.MEDICAL_TECHNICAL, (DepartmentClass.CLINICAL,)),
)

Problems = list[tuple[str, str]]
Balances = dict[str, dict[str, int]]   # centre → cost item → fen


# ------------------------------------------------------------------------------------------------ rounding

def _scaled(weights: Sequence[Decimal | int]) -> list[int]:
    """Exact weights as integers with one common scale (so their ratios are unchanged)."""
    if all(isinstance(w, int) for w in weights):
        return list(weights)  # type: ignore[arg-type]
    decimals = [w if isinstance(w, Decimal) else Decimal(w) for w in weights]
    places = max((-e for d in decimals if isinstance(e := d.as_tuple().exponent, int) and e < 0), default=0)
    return [int(d.scaleb(places)) for d in decimals]


def apportion(amount: int, weights: Sequence[Decimal | int], ties: Sequence[str]) -> list[int]:
    """Split ``amount`` fen in proportion to ``weights`` (exact, non-negative), to the fen.

    Largest remainder: everyone gets the floor of their exact share; the fen left over go one each to the
    largest remainders, ties by ``ties`` (ascending, e.g. the centre code). The parts add up to ``amount``
    whenever the weights do not all vanish; with a zero total every part is zero (the caller decides
    whether that is a problem).
    """
    return _split(amount, _scaled(weights), ties)


def _split(amount: int, scaled: Sequence[int], ties: Sequence[str]) -> list[int]:
    """:func:`apportion` with weights already integers."""
    total = sum(scaled)
    if total <= 0 or amount == 0:
        return [0] * len(scaled)
    parts = [amount * w // total for w in scaled]
    left = amount - sum(parts)
    if left:
        remainders = [amount * w % total for w in scaled]
        for i in sorted(range(len(scaled)), key=lambda i: (-remainders[i], ties[i]))[:left]:
            parts[i] += 1
    return parts


def _yuan(fen: int | Decimal, units: Decimal | int) -> Decimal | None:
    """Fen over units as yuan per unit, to the fen (half up); None without units."""
    if not units:
        return None
    return (Decimal(fen) / Decimal(units) / 100).quantize(CENT, rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------------------------------------- validation

def _rows(positions: Iterable[int]) -> str:
    positions = list(positions)
    named = ", ".join(str(p + 1) for p in positions[:ROWS_NAMED])
    more = f" and {len(positions) - ROWS_NAMED:,} more" if len(positions) > ROWS_NAMED else ""
    return f"row{'s' if len(positions) > 1 else ''} {named}{more}"


def _bad_values(problems: Problems, frame_name: str, frame: pd.DataFrame, column: str, bad: np.ndarray,
                what: str) -> None:
    """One problem per distinct offending value of ``column``, naming its rows."""
    if not bad.any():
        return
    values = frame[column].to_numpy()[bad]
    positions = np.flatnonzero(bad)
    for value in pd.unique(values):
        at = positions[values == value] if value == value else positions  # NaN != NaN
        problems.append((f"{frame_name} {_rows(at)}", f"{column} {value!r} {what}"))


def _check_centre_refs(problems: Problems, frame_name: str, frame: pd.DataFrame, columns: Sequence[str],
                       codes: set[str]) -> np.ndarray:
    """Rows whose centre columns all name a cost centre of the month (a mask); problems for the others."""
    ok = np.ones(len(frame), dtype=bool)
    for column in columns:
        bad = ~frame[column].isin(codes).to_numpy()
        _bad_values(problems, frame_name, frame, column, bad, "is not a cost centre of the month")
        ok &= ~bad
    return ok


def _check_not_negative(problems: Problems, frame_name: str, frame: pd.DataFrame, column: str) -> np.ndarray:
    values = frame[column]
    bad = (values.isna() | (values < 0)).to_numpy(dtype=bool) if len(frame) else np.zeros(0, dtype=bool)
    if bad.any():
        positions = np.flatnonzero(bad)
        first = values.iloc[positions[0]]
        first = first.item() if isinstance(first, np.generic) else first
        problems.append((f"{frame_name} {_rows(positions)}",
                         f"{column} must be a number not below zero (got {first!r})"))
    return ~bad


def _check_centres(centres: Sequence[Centre], problems: Problems) -> dict[str, Centre]:
    """The month's centres by code; problems for a missing or unknown class, service or a duplicate."""
    found: dict[str, Centre] = {}
    for n, centre in enumerate(centres, start=1):
        where = f"centre {centre.code or f'#{n}'}"
        if not centre.code:
            problems.append((f"centre #{n}", "has no code"))
            continue
        if centre.code in found:
            problems.append((where, "is listed twice"))
            continue
        if centre.cost_class is None or str(centre.cost_class) not in {c.value for c in DepartmentClass}:
            problems.append((where, f"cost_class is missing or unknown (got {centre.cost_class!r}; "
                                    f"use one of {', '.join(c.value for c in DepartmentClass)})"))
            continue
        if str(centre.service) not in {s.value for s in Service}:
            problems.append((where, f"service {centre.service!r} is unknown"))
            continue
        for attribute in ("beds", "area_m2", "headcount"):
            if getattr(centre, attribute) < 0:
                problems.append((where, f"{attribute} must not be negative"))
        found[centre.code] = centre
    return found


def _checked(inputs: MonthInputs, centres: Mapping[str, Centre], problems: Problems) -> dict[str, pd.DataFrame]:
    """Each input frame without its bad rows (which become problems)."""
    codes = set(centres)
    items = set(ITEM_ORDER)
    out: dict[str, pd.DataFrame] = {}

    direct = inputs.direct
    ok = _check_centre_refs(problems, "direct", direct, ["centre"], codes)
    bad_item = ~direct["cost_item"].isin(items).to_numpy()
    _bad_values(problems, "direct", direct, "cost_item", bad_item, "is not a cost item")
    ok &= ~bad_item & _check_not_negative(problems, "direct", direct, "amount_fen")
    out["direct"] = direct[ok]

    shared = inputs.shared
    bad_item = ~shared["cost_item"].isin(items).to_numpy()
    _bad_values(problems, "shared", shared, "cost_item", bad_item, "is not a cost item")
    unconfigured = ~shared["name"].isin(set(inputs.rules.shared)).to_numpy()
    _bad_values(problems, "shared", shared, "name", unconfigured,
                "has no driver configured (AllocationRules.shared)")
    out["shared"] = shared[~bad_item & ~unconfigured & _check_not_negative(problems, "shared", shared,
                                                                            "amount_fen")]

    for name, column in (("drivers", "quantity"), ("workload", "quantity")):
        frame = getattr(inputs, name)
        ok = _check_centre_refs(problems, name, frame, ["centre"], codes)
        out[name] = frame[ok & _check_not_negative(problems, name, frame, column)]

    revenue = inputs.revenue
    ok = _check_centre_refs(problems, "revenue", revenue, ["ordering_centre", "performing_centre"], codes)
    out["revenue"] = revenue[ok & _check_not_negative(problems, "revenue", revenue, "amount_fen")]

    catalogue = inputs.items
    dup = catalogue["item_code"].duplicated(keep="first").to_numpy()
    _bad_values(problems, "items", catalogue, "item_code", dup, "is listed twice")
    ok = ~dup & _check_not_negative(problems, "items", catalogue, "rvu")
    ok &= _check_not_negative(problems, "items", catalogue, "charge_fen")
    out["items"] = catalogue[ok]

    charges = inputs.charges
    ok = _check_centre_refs(problems, "charges", charges, ["ordering_centre", "performing_centre"], codes)
    kind = charges["item_kind"]
    bad_kind = ~kind.isin(ITEM_KINDS).to_numpy()
    _bad_values(problems, "charges", charges, "item_kind", bad_kind, f"is not one of {', '.join(ITEM_KINDS)}")
    unknown = ((kind == "service") & ~charges["item_code"].isin(set(catalogue["item_code"]))).to_numpy()
    _bad_values(problems, "charges", charges, "item_code", unknown, "is not in the service-item catalogue")
    ok &= ~bad_kind & ~unknown
    ok &= _check_not_negative(problems, "charges", charges, "quantity")
    ok &= _check_not_negative(problems, "charges", charges, "amount_fen")
    out["charges"] = charges[ok]

    cases = inputs.cases
    ok = _check_centre_refs(problems, "cases", cases, ["centre"], codes)
    dup = cases["case_id"].duplicated(keep="first").to_numpy()
    _bad_values(problems, "cases", cases, "case_id", dup, "is listed twice")
    out["cases"] = cases[ok & ~dup & _check_not_negative(problems, "cases", cases, "payment_fen")]

    for code in sorted(inputs.rules.auxiliary):
        centre = centres.get(code)
        if centre is None or centre.cost_class != DepartmentClass.MEDICAL_AUXILIARY:
            problems.append((f"rules.auxiliary {code}", "is not a medical auxiliary centre of the month"))
    return out


# ---------------------------------------------------------------------------------------------- allocation

class _Drivers:
    """Driver quantities per centre, by driver name (profile, then driver rows, then workload)."""

    def __init__(self, centres: Mapping[str, Centre], drivers: pd.DataFrame, workload: pd.DataFrame) -> None:
        self._centres = centres
        self._tables: dict[str, dict[str, Decimal]] = {}
        for frame, column in ((workload, "measure"), (drivers, "driver")):  # driver rows win over workload
            for name, rows in frame.groupby(column, sort=False):
                table: dict[str, Decimal] = defaultdict(Decimal)
                for centre, quantity in zip(rows["centre"], rows["quantity"], strict=True):
                    table[centre] += Decimal(quantity)
                self._tables[str(name)] = dict(table)

    def quantities(self, name: str, receivers: Iterable[str]) -> dict[str, Decimal]:
        """Positive quantities of ``name`` per receiver."""
        if name in PROFILE_DRIVERS:
            values = {c: Decimal(getattr(self._centres[c], name)) for c in receivers}
        else:
            table = self._tables.get(name, {})
            values = {c: table.get(c, Decimal(0)) for c in receivers}
        return {c: q for c, q in values.items() if q > 0}


def _give(balances: Balances, matrix: list[tuple[int, str, str, str, int]], stage: int, giver: str,
          amounts: Mapping[str, int], weights: Mapping[str, Decimal], *, debit_giver: bool = True) -> None:
    """Apportion each cost item's amount over the receivers by ``weights``; record every fen in the matrix."""
    receivers = sorted(weights)
    scaled = _scaled([weights[c] for c in receivers])
    for item in sorted(amounts, key=ITEM_ORDER.__getitem__):
        amount = amounts[item]
        if amount <= 0:
            continue
        for receiver, part in zip(receivers, _split(amount, scaled, receivers), strict=True):
            if part:
                balances[receiver][item] = balances[receiver].get(item, 0) + part
                matrix.append((stage, giver, receiver, item, part))
        if debit_giver:
            balances[giver][item] -= amount


def _allocate(inputs: MonthInputs, centres: Mapping[str, Centre], frames: Mapping[str, pd.DataFrame],
              problems: Problems) -> tuple[Balances, Balances, list[tuple[int, str, str, str, int]]]:
    """(direct balances, balances before stage 3, the matrix); the final balances are the matrix applied."""
    rules = inputs.rules
    drivers = _Drivers(centres, frames["drivers"], frames["workload"])
    balances: Balances = {code: {} for code in centres}
    direct = frames["direct"].groupby(["centre", "cost_item"])["amount_fen"].sum()
    for (centre, item), amount in direct.items():
        balances[centre][item] = int(amount)
    direct_balances = {c: dict(items) for c, items in balances.items()}
    matrix: list[tuple[int, str, str, str, int]] = []

    shared = frames["shared"].groupby(["name", "cost_item"])["amount_fen"].sum()
    for name in sorted({n for n, _ in shared.index}):
        driver = rules.shared[name]
        weights = drivers.quantities(driver, sorted(centres))
        amounts = {item: int(shared[(name, item)]) for item in shared[name].index}
        if not weights and sum(amounts.values()) > 0:
            problems.append((f"shared cost {name}", f"driver {driver!r} totals zero over the cost centres"))
        _give(balances, matrix, 0, name, amounts, weights, debit_giver=False)

    revenue = frames["revenue"]
    by_class = {cls: sorted(c for c, centre in centres.items() if centre.cost_class == cls)
                for cls in DepartmentClass}
    before_stage_3: Balances = {}
    for stage, giving, receiving in STAGES:
        receivers = [c for cls in receiving for c in by_class[cls]]
        if stage == 3:
            before_stage_3 = {c: dict(items) for c, items in balances.items()}
            earned = revenue[revenue["ordering_centre"].isin(set(receivers))]
            earned = earned.groupby(["performing_centre", "ordering_centre"])["amount_fen"].sum()
        for giver in by_class[giving]:
            amounts = dict(balances[giver])
            if stage == 1:
                driver = rules.administrative
                weights = drivers.quantities(driver, receivers)
            elif stage == 2:
                driver = rules.auxiliary.get(giver, rules.default_auxiliary)
                weights = drivers.quantities(driver, receivers)
            else:
                driver = "revenue from clinical ordering centres"
                mine = earned[giver] if giver in earned.index.get_level_values(0) else pd.Series(dtype=object)
                weights = {c: Decimal(int(v)) for c, v in mine.items() if v > 0}
            if not weights and sum(amounts.values()) > 0:
                problems.append((f"stage {stage} centre {giver}",
                                 f"driver {driver!r} totals zero over the receiving centres, "
                                 f"but the centre has {sum(amounts.values()) / 100:.2f} yuan to allocate"))
                continue
            _give(balances, matrix, stage, giver, amounts, weights)
    return direct_balances, before_stage_3, matrix


# ---------------------------------------------------------------------------------------------- the result

def _centre_costs(centres: Mapping[str, Centre], direct: Balances, matrix: pd.DataFrame) -> pd.DataFrame:
    into = matrix.groupby(["to_centre", "cost_item"])["amount_fen"].sum().to_dict()
    out_of = matrix[matrix["stage"] > 0].groupby(["from_centre", "cost_item"])["amount_fen"].sum().to_dict()
    rows = []
    for code in sorted(centres):
        for item in ITEM_ORDER:
            d = direct[code].get(item, 0)
            allocated = int(into.get((code, item), 0)) - int(out_of.get((code, item), 0))
            if d or allocated:
                rows.append((code, item, d, allocated, d + allocated))
    return _frame(rows, CENTRE_COST_COLUMNS, money=("direct_fen", "allocated_fen", "total_fen"))


def _unit_costs(centres: Mapping[str, Centre], centre_costs: pd.DataFrame, workload: pd.DataFrame) -> pd.DataFrame:
    totals = centre_costs.groupby("centre")["total_fen"].sum()
    units: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for centre, measure, quantity in zip(workload["centre"], workload["measure"], workload["quantity"],
                                         strict=True):
        units[(centre, measure)] += Decimal(quantity)
    rows = []
    for code in sorted(centres):
        centre = centres[code]
        if centre.cost_class != DepartmentClass.CLINICAL or centre.service == Service.NONE:
            continue
        measures = OUTPATIENT_UNITS if centre.service == Service.OUTPATIENT else INPATIENT_UNITS
        count = sum((units.get((code, m), Decimal(0)) for m in measures), Decimal(0))
        total = int(totals.get(code, 0))
        rows.append((code, str(centre.service), total, count, _yuan(total, count)))
    return _frame(rows, UNIT_COST_COLUMNS, money=("total_fen",))


def _performing_costs(before_stage_3: Balances, charges: pd.DataFrame) -> dict[str, int]:
    """Each centre's cost of its own services: after stages 0–2, less drugs and charged materials."""
    materials_charged = charges[charges["item_kind"] == "material"].groupby("performing_centre")["amount_fen"].sum()
    costs = {}
    for code, items in before_stage_3.items():
        materials = items.get(CostItem.MATERIALS.value, 0)
        cost = sum(items.values()) - items.get(CostItem.DRUGS.value, 0)
        cost -= min(materials, int(materials_charged.get(code, 0)))
        costs[code] = max(cost, 0)
    return costs


def _item_costs(performing: Mapping[str, int], services: pd.DataFrame, catalogue: pd.DataFrame) -> pd.DataFrame:
    rvu = dict(zip(catalogue["item_code"], catalogue["rvu"], strict=True))
    charge = dict(zip(catalogue["item_code"], catalogue["charge_fen"], strict=True))
    pairs = services.groupby(["performing_centre", "item_code"], sort=True).agg(
        quantity=("quantity", "sum"), amount_fen=("amount_fen", "sum")).reset_index()
    cost: dict[tuple[str, str], int] = defaultdict(int)
    quantity: dict[str, Decimal] = defaultdict(Decimal)
    for code, rows in pairs.groupby("performing_centre", sort=True):
        codes = list(rows["item_code"])
        quantities = [Decimal(q) for q in rows["quantity"]]
        for item_code, q in zip(codes, quantities, strict=True):
            quantity[item_code] += q
        amount = performing.get(str(code), 0)
        weights = {"ccr": [int(a) for a in rows["amount_fen"]],
                   "rvu": [Decimal(rvu[i]) * q for i, q in zip(codes, quantities, strict=True)]}
        for method, w in weights.items():
            for item_code, part in zip(codes, apportion(amount, w, codes), strict=True):
                cost[(item_code, method)] += part
    rows_out = []
    for item_code in sorted(quantity):
        for method in ("ccr", "rvu"):
            fen = cost[(item_code, method)]
            rows_out.append((item_code, method, quantity[item_code], fen, _yuan(fen, quantity[item_code]),
                             int(charge[item_code])))
    return _frame(rows_out, ITEM_COST_COLUMNS, money=("cost_fen", "charge_fen"))


def _service_charges(charges: pd.DataFrame) -> dict[str, int]:
    """Each performing centre's service charges of the month (the denominator of its cost/charge ratio)."""
    services = charges[charges["item_kind"] == "service"]
    return {str(c): int(v) for c, v in services.groupby("performing_centre")["amount_fen"].sum().items()}


def _line_costs(performing: Mapping[str, int], charged: Mapping[str, int], lines: pd.DataFrame) -> np.ndarray:
    """Each charge line's cost in fen: a service line at its performing centre's cost/charge ratio (rounded
    half up, in exact integers), a drug or material line at its charge."""
    amount = lines["amount_fen"].to_numpy(dtype=np.int64)
    service = (lines["item_kind"] == "service").to_numpy()
    centre_of_line, centre_codes = pd.factorize(lines["performing_centre"])
    cost = np.array([performing.get(str(c), 0) for c in centre_codes], dtype=np.int64)
    total = np.array([charged.get(str(c), 0) for c in centre_codes], dtype=np.int64)
    num, den = cost[centre_of_line], total[centre_of_line]
    line = amount.copy()
    line[service & (den == 0)] = 0
    s = service & (den > 0)
    if int(amount.max(initial=0)) * int(cost.max(initial=0)) < 2**61:
        line[s] = (2 * amount[s] * num[s] + den[s]) // (2 * den[s])
    else:  # too large for int64: the same arithmetic in Python integers
        a, c, d = (x.astype(object) for x in (amount[s], num[s], den[s]))
        line[s] = ((2 * a * c + d) // (2 * d)).astype(np.int64)
    return line


def _case_costs(performing: Mapping[str, int], charges: pd.DataFrame,
                cases: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    lines = charges[charges["case_id"].isin(set(cases["case_id"]))]
    line_costs = _line_costs(performing, _service_charges(charges), lines)
    per_case = pd.DataFrame({"case_id": lines["case_id"].to_numpy(), "cost_fen": line_costs,
                             "charge_fen": lines["amount_fen"].to_numpy(dtype=np.int64)}
                            ).groupby("case_id").sum()
    case_costs = pd.DataFrame({
        "case_id": cases["case_id"].to_numpy(), "centre": cases["centre"].to_numpy(),
        "drg_group": cases["drg_group"].to_numpy(),
        "cost_fen": per_case["cost_fen"].reindex(cases["case_id"]).fillna(0).to_numpy(dtype=np.int64),
        "charge_fen": per_case["charge_fen"].reindex(cases["case_id"]).fillna(0).to_numpy(dtype=np.int64),
        "payment_fen": cases["payment_fen"].to_numpy(dtype=np.int64),
    }).sort_values("case_id", kind="stable").reset_index(drop=True)
    groups = case_costs.groupby(["drg_group", "centre"], sort=True).agg(
        cases=("case_id", "size"), cost_fen=("cost_fen", "sum"), charge_fen=("charge_fen", "sum"),
        payment_fen=("payment_fen", "sum")).reset_index()
    groups["surplus_fen"] = groups["payment_fen"] - groups["cost_fen"]
    for column in ("cases", "cost_fen", "charge_fen", "payment_fen", "surplus_fen"):
        groups[column] = groups[column].astype(np.int64)
    return case_costs[list(CASE_COST_COLUMNS)], groups[list(GROUP_COST_COLUMNS)]


def _frame(rows: list[tuple], columns: Sequence[str], *, money: Sequence[str] = ()) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    for column in columns:
        if column in money:
            frame[column] = frame[column].astype(np.int64)
        elif frame[column].dtype != np.int64:
            frame[column] = frame[column].astype(object)
    return frame


def compute_month(inputs: MonthInputs) -> MonthResult:
    """The month worked out from its inputs, or a :class:`CostInputError` naming every problem.

    Pure and deterministic: the same inputs give the same result to the fen (see the module docstring for
    the method, the rounding and what each result frame holds).
    """
    problems: Problems = []
    centres = _check_centres(inputs.centres, problems)
    if problems:  # without every centre's class there is no allocation order to check the rest against
        raise CostInputError(problems)
    frames = _checked(inputs, centres, problems)
    direct, before_stage_3, matrix_rows = _allocate(inputs, centres, frames, problems)
    if problems:
        raise CostInputError(problems)

    matrix = _frame(matrix_rows, MATRIX_COLUMNS, money=("amount_fen",))
    matrix["stage"] = matrix["stage"].astype(np.int64)
    centre_costs = _centre_costs(centres, direct, matrix)
    charges = frames["charges"]
    performing = _performing_costs(before_stage_3, charges)
    services = charges[charges["item_kind"] == "service"]
    case_costs, group_costs = _case_costs(performing, charges, frames["cases"])
    return MonthResult(
        month=inputs.month,
        matrix=matrix,
        centre_costs=centre_costs,
        unit_costs=_unit_costs(centres, centre_costs, frames["workload"]),
        item_costs=_item_costs(performing, services, frames["items"]),
        case_costs=case_costs,
        group_costs=group_costs,
    )
