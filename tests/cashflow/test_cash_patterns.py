"""The forecast's patterns and flows against figures worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from smartfin.cashflow.model import (
    INSURANCE,
    PATIENT,
    PAYROLL,
    SUPPLIERS,
    DailyAmount,
    ForecastInputs,
    ForecastRefused,
    InsuranceCollection,
    InsuranceReceivable,
    OpeningBalance,
    Payable,
    Scenario,
    ScheduledFlow,
    banking_day,
    due_day,
    first_breach,
    forecast,
    learn_lags,
    learn_receipts,
    split_fen,
)


def close(a: Decimal, b: Decimal) -> bool:
    """Equal up to Decimal's 28-digit arithmetic (a ratio of ratios rounds in the last digits)."""
    return abs(a - b) < Decimal("1e-20")


WEEK = {0: 100_00, 1: 100_00, 2: 100_00, 3: 100_00, 4: 100_00, 5: 40_00, 6: 30_00}


def _weeks(start: date, days: int) -> list[DailyAmount]:
    return [DailyAmount(start + timedelta(days=i), WEEK[(start + timedelta(days=i)).weekday()]) for i in range(days)]


def test_weekday_pattern_by_hand() -> None:
    # eight weeks of ¥100 on weekdays, ¥40 on Saturdays, ¥30 on Sundays: mean 570/7 a day; Monday's factor is
    # 100 / (570/7) = 700/570, the level 570/7, so Monday is expected at exactly ¥100 and Sunday at ¥30
    history = _weeks(date(2026, 9, 7), 56)           # a Monday
    pattern = learn_receipts(history, date(2026, 11, 1))
    assert not pattern.seasonal
    assert close(pattern.weekday[0], Decimal(700_00) / Decimal(570_00))
    assert close(pattern.level, Decimal(570_00) / 7)
    assert round(pattern.expected(date(2026, 11, 2))) == 100_00    # Monday
    assert round(pattern.expected(date(2026, 11, 8))) == 30_00     # Sunday


def test_month_pattern_by_hand() -> None:
    # 2025 with ¥200 every day of January and ¥100 every other day: mean 39,600/365; January's factor
    # 200 / (39,600/365) = 73,000/39,600, the others 36,500/39,600; no weekday pattern; next January is ¥200
    history = [DailyAmount(date(2025, 1, 1) + timedelta(days=i), 200_00 if i < 31 else 100_00) for i in range(365)]
    pattern = learn_receipts(history, date(2025, 12, 31))
    assert pattern.seasonal
    assert close(pattern.month[0], Decimal(73_000) / Decimal(39_600))
    assert close(pattern.month[1], Decimal(36_500) / Decimal(39_600))
    assert all(close(w, Decimal(1)) for w in pattern.weekday)
    assert round(pattern.expected(date(2026, 1, 14))) == 200_00
    assert round(pattern.expected(date(2026, 2, 14))) == 100_00


def test_too_short_history_names_what_is_missing_and_the_horizon() -> None:
    with pytest.raises(ForecastRefused, match=r"patient receipts: 20 day\(s\).*56 needed.*14-day.*13-week"):
        learn_receipts(_weeks(date(2026, 10, 1), 20), date(2026, 10, 20))


EMPLOYEE = [InsuranceCollection("employee", "2025-01", date(2025, 3, 10), 700_00),    # 38 days after 31 Jan
            InsuranceCollection("employee", "2025-01", date(2025, 4, 11), 300_00)]    # 70 days


def test_collection_lags_by_hand() -> None:
    lags = learn_lags(EMPLOYEE, date(2025, 9, 30))["employee"]
    assert lags.shares == ((38, Decimal("0.7")), (70, Decimal("0.3")))
    assert lags.monthly_fen == 1000_00
    # a month too young to be complete is not learnt from: its fast advance would make the fund look faster
    assert learn_lags(EMPLOYEE, date(2025, 6, 1)) == {}
    # advance paid, 40 days after the month end: the 30 % left comes at lag 70
    assert lags.remaining(40, Decimal("0.7")) == [(70, Decimal("0.3"))]
    # nothing paid 40 days after: the advance is late and expected at once, the rest at lag 70
    assert lags.remaining(40, Decimal(0)) == [(41, Decimal("0.7")), (70, Decimal("0.3"))]


def _inputs(**changes: object) -> ForecastInputs:
    base = ForecastInputs(
        as_of=date(2025, 10, 10), openings=(OpeningBalance("A1", date(2025, 10, 10), 5_000_00),),
        patient_history=tuple(_weeks(date(2025, 8, 11), 61)), insurance_history=tuple(EMPLOYEE),
        receivables=(InsuranceReceivable("employee", "2025-08", 300_00, 1000_00),),
        payables=(Payable("INV1", "S1", "centralised-drugs", date(2025, 9, 20), 250_00),),
        purchase_history=(), payroll_history=(DailyAmount(date(2025, 9, 10), 2_000_00),),
        encumbrances=(), scheduled=(), payment_terms={"centralised-drugs": 30}, payday=10)
    return ForecastInputs(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_flows_by_hand() -> None:
    result = forecast(_inputs())
    flows = {(f.day, f.category): f.amount_fen for f in result.flows if f.category != PATIENT}
    # 30 % of August's employee receivable, 70 days after 31 Aug = Sun 9 Nov → Monday 10 Nov
    assert flows[(date(2025, 11, 10), INSURANCE)] == 300_00
    # the drug invoice accepted on 20 Sep, due within the 30-day term: Mon 20 Oct
    assert flows[(date(2025, 10, 20), SUPPLIERS)] == -250_00
    # payroll on the 10th as last paid: 10 Nov (Monday) and 10 Dec (Wednesday)
    assert flows[(date(2025, 11, 10), PAYROLL)] == -2_000_00
    assert flows[(date(2025, 12, 10), PAYROLL)] == -2_000_00
    # October's services (not receivable yet) at the learnt monthly ¥1,000: 70 % 38 days after 31 Oct = Mon 8 Dec;
    # its 30 % 70 days after = Fri 9 Jan (the horizon's last day); November's 70 % on Wed 7 Jan; September,
    # ended and not in the aging snapshot, owes nothing
    assert flows[(date(2025, 12, 8), INSURANCE)] == 700_00
    assert flows[(date(2026, 1, 7), INSURANCE)] == 700_00
    assert flows[(date(2026, 1, 9), INSURANCE)] == 300_00
    assert sum(v for (_, c), v in flows.items() if c == INSURANCE) == 2000_00
    # the first week (Sat 11 Oct – Fri 17 Oct): patient receipts 40+30+5×100 = ¥570, nothing else
    week = result.weeks[0]
    assert (week.start, week.end) == (date(2025, 10, 11), date(2025, 10, 17))
    assert week.by_category == {PATIENT: 570_00}
    assert week.closing_fen == 5_570_00
    assert [d.closing_fen for d in result.days[:2]] == [5_040_00, 5_070_00]
    assert result.weeks[1].opening_fen == week.closing_fen


def test_insurance_scenario_moves_the_money_thirty_days_later() -> None:
    base = forecast(_inputs())
    late = forecast(Scenario("insurance late", insurance_delay_days=30).apply(_inputs()))
    assert [(f.day, f.amount_fen) for f in late.flows if f.category == INSURANCE] == [(date(2025, 12, 9), 300_00),
                                                                                 (date(2026, 1, 7), 700_00)]
    assert sum(f.amount_fen for f in late.flows if f.category == INSURANCE) < \
        sum(f.amount_fen for f in base.flows if f.category == INSURANCE)


def test_equipment_payment_breaches_the_minimum_from_its_week() -> None:
    payment = ScheduledFlow("other", date(2025, 10, 29), -6_000_00, "CT scanner")
    result = forecast(Scenario("ct", extra=(payment,)).apply(_inputs()))
    breach = first_breach(result, 1_000_00)
    assert breach is not None and breach.start <= date(2025, 10, 29) <= breach.end
    assert result.drivers(breach.start, breach.end)[0].driver == "CT scanner"
    assert first_breach(forecast(_inputs()), 1_000_00) is None


def test_receivables_of_an_insurance_type_without_history_are_refused() -> None:
    with pytest.raises(ForecastRefused, match=r"no collection history.*resident.*limits every week"):
        forecast(_inputs(receivables=(InsuranceReceivable("resident", "2025-08", 500_00),)))


def test_no_payroll_history_and_no_schedule_is_refused_naming_the_pay_day() -> None:
    with pytest.raises(ForecastRefused, match=r"payroll: no payroll paid.*2025-11-10"):
        forecast(_inputs(payroll_history=()))


def test_split_keeps_every_fen() -> None:
    parts = split_fen(100, [("a", Decimal(1)), ("b", Decimal(1)), ("c", Decimal(1))])
    assert sorted(p for _, p in parts) == [33, 33, 34]
    assert banking_day(date(2025, 11, 9)) == date(2025, 11, 10)


def test_a_payroll_schedule_replaces_the_last_amount_paid_and_missing_purchases_are_warned() -> None:
    raise_in_december = ScheduledFlow(PAYROLL, date(2025, 12, 10), -2_100_00, "工资 payroll with the raise")
    result = forecast(_inputs(scheduled=(raise_in_december,)))
    payroll = [(f.day, f.amount_fen) for f in result.flows if f.category == PAYROLL]
    # 10 Jan 2026 is a Saturday: paid on Monday 12 Jan, after the horizon's last day (9 Jan)
    assert payroll == [(date(2025, 11, 10), -2_000_00), (date(2025, 12, 10), -2_100_00)]
    assert any("supplier invoices: none accepted" in w for w in result.warnings)


def test_without_insurance_history_the_forecast_says_it_expects_no_insurance_money() -> None:
    result = forecast(_inputs(insurance_history=(), receivables=()))
    assert not [f for f in result.flows if f.category == INSURANCE]
    assert any("insurance: no collection history" in w and "no insurance money" in w for w in result.warnings)


def test_the_policy_term_caps_a_later_due_date() -> None:
    terms = {"centralised-drugs": 30}
    late = Payable("INV2", "S2", "centralised-drugs", date(2025, 9, 20), 100_00, date(2025, 12, 31))
    early = Payable("INV3", "S2", "centralised-drugs", date(2025, 9, 20), 100_00, date(2025, 10, 1))
    other = Payable("INV4", "S3", "equipment-service", date(2025, 9, 20), 100_00, date(2025, 12, 31))
    assert due_day(late, terms) == date(2025, 10, 20)     # 30 days after acceptance, whatever the invoice says
    assert due_day(early, terms) == date(2025, 10, 1)
    with pytest.raises(ForecastRefused, match="no term for payable category 'equipment-service'"):
        due_day(other, terms)
    assert due_day(other, {**terms, "other": 45}) == date(2025, 12, 31)
