"""Equipment procurement evaluation (设备购置论证): from a department's proposal to the post-purchase review.

Read in this order: ``proposal`` (what the department asks for, validated), ``costbenefit`` (the figures
and ``evaluate``), ``policy`` (rules that block or flag a purchase), ``three_way_match`` (before paying the
supplier), ``his_export`` and ``review`` (a year later: did the device earn what was forecast).
Everything is plain functions on immutable values; no engine, browser or database code lives here.
"""

from extractors.exports.his_charges import ChargeExport, ChargeRow, RowError, parse_his_charge_export
from rules.equipment.costbenefit import (
    AnnualDepreciation,
    CashOperatingCost,
    CostBenefitReport,
    EvaluationSettings,
    annual_depreciation,
    annual_net_cash_inflow,
    annual_revenue,
    annual_volume,
    average_roi,
    break_even_volume,
    cash_operating_cost,
    equipment_original_value,
    evaluate,
    life_cycle_cost,
    management_fee,
    net_present_value,
    project_cash_flows,
    room_cost,
    static_payback_years,
    straight_line_depreciation,
    total_investment,
    utilisation,
)
from rules.equipment.discounting import discounted_payback_years, irr, npv
from rules.equipment.policy import PolicySettings, check_policies
from rules.equipment.proposal import (
    EquipmentClass,
    EquipmentProposal,
    FieldError,
    FundingSource,
    ProposalInvalid,
    proposal_from_form,
    validate_form_variables,
)
from rules.equipment.review import (
    ActualRow,
    VarianceReport,
    VarianceRow,
    actuals_from_charges,
    variance_report,
)
from rules.equipment.three_way_match import (
    DocumentLine,
    LineMatch,
    LineStatus,
    MatchTolerance,
    ThreeWayMatchResult,
    Tolerance,
    three_way_match,
)

__all__ = [
    "ActualRow",
    "AnnualDepreciation",
    "CashOperatingCost",
    "ChargeExport",
    "ChargeRow",
    "CostBenefitReport",
    "DocumentLine",
    "EquipmentClass",
    "EquipmentProposal",
    "EvaluationSettings",
    "FieldError",
    "FundingSource",
    "LineMatch",
    "LineStatus",
    "MatchTolerance",
    "PolicySettings",
    "ProposalInvalid",
    "RowError",
    "ThreeWayMatchResult",
    "Tolerance",
    "VarianceReport",
    "VarianceRow",
    "actuals_from_charges",
    "annual_depreciation",
    "annual_net_cash_inflow",
    "annual_revenue",
    "annual_volume",
    "average_roi",
    "break_even_volume",
    "cash_operating_cost",
    "check_policies",
    "discounted_payback_years",
    "equipment_original_value",
    "evaluate",
    "irr",
    "life_cycle_cost",
    "management_fee",
    "net_present_value",
    "npv",
    "parse_his_charge_export",
    "project_cash_flows",
    "proposal_from_form",
    "room_cost",
    "static_payback_years",
    "straight_line_depreciation",
    "three_way_match",
    "total_investment",
    "utilisation",
    "validate_form_variables",
    "variance_report",
]
