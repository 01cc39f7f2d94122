"""Budget rules: who may adjust a budget and how often, and what a year-end close carries over (dated tables)."""

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
    "CountBy",
    "adjustment_standards_on",
    "carry_over_rules_on",
    "load_adjustment_standards",
    "load_carry_over_rules",
    "parse_adjustment_standards",
    "parse_carry_over_rules",
]
