"""Time value of money on exact decimals: NPV, IRR and discounted payback over yearly cash flows.

Cash flows are a list indexed by year: element 0 happens now (the purchase, negative), element ``t`` at
the end of year ``t``. Rates are fractions (``Decimal("0.08")``). Nothing here rounds; callers round
once, at the edge, so that NPV at the IRR really is close to zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, localcontext

_PRECISION = 40
# Rates tried, in order, to find an interval where NPV changes sign; bisection then narrows it down.
# The grid reaches far up because highly used imaging devices can return their price within months.
_RATE_GRID = tuple(Decimal(r) for r in (
    "-0.99", "-0.9", "-0.5", "-0.2", "0", "0.05", "0.1", "0.2", "0.5", "1", "2", "5", "10", "50", "100",
    "1000"))
_IRR_TOLERANCE = Decimal("1e-15")
_MAX_BISECTIONS = 300


def npv(rate: Decimal, cash_flows: Sequence[Decimal]) -> Decimal:
    """Net present value: Σ CF_t / (1 + rate)^t, unrounded."""
    if rate <= -1:
        raise ValueError("discount rate must be greater than -100 %")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        factor = Decimal(1) + rate
        total = Decimal(0)
        discount = Decimal(1)
        for flow in cash_flows:
            total += flow / discount
            discount *= factor
        return +total


def irr(cash_flows: Sequence[Decimal]) -> Decimal | None:
    """Internal rate of return as a fraction, or ``None`` when NPV never changes sign.

    Bisection rather than Newton: it cannot diverge or jump to a far root, and on a 40-digit Decimal it
    is still fast. With several sign changes in the flows more than one IRR can exist; this returns the
    lowest one found on the rate grid, which is the conservative reading for an investment decision.
    """
    if not any(f > 0 for f in cash_flows) or not any(f < 0 for f in cash_flows):
        return None
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        previous_rate = _RATE_GRID[0]
        previous_value = npv(previous_rate, cash_flows)
        if previous_value == 0:
            return previous_rate
        for rate in _RATE_GRID[1:]:
            value = npv(rate, cash_flows)
            if value == 0:
                return rate
            if (value > 0) != (previous_value > 0):
                return _bisect(cash_flows, previous_rate, previous_value, rate)
            previous_rate, previous_value = rate, value
    return None


def _bisect(cash_flows: Sequence[Decimal], low: Decimal, low_value: Decimal, high: Decimal) -> Decimal:
    for _ in range(_MAX_BISECTIONS):
        middle = (low + high) / 2
        value = npv(middle, cash_flows)
        if value == 0 or (high - low) < _IRR_TOLERANCE:
            return middle
        if (value > 0) == (low_value > 0):
            low, low_value = middle, value
        else:
            high = middle
    return (low + high) / 2


def discounted_payback_years(rate: Decimal, cash_flows: Sequence[Decimal]) -> Decimal | None:
    """Years until the discounted cumulative cash flow turns non-negative, interpolated within the year.

    ``None`` when the investment is not recovered within the flows given (the economic life): a payback
    that never happens must not look like a long one.
    """
    if rate <= -1:
        raise ValueError("discount rate must be greater than -100 %")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        factor = Decimal(1) + rate
        cumulative = Decimal(0)
        discount = Decimal(1)
        for year, flow in enumerate(cash_flows):
            present = flow / discount
            if year > 0 and cumulative < 0 <= cumulative + present:
                return Decimal(year - 1) + (-cumulative) / present
            cumulative += present
            discount *= factor
        if cumulative >= 0 and cash_flows and cash_flows[0] >= 0:
            return Decimal(0)
    return None
