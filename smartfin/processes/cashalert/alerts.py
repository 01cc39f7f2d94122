"""The cash alert as the project records it: opening one per stored forecast run that breaches the minimum
balance, exactly once, and the checks the chief accountant's answer must pass.

The row (``CashAlert``) is written ``opening`` before the ``cash-alert`` process is started by the service
account, so a second call for the same run opens nothing and a call after a crash between the two adopts the
instance the engine already has. The answer — decision, measure or reason, who and when — is read by the worker
from the engine's history of the completed task, never from process variables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session, select

from smartfin.camunda.client import EngineClient
from smartfin.cashflow.model import CATEGORY_NAMES
from smartfin.cashflow.tables import CashAlert, CashForecastRun
from smartfin.kernel.money import format_yuan, from_fen
from smartfin.notify import EventKind, raise_event
from smartfin.processes.approvals import SignedTask
from smartfin.store.audit import record_audit
from smartfin.store.db import session_scope

PROCESS_KEY = "cash-alert"
DOCUMENT_TYPE = "cash-alert"
GROUP = "chief-accountant"
TASK = "acknowledgeCashAlert"
ANSWER_FIELDS = ("decision", "measure")
DECISIONS = ("act", "accept-risk")
MIN_MEASURE = 4


def alert_key(run: CashForecastRun) -> str:
    """``cash-alert/2026-11-27/base``."""
    return f"{PROCESS_KEY}/{run.as_of.isoformat()}/{run.scenario}"


def alert_by_key(session: Session, key: str) -> CashAlert:
    row = session.exec(select(CashAlert).where(CashAlert.business_key == key)).first()
    if row is None:
        raise LookupError(f"资金预警 {key} 不存在 / cash alert {key} does not exist")
    return row


def _yuan(fen: int) -> str:
    return f"¥{format_yuan(from_fen(fen))}"


def alert_variables(run: CashForecastRun) -> dict[str, Any]:
    """What the chief accountant sees in Tasklist (display copies; the record is the run)."""
    drivers = "\n".join(f"{d['day']} {CATEGORY_NAMES.get(d['category'], d['category'])} {_yuan(d['amountFen'])} — "
                        f"{d['driver']}" for d in run.drivers)
    weeks = "\n".join(f"{w['start']}–{w['end']}: {_yuan(w['closingFen'])}"
                      + (" ⚠" if w["closingFen"] < run.minimum_fen else "") for w in run.weeks)
    return {"alertKey": alert_key(run), "asOf": run.as_of.isoformat(), "scenario": run.scenario,
            "openingBalance": _yuan(run.opening_fen), "minimumBalance": _yuan(run.minimum_fen),
            "breachPeriod": f"{run.breach_start}–{run.breach_end}",
            "breachClosing": _yuan(run.breach_closing_fen or 0), "drivers": drivers or "（无 none）",
            "weeklyClosing": weeks, "alertProblem": ""}


def open_cash_alert(run_id: int, *, engine: EngineClient | None = None) -> str | None:
    """Open the ``cash-alert`` of a stored run that breaches its minimum; the business key, or None when the run
    does not breach or its alert is already open or decided."""
    with session_scope() as session:
        run = session.get(CashForecastRun, run_id)
        if run is None:
            raise LookupError(f"forecast run #{run_id} does not exist")
        if run.breach_start is None:
            return None
        key = alert_key(run)
        row = session.exec(select(CashAlert).where(CashAlert.run_id == run_id)).first()
        if row is not None and row.status != "opening":
            return None
        if row is None:
            row = CashAlert(run_id=run_id, business_key=key)
            session.add(row)
        variables = alert_variables(run)
    client = engine or EngineClient.from_settings()
    started = client.get("/history/process-instance", processDefinitionKey=PROCESS_KEY,
                         processInstanceBusinessKey=key)
    instance_id = started[0]["id"] if started else client.start_process(PROCESS_KEY, key, variables)["id"]
    with session_scope() as session:
        row = alert_by_key(session, key)
        row.status, row.process_instance_id = "open", instance_id
        session.add(row)
        record_audit(session, actor="system", action="cash-alert-opened", subject_type=DOCUMENT_TYPE, subject_id=key,
                     details={"breach": variables["breachPeriod"], "processInstance": instance_id})
        tell_chief_accountant(session, key, variables)
    return key


def tell_chief_accountant(session: Session, key: str, variables: dict[str, Any]) -> None:
    """Raise the ``cash`` notification of an opened alert for the chief accountants (once per alert key), so they
    hear of the breach by mail or chat robot, not only when they look at Tasklist."""
    raise_event(session, key=key, kind=EventKind.CASH, subject=key,
                title=f"资金余额预警 {variables['asOf']} / cash below minimum {variables['breachPeriod']}",
                body=(f"预测日 {variables['asOf']}（{variables['scenario']}）：期初 {variables['openingBalance']}，"
                      f"{variables['breachPeriod']} 期末 {variables['breachClosing']} 低于最低余额 "
                      f"{variables['minimumBalance']} / the forecast of {variables['asOf']} falls below the minimum "
                      f"balance in {variables['breachPeriod']}.\n主要因素 drivers:\n{variables['drivers']}"),
                groups=[GROUP])


def answer_problems(task: SignedTask | None, *, is_member: Callable[[str, str], bool]) -> list[str]:
    """Every reason a completed task cannot stand as the chief accountant's decision; empty when it can.

    An authenticated member of ``chief-accountant``, on a task offered to that group only (and, if assigned, to
    that person), decides ``act`` or ``accept-risk`` and writes the measure or the reason.
    """
    if task is None or not task.completed:
        return ["预警任务没有完成记录 / the engine has no completed cash-alert task"]
    problems = []
    if task.groups != {GROUP}:
        problems.append(f"任务候选组为 {task.group_label or '(无)'} / the task was offered to "
                        f"{task.group_label or '(nobody)'}, not {GROUP}")
    if not task.user:
        problems.append("无经认证的办理人 / no authenticated user completed the task")
    else:
        if not is_member(task.user, GROUP):
            problems.append(f"{task.user} 不属于 {GROUP} / {task.user} is not a member of {GROUP}")
        if task.assignee and task.assignee != task.user:
            problems.append(f"由 {task.user} 办理，但任务指派给 {task.assignee} / completed by {task.user} while "
                            f"assigned to {task.assignee}")
    decision = task.values.get("decision")
    if decision not in DECISIONS:
        problems.append(f"处理为 {decision!r} / the decision was {decision!r}, not {' or '.join(DECISIONS)}")
    if len((task.values.get("measure") or "").strip()) < MIN_MEASURE:
        problems.append(f"措施或理由少于 {MIN_MEASURE} 个字 / the measure or reason has fewer than {MIN_MEASURE} "
                        "characters")
    return problems
