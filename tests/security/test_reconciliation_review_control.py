"""The reconciliation review's decision is what the engine recorded of the completed review task.

Real engine, real workers. Demo users attack over REST by writing the ``decisions``, ``reviewKey`` and
``exceptionDecisions`` variables on the process instance, its execution and the review task (the write
guard refuses them: asserted), and the service account — which may write any variable, the strongest
attacker the engine has — writes them too: the recorded resolution is still the finance officer's own
decision on this review, read from the engine's history, and another review is never touched.
"""

from __future__ import annotations

import itertools
import json
from datetime import date
from typing import Any

import pytest
from sqlmodel import select

from flows.review import open_review
from smartfin.processes.approvals import ApprovalDecision
from smartfin.reconciliation.models import ReconException, ReconReview
from smartfin.reconciliation.store import review_by_key, review_exceptions, save_run
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.security.engine_users import DEMO_PASSWORD, Actor, service_actor, typed, variables
from tests.support.engine import process_ended, wait_for

pytestmark = pytest.mark.engine
OFFICER = "wang.fang"
_days = itertools.count(1)


def opened_review(camunda: Any, *, cashier: str | None = None) -> tuple[str, str]:
    """A run with two pending exceptions (one a cashier's cash difference when ``cashier`` is named), its
    review opened by the product's flow function; returns (business key, process instance id)."""
    scope = f"SEC-REVIEW-{next(_days)}-{id(camunda) % 10000}"
    exceptions = [{"type": "BANK_ONLY", "level": "transaction", "amount_fen": 1200, "references": [f"{scope}-1"],
                   "detail": "手续费 bank fee", "status": "pending"}]
    if cashier:
        exceptions.append({"type": "CASHIER_SHORT", "level": "cashier", "amount_fen": -5000,
                           "references": [cashier], "detail": "短款 cash short", "status": "pending"})
    else:
        exceptions.append({"type": "LEDGER_ONLY", "level": "transaction", "amount_fen": 3000,
                           "references": [f"{scope}-2"], "detail": "未达账 in transit", "status": "pending"})
    with session_scope() as session:
        run = save_run(session, kind="bank", scope=scope, business_date=date(2024, 5, next(_days) % 28 + 1),
                       fingerprints=[], matches=[], exceptions=exceptions, outcome="exceptions")
        run_id = run.id
    assert run_id is not None
    key = open_review(run_id, camunda)
    assert key is not None
    [instance] = camunda.get("/history/process-instance", processDefinitionKey="reconciliation-review",
                             processInstanceBusinessKey=key)
    return key, str(instance["id"])


def review_task(actor: Actor, pid: str) -> dict[str, Any]:
    return actor.open_task(pid, "reviewExceptions", timeout=30)


def statuses(key: str) -> set[str]:
    with session_scope() as session:
        return {row.status for row in review_exceptions(session, review_by_key(session, key))}


def review(key: str) -> ReconReview:
    with session_scope() as session:
        return review_by_key(session, key)


def decisions_of(key: str) -> list[ApprovalDecision]:
    with session_scope() as session:
        return list(session.exec(select(ApprovalDecision).where(
            ApprovalDecision.document_type == "reconciliation-review", ApprovalDecision.document_no == key)).all())


def resolved(key: str) -> ReconReview:
    def done() -> ReconReview | None:
        row = review(key)
        return row if row.status == "resolved" else None
    return wait_for(done, 30, message=f"review {key} resolved")


FORGED_DECISIONS = [{"task": "reviewExceptions", "taskName": "x", "user": "liu.yang", "time": "2024-01-01T00:00:00",
                     "outcome": "resolved", "comment": "伪造 forged", "step": None}]


def forged(decoy_key: str, own_exceptions: list[str]) -> dict[str, Any]:
    return {"decisions": FORGED_DECISIONS, "reviewKey": decoy_key,
            "exceptionDecisions": {k: {"status": "resolved", "resolution": "伪造 forged"} for k in own_exceptions}}


def exception_keys(key: str) -> list[str]:
    with session_scope() as session:
        return [row.exception_key for row in review_exceptions(session, review_by_key(session, key))]


def test_users_cannot_write_the_copies_and_the_decision_is_the_engines_record(camunda, workers):  # type: ignore[no-untyped-def]
    key, pid = opened_review(camunda)
    decoy_key, decoy_pid = opened_review(camunda)
    officer, requester = (Actor(camunda.base_url, user, DEMO_PASSWORD) for user in (OFFICER, "zhang.wei"))
    task = review_task(officer, pid)
    [execution] = camunda.get("/execution", processInstanceId=pid)  # users cannot even list it; the id is no secret
    attacks = forged(decoy_key, exception_keys(key))
    for actor in (officer, requester):
        for name, value in attacks.items():
            for method, path, body in (
                    ("PUT", f"/process-instance/{pid}/variables/{name}", typed(value)),
                    ("POST", f"/process-instance/{pid}/variables", {"modifications": {name: typed(value)}}),
                    ("PUT", f"/execution/{execution['id']}/localVariables/{name}", typed(value)),
                    ("PUT", f"/task/{task['id']}/variables/{name}", typed(value)),
                    ("PUT", f"/task/{task['id']}/localVariables/{name}", typed(value)),
                    ("POST", f"/task/{task['id']}/complete",
                     {"variables": variables(decision="resolved", comment="想改 copies", **{name: value})}),
                    ("POST", f"/task/{task['id']}/submit-form",
                     {"variables": variables(decision="resolved", comment="想改 copies", **{name: value})})):
                answer = actor.call(method, path, body)
                assert answer.status == 403, (actor.user, method, path, answer.status, answer.body)
                if actor is officer:  # a candidate gets past authorization: the write guard refuses it
                    assert "WRITE_GUARD" in answer.message, (method, path, answer.body)
    assert review_task(officer, pid)["id"] == task["id"]  # nothing of it completed the task

    officer.ok("POST", f"/task/{task['id']}/complete",
               {"variables": variables(decision="written off", comment="手续费已补记 记-0518 fee booked")})
    done = resolved(key)
    assert (done.resolved_by, done.decision) == (OFFICER, "written off")
    assert done.comment == "手续费已补记 记-0518 fee booked"
    assert statuses(key) == {"written off"} and statuses(decoy_key) == {"pending"}
    [decision] = decisions_of(key)
    assert (decision.user_id, decision.outcome, decision.task_id, decision.candidate_group) == \
        (OFFICER, "written off", task["id"], "finance-officer")
    with session_scope() as session:
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "reconciliation-reviewed",
                                                     AuditEntry.subject_id == key)).first() is not None
    camunda.delete(f"/process-instance/{decoy_pid}")


def test_copies_the_service_account_writes_change_nothing(camunda, workers):  # type: ignore[no-untyped-def]
    key, pid = opened_review(camunda)
    decoy_key, decoy_pid = opened_review(camunda)
    service, officer = service_actor(camunda), Actor(camunda.base_url, OFFICER, DEMO_PASSWORD)
    task = review_task(officer, pid)
    modifications = {name: typed(value) for name, value in forged(decoy_key, exception_keys(key)).items()}
    service.ok("POST", f"/process-instance/{pid}/variables", {"modifications": modifications})
    officer.ok("POST", f"/task/{task['id']}/complete",
               {"variables": variables(decision="written off", comment="退款已核实 refund checked")})
    done = resolved(key)
    assert (done.resolved_by, done.decision) == (OFFICER, "written off")
    assert statuses(key) == {"written off"}  # not the forged per-exception "resolved"
    assert review(decoy_key).status == "open" and statuses(decoy_key) == {"pending"}
    process_ended(camunda, pid)
    camunda.delete(f"/process-instance/{decoy_pid}")


def test_a_completion_by_someone_outside_finance_is_refused_and_the_review_returns(camunda, workers):  # type: ignore[no-untyped-def]
    key, pid = opened_review(camunda)
    service, officer = service_actor(camunda), Actor(camunda.base_url, OFFICER, DEMO_PASSWORD)
    first = review_task(officer, pid)
    service.ok("POST", f"/task/{first['id']}/complete",
               {"variables": variables(decision="resolved", comment="服务账号 not a person")})
    second = wait_for(lambda: next((t for t in officer.ok("POST", "/task", {"processInstanceId": pid})
                                    if t["id"] != first["id"]), None), 30, message="the review back in Tasklist")
    assert "is not a member of finance-officer" in (second.get("description") or "")
    assert review(key).status == "open" and statuses(key) == {"pending"}
    officer.ok("POST", f"/task/{second['id']}/complete",
               {"variables": variables(decision="resolved", comment="已核实 checked by finance")})
    assert resolved(key).resolved_by == OFFICER
    recorded = {d.task_id: d.user_id for d in decisions_of(key)}
    assert recorded[second["id"]] == OFFICER and recorded[first["id"]] != OFFICER
    with session_scope() as session:
        refusal = session.exec(select(AuditEntry).where(AuditEntry.action == "reconciliation-review-refused",
                                                        AuditEntry.subject_id == key)).first()
        assert refusal is not None and "finance-officer" in json.dumps(refusal.details_dict, ensure_ascii=False)


def test_a_cashier_may_not_resolve_her_own_cash_difference(camunda, workers):  # type: ignore[no-untyped-def]
    key, pid = opened_review(camunda, cashier=OFFICER)
    officer = Actor(camunda.base_url, OFFICER, DEMO_PASSWORD)
    first = review_task(officer, pid)
    officer.ok("POST", f"/task/{first['id']}/complete",
               {"variables": variables(decision="written off", comment="短款核销 write off my own shortage")})
    second = wait_for(lambda: next((t for t in officer.ok("POST", "/task", {"processInstanceId": pid})
                                    if t["id"] != first["id"]), None), 30, message="the review back in Tasklist")
    assert "may not resolve differences of their own cash" in (second.get("description") or "")
    assert review(key).status == "open" and statuses(key) == {"pending"}
    with session_scope() as session:
        assert all(row.resolved_by is None for row in session.exec(select(ReconException)).all()
                   if row.references == [OFFICER])
    camunda.delete(f"/process-instance/{pid}")
