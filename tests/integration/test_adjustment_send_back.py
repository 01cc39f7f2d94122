"""Send back for revision (退回修改) and withdrawal of budget adjustments, on the real engine with the workers.

The finance head sends an adjustment back with a reason; the recorded requester revises it so that it grows past
the finance head's limit and resubmits it: the rules are checked again, the president's office meeting decides
the new round, the new movements are posted and the stored history keeps both rounds. Or the president's office
meeting sends one back and the requester withdraws it: nothing is posted and it no longer counts in flight.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.app.notify_commands import document_requester
from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_today
from smartfin.ledger import BudgetLineKey, JournalEntry, balances, create_line
from smartfin.processes.adjustment.adjustments import BudgetAdjustment, movements_of, submit_adjustment
from smartfin.processes.approvals import all_steps, recorded_decisions
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.support.engine import as_user, candidate_groups, process_ended, wait_for

pytestmark = pytest.mark.engine
YEAR = hospital_today().year
DOC = "budget-adjustment"
REQUESTER = "zhang.wei"


def two_lines() -> tuple[str, BudgetLineKey, BudgetLineKey]:
    dept = f"TB{uuid.uuid4().hex[:6].upper()}"
    source = BudgetLineKey(YEAR, dept, "30218", "fiscal")  # type: ignore[arg-type]
    target = BudgetLineKey(YEAR, dept, "30201", "fiscal")  # type: ignore[arg-type]
    with session_scope() as session:
        create_line(session, source, actor="test", budget="300000.00")
        create_line(session, target, actor="test", budget="10000.00")
    return dept, source, target


def submit(camunda: EngineClient, dept: str, movements: str) -> tuple[str, str]:
    number = submit_adjustment({"department": dept, "reason": "耗材节余调剂", "movements": movements},
                               engine=as_user(camunda, REQUESTER))
    with session_scope() as session:
        row = session.get(BudgetAdjustment, number)
        assert row is not None and row.process_instance_id
        return number, row.process_instance_id


def record(number: str) -> BudgetAdjustment:
    with session_scope() as session:
        row = session.get(BudgetAdjustment, number)
        assert row is not None
        session.expunge(row)
        return row


def audit(number: str, action: str) -> list[AuditEntry]:
    with session_scope() as session:
        rows = list(session.exec(select(AuditEntry).where(AuditEntry.subject_id == number,
                                                          AuditEntry.action == action)).all())
        session.expunge_all()
        return rows


def posted(number: str) -> list[Decimal]:
    with session_scope() as session:
        return sorted(e.amount for e in session.exec(select(JournalEntry).where(JournalEntry.document_no == number)))


def ended_at(camunda: EngineClient, pid: str) -> list[str]:
    return [e["activityId"] for e in camunda.get("/history/activity-instance", processInstanceId=pid,
                                                 activityType="noneEndEvent")]


def task_of(camunda: EngineClient, pid: str, key: str) -> dict[str, Any]:
    return wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid) if t["taskDefinitionKey"] == key],
                    30, message=key)[0]


def test_sent_back_revised_past_the_limit_goes_to_the_meeting_and_posts_the_new_movements(camunda, workers):
    dept, source, target = two_lines()
    number, pid = submit(camunda, dept, f"transfer; {source}; {target}; 5000.00; 办公用品")
    first = task_of(camunda, pid, "approveAdjustment")
    reason = "请合并全年调剂需求 one adjustment for the year"
    as_user(camunda, "guo.hua").complete_task(first["id"], {"decision": "sendBack", "comment": reason})

    revise = task_of(camunda, pid, "reviseAdjustment")
    assert revise["assignee"] == REQUESTER, "the recorded requester revises"
    assert "请合并全年调剂需求" in (revise.get("description") or "")
    assert record(number).status == "submitted" and posted(number) == []
    [sent] = audit(number, "sent-back")
    assert (sent.actor, sent.details_dict["reason"]) == ("guo.hua", reason)
    waiting = CliRunner().invoke(app, ["adjustment", "show", number, "--json"])
    assert json.loads(waiting.output)["status"] == "sent-back", waiting.output

    grown = f"transfer; {source}; {target}; 120000.00; 全年办公及耗材调剂"
    as_user(camunda, REQUESTER).complete_task(revise["id"], {
        "department": dept, "effectiveOn": str(hospital_today()), "reason": "全年调剂", "movements": grown,
        "revisionAction": "resubmit"})

    meeting = task_of(camunda, pid, "presidentOfficeMeeting")
    assert candidate_groups(camunda, meeting["id"]) == ["president"], "past the limit: the meeting decides now"
    assert [t["taskDefinitionKey"] for t in camunda.tasks(processInstanceId=pid)] == ["presidentOfficeMeeting"]
    shown = camunda.process_variables(pid)["approvalHistoryText"].splitlines()
    assert len(shown) == 2, "the meeting reads round 1 before deciding"
    assert "guo.hua 退回修改 sent back：" + reason in shown[0] and f"{REQUESTER} 重新提交 resubmitted" in shown[1]
    as_user(camunda, "zhao.lei").complete_task(meeting["id"], {"decision": "approve", "comment": "同意",
                                                               "minutesNo": "院办会〔2026〕12号"})
    process_ended(camunda, pid)
    assert ended_at(camunda, pid) == ["adjustmentPosted"]

    row = record(number)
    assert (row.status, row.total, row.tier, row.reason, row.approved_by) == (
        "posted", Decimal("120000.00"), "president", "全年调剂", "zhao.lei")
    assert posted(number) == [Decimal("-120000.00"), Decimal("120000.00")], "the revised movement, not the first"
    with session_scope() as session:
        assert balances(session, target).adjustment == Decimal("120000.00")
        assert [m.amount for m in movements_of(session, number)] == [Decimal("120000.00")]
        steps = [(s.round, s.candidate_group, s.amount) for s in all_steps(session, DOC, number)]
        decisions = [(d.round, d.task_key, d.user_id, d.outcome) for d in recorded_decisions(session, DOC, number)]
    assert steps == [(1, "finance-head", Decimal("5000.00")), (2, "president", Decimal("120000.00"))]
    assert decisions == [(1, "approveAdjustment", "guo.hua", "sendBack"),
                         (1, "reviseAdjustment", REQUESTER, "resubmit"),
                         (2, "presidentOfficeMeeting", "zhao.lei", "approve")]
    [resubmitted] = audit(number, "resubmitted")
    assert resubmitted.actor == REQUESTER
    assert resubmitted.details_dict["changes"]["tier"] == ["finance-head", "president"]
    assert "5000.00" in resubmitted.details_dict["changes"]["movements"][0]
    with session_scope() as session:  # the notifier tells the requester of the record about the send-back
        assert document_requester(session, DOC, number) == REQUESTER
    shown = CliRunner().invoke(app, ["adjustment", "show", number, "--json"])
    assert shown.exit_code == 0, shown.output
    assert [d[:4] for d in json.loads(shown.output)["decisions"]] == [list(d) for d in decisions]
    assert json.loads(shown.output)["status"] == "posted"


def test_sent_back_by_the_meeting_and_withdrawn_posts_nothing(camunda, workers):
    dept, source, target = two_lines()
    number, pid = submit(camunda, dept, f"transfer; {source}; {target}; 150000.00; 大额调剂")
    meeting = task_of(camunda, pid, "presidentOfficeMeeting")
    as_user(camunda, "zhao.lei").complete_task(meeting["id"], {"decision": "sendBack", "comment": "请补充测算依据",
                                                               "minutesNo": "院办会〔2026〕13号"})
    revise = task_of(camunda, pid, "reviseAdjustment")
    [sent] = audit(number, "sent-back")
    assert (sent.actor, sent.details_dict["minutesNo"]) == ("zhao.lei", "院办会〔2026〕13号")
    as_user(camunda, REQUESTER).complete_task(revise["id"], {"revisionAction": "withdraw"})

    process_ended(camunda, pid)
    assert ended_at(camunda, pid) == ["adjustmentWithdrawn"]
    assert record(number).status == "withdrawn" and posted(number) == []
    assert [e.actor for e in audit(number, "withdrawal-requested")] == [REQUESTER]
    assert len(audit(number, "closed-withdrawn")) == 1
    with session_scope() as session:
        outcomes = [(d.round, d.user_id, d.outcome) for d in recorded_decisions(session, DOC, number)]
    assert outcomes == [(1, "zhao.lei", "sendBack"), (1, REQUESTER, "withdraw")]
