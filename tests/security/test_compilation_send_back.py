"""Send back, resubmit and withdraw at the budget-compilation approval, attacked through the engine's REST API as
the demo people with their own passwords.

A member of another body cannot send back a step that is not hers; the administrator, whom the engine's write
guard lets complete anything, stands for the strongest attacker: her send-back, and a member's without a reason,
move nothing. Only the budget office of the round's record answers a send-back; variables the revision form does
not offer are refused; an earlier round's decisions and minutes never carry the new round. A department's draft,
once its task submitted it, is replaced only when a send-back reopens that department: its contact uploading
through the upload page is refused before, and while other departments are reopened.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select

from smartfin.app.budget_upload import create_app
from smartfin.app.demo_users import demo_password, wait_for
from smartfin.budgeting import Stage, draft_history, get_round, template_workbook
from smartfin.budgeting.tables import BudgetDraft, BudgetIssue
from smartfin.kernel.money import format_yuan
from smartfin.kernel.settings import get_settings
from smartfin.ledger.keys import FundingSource as F
from smartfin.processes.approvals import current_chain
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.budgeting.workbooks import fill
from tests.security.engine_users import Actor, admin_password, service_actor, variables
from tests.support.compilation import (
    BUDGET_OFFICE,
    HEADS,
    SIGNERS,
    attach,
    complete_as,
    decide,
    page_login,
    page_upload,
    prepare_year,
    revise,
    send_back,
    set_controls,
    start,
    submit_round,
    task_variable,
    tasks_of,
    through_second_round,
    upload,
)
from tests.support.web import served

pytestmark = pytest.mark.engine
AMOUNTS = {"CARD": 1000, "RAD": 2000, "LAB": 3000}


def person(camunda: Any, user: str) -> Actor:
    return Actor(camunda.base_url, user, demo_password())


def admin(camunda: Any) -> Actor:
    return Actor(camunda.base_url, "admin", admin_password())


def stage(year: int) -> str:
    with session_scope() as session:
        return get_round(session, year).stage


def audited(year: int, action: str) -> list[AuditEntry]:
    with session_scope() as session:
        rows = list(session.exec(select(AuditEntry).where(AuditEntry.subject_id == f"BUDGET-{year}",
                                                          AuditEntry.action == action)).all())
        session.expunge_all()
        return rows


def next_task(camunda: Any, pid: str, key: str, before: dict[str, Any]) -> dict[str, Any]:
    """The task ``key`` offered again after ``before`` was completed."""
    return wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid, taskDefinitionKey=key)
                             if t["id"] != before["id"]], 30, message=f"{key} offered again")[0]


def chain_round(year: int) -> int:
    with session_scope() as session:
        return current_chain(session, "budget-compilation", f"BUDGET-{year}")[0].round


def test_send_back_and_revision_hold_only_for_the_people_of_the_record(camunda, workers):
    year = 2044
    prepare_year(year)
    pid = start(camunda, year)
    through_second_round(camunda, pid, year, AMOUNTS)
    task = tasks_of(camunda, pid, "approveBudget", 1)[0]
    attach(camunda, year, "budget-committee", "预委-1")
    sendback = {"decision": "sendBack", "minutesNo": "预委-1", "comment": "请压减 cut it"}
    # the president's office cannot decide the budget committee's step at all
    assert person(camunda, SIGNERS["president"]).call(
        "POST", f"/task/{task['id']}/complete", {"variables": variables(**sendback)}).status == 403
    # the administrator's send-back is not a member's: refused, audited, the same step asked again
    admin(camunda).ok("POST", f"/task/{task['id']}/complete", {"variables": variables(**sendback)})
    task = next_task(camunda, pid, "approveBudget", task)
    assert "admin is not a member of budget-committee" in task_variable(camunda, task["id"], "sendBackProblem")
    # a member's send-back without a reason is refused too
    complete_as(camunda, SIGNERS["budget-committee"], task, {**sendback, "comment": " "})
    task = next_task(camunda, pid, "approveBudget", task)
    assert "needs a reason" in task_variable(camunda, task["id"], "sendBackProblem")
    assert len(audited(year, "send-back-refused")) == 2 and not audited(year, "sent-back")
    assert stage(year) == Stage.APPROVAL.value
    assert camunda.tasks(processInstanceId=pid, taskDefinitionKey="reviseBudget") == []

    complete_as(camunda, SIGNERS["budget-committee"], task, {"decision": "approve", "minutesNo": "预委-1",
                                                             "comment": ""})
    send_back(camunda, pid, year, "president", "请补充绩效目标 / add the performance targets", "院办-1")
    revision = tasks_of(camunda, pid, "reviseBudget", 1)[0]
    assert revision["assignee"] == BUDGET_OFFICE and stage(year) == Stage.SECOND.value
    # another finance person cannot answer it; variables the form does not offer (or read-only ones changed) are
    # refused by the engine, even from the budget office
    assert person(camunda, "liu.yang").call("POST", f"/task/{revision['id']}/complete", {
        "variables": variables(revisionAction="resubmit")}).status == 403
    office = person(camunda, BUDGET_OFFICE)
    for forged in ({"requester": "liu.yang"}, {"draftDepartments": '["CARD"]'}, {"approvalChain": '["president"]'},
                   {"budgetTotal": "1.00"}, {"draftsReopened": True}):
        answer = office.call("POST", f"/task/{revision['id']}/complete",
                             {"variables": variables(revisionAction="resubmit", **forged)})
        assert answer.status == 403, (forged, answer.body)
    assert office.call("PUT", f"/process-instance/{pid}/variables/draftDepartments",
                       {"value": '["CARD"]', "type": "Json"}).status == 403
    # a revision completed by anyone but the budget office of the record goes back with the problem named
    admin(camunda).ok("POST", f"/task/{revision['id']}/complete", {"variables": variables(revisionAction="resubmit")})
    revision = next_task(camunda, pid, "reviseBudget", revision)
    assert revision["assignee"] == BUDGET_OFFICE
    assert f"only the requester {BUDGET_OFFICE}" in task_variable(camunda, revision["id"], "revisionProblem")
    # a department that does not compile the year cannot be reopened
    revise(camunda, pid, reopen="CARD, XRAY")
    revision = next_task(camunda, pid, "reviseBudget", revision)
    assert "XRAY do not compile" in task_variable(camunda, revision["id"], "revisionProblem")
    assert len(audited(year, "revision-refused")) == 2 and chain_round(year) == 1

    # resubmitted: a new round; the first round's approval of the budget committee does not carry it
    revise(camunda, pid)
    tasks_of(camunda, pid, "approveBudget", 1)
    assert chain_round(year) == 2
    admin(camunda).ok("POST", f"/process-instance/{pid}/modification", {"instructions": [
        {"type": "cancel", "activityId": "approvalChain"},
        {"type": "startBeforeActivity", "activityId": "verifyApprovals"}]})
    review = tasks_of(camunda, pid, "reviewApprovalException", 1)[0]
    problems = task_variable(camunda, review["id"], "approvalProblems")
    assert "the stored chain has 3 steps, 0 approvals were completed" in problems, problems
    with session_scope() as session:
        assert session.exec(select(BudgetIssue).where(BudgetIssue.fiscal_year == year)).first() is None
    service_actor(camunda).remove_instance(pid)


def test_an_earlier_rounds_minutes_do_not_carry_the_new_round(camunda, workers):
    year = 2045
    prepare_year(year)
    pid = start(camunda, year)
    through_second_round(camunda, pid, year, AMOUNTS)
    decide(camunda, pid, year, "budget-committee", number="预委-1")
    send_back(camunda, pid, year, "president", "请说明增长原因 / explain the growth", "院办-1")
    revise(camunda, pid)
    # the budget committee signs the new round citing the minutes of its earlier meeting
    task = tasks_of(camunda, pid, "approveBudget", 1)[0]
    complete_as(camunda, SIGNERS["budget-committee"], task, {"decision": "approve", "minutesNo": "预委-1",
                                                             "comment": ""})
    decide(camunda, pid, year, "president", number="院办-2")
    decide(camunda, pid, year, "party-committee", number="党委-2")
    review = tasks_of(camunda, pid, "reviewApprovalException", 1)[0]
    problems = task_variable(camunda, review["id"], "approvalProblems")
    assert "minutes 预委-1 were cited in an earlier round" in problems, problems
    assert stage(year) == Stage.APPROVAL.value
    with session_scope() as session:
        assert session.exec(select(BudgetIssue).where(BudgetIssue.fiscal_year == year)).first() is None
    service_actor(camunda).remove_instance(pid)


def _draft(year: int, department: str, amount: int) -> bytes:
    with session_scope() as session:
        return fill(template_workbook(session, year, department), {("30201", F.FISCAL): amount})


def _second_round(year: int, department: str) -> list[BudgetDraft]:
    with session_scope() as session:
        drafts = [d for d in draft_history(session, year, department) if d.round == Stage.SECOND.value]
        session.expunge_all()
        return drafts


def test_a_submitted_draft_changes_only_when_a_send_back_reopens_its_department(camunda, workers):
    year = 2046
    prepare_year(year)
    pid = start(camunda, year)
    submit_round(camunda, pid, year, "firstSubmitDraft", AMOUNTS)
    set_controls(camunda, pid, year, {d: Decimal(a) for d, a in AMOUNTS.items()})
    with served(create_app(get_settings())) as page:
        cardiology, token = page_login(page, HEADS["CARD"])
        # 二上: cardiology submits with its task while the others still draft; its draft is then held
        tasks = {t["assignee"]: t for t in tasks_of(camunda, pid, "secondSubmitDraft", 3)}
        upload(year, "CARD", AMOUNTS["CARD"])
        complete_as(camunda, HEADS["CARD"], tasks[HEADS["CARD"]], {})
        wait_for(lambda: _second_round(year, "CARD")[-1].accepted_at, 30, message="CARD's 二上 draft submitted")
        refused = page_upload(cardiology, page, token, "CARD", _draft(year, "CARD", 900))
        assert refused.status_code == 409 and "was submitted with its task" in refused.text, refused.text
        for department in ("RAD", "LAB"):
            upload(year, department, AMOUNTS[department])
            complete_as(camunda, HEADS[department], tasks[HEADS[department]], {})
        tasks_of(camunda, pid, "approveBudget", 1)

        # sent back; the budget office reopens radiology only: cardiology still cannot slip a new draft in
        send_back(camunda, pid, year, "budget-committee", "请压减放射科 / cut radiology", "预委-46")
        revise(camunda, pid, reopen="RAD")
        reopened = tasks_of(camunda, pid, "secondSubmitDraft", 1)[0]
        assert reopened["assignee"] == HEADS["RAD"] and stage(year) == Stage.SECOND.value
        refused = page_upload(cardiology, page, token, "CARD", _draft(year, "CARD", 900))
        assert refused.status_code == 409 and "was submitted with its task" in refused.text, refused.text
        radiology, rad_token = page_login(page, HEADS["RAD"])
        accepted = page_upload(radiology, page, rad_token, "RAD", _draft(year, "RAD", 1500))
        assert accepted.status_code == 200, accepted.text
        complete_as(camunda, HEADS["RAD"], reopened, {})

    second = tasks_of(camunda, pid, "approveBudget", 1)[0]
    assert chain_round(year) == 2
    assert task_variable(camunda, second["id"], "budgetTotal") == format_yuan(Decimal(1000 + 1500 + 3000))
    assert [(d.revision, d.total_fen) for d in _second_round(year, "CARD")] == [(1, 100000)]
    assert [(d.revision, d.status) for d in _second_round(year, "RAD")] == [(1, "replaced"), (2, "current")]
    assert [e.details_dict["department"] for e in audited_drafts("budget.draft_reopened", year)] == ["RAD"]
    service_actor(camunda).remove_instance(pid)


def audited_drafts(action: str, year: int) -> list[AuditEntry]:
    """The audit entries ``action`` of the year's drafts (their subject is the draft)."""
    with session_scope() as session:
        rows = [e for e in session.exec(select(AuditEntry).where(AuditEntry.action == action)).all()
                if e.details_dict.get("fiscal_year") == year]
        session.expunge_all()
        return rows
