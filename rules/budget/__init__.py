"""Budget rules in dated tables: the commitment chain's over-run tolerance and request validity, who may adjust
a budget and how often, and what a year-end close carries over."""

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
    "adjustment_standards_on",
    "carry_over_rules_on",
    "commitment_standards_on",
    "load_adjustment_standards",
    "load_carry_over_rules",
    "parse_adjustment_standards",
    "parse_carry_over_rules",
    "parse_commitment_standards",
]
