"""The budget-compilation process (两上两下) on the real engine with the product's workers: three departments
through 一上, 一下, 二上, the three approvals with their minutes, and the issue into the ledger."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from sqlmodel import select

from smartfin.app.demo_users import complete_as, process_ended, wait_for
from smartfin.budgeting import DraftRefused, Stage, get_round
from smartfin.budgeting.tables import BudgetIssue
from smartfin.kernel.clock import HOSPITAL_TZ
from smartfin.ledger import BudgetLineKey, balances
from smartfin.ledger.keys import FundingSource as F
from smartfin.processes.approvals import engine_instant
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.support.compilation import (
    HEADS,
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
YEAR = 2031


def audits(action: str) -> list[AuditEntry]:
    with session_scope() as session:
        rows = list(session.exec(select(AuditEntry).where(AuditEntry.action == action,
                                                          AuditEntry.subject_id == f"BUDGET-{YEAR}")).all())
        session.expunge_all()
        return rows


def test_a_year_is_compiled_through_both_rounds_and_issued(camunda, workers):
    prepare_year(YEAR)
    pid = start(camunda, YEAR)

    # 一上: one task per department for its head, due on the 一上 deadline (end of day, hospital time)
    first = tasks_of(camunda, pid, "firstSubmitDraft", 3)
    assert sorted(t["assignee"] for t in first) == sorted(HEADS.values())
    due = datetime(2026, 1, 10, 23, 59, 59, tzinfo=HOSPITAL_TZ)
    assert all(engine_instant(t["due"]) == due for t in first), [t["due"] for t in first]
    # the deadline passed: every department's task was escalated, in the audit log
    wait_for(lambda: len(audits("budget.draft_overdue")) >= 3, 30, message="three escalations")

    # a head who completes her task before uploading gets it back, with the reason
    card = next(t for t in first if t["assignee"] == "li.na")
    complete_as(camunda, "li.na", card, {})
    again = wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid, taskDefinitionKey="firstSubmitDraft")
                              if t["assignee"] == "li.na"], 30, message="CARD's task offered again")
    assert "no first-round draft of CARD" in task_variable(camunda, again[0]["id"], "draftProblem")
    assert audits("budget.draft_task_refused")

    submit_round(camunda, pid, YEAR, "firstSubmitDraft", {"CARD": 120000, "RAD": 80000, "LAB": 50000})

    # 一下: consolidated (workbook and HTML archived), the committee sets control numbers
    controls_task = tasks_of(camunda, pid, "setControlNumbers", 1)[0]
    summary = task_variable(camunda, controls_task["id"], "consolidationSummary")
    assert "CARD" in summary and "250000.00" in summary
    consolidated = audits("budget.consolidated")
    assert consolidated and consolidated[0].details_dict["workbook"] and consolidated[0].details_dict["html"]
    set_controls(camunda, pid, YEAR, {"CARD": Decimal("100000"), "RAD": Decimal("80000"), "LAB": Decimal("40000")})

    # 二上: within the control numbers; a draft over its control number is refused with the cell named
    tasks_of(camunda, pid, "secondSubmitDraft", 3)
    with pytest.raises(DraftRefused) as refused:
        upload(YEAR, "CARD", 100000.01)
    assert "基本支出!" in str(refused.value) and "exceeds the control number" in str(refused.value)
    submit_round(camunda, pid, YEAR, "secondSubmitDraft", {"CARD": 100000, "RAD": 75000, "LAB": 40000})

    # approval: budget committee → president's office meeting → Party committee, each with minutes
    for body in ("budget-committee", "president", "party-committee"):
        decide(camunda, pid, YEAR, body)
    process_ended(camunda, pid, 60)
    assert "budgetIssued" in {a["activityId"] for a in camunda.get("/history/activity-instance",
                                                                    processInstanceId=pid)}
    with session_scope() as session:
        assert get_round(session, YEAR).stage == Stage.ISSUED.value
        issue = session.exec(select(BudgetIssue).where(BudgetIssue.fiscal_year == YEAR)).one()
        assert issue.lines == 3 and issue.total_fen == 21_500_000
        assert balances(session, BudgetLineKey(YEAR, "RAD", "30201", F.FISCAL)).budget == Decimal("75000.00")
    assert audits("approvals-verified")
