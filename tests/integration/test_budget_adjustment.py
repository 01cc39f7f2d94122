"""The budget-adjustment process on the real engine: one adjustment per tier, decided by the demo users."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.app.demo_users import complete_as
from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_today
from smartfin.ledger import BudgetLineKey, JournalEntry, balances, create_line
from smartfin.processes.adjustment.adjustments import AdjustmentRefused, BudgetAdjustment, submit_adjustment
from smartfin.store.db import session_scope
from tests.support.engine import DEMO_PASSWORD, as_user, candidate_groups, open_task, process_ended
from tests.support.settings import environment

pytestmark = pytest.mark.engine
YEAR = hospital_today().year


def lines(*specs: tuple[str, str, str, str]) -> list[BudgetLineKey]:
    """Fresh lines (department, economic code, funding source, budget) for one test."""
    keys = []
    with session_scope() as session:
        for department, code, source, budget in specs:
            project = "P-ZX" if source == "earmarked" else ""
            key = BudgetLineKey(YEAR, department, code, source, project)  # type: ignore[arg-type]
            create_line(session, key, actor="test", budget=budget)
            keys.append(key)
    return keys


def department() -> str:
    return f"TA{uuid.uuid4().hex[:6].upper()}"


def adjustment(number: str) -> BudgetAdjustment:
    with session_scope() as session:
        row = session.get(BudgetAdjustment, number)
        assert row is not None
        session.expunge(row)
        return row


def posted(number: str) -> dict[str, Decimal]:
    with session_scope() as session:
        entries = session.exec(select(JournalEntry).where(JournalEntry.document_no == number)).all()
        return {str(e.line_id): e.amount for e in entries}


def test_a_transfer_within_one_department_below_the_limit_is_the_finance_heads(camunda, workers):
    dept = department()
    materials, office = lines((dept, "30218", "fiscal", "100000.00"), (dept, "30201", "fiscal", "20000.00"))
    number = submit_adjustment({"department": dept, "reason": "耗材节余调剂至办公费",
                                "effectiveOn": str(hospital_today()),
                                "movements": f"transfer; {materials}; {office}; 5000.00; 办公用品不足"},
                               engine=as_user(camunda, "li.na"))
    row = adjustment(number)
    assert (row.requester, row.tier, row.total) == ("li.na", "finance-head", Decimal("5000.00"))
    task = open_task(camunda, row.process_instance_id)
    assert task["taskDefinitionKey"] == "approveAdjustment"
    assert candidate_groups(camunda, task["id"]) == ["finance-head"]
    assert camunda.process_variables(row.process_instance_id)["movementsText"].startswith("transfer;")

    complete_as(camunda, "guo.hua", task, {"decision": "approve", "comment": "同意调剂"})

    process_ended(camunda, row.process_instance_id)
    ends = camunda.get("/history/activity-instance", processInstanceId=row.process_instance_id,
                       activityType="noneEndEvent")
    assert [e["activityId"] for e in ends] == ["adjustmentPosted"]
    row = adjustment(number)
    assert (row.status, row.approved_by, row.minutes_no) == ("posted", "guo.hua", None)
    assert sorted(posted(number).values()) == [Decimal("-5000.00"), Decimal("5000.00")]
    with session_scope() as session:
        assert balances(session, materials).adjustment == Decimal("-5000.00")
        assert balances(session, office).authorised == Decimal("25000.00")


def test_a_transfer_across_departments_goes_to_the_presidents_office_meeting(camunda, workers):
    giver, taker = department(), department()
    source, target = lines((giver, "30218", "fiscal", "60000.00"), (taker, "30218", "fiscal", "10000.00"))
    number = submit_adjustment({"department": giver, "reason": "支援新院区", "movements":
                                f"transfer; {source}; {target}; 3000.00; 新院区开办耗材\n"
                                f"increase; ; {target}; 1000.00; 追加"},
                               engine=as_user(camunda, "zhang.wei"))
    row = adjustment(number)
    assert (row.tier, row.cross_department, row.total) == ("president", True, Decimal("4000.00"))
    task = open_task(camunda, row.process_instance_id)
    assert task["taskDefinitionKey"] == "presidentOfficeMeeting"
    assert candidate_groups(camunda, task["id"]) == ["president"]

    complete_as(camunda, "zhao.lei", task, {"decision": "approve", "comment": "院长办公会同意",
                                            "minutesNo": "院办纪要〔2026〕12号"})

    process_ended(camunda, row.process_instance_id)
    row = adjustment(number)
    assert (row.status, row.approved_by, row.minutes_no) == ("posted", "zhao.lei", "院办纪要〔2026〕12号")
    with session_scope() as session:
        assert balances(session, source).adjustment == Decimal("-3000.00")
        assert balances(session, target).adjustment == Decimal("4000.00")  # the two movements, one entry


def test_a_rejected_adjustment_moves_nothing(camunda, workers):
    dept = department()
    [line] = lines((dept, "30218", "fiscal", "10000.00"))
    number = submit_adjustment({"department": dept, "reason": "压减",
                                "movements": f"decrease; {line}; ; 2000.00; 压减"},
                               engine=as_user(camunda, "zhang.wei"))
    row = adjustment(number)
    complete_as(camunda, "guo.hua", open_task(camunda, row.process_instance_id),
                {"decision": "reject", "comment": "不同意"})
    process_ended(camunda, row.process_instance_id)
    assert adjustment(number).status == "rejected" and posted(number) == {}


def test_submission_refuses_earmarked_to_basic_and_cuts_below_commitments(camunda: EngineClient) -> None:
    dept = department()
    earmarked, basic = lines((dept, "30218", "earmarked", "50000.00"), (dept, "30201", "fiscal", "8000.00"))
    with session_scope() as session:
        from smartfin.ledger import pre_encumber
        pre_encumber(session, basic, "7000.00", document_type="spending-request", document_no=f"SR-{dept}",
                     actor="test")
    with pytest.raises(AdjustmentRefused) as refused:
        submit_adjustment({"department": dept, "reason": "x", "movements":
                           f"transfer; {earmarked}; {basic}; 1000.00; 专项调基本\n"
                           f"decrease; {basic}; ; 3000.00; 压减"}, engine=as_user(camunda, "zhang.wei"))
    text = str(refused.value)
    assert "movements line 1" in text and "earmarked funds may not move to basic expenditure" in text
    assert f"line {basic}" in text and "below its commitments" in text
    with session_scope() as session:
        assert session.exec(select(BudgetAdjustment).where(BudgetAdjustment.department == dept)).first() is None


def test_budget_adjust_on_the_command_line_goes_through_the_process(camunda, workers, tmp_path):
    """`smartfin budget adjust` submits the process as the logged-in user: the line moves only once the
    finance head approves, effective on the day given; a cut below the commitments is refused at once."""
    dept = department()
    [line] = lines((dept, "30218", "fiscal", "10000.00"))
    with environment({"SMARTFIN_CREDENTIALS_DIR": str(tmp_path / "credentials")}):
        cli = CliRunner()
        assert cli.invoke(app, ["login", "--user", "li.na"], input=f"{DEMO_PASSWORD}\n").exit_code == 0
        options = ["budget", "adjust", "--year", str(YEAR), "--department", dept, "--economic-code", "30218",
                   "--effective", str(hospital_today())]
        asked = cli.invoke(app, [*options, "--amount", "-2500.00", "--reason", "压减; 会议费"])
        assert asked.exit_code == 0, asked.output
        assert asked.output.startswith("submitted ADJ-") and "decides: finance-head" in asked.output
        number = asked.output.split()[1]
        too_much = cli.invoke(app, [*options, "--amount", "-20000.00", "--reason", "压减"])
    assert too_much.exit_code == 3 and "below its commitments" in too_much.output, too_much.output
    row = adjustment(number)
    assert (row.requester, row.tier, row.effective_on, row.total) == (
        "li.na", "finance-head", hospital_today(), Decimal("2500.00"))
    with session_scope() as session:
        assert balances(session, line).adjustment == Decimal("0.00")  # nothing moves before the decision
    complete_as(camunda, "guo.hua", open_task(camunda, row.process_instance_id),
                {"decision": "approve", "comment": "同意"})
    process_ended(camunda, row.process_instance_id)
    assert adjustment(number).status == "posted"
    with session_scope() as session:
        assert balances(session, line).adjustment == Decimal("-2500.00")
