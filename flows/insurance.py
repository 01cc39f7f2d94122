"""Insurance settlement reconciliation (医保对账): ``insurance-daily`` and ``insurance-monthly``.

``insurance-daily`` takes yesterday's (or a given day's) drop folder ``insurance/<hospital>/<YYYY-MM-DD>/``:
the HIS settlement records, the platform's detail and its daily totals are imported (each file whole or
refused naming file, row and column), reconciled per settlement and fund component, and the run stored with
its exceptions; the day's workbook and page are written under ``<reports>/insurance/<day>/``.

``insurance-monthly`` takes the month's folder ``insurance/<hospital>/<YYYY-MM>/`` (the fund's clearing
statement, its refused and deducted items, the DRG/DIP group settlements), reads the insurance income
account's bank statements from the bank flow's drop folders since the month began, and reconciles the month:
statements that add up, receivables booked and aged, disbursements and appeal recoveries matched to bank
receipts, DRG/DIP surplus or loss per group and department against charges and (when cost accounting has
the month) cost; then the month's workbook and page. With ``SMARTFIN_INSURANCE_SOURCE=portal`` the month's files
are first downloaded from the settlement portal by its bot, archived and imported (a file imported before is
not imported again); with ``SMARTFIN_INSURANCE_APPEALS=true`` the month's refused and deducted items are then
batched per department and one ``insurance-appeal`` process opened per new batch (a batch under way opens
nothing). ``smartfin up`` turns both on; the flow's ``fetch``/``open_appeals`` parameters override them.

A refused input is stored as an ``input_refused`` exception of the period's run and the flow run ends
*failed*, naming every refused file: never a silent partial result. Rerunning a period is idempotent: a
file already accepted for the period is recognised, exceptions a person resolved are kept, receivables are
not booked twice, reports are replaced.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from sqlmodel import Session, select

from flows.portal_limits import portal_session
from flows.sources import bank_day_dir, insurance_dir, insurance_files, statement_files
from smartfin.kernel.clock import hospital_today, hospital_yesterday, month_days, shift_month
from smartfin.kernel.settings import get_settings
from smartfin.kernel.spreadsheet import SpreadsheetFormat, write_export
from smartfin.store.db import session_scope

DAILY = "insurance-daily"
MONTHLY = "insurance-monthly"
DAY_ORDER = ("his", "platform", "platform_total")
MONTH_ORDER = ("clearing", "clearing_items", "group")


PORTAL_INPUT = "insurance portal 医保结算平台"


class InsuranceInputRefused(RuntimeError):
    """Some inputs of the period were refused; each is stored as an exception of its run and named here."""


def report_folder(period: str) -> Path:
    """Where a day's or a month's insurance reports live: ``<reports>/insurance/<period>/``."""
    return get_settings().flows.reports_root / "insurance" / period


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def import_period(folder: Path, kinds: tuple[str, ...], period: str, hospital: str, actor: str) -> tuple[
        dict[str, str], dict[str, str]]:
    """Import each kind's file of the folder, one transaction per file. Returns (kind → what happened,
    file → why it was refused). A kind with several files is refused: one file per kind and period."""
    from extractors.insurance import InsuranceFileError
    from smartfin.insurance.store import DuplicateFile, current_import, import_file

    found = insurance_files(folder)
    done: dict[str, str] = {}
    refused: dict[str, str] = {}
    for kind in kinds:
        paths = found.get(kind, [])
        if len(paths) > 1:
            same = len({_sha(p) for p in paths}) == 1
            refused[", ".join(p.name for p in paths)] = (
                f"{len(paths)} {kind} files for {period} ({'the same file delivered twice' if same else 'different'}"
                f"); one file per kind and period is expected: remove the extra one")
            continue
        if not paths:
            continue
        path = paths[0]
        with session_scope() as session:
            existing = current_import(session, kind, period)
            if existing is not None and existing.fingerprint == _sha(path):
                done[kind] = "unchanged"
                continue
        try:
            with session_scope() as session:
                record = import_file(session, kind, path.read_bytes(), file=path.name, period=period,
                                     hospital=hospital, actor=actor)
                done[kind] = f"{record.row_count} rows"
        except DuplicateFile as exc:
            refused[path.name] = f"文件重复 / delivered before: {exc}"
        except InsuranceFileError as exc:
            refused[path.name] = f"文件被拒收 / file refused: {exc}"
    return done, refused


def _write(folder: Path, name: str, data: bytes, fmt: SpreadsheetFormat | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if fmt is not None:
        return write_export(path, data, fmt, replace=True)
    path.write_bytes(data)
    return path


@task(name="reconcile-insurance-day", cache_policy=NO_CACHE, timeout_seconds=1800,
      task_run_name="insurance day {day}")
def reconcile_insurance_day(day: date, hospital: str, actor: str) -> dict[str, Any]:
    """Import the day's files and reconcile them; the run, its exceptions and the reports are stored."""
    from smartfin.insurance import report
    from smartfin.insurance.runs import run_daily
    from smartfin.insurance.store import record_refusal, run_exceptions

    log = get_run_logger()
    root = get_settings().flows.recon_root
    folder = insurance_dir(root, hospital, day.isoformat())
    done, refused = import_period(folder, DAY_ORDER, day.isoformat(), hospital, actor)
    with session_scope() as session:
        if refused:
            run = record_refusal(session, "daily", hospital, day.isoformat(), actor, refused)
            result = None
        else:
            run, result = run_daily(session, day, hospital=hospital, actor=actor)
        exceptions = run_exceptions(session, run.id or 0)
        outcome = {"day": day.isoformat(), "run_id": run.id, "status": run.status, "run_count": run.run_count,
                   "exceptions": len(exceptions), "imports": done, "refused": refused, **run.summary}
        status = str(run.status)
    reports = report_folder(day.isoformat())
    if result is not None:
        book = report.daily_workbook(day.isoformat(), exceptions, result.ties)
        outcome["workbook"] = str(_write(reports, f"insurance-{day.isoformat()}.xlsx", book, SpreadsheetFormat.XLSX))
        ties = result.ties
    else:
        ties = pd.DataFrame(columns=["insurance_type", "component", "his_fen", "platform_detail_fen",
                                     "platform_total_fen", "explained_fen", "residual_fen"])
    _write(reports, "index.html", report.daily_page(day.isoformat(), status, outcome, exceptions, ties)
           .encode("utf-8"))
    outcome["reports"] = str(reports)
    log.info("insurance %s: %s, %d exceptions, files %s", day, status, len(exceptions), done)
    return outcome


@flow(name=DAILY, log_prints=True, timeout_seconds=3600)
def insurance_daily(business_date: date | None = None, hospital: str | None = None) -> dict[str, Any]:
    """Yesterday's (or ``business_date``'s) insurance settlements reconciled with the platform."""
    settings = get_settings().flows
    day = business_date or hospital_yesterday()
    outcome = reconcile_insurance_day(day, hospital or settings.hospital, f"flow:{DAILY}")
    create_table_artifact([{k: str(v) for k, v in outcome.items()}], key="insurance-daily",
                          description=f"医保日对账 Insurance reconciliation {day}")
    if outcome["refused"]:
        raise InsuranceInputRefused("医保对账输入被拒收 / insurance inputs refused (stored as exceptions): "
                                    + "; ".join(f"{f}: {why}" for f, why in outcome["refused"].items()))
    return outcome


# ----------------------------------------------------------------------------------------------- monthly

def insurance_receipts(first: date, last: date) -> pd.DataFrame:
    """Credits on the insurance income account from the bank flow's statement files of ``first``..``last``.

    The same line in two days' files (statements that overlap) is taken once, by its line id.
    """
    from extractors.statements import StatementError, parse_statement

    settings = get_settings().flows
    columns = ["line_id", "booked_at", "amount_fen", "reference", "memo", "counterparty_name"]
    if settings.insurance_income_account is None:
        get_run_logger().warning("SMARTFIN_INSURANCE_INCOME_ACCOUNT is not set: no bank receipt can be matched")
        return pd.DataFrame(columns=columns)
    account = settings.account(settings.insurance_income_account)
    frames = []
    day = first
    while day <= last:
        for path in statement_files(bank_day_dir(settings.recon_root, account.account, day)):
            try:
                statement = parse_statement(path, account=account.account, currency=account.currency,
                                            bank=account.bank)
            except StatementError as exc:  # the bank flow refuses and reports it; here it is only skipped
                get_run_logger().warning("statement %s not read: %s", path, exc)
                continue
            frames.append(statement.lines)
        day += timedelta(days=1)
    if not frames:
        return pd.DataFrame(columns=columns)
    lines = pd.concat(frames, ignore_index=True).drop_duplicates("line_id")
    credits = lines[lines["amount_fen"] > 0].copy()
    for column in columns:
        if column not in credits:
            credits[column] = None
    return credits[columns].reset_index(drop=True)


def case_costs(session: Session, month: str) -> pd.DataFrame | None:
    """Cost accounting's case costs of the month's published run, when it has one."""
    from smartfin.costing.tables import CaseCost

    rows = session.exec(select(CaseCost.case_id, CaseCost.cost_fen).where(CaseCost.month == month)).all()
    return pd.DataFrame(rows, columns=["case_id", "cost_fen"]) if rows else None


@task(name="fetch-insurance-month", cache_policy=NO_CACHE, timeout_seconds=1800,
      task_run_name="insurance portal {month}")
def fetch_insurance_month(month: str, hospital: str, actor: str) -> tuple[dict[str, str], dict[str, str]]:
    """Download the month's clearing files from the settlement portal, archive and import those not imported yet.

    Returns (kind → what happened, source → why it was refused): a month the portal has not published, a refused
    login or a file the import refuses is a refusal of the period, stored and named like a refused drop file.
    """
    from bots.errors import BotError
    from extractors.insurance import InsuranceFileError
    from smartfin.app.insurance_downloads import fetch_clearing_month
    from smartfin.insurance.store import DuplicateFile

    log = get_run_logger()
    try:
        with portal_session("insurance", "default"):
            fetched = fetch_clearing_month(month, hospital=hospital, actor=actor)
    except (BotError, InsuranceFileError, DuplicateFile) as exc:
        log.warning("insurance portal %s: %s", month, exc)
        return {}, {PORTAL_INPUT: f"下载或导入失败 / not fetched: {exc.__class__.__name__}: {exc}"}
    done = {f"{f.kind} (portal)": "imported" if f.imported else "unchanged" for f in fetched}
    log.info("insurance portal %s: %s", month, done)
    return done, {}


@task(name="open-insurance-appeals", cache_policy=NO_CACHE, timeout_seconds=1800,
      task_run_name="insurance appeals {month}")
def open_insurance_appeals(month: str, actor: str) -> list[str]:
    """Batch the month's open refused and deducted items per department and open one appeal per new batch."""
    from smartfin.processes.insuranceappeal.appeals import open_appeals

    opened = open_appeals(month, actor=actor)
    get_run_logger().info("insurance appeals %s: %d opened %s", month, len(opened), opened)
    return opened


@task(name="reconcile-insurance-month", cache_policy=NO_CACHE, timeout_seconds=3600,
      task_run_name="insurance month {month}")
def reconcile_insurance_month(month: str, hospital: str, as_of: date, actor: str,
                              fetched: tuple[dict[str, str], dict[str, str]] | None = None) -> dict[str, Any]:
    """Import the month's files, reconcile the clearing and write the month's reports; ``fetched`` is what the
    portal download did before (its refusals refuse the month like a refused drop file)."""
    from smartfin.insurance import report
    from smartfin.insurance.runs import aging_report, run_monthly
    from smartfin.insurance.store import record_refusal, run_exceptions, table_frame
    from smartfin.insurance.tables import ClearingStatement, GroupResult

    root = get_settings().flows.recon_root
    done, refused = import_period(insurance_dir(root, hospital, month), MONTH_ORDER, month, hospital, actor)
    if fetched is not None:
        done, refused = {**fetched[0], **done}, {**fetched[1], **refused}
    first, _ = month_days(month)
    receipts = insurance_receipts(first, as_of)
    with session_scope() as session:
        if refused:
            run = record_refusal(session, "monthly", hospital, month, actor, refused)
        else:
            run = run_monthly(session, month, hospital=hospital, actor=actor, receipts=receipts,
                              case_costs=case_costs(session, month))
        exceptions = run_exceptions(session, run.id or 0)
        statements = table_frame(session, ClearingStatement, ClearingStatement.month == month)
        groups = table_frame(session, GroupResult, GroupResult.run_id == run.id)
        aging = aging_report(session, as_of)
        outcome = {"month": month, "run_id": run.id, "status": str(run.status), "run_count": run.run_count,
                   "exceptions": len(exceptions), "imports": done, "refused": refused, "receipts": len(receipts),
                   **run.summary}
    reports = report_folder(month)
    outcome["workbook"] = str(_write(reports, f"insurance-{month}.xlsx",
                                     report.monthly_workbook(month, statements, exceptions, aging, groups),
                                     SpreadsheetFormat.XLSX))
    _write(reports, "index.html", report.monthly_page(month, outcome["status"], statements, exceptions, aging,
                                                      groups).encode("utf-8"))
    outcome["reports"] = str(reports)
    outcome["aging"] = aging.to_dict("records")
    return outcome


@flow(name=MONTHLY, log_prints=True, timeout_seconds=3600)
def insurance_monthly(month: str | None = None, hospital: str | None = None, as_of: date | None = None,
                      fetch: bool | None = None, open_appeals: bool | None = None) -> dict[str, Any]:
    """The month before (or ``month``) cleared with the fund, its receivables aged on ``as_of`` (today).

    ``fetch`` downloads the month's files from the settlement portal first, ``open_appeals`` opens the appeals
    of its refused and deducted items after the run; unset, the settings decide (``insurance_source``,
    ``insurance_appeals``).
    """
    settings = get_settings().flows
    today = as_of or hospital_today()
    chosen = month or shift_month(f"{today:%Y-%m}", -1)
    month_days(chosen)
    place = hospital or settings.hospital
    actor = f"flow:{MONTHLY}"
    from_portal = settings.insurance_source == "portal" if fetch is None else fetch
    fetched = fetch_insurance_month(chosen, place, actor) if from_portal else None
    outcome = reconcile_insurance_month(chosen, place, today, actor, fetched)
    appeals = settings.insurance_appeals if open_appeals is None else open_appeals
    outcome["appeals"] = (open_insurance_appeals(chosen, actor)
                          if appeals and not outcome["refused"] and outcome.get("statements") else [])
    create_table_artifact([{k: str(v) for k, v in a.items()} for a in outcome["aging"]], key="insurance-aging",
                          description=f"医保应收账龄 Insurance receivables by age, {today}")
    create_markdown_artifact(f"# 医保月度清算 {chosen}\n\nstatus **{outcome['status']}**, "
                             f"{outcome['exceptions']} exceptions, {len(outcome['appeals'])} appeal batches opened; "
                             f"reports in `{outcome['reports']}`",
                             key="insurance-monthly")
    if outcome["refused"]:
        raise InsuranceInputRefused("医保清算输入被拒收 / insurance inputs refused (stored as exceptions): "
                                    + "; ".join(f"{f}: {why}" for f, why in outcome["refused"].items()))
    return outcome
