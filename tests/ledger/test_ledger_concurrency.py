"""Many simultaneous reservations against one line never overspend it (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from smartfin.ledger import (
    BudgetExceeded,
    JournalEntry,
    balances,
    balances_from_entries,
    create_line,
    pre_encumber,
)
from smartfin.store.db import session_scope

from .conftest import KEY

THREADS = 60
BUDGET = "1000.00"
EACH = "150.00"    # 6 × 150 = 900 fits; a 7th would make 1,050
FITS = 6


def race(engine: Engine) -> Counter[str]:
    with session_scope(engine) as session:
        create_line(session, KEY, actor="planner", budget=BUDGET)
    barrier = threading.Barrier(THREADS, timeout=60)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def attempt(session: Session, n: int) -> str:
        try:
            pre_encumber(session, KEY, EACH, document_type="spending-request", document_no=f"REQ-{n:04d}",
                         actor=f"worker-{n}")
            session.commit()
            return "reserved"
        except BudgetExceeded:
            return "exceeded"
        except Exception as exc:  # anything else is a failure of the test, reported by the assertion
            return f"error: {type(exc).__name__}: {exc}"

    def reserve(n: int) -> None:
        if engine.dialect.name == "postgresql":
            # Connect before the start signal, so that all threads hit the line at the same moment
            # instead of being spread out by the time PostgreSQL takes to accept a connection.
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
                connection.commit()
                barrier.wait()
                with Session(bind=connection) as session:
                    outcome = attempt(session, n)
        else:
            # SQLite connections are instant; the pool (5 + 10) is smaller than the crowd, so threads
            # also queue for a connection, as the product's workers would.
            barrier.wait()
            with Session(engine) as session:
                outcome = attempt(session, n)
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=reserve, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def assert_never_overspent(engine: Engine, outcomes: Counter[str]) -> None:
    assert outcomes == Counter({"reserved": FITS, "exceeded": THREADS - FITS}), outcomes
    with Session(engine) as session:
        result = balances(session, KEY)
        entries = session.exec(select(JournalEntry)).all()
    assert result.pre_encumbrance == Decimal(EACH) * FITS
    assert result.available == Decimal(BUDGET) - Decimal(EACH) * FITS >= 0
    reservations = [e for e in entries if e.bucket == "pre_encumbrance"]
    assert len(reservations) == FITS
    assert len({e.document_no for e in reservations}) == FITS
    # The SQL sum agrees with folding the raw journal, entry by entry.
    assert balances_from_entries((e.bucket, e.amount_fen) for e in entries) == result
    assert sum(e.amount_fen for e in entries if e.bucket == "pre_encumbrance") == 150_00 * FITS


@pytest.mark.timeout(180)
def test_sqlite_reservations_never_overspend(sqlite_engine: Engine) -> None:
    assert_never_overspent(sqlite_engine, race(sqlite_engine))


@pytest.mark.postgres
@pytest.mark.timeout(180)
def test_postgres_reservations_never_overspend(pg_engine: Engine) -> None:
    assert_never_overspent(pg_engine, race(pg_engine))
