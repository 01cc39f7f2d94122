"""Delegation (授权) against the real engine, as the demo users over REST.

li.na (dept-head) names sun.li (budget committee, not a department head) as her deputy. The record is the
delegation table; the engine learns the deputies in force from the deputy groups the service keeps
(``sync_deputy_groups``); the control step reads the table again for the moment each task was completed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import hospital_now, utc_now
from smartfin.ledger import import_budget
from smartfin.processes.delegations import (
    Delegation,
    engine_directory,
    grant_delegation,
    revoke_delegation,
    sync_deputy_groups,
)
from smartfin.processes.spending.requests import SpendingRequest, submit_spending_request
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.security.engine_users import Actor, service_actor, variables
from tests.support.engine import APPROVER_OF_GROUP, DEMO_PASSWORD, ended_at, process_ended, wait_for
from tests.support.settings import environment

pytestmark = pytest.mark.engine

YEAR = hospital_now().year
REFUSED = 403
DEPARTMENT = "X-DELEG"
LINE = f"""\
fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to
{YEAR},{DEPARTMENT},30218,fiscal,,Delegation tests,1000000.00,control,0,0,95,{YEAR}-01-01,{YEAR}-12-31
"""


@pytest.fixture(scope="module")
def line(camunda: EngineClient) -> str:
    with session_scope() as session:
        report = import_budget(session, LINE.encode(), actor="test", filename="delegation-line.csv")
    assert report.ok, report.errors
    return DEPARTMENT


@pytest.fixture()
def clean(camunda: EngineClient) -> Iterator[None]:
    """Every test starts and ends without delegations in force (and the engine's deputy groups empty)."""
    def revoke_all() -> None:
        with session_scope() as session:
            for row in session.exec(select(Delegation).where(Delegation.revoked_at == None)).all():  # noqa: E711
                revoke_delegation(session, row.id or 0, actor="test", actor_is_admin=True)
            sync_deputy_groups(session, camunda)
    revoke_all()
    yield
    revoke_all()


def user(camunda: EngineClient, name: str) -> Actor:
    return Actor(camunda.base_url, name, DEMO_PASSWORD)


def grant(camunda: EngineClient, *, delegator: str = "li.na", deputy: str = "sun.li", group: str = "dept-head",
          days: int = 14) -> int:
    now = utc_now()
    with session_scope() as session:
        row = grant_delegation(session, engine_directory(camunda, session), actor=delegator, actor_is_admin=False,
                               delegator=delegator, deputy=deputy, groups=[group], valid_from=now - timedelta(hours=1),
                               valid_to=now + timedelta(days=days), reason="出差 business trip")
        sync_deputy_groups(session, camunda)
        return row.id or 0


def revoke(camunda: EngineClient, delegation_id: int) -> None:
    with session_scope() as session:
        revoke_delegation(session, delegation_id, actor="li.na", actor_is_admin=False)
        sync_deputy_groups(session, camunda)


def submit(camunda: EngineClient, amount: str = "800.00", requester: str = "zhang.wei") -> tuple[str, str]:
    number = submit_spending_request({"department": DEPARTMENT, "category": "materials", "amount": amount,
                                      "fundingSource": "fiscal", "requester": requester, "payee": "某医疗器械公司",
                                      "purpose": "授权测试 delegation test"}, engine=camunda)
    with session_scope() as session:
        row = session.get(SpendingRequest, number)
        assert row is not None and row.process_instance_id
        return number, row.process_instance_id


def dept_head_task(camunda: EngineClient, pid: str) -> str:
    """The request's first approval, claimed by li.na (the department head)."""
    service = service_actor(camunda)
    task = service.open_task(pid, "approveRequest")
    assert service.identity_links(task["id"]) == [(None, "dept-head", "candidate")]
    user(camunda, "li.na").ok("POST", f"/task/{task['id']}/claim", {"userId": "li.na"})
    return str(task["id"])


def refused(answer: Any, *fragments: str) -> None:
    assert answer.status == REFUSED, f"expected 403, got {answer.status}: {answer.body}"
    assert "WRITE_GUARD:" in answer.message, answer.message
    for fragment in fragments:
        assert fragment in answer.message, answer.message


def decide(actor: Actor, task_id: str, decision: str = "approve") -> None:
    actor.ok("POST", f"/task/{task_id}/complete", {"variables": variables(decision=decision, comment="代签 deputy")})


def approve_rest(camunda: EngineClient, pid: str) -> None:
    """Every remaining approval, by its group's member, until the process leaves the chain."""
    service = service_actor(camunda)

    def next_task() -> Any:
        tasks = service.ok("POST", "/task", {"processInstanceId": pid})
        if tasks:
            return tasks[0]
        return "ended" if camunda.historic_process(pid).get("state") == "COMPLETED" else None
    while True:
        task = wait_for(next_task, message=f"the next task of {pid}")
        if task == "ended" or task["taskDefinitionKey"] != "approveRequest":
            return
        [(_, group, _)] = service.identity_links(task["id"])
        decide(user(camunda, APPROVER_OF_GROUP[group]), task["id"])
        wait_for(lambda tid=task["id"]: not service.ok("POST", "/task", {"taskId": tid}), 10, message="completion")


def exception_reasons(camunda: EngineClient, pid: str) -> str:
    task = service_actor(camunda).open_task(pid)
    assert task["taskDefinitionKey"] == "reviewApprovalException", task["taskDefinitionKey"]
    return str(camunda.process_variables(pid)["approvalProblems"])


def test_a_recorded_deputy_signs_and_the_request_is_approved(camunda, workers, line, clean):
    number, pid = submit(camunda)
    grant(camunda)
    tid = dept_head_task(camunda, pid)
    user(camunda, "li.na").ok("POST", f"/task/{tid}/assignee", {"userId": "sun.li"})
    assert service_actor(camunda).task(tid)["assignee"] == "sun.li"
    assert any(c["message"].startswith("delegated by li.na to sun.li")
               for c in service_actor(camunda).ok("GET", f"/task/{tid}/comment"))
    decide(user(camunda, "sun.li"), tid)
    approve_rest(camunda, pid)

    process_ended(camunda, pid)
    assert ended_at(camunda, pid) == {"requestApproved"}
    with session_scope() as session:
        request = session.get(SpendingRequest, number)
        assert request is not None and request.status == "approved"
        verified = session.exec(select(AuditEntry).where(AuditEntry.subject_id == number,
                                                         AuditEntry.action == "approvals-verified")).all()
        assert verified, "the control step accepted the deputy's signature"
        granted = session.exec(select(AuditEntry).where(AuditEntry.action == "delegation-granted")).all()
        assert granted, "the grant is in the audit log"


def test_assigning_to_a_non_member_without_a_delegation_is_refused(camunda, line, clean):
    _, pid = submit(camunda)
    tid = dept_head_task(camunda, pid)
    refused(user(camunda, "li.na").call("POST", f"/task/{tid}/assignee", {"userId": "sun.li"}), "deputy")
    refused(user(camunda, "li.na").call("POST", f"/task/{tid}/delegate", {"userId": "zhou.qiang"}), "deputy")
    grant(camunda, group="dept-head", deputy="zhou.qiang")  # a deputy of li.na, but not sun.li
    refused(user(camunda, "li.na").call("POST", f"/task/{tid}/assignee", {"userId": "sun.li"}))
    assert service_actor(camunda).task(tid)["assignee"] == "li.na"


def test_a_revoked_or_expired_delegation_no_longer_opens_the_task(camunda, line, clean):
    _, pid = submit(camunda)
    tid = dept_head_task(camunda, pid)
    li_na = user(camunda, "li.na")
    revoke(camunda, grant(camunda))
    refused(li_na.call("POST", f"/task/{tid}/assignee", {"userId": "sun.li"}), "deputy")

    expiring = grant(camunda)
    with session_scope() as session:  # the period ends (the clock moves on) …
        row = session.get(Delegation, expiring)
        assert row is not None
        row.valid_to = utc_now() - timedelta(minutes=1)
        session.add(row)
    with session_scope() as session:  # … and the regular sync takes the deputy out of the engine
        report = sync_deputy_groups(session, camunda)
    assert ("deputy.li.na.dept-head", "sun.li") in report.removed or "deputy.li.na.dept-head" in report.deleted
    refused(li_na.call("POST", f"/task/{tid}/assignee", {"userId": "sun.li"}), "deputy")
    assert service_actor(camunda).task(tid)["assignee"] == "li.na"


def test_a_signature_after_the_revocation_is_refused_by_the_control_step(camunda, workers, line, clean):
    number, pid = submit(camunda)
    delegation = grant(camunda)
    tid = dept_head_task(camunda, pid)
    user(camunda, "li.na").ok("POST", f"/task/{tid}/assignee", {"userId": "sun.li"})
    revoke(camunda, delegation)  # the engine still lets the assignee complete; the record says no
    decide(user(camunda, "sun.li"), tid)
    approve_rest(camunda, pid)

    reasons = exception_reasons(camunda, pid)
    assert "sun.li is not a member of dept-head" in reasons and "was revoked before" in reasons, reasons
    with session_scope() as session:
        request = session.get(SpendingRequest, number)
        assert request is not None and request.status != "approved"


def test_the_deputy_cannot_pass_the_task_on(camunda, line, clean):
    _, pid = submit(camunda)
    grant(camunda)
    grant(camunda, delegator="sun.li", deputy="zhou.qiang", group="budget-committee")  # sun.li's own deputy
    tid = dept_head_task(camunda, pid)
    user(camunda, "li.na").ok("POST", f"/task/{tid}/assignee", {"userId": "sun.li"})
    sun_li = user(camunda, "sun.li")
    for target in ("he.ping", "zhou.qiang"):
        refused(sun_li.call("POST", f"/task/{tid}/assignee", {"userId": target}), "no re-delegation")
        refused(sun_li.call("POST", f"/task/{tid}/delegate", {"userId": target}), "no re-delegation")
    assert service_actor(camunda).task(tid)["assignee"] == "sun.li"
    sun_li.ok("POST", f"/task/{tid}/assignee", {"userId": "li.na"})  # back to the group is fine
    assert service_actor(camunda).task(tid)["assignee"] == "li.na"


def test_a_deputy_for_a_group_cannot_grant_it_further(camunda, line, clean):
    grant(camunda)
    with session_scope() as session, pytest.raises(ValueError, match="no re-delegation"):
        grant_delegation(session, engine_directory(camunda, session), actor="sun.li", actor_is_admin=False,
                         delegator="sun.li", deputy="he.ping", groups=["dept-head"], valid_from=utc_now(),
                         valid_to=utc_now() + timedelta(days=3), reason="转授权 pass on")


def test_the_requester_is_never_the_deputy_on_her_own_request(camunda, line, clean):
    _, pid = submit(camunda, requester="zhang.wei")
    grant(camunda, deputy="zhang.wei")
    tid = dept_head_task(camunda, pid)
    answer = user(camunda, "li.na").call("POST", f"/task/{tid}/assignee", {"userId": "zhang.wei"})
    refused(answer, "requester")
    assert service_actor(camunda).task(tid)["assignee"] == "li.na"


@pytest.fixture()
def cli(tmp_path: Path) -> Iterator[CliRunner]:
    with environment({"SMARTFIN_CREDENTIALS_DIR": str(tmp_path / "credentials")}):
        runner = CliRunner()
        assert runner.invoke(app, ["login", "--user", "li.na"], input=f"{DEMO_PASSWORD}\n").exit_code == 0
        yield runner


def test_the_command_grants_lists_and_revokes_as_the_logged_in_user(camunda, cli, clean):
    start = hospital_now().date()
    too_long = cli.invoke(app, ["delegation", "grant", "--deputy", "sun.li", "--group", "dept-head",
                                "--from", start.isoformat(), "--to", (start + timedelta(days=396)).isoformat(),
                                "--reason", "进修 training"])
    assert too_long.exit_code == 3, too_long.output
    assert "at most one year" in too_long.output

    for_other = cli.invoke(app, ["delegation", "grant", "--deputy", "sun.li", "--group", "finance-officer",
                                 "--delegator", "wang.fang", "--to", (start + timedelta(days=3)).isoformat(),
                                 "--reason", "x"])
    assert for_other.exit_code == 3 and "only their own" in for_other.output, for_other.output

    granted = cli.invoke(app, ["delegation", "grant", "--deputy", "sun.li", "--group", "dept-head",
                               "--to", (start + timedelta(days=3)).isoformat(), "--reason", "休假 leave"])
    assert granted.exit_code == 0, granted.output
    number = int(granted.output.split()[1].rstrip(":"))
    assert [g["id"] for g in camunda.get("/group", member="sun.li", type="deputy")] == ["deputy.li.na.dept-head"]
    listed = cli.invoke(app, ["delegation", "list", "--json"])
    assert any(d["id"] == number and d["active"] for d in json.loads(listed.output)["delegations"])

    assert cli.invoke(app, ["delegation", "revoke", str(number)]).exit_code == 0
    assert camunda.get("/group", member="sun.li", type="deputy") == []
    with session_scope() as session:
        actions = [e.action for e in session.exec(select(AuditEntry).where(
            AuditEntry.subject_type == "delegation", AuditEntry.subject_id == str(number))).all()]
    assert actions == ["delegation-granted", "delegation-revoked"]


def test_the_service_writes_only_deputy_groups(camunda):
    service = service_actor(camunda)
    answer = service.call("PUT", f"/group/camunda-admin/members/{service.user}")
    assert answer.status == REFUSED and "WRITE_GUARD:" in answer.message, answer.body
    answer = service.call("POST", "/group/create", {"id": "deputy.x.dept-head", "type": "WORKFLOW", "name": "x"})
    assert answer.status == REFUSED and "type 'deputy'" in answer.message, answer.body
    answer = service.call("PUT", "/group/dept-head/members/sun.li")
    assert answer.status == REFUSED, answer.body
    assert not camunda.get("/user", id="sun.li", memberOfGroup="dept-head")
