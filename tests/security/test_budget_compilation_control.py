"""Attacks on the budget-compilation process through the engine's REST API as the demo people, with their own
passwords: a head completing another department's task, a completion that bypasses the contacts on record,
control numbers forged or skipped, approval variables forged, the Party committee skipped. Each is refused and
nothing moves: the round stays where it was, nothing is issued."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from smartfin.app.demo_users import complete_as, demo_password, wait_for
from smartfin.budgeting import Stage, get_round
from smartfin.budgeting.tables import BudgetIssue
from smartfin.store.db import session_scope
from tests.security.engine_users import Actor, admin_password, service_actor, variables
from tests.support.compilation import (
    HEADS,
    SIGNERS,
    attach,
    decide,
    prepare_year,
    set_controls,
    start,
    submit_round,
    task_variable,
    tasks_of,
    upload,
)

pytestmark = pytest.mark.engine


def person(camunda: Any, user: str) -> Actor:
    return Actor(camunda.base_url, user, demo_password())


def admin(camunda: Any) -> Actor:
    return Actor(camunda.base_url, "admin", admin_password())


def stage(year: int) -> str:
    with session_scope() as session:
        return get_round(session, year).stage


def variable(camunda: Any, task_id: str, name: str) -> Any:
    return task_variable(camunda, task_id, name)


def test_only_the_departments_contact_completes_its_draft_task(camunda, workers):
    year = 2032
    prepare_year(year)
    pid = start(camunda, year)
    card = next(t for t in tasks_of(camunda, pid, "firstSubmitDraft", 3) if t["assignee"] == HEADS["CARD"])
    # the head of radiology cannot complete or take cardiology's task
    rad = person(camunda, HEADS["RAD"])
    assert rad.call("POST", f"/task/{card['id']}/complete", {"variables": {}}).status == 403
    assert rad.call("POST", f"/task/{card['id']}/claim", {"userId": HEADS["RAD"]}).status == 403
    # a completion by anyone but the contact on record (here an administrator, whom the engine lets through)
    # is not accepted even with the draft stored: the task is offered to the contact again
    upload(year, "CARD", 1000)
    admin(camunda).ok("POST", f"/task/{card['id']}/complete", {"variables": {}})
    again = wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid, taskDefinitionKey="firstSubmitDraft")
                              if t["assignee"] == HEADS["CARD"] and t["id"] != card["id"]], 30,
                     message="CARD's task offered again")
    assert "completed by admin" in variable(camunda, again[0]["id"], "draftProblem")
    assert stage(year) == Stage.FIRST.value
    service_actor(camunda).remove_instance(pid)


def test_control_numbers_come_only_from_the_record(camunda, workers):
    year = 2033
    prepare_year(year)
    pid = start(camunda, year)
    submit_round(camunda, pid, year, "firstSubmitDraft", {"CARD": 1000, "RAD": 2000, "LAB": 3000})
    task = tasks_of(camunda, pid, "setControlNumbers", 1)[0]
    member = person(camunda, SIGNERS["budget-committee"])
    # control numbers (or the round's stage) written as variables are refused by the engine
    forged = member.call("POST", f"/task/{task['id']}/complete",
                         {"variables": variables(controlNumbers=[{"department": "CARD", "amount": "9999999"}])})
    assert forged.status == 403, forged.body
    assert member.call("PUT", f"/task/{task['id']}/variables/controlProblem",
                       {"value": None, "type": "Null"}).status == 403
    # completing the task without recording control numbers gives it back; the round stays at 一下
    complete_as(camunda, SIGNERS["budget-committee"], task, {})
    back = wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid, taskDefinitionKey="setControlNumbers")
                             if t["id"] != task["id"]], 30, message="the control-number task back")
    assert "no control numbers on record for CARD, LAB, RAD" in variable(camunda, back[0]["id"], "controlProblem")
    assert stage(year) == Stage.CONSOLIDATION.value
    assert camunda.tasks(processInstanceId=pid, taskDefinitionKey="secondSubmitDraft") == []
    service_actor(camunda).remove_instance(pid)


def test_skipping_the_party_committee_or_the_minutes_is_caught_before_the_issue(camunda, workers):
    year = 2034
    prepare_year(year)
    pid = start(camunda, year)
    submit_round(camunda, pid, year, "firstSubmitDraft", {"CARD": 1000, "RAD": 2000, "LAB": 3000})
    set_controls(camunda, pid, year, {"CARD": 1000, "RAD": 2000, "LAB": 3000})
    submit_round(camunda, pid, year, "secondSubmitDraft", {"CARD": 1000, "RAD": 2000, "LAB": 3000})
    # the budget committee cites minutes nobody attached
    task = tasks_of(camunda, pid, "approveBudget", 1)[0]
    complete_as(camunda, SIGNERS["budget-committee"], task, {"decision": "approve", "minutesNo": "预委-未附",
                                                             "comment": ""})
    decide(camunda, pid, year, "president")
    party = tasks_of(camunda, pid, "approveBudget", 1)[0]
    secretary = person(camunda, SIGNERS["party-committee"])
    # the chain the engine checks each decision against cannot be rewritten by a decider
    assert secretary.call("PUT", f"/task/{party['id']}/variables/approvalChain",
                          {"value": '["party-committee"]', "type": "Json"}).status == 403
    assert person(camunda, SIGNERS["president"]).call(
        "POST", f"/task/{party['id']}/complete", {"variables": variables(decision="approve")}).status == 403
    # an administrator moves the instance past the Party committee straight to the control step
    attach(camunda, year, "party-committee", f"党委-{year}-1")
    admin(camunda).ok("POST", f"/process-instance/{pid}/modification", {"instructions": [
        {"type": "cancel", "activityId": "approvalChain"},
        {"type": "startBeforeActivity", "activityId": "verifyApprovals"}]})
    review = tasks_of(camunda, pid, "reviewApprovalException", 1)[0]
    problems = variable(camunda, review["id"], "approvalProblems")
    assert "party-committee" in problems and "nobody signed" in problems
    assert "minutes 预委-未附 are not attached" in problems
    assert stage(year) == Stage.APPROVAL.value
    with session_scope() as session:
        assert session.exec(select(BudgetIssue).where(BudgetIssue.fiscal_year == year)).first() is None
    service_actor(camunda).remove_instance(pid)
