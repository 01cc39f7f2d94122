"""The demo's generated cash history is accepted by the forecast's own imports and, from a balance like the demo
bank statement's, takes the forecast below the minimum so the chief accountant has an alert to work."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import smartfin.app.tables  # noqa: F401  (registers every table)
from flows.demo.cash import EQUIPMENT_SUPPLIER, PREFIX, SEED, demo_imports, history_files
from smartfin.cashflow.imports import import_cash_file
from smartfin.cashflow.model import OpeningBalance, first_breach, forecast
from smartfin.cashflow.samples import generate_hospital
from smartfin.cashflow.sources import load_inputs
from smartfin.kernel.money import to_fen
from tests.support.databases import engine, pg_engine, sqlite_engine  # noqa: F401

AS_OF = date(2026, 11, 29)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:  # noqa: F811
    with Session(engine) as session:
        yield session


def test_the_generated_history_imports_and_breaches_the_minimum(session: Session) -> None:
    start = date(2024, 12, 1)
    hospital = generate_hospital(start, (AS_OF - start).days + 1, seed=SEED)
    files = history_files(hospital, AS_OF)
    for kind, data in files.items():
        import_cash_file(session, kind, data, actor="demo", filename=f"{PREFIX}{kind}-{AS_OF}.csv")
    session.commit()
    assert len(demo_imports(session)) == 3
    opening = OpeningBalance("DEMO", AS_OF, 45_000_000_00)     # above the demo statement's ¥30–40 million
    inputs, policy = load_inputs(session, AS_OF, [opening])
    assert len(inputs.patient_history) == (AS_OF - start).days + 1
    assert {r.insurance_type for r in inputs.receivables} == {"employee", "resident", "off-site"}
    assert inputs.payables and all(p.accepted_on <= AS_OF for p in inputs.payables)
    result = forecast(inputs)
    breach = first_breach(result, to_fen(policy.minimum_balance))
    assert breach is not None and breach.start <= AS_OF + timedelta(days=7 * 13)
    assert any(EQUIPMENT_SUPPLIER in line for line in (p.supplier for p in inputs.payables))
    # nothing of the future leaks into the files
    assert str(AS_OF + timedelta(days=1)) not in files["history"].decode()
