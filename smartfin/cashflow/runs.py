"""Making and storing forecast runs: the base and each named scenario, once per day, with the breach found.

A run is a record of what was forecast on a day and why (its parameters and drivers), so the chief accountant's
alert, the report and a later comparison with what happened all read the same numbers. Running the same day
and scenario again answers from the stored run.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, select

from rules.cash.dated import CashPolicy
from smartfin.cashflow.model import (
    BASE,
    ForecastInputs,
    Period,
    Scenario,
    ScheduledFlow,
    first_breach,
    forecast,
)
from smartfin.cashflow.tables import CashForecastRun
from smartfin.kernel.money import parse_amount, to_fen
from smartfin.store.audit import record_audit

EQUIPMENT = "other"
DRIVER_LIMIT = 10


class ScenarioRefused(ValueError):
    """A scenario given wrongly: names the option and the value."""


def _period(p: Period) -> dict[str, Any]:
    return {"start": p.start.isoformat(), "end": p.end.isoformat(), "openingFen": p.opening_fen,
            "byCategory": dict(p.by_category), "inflowFen": p.inflow_fen, "outflowFen": p.outflow_fen,
            "closingFen": p.closing_fen}


def scenario_from_options(name: str, *, insurance_delay_days: int = 0, payments: list[str] | None = None) -> Scenario:
    """A scenario from the command line: ``--insurance-delay-days 30`` and ``--payment 2027-01-15:12000000:CT-9``
    (date, yuan, label) for a large equipment payment; refuses a wrong value naming it."""
    name = name.strip()
    if not name or len(name) > 64:
        raise ScenarioRefused(f"scenario name {name!r}: 1–64 characters")
    if insurance_delay_days < 0 or insurance_delay_days > 365:
        raise ScenarioRefused(f"--insurance-delay-days {insurance_delay_days}: must be 0–365 days")
    extra = []
    for text in payments or []:
        parts = text.split(":", 2)
        if len(parts) < 2:
            raise ScenarioRefused(f"--payment {text!r}: write DATE:AMOUNT[:LABEL], e.g. 2027-01-15:12000000:CT-9")
        try:
            day = date.fromisoformat(parts[0].strip())
        except ValueError:
            raise ScenarioRefused(f"--payment {text!r}: date {parts[0]!r} is not YYYY-MM-DD") from None
        try:
            amount = parse_amount(parts[1].strip(), field="--payment amount")
        except ValueError as exc:
            raise ScenarioRefused(f"--payment {text!r}: {exc}") from None
        label = parts[2].strip() if len(parts) > 2 and parts[2].strip() else "大额设备付款 equipment payment"
        extra.append(ScheduledFlow(EQUIPMENT, day, -to_fen(amount), f"情景 scenario {name}: {label}"))
    if name == BASE.name and (insurance_delay_days or extra):
        raise ScenarioRefused("the name 'base' is kept for the forecast without changes: name the scenario")
    return Scenario(name, insurance_delay_days, tuple(extra))


def run_by(session: Session, as_of: date, scenario: str) -> CashForecastRun | None:
    return session.exec(select(CashForecastRun).where(CashForecastRun.as_of == as_of,
                                                      CashForecastRun.scenario == scenario)).first()


def list_runs(session: Session, as_of: date | None = None) -> list[CashForecastRun]:
    query = select(CashForecastRun)
    if as_of is not None:
        query = query.where(CashForecastRun.as_of == as_of)
    return list(session.exec(query.order_by(col(CashForecastRun.as_of).desc(), col(CashForecastRun.id))).all())


def run_forecast(session: Session, inputs: ForecastInputs, policy: CashPolicy, scenario: Scenario = BASE, *,
                 actor: str) -> tuple[CashForecastRun, bool]:
    """The stored run of ``scenario`` for ``inputs.as_of`` (made now, or as made before) and whether it is new."""
    known = run_by(session, inputs.as_of, scenario.name)
    if known is not None:
        if known.parameters.get("scenario") != _scenario_parameters(scenario):
            raise ScenarioRefused(f"scenario {scenario.name!r} of {inputs.as_of} was stored with other parameters "
                                  f"({known.parameters.get('scenario')}): give the new one another name")
        return known, False
    result = forecast(scenario.apply(inputs))
    minimum = to_fen(policy.minimum_balance)
    breach = first_breach(result, minimum)
    drivers = result.drivers(inputs.as_of + timedelta(days=1), breach.end, DRIVER_LIMIT) if breach else []
    row = CashForecastRun(
        as_of=inputs.as_of, scenario=scenario.name,
        parameters={"scenario": _scenario_parameters(scenario), "paymentTerms": dict(policy.payment_terms),
                    "payday": policy.payday, "minimumBalance": str(policy.minimum_balance),
                    "accounts": [o.account for o in inputs.openings]},
        opening_fen=result.opening_fen, minimum_fen=minimum,
        breach_start=breach.start if breach else None, breach_end=breach.end if breach else None,
        breach_closing_fen=breach.closing_fen if breach else None,
        days=[_period(p) for p in result.days], weeks=[_period(p) for p in result.weeks],
        drivers=[{"day": f.day.isoformat(), "category": f.category, "amountFen": f.amount_fen, "driver": f.driver}
                 for f in drivers],
        warnings=list(result.warnings), created_by=actor)
    session.add(row)
    session.flush()
    record_audit(session, actor=actor, action="cash-forecast", subject_type="cash-forecast-run", subject_id=row.id or 0,
                 details={"asOf": inputs.as_of.isoformat(), "scenario": scenario.name,
                          "breach": breach.start.isoformat() if breach else None})
    return row, True


def _scenario_parameters(scenario: Scenario) -> dict[str, Any]:
    return {"name": scenario.name, "insuranceDelayDays": scenario.insurance_delay_days,
            "extra": [{**asdict(item), "day": item.day.isoformat()} for item in scenario.extra]}

