"""Department heads see and sign only their own department's requests (dept-head.<code>), as real demo users.

Three test departments get heads recorded in the department role record: X-SCOPE-A li.na, X-SCOPE-B qian.yu,
X-SCOPE-C feng.tao until yesterday and qian.yu from today. The engine's groups are synced from the record as
`smartfin up` does. What must hold: a request of A is offered to dept-head.X-SCOPE-A only; B's head neither
sees it (REST /task, her Tasklist filter) nor can claim, complete or rewrite it; A's head signs it and money
moves; and a head whose period ended does not sign even when the engine's copy of the record lags behind —
the control step checks the record on the day of signing.

The roles are removed again at the end: the other tests of the session run with no role recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlmodel import delete, select

from smartfin.camunda.client import EngineClient
from smartfin.camunda.tasklist_filters import MANAGED_KEY, admin_client
from smartfin.kernel.clock import hospital_now, hospital_today
from smartfin.kernel.settings import get_settings
from smartfin.ledger import import_budget, import_departments
from smartfin.ledger.department_roles import DepartmentRole
from smartfin.processes.costreview.reviews import open_cost_reviews
from smartfin.processes.delegations import Delegation
from smartfin.processes.department_groups import sync_department_groups
from smartfin.store.db import session_scope
from tests.security.engine_users import Actor
from tests.security.test_delegation import grant, revoke
from tests.security.test_spending_chain import approve_rest, journal, sent_to_exception, status, submit
from tests.support.engine import as_user, candidate_groups, ended_at, open_task, process_ended, wait_for
from tests.support.tasklist_browser import log_in

pytestmark = pytest.mark.engine

YEAR = hospital_now().year
LINES = "fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,tolerance_pct," \
        "tolerance_amount,warning_pct,effective_from,effective_to\n" + "".join(
            f"{YEAR},{code},30218,fiscal,,Scoped heads {code},1000000.00,control,0,0,95,{YEAR}-01-01,{YEAR}-12-31\n"
            for code in ("X-SCOPE-A", "X-SCOPE-B", "X-SCOPE-C"))
DEMO_PASSWORD = "smartfin-demo"
MONTH_BEFORE_ROLES = f"{YEAR - 1}-11"  # a month no other test reviews


def _sync(on: date | None = None) -> None:
    with closing(admin_client(get_settings())) as admin, session_scope() as session:
        sync_department_groups(session, admin, on)


@pytest.fixture(scope="module")
def heads(camunda: EngineClient) -> Iterator[date]:
    today = hospital_today()
    with session_scope() as session:
        report = import_budget(session, LINES.encode(), actor="test", filename="scope-lines.csv")
        assert report.ok, report.errors
        session.add_all([
            DepartmentRole(department="X-SCOPE-A", role="head", user_id="li.na", valid_from=date(2020, 1, 1),
                           recorded_by="test"),
            DepartmentRole(department="X-SCOPE-B", role="head", user_id="qian.yu", valid_from=date(2020, 1, 1),
                           recorded_by="test"),
            DepartmentRole(department="X-SCOPE-C", role="head", user_id="feng.tao", valid_from=date(2020, 1, 1),
                           valid_to=today - timedelta(days=1), recorded_by="test"),
            DepartmentRole(department="X-SCOPE-C", role="head", user_id="qian.yu", valid_from=today,
                           recorded_by="test")])
    _sync()
    yield today
    with session_scope() as session:
        session.exec(delete(DepartmentRole))  # type: ignore[call-overload]
    _sync()


def _actor(camunda: EngineClient, user: str) -> Actor:
    return Actor(camunda.base_url, user, DEMO_PASSWORD)


def _visible(camunda: EngineClient, user: str, task_id: str) -> bool:
    return any(t["id"] == task_id for t in _actor(camunda, user).ok("GET", "/task"))


def _head_filter_lists(camunda: EngineClient, user: str, task_id: str) -> bool:
    person = _actor(camunda, user)
    [head_filter] = [f for f in person.ok("GET", "/filter", resourceType="Task")
                     if (f.get("properties") or {}).get(MANAGED_KEY) == "role:dept-head"]
    return any(t["id"] == task_id for t in person.ok("POST", f"/filter/{head_filter['id']}/list", {}))


def test_the_engine_groups_follow_the_record(camunda, heads):
    with closing(admin_client(get_settings())) as admin:
        def members(group: str) -> set[str]:
            return {u["id"] for u in admin.get("/user", memberOfGroup=group)}
        assert members("dept-head.X-SCOPE-A") == {"li.na"}
        assert members("dept-head.X-SCOPE-B") == {"qian.yu"}
        assert members("dept-head.X-SCOPE-C") == {"qian.yu"}  # feng.tao's period ended yesterday


def test_a_head_sees_and_signs_her_department_request_and_another_head_cannot_touch_it(camunda, workers, heads):
    number, pid = submit(camunda, "800.00", department="X-SCOPE-A")
    task = open_task(camunda, pid)
    assert task["taskDefinitionKey"] == "approveRequest"
    assert candidate_groups(camunda, task["id"]) == ["dept-head.X-SCOPE-A"]

    # B's head: not in her task list, not in her Tasklist filter, and the engine refuses her every act on it
    assert not _visible(camunda, "qian.yu", task["id"])
    assert not _head_filter_lists(camunda, "qian.yu", task["id"])
    other = _actor(camunda, "qian.yu")
    assert other.call("POST", f"/task/{task['id']}/claim", {"userId": "qian.yu"}).status >= 400
    assert other.call("POST", f"/task/{task['id']}/complete",
                      {"variables": {"decision": {"value": "approve"}}}).status >= 400
    for name, value in (("approverGroup", "dept-head.X-SCOPE-B"), ("approvalChain", '["dept-head.X-SCOPE-B"]')):
        assert other.call("PUT", f"/task/{task['id']}/variables/{name}", {"value": value}).status >= 400
        assert other.call("PUT", f"/process-instance/{pid}/variables/{name}", {"value": value}).status >= 400
    assert not _visible(camunda, "qian.yu", task["id"]), "rewriting the copies gave her nothing"
    assert camunda.tasks(taskId=task["id"]), "the task is still open, untouched"

    # A's head sees it in her list and her filter, and her signature carries the request
    assert _visible(camunda, "li.na", task["id"]) and _head_filter_lists(camunda, "li.na", task["id"])
    as_user(camunda, "li.na").complete_task(task["id"], {"decision": "approve", "comment": "同意"})
    wait_for(lambda: not camunda.tasks(taskId=task["id"]), 10, message="task completion")
    approve_rest(camunda, pid)  # the later, hospital-wide steps of the chain
    process_ended(camunda, pid)
    assert ended_at(camunda, pid) == {"requestApproved"}
    assert status(number) == "approved"
    assert journal(number), "the approved request reserved its money"


def test_a_head_whose_period_ended_cannot_sign_even_when_the_engine_still_has_her(camunda, workers, heads):
    yesterday = heads - timedelta(days=1)
    _sync(on=yesterday)  # the engine's copy lags a day behind: feng.tao is still in dept-head.X-SCOPE-C
    try:
        number, pid = submit(camunda, "800.00", department="X-SCOPE-C")
        task = open_task(camunda, pid)
        assert candidate_groups(camunda, task["id"]) == ["dept-head.X-SCOPE-C"]
        assert _visible(camunda, "feng.tao", task["id"])
        as_user(camunda, "feng.tao").complete_task(task["id"], {"decision": "approve", "comment": "离任后签批"})
        wait_for(lambda: not camunda.tasks(taskId=task["id"]), 10, message="task completion")
        approve_rest(camunda, pid)

        sent_to_exception(camunda, pid, number, "step 1 (dept-head.X-SCOPE-C)",
                          "feng.tao is not a member of dept-head.X-SCOPE-C")
    finally:
        _sync()


def test_a_heads_delegation_of_dept_head_lets_her_deputy_sign_her_department_only(camunda, workers, heads):
    delegation = grant(camunda, delegator="li.na", deputy="sun.li", group="dept-head", days=7)
    try:
        with closing(admin_client(get_settings())) as admin:
            assert {u["id"] for u in admin.get("/user", memberOfGroup="deputy.li.na.dept-head.X-SCOPE-A")} == {"sun.li"}
        number, pid = submit(camunda, "800.00", department="X-SCOPE-A")
        task = open_task(camunda, pid)
        assert candidate_groups(camunda, task["id"]) == ["dept-head.X-SCOPE-A"]
        head = _actor(camunda, "li.na")
        head.ok("POST", f"/task/{task['id']}/claim", {"userId": "li.na"})
        head.ok("POST", f"/task/{task['id']}/assignee", {"userId": "sun.li"})  # the engine's guard lets it pass
        _actor(camunda, "sun.li").ok("POST", f"/task/{task['id']}/complete", {"variables": {
            "decision": {"value": "approve"}, "comment": {"value": "代签 deputy"}}})
        wait_for(lambda: not camunda.tasks(taskId=task["id"]), 10, message="task completion")
        approve_rest(camunda, pid)
        process_ended(camunda, pid)
        assert ended_at(camunda, pid) == {"requestApproved"}, "the control step counted the deputy's signature"
        assert status(number) == "approved"

        # li.na's delegation reaches her department only: B's head cannot hand B's task to sun.li through it
        _, pid_b = submit(camunda, "800.00", department="X-SCOPE-B")
        task_b = open_task(camunda, pid_b)
        other = _actor(camunda, "qian.yu")
        other.ok("POST", f"/task/{task_b['id']}/claim", {"userId": "qian.yu"})
        assert other.call("POST", f"/task/{task_b['id']}/assignee", {"userId": "sun.li"}).status == 403
        camunda.delete(f"/process-instance/{pid_b}")
    finally:
        revoke(camunda, delegation)
        with session_scope() as session:
            assert not session.exec(select(Delegation).where(Delegation.revoked_at == None)).all()  # noqa: E711


def test_a_cost_review_goes_to_the_reviewed_department_head_only(camunda, workers, heads):
    from tests.security.test_cost_review_control import MONTH, breach, discard, instance_of

    [key] = open_cost_reviews(MONTH, [breach(centre="X-SCOPE-A")], engine=camunda)
    pid = instance_of(camunda, key)
    try:
        task = open_task(camunda, pid)
        assert task["taskDefinitionKey"] == "explainCost"
        assert candidate_groups(camunda, task["id"]) == ["dept-head.X-SCOPE-A"]
        assert _visible(camunda, "li.na", task["id"])
        assert not _visible(camunda, "qian.yu", task["id"])
        assert _actor(camunda, "qian.yu").call("POST", f"/task/{task['id']}/claim",
                                               {"userId": "qian.yu"}).status >= 400
    finally:
        discard(camunda, pid)


def test_a_cost_review_opened_before_heads_were_recorded_is_offered_to_the_scoped_group_on_return(
        camunda, workers, heads):
    from tests.security.test_cost_review_control import answer, breach, discard, instance_of, next_task, rounds_recorded

    with session_scope() as session:  # as if nothing were recorded yet: the review is offered to plain dept-head
        kept = [DepartmentRole(**row.model_dump(exclude={"id"})) for row in session.exec(select(DepartmentRole))]
        session.exec(delete(DepartmentRole))  # type: ignore[call-overload]
    try:
        [key] = open_cost_reviews(MONTH_BEFORE_ROLES, [replace(breach(centre="X-SCOPE-A"), month=MONTH_BEFORE_ROLES)],
                                  engine=camunda)
    finally:
        with session_scope() as session:
            session.add_all(kept)
    pid = instance_of(camunda, key)
    try:
        head = _actor(camunda, "li.na")
        task = next_task(head, pid, "explainCost")
        assert candidate_groups(camunda, task["id"]) == ["dept-head"]
        head.ok("POST", f"/task/{task['id']}/complete", answer())  # offered to dept-head, not to dept-head.X-SCOPE-A
        back = next_task(head, pid, "explainCost", not_id=task["id"])
        assert "dept-head.X-SCOPE-A" in (back.get("description") or "")
        assert candidate_groups(camunda, back["id"]) == ["dept-head.X-SCOPE-A"], "offered as the record says now"
        assert not _visible(camunda, "qian.yu", back["id"])
        head.ok("POST", f"/task/{back['id']}/complete", answer())
        assert rounds_recorded(key, 1, judged=False)[0].explained_by == "li.na"
    finally:
        discard(camunda, pid)


@pytest.mark.browser
def test_tasklist_in_chromium_shows_each_head_her_department_only(camunda, workers, heads, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from bots.browser import launch_chromium

    own, pid_a = submit(camunda, "120.00", department="X-SCOPE-A")
    other, pid_b = submit(camunda, "130.00", department="X-SCOPE-B")
    for pid in (pid_a, pid_b):
        open_task(camunda, pid)
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                for user, shown, hidden in (("li.na", own, other), ("qian.yu", other, own)):
                    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
                    page = context.new_page()
                    log_in(page, get_settings().tasklist_url, user)
                    page.get_by_text("部门负责人待办").click()
                    expect(page.get_by_text(shown).first).to_be_visible(timeout=20_000)
                    assert page.get_by_text(hidden).count() == 0, f"{user} sees {hidden}"
                    page.screenshot(path=str(tmp_path / f"{user}.png"), full_page=True)
                    context.close()
            finally:
                browser.close()
    finally:
        for pid in (pid_a, pid_b):
            camunda.delete(f"/process-instance/{pid}")


def test_an_assessment_entry_goes_to_the_recorded_head_of_its_department_only(camunda, workers, heads):
    from smartfin.budgeting.projects import import_projects
    from smartfin.processes.assessment.entries import EntryRefused, open_entries
    from tests.security.test_assessment_entry import instance_of

    with session_scope() as session:
        assert import_departments(session, b"code,name,class,valid_from\nX-SCOPE-A,scope A,clinical,2020-01-01\n",
                                  actor="finance", filename="departments.csv").ok
        pool = ("年度,项目编码,项目名称,科室,资金来源,优先级,状态,指标类型,指标维度,指标名称,计量单位,方向,目标值\n"
                f"{YEAR},PSCOPE,胸痛中心,X-SCOPE-A,fiscal,1,入选,产出指标,数量,设备台数,台,>=,10\n")
        assert import_projects(session, pool.encode(), actor="finance", filename="pool.csv").ok
    with pytest.raises(EntryRefused, match="not the head recorded for X-SCOPE-A"):
        open_entries(YEAR, {"X-SCOPE-A": "qian.yu"}, actor="finance", engine=camunda)  # B's head, not A's
    [key] = open_entries(YEAR, {"X-SCOPE-A": "li.na"}, actor="finance", engine=camunda)
    pid = instance_of(camunda, key)
    try:
        task = open_task(camunda, pid)
        assert candidate_groups(camunda, task["id"]) == ["dept-head.X-SCOPE-A"]
        assert _visible(camunda, "li.na", task["id"]) and not _visible(camunda, "qian.yu", task["id"])
    finally:
        camunda.delete(f"/process-instance/{pid}")
