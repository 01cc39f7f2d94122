"""A generated hospital whose cash history is known exactly: the truth the backtest measures the forecast by.

The generator draws, day by day, what a public hospital's main account sees: patient receipts with a weekday
and a seasonal pattern and noise; insurance settlements per type paid in an advance and a final part, each some
days (jittered) after the service month; supplier invoices accepted on working days and paid on their policy
term; payroll on the pay day with a raise every January; monthly fiscal appropriations, quarterly loan service
and monthly taxes on their schedule. ``inputs_at`` cuts the history at a day and gives the forecast exactly what
the hospital would know then (history, open receivables and payables, the schedule); ``closing_balance`` is the
truth to compare with. The random draws are seeded: the same seed gives the same hospital.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from smartfin.cashflow.model import (
    FISCAL,
    LOAN,
    TAX,
    DailyAmount,
    ForecastInputs,
    InsuranceCollection,
    InsuranceReceivable,
    OpeningBalance,
    Payable,
    ScheduledFlow,
    banking_day,
    day_in_month,
    fen,
    month_end,
    month_key,
)

WEEKDAY = tuple(Decimal(f) for f in ("1.15", "1.10", "1.05", "1.05", "1.00", "0.45", "0.35"))
SEASON = tuple(Decimal(f) for f in ("0.95", "0.80", "1.05", "1.00", "1.00", "1.02", "1.05", "1.05", "1.00", "0.92",
                                   "1.02", "1.05"))
#: insurance type → monthly receivable (yuan) and its parts: (share, lag days after the month end, jitter days)
INSURANCE_TYPES = {
    "employee": (24_000_000, ((Decimal("0.7"), 38, 2), (Decimal("0.3"), 70, 3))),
    "resident": (14_000_000, ((Decimal("0.6"), 40, 2), (Decimal("0.4"), 75, 3))),
    "off-site": (3_000_000, ((Decimal(1), 100, 5),)),
}
#: payable category → share of purchases and policy term (days): centralised drugs within 30 days
SUPPLIER_CATEGORIES = {"centralised-drugs": (Decimal("0.5"), 30), "sme-agreed": (Decimal("0.3"), 60),
                       "other": (Decimal("0.2"), 45)}
PAYMENT_TERMS = {category: term for category, (_, term) in SUPPLIER_CATEGORIES.items()}
PAYDAY = 10


@dataclass
class SampleHospital:
    """A generated cash history: every flow by day, the items behind it, and the schedule."""

    start: date
    end: date
    opening_fen: int
    patient: list[DailyAmount] = field(default_factory=list)
    collections: list[InsuranceCollection] = field(default_factory=list)
    billed: dict[tuple[str, str], int] = field(default_factory=dict)
    invoices: list[tuple[Payable, date]] = field(default_factory=list)      # (invoice, day paid)
    payroll: list[DailyAmount] = field(default_factory=list)
    scheduled: list[ScheduledFlow] = field(default_factory=list)
    account: str = "6222000000000001"
    _net: dict[date, int] = field(default_factory=lambda: defaultdict(int))

    def closing_balance(self, day: date) -> int:
        """The true balance at the end of ``day``."""
        return self.opening_fen + sum(v for d, v in self._net.items() if d <= day)

    def balances(self) -> dict[date, int]:
        """The true closing balance of every day of the history."""
        out, balance, day = {}, self.opening_fen, self.start
        while day <= self.end:
            balance += self._net.get(day, 0)
            out[day] = balance
            day += timedelta(days=1)
        return out

    def inputs_at(self, as_of: date, balances: dict[date, int] | None = None) -> ForecastInputs:
        """What the hospital knows at the end of ``as_of``: the forecast's inputs, nothing from later."""
        closing = (balances or {}).get(as_of)
        receivables = []
        paid: dict[tuple[str, str], int] = defaultdict(int)
        for c in self.collections:
            if c.collected_on <= as_of:
                paid[(c.insurance_type, c.service_month)] += c.amount_fen
        for (kind, month), amount in sorted(self.billed.items()):
            if month_end(month) <= as_of and amount - paid[(kind, month)] > 0:
                receivables.append(InsuranceReceivable(kind, month, amount - paid[(kind, month)], amount))
        return ForecastInputs(
            as_of=as_of,
            openings=(OpeningBalance(self.account, as_of,
                                     closing if closing is not None else self.closing_balance(as_of)),),
            patient_history=tuple(d for d in self.patient if d.day <= as_of),
            insurance_history=tuple(c for c in self.collections if c.collected_on <= as_of),
            receivables=tuple(receivables),
            payables=tuple(p for p, paid_on in self.invoices if p.accepted_on <= as_of < paid_on),
            purchase_history=tuple(p for p, _ in self.invoices if p.accepted_on <= as_of),
            payroll_history=tuple(d for d in self.payroll if d.day <= as_of),
            encumbrances=(),
            scheduled=tuple(s for s in self.scheduled if s.day > as_of),
            payment_terms=PAYMENT_TERMS,
            payday=PAYDAY,
        )


def _fen(yuan: Decimal | int) -> int:
    return fen(Decimal(yuan) * 100)


def _draw(value: float) -> Decimal:
    """A random factor (drawn as a float by ``random``) as an exact ratio of six places, before it meets money."""
    return Decimal(repr(round(value, 6)))


def generate_hospital(start: date = date(2023, 1, 1), days: int = 3 * 365, *, seed: int = 7,
                      opening_yuan: int = 80_000_000, noise: float = 0.06) -> SampleHospital:
    """A hospital of ``days`` days from ``start``: patient receipts about ¥1.4M a weekday, insurance ¥41M a
    month, suppliers about ¥2.6M a working day, payroll ¥24M; ``noise`` is the daily receipts' relative spread."""
    rng = random.Random(seed)
    end = start + timedelta(days=days - 1)
    h = SampleHospital(start=start, end=end, opening_fen=_fen(opening_yuan))

    def book(day: date, amount: int) -> None:
        if day <= end:
            h._net[day] += amount

    growth = lambda day: 1 + Decimal("0.03") * (day - start).days / 365  # noqa: E731
    # the schedule: fiscal appropriation on the 20th, taxes on the 15th, loan service each quarter on the 21st
    month = month_key(start)
    while month_end(month) <= end + timedelta(days=200):
        year, number = int(month[:4]), int(month[5:7])
        h.scheduled.append(ScheduledFlow(FISCAL, banking_day(day_in_month(year, number, 20)), _fen(6_000_000),
                                         "财政拨款 fiscal appropriation"))
        h.scheduled.append(ScheduledFlow(TAX, banking_day(day_in_month(year, number, 15)), -_fen(2_200_000),
                                         "税费 taxes"))
        if number in (3, 6, 9, 12):
            h.scheduled.append(ScheduledFlow(LOAN, banking_day(day_in_month(year, number, 21)), -_fen(4_500_000),
                                             "还本付息 loan service"))
        number += 1
        month = f"{year + (number > 12)}-{(number - 1) % 12 + 1:02d}"
    for s in h.scheduled:
        book(s.day, s.amount_fen)
    payroll_yuan = Decimal(24_000_000)
    number = 0
    day = start
    while day <= end:
        amount = _fen(1_400_000 * growth(day) * WEEKDAY[day.weekday()] * SEASON[day.month - 1]
                      * max(Decimal("0.5"), _draw(rng.gauss(1, noise))))
        h.patient.append(DailyAmount(day, amount))
        book(day, amount)
        if day.weekday() < 5:
            for category, (share, term) in SUPPLIER_CATEGORIES.items():
                total = 2_600_000 * growth(day) * share * max(Decimal("0.3"), _draw(rng.gauss(1, 0.2)))
                count = rng.randint(2, 5)
                for _ in range(count):
                    number += 1
                    invoice = Payable(f"INV{number:07d}", f"S{rng.randint(1, 60):03d}", category, day,
                                      _fen(total / count), day + timedelta(days=term))
                    paid_on = banking_day(day + timedelta(days=term))
                    h.invoices.append((invoice, paid_on))
                    book(paid_on, -invoice.amount_fen)
        if day.day == 1:
            if day.month == 1 and day != start:
                payroll_yuan *= Decimal("1.03")
            pay = banking_day(day_in_month(day.year, day.month, PAYDAY))
            amount = _fen(payroll_yuan * _draw(rng.uniform(0.995, 1.005)))
            h.payroll.append(DailyAmount(pay, amount))
            book(pay, -amount)
        if day == month_end(month_key(day)):
            service = month_key(day)
            for kind, (monthly, parts) in INSURANCE_TYPES.items():
                billed = _fen(monthly * growth(day) * _draw(rng.uniform(0.96, 1.04)))
                h.billed[(kind, service)] = billed
                left = billed
                for i, (share, lag, jitter) in enumerate(parts):
                    amount = left if i == len(parts) - 1 else fen(billed * share)
                    left -= amount
                    paid_on = banking_day(day + timedelta(days=lag + rng.randint(-jitter, jitter)))
                    h.collections.append(InsuranceCollection(kind, service, paid_on, amount))
                    book(paid_on, amount)
        day += timedelta(days=1)
    h.payroll = [p for p in h.payroll if p.day <= end]
    h.collections = [c for c in h.collections if c.collected_on <= end]
    return h
