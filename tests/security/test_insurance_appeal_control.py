"""The insurance appeal on the real engine: each outcome is what the engine recorded of the completed tasks.

Real engine, real workers, the demo users over REST: gao.yan is recorded as the test department's insurance
officer, tang.bo as another department's (both in the engine's ``insurance-officer`` group), wang.fang
(finance-officer) records the recovery. Batches are opened by the product's starter as the service account.
Attacks: an officer of another department answering, forged outcome and recovered-amount variables (through
the task by users, and by the service account, the strongest writer the engine has), answers missing the
required fields, a recovery above the item's amount, someone outside the group completing.
"""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.camunda.client import EngineRequestError
from smartfin.insurance.runs import run_monthly
from smartfin.insurance.tables import AppealBatch, ClearingItem, ClearingStatement, InsuranceImport
from smartfin.kernel.clock import HOSPITAL_TZ, hospital_today
from smartfin.processes.insuranceappeal.appeals import (
    AppealItemOutcome,
    assign_officer,
    batch_by_key,
    open_appeals,
    outcomes_of,
)
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.security.engine_users import DEMO_PASSWORD, Actor, service_actor, typed, variables
from tests.support.engine import process_ended, wait_for

pytestmark = pytest.mark.engine
OFFICER, OTHER_OFFICER, FINANCE, REQUESTER = "gao.yan", "tang.bo", "wang.fang", "zhang.wei"
ITEMS = ((12_000, "拒付", "refused", "R01 超标准收费 charged above the standard"),
         (3_456, "扣款", "deducted", "D07 重复收费 charged twice"),
         (80_050, "拒付", "refused", "R12 无指征用药 drug without indication"))


def clearing_month(*, issued_days_ago: int = 2) -> tuple[str, str]:
    """A month (one per test: statements are unique per month) with one balanced statement and three items
    of a fresh department whose insurance officer is gao.yan (tang.bo acts for another department)."""
    with session_scope() as session:     # the first month no statement holds (other modules use this too)
        taken = set(session.exec(select(ClearingStatement.month)).all())
    month = next(m for n in itertools.count(1) if (m := f"20{10 + n // 12:02d}-{n % 12 + 1:02d}") not in taken)
    department = f"D{uuid.uuid4().hex[:6].upper()}"
    refused = sum(a for a, _, k, _ in ITEMS if k == "refused")
    deducted = sum(a for a, _, k, _ in ITEMS if k == "deducted")
    with session_scope() as session:
        imported = InsuranceImport(kind="clearing", period=month, file_name=f"{month}.csv",
                                   fingerprint=uuid.uuid4().hex * 2, row_count=1, actor="test")
        session.add(imported)
        session.flush()
        assert imported.id is not None
        declared, retained = 10_000_000, 50_000
        approved = declared - refused - deducted
        statement = ClearingStatement(
            import_id=imported.id, month=month, hospital="H001", insurance_type="employee",
            statement_no=f"QS-{month}-{department}", issued_on=hospital_today() - timedelta(days=issued_days_ago),
            declared_fen=declared, approved_fen=approved, refused_fen=refused, deducted_fen=deducted,
            retained_fen=retained, disbursed_fen=approved - retained, balanced=True, source_row=2)
        session.add(statement)
        session.flush()
        assert statement.id is not None
        for row, (amount, name, kind, reason) in enumerate(ITEMS, start=2):
            session.add(ClearingItem(statement_id=statement.id, month=month, insurance_type="employee", kind=kind,
                                     settlement_id=f"S{row}{department}", department=department,
                                     item_code=f"I{row}", item_name=f"{name}项目 {row}", amount_fen=amount,
                                     reason_code=reason[:3], reason=reason[4:], source_row=row))
        assign_officer(session, department, OFFICER, valid_from=hospital_today() - timedelta(days=30), actor="test")
        assign_officer(session, f"X{department}", OTHER_OFFICER, valid_from=hospital_today(), actor="test")
    return month, department


def opened(camunda: Any, **kwargs: Any) -> tuple[str, str, str]:
    month, _ = clearing_month(**kwargs)
    [key] = open_appeals(month, engine=camunda)
    with session_scope() as session:
        pid = batch_by_key(session, key).process_instance_id
    assert pid
    return month, key, pid


def actor(camunda: Any, user: str) -> Actor:
    return Actor(camunda.base_url, user, DEMO_PASSWORD)


def next_task(who: Actor, pid: str, key: str, *, not_id: str | None = None) -> dict[str, Any]:
    return wait_for(lambda: next((t for t in who.ok("POST", "/task", {"processInstanceId": pid})
                                  if t["taskDefinitionKey"] == key and t["id"] != not_id), None), 30,
                    message=f"task {key} of {pid}")


def shown(who: Actor, task: dict[str, Any]) -> dict[str, Any]:
    raw = who.ok("GET", f"/task/{task['id']}/variables", deserializeValues="false")
    return {name: value["value"] for name, value in raw.items()}


def answered(rows: list[dict[str, Any]], answers: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """The officer's list as Tasklist submits it: the rows shown, with outcome and argument filled in."""
    return [{**row, "outcome": answers[row["itemNo"]][0], "argument": answers[row["itemNo"]][1]}
            for row in rows if row["itemNo"] in answers]


ARGUMENT = "病历记载符合适应症，附检验报告 the record shows the indication; lab report attached"
ALL_ANSWERED = {"001": ("appeal", ARGUMENT), "002": ("accept", ""), "003": ("appeal", ARGUMENT)}


def decide(who: Actor, task: dict[str, Any], answers: dict[str, tuple[str, str]] = ALL_ANSWERED,
           **extra: Any) -> Any:
    """The officer's answer as the Tasklist form writes it: the ticked items and one argument line each."""
    ticked = [n for n, (outcome, _) in answers.items() if outcome == "appeal"]
    lines = "\n".join(f"{n} {answers[n][1]}" for n in ticked)
    return who.call("POST", f"/task/{task['id']}/complete",
                    {"variables": variables(appealItems=ticked, appealArguments=lines, **extra)})


def recover(who: Actor, task: dict[str, Any], amounts: dict[str, str], day: str | None = None, **extra: Any) -> Any:
    rows = json.loads(shown(who, task)["recoveries"])
    filled = [{**row, "recovered": amounts[row["itemNo"]]} for row in rows if row["itemNo"] in amounts]
    return who.call("POST", f"/task/{task['id']}/complete", {"variables": variables(
        recoveries=filled, recoveredOn=day or hospital_today().isoformat(), **extra)})


def state(key: str) -> tuple[AppealBatch, list[AppealItemOutcome]]:
    with session_scope() as session:
        batch = batch_by_key(session, key)
        outcomes = outcomes_of(session, batch)
        session.expunge_all()
        return batch, outcomes


def refusals(key: str) -> list[list[str]]:
    """The problems of each audited refusal of the batch, oldest first."""
    with session_scope() as session:
        return [e.details_dict["problems"] for e in session.exec(
            select(AuditEntry).where(AuditEntry.action == "insurance-appeal-refused", AuditEntry.subject_id == key)
            .order_by(col(AuditEntry.id))).all()]


def discard(camunda: Any, pid: str) -> None:
    def deleted() -> bool:
        try:
            camunda.delete(f"/process-instance/{pid}")
        except EngineRequestError as exc:
            if "OptimisticLocking" not in str(exc):
                raise
            return False
        return True
    wait_for(deleted, 30, message=f"process {pid} deleted")


def test_each_item_outcome_and_recovery_is_recorded_from_the_engine_and_matched_to_the_bank(camunda, workers):  # type: ignore[no-untyped-def]
    month, key, pid = opened(camunda)
    assert open_appeals(month, engine=camunda) == []     # a second call opens nothing
    officer, finance = actor(camunda, OFFICER), actor(camunda, FINANCE)
    task = next_task(officer, pid, "decideAppeal")
    batch, _ = state(key)
    assert batch.due_on == hospital_today() + timedelta(days=8)   # issued 2 days ago, 10-day window
    assert task["due"].startswith(batch.due_on.isoformat())
    form = shown(officer, task)
    assert [r["amount"] for r in json.loads(form["itemOutcomes"])] == ["120.00", "34.56", "800.50"]
    assert decide(officer, task).status == 204

    recovery = next_task(finance, pid, "recordRecovery")
    assert [r["itemNo"] for r in json.loads(shown(finance, recovery)["recoveries"])] == ["001", "003"]
    assert recover(finance, recovery, {"001": "120.00", "003": "300"}).status == 204
    process_ended(camunda, pid)
    batch, outcomes = state(key)
    assert (batch.status, batch.recovered_fen, batch.recovered_on) == ("recovered", 42_000, hospital_today())
    assert [(o.outcome, o.decided_by, o.decide_task_id, o.recovered_fen, o.recovered_by) for o in outcomes] == [
        ("appealed", OFFICER, task["id"], 12_000, FINANCE), ("accepted", OFFICER, task["id"], None, None),
        ("appealed", OFFICER, task["id"], 30_000, FINANCE)]
    assert outcomes[0].argument == ARGUMENT

    # the recovery is tracked to the bank by the month's reconciliation (the settlement package's matching)
    receipts = pd.DataFrame([{"line_id": f"L-{key}", "booked_at": datetime.now(HOSPITAL_TZ), "amount_fen": 42_000,
                              "reference": f"BANK-{key}", "memo": f"医保申诉追回 {key}"}])
    with session_scope() as session:
        run_monthly(session, month, hospital="H001", actor="test", receipts=receipts)
    assert state(key)[0].recovery_reference == f"BANK-{key}"
    listed = CliRunner().invoke(app, ["insurance-appeal", "list", "--month", month, "--json"])
    assert listed.exit_code == 0, listed.output
    [shown_batch] = json.loads(listed.output)
    assert [i["outcome"] for i in shown_batch["items"]] == ["appealed", "accepted", "appealed"]
    assert shown_batch["recoveryReference"] == f"BANK-{key}"


def test_all_accepted_ends_without_a_recovery_step(camunda, workers):  # type: ignore[no-untyped-def]
    _, key, pid = opened(camunda)
    officer = actor(camunda, OFFICER)
    task = next_task(officer, pid, "decideAppeal")
    everything = {"001": ("accept", ""), "002": ("accept", ""), "003": ("accept", "")}
    assert decide(officer, task, everything).status == 204
    process_ended(camunda, pid)
    batch, outcomes = state(key)
    assert batch.status == "accepted" and [o.outcome for o in outcomes] == ["accepted"] * 3


def test_an_officer_of_another_department_cannot_answer(camunda, workers):  # type: ignore[no-untyped-def]
    _, key, pid = opened(camunda)
    other, officer = actor(camunda, OTHER_OFFICER), actor(camunda, OFFICER)
    task = next_task(other, pid, "decideAppeal")     # the group offers it to every insurance officer
    assert decide(other, task).status == 204
    back = next_task(officer, pid, "decideAppeal", not_id=task["id"])
    assert f"{OTHER_OFFICER} is not recorded as" in (back.get("description") or "")
    assert state(key)[1] == [] and state(key)[0].status == "open"
    assert any("is not recorded as" in p for problems in refusals(key) for p in problems)
    assert decide(officer, back).status == 204
    wait_for(lambda: len(state(key)[1]) == 3, 30, message="the outcomes recorded")
    assert {o.decided_by for o in state(key)[1]} == {OFFICER}
    discard(camunda, pid)


def test_someone_outside_the_group_cannot_answer(camunda, workers):  # type: ignore[no-untyped-def]
    _, key, pid = opened(camunda)
    requester, officer, service = actor(camunda, REQUESTER), actor(camunda, OFFICER), service_actor(camunda)
    task = next_task(officer, pid, "decideAppeal")
    assert requester.call("GET", f"/task/{task['id']}/variables").status in (403, 404)
    rows = json.loads(shown(officer, task)["itemOutcomes"])
    refused = requester.call("POST", f"/task/{task['id']}/complete",
                             {"variables": variables(itemOutcomes=answered(rows, ALL_ANSWERED))})
    assert refused.status in (403, 404), refused.body
    # the service account may complete anything, but it is no insurance officer: refused, nothing recorded
    service.ok("POST", f"/task/{task['id']}/complete",
               {"variables": variables(itemOutcomes=answered(rows, ALL_ANSWERED))})
    back = next_task(officer, pid, "decideAppeal", not_id=task["id"])
    assert "is not a member of insurance-officer" in (back.get("description") or "")
    assert state(key)[1] == []
    discard(camunda, pid)


def test_answers_missing_the_required_fields_are_refused(camunda, workers):  # type: ignore[no-untyped-def]
    _, key, pid = opened(camunda)
    officer = actor(camunda, OFFICER)
    task = next_task(officer, pid, "decideAppeal")
    # item 003 ticked with too short an argument, and an argument written for item 002, which is not ticked
    lines = f"002 {ARGUMENT}\n003 不合理"
    assert officer.call("POST", f"/task/{task['id']}/complete", {"variables": variables(
        appealItems=["003"], appealArguments=lines)}).status == 204
    back = next_task(officer, pid, "decideAppeal", not_id=task["id"])
    description = back.get("description") or ""
    assert "item 003: the appeal's argument" in description, description
    assert "item 002 has an argument but is not ticked for appeal" in description, description
    assert state(key)[1] == []
    # a line that names no item of the batch, and two lines for one item
    assert officer.call("POST", f"/task/{back['id']}/complete", {"variables": variables(
        appealItems=["001"], appealArguments=f"001 {ARGUMENT}\n001 {ARGUMENT}\n999 {ARGUMENT}")}).status == 204
    again = next_task(officer, pid, "decideAppeal", not_id=back["id"])
    description = again.get("description") or ""
    assert "item 001 has two argument lines" in description and "'999'" in description, description
    assert state(key)[1] == [] and len(refusals(key)) == 2
    discard(camunda, pid)


def test_forged_outcomes_and_recovered_amounts_do_not_count(camunda, workers):  # type: ignore[no-untyped-def]
    _, key, pid = opened(camunda)
    officer, finance, service = actor(camunda, OFFICER), actor(camunda, FINANCE), service_actor(camunda)
    task = next_task(officer, pid, "decideAppeal")
    # users may write only the form's fields: never the gateway's count, the recovered total or the batch
    for name, value in (("appealedCount", 0), ("recoveredFen", 80_050), ("batchAmount", "1.00")):
        for method, path, body in (("PUT", f"/process-instance/{pid}/variables/{name}", typed(value)),
                                   ("PUT", f"/task/{task['id']}/variables/{name}", typed(value))):
            assert officer.call(method, path, body).status == 403, (name, method, path)
        assert decide(officer, task, **{name: value}).status == 403, name
    # a list of outcomes with changed amounts is not a field of the form: the engine refuses it from a user
    forged = [{"itemNo": "001", "amount": "99999.00", "outcome": "appeal", "argument": ARGUMENT}]
    assert officer.call("POST", f"/task/{task['id']}/complete",
                        {"variables": variables(itemOutcomes=forged)}).status == 403
    # the officer's real answer, every item appealed: the amounts come from the stored items
    assert decide(officer, task, {n: ("appeal", ARGUMENT) for n in ("001", "002", "003")}).status == 204
    recovery = next_task(finance, pid, "recordRecovery")
    # the service account forges the count and a recovered total; finance then records the real amounts
    service.ok("POST", f"/process-instance/{pid}/variables", {"modifications": {
        "appealedCount": typed(0), "recoveredFen": typed(9_999_999), "recoveries": typed([
            {"itemNo": "001", "itemName": "x", "amount": "99999.00", "recovered": "99999.00"}])}})
    assert recover(finance, recovery, {"001": "99999.00"}).status == 204     # more than the item's 120.00
    back = next_task(finance, pid, "recordRecovery", not_id=recovery["id"])
    assert "recovered more than the item's amount" in (back.get("description") or "")
    assert state(key)[0].recovered_fen == 0
    rows = [{"itemNo": n, "recovered": a} for n, a in (("001", "120.00"), ("002", "34.56"), ("003", "0"))]
    finance.ok("POST", f"/task/{back['id']}/complete",
               {"variables": variables(recoveries=rows, recoveredOn=hospital_today().isoformat())})
    process_ended(camunda, pid)
    batch, outcomes = state(key)
    assert batch.amount_fen == 95_506 and batch.recovered_fen == 15_456
    assert [o.recovered_fen for o in outcomes] == [12_000, 3_456, 0]


def test_the_appealing_officer_does_not_record_the_recovery_and_the_date_is_not_in_the_future(camunda, workers):  # type: ignore[no-untyped-def]
    _, key, pid = opened(camunda)
    officer, finance = actor(camunda, OFFICER), actor(camunda, FINANCE)
    decide(officer, next_task(officer, pid, "decideAppeal"))
    recovery = next_task(finance, pid, "recordRecovery")
    tomorrow = (hospital_today() + timedelta(days=1)).isoformat()
    assert recover(finance, recovery, {"001": "1", "003": "2"}, day=tomorrow).status == 204
    back = next_task(finance, pid, "recordRecovery", not_id=recovery["id"])
    assert "is in the future" in (back.get("description") or "")
    assert state(key)[0].recovered_fen == 0
    discard(camunda, pid)


def test_an_unanswered_batch_is_escalated_before_the_window_closes(camunda, workers):  # type: ignore[no-untyped-def]
    _, key, pid = opened(camunda, issued_days_ago=9)     # window closes tomorrow: escalation is already due
    officer = actor(camunda, OFFICER)
    task = next_task(officer, pid, "decideAppeal")
    wait_for(lambda: [t for t in camunda.tasks(taskId=task["id"]) if t["priority"] >= 80], 60,
             message="the unanswered batch escalated")
    wait_for(lambda: any("escalated" in c["message"] for c in camunda.get(f"/task/{task['id']}/comment")), 30,
             message="the escalation's comment on the task")

    def audited() -> AuditEntry | None:
        with session_scope() as session:
            return session.exec(select(AuditEntry).where(AuditEntry.action == "insurance-appeal-escalated",
                                                         AuditEntry.subject_id == key)).first()
    assert task["id"] in json.dumps(wait_for(audited, 30, message="the escalation audited").details_dict)
    discard(camunda, pid)
