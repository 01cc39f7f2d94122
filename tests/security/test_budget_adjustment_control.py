"""The budget adjustment's controls, attacked through the engine's REST API as the demo users.

Real engine, real workers. Who decides is checked against the chain stored at routing and the engine's
history before any money moves; the amounts and lines posted are the record's, never the variables'.
Attacks: a requester deciding her own adjustment, a proxy in the finance head's group deciding what she keyed
in, forged variables (by users: refused; by the service account: ignored), and skipping the president's
office meeting by moving the instance to the finance head's task, or holding the meeting without minutes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select

from smartfin.kernel.clock import hospital_today
from smartfin.ledger import BudgetLineKey, JournalEntry, balances, create_line
from smartfin.processes.adjustment.adjustments import BudgetAdjustment, submit_adjustment
from smartfin.store.db import session_scope
from tests.security.engine_users import DEMO_PASSWORD, Actor, admin_password, service_actor, variables
from tests.support.engine import as_user, process_ended

pytestmark = pytest.mark.engine
YEAR = hospital_today().year
HEAD, PRESIDENT, OFFICER, REQUESTER = "guo.hua", "zhao.lei", "wang.fang", "zhang.wei"


def two_lines(across: bool = False) -> tuple[str, BudgetLineKey, BudgetLineKey]:
    dept = f"TS{uuid.uuid4().hex[:6].upper()}"
    other = f"TS{uuid.uuid4().hex[:6].upper()}" if across else dept
    source = BudgetLineKey(YEAR, dept, "30218", "fiscal")  # type: ignore[arg-type]
    target = BudgetLineKey(YEAR, other, "30201", "fiscal")  # type: ignore[arg-type]
    with session_scope() as session:
        create_line(session, source, actor="test", budget="50000.00")
        create_line(session, target, actor="test", budget="10000.00")
    return dept, source, target


def submit(engine: Any, dept: str, source: BudgetLineKey, target: BudgetLineKey, **extra: str) -> BudgetAdjustment:
    number = submit_adjustment({"department": dept, "reason": "调剂", **extra,
                                "movements": f"transfer; {source}; {target}; 5000.00; 调剂"}, engine=engine)
    with session_scope() as session:
        row = session.get(BudgetAdjustment, number)
        assert row is not None and row.process_instance_id
        session.expunge(row)
        return row


def status(number: str) -> str:
    with session_scope() as session:
        row = session.get(BudgetAdjustment, number)
        assert row is not None
        return row.status


def posted(number: str) -> list[Decimal]:
    with session_scope() as session:
        return sorted(e.amount for e in session.exec(select(JournalEntry).where(JournalEntry.document_no == number)))


def decide(actor: Actor, pid: str, key: str, **values: Any) -> None:
    task = actor.open_task(pid, key)
    actor.ok("POST", f"/task/{task['id']}/complete", {"variables": variables(**values)})


def wait_task(actor: Actor, pid: str, key: str) -> dict[str, Any]:
    return actor.open_task(pid, key, timeout=30)


@pytest.fixture()
def person(camunda: Any) -> Iterator[Any]:
    """Make engine users in given groups for one test (a small hospital's finance head who also asks)."""
    admin = Actor(camunda.base_url, "admin", admin_password())
    made: list[str] = []

    def make(*groups: str) -> Actor:
        name = f"fh.{uuid.uuid4().hex[:6]}"
        admin.ok("POST", "/user/create", {"profile": {"id": name, "firstName": "F", "lastName": "H",
                                                      "email": f"{name}@example.org"},
                                          "credentials": {"password": "Fh-pass-12"}})
        for group in groups:
            admin.ok("PUT", f"/group/{group}/members/{name}")
        made.append(name)
        return Actor(camunda.base_url, name, "Fh-pass-12")
    yield make
    for name in made:
        admin.call("DELETE", f"/user/{name}")


def test_a_requester_in_the_finance_head_group_cannot_decide_her_own_adjustment(camunda, workers, person):
    both = person("requester", "finance-head")
    dept, source, target = two_lines()
    row = submit(camunda.as_user(both.user, "Fh-pass-12"), dept, source, target)
    assert row.requester == both.user
    task = wait_task(both, row.process_instance_id, "approveAdjustment")  # she sees it: she is a finance head
    for method, path, body in (("POST", f"/task/{task['id']}/claim", {"userId": both.user}),
                               ("POST", f"/task/{task['id']}/complete", {"variables": variables(decision="approve")})):
        answer = both.call(method, path, body)
        assert answer.status >= 400 and "FOUR_EYES" in answer.message, (path, answer)
    assert posted(row.adjustment_no) == []
    decide(Actor(camunda.base_url, HEAD, DEMO_PASSWORD), row.process_instance_id, "approveAdjustment",
           decision="approve", comment="同意")
    process_ended(camunda, row.process_instance_id)
    assert status(row.adjustment_no) == "posted"


def test_a_proxy_in_the_finance_head_group_cannot_decide_what_she_keyed_in(camunda, workers, person):
    proxy = person("proxy-entry", "finance-head")
    dept, source, target = two_lines()
    row = submit(camunda.as_user(proxy.user, "Fh-pass-12"), dept, source, target, requester=REQUESTER)
    assert (row.requester, row.entered_by) == (REQUESTER, proxy.user)
    # the engine started it as the service for zhang.wei: its four-eyes rule does not know the proxy
    decide(proxy, row.process_instance_id, "approveAdjustment", decision="approve", comment="同意")
    officer = Actor(camunda.base_url, OFFICER, DEMO_PASSWORD)
    exception = wait_task(officer, row.process_instance_id, "reviewApprovalException")
    problems = camunda.process_variables(row.process_instance_id)["approvalProblems"]
    assert f"{proxy.user} is the requester" in problems
    assert posted(row.adjustment_no) == []
    officer.ok("POST", f"/task/{exception['id']}/complete", {"variables": {}})
    process_ended(camunda, row.process_instance_id)
    assert status(row.adjustment_no) == "voided" and posted(row.adjustment_no) == []


def test_forged_amounts_and_lines_move_nothing_but_the_record(camunda, workers):
    dept, source, target = two_lines()
    requester = Actor(camunda.base_url, REQUESTER, DEMO_PASSWORD)
    row = submit(as_user(camunda, REQUESTER), dept, source, target)
    pid = row.process_instance_id
    assert requester.ok("POST", "/task", {"processInstanceId": pid}) == []  # she sees no task of it
    forged = {"movements": f"transfer; {source}; {target}; 45000.00; 伪造", "movementsText": "forged",
              "totalAmount": "45000.00", "tier": "finance-head"}
    for name, value in forged.items():
        answer = requester.call("PUT", f"/process-instance/{pid}/variables/{name}", {"value": value, "type": "String"})
        assert answer.status == 403 and "WRITE_GUARD" in answer.message, (name, answer)
    head = Actor(camunda.base_url, HEAD, DEMO_PASSWORD)
    task = wait_task(head, pid, "approveAdjustment")
    answer = head.call("POST", f"/task/{task['id']}/complete",
                       {"variables": variables(decision="approve", totalAmount="45000.00")})
    assert answer.status == 403 and "WRITE_GUARD" in answer.message, answer
    # the strongest writer the engine has rewrites the copies: the posting still follows the record
    service = service_actor(camunda)
    service.ok("POST", f"/process-instance/{pid}/variables", {"modifications": variables(**forged)})
    decide(head, pid, "approveAdjustment", decision="approve", comment="同意")
    process_ended(camunda, pid)
    assert status(row.adjustment_no) == "posted"
    assert posted(row.adjustment_no) == [Decimal("-5000.00"), Decimal("5000.00")]
    with session_scope() as session:
        assert balances(session, target).adjustment == Decimal("5000.00")


def test_skipping_the_presidents_office_meeting_is_caught_before_money_moves(camunda, workers):
    dept, source, target = two_lines(across=True)
    row = submit(as_user(camunda, REQUESTER), dept, source, target)
    pid = row.process_instance_id
    assert row.tier == "president"
    president = Actor(camunda.base_url, PRESIDENT, DEMO_PASSWORD)
    wait_task(president, pid, "presidentOfficeMeeting")
    skip = {"instructions": [{"type": "cancel", "activityId": "presidentOfficeMeeting"},
                             {"type": "startBeforeActivity", "activityId": "approveAdjustment"}]}
    answer = Actor(camunda.base_url, REQUESTER, DEMO_PASSWORD).call("POST", f"/process-instance/{pid}/modification",
                                                                    skip)
    assert answer.status == 403, answer
    service_actor(camunda).ok("POST", f"/process-instance/{pid}/modification", skip)
    decide(Actor(camunda.base_url, HEAD, DEMO_PASSWORD), pid, "approveAdjustment", decision="approve")
    officer = Actor(camunda.base_url, OFFICER, DEMO_PASSWORD)
    wait_task(officer, pid, "reviewApprovalException")
    problems = camunda.process_variables(pid)["approvalProblems"]
    assert "presidentOfficeMeeting" in problems and "(president)" in problems
    assert posted(row.adjustment_no) == [] and status(row.adjustment_no) == "submitted"


def test_a_meeting_without_minutes_moves_nothing(camunda, workers):
    dept, source, target = two_lines(across=True)
    row = submit(as_user(camunda, REQUESTER), dept, source, target)
    president = Actor(camunda.base_url, PRESIDENT, DEMO_PASSWORD)
    decide(president, row.process_instance_id, "presidentOfficeMeeting", decision="approve", comment="同意")
    officer = Actor(camunda.base_url, OFFICER, DEMO_PASSWORD)
    wait_task(officer, row.process_instance_id, "reviewApprovalException")
    assert "minutes" in camunda.process_variables(row.process_instance_id)["approvalProblems"]
    assert posted(row.adjustment_no) == []
