"""The cash forecast put together: which sources feed it, one day's runs and alert, and its report files.

This is where the forecast's seams are chosen (``receivable_source``, ``encumbrance_source``): the insurance
settlement's receivables ledger once it has booked anything, else the imported aging snapshot
(``ImportedReceivables``); the contracts' payment schedules with the budget journal's encumbrances. The CLI and
the ``cash-forecast`` flow both call ``forecast_day``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlmodel import Session, col, select

from smartfin.app.cash_sources import ContractEncumbrances, InsuranceLedgerReceivables, insurance_ledger_exists
from smartfin.camunda.client import EngineClient
from smartfin.cashflow.model import BASE, Scenario
from smartfin.cashflow.report import forecast_html, forecast_workbook
from smartfin.cashflow.runs import list_runs, run_forecast
from smartfin.cashflow.sources import (
    EncumbranceSource,
    ImportedReceivables,
    ReceivableSource,
    StatementBalance,
    load_inputs,
    openings_at,
)
from smartfin.cashflow.tables import CashForecastRun
from smartfin.kernel.settings import get_settings
from smartfin.kernel.spreadsheet import SpreadsheetFormat, write_export
from smartfin.processes.cashalert.alerts import open_cash_alert
from smartfin.reconciliation.models import StatementImport
from smartfin.store.db import session_scope

IMPORTED_RECEIVABLES = "imported aging snapshot (cash import receivables/history)"


def receivable_source(session: Session) -> tuple[ReceivableSource, str]:
    """The insurance receivables and collections the forecast reads, and their name for the clerk: the insurance
    settlement's receivables ledger when it has entries, the imported stand-in otherwise."""
    if insurance_ledger_exists(session):
        return InsuranceLedgerReceivables(), InsuranceLedgerReceivables.name
    return ImportedReceivables(), IMPORTED_RECEIVABLES


def encumbrance_source() -> EncumbranceSource:
    """The commitments and their payment dates: contracts on their open scheduled payments, the rest by rule."""
    return ContractEncumbrances()


def statement_balances(session: Session) -> list[StatementBalance]:
    """Every imported bank statement's closing balance (the bank flow's ``recon_statement_import``)."""
    rows = session.exec(select(StatementImport).order_by(col(StatementImport.account),
                                                         col(StatementImport.period_end))).all()
    return [StatementBalance(r.account, r.period_end, r.closing_balance_fen) for r in rows]


def forecast_accounts(statements: Sequence[StatementBalance]) -> list[str]:
    """The configured bank accounts (SMARTFIN_BANK_ACCOUNTS); without configuration, those with statements."""
    configured = [a.account for a in get_settings().flows.bank_accounts]
    return configured or sorted({s.account for s in statements})


@dataclass(frozen=True)
class ForecastDay:
    """The runs of one day (base first) and the alert opened for the base's breach, if any."""

    as_of: date
    run_ids: tuple[int, ...]
    new: tuple[bool, ...]
    alert: str | None
    receivables: str = IMPORTED_RECEIVABLES


def forecast_day(*, actor: str, as_of: date | None = None, scenarios: Sequence[Scenario] = (),
                 open_alert: bool = False, engine: EngineClient | None = None) -> ForecastDay:
    """Forecast the base and ``scenarios`` from the bank statements of ``as_of`` (default: the latest day every
    account has a statement), store the runs, and open the chief accountant's alert when the base breaches."""
    with session_scope() as session:
        statements = statement_balances(session)
        day, openings = openings_at(statements, forecast_accounts(statements), as_of)
        receivables, origin = receivable_source(session)
        inputs, policy = load_inputs(session, day, openings, receivables=receivables,
                                     encumbrances=encumbrance_source())
        made = [run_forecast(session, inputs, policy, scenario, actor=actor) for scenario in (BASE, *scenarios)]
        ids = tuple(run.id for run, _ in made if run.id is not None)
        new = tuple(is_new for _, is_new in made)
    alert = open_cash_alert(ids[0], engine=engine) if open_alert else None
    return ForecastDay(day, ids, new, alert, origin)


def runs_of_day(session: Session, as_of: date) -> list[CashForecastRun]:
    """The stored runs of a day, base first."""
    runs = list_runs(session, as_of)
    return sorted(runs, key=lambda r: (r.scenario != BASE.name, r.id or 0))


def _stored_runs(session: Session, as_of: date) -> list[CashForecastRun]:
    runs = runs_of_day(session, as_of)
    if not runs:
        raise LookupError(f"no forecast run stored for {as_of}")
    return runs


def forecast_workbook_of_day(as_of: date) -> bytes:
    """The titled 13-week forecast workbook of the runs stored for ``as_of`` (``smartfin cash report --xlsx``);
    LookupError when that day has no run."""
    with session_scope() as session:
        return forecast_workbook(_stored_runs(session, as_of))


def write_forecast_report(as_of: date, folder: Path | None = None, *, replace: bool = True) -> tuple[Path, Path]:
    """The day's HTML report and Excel workbook, under ``folder`` (default: the reports folder's ``cash/``)."""
    target = folder or get_settings().flows.reports_root / "cash"
    target.mkdir(parents=True, exist_ok=True)
    with session_scope() as session:
        runs = _stored_runs(session, as_of)
        html, book = forecast_html(runs), forecast_workbook(runs)
    page = target / f"cash-forecast-{as_of}.html"
    page.write_text(html, encoding="utf-8")
    workbook = write_export(target / f"cash-forecast-{as_of}.xlsx", book, SpreadsheetFormat.XLSX, replace=replace)
    return page, workbook
