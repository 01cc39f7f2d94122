"""Daily three-way reconciliation of the hospital: HIS ↔ payment channels ↔ bank, and the patient
prepayment close (一日一结、一日一对).

One flow run per business day. The channels settle into the bank on T+1, so the day reconciled by
default is the day before yesterday: its T+1 statement arrived yesterday. Inputs come from the day
folder (see :mod:`flows.sources`); the T+1 bank lines from the settlement account's statement folder.

Every outcome is stored as a run: a day without any file is an explicit ``NO_DATA`` exception; a refused
or missing input (bad encoding, missing column, no HIS export, no T+1 statement) an ``INPUT_REJECTED``
exception, and the flow run fails naming it — the settlement level is never checked against an absent
statement.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from sqlmodel import select

from extractors.exports.reconciliation import read_cash_export, read_his_export, read_prepayment
from extractors.statements import (
    ColumnMap,
    NoStatementData,
    StatementError,
    StatementProblem,
    parse_channel_bill,
    parse_statement,
)
from flows.bank import ReconciliationInputRejected, open_review_task
from flows.sources import bank_day_dir, channel_files, statement_files, three_way_day_dir
from smartfin.kernel.clock import hospital_now, utc_now
from smartfin.kernel.money import from_fen
from smartfin.kernel.settings import BankAccount, FlowSettings, get_settings
from smartfin.kernel.spreadsheet import SpreadsheetFormat, write_export
from smartfin.reconciliation import ThreeWaySettings, close_prepayment_days, reconcile_three_way
from smartfin.reconciliation.models import ReconciliationRun, ReconException
from smartfin.reconciliation.store import exceptions_frame, save_input_problem, save_three_way_run
from smartfin.reconciliation.threeway import ExceptionType
from smartfin.reconciliation.workbook import three_way_exceptions_xlsx
from smartfin.store.db import session_scope

PRIOR_PAYMENT_DAYS = 30


@dataclass
class ThreeWayOutcome:
    hospital: str
    business_date: str
    outcome: str
    run_id: int | None = None
    his_records: int = 0
    channel_lines: int = 0
    bank_lines: int = 0
    auto_matched: int = 0
    exceptions: int = 0
    problem: str = ""
    review_key: str | None = None


@dataclass(frozen=True)
class DayInputs:
    his: pd.DataFrame
    bills: pd.DataFrame
    bank_lines: pd.DataFrame
    cash: pd.DataFrame | None
    prior_payments: pd.DataFrame
    prepayment: tuple[pd.DataFrame, pd.DataFrame] | None
    fingerprints: list[str]


def default_business_date(settlement_lag_days: int = 1) -> date:
    """The latest day whose T+lag bank statement has arrived (it is downloaded the morning after)."""

    return (hospital_now() - timedelta(days=1 + settlement_lag_days)).date()


def settlement_account(settings: FlowSettings) -> BankAccount:
    """The account the payment channels settle into: ``SMARTFIN_SETTLEMENT_ACCOUNT``, else the first account."""
    if settings.settlement_account:
        return settings.account(settings.settlement_account)
    if not settings.bank_accounts:
        raise ValueError("未配置结算账户 / no settlement account: set SMARTFIN_BANK_ACCOUNTS "
                         "(and SMARTFIN_SETTLEMENT_ACCOUNT)")
    return settings.bank_accounts[0]


def load_day_inputs(settings: FlowSettings, day: date, lag: int) -> DayInputs | None:
    """Read and check every input of ``day``; None when the day folder holds no file at all.

    Raises :class:`StatementError` naming the file (and row/column) of the first refused input.
    """
    folder = three_way_day_dir(settings.recon_root, settings.hospital, day)
    if not folder.is_dir() or not any(p.is_file() for p in folder.iterdir()):
        return None
    his_file = folder / "his.csv"
    if not his_file.exists():
        raise StatementError.single("his.csv", f"HIS 收费记录缺失 / the HIS export of {day} is missing in {folder}")
    his = read_his_export(his_file)
    bills = []
    for channel, paths in channel_files(folder).items():
        cmap = ColumnMap.load(channel)
        for path in paths:
            try:
                bills.append(parse_channel_bill(path, cmap))
            except NoStatementData:
                continue
    bill_frame = (pd.concat(bills, ignore_index=True) if bills else
                  pd.DataFrame({c: pd.Series(dtype="int64" if c.endswith("_fen") else object) for c in (
                      "channel", "channel_txn_id", "order_id", "refund_id", "kind", "amount_fen", "fee_fen",
                      "occurred_at")}))
    account = settlement_account(settings)
    settle_day = day + timedelta(days=lag)
    statement_dir = bank_day_dir(settings.recon_root, account.account, settle_day)
    files = statement_files(statement_dir)
    if not files:
        raise StatementError([StatementProblem(
            f"statement of {settle_day}", f"T+{lag} 银行对账单缺失 / the bank statement of {settle_day} "
            f"(account {account.account}) is missing in {statement_dir}; the settlement level cannot be checked")])
    lines, fingerprints = [], []
    for path in files:
        try:
            statement = parse_statement(path, account=account.account, currency=account.currency,
                                        bank=account.bank)
        except NoStatementData:
            continue
        lines.append(statement.lines)
        fingerprints.append(statement.fingerprint)
    bank_lines = (pd.concat(lines, ignore_index=True) if lines else
                  pd.DataFrame({"line_id": [], "booked_at": pd.to_datetime([]).tz_localize("Asia/Shanghai"),
                                "amount_fen": pd.Series(dtype="int64"), "reference": [],
                                "counterparty_name": []}))
    cash_file = folder / "cash.csv"
    cash = read_cash_export(cash_file) if cash_file.exists() else None
    prior = []
    for back in range(1, PRIOR_PAYMENT_DAYS + 1):
        earlier = three_way_day_dir(settings.recon_root, settings.hospital, day - timedelta(days=back)) / "his.csv"
        if earlier.exists():
            frame = read_his_export(earlier)
            prior.append(frame.loc[frame["kind"] == "payment", ["channel", "order_id", "amount_fen"]])
    prior_frame = (pd.concat(prior, ignore_index=True) if prior
                   else pd.DataFrame({"channel": [], "order_id": [], "amount_fen": pd.Series(dtype="int64")}))
    balances_file, movements_file = folder / "prepayment-balances.csv", folder / "prepayment-movements.csv"
    prepayment = (read_prepayment(balances_file, movements_file)
                  if balances_file.exists() and movements_file.exists() else None)
    return DayInputs(his, bill_frame, bank_lines, cash, prior_frame, prepayment, fingerprints)


@task(name="reconcile-three-way-day", retries=2, retry_delay_seconds=30, timeout_seconds=1800,
      cache_policy=NO_CACHE, task_run_name="three-way {day}")
def reconcile_day(day: date, settings: ThreeWaySettings | None = None) -> ThreeWayOutcome:
    """Reconcile one day at the transaction, settlement, cashier and prepayment levels; store the run."""
    log = get_run_logger()
    flow_settings = get_settings().flows
    hospital = flow_settings.hospital
    s = settings or ThreeWaySettings()
    try:
        inputs = load_day_inputs(flow_settings, day, s.settlement_lag_days)
    except StatementError as exc:
        log.error("three-way input refused for %s: %s", day, exc)
        detail = f"输入被拒收 / input refused: {exc}"
        with session_scope() as session:
            run = save_input_problem(session, kind="three-way", scope=hospital, business_date=day,
                                     etype=ExceptionType.INPUT_REJECTED, detail=detail,
                                     references=sorted({p.file for p in exc.problems}), outcome="input_rejected")
            return ThreeWayOutcome(hospital, day.isoformat(), "input_rejected", run.id,
                                   exceptions=run.exception_count, problem=detail)
    if inputs is None:
        detail = f"当日无对账文件 / no reconciliation file for {day}"
        log.warning(detail)
        with session_scope() as session:
            run = save_input_problem(session, kind="three-way", scope=hospital, business_date=day,
                                     etype=ExceptionType.NO_DATA, detail=detail, references=[f"{hospital}:{day}"],
                                     outcome="no_data")
            return ThreeWayOutcome(hospital, day.isoformat(), "no_data", run.id, exceptions=run.exception_count,
                                   problem=detail)
    started = utc_now()
    result = reconcile_three_way(inputs.his, inputs.bills, inputs.bank_lines, business_date=day,
                                 cash_deposits=inputs.cash, prior_payments=inputs.prior_payments, settings=s)
    extra: list[dict[str, Any]] = []
    if inputs.prepayment is not None:
        close = close_prepayment_days(*inputs.prepayment)
        extra = close.exceptions.to_dict("records")
    with session_scope() as session:
        run = save_three_way_run(session, result, hospital=hospital, fingerprints=inputs.fingerprints,
                                 started_at=started, exceptions=extra)
        outcome = ThreeWayOutcome(hospital, day.isoformat(), result.outcome, run.id, his_records=len(inputs.his),
                                  channel_lines=len(inputs.bills), bank_lines=len(inputs.bank_lines),
                                  auto_matched=run.auto_matched_count, exceptions=run.exception_count)
    if not result.settlements.empty:
        table = result.settlements.drop(columns=["bank_line_ids"]).copy()
        for column in ("gross_fen", "fees_fen", "net_fen", "bank_fen", "difference_fen"):
            table[column.removesuffix("_fen")] = [str(from_fen(int(v))) for v in table.pop(column)]
        create_table_artifact(table.to_dict("records"), key="three-way-settlement",
                              description=f"渠道结算 Channel settlement {day} (元)")
    log.info("three-way %s: %d HIS records, %d auto-matched, %d exceptions", day, len(inputs.his),
             outcome.auto_matched, outcome.exceptions)
    return outcome


def three_way_workbook_path(day: date) -> Path:
    """Where the day's three-way exceptions workbook is written: ``<reports>/three-way/<day>/``."""
    return get_settings().flows.reports_root / "three-way" / day.isoformat() / f"three-way-{day.isoformat()}.xlsx"


def write_three_way_workbook(day: date, run_id: int) -> Path:
    """The run's exceptions by type and status and one by one, as one workbook (a rerun of the day replaces it);
    ``smartfin flows run three-way-daily --xlsx`` hands the same file out."""
    with session_scope() as session:
        run = session.get(ReconciliationRun, run_id)
        if run is None:
            raise LookupError(f"no reconciliation run {run_id}")
        exceptions = session.exec(select(ReconException).where(ReconException.run_id == run_id)
                                  .order_by(ReconException.id)).all()  # type: ignore[arg-type]
        data = three_way_exceptions_xlsx(run, exceptions)
    path = three_way_workbook_path(day)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_export(path, data, SpreadsheetFormat.XLSX, replace=True)


@flow(name="daily-three-way-reconciliation", log_prints=True, timeout_seconds=3600)
def daily_three_way_reconciliation(business_date: date | None = None, open_reviews: bool = True,
                                   settings: ThreeWaySettings | None = None) -> dict[str, Any]:
    """One day of HIS ↔ channel ↔ bank reconciliation; exceptions go to finance for review."""
    s = settings or ThreeWaySettings()
    day = business_date or default_business_date(s.settlement_lag_days)
    outcome = reconcile_day(day, s)
    if open_reviews and outcome.run_id is not None and outcome.exceptions:
        outcome.review_key = open_review_task(outcome.run_id)
    create_table_artifact([asdict(outcome)], key="three-way-reconciliation",
                          description=f"三方对账 Three-way reconciliation {day}")
    workbook = write_three_way_workbook(day, outcome.run_id) if outcome.run_id is not None else None
    if outcome.exceptions:
        with session_scope() as session:
            frame = exceptions_frame(session, outcome.run_id or 0)
        counts = frame.groupby(["type", "status"]).size().reset_index(name="count")
        create_markdown_artifact(
            f"# 三方对账差异 Three-way exceptions {day}\n\n| type | status | count |\n|---|---|---:|\n"
            + "\n".join(f"| {r.type} | {r.status} | {r.count} |" for r in counts.itertuples()),
            key="three-way-exceptions")
    if outcome.outcome == "input_rejected":
        raise ReconciliationInputRejected(f"三方对账输入被拒收 / three-way inputs refused for {day}: {outcome.problem}")
    return {**asdict(outcome), "workbook": str(workbook) if workbook else None}

