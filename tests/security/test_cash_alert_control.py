"""The cash alert on the real engine: the chief accountant's decision is what the engine recorded of the task.

Real engine, real workers, the demo users over REST: liu.yang (chief-accountant) decides; zhang.wei (a
requester) and wang.fang (finance-officer) are not chief accountants. Alerts are opened by the product's starter
as the service account for a stored forecast run below its minimum. Attacks: people outside the group claiming or
completing the task, users writing the recorded copies through REST, the service account forging the copies, a
completion by the service account (privileged, but no chief accountant), an answer without a measure.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select

from rules.cash.dated import CashPolicy
from smartfin.cashflow.model import Scenario
from smartfin.cashflow.runs import run_forecast
from smartfin.cashflow.samples import PAYDAY, PAYMENT_TERMS, generate_hospital
from smartfin.cashflow.tables import CashAlert, CashForecastRun
from smartfin.notify.tables import NotificationEvent
from smartfin.processes.cashalert.alerts import alert_by_key, open_cash_alert
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.security.engine_users import DEMO_PASSWORD, Actor, service_actor, typed, variables
from tests.support.engine import process_ended, wait_for

pytestmark = pytest.mark.engine
CHIEF, REQUESTER, OFFICER = "liu.yang", "zhang.wei", "wang.fang"
HOSPITAL = generate_hospital(date(2025, 1, 1), days=520, seed=5)
AS_OF = date(2025, 1, 1) + timedelta(days=500)


def breaching_run(minimum_yuan: str = "500000000.00") -> int:
    """A stored forecast run (its own scenario name) whose weeks fall below a high minimum balance."""
    policy = CashPolicy(AS_OF, dict(PAYMENT_TERMS), PAYDAY, Decimal(minimum_yuan), 60)
    inputs = HOSPITAL.inputs_at(AS_OF)
    with session_scope() as session:
        run, _ = run_forecast(session, replace(inputs), policy, Scenario(f"test-{uuid.uuid4().hex[:8]}"),
                              actor="finance")
        assert run.id is not None and run.breach_start is not None
        return run.id


def opened(camunda: Any) -> tuple[str, str]:
    key = open_cash_alert(breaching_run(), engine=camunda)
    assert key is not None
    found = camunda.get("/history/process-instance", processDefinitionKey="cash-alert",
                        processInstanceBusinessKey=key)
    assert len(found) == 1
    return key, str(found[0]["id"])


def actor(camunda: Any, user: str) -> Actor:
    return Actor(camunda.base_url, user, DEMO_PASSWORD)


def next_task(who: Actor, pid: str, *, not_id: str | None = None) -> dict[str, Any]:
    return wait_for(lambda: next((t for t in who.ok("POST", "/task", {"processInstanceId": pid})
                                  if t["taskDefinitionKey"] == "acknowledgeCashAlert" and t["id"] != not_id), None),
                    30, message=f"the cash alert task of {pid}")


def answer(decision: str = "act", measure: str = "推迟设备付款并申请财政预拨 defer the equipment payment",
           **extra: Any) -> dict[str, Any]:
    return {"variables": variables(decision=decision, measure=measure, **extra)}


def alert(key: str) -> CashAlert:
    with session_scope() as session:
        row = alert_by_key(session, key)
        session.expunge_all()
        return row


def decided(key: str) -> CashAlert:
    return wait_for(lambda: (row := alert(key)).status == "acknowledged" and row, 30,
                    message=f"the decision on {key} recorded")


def test_the_chief_accountant_decides_with_the_drivers_in_front_of_her(camunda, workers):  # type: ignore[no-untyped-def]
    key, pid = opened(camunda)
    with session_scope() as session:
        run_id = alert_by_key(session, key).run_id
    assert open_cash_alert(run_id, engine=camunda) is None      # once per run
    with session_scope() as session:     # the chief accountants are told, once, by a cash notification
        events = session.exec(select(NotificationEvent).where(NotificationEvent.event_key == key)).all()
        assert [(e.kind, e.groups) for e in events] == [("cash", "chief-accountant")]
        assert "cash below minimum" in events[0].title
    chief = actor(camunda, CHIEF)
    task = next_task(chief, pid)
    shown = {k: v["value"] for k, v in chief.ok("GET", f"/task/{task['id']}/variables").items()}
    with session_scope() as session:
        run = session.get(CashForecastRun, run_id)
        assert run is not None and run.drivers
        assert run.drivers[0]["driver"] in shown["drivers"] and shown["breachPeriod"].startswith(str(run.breach_start))
    chief.ok("POST", f"/task/{task['id']}/complete",
             answer("accept-risk", "下周医保回款可覆盖 the fund pays next week"))
    process_ended(camunda, pid)
    row = decided(key)
    assert (row.decided_by, row.decision, row.measure, row.task_id) == \
        (CHIEF, "accept-risk", "下周医保回款可覆盖 the fund pays next week", task["id"])


def test_people_outside_the_chief_accountants_cannot_work_or_forge_it(camunda, workers):  # type: ignore[no-untyped-def]
    key, pid = opened(camunda)
    chief, requester, officer = actor(camunda, CHIEF), actor(camunda, REQUESTER), actor(camunda, OFFICER)
    task = next_task(chief, pid)
    for outsider in (requester, officer):
        assert outsider.ok("POST", "/task", {"processInstanceId": pid}) == []
        for method, path, body in (("POST", f"/task/{task['id']}/claim", {"userId": outsider.user}),
                                   ("POST", f"/task/{task['id']}/complete", answer())):
            assert outsider.call(method, path, body).status in (403, 404), (outsider.user, method, path)
    # the chief accountant writes the form's fields only: never the recorded copies
    for name, value in (("recordedDecision", "act"), ("decidedBy", REQUESTER)):
        for method, path, body in (("PUT", f"/process-instance/{pid}/variables/{name}", typed(value)),
                                   ("PUT", f"/task/{task['id']}/variables/{name}", typed(value)),
                                   ("POST", f"/task/{task['id']}/complete", answer(**{name: value}))):
            assert chief.call(method, path, body).status == 403, (name, method, path)
    # the service account forges the copies; the record still shows who decided what
    service_actor(camunda).ok("POST", f"/process-instance/{pid}/variables", {"modifications": {
        "decidedBy": typed(REQUESTER), "recordedDecision": typed("act"), "scenario": typed("base")}})
    chief.ok("POST", f"/task/{task['id']}/complete", answer("act", "申请短期借款 arrange a bridging loan"))
    row = decided(key)
    assert (row.decided_by, row.decision) == (CHIEF, "act")


def test_a_completion_by_someone_not_a_chief_accountant_is_refused(camunda, workers):  # type: ignore[no-untyped-def]
    key, pid = opened(camunda)
    chief, service = actor(camunda, CHIEF), service_actor(camunda)
    task = next_task(chief, pid)
    service.ok("POST", f"/task/{task['id']}/complete", answer())    # privileged, but no chief accountant
    back = next_task(chief, pid, not_id=task["id"])
    assert "is not a member of chief-accountant" in (back.get("description") or "")
    assert alert(key).status == "open" and alert(key).decided_by is None
    chief.ok("POST", f"/task/{back['id']}/complete", answer(measure="ok"))          # no real measure: refused
    again = next_task(chief, pid, not_id=back["id"])
    assert "fewer than 4 characters" in (again.get("description") or "")
    with session_scope() as session:
        refusals = session.exec(select(AuditEntry).where(AuditEntry.action == "cash-alert-refused",
                                                         AuditEntry.subject_id == key)).all()
        assert len(refusals) == 2
    chief.ok("POST", f"/task/{again['id']}/complete", answer())
    assert decided(key).decided_by == CHIEF
