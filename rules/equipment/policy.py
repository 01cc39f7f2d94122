"""Policy rules on an equipment proposal: each rule is a function returning findings, never raising.

Findings are values (code, severity, bilingual message, evidence) so the worker can show all of them,
route on the codes, and keep the evidence in the audit trail. Thresholds differ between hospitals and
change with policy, so they live in ``PolicySettings`` and are filled from versioned configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from rules.equipment.proposal import EquipmentClass, FundingSource
from smartfin.kernel.findings import Finding, Severity

if TYPE_CHECKING:
    from rules.equipment.costbenefit import CostBenefitReport


@dataclass(frozen=True)
class PolicySettings:
    """Thresholds of the equipment rules, in yuan.

    ``large_equipment_threshold`` catches expensive devices outside the A/B catalogue for the debt ban;
    its default is a placeholder a hospital replaces with its own definition. The collective-decision
    (三重一大) and post-purchase review lines follow the example rules in the domain notes.
    """

    large_equipment_threshold: Decimal = Decimal("5000000")
    collective_decision_threshold: Decimal = Decimal("500000")
    post_purchase_review_threshold: Decimal = Decimal("1000000")


def _original_value(report: CostBenefitReport) -> Decimal:
    return report.proposal.price + report.proposal.installation_cost


def is_large_equipment(report: CostBenefitReport, settings: PolicySettings) -> bool:
    """Class A/B devices, or any device priced at or above the configured large-equipment line."""
    proposal = report.proposal
    return (proposal.equipment_class in (EquipmentClass.A, EquipmentClass.B)
            or proposal.price >= settings.large_equipment_threshold)


def debt_financed_large_equipment(report: CostBenefitReport, settings: PolicySettings) -> list[Finding]:
    """Public hospitals may not borrow to buy large medical equipment."""
    proposal = report.proposal
    if proposal.funding_source is not FundingSource.DEBT or not is_large_equipment(report, settings):
        return []
    return [Finding.bilingual(
        "DEBT_FINANCED_LARGE_EQUIPMENT", Severity.BLOCK,
        "禁止举债购置大型医用设备", "debt-financed purchase of large medical equipment is not allowed",
        {"funding_source": proposal.funding_source.value, "equipment_class": proposal.equipment_class.value,
         "price": str(proposal.price), "large_equipment_threshold": str(settings.large_equipment_threshold)},
    )]


def permit_required(report: CostBenefitReport, settings: PolicySettings) -> list[Finding]:
    """Class A needs a national configuration permit, class B a provincial one, before purchase."""
    proposal = report.proposal
    if proposal.equipment_class is EquipmentClass.A:
        level, zh_level = "national", "国家级"
    elif proposal.equipment_class is EquipmentClass.B:
        level, zh_level = "provincial", "省级"
    else:
        return []
    has_permit = bool(proposal.permit_number.strip())
    evidence = {"equipment_class": proposal.equipment_class.value, "permit_level": level,
                "permit_number": proposal.permit_number}
    if has_permit:
        return [Finding.bilingual("PERMIT_REQUIRED", Severity.INFO,
                        f"需{zh_level}配置许可，已提供许可证号 {proposal.permit_number}",
                        f"a {level} configuration permit is required; permit {proposal.permit_number} given",
                        evidence)]
    return [Finding.bilingual("PERMIT_REQUIRED", Severity.WARN,
                    f"{proposal.equipment_class.value}类大型医用设备需取得{zh_level}配置许可证",
                    f"class {proposal.equipment_class.value} large equipment needs a {level} "
                    "configuration permit before purchase", evidence)]


def collective_decision_required(report: CostBenefitReport, settings: PolicySettings) -> list[Finding]:
    """Large matters go to the president's office meeting and Party committee (三重一大).

    Measured on the whole investment, since all costs of one matter belong on one approval.
    """
    if report.total_investment < settings.collective_decision_threshold:
        return []
    return [Finding.bilingual(
        "COLLECTIVE_DECISION_REQUIRED", Severity.INFO,
        "须经院长办公会及党委会集体决策（三重一大）",
        "collective decision required (president's office meeting and Party committee)",
        {"total_investment": str(report.total_investment),
         "threshold": str(settings.collective_decision_threshold)},
    )]


def post_purchase_review(report: CostBenefitReport, settings: PolicySettings) -> list[Finding]:
    """Devices above the review line get a yearly review of actual against forecast revenue."""
    original_value = _original_value(report)
    if original_value < settings.post_purchase_review_threshold:
        return []
    return [Finding.bilingual(
        "POST_PURCHASE_REVIEW", Severity.INFO,
        "购置后须按年开展效益评价（实际收入与论证预测对比）",
        "yearly post-purchase review of actual against forecast revenue required",
        {"original_value": str(original_value), "threshold": str(settings.post_purchase_review_threshold)},
    )]


def payback_beyond_economic_life(report: CostBenefitReport, settings: PolicySettings) -> list[Finding]:
    """A device that does not repay itself within its economic life will be replaced before it does."""
    life = report.proposal.economic_life_years
    payback = report.static_payback_years
    if payback is not None and payback <= life:
        return []
    shown = "never" if payback is None else str(payback)
    return [Finding.bilingual(
        "PAYBACK_EXCEEDS_ECONOMIC_LIFE", Severity.WARN,
        f"静态回收期（{'无法回收' if payback is None else f'{payback} 年'}）超过经济寿命 {life} 年",
        f"static payback ({shown}) exceeds the economic life of {life} years",
        {"static_payback_years": shown, "economic_life_years": str(life)},
    )]


def negative_npv(report: CostBenefitReport, settings: PolicySettings) -> list[Finding]:
    """A negative NPV means the device earns less than the hospital's cost of money."""
    if report.npv >= 0:
        return []
    return [Finding.bilingual(
        "NEGATIVE_NPV", Severity.WARN, f"净现值为负（{report.npv} 元）",
        f"net present value is negative ({report.npv} yuan)",
        {"npv": str(report.npv), "discount_rate_pct": str(report.discount_rate_pct)},
    )]


def volume_beyond_capacity(report: CostBenefitReport, settings: PolicySettings) -> list[Finding]:
    """A forecast above the designed capacity cannot be delivered, so the revenue is overstated."""
    if report.utilisation is None or report.utilisation <= 1:
        return []
    return [Finding.bilingual(
        "VOLUME_EXCEEDS_CAPACITY", Severity.WARN,
        "预计工作量超过设计产能", "forecast volume exceeds designed capacity",
        {"annual_volume": str(report.annual_volume),
         "designed_annual_capacity": str(report.proposal.designed_annual_capacity)},
    )]


Rule = Callable[["CostBenefitReport", PolicySettings], list[Finding]]

RULES: tuple[Rule, ...] = (
    debt_financed_large_equipment,
    permit_required,
    collective_decision_required,
    post_purchase_review,
    payback_beyond_economic_life,
    negative_npv,
    volume_beyond_capacity,
)


def check_policies(report: CostBenefitReport, settings: PolicySettings | None = None) -> list[Finding]:
    """Run every rule and return all findings, blocking ones first."""
    settings = settings or PolicySettings()
    findings = [finding for rule in RULES for finding in rule(report, settings)]
    order = {Severity.BLOCK: 0, Severity.WARN: 1, Severity.INFO: 2}
    return sorted(findings, key=lambda f: order[f.severity])
