"""Send back for revision (退回修改) at the budget approval, on the real engine with the product's workers: the
president's office meeting sends the budget back, the budget office reopens one department's 二上 draft, the
department revises it, the budget goes to a new approval round routed from the new total and is issued with it,
both rounds in the history; and a withdrawal from approval, after which a new start resumes at 二上."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select

from smartfin.app.demo_users import process_ended, wait_for
from smartfin.app.notify_commands import document_requester
from smartfin.budgeting import ControlSetting, Stage, get_round, set_control_numbers
from smartfin.budgeting.tables import BudgetIssue
from smartfin.ledger import BudgetLineKey, balances
from smartfin.ledger.keys import FundingSource as F
from smartfin.processes.approvals import all_steps, recorded_decisions
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.security.engine_users import service_actor
from tests.support.compilation import (
    BUDGET_OFFICE,
    HEADS,
    SIGNERS,
    complete_as,
    decide,
    prepare_year,
    revise,
    send_back,
    start,
    submit_round,
    task_variable,
    tasks_of,
    through_second_round,
    upload,
)

pytestmark = pytest.mark.engine
AMOUNTS = {"CARD": 100000, "RAD": 75000, "LAB": 40000}


def audits(year: int, action: str) -> list[AuditEntry]:
    with session_scope() as session:
        rows = list(session.exec(select(AuditEntry).where(AuditEntry.action == action,
                                                          AuditEntry.subject_id == f"BUDGET-{year}")).all())
        session.expunge_all()
        return rows


def stage(year: int) -> str:
    with session_scope() as session:
        return get_round(session, year).stage


def test_a_sent_back_budget_is_revised_resubmitted_as_a_new_round_and_issued(camunda, workers):
    year = 2041
    prepare_year(year)
    pid = start(camunda, year)
    through_second_round(camunda, pid, year, AMOUNTS)
    decide(camunda, pid, year, "budget-committee", number="预委-1")
    send_back(camunda, pid, year, "president", "放射科设备维护费偏高，请压减 / cut radiology's maintenance", "院办-1")

    # the budget office of the round's record gets the revision task with the reason; the round is back at 二上
    task = tasks_of(camunda, pid, "reviseBudget", 1)[0]
    assert task["assignee"] == BUDGET_OFFICE
    assert "放射科设备维护费偏高" in task_variable(camunda, task["id"], "sendBackReason")
    assert "退回修改" in task_variable(camunda, task["id"], "approvalHistoryText")
    assert stage(year) == Stage.SECOND.value
    assert audits(year, "sent-back")[0].details_dict["group"] == "president"
    with session_scope() as session:  # the notifier tells the budget office of the send-back, from the record
        assert document_requester(session, "budget-compilation", f"BUDGET-{year}") == BUDGET_OFFICE

    # radiology's draft is reopened: only its 二上 task comes again, through the same task and checks
    revise(camunda, pid, reopen="RAD")
    draft_task = tasks_of(camunda, pid, "secondSubmitDraft", 1)[0]
    assert draft_task["assignee"] == HEADS["RAD"]
    assert "放射科设备维护费偏高" in task_variable(camunda, draft_task["id"], "sendBackReason")
    upload(year, "RAD", 70000)
    complete_as(camunda, HEADS["RAD"], draft_task, {})

    # a new round of the chain, fixed from the new total, decided by the bodies' new meetings; they read why the
    # earlier round was sent back
    first = tasks_of(camunda, pid, "approveBudget", 1)[0]
    assert "放射科设备维护费偏高" in task_variable(camunda, first["id"], "approvalHistoryText")
    for body, number in (("budget-committee", "预委-2"), ("president", "院办-2"), ("party-committee", "党委-2")):
        decide(camunda, pid, year, body, number=number)
    process_ended(camunda, pid, 60)
    with session_scope() as session:
        assert get_round(session, year).stage == Stage.ISSUED.value
        issue = session.exec(select(BudgetIssue).where(BudgetIssue.fiscal_year == year)).one()
        assert issue.total_fen == 21_000_000
        assert balances(session, BudgetLineKey(year, "RAD", "30201", F.FISCAL)).budget == Decimal("70000.00")
        steps = all_steps(session, "budget-compilation", f"BUDGET-{year}")
        assert {(s.round, s.amount) for s in steps} == {(1, Decimal("215000.00")), (2, Decimal("210000.00"))}
        # the history keeps both rounds: the first round's approval, send-back and the office's answer
        kept = [(d.round, d.user_id, d.outcome) for d in recorded_decisions(session, "budget-compilation",
                                                                            f"BUDGET-{year}")]
        assert kept[:3] == [(1, "sun.li", "approve"), (1, "zhao.lei", "sendBack"), (1, BUDGET_OFFICE, "resubmit")]
        assert [k for k in kept if k[0] == 2] == [(2, "sun.li", "approve"), (2, "zhao.lei", "approve"),
                                                  (2, "zhou.qiang", "approve")]
    assert audits(year, "resubmitted")[0].details_dict["reopened"] == ["RAD"]
    assert len(audits(year, "approvals-verified")) == 1


def test_a_budget_withdrawn_from_approval_stays_at_the_drafts_and_a_new_start_resumes_there(camunda, workers):
    year = 2043
    prepare_year(year)
    pid = start(camunda, year)
    through_second_round(camunda, pid, year, AMOUNTS)
    send_back(camunda, pid, year, "budget-committee", "心内科控制数须下调 / cut cardiology's control number", "预委-1")
    # the committee cuts a control number while the budget is back at 二上; resubmitted without reopening any
    # draft, the budget cannot go to approval and every department's 二上 task comes again
    tasks_of(camunda, pid, "reviseBudget", 1)
    with session_scope() as session:
        set_control_numbers(session, year, [ControlSetting("CARD", "fiscal", "90000")], decision="预委〔2026〕4号",
                            actor=SIGNERS["budget-committee"])
    revise(camunda, pid)
    again = tasks_of(camunda, pid, "secondSubmitDraft", 3)
    assert stage(year) == Stage.SECOND.value
    submit_round(camunda, pid, year, "secondSubmitDraft", {**AMOUNTS, "CARD": 90000})
    assert again and len(tasks_of(camunda, pid, "approveBudget", 1)) == 1
    send_back(camunda, pid, year, "budget-committee", "上级主管部门调整编制口径 / the authority changed the guidance",
              "预委-2")
    revise(camunda, pid, action="withdraw")
    process_ended(camunda, pid, 60)
    ended = {a["activityId"] for a in camunda.get("/history/activity-instance", processInstanceId=pid)}
    assert "budgetWithdrawn" in ended and "issueBudget" not in ended
    assert stage(year) == Stage.SECOND.value
    assert audits(year, "budget.compilation_withdrawn")[0].actor == BUDGET_OFFICE
    with session_scope() as session:
        assert session.exec(select(BudgetIssue).where(BudgetIssue.fiscal_year == year)).first() is None

    # started again, the compilation resumes at 二上 for every department (no 一上 again)
    again = start(camunda, year)
    resumed = tasks_of(camunda, again, "secondSubmitDraft", 3)
    assert sorted(t["assignee"] for t in resumed) == sorted(HEADS.values())
    assert camunda.tasks(processInstanceId=again, taskDefinitionKey="firstSubmitDraft") == []
    # while it runs, it cannot be started a third time
    third = start(camunda, year)
    failed = wait_for(lambda: [t for t in camunda.get("/external-task", processInstanceId=third)
                               if t.get("errorMessage")], 60, message="the third start refused")
    assert "started before" in failed[0]["errorMessage"]
    for instance in (again, third):
        service_actor(camunda).remove_instance(instance)
