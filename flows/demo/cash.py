"""The cash forecast's part of the demo: two years of generated cash history, the week's forecast from the demo
bank statement, the chief accountant's alert when the balance falls below the minimum, and the report.

The history (patient receipts, insurance collections per type and service month, payroll, supplier invoices and
the insurance aging on the forecast day) comes from the seeded sample hospital (:mod:`smartfin.cashflow.samples`)
and is imported through the forecast's own file imports, so it is checked like a clerk's files. It is imported
once: a second demo run finds the demo's imports and adds nothing; the ``cash-forecast`` flow answers a day it
has forecast from the stored runs and opens each alert once.

The opening balance is the demo bank statement's closing balance (about ¥30–40 million against a minimum of
¥30 million in ``rules/cash/policy.csv``); the invoices include a CT scanner of ¥25 million accepted three weeks
before the forecast day and due on the policy term, so the forecast falls below the minimum and ``liu.yang``
finds a 资金预警 task with the payroll, the scanner and the other driver items.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import Session, col, select

from flows.demo.reconciliation import demo_bank_accounts
from flows.demo.runs import run_flow
from smartfin.app.cash import forecast_accounts, statement_balances
from smartfin.cashflow.imports import import_cash_file
from smartfin.cashflow.model import ForecastRefused, month_end
from smartfin.cashflow.samples import SampleHospital, generate_hospital
from smartfin.cashflow.sources import openings_at
from smartfin.cashflow.tables import CashAlert, CashImport
from smartfin.kernel.money import from_fen
from smartfin.kernel.settings import Settings
from smartfin.kernel.spreadsheet import CellValue, csv_bytes
from smartfin.store.db import session_scope

ACTOR = "demo"
PREFIX = "demo-cash-"
HISTORY_DAYS = 2 * 365
PAYABLE_DAYS = 120     # the supplier invoices of the last four months: the open ones and the recent rate
SEED = 2026
EQUIPMENT_SUPPLIER = "医学影像设备有限公司 CT scanner supplier"
EQUIPMENT_YUAN = "25000000.00"


def _csv(header: list[str], rows: list[list[CellValue]]) -> bytes:
    return csv_bytes(header, rows)


def _yuan(fen: int) -> Decimal:
    return from_fen(fen)


def history_files(hospital: SampleHospital, as_of: date) -> dict[str, bytes]:
    """The sample hospital's history up to ``as_of`` as the forecast's three import files (kind → CSV)."""
    history: list[list[CellValue]] = [["patient-receipt", d.day, _yuan(d.amount_fen), "", ""]
                                   for d in hospital.patient if d.day <= as_of]
    history += [["insurance-collection", c.collected_on, _yuan(c.amount_fen), c.insurance_type, c.service_month]
                for c in hospital.collections if c.collected_on <= as_of]
    history += [["payroll", d.day, _yuan(d.amount_fen), "", ""] for d in hospital.payroll if d.day <= as_of]
    inputs = hospital.inputs_at(as_of)
    receivables = [[as_of, r.insurance_type, r.service_month, _yuan(r.outstanding_fen),
                    _yuan(r.billed_fen) if r.billed_fen is not None else ""] for r in inputs.receivables]
    since = as_of - timedelta(days=PAYABLE_DAYS)
    payables = [[p.reference, p.supplier, p.category, p.accepted_on, _yuan(p.amount_fen), p.due_on or "",
                 paid_on if paid_on <= as_of else ""]
                for p, paid_on in hospital.invoices if since < p.accepted_on <= as_of]
    # the CT scanner accepted three weeks ago, due on the policy term: the large payment the alert names
    payables.append([f"EQ-{as_of:%Y%m%d}", EQUIPMENT_SUPPLIER, "other", as_of - timedelta(days=21),
                     EQUIPMENT_YUAN, "", ""])
    return {"history": _csv(["kind", "date", "amount", "insurance_type", "service_month"], history),
            "receivables": _csv(["as_of", "insurance_type", "service_month", "outstanding", "billed"], receivables),
            "payables": _csv(["reference", "supplier", "category", "accepted_on", "amount", "due_on", "paid_on"],
                             payables)}


def demo_imports(session: Session) -> list[CashImport]:
    """The demo's earlier cash imports (their file names start with ``demo-cash-``)."""
    return list(session.exec(select(CashImport).where(col(CashImport.source).startswith(PREFIX))).all())


def load_history(as_of: date) -> int:
    """Import the generated history ending on ``as_of`` in one transaction, unless the demo did before; the
    number of rows imported (0 on a second run)."""
    with session_scope() as session:
        if demo_imports(session):
            return 0
        # the history ends on the forecast day and starts two years before, on a month's first day
        start = month_end(f"{as_of.year - 2}-{as_of.month:02d}") + timedelta(days=1)
        hospital = generate_hospital(start, (as_of - start).days + 1, seed=SEED)
        return sum(import_cash_file(session, kind, data, actor=ACTOR, filename=f"{PREFIX}{kind}-{as_of}.csv").rows
                   for kind, data in history_files(hospital, as_of).items())


def cash_forecast_demo(settings: Settings, echo: Callable[[str], None], chief: str) -> list[tuple[str, str]]:
    """Load the history, forecast from the latest demo statement with the ``cash-forecast`` flow, and tell the
    chief accountant where the alert and the report are."""
    with demo_bank_accounts(settings):
        with session_scope() as session:
            statements = statement_balances(session)
            try:
                as_of, _ = openings_at(statements, forecast_accounts(statements))
            except ForecastRefused as exc:
                echo(f"cash forecast: not made — {exc}")
                return [(chief, f"资金预测 cash forecast: not made in this demo ({exc})")]
        rows = load_history(as_of)
        echo(f"cash forecast: {rows} rows of generated history imported" if rows
             else "cash forecast: the generated history was imported by an earlier demo run")
        result = run_flow("cash-forecast", as_of)
    echo(f"  cash-forecast as of {as_of}: runs {result['runs']}, insurance receivables from "
         f"{result['receivables']}, alert {result['alert'] or 'none (no breach or already open)'}")
    with session_scope() as session:
        alerts = session.exec(select(CashAlert).where(col(CashAlert.run_id).in_(result["runs"]))).all()
        keys = [a.business_key for a in alerts]
    report = f"report {result['report']} (Excel: {result['workbook']})"
    if keys:
        return [(chief, f"Tasklist {settings.tasklist_url} → 资金预警 Cash alert {', '.join(keys)}: the 13-week "
                        f"forecast as of {as_of} falls below the minimum balance; decide a measure or accept the "
                        f"risk, with the driver items in front of you — {report}; again with `smartfin flows run "
                        "cash-forecast`")]
    return [(chief, f"资金预测 cash forecast as of {as_of}: no week below the minimum balance — {report}")]
