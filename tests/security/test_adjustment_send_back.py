"""Send back, resubmit and withdraw on budget adjustments, attacked through the engine's REST API.

The demo users try what their passwords let them send: a send-back on a decision that is not theirs, another
person's resubmission or withdrawal, variables the revision form does not offer. The engine's write guard
refuses those first; the service account (which the guard lets write anything) stands for the strongest
attacker, and what must hold even then are the workers' checks against the engine's history: a send-back by a
non-member of the tier's group, without a reason or, at the president's office meeting, without minutes moves
nothing; a revision not completed by the recorded requester changes nothing; forged copies of the tier, the
requester or the total do not route the resubmission, its new total does; and when the instance is moved back to
the requester by hand, the earlier round's decision neither counts for the new round nor spoils it.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select

from smartfin.kernel.clock import hospital_today
from smartfin.ledger import BudgetLineKey, JournalEntry, create_line
from smartfin.processes.adjustment.adjustments import BudgetAdjustment, submit_adjustment
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.security.engine_users import DEMO_PASSWORD, Actor, service_actor, variables
from tests.support.engine import as_user, process_ended

pytestmark = pytest.mark.engine
YEAR = hospital_today().year
HEAD, PRESIDENT, OFFICER, REQUESTER, OTHER = "guo.hua", "zhao.lei", "wang.fang", "zhang.wei", "li.na"


def submit(camunda: Any, amount: str) -> tuple[str, str, str, BudgetLineKey, BudgetLineKey]:
    dept = f"TC{uuid.uuid4().hex[:6].upper()}"
    source = BudgetLineKey(YEAR, dept, "30218", "fiscal")  # type: ignore[arg-type]
    target = BudgetLineKey(YEAR, dept, "30201", "fiscal")  # type: ignore[arg-type]
    with session_scope() as session:
        create_line(session, source, actor="test", budget="300000.00")
        create_line(session, target, actor="test", budget="10000.00")
    number = submit_adjustment({"department": dept, "reason": "调剂",
                                "movements": f"transfer; {source}; {target}; {amount}; 调剂"},
                               engine=as_user(camunda, REQUESTER))
    with session_scope() as session:
        row = session.get(BudgetAdjustment, number)
        assert row is not None and row.process_instance_id
        return number, row.process_instance_id, dept, source, target


def user(camunda: Any, name: str) -> Actor:
    return Actor(camunda.base_url, name, DEMO_PASSWORD)


def next_task(actor: Actor, pid: str, key: str, after: str | None = None, timeout: float = 30) -> dict[str, Any]:
    """The open task ``key`` of the instance other than ``after`` (the one just completed), once it exists."""
    deadline = time.monotonic() + timeout
    while True:
        tasks = [t for t in actor.ok("POST", "/task", {"processInstanceId": pid})
                 if t["taskDefinitionKey"] == key and t["id"] != after]
        if tasks:
            return tasks[0]
        assert time.monotonic() < deadline, f"no new {key} in {pid}"
        time.sleep(0.2)


def complete(actor: Actor, task: dict[str, Any], **values: Any) -> None:
    actor.ok("POST", f"/task/{task['id']}/complete", {"variables": variables(**values)})


def record(number: str) -> BudgetAdjustment:
    with session_scope() as session:
        row = session.get(BudgetAdjustment, number)
        assert row is not None
        session.expunge(row)
        return row


def audited(number: str, action: str) -> list[AuditEntry]:
    with session_scope() as session:
        rows = list(session.exec(select(AuditEntry).where(AuditEntry.subject_id == number,
                                                          AuditEntry.action == action)).all())
        session.expunge_all()
        return rows


def posted(number: str) -> list[Decimal]:
    with session_scope() as session:
        return sorted(e.amount for e in session.exec(select(JournalEntry).where(JournalEntry.document_no == number)))


def open_keys(camunda: Any, pid: str) -> list[str]:
    return [t["taskDefinitionKey"] for t in camunda.tasks(processInstanceId=pid)]


def test_a_send_back_by_someone_not_allowed_or_without_a_reason_moves_nothing(camunda, workers):
    number, pid, *_ = submit(camunda, "5000.00")
    head = user(camunda, HEAD)
    task = next_task(head, pid, "approveAdjustment")
    send_back = {"variables": variables(decision="sendBack", comment="退回")}
    for name in (OFFICER, REQUESTER):  # not a finance head; the requester herself
        answer = user(camunda, name).call("POST", f"/task/{task['id']}/complete", send_back)
        assert answer.status >= 400, (name, answer)

    complete(head, task, decision="sendBack", comment="  ")  # no reason
    task = next_task(head, pid, "approveAdjustment", after=task["id"])
    assert "needs a reason" in (task.get("description") or "")

    # the strongest writer the engine has sends it back: not a member of finance-head, so it does not hold
    complete(service_actor(camunda), task, decision="sendBack", comment="退回修改")
    task = next_task(head, pid, "approveAdjustment", after=task["id"])
    assert "is not a member of finance-head" in (task.get("description") or "")
    assert "reviseAdjustment" not in open_keys(camunda, pid)
    refused = audited(number, "send-back-refused")
    assert len(refused) == 2 and audited(number, "sent-back") == []
    assert record(number).status == "submitted"

    # the refused send-backs sign nothing and break nothing: the finance head's approval alone posts it
    complete(head, task, decision="approve", comment="同意")
    process_ended(camunda, pid)
    assert record(number).status == "posted" and posted(number) == [Decimal("-5000.00"), Decimal("5000.00")]


def test_only_the_recorded_requester_may_resubmit_or_withdraw(camunda, workers):
    number, pid, *_ = submit(camunda, "150000.00")
    president = user(camunda, PRESIDENT)
    meeting = next_task(president, pid, "presidentOfficeMeeting")
    complete(service_actor(camunda), meeting, decision="sendBack", comment="请补充测算依据")  # no minutes
    meeting = next_task(president, pid, "presidentOfficeMeeting", after=meeting["id"])
    assert "no minutes number" in (meeting.get("description") or "")
    complete(president, meeting, decision="sendBack", comment="请补充测算依据", minutesNo="院办会〔2026〕21号")

    requester = user(camunda, REQUESTER)
    revise = next_task(requester, pid, "reviseAdjustment")
    assert revise["assignee"] == REQUESTER
    other = user(camunda, OTHER)
    for method, path, body in (("POST", f"/task/{revise['id']}/claim", {"userId": OTHER}),
                               ("POST", f"/task/{revise['id']}/complete",
                                {"variables": variables(revisionAction="withdraw")})):
        answer = other.call(method, path, body)
        assert answer.status >= 400, (path, answer)

    # completed by anyone but the requester (here the service account): back to her, the problem named
    complete(service_actor(camunda), revise, revisionAction="withdraw")
    again = next_task(requester, pid, "reviseAdjustment", after=revise["id"])
    assert again["assignee"] == REQUESTER
    assert f"only the requester {REQUESTER} may resubmit or withdraw" in (again.get("description") or "")
    assert record(number).status == "submitted" and len(audited(number, "revision-refused")) == 1
    assert audited(number, "withdrawal-requested") == []

    # her own revision is checked like a submission: a line that does not exist sends it back to her, unchanged
    complete(requester, again, movements="transfer; 2026/NOWHERE/30218/fiscal; ; 5.00; x", revisionAction="resubmit")
    third = next_task(requester, pid, "reviseAdjustment", after=again["id"])
    assert "a transfer needs this line" in (third.get("description") or "")
    assert record(number).total == Decimal("150000.00") and audited(number, "resubmitted") == []

    complete(requester, third, revisionAction="withdraw")
    process_ended(camunda, pid)
    assert record(number).status == "withdrawn" and posted(number) == []


def test_injected_variables_change_nothing_and_a_grown_total_gets_the_meeting(camunda, workers):
    number, pid, dept, source, target = submit(camunda, "5000.00")
    head = user(camunda, HEAD)
    complete(head, next_task(head, pid, "approveAdjustment"), decision="sendBack", comment="请合并需求")
    requester = user(camunda, REQUESTER)
    revise = next_task(requester, pid, "reviseAdjustment")
    grown = f"transfer; {source}; {target}; 120000.00; 全年调剂"
    edit = {"department": dept, "effectiveOn": str(hospital_today()), "reason": "全年调剂", "movements": grown,
            "revisionAction": "resubmit"}
    for name, value in (("tier", "finance-head"), ("requester", OTHER), ("totalAmount", "1.00"),
                        ("approvalChain", '["finance-head"]'), ("adjustmentNo", "ADJ-0000-000001")):
        answer = requester.call("POST", f"/task/{revise['id']}/complete",
                                {"variables": variables(**edit, **{name: value})})
        assert answer.status == 403 and "WRITE_GUARD" in answer.message, (name, answer)
        answer = requester.call("PUT", f"/process-instance/{pid}/variables/{name}", {"value": value, "type": "String"})
        assert answer.status == 403, (name, answer)

    # the service account rewrites the copies: the resubmission still follows the revision and the record
    service_actor(camunda).ok("POST", f"/process-instance/{pid}/variables", {"modifications": variables(
        tier="finance-head", requester=OTHER, totalAmount="1.00", department="FORGED", movements="forged")})
    complete(requester, revise, **edit)

    meeting = next_task(user(camunda, PRESIDENT), pid, "presidentOfficeMeeting")
    assert open_keys(camunda, pid) == ["presidentOfficeMeeting"], "120,000 is past the finance head's limit"
    row = record(number)
    assert (row.requester, row.department, row.total, row.tier) == (REQUESTER, dept, Decimal("120000.00"),
                                                                    "president")
    # the finance head's first-round decision never counts for the new round: the meeting must decide
    complete(user(camunda, PRESIDENT), meeting, decision="approve", comment="同意", minutesNo="院办会〔2026〕22号")
    process_ended(camunda, pid)
    assert record(number).status == "posted"
    assert posted(number) == [Decimal("-120000.00"), Decimal("120000.00")]


def test_only_the_latest_rounds_decision_counts_when_the_money_moves(camunda, workers):
    number, pid, dept, source, target = submit(camunda, "150000.00")
    president = user(camunda, PRESIDENT)
    complete(president, next_task(president, pid, "presidentOfficeMeeting"), decision="approve", comment="同意")
    exception = next_task(user(camunda, OFFICER), pid, "reviewApprovalException")  # no minutes: nothing posted
    # the strongest writer moves the instance back to the requester instead of voiding it
    service = service_actor(camunda)
    service.ok("POST", f"/process-instance/{pid}/variables",
               {"modifications": variables(sendBackReason="moved back", revisionProblem="")})
    service.ok("POST", f"/process-instance/{pid}/modification", {"instructions": [
        {"type": "cancel", "activityId": "reviewApprovalException"},
        {"type": "startBeforeActivity", "activityId": "reviseAdjustment"}]})
    assert exception["id"] != next_task(user(camunda, REQUESTER), pid, "reviseAdjustment")["id"]
    requester = user(camunda, REQUESTER)
    complete(requester, next_task(requester, pid, "reviseAdjustment"), department=dept, reason="调剂",
             effectiveOn=str(hospital_today()), movements=f"transfer; {source}; {target}; 140000.00; 调剂",
             revisionAction="resubmit")

    # the second round is decided properly; the first round's approval neither counts for it nor spoils it
    meeting = next_task(president, pid, "presidentOfficeMeeting")
    complete(president, meeting, decision="approve", comment="同意", minutesNo="院办会〔2026〕23号")
    process_ended(camunda, pid)
    assert record(number).status == "posted"
    assert posted(number) == [Decimal("-140000.00"), Decimal("140000.00")]
    verified = audited(number, "approvals-verified")
    assert [e.details_dict["round"] for e in verified] == [2]
    assert verified[0].details_dict["signed"] == [["president", PRESIDENT, "approve"]]
