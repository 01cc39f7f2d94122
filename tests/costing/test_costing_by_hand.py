"""The eight-centre hospital of ``conftest.hand_inputs``, worked out by hand to the fen.

Every expected number below is written out, with its arithmetic in the comments; none is computed by the
code under test. Amounts are fen. "q" is an exact quota, "floor + r" its integer part and remainder; the fen
left after the floors go to the largest remainders, ties by centre code.

Direct costs (226,000):
    ADM   personnel 30,000  other 2,000           LOG   personnel 10,000
    CSSD  personnel 8,000   materials 1,000       LAB   personnel 12,000  materials 6,000
    RAD   personnel 9,000   depreciation 5,000
    OPD   personnel 16,000  drugs 20,000  materials 3,000
    WARD1 personnel 24,000  drugs 30,000  materials 8,000
    WARD2 personnel 20,000  drugs 10,000  materials 12,000
Shared: utilities 100,001 (other) by area. Total to account for: 326,001.

Stage 0 — utilities 100,001 by area (ADM 100, LOG 50, CSSD 50, LAB 100, RAD 100, OPD 100, WARD1 200,
WARD2 300; total 1,000): q = 10,000.1 / 5,000.05 / 5,000.05 / 10,000.1 ×3 / 20,000.2 / 30,000.3; floors add to
100,000, 1 fen left → largest remainder .3 → WARD2 30,001.

Stage 1 — administrative → CSSD 4, LAB 6, RAD 4, OPD 8, WARD1 12, WARD2 10 (headcount, total 44):
  ADM personnel 30,000: 30,000×h/44 = 2,727 r12 | 4,090 r40 | 2,727 r12 | 5,454 r24 | 8,181 r36 | 6,818 r8;
      floors 29,997, 3 left → LAB, WARD1, OPD:
                                                        CSSD 2,727 LAB 4,091 RAD 2,727 OPD 5,455 WARD1 8,182 WARD2 6,818
  ADM other 12,000 (2,000 + 10,000 utilities): 1,090 r40 | 1,636 r16 | 1,090 r40 | 2,181 r36 | 3,272 r32 | 2,727 r12;
      floors 11,996, 4 left → CSSD, RAD (tie r40), OPD, WARD1:
                                                        CSSD 1,091 LAB 1,636 RAD 1,091 OPD 2,182 WARD1 3,273 WARD2 2,727
  LOG personnel 10,000: 909 r4 | 1,363 r28 | 909 r4 | 1,818 r8 | 2,727 r12 | 2,272 r32; floors 9,998, 2 left →
      WARD2, LAB:                                       CSSD 909 LAB 1,364 RAD 909 OPD 1,818 WARD1 2,727 WARD2 2,273
  LOG other 5,000 (utilities): 454 r24 | 681 r36 | 454 r24 | 909 r4 | 1,363 r28 | 1,136 r16; floors 4,997, 3 left →
      LAB, WARD1, then the tie r24 CSSD/RAD goes to CSSD (code order):
                                                        CSSD 455 LAB 682 RAD 454 OPD 909 WARD1 1,364 WARD2 1,136

Stage 2 — CSSD (personnel 8,000+2,727+909 = 11,636; materials 1,000; other 5,000+1,091+455 = 6,546) by packs
LAB 10, OPD 20, WARD1 30, WARD2 40 (RAD has no packs and gets nothing):
  personnel: 1,163.6 | 2,327.2 | 3,490.8 | 4,654.4 → floors 11,634, 2 left → WARD1, LAB: 1,164 2,327 3,491 4,654
  materials: 100 200 300 400
  other:     654.6 | 1,309.2 | 1,963.8 | 2,618.4 → 2 left → WARD1, LAB:                 655 1,309 1,964 2,618

Stage 3 — technical → clinical by the revenue they earn from each clinical ordering centre
(RAD's 5,000 ordered at LAB is not a clinical centre's and does not count):
  LAB (personnel 12,000+4,091+1,364+1,164 = 18,619; materials 6,000+100 = 6,100; other 10,000+1,636+682+655 =
  12,973; 37,692) by OPD 30,000 WARD1 50,000 WARD2 20,000:
    personnel 5,585.7 | 9,309.5 | 3,723.8 → 2 left → WARD2, OPD: 5,586 9,309 3,724
    materials 1,830 3,050 1,220
    other     3,891.9 | 6,486.5 | 2,594.6 → 2 left → OPD, WARD2:   3,892 6,486 2,595
  RAD (personnel 9,000+2,727+909 = 12,636; depreciation 5,000; other 10,000+1,091+454 = 11,545; 29,181)
  by OPD 10,000 WARD2 30,000:
    personnel 3,159 9,477;  depreciation 1,250 3,750;  other 2,886.25 | 8,658.75 → 1 left → WARD2: 2,886 8,659

Final (only clinical centres hold cost):
  OPD   personnel 16,000+5,455+1,818+2,327+5,586+3,159 = 34,345; drugs 20,000; materials 3,000+200+1,830 = 5,030;
        depreciation 1,250; other 10,000+2,182+909+1,309+3,892+2,886 = 21,178;             total 81,803
  WARD1 personnel 24,000+8,182+2,727+3,491+9,309 = 47,709; drugs 30,000; materials 8,000+300+3,050 = 11,350;
        other 20,000+3,273+1,364+1,964+6,486 = 33,087;                                      total 122,146
  WARD2 personnel 20,000+6,818+2,273+4,654+3,724+9,477 = 46,946; drugs 10,000; materials 12,000+400+1,220 =
        13,620; depreciation 3,750; other 30,001+2,727+1,136+2,618+2,595+8,659 = 47,736;    total 122,052
  81,803 + 122,146 + 122,052 = 326,001 = 226,000 + 100,001.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from smartfin.costing.compute import apportion, compute_month
from smartfin.costing.model import MonthInputs

D = Decimal


def _costs(result, centre: str) -> dict[str, tuple[int, int, int]]:
    rows = result.centre_costs[result.centre_costs["centre"] == centre]
    return {r.cost_item: (r.direct_fen, r.allocated_fen, r.total_fen) for r in rows.itertuples()}


def _matrix(result, stage: int, giver: str, item: str) -> dict[str, int]:
    m = result.matrix
    rows = m[(m["stage"] == stage) & (m["from_centre"] == giver) & (m["cost_item"] == item)]
    return dict(zip(rows["to_centre"], rows["amount_fen"], strict=True))


def test_shared_costs_and_every_stage_to_the_fen(hand_hospital: MonthInputs) -> None:
    result = compute_month(hand_hospital)
    assert _matrix(result, 0, "utilities", "other") == {
        "ADM": 10000, "LOG": 5000, "CSSD": 5000, "LAB": 10000, "RAD": 10000, "OPD": 10000, "WARD1": 20000,
        "WARD2": 30001}
    assert _matrix(result, 1, "ADM", "personnel") == {
        "CSSD": 2727, "LAB": 4091, "RAD": 2727, "OPD": 5455, "WARD1": 8182, "WARD2": 6818}
    assert _matrix(result, 1, "ADM", "other") == {
        "CSSD": 1091, "LAB": 1636, "RAD": 1091, "OPD": 2182, "WARD1": 3273, "WARD2": 2727}
    assert _matrix(result, 1, "LOG", "personnel") == {
        "CSSD": 909, "LAB": 1364, "RAD": 909, "OPD": 1818, "WARD1": 2727, "WARD2": 2273}
    # the tie r24 between CSSD and RAD goes to CSSD, the smaller code
    assert _matrix(result, 1, "LOG", "other") == {
        "CSSD": 455, "LAB": 682, "RAD": 454, "OPD": 909, "WARD1": 1364, "WARD2": 1136}
    # administrative centres receive nothing from each other
    assert result.matrix[(result.matrix["stage"] == 1) & result.matrix["to_centre"].isin(["ADM", "LOG"])].empty
    assert _matrix(result, 2, "CSSD", "personnel") == {"LAB": 1164, "OPD": 2327, "WARD1": 3491, "WARD2": 4654}
    assert _matrix(result, 2, "CSSD", "materials") == {"LAB": 100, "OPD": 200, "WARD1": 300, "WARD2": 400}
    assert _matrix(result, 2, "CSSD", "other") == {"LAB": 655, "OPD": 1309, "WARD1": 1964, "WARD2": 2618}
    assert _matrix(result, 3, "LAB", "personnel") == {"OPD": 5586, "WARD1": 9309, "WARD2": 3724}
    assert _matrix(result, 3, "LAB", "materials") == {"OPD": 1830, "WARD1": 3050, "WARD2": 1220}
    assert _matrix(result, 3, "LAB", "other") == {"OPD": 3892, "WARD1": 6486, "WARD2": 2595}
    assert _matrix(result, 3, "RAD", "personnel") == {"OPD": 3159, "WARD2": 9477}
    assert _matrix(result, 3, "RAD", "depreciation") == {"OPD": 1250, "WARD2": 3750}
    assert _matrix(result, 3, "RAD", "other") == {"OPD": 2886, "WARD2": 8659}
    assert len(result.matrix) == 8 + 6 * 4 + 4 * 3 + 3 * 3 + 2 * 3


def test_centre_costs_direct_allocated_and_total(hand_hospital: MonthInputs) -> None:
    result = compute_month(hand_hospital)
    # (direct, net allocated, total): allocated = received − given away
    assert _costs(result, "OPD") == {"personnel": (16000, 18345, 34345), "drugs": (20000, 0, 20000),
                                     "materials": (3000, 2030, 5030), "depreciation": (0, 1250, 1250),
                                     "other": (0, 21178, 21178)}
    assert _costs(result, "WARD1") == {"personnel": (24000, 23709, 47709), "drugs": (30000, 0, 30000),
                                       "materials": (8000, 3350, 11350), "other": (0, 33087, 33087)}
    assert _costs(result, "WARD2") == {"personnel": (20000, 26946, 46946), "drugs": (10000, 0, 10000),
                                       "materials": (12000, 1620, 13620), "depreciation": (0, 3750, 3750),
                                       "other": (0, 47736, 47736)}
    # LAB gave away 18,619 personnel, of which it received 4,091 + 1,364 + 1,164 = 6,619
    assert _costs(result, "LAB") == {"personnel": (12000, -12000, 0), "materials": (6000, -6000, 0)}
    assert _costs(result, "ADM") == {"personnel": (30000, -30000, 0), "other": (2000, -2000, 0)}
    totals = result.centre_costs.groupby("centre")["total_fen"].sum()
    assert totals.to_dict() == {"ADM": 0, "CSSD": 0, "LAB": 0, "LOG": 0, "OPD": 81803, "RAD": 0,
                                "WARD1": 122146, "WARD2": 122052}
    assert int(result.centre_costs["total_fen"].sum()) == 326001
    # where OPD's 管理费 came from: ADM 5,455 + 2,182, LOG 1,818 + 909
    m = result.matrix
    into_opd = m[(m["stage"] == 1) & (m["to_centre"] == "OPD")]
    assert into_opd.groupby("from_centre")["amount_fen"].sum().to_dict() == {"ADM": 7637, "LOG": 2727}


def test_unit_costs(hand_hospital: MonthInputs) -> None:
    # OPD 81,803 fen / (250 visits + 20 emergency) = 302.97 fen → ¥3.03 per visit
    # WARD1 122,146 / 500 bed-days = 244.29 fen → ¥2.44; WARD2 122,052 / 400 = 305.13 fen → ¥3.05
    units = compute_month(hand_hospital).unit_costs
    assert list(units.itertuples(index=False, name=None)) == [
        ("OPD", "outpatient", 81803, D(270), D("3.03")),
        ("WARD1", "inpatient", 122146, D(500), D("2.44")),
        ("WARD2", "inpatient", 122052, D(400), D("3.05")),
    ]


def test_item_costs_by_both_methods(hand_hospital: MonthInputs) -> None:
    # LAB's performing cost is its cost before stage 3: 18,619 + 6,100 + 12,973 = 37,692 (no drugs, no
    # separately charged materials). Its service charges: S1 20,000 + 10,000 (15 tests), S2 10,000 (2 tests).
    # ccr: by charge 30,000 : 10,000 → S1 28,269, S2 9,423 (exact).  S1 per test 28,269 / 15 = ¥18.85.
    # rvu: S1 1 × 15 = 15, S2 3 × 2 = 6 (total 21): 37,692 × 15/21 = 26,922 r18, × 6/21 = 10,769 r3 → 1 left →
    #      S1 26,923, S2 10,769.  S1 per test 26,923 / 15 = ¥17.95.  The catalogue charge of S1 is ¥20.00.
    items = compute_month(hand_hospital).item_costs.set_index(["item_code", "method"])
    assert items.loc[("S1", "ccr")].tolist() == [D(15), 28269, D("18.85"), 2000]
    assert items.loc[("S2", "ccr")].tolist() == [D(2), 9423, D("47.12"), 5000]
    assert items.loc[("S1", "rvu")].tolist() == [D(15), 26923, D("17.95"), 2000]
    assert items.loc[("S2", "rvu")].tolist() == [D(2), 10769, D("53.85"), 5000]
    # RAD performs one item: its whole 29,181 either way
    assert items.loc[("S3", "ccr"), "cost_fen"] == items.loc[("S3", "rvu"), "cost_fen"] == 29181


def test_case_and_group_costs(hand_hospital: MonthInputs) -> None:
    # Ratios: LAB 37,692 / 40,000; RAD 29,181 / 40,000; WARD1 (38,400 + 30,000 + 8,300 + 26,601 = 103,301
    # before stage 3, less drugs 30,000, less its charged materials 3,000) 70,301 / 25,000; WARD2 (92,627 −
    # 10,000 − 6,000) 76,627 / 20,000.
    # K1: S1 20,000 × 37,692/40,000 = 18,846; S2 10,000 × … = 9,423; bed 25,000 × 70,301/25,000 = 70,301;
    #     drug 8,000 and material 3,000 at charge → 109,570; charge 66,000; payment 100,000.
    # K2: CT 20,000 × 29,181/40,000 = 14,590.5 → half up 14,591; bed 20,000 × 76,627/20,000 = 76,627;
    #     material 6,000 → 97,218; charge 46,000; payment 150,000.  K3 has no lines: 0.
    result = compute_month(hand_hospital)
    assert list(result.case_costs.itertuples(index=False, name=None)) == [
        ("K1", "WARD1", "FR13", 109570, 66000, 100000),
        ("K2", "WARD2", "GB21", 97218, 46000, 150000),
        ("K3", "WARD2", "GB21", 0, 0, 50000),
    ]
    assert list(result.group_costs.itertuples(index=False, name=None)) == [
        ("FR13", "WARD1", 1, 109570, 66000, 100000, -9570),
        ("GB21", "WARD2", 2, 97218, 46000, 200000, 102782),
    ]


def test_result_frames_have_their_columns_and_money_is_integer(hand_hospital: MonthInputs) -> None:
    from smartfin.costing import model

    result = compute_month(hand_hospital)
    for name, columns in (("matrix", model.MATRIX_COLUMNS), ("centre_costs", model.CENTRE_COST_COLUMNS),
                          ("unit_costs", model.UNIT_COST_COLUMNS), ("item_costs", model.ITEM_COST_COLUMNS),
                          ("case_costs", model.CASE_COST_COLUMNS), ("group_costs", model.GROUP_COST_COLUMNS)):
        found = getattr(result, name)
        assert tuple(found.columns) == columns, name
        for column in columns:
            if column.endswith("_fen"):
                assert found[column].dtype == "int64", (name, column)
    assert result.month == "2026-10"


def test_the_same_inputs_give_the_same_result(hand_hospital: MonthInputs) -> None:
    first, second = compute_month(hand_hospital), compute_month(hand_hospital)
    pd.testing.assert_frame_equal(first.matrix, second.matrix)
    pd.testing.assert_frame_equal(first.case_costs, second.case_costs)


def test_largest_remainder_ties_go_to_the_smaller_code() -> None:
    assert apportion(1, [1, 1], ["B", "A"]) == [0, 1]
    assert apportion(100, [1, 1, 1], ["C", "A", "B"]) == [33, 34, 33]
    # exact decimals: 10 × 1.5/3 = 5, × 1/3 = 3.33, × 0.5/3 = 1.67 → the fen left goes to the .67
    assert apportion(10, [D("1.5"), 1, D("0.5")], ["a", "b", "c"]) == [5, 3, 2]
    assert apportion(7, [0, 0], ["a", "b"]) == [0, 0]
