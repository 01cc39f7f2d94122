"""Cost-benefit analysis of an equipment proposal (设备购置经济效益论证): plain formulas, then ``evaluate``.

Each formula is a small function so a finance reviewer can check one figure against the justification
report without reading the others. Intermediate values stay exact; money is rounded once to the fen
(ROUND_HALF_UP) when it leaves a function, ratios to 4 places, years to 2 places, as the reports print them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from rules.equipment.discounting import discounted_payback_years, irr, npv
from rules.equipment.policy import PolicySettings, check_policies
from rules.equipment.proposal import EquipmentProposal
from smartfin.kernel.findings import Finding, Severity
from smartfin.kernel.money import CENT, format_yuan

RATIO = Decimal("0.0001")
YEARS = Decimal("0.01")
MONTHS_PER_YEAR = 12


def fen(amount: Decimal) -> Decimal:
    """Round money to the fen, half up, as the finance bureau's rules print it."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _rate(pct: Decimal) -> Decimal:
    return pct / 100


@dataclass(frozen=True)
class EvaluationSettings:
    """Choices the justification report makes that are conventions, not facts.

    ``depreciation_rounding_unit``: the yearly depreciation is rounded (half up) to this many yuan. The fen
    is the bookkeeping default; some published justification reports quote depreciation to the hundred
    yuan (``Decimal("100")``), which is how the public 128-slice CT example arrives at ¥2,028,300.
    """

    depreciation_rounding_unit: Decimal = CENT


# ----------------------------------------------------------------------------------------------------
# revenue and costs


def annual_volume(proposal: EquipmentProposal) -> int:
    """Expected exams per year."""
    return proposal.monthly_volume * MONTHS_PER_YEAR


def annual_revenue(proposal: EquipmentProposal) -> Decimal:
    """Expected yearly charges billed on the device: exams × price per exam."""
    return fen(annual_volume(proposal) * proposal.price_per_exam)


def equipment_original_value(proposal: EquipmentProposal) -> Decimal:
    """The fixed asset's original value (原值): price with accessories plus installation, as capitalised."""
    return fen(proposal.price + proposal.installation_cost)


def room_cost(proposal: EquipmentProposal) -> Decimal:
    """Cost of the dedicated room (专用机房): area × cost per m²."""
    return fen(proposal.room_area_m2 * proposal.room_cost_per_m2)


def total_investment(proposal: EquipmentProposal) -> Decimal:
    """Money put in up front: equipment + installation + dedicated room."""
    return fen(proposal.price + proposal.installation_cost + room_cost(proposal))


def staff_cost(proposal: EquipmentProposal) -> Decimal:
    """Yearly cost of the device's operators."""
    return fen(proposal.staff_count * proposal.annual_cost_per_staff)


def management_fee(proposal: EquipmentProposal) -> Decimal:
    """Yearly management fee charged as a percentage of the equipment's original value."""
    return fen(equipment_original_value(proposal) * _rate(proposal.management_fee_rate_pct))


@dataclass(frozen=True)
class CashOperatingCost:
    """Yearly cash costs of running the device, item by item (depreciation is not cash)."""

    materials: Decimal
    staff: Decimal
    utilities: Decimal
    maintenance: Decimal
    management_fee: Decimal
    other: Decimal

    @property
    def total(self) -> Decimal:
        return fen(self.materials + self.staff + self.utilities + self.maintenance + self.management_fee
                   + self.other)

    @property
    def fixed(self) -> Decimal:
        """Costs that do not move with volume: everything except materials."""
        return fen(self.total - self.materials)


def cash_operating_cost(proposal: EquipmentProposal) -> CashOperatingCost:
    """The yearly cash operating cost of the device, itemised."""
    return CashOperatingCost(
        materials=fen(proposal.annual_materials),
        staff=staff_cost(proposal),
        utilities=fen(proposal.annual_utilities),
        maintenance=fen(proposal.annual_maintenance),
        management_fee=management_fee(proposal),
        other=fen(proposal.annual_other_costs),
    )


def annual_net_cash_inflow(proposal: EquipmentProposal) -> Decimal:
    """Yearly revenue minus yearly cash operating cost."""
    return fen(annual_revenue(proposal) - cash_operating_cost(proposal).total)


# ----------------------------------------------------------------------------------------------------
# depreciation


def straight_line_depreciation(cost: Decimal, years: int, rounding_unit: Decimal = CENT) -> Decimal:
    """Equal yearly depreciation, no residual value, rounded half up to ``rounding_unit`` yuan."""
    if years <= 0:
        raise ValueError("depreciation years must be at least one")
    units = (cost / years / rounding_unit).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return fen(units * rounding_unit)


@dataclass(frozen=True)
class AnnualDepreciation:
    """Yearly depreciation, split because the room is written off over its own, longer life."""

    equipment: Decimal
    room: Decimal

    @property
    def total(self) -> Decimal:
        return fen(self.equipment + self.room)


def annual_depreciation(proposal: EquipmentProposal, rounding_unit: Decimal = CENT) -> AnnualDepreciation:
    """Straight line: equipment over its depreciation years, the room over the room's years."""
    room = room_cost(proposal)
    room_years = proposal.room_depreciation_years
    return AnnualDepreciation(
        equipment=straight_line_depreciation(equipment_original_value(proposal),
                                             proposal.depreciation_years, rounding_unit),
        room=straight_line_depreciation(room, room_years, rounding_unit) if room and room_years else fen(
            Decimal(0)),
    )


# ----------------------------------------------------------------------------------------------------
# indicators on plain numbers


def static_payback_years(investment: Decimal, annual_net_inflow: Decimal) -> Decimal | None:
    """Investment / yearly net cash inflow, in years; ``None`` when the device never earns its cost back."""
    if annual_net_inflow <= 0:
        return None
    return (investment / annual_net_inflow).quantize(YEARS, rounding=ROUND_HALF_UP)


def average_roi(annual_net_inflow: Decimal, annual_depreciation_total: Decimal,
                investment: Decimal) -> Decimal:
    """Average return on investment: (net inflow − depreciation) / investment, as a fraction."""
    return ((annual_net_inflow - annual_depreciation_total) / investment).quantize(RATIO, ROUND_HALF_UP)


def project_cash_flows(proposal: EquipmentProposal) -> list[Decimal]:
    """Year 0: −investment; years 1…economic life: the yearly net cash inflow. No residual value."""
    inflow = annual_net_cash_inflow(proposal)
    return [-total_investment(proposal)] + [inflow] * proposal.economic_life_years


def net_present_value(proposal: EquipmentProposal) -> Decimal:
    """NPV of the project cash flows at the proposal's discount rate over its economic life."""
    return fen(npv(_rate(proposal.discount_rate_pct), project_cash_flows(proposal)))


def break_even_volume(fixed_annual_cost: Decimal, price_per_exam: Decimal,
                      variable_cost_per_exam: Decimal) -> int | None:
    """Exams per year needed to cover fixed cost: fixed / (price − variable cost), rounded up.

    Rounded up because a fraction of an exam cannot be performed and the lower whole number would
    still lose money. ``None`` when each exam does not even cover its own variable cost.
    """
    margin = price_per_exam - variable_cost_per_exam
    if margin <= 0:
        return None
    return int((fixed_annual_cost / margin).to_integral_value(rounding=ROUND_CEILING))


def utilisation(volume: int | Decimal, designed_capacity: int | None) -> Decimal | None:
    """Volume / designed capacity as a fraction; ``None`` when the capacity is not known."""
    if not designed_capacity:
        return None
    return (Decimal(volume) / Decimal(designed_capacity)).quantize(RATIO, rounding=ROUND_HALF_UP)


def life_cycle_cost(investment: Decimal, annual_operating_cost: Decimal, years: int,
                    discount_rate: Decimal | None = None) -> Decimal:
    """Investment plus operating costs over the life; discounted at ``discount_rate`` (fraction) if given."""
    if discount_rate is None:
        return fen(investment + annual_operating_cost * years)
    return fen(investment + npv(discount_rate, [Decimal(0)] + [annual_operating_cost] * years))


# ----------------------------------------------------------------------------------------------------
# the report


@dataclass(frozen=True)
class CostBenefitReport:
    """Every figure of the cost-benefit analysis, the policy findings, and a summary for the director.

    Money in yuan to the fen; ``average_roi``, ``irr`` and ``utilisation`` are fractions (0.0815 = 8.15 %);
    payback figures are years. ``None`` means "does not exist" (no payback, no IRR, no capacity given).
    """

    proposal: EquipmentProposal
    annual_volume: int
    annual_revenue: Decimal
    operating_cost: CashOperatingCost
    cash_operating_cost: Decimal
    annual_net_cash_inflow: Decimal
    depreciation: AnnualDepreciation
    annual_depreciation: Decimal
    equipment_price: Decimal
    room_cost: Decimal
    total_investment: Decimal
    static_payback_years: Decimal | None
    static_payback_equipment_only_years: Decimal | None
    average_roi: Decimal
    discount_rate_pct: Decimal
    npv: Decimal
    irr: Decimal | None
    discounted_payback_years: Decimal | None
    variable_cost_per_exam: Decimal
    fixed_annual_cost: Decimal
    break_even_annual_volume: int | None
    utilisation: Decimal | None
    life_cycle_cost: Decimal
    life_cycle_cost_discounted: Decimal
    findings: tuple[Finding, ...] = ()
    summary_zh: str = ""
    summary_en: str = ""

    @property
    def blocked(self) -> bool:
        """True when a policy finding forbids the purchase as proposed."""
        return any(f.severity is Severity.BLOCK for f in self.findings)

    @property
    def summary(self) -> str:
        return f"{self.summary_zh}\n{self.summary_en}"

    def as_variables(self) -> dict[str, str]:
        """The headline figures as strings of exact decimals, the form the engine carries them in."""
        def text(value: Decimal | int | None) -> str:
            return "" if value is None else str(value)

        return {
            "annualRevenue": format_yuan(self.annual_revenue),
            "cashOperatingCost": format_yuan(self.cash_operating_cost),
            "annualNetCashInflow": format_yuan(self.annual_net_cash_inflow),
            "annualDepreciation": format_yuan(self.annual_depreciation),
            "totalInvestment": format_yuan(self.total_investment),
            "staticPaybackYears": text(self.static_payback_years),
            "averageRoi": text(self.average_roi),
            "npv": format_yuan(self.npv),
            "irr": text(self.irr),
            "discountedPaybackYears": text(self.discounted_payback_years),
            "breakEvenAnnualVolume": text(self.break_even_annual_volume),
            "utilisation": text(self.utilisation),
            "blocked": "true" if self.blocked else "false",
        }


def evaluate(proposal: EquipmentProposal, settings: EvaluationSettings | None = None,
             policy: PolicySettings | None = None) -> CostBenefitReport:
    """The full cost-benefit analysis of one proposal, with policy findings and a bilingual summary."""
    settings = settings or EvaluationSettings()
    volume = annual_volume(proposal)
    costs = cash_operating_cost(proposal)
    inflow = annual_net_cash_inflow(proposal)
    depreciation = annual_depreciation(proposal, settings.depreciation_rounding_unit)
    investment = total_investment(proposal)
    rate = _rate(proposal.discount_rate_pct)
    flows = project_cash_flows(proposal)
    internal_rate = irr(flows)
    dynamic_payback = discounted_payback_years(rate, flows)
    variable_per_exam = proposal.annual_materials / volume if volume else Decimal(0)
    # Depreciation counts as fixed cost: the break-even point must also recover the purchase.
    fixed = fen(costs.fixed + depreciation.total)

    report = CostBenefitReport(
        proposal=proposal,
        annual_volume=volume,
        annual_revenue=annual_revenue(proposal),
        operating_cost=costs,
        cash_operating_cost=costs.total,
        annual_net_cash_inflow=inflow,
        depreciation=depreciation,
        annual_depreciation=depreciation.total,
        equipment_price=fen(proposal.price),
        room_cost=room_cost(proposal),
        total_investment=investment,
        static_payback_years=static_payback_years(investment, inflow),
        static_payback_equipment_only_years=static_payback_years(proposal.price, inflow),
        average_roi=average_roi(inflow, depreciation.total, investment),
        discount_rate_pct=proposal.discount_rate_pct,
        npv=fen(npv(rate, flows)),
        irr=None if internal_rate is None else internal_rate.quantize(RATIO, ROUND_HALF_UP),
        discounted_payback_years=(None if dynamic_payback is None
                                  else dynamic_payback.quantize(YEARS, ROUND_HALF_UP)),
        variable_cost_per_exam=fen(variable_per_exam),
        fixed_annual_cost=fixed,
        break_even_annual_volume=break_even_volume(fixed, proposal.price_per_exam, variable_per_exam),
        utilisation=utilisation(volume, proposal.designed_annual_capacity),
        life_cycle_cost=life_cycle_cost(investment, costs.total, proposal.economic_life_years),
        life_cycle_cost_discounted=life_cycle_cost(investment, costs.total, proposal.economic_life_years,
                                                   rate),
    )
    findings = tuple(check_policies(report, policy))
    report = replace(report, findings=findings)
    summary_zh, summary_en = _summaries(report)
    return replace(report, summary_zh=summary_zh, summary_en=summary_en)


# ----------------------------------------------------------------------------------------------------
# summary


def _yuan(amount: Decimal) -> str:
    return f"¥{amount:,.2f}"


def _pct(fraction: Decimal | None) -> str:
    if fraction is None:
        return "—"
    return f"{(fraction * 100).quantize(YEARS, ROUND_HALF_UP)}%"


def _years(value: Decimal | None, zh: bool) -> str:
    if value is None:
        return "无法回收" if zh else "not recovered"
    return f"{value} 年" if zh else f"{value} years"


def _summaries(report: CostBenefitReport) -> tuple[str, str]:
    p = report.proposal
    name = f"{p.device_name}（{p.model}）" if p.model else p.device_name
    name_en = f"{p.device_name} ({p.model})" if p.model else p.device_name
    life = p.economic_life_years
    rate = f"{p.discount_rate_pct.normalize():f}%"
    blocks = [f for f in report.findings if f.severity is Severity.BLOCK]
    weak = (report.npv < 0 or report.static_payback_years is None
            or report.static_payback_years > life)
    if blocks:
        verdict_zh, verdict_en = "结论：按现方案不得购置。", "Conclusion: cannot be purchased as proposed."
    elif weak:
        verdict_zh = "结论：经济效益不足，需重新论证。"
        verdict_en = "Conclusion: economically weak; re-examine."
    else:
        verdict_zh, verdict_en = "结论：经济上可行。", "Conclusion: economically viable."
    break_even = report.break_even_annual_volume
    zh = (
        f"{name}：总投资 {_yuan(report.total_investment)}，年收入 {_yuan(report.annual_revenue)}，"
        f"年现金运营成本 {_yuan(report.cash_operating_cost)}，"
        f"年净现金流入 {_yuan(report.annual_net_cash_inflow)}；"
        f"静态回收期 {_years(report.static_payback_years, True)}"
        f"（仅设备 {_years(report.static_payback_equipment_only_years, True)}），"
        f"动态回收期 {_years(report.discounted_payback_years, True)}；"
        f"平均投资收益率 {_pct(report.average_roi)}，NPV（{rate}，{life} 年）{_yuan(report.npv)}，"
        f"IRR {_pct(report.irr)}；"
        f"盈亏平衡 {'—' if break_even is None else f'{break_even:,}'} 例/年"
        f"（预计 {report.annual_volume:,} 例/年），产能利用率 {_pct(report.utilisation)}。"
    )
    en = (
        f"{name_en}: investment {_yuan(report.total_investment)}, revenue {_yuan(report.annual_revenue)}/yr, "
        f"cash operating cost {_yuan(report.cash_operating_cost)}/yr, "
        f"net cash inflow {_yuan(report.annual_net_cash_inflow)}/yr; "
        f"static payback {_years(report.static_payback_years, False)} "
        f"(equipment only {_years(report.static_payback_equipment_only_years, False)}), "
        f"discounted payback {_years(report.discounted_payback_years, False)}; "
        f"average ROI {_pct(report.average_roi)}, NPV ({rate}, {life} years) {_yuan(report.npv)}, "
        f"IRR {_pct(report.irr)}; "
        f"break-even {'—' if break_even is None else f'{break_even:,}'} exams/yr "
        f"(forecast {report.annual_volume:,}), utilisation {_pct(report.utilisation)}."
    )
    notes = [f for f in report.findings if f.severity is not Severity.INFO]
    if notes:
        zh += "；".join(f.message_zh for f in notes) + "。"
        en += " " + "; ".join(f.message_en for f in notes) + "."
    return f"{zh}{verdict_zh}", f"{en} {verdict_en}"

