"""The cash forecast as plain values: what goes in, the patterns learnt from history, what comes out.

Nothing here touches a database or the engine. ``ForecastInputs`` is the one interface the forecast reads:
opening balances (bank statements), the history it learns from (patient receipts by day, insurance collections
by service month, supplier invoices accepted, payroll paid), what is open on the day (insurance receivables,
supplier payables, encumbrances) and what is scheduled (fiscal appropriations, loan service, taxes, a payroll
schedule, a scenario's extra items). ``forecast`` turns them into expected flows by day and their sums by day
(next 14 days) and by week (next 13 weeks), each flow carrying the item that drives it.

Money is integer fen throughout; the patterns (weekday and month factors, collection lags) are exact Decimal
ratios, and every expected amount is rounded to the fen once, where it becomes a flow.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import TypeVar

from smartfin.kernel.money import format_yuan, from_fen

# ------------------------------------------------------------------------------------------ categories

PATIENT = "patient-receipts"
INSURANCE = "insurance"
FISCAL = "fiscal-appropriation"
PAYROLL = "payroll"
SUPPLIERS = "suppliers"
ENCUMBRANCES = "encumbrances"
LOAN = "loan-service"
TAX = "taxes"
OTHER = "other"
INFLOW_CATEGORIES = (PATIENT, INSURANCE, FISCAL)
OUTFLOW_CATEGORIES = (PAYROLL, SUPPLIERS, ENCUMBRANCES, LOAN, TAX, OTHER)
CATEGORIES = INFLOW_CATEGORIES + OUTFLOW_CATEGORIES
CATEGORY_NAMES = {PATIENT: "患者收入 patient receipts", INSURANCE: "医保回款 insurance collections",
                  FISCAL: "财政拨款 fiscal appropriations", PAYROLL: "工资 payroll", SUPPLIERS: "供应商付款 suppliers",
                  ENCUMBRANCES: "合同付款 contract payments", LOAN: "还本付息 loan service", TAX: "税费 taxes",
                  OTHER: "其他 other"}

WEEKS = 13
DAYS = 14
#: days of patient-receipt history needed to learn the weekday pattern and the current level
MIN_PATIENT_DAYS = 56
#: days needed to learn the month (seasonal) pattern: every calendar month seen at least once
MIN_SEASON_DAYS = 365
#: the recent window the current level of receipts and purchases is taken from
LEVEL_DAYS = 56
#: service months younger than this (days from their month end) may still be collecting: their lags are censored
MATURE_AFTER_DAYS = 150
#: how many mature service months the expected monthly receivable of an insurance type is averaged over
BILLING_MONTHS = 3
ONE = Decimal(1)
K = TypeVar("K")


class ForecastRefused(ValueError):
    """The inputs cannot give a forecast: names what is missing and which part of the horizon it limits."""


# -------------------------------------------------------------------------------------------- inputs

@dataclass(frozen=True)
class OpeningBalance:
    """A bank account's balance at the end of its latest statement."""

    account: str
    as_of: date
    balance_fen: int


@dataclass(frozen=True)
class DailyAmount:
    """Money received or paid on one day (patient receipts, payroll paid)."""

    day: date
    amount_fen: int


@dataclass(frozen=True)
class InsuranceCollection:
    """Money the insurance fund paid on ``collected_on`` for the services of ``service_month`` (YYYY-MM)."""

    insurance_type: str
    service_month: str
    collected_on: date
    amount_fen: int


@dataclass(frozen=True)
class InsuranceReceivable:
    """What the fund still owes for one insurance type and service month on the forecast's day."""

    insurance_type: str
    service_month: str
    outstanding_fen: int
    billed_fen: int | None = None     # the month's receivable before any payment (approved amount), if known


@dataclass(frozen=True)
class Payable:
    """A supplier invoice accepted on ``accepted_on``; ``due_on`` from its terms (None: from the policy term)."""

    reference: str
    supplier: str
    category: str            # e.g. centralised-drugs, sme-agreed, other: the key of the payment terms
    accepted_on: date
    amount_fen: int
    due_on: date | None = None


@dataclass(frozen=True)
class Encumbrance:
    """An open commitment (signed contract) and the day its payment is expected."""

    reference: str
    amount_fen: int
    expected_on: date


@dataclass(frozen=True)
class ScheduledFlow:
    """A dated item from a schedule or a scenario; ``amount_fen`` positive in, negative out."""

    category: str
    day: date
    amount_fen: int
    label: str


@dataclass(frozen=True)
class ForecastInputs:
    """Everything the forecast reads, as known at the end of ``as_of``; the forecast starts the day after."""

    as_of: date
    openings: tuple[OpeningBalance, ...]
    patient_history: tuple[DailyAmount, ...]
    insurance_history: tuple[InsuranceCollection, ...]
    receivables: tuple[InsuranceReceivable, ...]
    payables: tuple[Payable, ...]
    purchase_history: tuple[Payable, ...]     # invoices accepted in the past: the rate of new payables
    payroll_history: tuple[DailyAmount, ...]
    encumbrances: tuple[Encumbrance, ...]
    scheduled: tuple[ScheduledFlow, ...]
    payment_terms: Mapping[str, int]           # payable category → days to pay (the dated policy in force)
    payday: int                                # payroll day of the month
    insurance_delay_days: int = 0              # scenario: the fund pays this many days later than learnt


@dataclass(frozen=True)
class Flow:
    """One expected movement of cash: positive in, negative out; ``driver`` names the item behind it."""

    day: date
    category: str
    amount_fen: int
    driver: str


@dataclass(frozen=True)
class Period:
    """A day or a week of the forecast: its opening, flows by category and closing balance."""

    start: date
    end: date
    opening_fen: int
    by_category: Mapping[str, int]
    closing_fen: int

    @property
    def inflow_fen(self) -> int:
        return sum(v for v in self.by_category.values() if v > 0)

    @property
    def outflow_fen(self) -> int:
        return -sum(v for v in self.by_category.values() if v < 0)


@dataclass(frozen=True)
class Forecast:
    """The result: opening balance, 14 days, 13 weeks, the flows behind them and what the forecast could not
    learn (warnings, e.g. no month pattern with less than a year of history)."""

    as_of: date
    opening_fen: int
    days: tuple[Period, ...]
    weeks: tuple[Period, ...]
    flows: tuple[Flow, ...]
    warnings: tuple[str, ...] = field(default=())

    def drivers(self, start: date, end: date, limit: int = 8) -> list[Flow]:
        """The largest items (in or out) from ``start`` to ``end``: what the chief accountant reads first."""
        inside = [f for f in self.flows if start <= f.day <= end]
        return sorted(inside, key=lambda f: (-abs(f.amount_fen), f.day, f.driver))[:limit]


# ------------------------------------------------------------------------------------------- helpers

def fen(value: Decimal) -> int:
    """An expected amount rounded to the fen (half up), once."""
    return int(value.quantize(ONE, rounding=ROUND_HALF_UP))


def month_key(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def month_end(month: str) -> date:
    year, number = int(month[:4]), int(month[5:7])
    return date(year, number, calendar.monthrange(year, number)[1])


def banking_day(day: date) -> date:
    """The day a bank transfer due on ``day`` is made: Saturday and Sunday move to Monday (public holidays are
    not modelled: the forecast shows such a payment on the holiday itself)."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def day_in_month(year: int, month: int, day_of_month: int) -> date:
    """``day_of_month`` of a month, the last day when the month is shorter (a 31st in February)."""
    return date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))


def split_fen(total: int, weights: Sequence[tuple[K, Decimal]]) -> list[tuple[K, int]]:
    """``total`` split in proportion to ``weights`` so that the parts add up to it exactly (largest remainder)."""
    whole = sum((w for _, w in weights), Decimal(0))
    if whole <= 0:
        raise ValueError("weights must add up to more than zero")
    exact = [(key, Decimal(total) * w / whole) for key, w in weights]
    parts = [(key, int(value.to_integral_value(rounding=ROUND_FLOOR))) for key, value in exact]
    left = total - sum(p for _, p in parts)
    order = sorted(range(len(exact)), key=lambda i: -(exact[i][1] - parts[i][1]))
    for i in order[:left]:
        parts[i] = (parts[i][0], parts[i][1] + 1)
    return parts


# ----------------------------------------------------------------------------------------- patterns

@dataclass(frozen=True)
class ReceiptPattern:
    """Patient receipts as level × weekday factor × month factor, learnt from daily history.

    Month factor of calendar month m: the mean daily receipt of the days in m over the mean of all days (1 for
    every month when less than a year is known). Weekday factor of weekday d: the mean of the days d after
    removing the month factor, over the mean of all days after removing it. Level: the mean of the last
    ``LEVEL_DAYS`` days after removing both factors. Each factor set averages to about one.
    """

    level: Decimal
    weekday: tuple[Decimal, ...]          # Monday first
    month: tuple[Decimal, ...]            # January first
    seasonal: bool

    def expected(self, day: date) -> Decimal:
        return self.level * self.weekday[day.weekday()] * self.month[day.month - 1]


def _mean(values: Sequence[Decimal]) -> Decimal:
    return sum(values, Decimal(0)) / len(values)


def learn_receipts(history: Sequence[DailyAmount], as_of: date) -> ReceiptPattern:
    """The receipt pattern of the history up to ``as_of``; refuses a history too short to learn it."""
    known = sorted((d for d in history if d.day <= as_of), key=lambda d: d.day)
    days = {d.day: d.amount_fen for d in known}
    if not known or (as_of - known[0].day).days + 1 < MIN_PATIENT_DAYS or len(days) < MIN_PATIENT_DAYS:
        have = len(days)
        raise ForecastRefused(
            f"患者收入历史不足 / patient receipts: {have} day(s) of history up to {as_of.isoformat()}, "
            f"{MIN_PATIENT_DAYS} needed to learn the weekday pattern and the current level; without them no day "
            f"of the {DAYS}-day nor of the {WEEKS}-week forecast can be given")
    start = known[0].day
    amounts = [Decimal(days.get(start + timedelta(days=i), 0)) for i in range((as_of - start).days + 1)]
    dates = [start + timedelta(days=i) for i in range(len(amounts))]
    overall = _mean(amounts)
    if overall <= 0:
        raise ForecastRefused("患者收入历史全为零 / patient receipts: the history holds no receipts")
    seasonal = len(amounts) >= MIN_SEASON_DAYS
    month = [ONE] * 12
    if seasonal:
        for m in range(12):
            values = [a for d, a in zip(dates, amounts, strict=True) if d.month == m + 1]
            month[m] = _mean(values) / overall if values else ONE
    deseason = [a / month[d.month - 1] for d, a in zip(dates, amounts, strict=True)]
    base = _mean(deseason)
    weekday = [_mean([v for d, v in zip(dates, deseason, strict=True) if d.weekday() == w]) / base
               for w in range(7)]
    recent = [v / weekday[d.weekday()] for d, v in zip(dates, deseason, strict=True)
              if (as_of - d).days < LEVEL_DAYS]
    return ReceiptPattern(level=_mean(recent), weekday=tuple(weekday), month=tuple(month), seasonal=seasonal)


@dataclass(frozen=True)
class LagPattern:
    """How the fund pays one insurance type: the share of a service month's money paid at each lag (days
    from the end of the service month), learnt from mature service months; and the expected monthly receivable."""

    insurance_type: str
    shares: tuple[tuple[int, Decimal], ...]     # (lag days, share), lags ascending, shares add up to one
    monthly_fen: int

    def remaining(self, age_days: int, paid_share: Decimal | None = None) -> list[tuple[int, Decimal]]:
        """When the money still owed ``age_days`` after the month end will come: (lag, weight) with lags > age.

        Without ``paid_share`` (the part of the month's receivable already paid): the learnt lags after the age.
        With it, the owed money is the part of the learnt distribution beyond that share (so an advance already
        paid is not expected again), at its lags; the part the fund should have paid by now and has not (it is
        behind its pattern) is expected at once (lag age + 1).
        """
        if paid_share is None:
            return [(lag, share) for lag, share in self.shares if lag > age_days]
        due_by_now = sum((share for lag, share in self.shares if lag <= age_days), Decimal(0))
        paid = min(max(paid_share, Decimal(0)), ONE)
        weights: dict[int, Decimal] = defaultdict(Decimal)
        for lag, mass in self._between(max(paid, due_by_now), ONE):
            weights[lag] += mass
        if due_by_now > paid:
            weights[age_days + 1] += due_by_now - paid
        return sorted((lag, w) for lag, w in weights.items() if w > 0)

    def _between(self, low: Decimal, high: Decimal) -> list[tuple[int, Decimal]]:
        """The lags holding the distribution's mass between cumulative shares ``low`` and ``high``."""
        out, cumulative = [], Decimal(0)
        for lag, share in self.shares:
            start, cumulative = cumulative, cumulative + share
            part = min(cumulative, high) - max(start, low)
            if part > 0:
                out.append((lag, part))
        return out


def learn_lags(history: Sequence[InsuranceCollection], as_of: date) -> dict[str, LagPattern]:
    """Per insurance type, the collection lags of service months ended at least ``MATURE_AFTER_DAYS`` before
    ``as_of`` (younger months may still be paying, which would make the fund look faster than it is)."""
    by_type: dict[str, dict[str, list[InsuranceCollection]]] = defaultdict(lambda: defaultdict(list))
    for c in history:
        if c.collected_on <= as_of and (as_of - month_end(c.service_month)).days >= MATURE_AFTER_DAYS:
            by_type[c.insurance_type][c.service_month].append(c)
    patterns = {}
    for kind, months in by_type.items():
        weights: dict[int, Decimal] = defaultdict(Decimal)
        total = Decimal(0)
        for month, rows in months.items():
            end = month_end(month)
            for c in rows:
                weights[(c.collected_on - end).days] += Decimal(c.amount_fen)
                total += Decimal(c.amount_fen)
        if total <= 0:
            continue
        recent = sorted(months)[-BILLING_MONTHS:]
        monthly = _mean([Decimal(sum(c.amount_fen for c in months[m])) for m in recent])
        patterns[kind] = LagPattern(kind, tuple((lag, w / total) for lag, w in sorted(weights.items())), fen(monthly))
    return patterns


def purchase_rate(history: Sequence[Payable], as_of: date) -> dict[tuple[str, int], Decimal]:
    """Mean amount of supplier invoices accepted per (category, weekday) over the last ``LEVEL_DAYS`` days."""
    start = as_of - timedelta(days=LEVEL_DAYS - 1)
    weeks = Decimal(LEVEL_DAYS) / 7
    sums: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    for p in history:
        if start <= p.accepted_on <= as_of:
            sums[(p.category, p.accepted_on.weekday())] += Decimal(p.amount_fen)
    return {key: total / weeks for key, total in sums.items()}


# ------------------------------------------------------------------------------------------ the flows

def _insurance_flows(inputs: ForecastInputs, last: date) -> tuple[list[Flow], list[str]]:
    first = inputs.as_of + timedelta(days=1)
    patterns = learn_lags(inputs.insurance_history, inputs.as_of)
    flows: list[Flow] = []
    warnings: list[str] = [] if patterns else [
        f"医保回款历史缺失 / insurance: no collection history of a service month ended {MATURE_AFTER_DAYS} days or "
        f"more before {inputs.as_of.isoformat()}, so no insurance money is expected in any week of the forecast"]
    delay = timedelta(days=inputs.insurance_delay_days)
    missing = sorted({r.insurance_type for r in inputs.receivables if r.insurance_type not in patterns})
    if missing:
        owed = sum(r.outstanding_fen for r in inputs.receivables if r.insurance_type in missing)
        raise ForecastRefused(
            f"医保回款历史不足 / insurance: no collection history of a service month ended {MATURE_AFTER_DAYS} days "
            f"or more before {inputs.as_of.isoformat()} for {', '.join(missing)}; when the receivables of "
            f"{format_yuan(from_fen(owed))} yuan will be paid is unknown, which limits every week of the forecast")

    def place(month: str, amount: int, lags: list[tuple[int, Decimal]], label: str) -> None:
        end = month_end(month)
        if not lags:
            if banking_day(first + delay) <= last:
                flows.append(Flow(banking_day(first + delay), INSURANCE, amount, f"{label} (overdue)"))
            return
        for lag, part in split_fen(amount, lags):
            day = banking_day(end + timedelta(days=lag) + delay)
            if first <= day <= last and part:
                flows.append(Flow(max(day, first), INSURANCE, part, label))

    receivable = set()
    for r in inputs.receivables:
        if r.outstanding_fen < 0:
            raise ForecastRefused(f"医保应收为负 / insurance receivable {r.insurance_type} {r.service_month}: "
                                  f"outstanding {r.outstanding_fen} fen is negative")
        pattern = patterns[r.insurance_type]
        age = (inputs.as_of - month_end(r.service_month)).days
        paid_share = (ONE - Decimal(r.outstanding_fen) / Decimal(r.billed_fen)
                      if r.billed_fen and r.billed_fen > 0 else None)
        place(r.service_month, r.outstanding_fen, pattern.remaining(age, paid_share),
              f"医保应收 {r.insurance_type} {r.service_month}")
        receivable.add((r.insurance_type, r.service_month))
    # service months not ended yet (the current month and the forecast's): at the learnt monthly rate
    for kind, pattern in sorted(patterns.items()):
        month = month_key(inputs.as_of)
        while month_end(month) + timedelta(days=pattern.shares[0][0]) <= last:
            if (kind, month) not in receivable:
                place(month, pattern.monthly_fen, list(pattern.shares),
                      f"预计医保结算 {kind} {month} (expected at the learnt monthly rate)")
            month = _next_month(month)
    return flows, warnings


def _next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12}-{number % 12 + 1:02d}"


def _supplier_flows(inputs: ForecastInputs, last: date) -> list[Flow]:
    first = inputs.as_of + timedelta(days=1)
    flows: list[Flow] = []
    for p in inputs.payables:
        due = due_day(p, inputs.payment_terms)
        day = max(banking_day(due), first)
        if day <= last:
            flows.append(Flow(day, SUPPLIERS, -p.amount_fen, f"应付 {p.supplier} {p.reference} 到期 due {due}"))
    # invoices still to be accepted in the horizon, at the recent rate per category and weekday, due after terms
    rates = purchase_rate(inputs.purchase_history, inputs.as_of)
    expected: dict[date, Decimal] = defaultdict(Decimal)
    for offset in range((last - first).days + 1):
        accepted = first + timedelta(days=offset)
        for (category, weekday), rate in rates.items():
            if weekday == accepted.weekday():
                due = banking_day(accepted + timedelta(days=_term(category, inputs.payment_terms)))
                if due <= last:
                    expected[due] += rate
    for day, amount in sorted(expected.items()):
        flows.append(Flow(day, SUPPLIERS, -fen(amount), "预计新增应付 expected new invoices at the recent rate"))
    return flows


def _term(category: str, terms: Mapping[str, int]) -> int:
    if category in terms:
        return terms[category]
    if "other" in terms:
        return terms["other"]
    raise ForecastRefused(f"付款期限未定义 / payment terms: no term for payable category {category!r} "
                          f"(the dated policy defines {', '.join(sorted(terms)) or 'none'})")


def due_day(payable: Payable, terms: Mapping[str, int]) -> date:
    """When a payable is paid: its own due date, but never later than its category's policy term allows (drugs
    and consumables bought under centralised procurement within 30 days of acceptance, whatever the invoice says);
    without a due date, at the term (a category without a term of its own takes the ``other`` term)."""
    limit = payable.accepted_on + timedelta(days=_term(payable.category, terms))
    if payable.due_on is None:
        return limit
    return min(payable.due_on, limit) if payable.category in terms else payable.due_on


def _payroll_flows(inputs: ForecastInputs, last: date) -> list[Flow]:
    first = inputs.as_of + timedelta(days=1)
    scheduled = {(f.day.year, f.day.month) for f in inputs.scheduled if f.category == PAYROLL}
    paid = sorted((d for d in inputs.payroll_history if d.day <= inputs.as_of), key=lambda d: d.day)
    flows = []
    year, month = first.year, first.month
    while date(year, month, 1) <= last:
        day = banking_day(day_in_month(year, month, inputs.payday))
        if first <= day <= last and (year, month) not in scheduled:
            if not paid:
                raise ForecastRefused(
                    f"工资历史不足 / payroll: no payroll paid up to {inputs.as_of.isoformat()} and no payroll schedule "
                    f"for {year}-{month:02d}; the pay day {day.isoformat()} (and every later one) cannot be forecast")
            last_month = month_key(paid[-1].day)
            amount = sum(d.amount_fen for d in paid if month_key(d.day) == last_month)
            flows.append(Flow(day, PAYROLL, -amount, f"工资 payroll {year}-{month:02d} (as paid {last_month})"))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return flows


def expected_flows(inputs: ForecastInputs) -> tuple[list[Flow], list[str]]:
    """Every expected flow from the day after ``as_of`` to the end of week 13, and the warnings."""
    first = inputs.as_of + timedelta(days=1)
    last = inputs.as_of + timedelta(days=7 * WEEKS)
    pattern = learn_receipts(inputs.patient_history, inputs.as_of)
    warnings = [] if pattern.seasonal else [
        f"患者收入历史不足一年 / patient receipts: less than {MIN_SEASON_DAYS} days of history, so no month "
        "(seasonal) pattern is applied: weeks in other months than the history's carry the recent level"]
    flows = [Flow(first + timedelta(days=i), PATIENT, fen(pattern.expected(first + timedelta(days=i))),
                  "患者收入 patient receipts (weekday × month pattern)") for i in range((last - first).days + 1)]
    insurance, more = _insurance_flows(inputs, last)
    flows += insurance
    warnings += more
    flows += _supplier_flows(inputs, last)
    if not purchase_rate(inputs.purchase_history, inputs.as_of):
        warnings.append(f"供应商发票历史缺失 / supplier invoices: none accepted in the {LEVEL_DAYS} days up to "
                        f"{inputs.as_of.isoformat()}, so no new payables are expected: from the shortest payment "
                        f"term ({min(inputs.payment_terms.values(), default=0)} days) on, supplier payments are "
                        "understated")
    flows += _payroll_flows(inputs, last)
    for e in inputs.encumbrances:
        day = max(banking_day(e.expected_on), first)
        if day <= last:
            flows.append(Flow(day, ENCUMBRANCES, -e.amount_fen, f"合同 {e.reference} expected {e.expected_on}"))
    for s in inputs.scheduled:
        if first <= s.day <= last:
            flows.append(Flow(s.day, s.category, s.amount_fen, s.label))
    return sorted(flows, key=lambda f: (f.day, f.category, f.driver)), warnings


def _periods(opening: int, flows: Iterable[Flow], bounds: Sequence[tuple[date, date]]) -> tuple[Period, ...]:
    sums: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in flows:
        sums[f.day][f.category] += f.amount_fen
    periods = []
    balance = opening
    for start, end in bounds:
        by: dict[str, int] = defaultdict(int)
        day = start
        while day <= end:
            for category, amount in sums.get(day, {}).items():
                by[category] += amount
            day += timedelta(days=1)
        closing = balance + sum(by.values())
        periods.append(Period(start, end, balance, {c: by[c] for c in CATEGORIES if by.get(c)}, closing))
        balance = closing
    return tuple(periods)


def forecast(inputs: ForecastInputs) -> Forecast:
    """The 14-day and 13-week forecast from ``inputs``; refuses (``ForecastRefused``) what it cannot learn."""
    if not inputs.openings:
        raise ForecastRefused("期初余额缺失 / opening balance: no bank account has a statement to start from")
    opening = sum(o.balance_fen for o in inputs.openings)
    flows, warnings = expected_flows(inputs)
    first = inputs.as_of + timedelta(days=1)
    days = _periods(opening, flows, [(first + timedelta(days=i),) * 2 for i in range(DAYS)])
    weeks = _periods(opening, flows, [(first + timedelta(days=7 * i), first + timedelta(days=7 * i + 6))
                                      for i in range(WEEKS)])
    return Forecast(inputs.as_of, opening, days, weeks, tuple(flows), tuple(warnings))


# ------------------------------------------------------------------------------------------ scenarios

@dataclass(frozen=True)
class Scenario:
    """A named what-if beside the base: the fund pays later, and/or extra dated items (a large equipment payment)."""

    name: str
    insurance_delay_days: int = 0
    extra: tuple[ScheduledFlow, ...] = ()

    def apply(self, inputs: ForecastInputs) -> ForecastInputs:
        return replace(inputs, insurance_delay_days=inputs.insurance_delay_days + self.insurance_delay_days,
                       scheduled=inputs.scheduled + self.extra)


BASE = Scenario("base")


def first_breach(result: Forecast, minimum_fen: int) -> Period | None:
    """The first week whose closing balance falls below ``minimum_fen`` (or a day of the next 14, if earlier)."""
    below = [p for p in (*result.days, *result.weeks) if p.closing_fen < minimum_fen]
    return min(below, key=lambda p: (p.end, p.start)) if below else None
