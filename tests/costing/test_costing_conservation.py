"""Conservation for random hospitals: every fen of direct and shared cost ends in a clinical centre, per cost
item, and every allocated fen is in the matrix."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from smartfin.costing.compute import compute_month
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
    CostItem,
    MonthInputs,
    Service,
)
from smartfin.ledger.departments import DepartmentClass as K
from tests.costing.conftest import frame

amounts = st.integers(min_value=0, max_value=10**11)           # up to ¥1,000,000,000 a row
PREFIX = {K.ADMINISTRATIVE: "ADM", K.MEDICAL_AUXILIARY: "AUX", K.MEDICAL_TECHNICAL: "TEC", K.CLINICAL: "CLI"}
positive = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**6), places=2)


@st.composite
def hospitals(draw: st.DrawFn) -> MonthInputs:
    sizes = {K.ADMINISTRATIVE: draw(st.integers(1, 4)), K.MEDICAL_AUXILIARY: draw(st.integers(1, 3)),
             K.MEDICAL_TECHNICAL: draw(st.integers(1, 3)), K.CLINICAL: draw(st.integers(1, 5))}
    centres = []
    for cls, count in sizes.items():
        for k in range(count):
            service = draw(st.sampled_from([Service.OUTPATIENT, Service.INPATIENT])) if cls == K.CLINICAL \
                else Service.NONE
            centres.append(Centre(f"{PREFIX[cls]}{k}", f"科室{k}", cls, service,
                                  headcount=draw(positive), area_m2=draw(positive)))
    codes = [c.code for c in centres]
    clinical = [c.code for c in centres if c.cost_class == K.CLINICAL]
    receivers_2 = [c.code for c in centres if c.cost_class in (K.CLINICAL, K.MEDICAL_TECHNICAL)]
    items = [i.value for i in CostItem]
    direct = [(c, item, draw(amounts), "ledger") for c in codes
              for item in draw(st.lists(st.sampled_from(items), max_size=4, unique=True))]
    shared = [(name, draw(st.sampled_from(items)), draw(amounts))
              for name in draw(st.lists(st.sampled_from(["utilities", "property", "canteen"]), unique=True))]
    # metered use: random, at least one centre with some
    metered = [(c, "electricity_kwh", draw(st.one_of(st.just(Decimal(0)), positive))) for c in codes]
    some = draw(st.integers(0, len(codes) - 1))
    metered[some] = (codes[some], "electricity_kwh", draw(positive))
    # each auxiliary centre drives by its own measure; some receivers may have none, never all
    auxiliary = {c.code: f"measure_{c.code}" for c in centres if c.cost_class == K.MEDICAL_AUXILIARY}
    workload = []
    for measure in auxiliary.values():
        quantities = [draw(st.one_of(st.just(Decimal(0)), positive)) for _ in receivers_2]
        quantities[draw(st.integers(0, len(receivers_2) - 1))] = draw(positive)
        workload += [(c, measure, q) for c, q in zip(receivers_2, quantities, strict=True)]
    revenue = []
    for tech in (c.code for c in centres if c.cost_class == K.MEDICAL_TECHNICAL):
        earned = [draw(st.integers(0, 10**9)) for _ in clinical]
        earned[draw(st.integers(0, len(clinical) - 1))] = draw(st.integers(1, 10**9))
        revenue += [(o, tech, a) for o, a in zip(clinical, earned, strict=True)]
    return MonthInputs(
        month="2026-10", centres=tuple(centres),
        direct=frame(direct, DIRECT_COLUMNS), shared=frame(shared, SHARED_COLUMNS),
        drivers=frame(metered, DRIVER_COLUMNS), revenue=frame(revenue, REVENUE_COLUMNS),
        workload=frame(workload, WORKLOAD_COLUMNS), charges=frame([], CHARGE_COLUMNS),
        items=frame([], ITEM_COLUMNS), cases=frame([], CASE_COLUMNS),
        rules=AllocationRules(administrative=draw(st.sampled_from(["headcount", "area_m2"])), auxiliary=auxiliary,
                              shared={"utilities": "electricity_kwh", "property": "area_m2",
                                      "canteen": "headcount"}),
    )


@settings(max_examples=100, deadline=None)
@given(hospitals())
def test_allocation_conserves_every_fen(inputs: MonthInputs) -> None:
    result = compute_month(inputs)
    costs, matrix = result.centre_costs, result.matrix
    # in total and per cost item: after allocation = direct + shared
    given_in = inputs.direct.groupby("cost_item")["amount_fen"].sum().add(
        inputs.shared.groupby("cost_item")["amount_fen"].sum(), fill_value=0)
    after = costs.groupby("cost_item")["total_fen"].sum()
    assert {k: int(v) for k, v in after.items() if v} == {k: int(v) for k, v in given_in.items() if v}
    assert int(costs["total_fen"].sum()) == int(inputs.direct["amount_fen"].sum() + inputs.shared["amount_fen"].sum())
    # every allocated fen is traceable: into − out of a centre in the matrix = its allocated cost
    into = matrix.groupby(["to_centre", "cost_item"])["amount_fen"].sum()
    out = matrix[matrix["stage"] > 0].groupby(["from_centre", "cost_item"])["amount_fen"].sum()
    for row in costs.itertuples():
        assert row.allocated_fen == into.get((row.centre, row.cost_item), 0) - out.get((row.centre, row.cost_item), 0)
        assert row.total_fen == row.direct_fen + row.allocated_fen
    # only clinical centres end with cost; nothing is allocated backwards or to a centre already allocated
    clinical = {c.code for c in inputs.centres if c.cost_class == K.CLINICAL}
    totals = costs.groupby("centre")["total_fen"].sum()
    assert all(v == 0 for c, v in totals.items() if c not in clinical)
    assert (matrix["amount_fen"] > 0).all()
    order = {K.ADMINISTRATIVE: 1, K.MEDICAL_AUXILIARY: 2, K.MEDICAL_TECHNICAL: 3, K.CLINICAL: 4}
    rank = {c.code: order[c.cost_class] for c in inputs.centres}
    steps = matrix[matrix["stage"] > 0]
    assert all(rank[t] > rank[f] == s for s, f, t in zip(steps["stage"], steps["from_centre"], steps["to_centre"],
                                                          strict=True))
