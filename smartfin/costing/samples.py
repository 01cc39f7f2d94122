"""A synthetic public hospital's cost month: for demos, the flow's end-to-end test and the benchmark.

``generate_month`` builds a plausible hospital of any size — Chinese department names in all four classes
(clinical outpatient clinics and wards, medical technical departments with 药剂科 first, medical auxiliary
services with the workload measure that drives them, administrative offices; extra campuses beyond the
name pools), a service-item catalogue with charges and relative values, HIS charge lines for outpatients
and for the month's discharged cases, DRG/DIP groups paid per group, and direct costs in the proportions
of a large general hospital (personnel about a third of revenue; drugs and health materials issued at about
their charge, as under zero markup). The same seed gives the same month.

``write_month_files`` writes the month as the canonical input files of the cost imports (CSV, UTF-8,
amounts in yuan with two decimals; HIS files with HIS department codes and a ``his-map`` file), plus the
department master data (``departments.csv``, the department import's format) and the allocation rules
(``allocation.csv``, the ``allocation`` import's format), so the imports, the month's run and the benchmark
read the same hospital.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

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
from smartfin.kernel.clock import month_days
from smartfin.ledger.departments import DepartmentClass

SPECIALTIES = (
    "心血管内科", "呼吸与危重症医学科", "消化内科", "神经内科", "肾内科", "内分泌科", "血液科", "风湿免疫科",
    "感染科", "老年医学科", "普通外科", "骨科", "神经外科", "心胸外科", "泌尿外科", "肝胆外科", "甲状腺乳腺外科",
    "血管外科", "整形外科", "妇科", "产科", "儿科", "新生儿科", "眼科", "耳鼻咽喉头颈外科", "口腔科", "皮肤科",
    "肿瘤科", "放射治疗科", "中医科", "康复医学科", "重症医学科", "急诊科", "全科医学科", "精神心理科",
)
TECHNICAL = ("药剂科", "检验科", "放射科", "超声医学科", "病理科", "核医学科", "功能检查科", "内镜中心",
             "手术麻醉科", "输血科", "介入诊疗中心", "心电诊断科")
AUXILIARY = (("消毒供应中心", "packs"), ("洗衣房", "laundry_kg"), ("住院处", "bed_days"),
             ("门诊部", "visits"), ("病案管理科", "bed_days"), ("营养膳食科", "bed_days"))
ADMINISTRATIVE = ("院长办公室", "党委办公室", "财务处", "人力资源处", "医务处", "护理部", "总务处", "信息中心",
                  "医学装备处", "保卫处", "审计处", "科研处", "教育处", "质量控制办公室", "医保办公室",
                  "后勤保障中心", "基建处", "宣传处", "工会", "医院感染管理科")
CAMPUSES = ("东院", "西院", "南院", "北院", "新院", "分院")
WARDS = ("一病区", "二病区", "三病区", "四病区", "五病区")
ITEM_NAMES = {
    "clinical": ("一般诊疗费", "床位费", "Ⅰ级护理", "Ⅱ级护理", "静脉输液", "换药", "清创缝合术", "导尿",
                 "吸氧", "心电监护", "腹腔镜胆囊切除术", "髋关节置换术", "冠状动脉造影术", "剖宫产术", "会诊费"),
    "technical": ("血常规", "肝功能", "肾功能", "血脂四项", "CT平扫", "磁共振平扫", "彩色多普勒超声",
                  "病理组织学检查", "胃镜检查", "肠镜检查", "常规心电图", "动态心电图", "交叉配血",
                  "药事服务费", "全身麻醉", "PET-CT"),
}
SHARED_DRIVERS = {"utilities": "electricity_kwh", "property": "area_m2", "canteen": "headcount"}
QUANTITIES = np.array([Decimal(i) for i in range(11)], dtype=object)
CLASS_PREFIX = {DepartmentClass.CLINICAL: "LC", DepartmentClass.MEDICAL_TECHNICAL: "YJ",
                DepartmentClass.MEDICAL_AUXILIARY: "YF", DepartmentClass.ADMINISTRATIVE: "XZ"}


def _counts(centres: int) -> dict[DepartmentClass, int]:
    """Centres per class in a general hospital's proportions; at least one of each, two clinical."""
    admin = max(1, round(centres * 0.13))
    auxiliary = max(1, round(centres * 0.10))
    technical = max(1, round(centres * 0.12))
    return {DepartmentClass.ADMINISTRATIVE: admin, DepartmentClass.MEDICAL_AUXILIARY: auxiliary,
            DepartmentClass.MEDICAL_TECHNICAL: technical,
            DepartmentClass.CLINICAL: centres - admin - auxiliary - technical}


def _pooled(pool: tuple[str, ...], k: int) -> str:
    """The k-th name of a pool; past its end the same names again on the next campus."""
    name = pool[k % len(pool)]
    return name if k < len(pool) else f"{name}（{CAMPUSES[(k // len(pool) - 1) % len(CAMPUSES)]}）"


def _clinical_name(k: int) -> tuple[str, Service]:
    """Outpatient clinic and first ward of every specialty, then further wards."""
    if k < 2 * len(SPECIALTIES):
        base = SPECIALTIES[k // 2]
        return (f"{base}门诊", Service.OUTPATIENT) if k % 2 == 0 else (f"{base}病区", Service.INPATIENT)
    k -= 2 * len(SPECIALTIES)
    ward = k // len(SPECIALTIES) + 1
    name = f"{SPECIALTIES[k % len(SPECIALTIES)]}{WARDS[ward % len(WARDS)]}"
    return (name if ward < len(WARDS) else f"{name}（{CAMPUSES[(ward // len(WARDS)) % len(CAMPUSES)]}）",
            Service.INPATIENT)


def _dec(value: float, places: int = 2) -> Decimal:
    return Decimal(f"{value:.{places}f}")


def _hospital(n: int, rng: np.random.Generator) -> tuple[tuple[Centre, ...], dict[str, str]]:
    """The centres and each auxiliary centre's workload measure."""
    counts = _counts(n)
    if counts[DepartmentClass.CLINICAL] < 2:
        raise ValueError(f"a hospital needs at least 6 cost centres (two clinical), not {n}")
    centres: list[Centre] = []
    auxiliary: dict[str, str] = {}
    for cls, count in counts.items():
        for k in range(count):
            code = f"{CLASS_PREFIX[cls]}{k + 1:03d}"
            service, beds = Service.NONE, 0
            if cls == DepartmentClass.CLINICAL:
                name, service = _clinical_name(k)
                beds = int(rng.integers(14, 25)) if service == Service.INPATIENT else 0
                headcount = round(beds * rng.uniform(1.0, 1.4)) if beds else int(rng.integers(8, 30))
            elif cls == DepartmentClass.MEDICAL_TECHNICAL:
                name, headcount = _pooled(TECHNICAL, k), int(rng.integers(15, 70))
            elif cls == DepartmentClass.MEDICAL_AUXILIARY:
                base, measure = AUXILIARY[k % len(AUXILIARY)]
                name = base if k < len(AUXILIARY) else \
                    f"{base}（{CAMPUSES[(k // len(AUXILIARY) - 1) % len(CAMPUSES)]}）"
                auxiliary[code] = measure
                headcount = int(rng.integers(8, 35))
            else:
                name, headcount = _pooled(ADMINISTRATIVE, k), int(rng.integers(15, 45))
            area = beds * rng.uniform(45, 70) if beds else headcount * rng.uniform(12, 30)
            centres.append(Centre(code=code, name=name, cost_class=cls, service=service, beds=beds,
                                  area_m2=_dec(area), headcount=Decimal(headcount)))
    return tuple(centres), auxiliary


def _fen(yuan: np.ndarray) -> np.ndarray:
    return np.maximum(np.round(np.asarray(yuan, dtype=float) * 100), 0).astype(np.int64)


def generate_month(month: str, *, centres: int = 8, items: int = 60, charge_lines: int = 3_000,
                   cases: int = 100, seed: int = 0, hospital: tuple[Centre, ...] | None = None,
                   auxiliary: dict[str, str] | None = None) -> MonthInputs:
    """A synthetic hospital's month of cost inputs, deterministic per ``seed``.

    ``centres`` cost centres in all four classes (≥ 6), ``items`` service items, ``charge_lines`` HIS charge
    lines (about two thirds for ``cases`` discharged inpatient cases, the rest outpatient), so a test can ask
    for eight centres and the benchmark for a 3,000-bed hospital (300 centres, 1,000,000 lines). A given
    ``hospital`` (its centres, at least one outpatient and one inpatient clinical centre and one of each other
    class, with ``auxiliary`` naming each auxiliary centre's workload measure) replaces the generated one: the
    demo works out a month of its own departments.
    """
    month_days(month)  # ValueError naming a month not written YYYY-MM
    if items < 1 or charge_lines < 1 or cases < 0:
        raise ValueError("a hospital needs at least one service item and one charge line")
    rng = np.random.default_rng(seed)
    if hospital is None:
        hospital, auxiliary = _hospital(centres, rng)
    else:
        auxiliary = dict(auxiliary or {})
        missing = {cls for cls in DepartmentClass} - {c.cost_class for c in hospital}
        services = {c.service for c in hospital if c.cost_class == DepartmentClass.CLINICAL}
        if missing or not {Service.OUTPATIENT, Service.INPATIENT} <= services:
            raise ValueError("a given hospital needs every class and an outpatient and an inpatient clinical centre")
    by_class = {cls: [c for c in hospital if c.cost_class == cls] for cls in DepartmentClass}
    clinical = by_class[DepartmentClass.CLINICAL]
    technical = by_class[DepartmentClass.MEDICAL_TECHNICAL]
    outpatient = [c.code for c in clinical if c.service == Service.OUTPATIENT]
    inpatient = [c.code for c in clinical if c.service == Service.INPATIENT]

    # the service-item catalogue: ~55% performed by the ordering clinical centre, the rest by a technical one
    is_tech = rng.random(items) < 0.45
    is_tech[: min(len(technical), items)] = True      # every technical centre performs something
    tech_of_item = np.full(items, -1)
    tech_of_item[is_tech] = np.arange(int(is_tech.sum())) % len(technical)
    charge_yuan = np.where(is_tech, np.exp(rng.normal(4.2, 1.0, items)), np.exp(rng.normal(3.6, 1.2, items)))
    item_charge = _fen(np.clip(charge_yuan, 1, 20_000))
    rvu = np.round(item_charge / 1000 * np.exp(rng.normal(0, 0.35, items)), 2) + 0.01
    item_codes = np.array([f"{310_000_001 + k}" for k in range(items)], dtype=object)
    names = [f"{ITEM_NAMES['technical' if t else 'clinical'][k % 15]}"
             f"{'' if k < 15 else f'（{k // 15}）'}" for k, t in enumerate(is_tech)]
    catalogue = pd.DataFrame({"item_code": item_codes, "name": names,
                              "rvu": [_dec(v) for v in rvu], "charge_fen": item_charge})

    # cases: discharged from the wards, each in a DRG/DIP group of its specialty
    case_centre = np.array(inpatient, dtype=object)[rng.integers(0, len(inpatient), cases)] if cases else \
        np.array([], dtype=object)
    group_letter = {c: "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i % 26] for i, c in enumerate(inpatient)}
    case_group = np.array([f"{group_letter[c]}{'RB'[g % 2]}{1 + g % 9}{(1, 3, 5)[g % 3]}"
                           for c, g in zip(case_centre, rng.integers(0, 12, cases), strict=True)], dtype=object)
    case_ids = np.array([f"ZY{month.replace('-', '')}{k:06d}" for k in range(cases)], dtype=object)

    # charge lines
    n = charge_lines
    kind = rng.choice(np.array(["service", "drug", "material"], dtype=object), n, p=[0.55, 0.27, 0.18])
    in_case = (rng.random(n) < 0.65) if cases else np.zeros(n, dtype=bool)
    case_of_line = rng.integers(0, max(cases, 1), n)
    line_case = np.where(in_case, case_ids[case_of_line] if cases else "", "")
    ordering = np.array(outpatient, dtype=object)[rng.integers(0, len(outpatient), n)]
    if cases:
        ordering[in_case] = case_centre[case_of_line[in_case]]
    popularity = 1 / (np.arange(items) + 10.0)
    item_of_line = rng.choice(items, n, p=popularity / popularity.sum())
    quantity = rng.integers(1, 4, n)
    code = item_codes[item_of_line].copy()
    amount = quantity * item_charge[item_of_line]
    performing = ordering.copy()
    tech_codes = np.array([c.code for c in technical], dtype=object)
    served_by_tech = (kind == "service") & (tech_of_item[item_of_line] >= 0)
    performing[served_by_tech] = tech_codes[tech_of_item[item_of_line][served_by_tech]]
    drug, material = kind == "drug", kind == "material"
    code[drug] = np.array([f"YP{v:06d}" for v in rng.integers(1, 2_000, int(drug.sum()))], dtype=object)
    code[material] = np.array([f"CL{v:06d}" for v in rng.integers(1, 1_500, int(material.sum()))], dtype=object)
    amount[drug] = _fen(np.exp(rng.normal(4.3, 1.1, int(drug.sum())))) * quantity[drug]
    amount[material] = _fen(np.exp(rng.normal(3.3, 1.3, int(material.sum())))) * quantity[material]
    performing[drug] = technical[0].code                               # 药剂科 dispenses every drug
    for t in range(min(len(technical), n)):                            # every technical centre earns revenue
        first = int(np.flatnonzero(tech_of_item == t)[0])
        kind[t], code[t], item_of_line[t], quantity[t] = "service", item_codes[first], first, 1
        amount[t], performing[t] = item_charge[first], technical[t].code
    charges = pd.DataFrame({"case_id": line_case, "item_code": code, "item_kind": kind, "ordering_centre": ordering,
                            "performing_centre": performing, "quantity": QUANTITIES[quantity],
                            "amount_fen": amount.astype(np.int64)})

    revenue = charges.groupby(["ordering_centre", "performing_centre"], sort=True)["amount_fen"].sum().reset_index()
    by_case = charges[charges["case_id"] != ""].groupby("case_id")["amount_fen"].sum()
    case_charge = by_case.reindex(case_ids).fillna(0).to_numpy(dtype=np.int64)
    rate = pd.Series(case_charge).groupby(case_group).mean() * rng.uniform(0.85, 1.12)
    payment = (np.round(rate.reindex(case_group).to_numpy() / 100) * 100).astype(np.int64)
    case_frame = pd.DataFrame({"case_id": case_ids, "centre": case_centre, "drg_group": case_group,
                               "payment_fen": payment})

    # workload: units follow the revenue (about ¥300 a visit, ¥2,200 a bed-day), beds the bed-days
    ordered = charges.groupby("ordering_centre")["amount_fen"].sum()
    performed_lines = charges.groupby("performing_centre").size()
    workload: list[tuple[str, str, Decimal]] = []
    sized: list[Centre] = []
    for c in hospital:
        revenue_yuan = float(ordered.get(c.code, 0)) / 100
        if c.cost_class == DepartmentClass.CLINICAL and c.service == Service.OUTPATIENT:
            visits = max(1, round(revenue_yuan / rng.uniform(220, 420)))
            emergency = visits if c.name.startswith("急诊科") else int(visits * rng.uniform(0, 0.05))
            workload += [(c.code, "visits", Decimal(visits - emergency)),
                         (c.code, "emergency_visits", Decimal(emergency))]
            packs, laundry = visits * rng.uniform(0.02, 0.08), visits * rng.uniform(0.01, 0.03)
        elif c.cost_class == DepartmentClass.CLINICAL:
            bed_days = max(1, round(revenue_yuan / rng.uniform(1_800, 2_700)))
            c = replace(c, beds=max(1, round(bed_days / 30 / rng.uniform(0.85, 1.0))))
            workload.append((c.code, "bed_days", Decimal(bed_days)))
            packs, laundry = bed_days * rng.uniform(0.2, 0.5), bed_days * rng.uniform(0.8, 1.6)
        elif c.cost_class == DepartmentClass.MEDICAL_TECHNICAL:
            workload.append((c.code, "tests", Decimal(int(performed_lines.get(c.code, 0)))))
            packs, laundry = float(c.headcount) * rng.uniform(2, 20), float(c.headcount) * rng.uniform(1, 6)
        sized.append(c)
        if c.cost_class in (DepartmentClass.CLINICAL, DepartmentClass.MEDICAL_TECHNICAL):
            workload += [(c.code, "packs", Decimal(max(1, round(packs)))),
                         (c.code, "laundry_kg", _dec(max(laundry, 0.1), 1))]
    hospital = tuple(sized)
    drivers = [(c.code, "electricity_kwh", _dec(float(c.area_m2) * rng.uniform(4, 16), 1)) for c in hospital]

    # direct costs in a general hospital's proportions of its revenue R: personnel ~0.31 R, depreciation
    # ~0.065 R, other ~0.06 R, amortisation ~0.005 R spread by headcount; drugs and materials as issued
    material_ordered = charges[material].groupby("ordering_centre")["amount_fen"].sum()
    drug_ordered = charges[drug].groupby("ordering_centre")["amount_fen"].sum()
    service_performed = charges[kind == "service"].groupby("performing_centre")["amount_fen"].sum()
    total_revenue = float(charges["amount_fen"].sum()) / 100
    heads = np.array([float(c.headcount) for c in hospital])
    equipment = np.array([{DepartmentClass.MEDICAL_TECHNICAL: 3.0, DepartmentClass.CLINICAL: 1.0}.get(
        c.cost_class, 0.3) for c in hospital])
    has_software = np.array([c.cost_class == DepartmentClass.ADMINISTRATIVE for c in hospital]) | \
        (rng.random(len(hospital)) < 0.3)
    spread = {  # cost item → (share of revenue, weight per centre, source file)
        CostItem.PERSONNEL: (rng.uniform(0.33, 0.38), heads * rng.uniform(0.8, 1.25, len(heads)), "payroll"),
        CostItem.DEPRECIATION: (rng.uniform(0.05, 0.08), heads * equipment * rng.uniform(0.5, 1.5, len(heads)),
                                "depreciation"),
        CostItem.OTHER: (rng.uniform(0.05, 0.07), heads * rng.uniform(0.6, 1.4, len(heads)), "direct"),
        CostItem.AMORTISATION: (0.005, heads * has_software, "depreciation"),
    }
    direct: list[tuple[str, str, int, str]] = []
    for item, (share, weight, source) in spread.items():
        for c, fen in zip(hospital, _fen(total_revenue * share * weight / weight.sum()), strict=True):
            if fen:
                direct.append((c.code, item.value, int(fen), source))
    for c in hospital:
        performed = float(service_performed.get(c.code, 0)) / 100
        rows: dict[CostItem, float] = {}
        if c.cost_class == DepartmentClass.CLINICAL:
            rows[CostItem.MATERIALS] = (float(material_ordered.get(c.code, 0)) / 100 * rng.uniform(1.0, 1.08)
                                        + performed * rng.uniform(0.02, 0.06))
            rows[CostItem.DRUGS] = float(drug_ordered.get(c.code, 0)) / 100 * rng.uniform(0.97, 1.0)
            rows[CostItem.RISK_FUND] = performed * rng.uniform(0.001, 0.003)
        elif c.cost_class == DepartmentClass.MEDICAL_TECHNICAL:
            rows[CostItem.MATERIALS] = performed * rng.uniform(0.08, 0.2)
            rows[CostItem.RISK_FUND] = performed * rng.uniform(0.001, 0.003)
        elif c.cost_class == DepartmentClass.MEDICAL_AUXILIARY:
            rows[CostItem.MATERIALS] = total_revenue * 0.002 * rng.uniform(0.5, 1.5) / len(by_class[c.cost_class])
        for item, yuan in rows.items():
            fen = int(_fen(np.array([yuan]))[0])
            if fen:
                direct.append((c.code, item.value, fen, "materials" if item != CostItem.RISK_FUND else "direct"))
    direct.sort(key=lambda row: (row[0], list(CostItem).index(CostItem(row[1]))))

    def share_of_revenue(low: float, high: float) -> int:
        return int(_fen(np.array([total_revenue * rng.uniform(low, high)]))[0])

    shared = [("utilities", CostItem.OTHER.value, share_of_revenue(0.008, 0.013)),
              ("property", CostItem.OTHER.value, share_of_revenue(0.006, 0.01)),
              ("canteen", CostItem.PERSONNEL.value, share_of_revenue(0.008, 0.012))]

    return MonthInputs(
        month=month,
        centres=hospital,
        direct=pd.DataFrame(direct, columns=list(DIRECT_COLUMNS)).astype({"amount_fen": np.int64}),
        shared=pd.DataFrame(shared, columns=list(SHARED_COLUMNS)).astype({"amount_fen": np.int64}),
        drivers=pd.DataFrame(drivers, columns=list(DRIVER_COLUMNS)),
        revenue=revenue[list(REVENUE_COLUMNS)],
        workload=pd.DataFrame(workload, columns=list(WORKLOAD_COLUMNS)),
        charges=charges[list(CHARGE_COLUMNS)],
        items=catalogue[list(ITEM_COLUMNS)],
        cases=case_frame[list(CASE_COLUMNS)],
        rules=AllocationRules(auxiliary=auxiliary, shared=dict(SHARED_DRIVERS)),
    )


# -------------------------------------------------------------------------------------------------- files

def _yuan_text(fen: pd.Series) -> list[str]:
    """Fen as the yuan text a file carries: ``1234.50``."""
    return [f"{'-' if v < 0 else ''}{abs(v) // 100}.{abs(v) % 100:02d}" for v in fen.astype(np.int64).tolist()]


def his_codes(inputs: MonthInputs) -> dict[str, str]:
    """Each cost centre's HIS department code in the generated files (``1001`` …, by centre order)."""
    return {c.code: f"{1001 + k}" for k, c in enumerate(inputs.centres)}


def write_month_files(inputs: MonthInputs, folder: Path) -> dict[str, Path]:
    """Write the month as the cost imports' canonical files in ``folder``; the paths by kind.

    Kinds: ``departments``, ``profile``, ``his-map``, ``payroll``, ``materials``, ``depreciation``,
    ``direct``, ``shared``, ``drivers``, ``revenue``, ``workload``, ``charges``, ``items``, ``cases``, and
    ``allocation`` (the allocation rules: stage, subject, driver, valid_from). Direct costs go to the file of
    their source: personnel to payroll, materials and drugs to materials (领用), depreciation and amortisation
    to the depreciation schedule, the rest to ``direct``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    his = his_codes(inputs)
    first_day = f"{inputs.month}-01"
    paths: dict[str, Path] = {}

    def write(kind: str, frame: pd.DataFrame) -> None:
        paths[kind] = folder / f"{kind}.csv"
        frame.to_csv(paths[kind], index=False, encoding="utf-8")

    write("departments", pd.DataFrame({"code": [c.code for c in inputs.centres],
                                       "name": [c.name for c in inputs.centres],
                                       "class": [str(c.cost_class) for c in inputs.centres],
                                       "valid_from": first_day}))
    write("profile", pd.DataFrame({"centre": [c.code for c in inputs.centres],
                                   "service": [str(c.service) for c in inputs.centres],
                                   "beds": [c.beds for c in inputs.centres],
                                   "area_m2": [str(c.area_m2) for c in inputs.centres],
                                   "headcount": [str(c.headcount) for c in inputs.centres],
                                   "valid_from": first_day}))
    write("his-map", pd.DataFrame({"his_department": list(his.values()), "centre": list(his)}))

    direct = inputs.direct
    item = direct["cost_item"]
    write("payroll", pd.DataFrame({"centre": direct.loc[item == "personnel", "centre"],
                                   "amount": _yuan_text(direct.loc[item == "personnel", "amount_fen"])}))
    issued = direct[item.isin(["materials", "drugs"])]
    write("materials", pd.DataFrame({"centre": issued["centre"],
                                     "kind": issued["cost_item"].map({"materials": "materials", "drugs": "drugs"}),
                                     "amount": _yuan_text(issued["amount_fen"])}))
    assets = direct[item.isin(["depreciation", "amortisation"])]
    write("depreciation", pd.DataFrame({"centre": assets["centre"],
                                        "kind": assets["cost_item"].map({"depreciation": "fixed",
                                                                         "amortisation": "intangible"}),
                                        "amount": _yuan_text(assets["amount_fen"])}))
    rest = direct[~item.isin(["personnel", "materials", "drugs", "depreciation", "amortisation"])]
    write("direct", pd.DataFrame({"centre": rest["centre"], "cost_item": rest["cost_item"],
                                  "amount": _yuan_text(rest["amount_fen"])}))
    write("shared", pd.DataFrame({"name": inputs.shared["name"], "cost_item": inputs.shared["cost_item"],
                                  "amount": _yuan_text(inputs.shared["amount_fen"])}))
    write("drivers", inputs.drivers.assign(quantity=inputs.drivers["quantity"].map(str)))
    write("revenue", pd.DataFrame({"ordering_department": inputs.revenue["ordering_centre"].map(his),
                                   "performing_department": inputs.revenue["performing_centre"].map(his),
                                   "amount": _yuan_text(inputs.revenue["amount_fen"])}))
    write("workload", inputs.workload.assign(quantity=inputs.workload["quantity"].map(str)))
    charges = inputs.charges
    write("charges", pd.DataFrame({"case_id": charges["case_id"], "item_code": charges["item_code"],
                                   "item_kind": charges["item_kind"],
                                   "ordering_department": charges["ordering_centre"].map(his),
                                   "performing_department": charges["performing_centre"].map(his),
                                   "quantity": charges["quantity"].map(str),
                                   "amount": _yuan_text(charges["amount_fen"])}))
    write("items", pd.DataFrame({"item_code": inputs.items["item_code"], "name": inputs.items["name"],
                                 "rvu": inputs.items["rvu"].map(str),
                                 "charge": _yuan_text(inputs.items["charge_fen"])}))
    write("cases", pd.DataFrame({"case_id": inputs.cases["case_id"], "department": inputs.cases["centre"].map(his),
                                 "drg_group": inputs.cases["drg_group"],
                                 "payment": _yuan_text(inputs.cases["payment_fen"])}))
    rules = inputs.rules
    allocation = [("administrative", "", rules.administrative), ("auxiliary", "", rules.default_auxiliary),
                  *(("auxiliary", code, measure) for code, measure in sorted(rules.auxiliary.items())),
                  *(("shared", name, driver) for name, driver in sorted(rules.shared.items()))]
    write("allocation", pd.DataFrame(allocation, columns=["stage", "subject", "driver"]).assign(valid_from=first_day))
    return paths


def import_month_files(paths: dict[str, Path], month: str, *, actor: str) -> dict[str, int]:
    """Load files written by :func:`write_month_files` through the product's own imports, in the order a
    hospital would: departments (when given), then the dated configuration (profiles, allocation rules, the
    HIS map), then the month's files. Each file in its own transaction, as ``smartfin cost import`` does; the
    rows imported per kind. A refused file raises ``ValueError`` naming it and its problems."""
    from smartfin.costing.imports import MONTHLY_KINDS, import_cost_file
    from smartfin.ledger import import_departments
    from smartfin.store.db import session_scope

    imported: dict[str, int] = {}
    if "departments" in paths:  # a hospital whose departments are loaded already leaves them out
        with session_scope() as session:
            report = import_departments(session, paths["departments"].read_bytes(), actor=actor,
                                        filename=paths["departments"].name)
            if not report.ok:
                raise ValueError(f"{paths['departments'].name}: " + "; ".join(map(str, report.errors[:5])))
            imported["departments"] = report.rows
    for kind in ("profile", "allocation", "his-map", *MONTHLY_KINDS):
        if kind not in paths:
            continue
        with session_scope() as session:
            result = import_cost_file(session, kind, paths[kind].read_bytes(), actor=actor,
                                      month=month if kind in MONTHLY_KINDS else None, filename=paths[kind].name)
            if not result.ok:
                raise ValueError(f"{paths[kind].name}: " + "; ".join(map(str, result.errors[:5])))
            imported[kind] = result.rows
    return imported
