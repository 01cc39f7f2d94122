"""Integration fixtures: a budget for the test year, imported once into the session's database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smartfin.kernel.clock import hospital_now
from smartfin.ledger import import_budget
from smartfin.store.db import session_scope
from tests.support.master_data import restoring_master_data

YEAR = hospital_now().year

HEADER = ("fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,"
          "tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to\n")
BUDGET = HEADER + f"""\
{YEAR},T-CARD,30218,fiscal,,Cardiology materials,100000.00,control,0,0,90,{YEAR}-01-01,{YEAR}-12-31
{YEAR},T-MEET,30215,own,,Meetings,20000.00,control,0,0,80,{YEAR}-01-01,{YEAR}-12-31
{YEAR},T-REJ,30218,fiscal,,Rejections,50000.00,control,0,0,90,{YEAR}-01-01,{YEAR}-12-31
{YEAR},T-WD,30218,fiscal,,Withdrawals,50000.00,control,0,0,90,{YEAR}-01-01,{YEAR}-12-31
{YEAR},T-4EYES,30218,fiscal,,Four eyes,50000.00,control,0,0,90,{YEAR}-01-01,{YEAR}-12-31
{YEAR},T-SPLIT,30218,fiscal,,Splits,50000.00,control,0,0,90,{YEAR}-01-01,{YEAR}-12-31
{YEAR},T-ESC,30218,fiscal,,Escalation,50000.00,control,0,0,90,{YEAR}-01-01,{YEAR}-12-31
{YEAR},T-E2E,30218,fiscal,,Browser,50000.00,control,0,0,90,{YEAR}-01-01,{YEAR}-12-31
{YEAR},T-BENCH,30218,fiscal,,Latency,900000000.00,control,0,0,90,{YEAR}-01-01,{YEAR}-12-31
{YEAR},T-BX,30201,fiscal,,Claims,100000.00,control,0,0,90,{YEAR}-01-01,{YEAR}-12-31
{YEAR},T-BXLOW,30201,fiscal,,Claims short of budget,100.00,control,0,0,90,{YEAR}-01-01,{YEAR}-12-31
{YEAR},T-EQUIP,31003,own,,Equipment purchases,20000000.00,control,0,0,90,{YEAR}-01-01,{YEAR}-12-31
{YEAR},T-EQREJ,31003,fiscal,,Equipment rejections,1000000.00,control,0,0,90,{YEAR}-01-01,{YEAR}-12-31
"""


@pytest.fixture(scope="session")
def budget() -> int:
    with session_scope() as session:
        report = import_budget(session, BUDGET.encode(), actor="test", filename="test-budget.csv")
    assert report.ok, report.errors
    return YEAR


@pytest.fixture(autouse=True)
def master_data_as_found() -> Iterator[None]:
    """Departments a test loads are gone after it (see ``tests.support.master_data``)."""
    yield from restoring_master_data()


@pytest.fixture(autouse=True, scope="module")
def master_data_as_found_by_the_module() -> Iterator[None]:
    """The same for departments a module-scoped fixture loads: gone after the module."""
    yield from restoring_master_data()
