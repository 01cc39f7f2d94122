"""Budget line keys and the pure budget-control decision."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from smartfin.ledger import (
    Balances,
    BudgetLine,
    BudgetLineKey,
    CheckOutcome,
    ControlLevel,
    FundingSource,
    InvalidBudgetKey,
    evaluate,
)
from smartfin.ledger.control import tolerance_for

KEY = BudgetLineKey(2026, "0301", "30218", "fiscal")  # type: ignore[arg-type]
D = Decimal


def line(**overrides: object) -> BudgetLine:
    values: dict[str, object] = dict(id=1, fiscal_year=2026, department="0301", economic_code="30218",
                                     funding_source="fiscal", project="", name="专用材料费",
                                     control_level="control", tolerance_bp=0, tolerance_fen=0,
                                     warning_bp=9000, status="open")
    values.update(overrides)
    return BudgetLine(**values)


def funded(budget: str, committed: str = "0", adjustment: str = "0") -> Balances:
    return Balances(budget=D(budget), adjustment=D(adjustment), pre_encumbrance=D(committed))


@pytest.mark.parametrize(("kwargs", "field"), [
    (dict(fiscal_year=2026, department="", economic_code="30218", funding_source="fiscal"), "department"),
    (dict(fiscal_year=2026, department="0301", economic_code=" ", funding_source="fiscal"), "economic_code"),
    (dict(fiscal_year=2026, department="0301", economic_code="会议费", funding_source="fiscal"),
     "economic_code"),
    (dict(fiscal_year=2026, department="0301", economic_code="30218", funding_source="loan"),
     "funding_source"),
    (dict(fiscal_year=2026, department="0301", economic_code="30218", funding_source=""), "funding_source"),
    (dict(fiscal_year=1899, department="0301", economic_code="30218", funding_source="own"), "fiscal_year"),
    (dict(fiscal_year="next", department="0301", economic_code="30218", funding_source="own"), "fiscal_year"),
    (dict(fiscal_year=2026, department="0301", economic_code="30218", funding_source="own", project="a/b"),
     "project"),
])
def test_invalid_keys_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidBudgetKey) as caught:
        BudgetLineKey(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert field in str(caught.value)
    assert caught.value.code == "BUDGET_LINE_INVALID"


def test_key_normalises_aliases_and_prints_compactly() -> None:
    key = BudgetLineKey(2026, " 0301 ", "３０２１８", "科研", " P-7 ")  # type: ignore[arg-type]
    assert key.funding_source is FundingSource.RESEARCH
    assert key.economic_code == "30218"
    assert str(key) == "2026/0301/30218/research/P-7"
    assert key == BudgetLineKey(2026, "0301", "30218", FundingSource.RESEARCH, "P-7")
    assert str(KEY) == "2026/0301/30218/fiscal"


def test_within_budget() -> None:
    result = evaluate(line(), funded("1000.00", "100.00"), KEY, D("200.00"))
    assert result.outcome is CheckOutcome.WITHIN
    assert (result.available, result.available_after) == (D("900.00"), D("700.00"))
    assert not result.blocking and result.code is None and not result.warning
    assert "预算充足" in result.message and "Within budget" in result.message and "700.00" in result.message


def test_early_warning_when_usage_reaches_warning_share() -> None:
    result = evaluate(line(), funded("1000.00", "800.00"), KEY, D("100.00"))
    assert result.outcome is CheckOutcome.EARLY_WARNING
    assert result.usage_pct_after == D("90.00")
    assert result.warning and not result.blocking
    assert "90.00%" in result.message and "Early warning" in result.message
    assert evaluate(line(warning_bp=None), funded("1000.00", "800.00"), KEY, D("100.00")).outcome \
        is CheckOutcome.WITHIN


def test_within_tolerance_warns_but_passes() -> None:
    # 5 % of 1,000 = 50: going 30 over is tolerated.
    result = evaluate(line(tolerance_bp=500), funded("1000.00", "900.00"), KEY, D("130.00"))
    assert result.outcome is CheckOutcome.WITHIN_TOLERANCE
    assert result.tolerance == D("50.00")
    assert not result.blocking and result.warning and result.code is None
    assert "容差" in result.message and "tolerance 50.00" in result.message


def test_tolerance_uses_the_stricter_of_percentage_and_amount() -> None:
    assert tolerance_for(line(tolerance_bp=500, tolerance_fen=2000), funded("1000.00")) == D("20.00")
    assert tolerance_for(line(tolerance_bp=500), funded("1000.00", adjustment="200.00")) == D("60.00")
    assert tolerance_for(line(tolerance_fen=2000), funded("1000.00")) == D("20.00")
    assert tolerance_for(line(), funded("1000.00")) == D("0.00")


def test_over_budget_blocks_a_control_line() -> None:
    result = evaluate(line(tolerance_fen=1000), funded("1000.00", "900.00"), KEY, D("150.00"))
    assert result.outcome is CheckOutcome.OVER_BUDGET
    assert result.blocking and result.code == "BUDGET_EXCEEDED"
    assert "预算超支" in result.message and "Budget exceeded" in result.message
    assert "over by 50.00" in result.message and "100.00" in result.message and "2026/0301/30218" in result.message


@pytest.mark.parametrize("level", [ControlLevel.ADVISORY, ControlLevel.TRACK])
def test_over_budget_on_advisory_and_track_lines_does_not_block(level: ControlLevel) -> None:
    result = evaluate(line(control_level=level.value), funded("1000.00", "900.00"), KEY, D("150.00"))
    assert result.outcome is CheckOutcome.OVER_BUDGET
    assert not result.blocking and result.warning
    assert result.control_level is level


def test_missing_closed_and_not_effective_lines_always_block() -> None:
    missing = evaluate(None, None, KEY, D("1.00"))
    assert (missing.outcome, missing.blocking, missing.code) == (
        CheckOutcome.NO_SUCH_LINE, True, "BUDGET_LINE_UNKNOWN")
    assert missing.available is None and "预算行不存在" in missing.message

    closed = evaluate(line(status="closed", control_level="track"), funded("10.00"), KEY, D("1.00"))
    assert (closed.outcome, closed.blocking, closed.code) == (CheckOutcome.LINE_CLOSED, True,
                                                              "BUDGET_LINE_CLOSED")
    early = evaluate(line(effective_from=date(2026, 3, 1)), funded("10.00"), KEY, D("1.00"),
                     on=date(2026, 2, 28))
    late = evaluate(line(effective_to=date(2026, 12, 31)), funded("10.00"), KEY, D("1.00"),
                    on=date(2027, 1, 1))
    for result in (early, late):
        assert (result.outcome, result.blocking, result.code) == (
            CheckOutcome.NOT_YET_EFFECTIVE, True, "BUDGET_LINE_NOT_EFFECTIVE")
    assert "2026-02-28" in early.message
    inside = evaluate(line(effective_from=date(2026, 3, 1), effective_to=date(2026, 3, 1)), funded("10.00"),
                      KEY, D("1.00"), on=date(2026, 3, 1))
    assert inside.outcome is CheckOutcome.WITHIN


def test_amounts_are_validated_with_money_rules() -> None:
    from smartfin.kernel.money import InvalidAmount

    with pytest.raises(InvalidAmount, match="more than 2 decimal"):
        evaluate(line(), funded("10.00"), KEY, "1.005")  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount, match="float"):
        evaluate(line(), funded("10.00"), KEY, 1.5)  # type: ignore[arg-type]
