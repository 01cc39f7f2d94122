"""The demo's reconciliations: yesterday's bank day and the latest three-way day, exceptions in Tasklist.

The inputs (see :mod:`flows.demo.inputs`) are written into the drop folders exactly where the daily flows
look for them, then the flows run as they run every morning: they match, store the day and open one
``reconciliation-review`` process per day for the finance officers. With ``SMARTFIN_STATEMENT_SOURCE=portal``
the bank's statement is the online bank's own (downloaded by the bank bot, as the flow downloads it) and
the journal and channel bills are written to fit it.

Re-running is safe: the same date gives the same files, and the flows recognise a day they have
reconciled (same statement, same exceptions, no second review).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from sqlmodel import select

from extractors.statements import ColumnMap, NoStatementData, StatementError, parse_statement
from flows.bank import download_statement, earlier_ledger_entries, held_elsewhere, portal_downloader
from flows.demo.inputs import (
    BankDayPlan,
    demo_statement,
    journal_closing,
    journal_csv,
    journal_with,
    patient_refund,
    plan_bank_day,
    statement_csv,
    three_way_day,
)
from flows.demo.runs import DemoStepFailed, run_flow
from flows.sources import bank_day_dir, statement_files, three_way_day_dir
from flows.threeway import default_business_date, settlement_account
from smartfin.kernel.clock import hospital_yesterday
from smartfin.kernel.money import format_yuan, from_fen
from smartfin.kernel.settings import BankAccount, FlowSettings, Settings, get_settings
from smartfin.reconciliation import MatchSettings, ThreeWaySettings
from smartfin.reconciliation.models import ReconciliationRun, ReconException, ReconReview
from smartfin.reconciliation.store import OPEN_REVIEW_STATUSES
from smartfin.store.db import session_scope

#: the stand-in online bank's basic account (portals/bank), reconciled when no account is configured
DEMO_ACCOUNT = BankAccount(account="33010201040012345", bank="citybank", statement_format="camt053")
ACCOUNTS_VARIABLE = "SMARTFIN_BANK_ACCOUNTS"
EXCEPTION_LABELS = {
    "BANK_ONLY": "银行已记、单位未记 on the statement only",
    "LEDGER_ONLY": "单位已记、银行未记 in the journal only",
    "CHANNEL_ONLY": "单边账 in a channel bill, not in HIS",
    "HIS_ONLY": "in HIS, not in the channel bill",
    "CASHIER_SHORT": "短款 cash handed in short",
    "CASHIER_LONG": "长款 cash handed in over",
    "SETTLEMENT_MISMATCH": "channel settlement ≠ bank credit",
    "BALANCE_DIFFERENCE": "余额调节表不平",
}


@contextmanager
def demo_bank_accounts(settings: Settings) -> Iterator[FlowSettings]:
    """The flow settings the demo reconciles with: the configured accounts, else the stand-in bank's.

    The flows read their accounts from the environment (``SMARTFIN_BANK_ACCOUNTS`` through
    ``get_settings``). A demo started without any gets the stand-in bank's basic account for as long as
    its flows run in this process; the variable and the cached settings are put back afterwards.
    """
    if settings.flows.bank_accounts:
        yield settings.flows
        return
    before = os.environ.get(ACCOUNTS_VARIABLE)
    os.environ[ACCOUNTS_VARIABLE] = json.dumps([DEMO_ACCOUNT.model_dump()])
    get_settings.cache_clear()
    try:
        yield get_settings().flows
    finally:
        if before is None:
            os.environ.pop(ACCOUNTS_VARIABLE, None)
        else:
            os.environ[ACCOUNTS_VARIABLE] = before
        get_settings.cache_clear()


@dataclass(frozen=True)
class DemoDays:
    """The days the demo reconciles: yesterday (bank) and the day the three-way flow takes by default."""

    bank: date
    three_way: date

    @classmethod
    def latest(cls) -> DemoDays:
        three_way = default_business_date(ThreeWaySettings().settlement_lag_days)
        return cls(hospital_yesterday(), three_way)


def statement_of_day(flows: FlowSettings, account: BankAccount, day: date, settled_day: date,
                     echo: Callable[[str], None]) -> tuple[pd.DataFrame, int | None]:
    """The bank's lines of ``day`` and its closing balance, from the statement files of the day folder.

    With the folder source the demo writes the statement (the bank's CSV for the account's column map);
    with the portal source the bank bot downloads it first, as the daily flow will again.
    """
    folder = bank_day_dir(flows.recon_root, account.account, day)
    folder.mkdir(parents=True, exist_ok=True)
    if flows.statement_source == "portal":
        try:
            saved = download_statement.with_options(retries=0)(account, day, portal_downloader())
        except Exception as exc:  # the bot's refusal or a portal that is down: the demo cannot go on
            raise DemoStepFailed(f"the online bank gave no statement of {account.account} for {day}: "
                                 f"{type(exc).__name__}: {exc}") from exc
        echo(f"  statement of {account.account} {day} downloaded from the online bank: "
             f"{', '.join(Path(p).name for p in saved)}")
    else:
        lines = demo_statement(account.account, day, settled_day)
        text = statement_csv(account.account, lines, ColumnMap.load(account.bank))
        (folder / "statement.csv").write_bytes(text.encode("gbk"))
        echo(f"  statement of {account.account} {day} written: {folder / 'statement.csv'} ({len(lines)} lines)")
    frames, closing = [], None
    for path in statement_files(folder):
        try:
            statement = parse_statement(path, account=account.account, currency=account.currency, bank=account.bank)
        except NoStatementData:
            continue
        except StatementError as exc:
            raise DemoStepFailed(f"the bank statement {path} cannot be read: {exc}") from exc
        frames.append(statement.lines)
        closing = statement.closing_balance_fen
    if not frames:
        raise DemoStepFailed(f"the bank statement of {account.account} for {day} holds no lines ({folder})")
    return pd.concat(frames, ignore_index=True), closing


def write_bank_day(flows: FlowSettings, account: BankAccount, day: date, plan: BankDayPlan,
                   bank_closing_fen: int | None) -> Path:
    """The day's bank journal export, and the patient refund a clearing window earlier still unpaid.

    The journal's closing balance is the bank's, moved by every item open on one side only (the refund and
    other entries still open in the window, the mistyped entry; the fees and the mistyped line), so the
    余额调节表 balances and the reviewer's work is the open items, not an unexplained difference.
    """
    window = MatchSettings().date_window_days
    refund = patient_refund(day - timedelta(days=window))
    refund_file = bank_day_dir(flows.recon_root, account.account, refund.day) / "ledger.csv"
    refund_file.parent.mkdir(parents=True, exist_ok=True)
    existing = refund_file.read_text(encoding="utf-8") if refund_file.exists() else None
    refund_file.write_text(journal_with(existing, refund), encoding="utf-8")
    closing = None
    if bank_closing_fen is not None:
        with session_scope() as session:
            _, held = held_elsewhere(session, account.account, day)
        carried = sum(int(frame.loc[~frame["entry_id"].isin(held), "amount_fen"].sum())
                      for frame in earlier_ledger_entries(flows.recon_root, account.account, day, window))
        closing = journal_closing(bank_closing_fen, plan, carried)
    ledger = bank_day_dir(flows.recon_root, account.account, day) / "ledger.csv"
    ledger.write_text(journal_csv(plan.journal, closing), encoding="utf-8")
    return ledger


def write_three_way_day(flows: FlowSettings, day: date, settlements: dict[str, int]) -> Path:
    """HIS, channel bills and cash hand-in of ``day``, netting to the T+1 credits on the bank statement."""
    folder = three_way_day_dir(flows.recon_root, flows.hospital, day)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in three_way_day(day, settlements).files.items():
        (folder / name).write_bytes(data)
    return folder


def _review_guidance(kind: str, scope: str, day: date) -> tuple[int, list[str], str]:
    """The pending exceptions of a stored day, the business keys of its open reviews, the types in words."""
    with session_scope() as session:
        run = session.exec(select(ReconciliationRun).where(
            ReconciliationRun.kind == kind, ReconciliationRun.scope == scope,
            ReconciliationRun.business_date == day)).first()
        if run is None:
            raise DemoStepFailed(f"no {kind} reconciliation of {scope} on {day} was stored")
        pending = session.exec(select(ReconException).where(ReconException.run_id == run.id,
                                                            ReconException.status == "pending")).all()
        keys = [r.business_key for r in session.exec(select(ReconReview).where(
            ReconReview.run_id == run.id, ReconReview.status.in_(OPEN_REVIEW_STATUSES))).all()]  # type: ignore[attr-defined]
    kinds: dict[str, list[int]] = {}
    for exception in pending:
        kinds.setdefault(exception.type, []).append(exception.amount_fen)
    described = "; ".join(f"{len(v)} × {EXCEPTION_LABELS.get(t, t)} ({', '.join(format_yuan(from_fen(a)) for a in v)})"
                          for t, v in sorted(kinds.items()))
    return len(pending), keys, described


def reconcile_demo_days(settings: Settings, echo: Callable[[str], None], officer: str) -> list[tuple[str, str]]:
    """Write yesterday's bank day and the three-way day, reconcile both with the daily flows, and say
    where the finance officer finds their exceptions."""
    days = DemoDays.latest()
    with demo_bank_accounts(settings) as flows:
        account = settlement_account(flows)
        echo(f"reconciliation: bank account {account.account} on {days.bank} (yesterday), three-way "
             f"{flows.hospital} on {days.three_way} (the channels settle T+1)")
        lines, closing = statement_of_day(flows, account, days.bank, days.three_way, echo)
        plan = plan_bank_day(days.bank, lines)
        ledger = write_bank_day(flows, account, days.bank, plan, closing)
        echo(f"  bank journal written: {ledger} ({len(plan.journal)} entries)")
        folder = write_three_way_day(flows, days.three_way, plan.settlements)
        echo(f"  HIS, channel bills and cash hand-in written: {folder}")
        [bank] = run_flow("bank-daily", days.bank, accounts=[account.account])
        echo(f"  bank-daily {days.bank}: {bank['outcome']}, {bank['statement_lines']} statement lines, "
             f"{bank['auto_matched']} matched, {bank['exceptions']} exceptions, balanced: {bank['balanced']}")
        three = run_flow("three-way-daily", days.three_way)
        echo(f"  three-way-daily {days.three_way}: {three['outcome']}, {three['his_records']} HIS records, "
             f"{three['channel_lines']} channel lines, {three['auto_matched']} matched, "
             f"{three['exceptions']} exceptions")
        for what, outcome in (("bank", bank), ("three-way", three)):
            if outcome["outcome"] != "reconciled":
                raise DemoStepFailed(f"the demo's {what} day {outcome['business_date']} was not reconciled "
                                     f"({outcome['outcome']}): {outcome['problem']}")
        hospital = flows.hospital
    tasklist = f"Tasklist {settings.tasklist_url} → 处理对账差异 Review reconciliation exceptions"
    guidance = []
    for kind, scope, day, what in (("bank", account.account, days.bank, f"account {account.account} on {days.bank} "
                                                                         "(yesterday)"),
                                   ("three-way", hospital, days.three_way,
                                    f"hospital {hospital} on {days.three_way} (the day before yesterday: WeChat, "
                                    "Alipay and UnionPay settle into the bank T+1)")):
        count, keys, described = _review_guidance(kind, scope, day)
        guidance.append((officer, f"{tasklist} {', '.join(keys) or '(no open review)'}: {count} exceptions of "
                                  f"{what} — {described}"))
    from prefect.settings import get_current_settings

    ui = str(get_current_settings().api.url or settings.flows.effective_prefect_api_url).removesuffix("/api")
    guidance.append((officer, f"Prefect UI {ui} → Runs: daily-bank-reconciliation (余额调节表: artifact "
                              f"bank-balance-statement), daily-three-way-reconciliation (channel settlement)"))
    return guidance

