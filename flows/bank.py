"""Daily bank reconciliation: download each account's statement, match it with the bank journal, store
the run with its 余额调节表, and send the exceptions to finance for review.

One flow run per day (the batch), one task per account (the item). A refused file (wrong encoding,
missing columns, the same statement twice, an overlap, another currency) or a day without a statement
is stored as an explicit exception of that account's run and goes to review; the flow run then ends
*failed* naming every refused input, so nothing is a silent partial result. Re-running a day is
idempotent: statements already imported by that day's run are recognised, decided matches and
exceptions are kept, and no second review is opened for the same exceptions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from sqlmodel import Session, select

from extractors.exports.reconciliation import read_ledger_export
from extractors.statements import (
    NoStatementData,
    Statement,
    StatementError,
    StatementSpan,
    check_new_statement,
    parse_statement,
)
from flows.portal_limits import portal_session, retry_unless_refused
from flows.review import open_review
from flows.sources import bank_day_dir, statement_files
from smartfin.kernel.clock import hospital_yesterday, utc_now
from smartfin.kernel.settings import BankAccount, get_settings
from smartfin.kernel.spreadsheet import SpreadsheetFormat, write_export
from smartfin.reconciliation import BalanceStatement, MatchSettings, balance_statement_for, match_bank
from smartfin.reconciliation.models import Match, ReconciliationRun, ReconException, StatementImport
from smartfin.reconciliation.store import (
    bank_open_item_exceptions,
    import_statement,
    save_bank_run,
    save_input_problem,
    supersede_imports,
)
from smartfin.reconciliation.threeway import ExceptionType
from smartfin.reconciliation.workbook import AccountDay, bank_reconciliation_xlsx
from smartfin.store.db import session_scope

#: (account, business day, folder to save into) → the files saved; by default the online-bank bot
StatementDownloader = Callable[[BankAccount, date, Path], list[Path]]


class ReconciliationInputRejected(RuntimeError):
    """Some inputs of the day were refused; each is stored as an exception and named here."""


@dataclass
class AccountOutcome:
    """What one account's reconciliation of one day came to (the row of the run's summary table)."""

    account: str
    business_date: str
    outcome: str
    run_id: int | None = None
    statement_lines: int = 0
    ledger_entries: int = 0
    auto_matched: int = 0
    suggested: int = 0
    exceptions: int = 0
    balanced: bool | None = None
    balance_statement: dict[str, str] = field(default_factory=dict)
    problem: str = ""
    review_key: str | None = None


def portal_downloader() -> StatementDownloader:
    """The online-bank bot (``bots.bank.download_day_statements``) as a downloader.

    Files are saved under names starting with ``statement`` so the day folder tells them from the
    journal export.
    """
    from bots.bank import download_day_statements  # here, not at the top: only the portal source needs a browser

    def download(account: BankAccount, day: date, folder: Path) -> list[Path]:
        login = None if account.portal_account == "default" else account.portal_account
        saved = []
        for path in download_day_statements(account.account, day, folder, (account.statement_format,), login=login):
            if not path.name.lower().startswith("statement"):
                path = path.replace(path.with_name(f"statement-{path.name}"))
            saved.append(path)
        return saved

    return download


@task(name="download-statement", retries=3, retry_delay_seconds=[30, 120, 600], timeout_seconds=600,
      retry_condition_fn=retry_unless_refused, cache_policy=NO_CACHE, task_run_name="download {account.account} {day}")
def download_statement(account: BankAccount, day: date, downloader: StatementDownloader) -> list[str]:
    """Fetch one account's statement of ``day`` into its day folder, one portal session per login."""
    folder = bank_day_dir(get_settings().flows.recon_root, account.account, day)
    folder.mkdir(parents=True, exist_ok=True)
    with portal_session("bank", account.portal_account):
        saved = downloader(account, day, folder)
    get_run_logger().info("downloaded %d statement file(s) for %s %s", len(saved), account.account, day)
    return [str(p) for p in saved]


def _earlier_imports(session: Session, account: str, rerun_fingerprints: set[str]) -> list[StatementSpan]:
    rows = session.exec(select(StatementImport).where(StatementImport.account == account)).all()
    return [StatementSpan(f"import #{r.id} ({r.source})", r.account, r.fingerprint, r.period_start, r.period_end)
            for r in rows if r.fingerprint not in rerun_fingerprints]


def held_elsewhere(session: Session, account: str, day: date) -> tuple[set[str], set[str]]:
    """Statement line and ledger entry ids already matched by the account's runs of other days."""
    runs = session.exec(select(ReconciliationRun.id).where(
        ReconciliationRun.kind == "bank", ReconciliationRun.scope == account,
        ReconciliationRun.business_date != day)).all()
    left: set[str] = set()
    right: set[str] = set()
    for m in session.exec(select(Match).where(Match.run_id.in_(list(runs)))).all():  # type: ignore[union-attr]
        left.update(m.left_ids)
        right.update(m.right_ids)
    return left, right


def earlier_ledger_entries(root: Path, account: str, day: date, window_days: int) -> list[pd.DataFrame]:
    """The bank journal exports of the ``window_days`` days before ``day`` that exist: their entries may
    still clear on ``day``'s statement (and become exceptions on the window's last day)."""
    frames = []
    for back in range(1, window_days + 1):
        earlier = bank_day_dir(root, account, day - timedelta(days=back)) / "ledger.csv"
        if earlier.exists():
            frames.append(read_ledger_export(earlier).entries)
    return frames


def _previous_run(session: Session, account: str, day: date) -> ReconciliationRun | None:
    return session.exec(select(ReconciliationRun).where(
        ReconciliationRun.kind == "bank", ReconciliationRun.scope == account,
        ReconciliationRun.business_date == day)).first()


def _refuse(account: BankAccount, day: date, etype: ExceptionType, detail: str, refs: list[str],
            outcome: str) -> AccountOutcome:
    with session_scope() as session:
        run = save_input_problem(session, kind="bank", scope=account.account, business_date=day, etype=etype,
                                 detail=detail, references=refs, outcome=outcome)
        return AccountOutcome(account.account, day.isoformat(), outcome, run.id, exceptions=run.exception_count,
                              problem=detail)


@task(name="reconcile-bank-account", retries=2, retry_delay_seconds=30, timeout_seconds=900,
      cache_policy=NO_CACHE, task_run_name="reconcile {account.account} {day}")
def reconcile_account(account: BankAccount, day: date, settings: MatchSettings | None = None,
                      download_error: str | None = None) -> AccountOutcome:
    """Reconcile one account for one day from its day folder; every outcome is stored as a run.

    ``download_error`` is why the bank bot could not fetch the statement: kept in the "no statement"
    exception, so the reviewer sees the bank's refusal rather than only an empty folder.
    """
    log = get_run_logger()
    root = get_settings().flows.recon_root
    folder = bank_day_dir(root, account.account, day)
    files = statement_files(folder)
    if not files:
        log.warning("no statement for %s on %s in %s", account.account, day, folder)
        why = f"; 下载失败 / the download failed: {download_error}" if download_error else ""
        return _refuse(account, day, ExceptionType.NO_DATA,
                       f"当日无银行对账单 / no bank statement for {day} (looked in {folder}){why}",
                       [f"{account.account}:{day}"], "no_data")
    statements: list[Statement] = []
    try:
        for path in files:
            try:
                statements.append(parse_statement(path, account=account.account, currency=account.currency,
                                                  bank=account.bank))
            except NoStatementData:
                log.info("%s holds no lines", path.name)
        ledger_file = folder / "ledger.csv"
        if not ledger_file.exists():
            raise StatementError.single(ledger_file.name, f"银行日记账导出缺失 / the bank journal export of {day} "
                                        f"is missing (expected {ledger_file})")
        today_ledger = read_ledger_export(ledger_file)
    except StatementError as exc:
        log.error("input refused for %s on %s: %s", account.account, day, exc)
        return _refuse(account, day, ExceptionType.INPUT_REJECTED, f"文件被拒收 / file refused: {exc}",
                       sorted({p.file for p in exc.problems}), "input_rejected")

    match_settings = settings or MatchSettings()
    with session_scope() as session:
        previous = _previous_run(session, account.account, day)
        rerun = set(previous.input_fingerprints) if previous else set()
        try:
            spans = _earlier_imports(session, account.account, rerun)
            for statement in statements:
                check_new_statement(statement, spans)
                spans.append(StatementSpan(f"file {statement.source}", statement.account, statement.fingerprint,
                                           statement.period_start, statement.period_end))
        except StatementError as exc:
            refused = exc
        else:
            refused = None
        held_lines, held_entries = held_elsewhere(session, account.account, day)
    if refused is not None:
        log.error("statement refused for %s on %s: %s", account.account, day, refused)
        return _refuse(account, day, ExceptionType.INPUT_REJECTED, f"对账单被拒收 / statement refused: {refused}",
                       sorted({p.file for p in refused.problems}), "input_rejected")

    ledger_frames = [today_ledger.entries,
                     *earlier_ledger_entries(root, account.account, day, match_settings.date_window_days)]
    ledger = pd.concat(ledger_frames, ignore_index=True).drop_duplicates("entry_id")
    ledger = ledger[~ledger["entry_id"].isin(held_entries)].reset_index(drop=True)
    lines = (pd.concat([s.lines for s in statements], ignore_index=True) if statements
             else pd.DataFrame(columns=["line_id", "booked_at", "amount_fen", "reference", "counterparty_name"]))
    lines = lines[~lines["line_id"].isin(held_lines)].reset_index(drop=True)
    if not statements:
        return _refuse(account, day, ExceptionType.NO_DATA,
                       f"对账单无交易 / the statement file(s) of {day} hold no lines: {[p.name for p in files]}",
                       [p.name for p in files], "no_data")

    started = utc_now()
    result = match_bank(lines, ledger, match_settings)
    bank_closing = statements[-1].closing_balance_fen
    balance = (balance_statement_for(result, bank_closing, today_ledger.closing_balance_fen)
               if bank_closing is not None and today_ledger.closing_balance_fen is not None else None)
    exceptions = bank_open_item_exceptions(result, business_date=day, balance=balance)
    with session_scope() as session:
        supersede_imports(session, account.account, rerun - {s.fingerprint for s in statements})
        for statement in statements:
            if statement.fingerprint not in rerun:
                import_statement(session, statement)
        run = save_bank_run(session, result, account=account.account, business_date=day,
                            fingerprints=[s.fingerprint for s in statements], started_at=started,
                            exceptions=exceptions)
        outcome = AccountOutcome(
            account.account, day.isoformat(), "reconciled", run.id, statement_lines=len(lines),
            ledger_entries=len(ledger), auto_matched=run.auto_matched_count, suggested=run.suggested_count,
            exceptions=run.exception_count, balanced=None if balance is None else balance.balanced,
            balance_statement={} if balance is None else {k: str(v) for k, v in asdict(balance).items()})
    log.info("%s %s: %d lines, %d auto-matched, %d suggested, %d exceptions", account.account, day,
             len(lines), outcome.auto_matched, outcome.suggested, outcome.exceptions)
    return outcome


@task(name="open-reconciliation-review", retries=3, retry_delay_seconds=[10, 60, 300], timeout_seconds=120,
      cache_policy=NO_CACHE, task_run_name="review run {run_id}")
def open_review_task(run_id: int) -> str | None:
    """Start the ``reconciliation-review`` process for the run's unreviewed exceptions (at most once)."""
    key = open_review(run_id)
    if key:
        get_run_logger().info("opened reconciliation review %s", key)
    return key


def balance_markdown(outcomes: list[AccountOutcome]) -> str:
    """The day's 余额调节表 per account, as a finance officer reads it."""
    parts = ["# 银行存款余额调节表 Bank reconciliation statement\n"]
    for o in outcomes:
        parts.append(f"## {o.account} · {o.business_date}\n")
        if not o.balance_statement:
            parts.append(f"未编制 / not prepared: {o.problem or 'a closing balance is missing'}\n")
            continue
        b = o.balance_statement
        parts.append(
            "| 银行 Bank | 金额 Amount | 单位账 Ledger | 金额 Amount |\n|---|---:|---|---:|\n"
            f"| 银行对账单余额 Bank balance | {b['bank_balance']} | "
            f"日记账余额 Ledger balance | {b['ledger_balance']} |\n"
            f"| 加：单位已收银行未收 + ledger-only receipts | {b['ledger_only_receipts']} | "
            f"加：银行已收单位未收 + bank-only credits | {b['bank_only_credits']} |\n"
            f"| 减：单位已付银行未付 − ledger-only payments | {b['ledger_only_payments']} | "
            f"减：银行已付单位未付 − bank-only debits | {b['bank_only_debits']} |\n"
            f"| **调节后余额 Adjusted** | **{b['bank_adjusted']}** | **调节后余额 Adjusted** | "
            f"**{b['ledger_adjusted']}** |\n")
        parts.append("平衡 Balanced ✔\n" if o.balanced else "**不平衡 Does not balance — see the review task**\n")
    return "\n".join(parts)


def bank_workbook_path(day: date) -> Path:
    """Where the day's bank reconciliation workbook is written: ``<reports>/bank/<day>/``."""
    return get_settings().flows.reports_root / "bank" / day.isoformat() / f"bank-reconciliation-{day.isoformat()}.xlsx"


def write_bank_workbook(day: date, outcomes: list[AccountOutcome]) -> Path:
    """The day's 余额调节表 per account with the stored matches and exceptions of its runs, as one workbook (a rerun
    of the day replaces it); ``smartfin flows run bank-daily --xlsx`` hands the same file out."""
    run_ids = [o.run_id for o in outcomes if o.run_id is not None]
    with session_scope() as session:
        runs = {run_id: session.get(ReconciliationRun, run_id) for run_id in run_ids}
        matches = session.exec(select(Match).where(Match.run_id.in_(run_ids))  # type: ignore[attr-defined]
                               .order_by(Match.run_id, Match.id)).all()  # type: ignore[arg-type]
        exceptions = session.exec(select(ReconException).where(ReconException.run_id.in_(run_ids))  # type: ignore[attr-defined]
                                  .order_by(ReconException.run_id, ReconException.id)).all()  # type: ignore[arg-type]
        accounts = [AccountDay(o.account, runs.get(o.run_id) if o.run_id is not None else None,
                               BalanceStatement(**{k: Decimal(v) for k, v in o.balance_statement.items()})
                               if o.balance_statement else None, o.problem) for o in outcomes]
        data = bank_reconciliation_xlsx(day, accounts, matches, exceptions)
    path = bank_workbook_path(day)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_export(path, data, SpreadsheetFormat.XLSX, replace=True)


@flow(name="daily-bank-reconciliation", log_prints=True, timeout_seconds=3600)
def daily_bank_reconciliation(business_date: date | None = None, accounts: list[str] | None = None,
                              open_reviews: bool = True, downloader: StatementDownloader | None = None,
                              match_settings: MatchSettings | None = None) -> list[dict[str, Any]]:
    """Yesterday's (or ``business_date``'s) statements of every configured account, reconciled.

    ``downloader`` fetches statements (the online-bank bot by default when
    ``SMARTFIN_STATEMENT_SOURCE=portal``); with the folder source the statements are expected in the
    drop folder already.
    """
    settings = get_settings().flows
    day = business_date or hospital_yesterday()
    chosen = [settings.account(a) for a in accounts] if accounts else list(settings.bank_accounts)
    if not chosen:
        raise ValueError("未配置银行账户 / no bank account configured: set SMARTFIN_BANK_ACCOUNTS")
    if downloader is None and settings.statement_source == "portal":
        downloader = portal_downloader()
    failed: dict[str, str] = {}
    if downloader is not None:
        downloads = [download_statement.submit(a, day, downloader) for a in chosen]
        for account, future in zip(chosen, downloads, strict=True):
            try:
                future.result()
            except Exception as exc:  # a failed download is recorded below as "no statement", with the reason
                get_run_logger().error("statement download failed for %s: %s", account.account, exc)
                failed[account.account] = f"{type(exc).__name__}: {exc}"
    outcomes = [f.result() for f in [reconcile_account.submit(a, day, match_settings, failed.get(a.account))
                                     for a in chosen]]
    if open_reviews:
        for outcome in outcomes:
            if outcome.run_id is not None and outcome.exceptions:
                outcome.review_key = open_review_task(outcome.run_id)
    rows = [{k: v for k, v in asdict(o).items() if k != "balance_statement"} for o in outcomes]
    create_table_artifact(rows, key="bank-reconciliation",
                          description=f"银行对账 Bank reconciliation {day}")
    create_markdown_artifact(balance_markdown(outcomes), key="bank-balance-statement",
                             description=f"余额调节表 {day}")
    write_bank_workbook(day, outcomes)
    refused = [o for o in outcomes if o.outcome == "input_rejected"]
    if refused:
        raise ReconciliationInputRejected(
            "对账输入被拒收 / inputs refused (stored as exceptions for review): "
            + "; ".join(f"{o.account}: {o.problem}" for o in refused))
    return rows
