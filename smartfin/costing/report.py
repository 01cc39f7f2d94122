"""What a finance director reads of a cost month: one page per department and one workbook with every table.

Pure rendering: frames in, text or bytes out, no database. The page (``department_report_html``) answers
the questions a department head asks of the cost accounting — what did my department cost, how much of it
is mine and how much was allocated to me, *where did the allocated cost come from*, how has it moved over
the year, how does my cost per visit or bed-day compare with departments like mine, and which indicators
are off target. The workbook (``month_workbook``) holds every result table of the month, written through
the one spreadsheet writer so that names cannot run as formulas and money keeps every fen.

Every figure is printed from the exact fen the result holds; a missing value is said in words
("无数据 no data"), never as None or nan.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from smartfin.costing.model import Breach, Centre, CostItem, Direction, IndicatorDefinition, MonthResult, Service
from smartfin.kernel.charts import (
    AMBER,
    BLUE,
    GREEN,
    GREY,
    RED,
    SERIES,
    Bar,
    bar_chart,
    cards,
    esc,
    legend,
    line_chart,
    page,
)
from smartfin.kernel.clock import shift_month
from smartfin.kernel.money import CENT, from_fen
from smartfin.kernel.spreadsheet import CellValue, Percent, Sheet, TitledSheet, xlsx_bytes
from smartfin.ledger.departments import CLASS_LABELS

NO_DATA = "无数据 no data"

COST_ITEM_LABELS: dict[str, str] = {
    CostItem.PERSONNEL: "人员经费 personnel",
    CostItem.MATERIALS: "卫生材料费 health materials",
    CostItem.DRUGS: "药品费 drugs",
    CostItem.DEPRECIATION: "固定资产折旧费 depreciation",
    CostItem.AMORTISATION: "无形资产摊销费 amortisation",
    CostItem.RISK_FUND: "提取医疗风险基金 medical risk fund",
    CostItem.OTHER: "其他运行费用 other operating",
}
STAGE_LABELS: dict[int, str] = {
    0: "公共费用分摊 shared costs",
    1: "行政后勤类分摊 administrative and logistics",
    2: "医疗辅助类分摊 medical auxiliary",
    3: "医疗技术类分摊 medical technical",
}
UNIT_LABELS: dict[str, str] = {
    Service.OUTPATIENT: "诊次成本 cost per visit",
    Service.INPATIENT: "床日成本 cost per bed-day",
    Service.NONE: "单位成本 unit cost",
}
SERVICE_LABELS: dict[str, str] = {
    Service.OUTPATIENT: "门急诊 outpatient", Service.INPATIENT: "住院 inpatient", Service.NONE: "无 none"}
DIRECT_COLOUR, ALLOCATED_COLOUR = SERIES[0], SERIES[1]
TREND_MONTHS = 12


# ------------------------------------------------------------------------------------------------- values

def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | Decimal):
        return bool(value.is_nan()) if isinstance(value, Decimal) else math.isnan(value)
    return False


def decimal_or_none(value: Any) -> Decimal | None:
    """A quantity, unit cost or indicator value as an exact Decimal; None when it is missing.

    Money never comes through here (it is fen); a float quantity read back from a store is taken by its
    shortest decimal text, which is what was stored.
    """
    if _missing(value):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError(f"{value!r} is not a number")
    if isinstance(value, int) or hasattr(value, "item"):   # numpy scalars
        value = value.item() if hasattr(value, "item") else value
    return Decimal(str(value)) if isinstance(value, float) else Decimal(value)


def _fen(value: Any) -> int:
    """An amount column's cell as integer fen (numpy ints included); a missing amount is zero fen."""
    return 0 if _missing(value) else int(value)


def yuan(fen: int) -> str:
    """Fen as people read money: ``¥1,234.56``, exact."""
    return f"¥{from_fen(fen):,.2f}"


def _yuan_decimal(value: Decimal | None) -> str:
    return NO_DATA if value is None else f"¥{value.quantize(CENT, ROUND_HALF_UP):,.2f}"


def _quantity(value: Decimal | None) -> str:
    if value is None:
        return NO_DATA
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value.quantize(CENT, ROUND_HALF_UP):,}"


def indicator_text(value: Decimal | None, unit: str) -> str:
    """An indicator value in its unit: ``¥12.34``, ``35.20%``, or the words for no value."""
    if value is None:
        return NO_DATA
    shown = value.quantize(CENT, ROUND_HALF_UP)
    if unit == "yuan":
        return f"¥{shown:,.2f}"
    if unit == "percent":
        return f"{shown:,.2f}%"
    return f"{shown:,.2f} {unit}".strip()


def _item_label(item: str) -> str:
    return COST_ITEM_LABELS.get(item, item)


def _stage_label(stage: Any) -> str:
    return STAGE_LABELS.get(int(stage), f"第 {int(stage)} 步 stage {int(stage)}")


def _names(centres: Iterable[Centre]) -> dict[str, str]:
    return {c.code: c.name for c in centres}


# --------------------------------------------------------------------------------------------- the page

def _centre_rows(result: MonthResult, code: str) -> list[dict[str, Any]]:
    rows = result.centre_costs[result.centre_costs["centre"] == code].to_dict("records")
    order = {item.value: i for i, item in enumerate(CostItem)}
    return sorted(rows, key=lambda r: (order.get(str(r["cost_item"]), len(order)), str(r["cost_item"])))


def _structure(rows: list[dict[str, Any]]) -> str:
    total = sum(_fen(r["total_fen"]) for r in rows)
    bars = [Bar(_item_label(str(r["cost_item"])),
                ((from_fen(_fen(r["direct_fen"])), DIRECT_COLOUR),
                 (from_fen(_fen(r["allocated_fen"])), ALLOCATED_COLOUR)),
                yuan(_fen(r["total_fen"]))) for r in rows]
    chart = bar_chart(bars, "成本结构 Cost structure by item (直接 direct + 分摊 allocated)")
    body = "".join(
        f"<tr><td>{esc(_item_label(str(r['cost_item'])))}</td><td>{yuan(_fen(r['direct_fen']))}</td>"
        f"<td>{yuan(_fen(r['allocated_fen']))}</td><td>{yuan(_fen(r['total_fen']))}</td>"
        f"<td>{_share(_fen(r['total_fen']), total)}</td></tr>" for r in rows)
    direct = sum(_fen(r["direct_fen"]) for r in rows)
    allocated = sum(_fen(r["allocated_fen"]) for r in rows)
    table = ("<table><thead><tr><th>成本项目 Cost item</th><th>直接成本 Direct</th><th>分摊成本 Allocated</th>"
             f"<th>合计 Total</th><th>占比 Share</th></tr></thead><tbody>{body}"
             f"<tr><th>合计 Total</th><th>{yuan(direct)}</th><th>{yuan(allocated)}</th><th>{yuan(total)}</th>"
             f"<th>{_share(total, total)}</th></tr></tbody></table>")
    return (legend([(DIRECT_COLOUR, "直接成本 direct"), (ALLOCATED_COLOUR, "分摊成本 allocated")]) + chart + table
            if rows else "<p>本月无成本 No cost this month.</p>")


def _share(part: int, whole: int) -> str:
    if whole == 0:
        return NO_DATA
    return f"{(Decimal(part) * 100 / Decimal(whole)).quantize(CENT, ROUND_HALF_UP)}%"


def _sources(result: MonthResult, code: str, names: dict[str, str]) -> str:
    """Where the centre's allocated cost came from: the matrix rows into it, by stage and source centre."""
    inflow = result.matrix[result.matrix["to_centre"] == code]
    if inflow.empty:
        return "<p>本月无分摊转入 Nothing was allocated to this department this month.</p>"
    grouped: dict[tuple[int, str], int] = {}
    for row in inflow.to_dict("records"):
        key = (int(row["stage"]), str(row["from_centre"]))
        grouped[key] = grouped.get(key, 0) + _fen(row["amount_fen"])
    ordered = sorted(grouped.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))
    stage_colour = {0: SERIES[6], 1: SERIES[4], 2: SERIES[2], 3: SERIES[0]}
    top = sorted(ordered, key=lambda kv: (-kv[1], kv[0]))[:15]
    chart = bar_chart([Bar(names.get(src, src), ((from_fen(fen), stage_colour.get(stage, GREY)),), yuan(fen))
                       for (stage, src), fen in top],
                      "分摊来源 Where the allocated cost came from" + (" (前 15 top 15)" if len(ordered) > 15 else ""))
    stages = sorted({stage for (stage, _), _ in ordered})
    body = "".join(f"<tr><td>{esc(_stage_label(stage))}</td><td>{esc(names.get(src, src))} ({esc(src)})</td>"
                   f"<td>{yuan(fen)}</td></tr>" for (stage, src), fen in ordered)
    per_stage = "".join(f"<tr><th>{esc(_stage_label(s))}</th><th></th>"
                        f"<th>{yuan(sum(f for (st, _), f in ordered if st == s))}</th></tr>" for s in stages)
    total = sum(fen for _, fen in ordered)
    return (legend([(stage_colour.get(s, GREY), _stage_label(s)) for s in stages]) + chart
            + "<table><thead><tr><th>分摊步骤 Stage</th><th>来源科室 From</th><th>金额 Amount</th></tr></thead>"
              f"<tbody>{body}{per_stage}<tr><th>合计 Total</th><th></th><th>{yuan(total)}</th></tr></tbody></table>")


def _trend(month: str, history: pd.DataFrame, unit_label: str) -> str:
    months = [shift_month(month, -back) for back in range(TREND_MONTHS - 1, -1, -1)]
    by_month = {str(r["month"]): r for r in history.to_dict("records")} if len(history) else {}
    totals: list[tuple[str, Decimal | None]] = []
    units: list[tuple[str, Decimal | None]] = []
    for m in months:
        row = by_month.get(m)
        totals.append((m, None if row is None or _missing(row["total_fen"]) else from_fen(_fen(row["total_fen"]))))
        units.append((m, None if row is None else decimal_or_none(row["unit_cost"])))
    total_chart = line_chart(totals, "近 12 个月总成本 Total cost, last 12 months",
                             [NO_DATA if v is None else f"¥{v / 10000:,.1f}万" for _, v in totals])
    chinese, _, english = unit_label.partition(" ")
    unit_chart = line_chart(units, f"近 12 个月{chinese} {english.capitalize()}, last 12 months",
                            [NO_DATA if v is None else _yuan_decimal(v) for _, v in units], colour=GREEN)
    return total_chart + (unit_chart if any(v is not None for _, v in units) else "")


def _peers(centre: Centre, result: MonthResult, centres: Sequence[Centre]) -> str:
    """Unit cost of every centre of the same class and service this month, this centre in bold."""
    same_class = {c.code: c for c in centres if c.cost_class == centre.cost_class}
    same_class[centre.code] = centre
    frame = result.unit_costs
    own = frame[frame["centre"] == centre.code].to_dict("records")
    if not own:
        return "<p>本科室本月无单位成本 No unit cost for this department this month.</p>"
    parts = []
    for mine in own:
        service = str(mine["service"])
        rows = [r for r in frame[(frame["service"] == service) & frame["centre"].isin(list(same_class))]
                .to_dict("records") if decimal_or_none(r["unit_cost"]) is not None]
        rows.sort(key=lambda r: (-(decimal_or_none(r["unit_cost"]) or Decimal(0)), str(r["centre"])))
        values = [decimal_or_none(r["unit_cost"]) or Decimal(0) for r in rows]
        average = (sum(values, Decimal(0)) / len(values)).quantize(CENT, ROUND_HALF_UP) if values else None
        label = UNIT_LABELS.get(service, service)
        bars = [Bar(same_class[str(r["centre"])].name, ((decimal_or_none(r["unit_cost"]) or Decimal(0),
                                                          BLUE if r["centre"] == centre.code else GREY),),
                    f"{_yuan_decimal(decimal_or_none(r['unit_cost']))}  ({_quantity(decimal_or_none(r['units']))})",
                    bold=r["centre"] == centre.code) for r in rows]
        marker = (average, f"同类平均 peer average {_yuan_decimal(average)}") if average is not None else None
        parts.append(bar_chart(bars, f"{label}: 与同类科室比较 against peers ({CLASS_LABELS[centre.cost_class]})",
                               marker=marker))
        parts.append(f"<p>{esc(label)}: {_yuan_decimal(decimal_or_none(mine['unit_cost']))} = "
                     f"{yuan(_fen(mine['total_fen']))} / {_quantity(decimal_or_none(mine['units']))}; "
                     f"同类 {len(rows)} 个科室中排第 {1 + [str(r['centre']) for r in rows].index(centre.code)} 位 "
                     f"(从高到低) rank among {len(rows)} peers, highest first.</p>"
                     if centre.code in [str(r["centre"]) for r in rows] else
                     f"<p>{esc(label)}: {NO_DATA}</p>")
    return "".join(parts)


def _indicator_values(frame: pd.DataFrame | None) -> dict[tuple[str, str], Decimal | None]:
    if frame is None or frame.empty:
        return {}
    return {(str(r["centre"]), str(r["indicator"])): decimal_or_none(r["value"]) for r in frame.to_dict("records")}


def _indicators(centre: Centre, indicators: pd.DataFrame, definitions: Sequence[IndicatorDefinition],
                last_year: pd.DataFrame | None, breaches: Sequence[Breach]) -> str:
    now = _indicator_values(indicators)
    before = _indicator_values(last_year)
    breached = {b.indicator for b in breaches if b.centre == centre.code}
    rows = []
    for d in definitions:
        scope = centre.code if d.scope == "department" else ""
        value, previous = now.get((scope, d.key)), before.get((scope, d.key))
        change = NO_DATA if value is None or previous is None else indicator_text(value - previous, d.unit)
        if change != NO_DATA and value is not None and previous is not None and value >= previous:
            change = "+" + change
        sign = "≤" if d.direction is Direction.MAX else "≥"
        is_breach = d.key in breached
        status = ("超标 breach" if is_breach else NO_DATA if value is None else "达标 on target")
        colour = RED if is_breach else GREY if value is None else GREEN
        rows.append(f'<tr style="color:{colour}{";font-weight:bold" if is_breach else ""}">'
                    f"<td>{esc(d.name)}</td><td>{'本科室 department' if scope else '全院 hospital'}</td>"
                    f"<td>{esc(indicator_text(value, d.unit))}</td>"
                    f"<td>{sign} {esc(indicator_text(d.target, d.unit))}</td>"
                    f"<td>{esc(indicator_text(previous, d.unit))}</td><td>{esc(change)}</td><td>{status}</td></tr>")
    if not rows:
        return "<p>无指标 No indicators defined.</p>"
    return ("<table><thead><tr><th>指标 Indicator</th><th>范围 Scope</th><th>本月 This month</th>"
            "<th>目标 Target</th><th>去年同月 Same month last year</th><th>同比 Change</th><th>状态 Status</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _against_budget(direct_fen: int, annual_fen: int | None) -> list[tuple[str, str]]:
    """The month's cost against a twelfth of the department's annual budget: direct cost is what the budget
    pays for; the total adds what other centres passed on."""
    if annual_fen is None:
        return [("月度预算 Budget this month", "无预算 no budget lines")]
    month_fen = Decimal(annual_fen) / 12
    share = "无预算 no budget" if month_fen <= 0 else \
        f"{(Decimal(direct_fen) * 100 / month_fen).quantize(Decimal('0.01'))}%"
    return [("月度预算 Budget this month (1/12)", yuan(int(month_fen.to_integral_value(ROUND_HALF_UP)))),
            ("直接成本/预算 Direct cost vs budget", share)]


def department_report_html(month: str, centre: Centre, result: MonthResult, indicators: pd.DataFrame,
                           definitions: Sequence[IndicatorDefinition], history: pd.DataFrame,
                           centres: Sequence[Centre], *, last_year: pd.DataFrame | None = None,
                           breaches: Sequence[Breach] = (), annual_budget_fen: int | None = None) -> str:
    """One department's month on one self-contained page (inline SVG; opens offline, prints on A4).

    ``centres`` are the month's cost centres (the peers of the same class and the names of the centres
    the allocated cost came from); ``history`` has the columns month, total_fen, unit_cost (up to 12
    months ending with ``month``); ``indicators`` and ``last_year`` are indicator frames
    (``INDICATOR_COLUMNS``) of this month and the same month a year earlier; ``breaches`` are the
    month's breaches, highlighted; ``annual_budget_fen`` the department's authorised budget for the year
    (None: it has no budget lines), against which the month's cost is shown (a twelfth of it per month).
    Every amount is printed from the result's fen.
    """
    names = _names(centres)
    names.setdefault(centre.code, centre.name)
    rows = _centre_rows(result, centre.code)
    direct = sum(_fen(r["direct_fen"]) for r in rows)
    allocated = sum(_fen(r["allocated_fen"]) for r in rows)
    total = sum(_fen(r["total_fen"]) for r in rows)
    own_units = result.unit_costs[result.unit_costs["centre"] == centre.code].to_dict("records")
    unit_cards = [(UNIT_LABELS.get(str(u["service"]), str(u["service"])),
                   _yuan_decimal(decimal_or_none(u["unit_cost"]))) for u in own_units]
    own_breaches = [b for b in breaches if b.centre == centre.code]
    headline = [("总成本 Total cost", yuan(total)), ("直接成本 Direct cost", yuan(direct)),
                ("分摊成本 Allocated cost", yuan(allocated)), *unit_cards,
                *_against_budget(direct, annual_budget_fen),
                ("超标指标 Indicators off target", str(len(own_breaches)))]
    unit_label = UNIT_LABELS.get(str(own_units[0]["service"]) if own_units else centre.service, "单位成本 unit cost")
    verdict = ("、".join(b.indicator_name for b in own_breaches) + " 超出目标，需说明原因并提出整改措施 off target: "
               "the department explains and commits to a measure" if own_breaches else
               "各项指标均在目标范围内 All indicators on target")
    body = "".join([
        f"<p>{esc(CLASS_LABELS[centre.cost_class])} · {esc(SERVICE_LABELS.get(centre.service, centre.service))}"
        f" · 床位 beds {centre.beds} · 人数 headcount {_quantity(centre.headcount)} · 面积 area "
        f"{_quantity(centre.area_m2)} m²</p>",
        cards(headline),
        f"<p class='verdict' style='color:{AMBER if own_breaches else GREEN}'>{esc(verdict)}</p>",
        "<h2>成本结构 Cost structure</h2>", _structure(rows),
        "<h2>分摊来源 Where the allocated cost came from</h2>", _sources(result, centre.code, names),
        "<h2>成本趋势 Trend over 12 months</h2>", _trend(month, history, unit_label),
        "<h2>与同类科室比较 Unit cost against peers</h2>", _peers(centre, result, centres),
        "<h2>成本指标 Indicators against target and last year</h2>",
        _indicators(centre, indicators, definitions, last_year, breaches),
        "<p style='color:#888;font-size:.8em'>总成本 = 直接成本 + 分摊成本（行政后勤类 → 医疗辅助类 → 医疗技术类 → "
        "临床服务类逐级分摊）；诊次成本 = 门急诊成本 / 门急诊人次；床日成本 = 住院成本 / 实际占用床日。 "
        "Total cost = direct cost + the "
        "cost allocated step by step (administrative → auxiliary → technical → clinical); cost per visit = "
        "outpatient cost / visits; cost per bed-day = inpatient cost / occupied bed-days.</p>",
    ])
    title = f"{centre.name} 科室成本 Department cost {month}"
    return page(title, f"{centre.name}（{centre.code}）科室成本报告 Department cost report — {month}", body)


# ------------------------------------------------------------------------------------------ the workbook

def _money(fen: Any) -> Decimal:
    return from_fen(_fen(fen))


def _indicator_cell(value: Decimal | None, unit: str) -> CellValue:
    if value is None:
        return None
    return Percent(value) if unit == "percent" else value


def month_workbook(month: str, result: MonthResult, indicators: pd.DataFrame,
                   definitions: Sequence[IndicatorDefinition], *, centres: Sequence[Centre] = (),
                   breaches: Sequence[Breach] = ()) -> bytes:
    """The month's every table in one Excel workbook: centres, centre costs, the allocation matrix, unit,
    item, case and DRG-group costs, indicators. Money is exact yuan (from fen); every text cell — a
    department's name included — goes through the spreadsheet writer, which neutralises formulas. Each sheet
    has its title, the month, 单位：元 where it holds money, and its header frozen beneath them."""
    names = _names(centres)
    name = lambda code: names.get(str(code), "")  # noqa: E731
    by_key = {d.key: d for d in definitions}
    breached = {(b.centre, b.indicator) for b in breaches}
    notes = [f"月份 month {month}"]
    sheets: list[Sheet] = [
        TitledSheet("成本中心 Centres", "成本中心 Cost centres",
                    ["科室 Centre", "名称 Name", "类别 Class", "服务 Service", "床位 Beds", "面积 Area m2",
                     "人数 Headcount"],
                    [[c.code, c.name, CLASS_LABELS[c.cost_class], SERVICE_LABELS.get(c.service, str(c.service)),
                      c.beds, c.area_m2, c.headcount] for c in centres], notes, unit=None),
        TitledSheet("科室成本 Centre costs", "科室成本表 Department costs",
                    ["月份 Month", "科室 Centre", "名称 Name", "成本项目 Cost item", "直接成本 Direct",
                     "分摊成本 Allocated", "合计 Total"],
                    [[month, str(r["centre"]), name(r["centre"]), _item_label(str(r["cost_item"])),
                      _money(r["direct_fen"]), _money(r["allocated_fen"]), _money(r["total_fen"])]
                     for r in result.centre_costs.to_dict("records")], notes),
        TitledSheet("分摊矩阵 Allocation matrix", "成本分摊表 Cost allocation",
                    ["步骤 Stage", "分摊步骤 Stage name", "来源 From", "来源名称 From name", "去向 To",
                     "去向名称 To name", "成本项目 Cost item", "金额 Amount"],
                    [[int(r["stage"]), _stage_label(r["stage"]), str(r["from_centre"]), name(r["from_centre"]),
                      str(r["to_centre"]), name(r["to_centre"]), _item_label(str(r["cost_item"])),
                      _money(r["amount_fen"])] for r in result.matrix.to_dict("records")], notes),
        TitledSheet("单位成本 Unit costs", "服务单元成本 Unit costs",
                    ["科室 Centre", "名称 Name", "成本对象 Cost object", "成本 Cost", "服务量 Units",
                     "单位成本 Unit cost"],
                    [[str(r["centre"]), name(r["centre"]), UNIT_LABELS.get(str(r["service"]), str(r["service"])),
                      _money(r["total_fen"]), decimal_or_none(r["units"]), decimal_or_none(r["unit_cost"])]
                     for r in result.unit_costs.to_dict("records")], notes),
        TitledSheet("项目成本 Item costs", "医疗服务项目成本 Service item costs",
                    ["项目编码 Item", "方法 Method", "数量 Quantity", "成本 Cost", "单位成本 Unit cost", "收费 Charge"],
                    [[str(r["item_code"]), METHOD_LABELS.get(str(r["method"]), str(r["method"])),
                      decimal_or_none(r["quantity"]), _money(r["cost_fen"]), decimal_or_none(r["unit_cost"]),
                      _money(r["charge_fen"])] for r in result.item_costs.to_dict("records")], notes),
        TitledSheet("病种成本 Group costs", "病种（DRG/DIP）成本 DRG/DIP group costs",
                    ["病种组 DRG/DIP group", "科室 Centre", "名称 Name", "病例数 Cases", "成本 Cost", "收费 Charge",
                     "医保支付 Payment", "结余 Surplus"],
                    [[str(r["drg_group"]), str(r["centre"]), name(r["centre"]), int(r["cases"]),
                      _money(r["cost_fen"]), _money(r["charge_fen"]), _money(r["payment_fen"]),
                      _money(r["surplus_fen"])] for r in result.group_costs.to_dict("records")], notes),
        TitledSheet("病例成本 Case costs", "病例成本 Case costs",
                    ["病例 Case", "科室 Centre", "名称 Name", "病种组 DRG/DIP group", "成本 Cost", "收费 Charge",
                     "医保支付 Payment"],
                    [[str(r["case_id"]), str(r["centre"]), name(r["centre"]), str(r["drg_group"]),
                      _money(r["cost_fen"]), _money(r["charge_fen"]), _money(r["payment_fen"])]
                     for r in result.case_costs.to_dict("records")], notes),
        TitledSheet("成本指标 Indicators", "成本管控指标 Cost indicators",
                    ["科室 Centre", "名称 Name", "指标 Indicator", "指标名称 Indicator name", "本月 Value",
                     "目标 Target", "方向 Direction", "超标 Breach"],
                    [_indicator_row(r, by_key, names, breached) for r in indicators.to_dict("records")],
                    [*notes, "金额指标单位：元；比率为百分比 money indicators in yuan, rates in per cent"], unit=None),
    ]
    return xlsx_bytes(sheets)


METHOD_LABELS = {"ccr": "成本收入比 cost-to-charge ratio", "rvu": "成本当量 relative value"}


def _indicator_row(row: dict[str, Any], by_key: dict[str, IndicatorDefinition], names: dict[str, str],
                   breached: set[tuple[str, str]]) -> list[CellValue]:
    centre, key = str(row["centre"]), str(row["indicator"])
    definition = by_key.get(key)
    unit = definition.unit if definition else ""
    return [centre or "全院 hospital", names.get(centre, ""), key, definition.name if definition else "",
            _indicator_cell(decimal_or_none(row["value"]), unit),
            _indicator_cell(definition.target, unit) if definition else None,
            ("≤ 上限 at most" if definition.direction is Direction.MAX else "≥ 下限 at least") if definition else "",
            "是 yes" if (centre, key) in breached else "否 no"]
