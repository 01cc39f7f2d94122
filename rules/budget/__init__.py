"""Budget rules in dated tables: the economic classification (部门支出经济分类) that compilation templates and drafts
use, the commitment chain's over-run tolerance and request validity, who may adjust a budget and how often, what a
year-end close carries over, and how a year's execution is scored."""

from rules.budget.commitments import (
    CommitmentStandards,
    CommitmentStandardsError,
    commitment_standards_on,
    parse_commitment_standards,
)
from rules.budget.standards import (
    AdjustmentStandards,
    BudgetRulesError,
    CarryOverRules,
    CarryRule,
    CountBy,
    adjustment_standards_on,
    carry_over_rules_on,
    load_adjustment_standards,
    load_carry_over_rules,
    parse_adjustment_standards,
    parse_carry_over_rules,
)

__all__ = [
    "AdjustmentStandards",
    "BudgetRulesError",
    "CarryOverRules",
    "CarryRule",
    "CommitmentStandards",
    "CommitmentStandardsError",
    "CountBy",
    "adjustment_standards_on",
    "carry_over_rules_on",
    "commitment_standards_on",
    "load_adjustment_standards",
    "load_carry_over_rules",
    "parse_adjustment_standards",
    "parse_carry_over_rules",
    "parse_commitment_standards",
]
