"""The budget performance assessment rule (预算绩效评价), dated, read from ``assessment_rules.yaml``, and the pure
functions that score by it.

Every score is made of parts a finance director can check by hand: the points of each component (execution,
balance, output indicators, outcome indicators) next to the most it could earn and the figure it came from. A
component that cannot be measured (no indicators, no budget) is left out of both sides, so a department without
projects is scored on what it has. The feedback part of the rule says by how much a department's next control
numbers are cut when its execution stayed below the threshold.

The rule changes by adding a version with a later ``effective_from``, never by editing one already used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

RULES_FILE = Path(__file__).with_name("assessment_rules.yaml")
COMPONENTS = ("execution", "balance", "output", "outcome")
POINTS = Decimal("0.01")
HUNDRED = Decimal(100)


class AssessmentRuleError(ValueError):
    """A rules file that cannot be used; names the version and the field."""


@dataclass(frozen=True, slots=True)
class CutTier:
    """Execution below ``below`` percent cuts ``cut`` percent off the base."""

    below: Decimal
    cut: Decimal


@dataclass(frozen=True, slots=True)
class AssessmentRule:
    """One dated version of the scoring and feedback rule."""

    effective_from: date
    weights: dict[str, Decimal]
    full_at_ratio: Decimal
    balance_target: Decimal
    balance_zero_at: Decimal
    indicator_cap: Decimal
    grades: tuple[tuple[Decimal, str], ...]
    execution_threshold: Decimal
    cuts: tuple[CutTier, ...]

    def grade(self, score: Decimal) -> str:
        """The grade of a total score (the first grade whose minimum it reaches)."""
        return next((name for low, name in self.grades if score >= low), self.grades[-1][1])

    def cut_percent(self, execution: Decimal | None) -> Decimal:
        """The cut in percent for an execution (rate / progress, percent); 0 at or above the threshold or when
        the execution is unknown (a department without budget has nothing to cut)."""
        if execution is None or execution >= self.execution_threshold:
            return Decimal(0)
        return next((tier.cut for tier in self.cuts if execution < tier.below), Decimal(0))


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, float | bool):
        value = str(value)
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise AssessmentRuleError(f"{where}: {value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise AssessmentRuleError(f"{where}: {value!r} must be a number not below 0")
    return number


def _version(raw: dict[str, Any], number: int) -> AssessmentRule:
    where = f"{RULES_FILE.name} version {number}"
    try:
        effective = raw["effective_from"]
        if not isinstance(effective, date):
            effective = date.fromisoformat(str(effective))
        weights = {c: _decimal(raw["weights"][c], f"{where} weights.{c}") for c in COMPONENTS}
        grades = tuple((_decimal(g["min"], f"{where} grades.min"), str(g["grade"])) for g in raw["grades"])
        cuts = tuple(CutTier(_decimal(t["below"], f"{where} feedback.cuts.below"),
                             _decimal(t["cut"], f"{where} feedback.cuts.cut")) for t in raw["feedback"]["cuts"])
        rule = AssessmentRule(
            effective_from=effective, weights=weights,
            full_at_ratio=_decimal(raw["execution"]["full_at_ratio"], f"{where} execution.full_at_ratio"),
            balance_target=_decimal(raw["balance"]["target"], f"{where} balance.target"),
            balance_zero_at=_decimal(raw["balance"]["zero_at"], f"{where} balance.zero_at"),
            indicator_cap=_decimal(raw["indicators"]["cap"], f"{where} indicators.cap"),
            grades=grades,
            execution_threshold=_decimal(raw["feedback"]["execution_threshold"],
                                         f"{where} feedback.execution_threshold"),
            cuts=cuts)
    except KeyError as exc:
        raise AssessmentRuleError(f"{where}: {exc.args[0]} is missing") from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, AssessmentRuleError):
            raise
        raise AssessmentRuleError(f"{where}: {exc}") from None
    if sum(weights.values()) != HUNDRED:
        raise AssessmentRuleError(f"{where}: the weights add up to {sum(weights.values())}, not 100")
    if rule.balance_zero_at <= rule.balance_target:
        raise AssessmentRuleError(f"{where}: balance.zero_at must lie above balance.target")
    if rule.full_at_ratio <= 0:
        raise AssessmentRuleError(f"{where}: execution.full_at_ratio must be above 0")
    if not grades or any(a[0] <= b[0] for a, b in pairwise(grades)):
        raise AssessmentRuleError(f"{where}: grades must be listed best first with falling minimums")
    if any(a.below >= b.below for a, b in pairwise(cuts)):
        raise AssessmentRuleError(f"{where}: cut tiers must be listed by rising `below`")
    if cuts and cuts[-1].below > rule.execution_threshold:
        raise AssessmentRuleError(f"{where}: a cut tier lies above the execution threshold")
    return rule


def parse_rules(text: str) -> list[AssessmentRule]:
    """The versions of a rules file (YAML text), oldest first; ``AssessmentRuleError`` names what is wrong."""
    data = yaml.safe_load(text) or {}
    raw_versions = data.get("versions") if isinstance(data, dict) else None
    if not raw_versions:
        raise AssessmentRuleError(f"{RULES_FILE.name}: no versions")
    rules = sorted((_version(raw, n) for n, raw in enumerate(raw_versions, start=1)), key=lambda r: r.effective_from)
    days = [r.effective_from for r in rules]
    if len(set(days)) != len(days):
        raise AssessmentRuleError(f"{RULES_FILE.name}: two versions take effect on the same day")
    return rules


@lru_cache(maxsize=1)
def _rules() -> tuple[AssessmentRule, ...]:
    return tuple(parse_rules(RULES_FILE.read_text(encoding="utf-8")))


def rule_on(day: date, rules: tuple[AssessmentRule, ...] | None = None) -> AssessmentRule:
    """The version in force on ``day``; ``AssessmentRuleError`` before the first one."""
    found = [r for r in (rules or _rules()) if r.effective_from <= day]
    if not found:
        raise AssessmentRuleError(f"no assessment rule in force on {day.isoformat()}")
    return found[-1]


# ------------------------------------------------------------------------------------------------ scoring

def points(value: Decimal) -> Decimal:
    """Score points with two decimals, rounded half up as on paper."""
    return value.quantize(POINTS, ROUND_HALF_UP)


def execution_points(rule: AssessmentRule, execution_rate: Decimal, progress: Decimal) -> tuple[Decimal, Decimal]:
    """(execution against progress in percent, points): weight × min(ratio / full_at_ratio, 1)."""
    ratio = HUNDRED if progress <= 0 else points(execution_rate * HUNDRED / progress)
    share = min(max(ratio, Decimal(0)) / rule.full_at_ratio, Decimal(1))
    return ratio, points(rule.weights["execution"] * share)


def balance_points(rule: AssessmentRule, balance_rate: Decimal) -> Decimal:
    """Full points up to the target balance rate, none from ``zero_at``, linear in between."""
    weight = rule.weights["balance"]
    if balance_rate <= rule.balance_target:
        return points(weight)
    if balance_rate >= rule.balance_zero_at:
        return Decimal("0.00")
    share = (rule.balance_zero_at - balance_rate) / (rule.balance_zero_at - rule.balance_target)
    return points(weight * share)


def achievement(rule: AssessmentRule, direction: str, target: Decimal, actual: Decimal | None) -> Decimal:
    """How far an indicator reached its target, 0 … cap: actual/target for "at least" (≥), target/actual for
    "at most" (≤); a target of 0 is reached by any actual on its right side; no actual value earns 0."""
    if actual is None:
        return Decimal(0)
    if direction == "<=":
        if actual <= target:
            return rule.indicator_cap
        share = target / actual if actual > 0 else Decimal(0)
    else:
        if actual >= target:
            return rule.indicator_cap
        share = actual / target if target > 0 else Decimal(0)
    return min(max(share, Decimal(0)), rule.indicator_cap)


def indicator_points(rule: AssessmentRule, kind: str, achievements: list[Decimal]) -> Decimal | None:
    """Weight × the mean achievement of a kind's indicators; None when there are none (the part is left out)."""
    if not achievements:
        return None
    mean = sum(achievements, Decimal(0)) / len(achievements)
    return points(rule.weights[kind] * mean / rule.indicator_cap)


def total_score(rule: AssessmentRule, earned: dict[str, Decimal | None]) -> Decimal | None:
    """Points earned over the points the measurable components could earn, × 100; None when nothing counts."""
    counted = [c for c in COMPONENTS if earned.get(c) is not None]
    possible = sum((rule.weights[c] for c in counted), Decimal(0))
    if possible <= 0:
        return None
    got = sum((earned[c] or Decimal(0) for c in counted), Decimal(0))
    return points(got * HUNDRED / possible)
