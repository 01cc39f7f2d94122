"""Cost-benefit figures: the public 128-slice CT example to the fen, and each formula on a hand case."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from rules.equipment import (
    EquipmentClass,
    EquipmentProposal,
    EvaluationSettings,
    FundingSource,
    annual_depreciation,
    annual_net_cash_inflow,
    annual_revenue,
    average_roi,
    break_even_volume,
    cash_operating_cost,
    discounted_payback_years,
    evaluate,
    irr,
    life_cycle_cost,
    management_fee,
    npv,
    project_cash_flows,
    room_cost,
    static_payback_years,
    straight_line_depreciation,
    total_investment,
    utilisation,
)
from rules.equipment.examples import ct_scanner_proposal
from smartfin.kernel.findings import Severity

# The published example quotes depreciation to the hundred yuan: 12,170,000 / 6 = 2,028,333.33 is printed
# as 2,028,300. Neither a residual value (5 % would give 1,926,916.67) nor any fen rounding gives that
# figure; rounding half up to ¥100 does (and 250,000 / 50 = 5,000 is unaffected). The rule is therefore an
# option, EvaluationSettings(depreciation_rounding_unit=100); the default stays the fen.
CT_REPORT_SETTINGS = EvaluationSettings(depreciation_rounding_unit=D("100"))


def ct_proposal(**changes: object) -> EquipmentProposal:
    return ct_scanner_proposal(**changes)


def small_proposal(**changes: object) -> EquipmentProposal:
    """A hand-computable device: every figure below is worked out in the test comments."""
    proposal = EquipmentProposal(
        device_name="超声", model="X1", equipment_class=EquipmentClass.ORDINARY, price=D("100000"),
        installation_cost=D("10000"), room_area_m2=D("10"), room_cost_per_m2=D("1000"),
        room_depreciation_years=20, monthly_volume=100, price_per_exam=D("50"), staff_count=1,
        annual_cost_per_staff=D("10000"), annual_materials=D("6000"), annual_maintenance=D("2000"),
        annual_utilities=D("1000"), management_fee_rate_pct=D("1"), annual_other_costs=D("900"),
        funding_source=FundingSource.FISCAL, economic_life_years=5, depreciation_years=5,
        designed_annual_capacity=2000, discount_rate_pct=D("10"),
    )
    return replace(proposal, **changes) if changes else proposal


class TestCtWorkedExample:
    def test_revenue_and_costs_to_the_fen(self) -> None:
        report = evaluate(ct_proposal(), CT_REPORT_SETTINGS)
        assert report.annual_volume == 2399 * 12
        assert report.annual_revenue == D("23030400.00")
        costs = report.operating_cost
        assert costs.materials == D("1800000.00")
        assert costs.utilities == D("2252.88")
        assert costs.maintenance == D("1600000.00")
        assert costs.management_fee == D("121700.00")  # 1 % of the original value 12,170,000
        assert costs.staff == D("324000.00")  # 6 × 54,000
        assert report.cash_operating_cost == D("3847952.88")
        assert report.annual_net_cash_inflow == D("19182447.12")

    def test_investment_and_depreciation(self) -> None:
        report = evaluate(ct_proposal(), CT_REPORT_SETTINGS)
        assert report.room_cost == D("250000.00")  # 50 m² × 5,000
        assert report.total_investment == D("12420000.00")
        assert report.depreciation.equipment == D("2028300.00")
        assert report.depreciation.room == D("5000.00")
        assert report.annual_depreciation == D("2033300.00")

    def test_default_depreciation_is_to_the_fen(self) -> None:
        report = evaluate(ct_proposal())
        assert report.depreciation.equipment == D("2028333.33")

    def test_static_payback(self) -> None:
        report = evaluate(ct_proposal(), CT_REPORT_SETTINGS)
        assert report.static_payback_equipment_only_years == D("0.63")  # 12,170,000 / 19,182,447.12
        assert report.static_payback_years == D("0.65")  # 12,420,000 / 19,182,447.12

    def test_discounted_figures_cross_check(self) -> None:
        report = evaluate(ct_proposal(), CT_REPORT_SETTINGS)
        # NPV by the annuity formula, computed independently of the year-by-year sum.
        annuity = (1 - D("1.08") ** -10) / D("0.08")
        expected = (D("19182447.12") * annuity - D("12420000")).quantize(D("0.01"))
        assert report.npv == expected == D("116295781.61")
        flows = project_cash_flows(ct_proposal())
        rate = irr(flows)
        assert rate is not None
        assert abs(npv(rate, flows)) < D("0.01")
        assert report.irr == D("1.5443")
        assert report.discounted_payback_years == D("0.70")  # 12,420,000 / (19,182,447.12 / 1.08)

    def test_other_indicators(self) -> None:
        report = evaluate(ct_proposal(), CT_REPORT_SETTINGS)
        # (19,182,447.12 − 2,033,300) / 12,420,000 = 1.380769…
        assert report.average_roi == D("1.3808")
        # fixed = 324,000 + 2,252.88 + 1,600,000 + 121,700 + 2,033,300; margin = 800 − 1,800,000 / 28,788
        assert report.fixed_annual_cost == D("4081252.88")
        assert report.break_even_annual_volume == 5535
        assert report.utilisation is None
        assert report.life_cycle_cost == D("12420000") + 10 * D("3847952.88")

    def test_summary_is_bilingual_and_quotes_the_figures(self) -> None:
        report = evaluate(ct_proposal(), CT_REPORT_SETTINGS)
        assert "年净现金流入 ¥19,182,447.12" in report.summary_zh
        assert "静态回收期 0.65 年（仅设备 0.63 年）" in report.summary_zh
        assert "net cash inflow ¥19,182,447.12/yr" in report.summary_en
        assert "economically viable" in report.summary_en
        assert report.summary == f"{report.summary_zh}\n{report.summary_en}"
        assert report.as_variables()["annualNetCashInflow"] == "19182447.12"


class TestFormulasOnAHandCase:
    def test_revenue_costs_inflow(self) -> None:
        p = small_proposal()
        assert annual_revenue(p) == D("60000.00")  # 1,200 exams × 50
        assert management_fee(p) == D("1100.00")  # 1 % of (100,000 + 10,000 installation)
        costs = cash_operating_cost(p)
        assert costs.total == D("21000.00")  # 6,000 + 10,000 + 1,000 + 2,000 + 1,100 + 900
        assert costs.fixed == D("15000.00")
        assert annual_net_cash_inflow(p) == D("39000.00")

    def test_investment_and_depreciation(self) -> None:
        p = small_proposal()
        assert room_cost(p) == D("10000.00")
        assert total_investment(p) == D("120000.00")
        depreciation = annual_depreciation(p)
        assert depreciation.equipment == D("22000.00")  # 110,000 / 5
        assert depreciation.room == D("500.00")  # 10,000 / 20
        assert depreciation.total == D("22500.00")

    def test_no_room_means_no_room_depreciation(self) -> None:
        p = small_proposal(room_area_m2=D("0"), room_depreciation_years=None)
        assert annual_depreciation(p).room == D("0.00")
        assert total_investment(p) == D("110000.00")

    def test_straight_line_rounding(self) -> None:
        assert straight_line_depreciation(D("100"), 3) == D("33.33")
        assert straight_line_depreciation(D("200"), 3) == D("66.67")  # half up
        assert straight_line_depreciation(D("12170000"), 6, D("100")) == D("2028300.00")
        assert straight_line_depreciation(D("12170050"), 1, D("100")) == D("12170100.00")  # .5 goes up
        with pytest.raises(ValueError):
            straight_line_depreciation(D("100"), 0)

    def test_payback_and_roi(self) -> None:
        assert static_payback_years(D("120000"), D("39000")) == D("3.08")  # 3.0769…
        assert static_payback_years(D("100000"), D("39000")) == D("2.56")  # 2.5641…
        assert static_payback_years(D("100000"), D("0")) is None
        assert static_payback_years(D("100000"), D("-5")) is None
        assert average_roi(D("39000"), D("22500"), D("120000")) == D("0.1375")

    def test_break_even_and_utilisation(self) -> None:
        # fixed 15,000 + depreciation 22,500 = 37,500; margin 50 − 5 = 45; 833.3 → 834 exams
        assert break_even_volume(D("37500"), D("50"), D("5")) == 834
        assert break_even_volume(D("900"), D("50"), D("5")) == 20  # exactly 20, not rounded up further
        assert break_even_volume(D("900"), D("5"), D("5")) is None
        assert utilisation(1200, 2000) == D("0.6000")
        assert utilisation(1200, None) is None

    def test_life_cycle_cost(self) -> None:
        assert life_cycle_cost(D("120000"), D("21000"), 5) == D("225000.00")
        # 21,000 × annuity factor 3.7907867694 (10 %, 5 years) = 79,606.52
        assert life_cycle_cost(D("120000"), D("21000"), 5, D("0.10")) == D("199606.52")

    def test_evaluate_hand_case(self) -> None:
        report = evaluate(small_proposal())
        assert report.static_payback_years == D("3.08")
        assert report.average_roi == D("0.1375")
        assert report.break_even_annual_volume == 834
        assert report.utilisation == D("0.6000")
        assert report.variable_cost_per_exam == D("5.00")
        assert report.life_cycle_cost_discounted == D("199606.52")
        assert report.findings == ()


class TestDiscounting:
    FLOWS = (D("-1000"), D("600"), D("600"))

    def test_npv_by_hand(self) -> None:
        # 600 / 1.1 + 600 / 1.21 − 1000 = 545.4545 + 495.8678 − 1000
        assert npv(D("0.10"), self.FLOWS).quantize(D("0.01")) == D("41.32")
        assert npv(D("0"), self.FLOWS) == D("200")

    def test_irr_solves_npv_zero(self) -> None:
        # 600x² + 600x − 1000 = 0 with x = 1/(1+r) gives r = 0.130662…
        rate = irr(self.FLOWS)
        assert rate is not None
        assert rate.quantize(D("0.000001")) == D("0.130662")
        assert abs(npv(rate, self.FLOWS)) < D("1e-9")

    def test_irr_without_sign_change_is_none(self) -> None:
        assert irr([D("-100"), D("-10")]) is None
        assert irr([D("100"), D("10")]) is None
        assert irr([]) is None

    def test_irr_negative_and_very_high_rates(self) -> None:
        losing = [D("-100"), D("10"), D("10")]
        rate = irr(losing)
        assert rate is not None and rate < 0
        assert abs(npv(rate, losing)) < D("1e-9")
        windfall = [D("-1"), D("500")]
        assert irr(windfall) == pytest.approx(D("499"), abs=D("1e-9"))

    def test_discounted_payback(self) -> None:
        # after year 1: −1000 + 545.45 = −454.55; year 2 brings 495.87 → 1 + 454.55 / 495.87
        payback = discounted_payback_years(D("0.10"), self.FLOWS)
        assert payback is not None and payback.quantize(D("0.01")) == D("1.92")
        assert discounted_payback_years(D("0.10"), [D("-1000"), D("100"), D("100")]) is None

    def test_rates_at_or_below_minus_one_are_refused(self) -> None:
        with pytest.raises(ValueError):
            npv(D("-1"), self.FLOWS)


def test_weak_proposal_summary_says_so() -> None:
    report = evaluate(small_proposal(monthly_volume=40, annual_materials=D("2400")))
    # revenue 24,000 − costs 17,400 = 6,600 a year on 120,000: never repaid within five years
    assert report.annual_net_cash_inflow == D("6600.00")
    assert report.npv < 0
    codes = {f.code for f in report.findings}
    assert {"PAYBACK_EXCEEDS_ECONOMIC_LIFE", "NEGATIVE_NPV"} <= codes
    assert all(f.severity is Severity.WARN for f in report.findings)
    assert "需重新论证" in report.summary_zh
    assert "economically weak" in report.summary_en
