"""The cost review on the real engine: each round is what the engine recorded of the completed tasks.

Real engine, real workers, the demo users over REST: li.na (dept-head) answers, wang.fang (finance-officer)
judges. Reviews are opened by the product's starter as the service account. Attacks: a requester working the
head's task, the head working the finance task, a person in both groups judging their own explanation,
variables forged through REST by users (refused by the engine) and by the service account (the strongest
writer the engine has: the record still shows the truth), a due date that is not in the future, a completion
by someone outside the group.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.camunda.client import EngineRequestError
from smartfin.costing.model import Breach, Direction
from smartfin.kernel.clock import hospital_today
from smartfin.kernel.settings import get_settings
from smartfin.processes.costreview.reviews import (
    CostReview,
    CostReviewRound,
    open_cost_reviews,
    review_by_key,
    rounds_of,
)
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.security.engine_users import DEMO_PASSWORD, Actor, admin_password, service_actor, typed, variables
from tests.support.engine import process_ended, wait_for

pytestmark = pytest.mark.engine
HEAD, OFFICER, REQUESTER = "li.na", "wang.fang", "zhang.wei"
MONTH = "2026-10"
INDICATOR = "materials_per_100_revenue"
_centres = itertools.count(1)


def breach(centre: str | None = None, indicator: str = INDICATOR, value: str = "31.20") -> Breach:
    code = centre or f"C{next(_centres)}{uuid.uuid4().hex[:5].upper()}"
    return Breach(month=MONTH, centre=code, centre_name=f"心内科 {code}", indicator=indicator,
                  indicator_name="百元医疗收入卫生材料消耗", value=Decimal(value), target=Decimal("25.00"),
                  direction=Direction.MAX, last_year=Decimal("27.10"))


def instance_of(camunda: Any, key: str) -> str:
    found = camunda.get("/history/process-instance", processDefinitionKey="cost-review",
                        processInstanceBusinessKey=key)
    assert len(found) == 1, (key, found)
    return str(found[0]["id"])


def opened(camunda: Any, **kwargs: Any) -> tuple[str, str]:
    [key] = open_cost_reviews(MONTH, [breach(**kwargs)], engine=camunda)
    return key, instance_of(camunda, key)


def answer(days: int = 30, measure: str = "高值耗材按病种定额领用 ration high-value materials per case",
           **extra: Any) -> dict[str, Any]:
    return {"variables": variables(
        explanation="本月介入手术量增加，高值耗材领用上升 more PCI cases used more stents",
        measure=measure, dueDate=(hospital_today() + timedelta(days=days)).isoformat(), **extra)}


def judgement(decision: str, comment: str = "", **extra: Any) -> dict[str, Any]:
    return {"variables": variables(decision=decision, comment=comment, **extra)}


def next_task(actor: Actor, pid: str, key: str, *, not_id: str | None = None) -> dict[str, Any]:
    return wait_for(lambda: next((t for t in actor.ok("POST", "/task", {"processInstanceId": pid})
                                  if t["taskDefinitionKey"] == key and t["id"] != not_id), None), 30,
                    message=f"task {key} of {pid}")


def shown(actor: Actor, task: dict[str, Any]) -> dict[str, Any]:
    """What the person sees on the task's form (Tasklist reads the task's variables)."""
    raw = actor.ok("GET", f"/task/{task['id']}/variables", deserializeValues="false")
    return {name: value["value"] for name, value in raw.items()}


def review(key: str) -> tuple[CostReview, list[CostReviewRound]]:
    with session_scope() as session:
        row = review_by_key(session, key)
        rounds = rounds_of(session, row)
        session.expunge_all()
        return row, rounds


def rounds_recorded(key: str, count: int, *, judged: bool) -> list[CostReviewRound]:
    def probe() -> list[CostReviewRound] | None:
        rounds = review(key)[1]
        if len(rounds) == count and (rounds[-1].decision is not None) == judged:
            return rounds
        return None
    return wait_for(probe, 30, message=f"{count} round(s) of {key}, the last {'judged' if judged else 'explained'}")


def discard(camunda: Any, pid: str) -> None:
    """Delete a test's instance; a worker completing its step at that moment makes the engine ask again."""
    def deleted() -> bool:
        try:
            camunda.delete(f"/process-instance/{pid}")
        except EngineRequestError as exc:
            if "OptimisticLocking" not in str(exc):
                raise
            return False
        return True
    wait_for(deleted, 30, message=f"process {pid} deleted")


def refusals(key: str) -> list[dict[str, Any]]:
    with session_scope() as session:
        return [entry.details_dict for entry in session.exec(select(AuditEntry).where(
            AuditEntry.action == "cost-review-refused", AuditEntry.subject_id == key)).all()]


def actor(camunda: Any, user: str) -> Actor:
    return Actor(camunda.base_url, user, DEMO_PASSWORD)


def test_opening_twice_opens_once_and_every_round_is_kept_with_its_people(camunda, workers):  # type: ignore[no-untyped-def]
    first, second = breach(), breach(indicator="personnel_cost_share", value="48.5")
    keys = open_cost_reviews(MONTH, [first, second], engine=camunda)
    assert keys == [f"cost-review/{MONTH}/{first.centre}/{INDICATOR}",
                    f"cost-review/{MONTH}/{second.centre}/personnel_cost_share"]
    assert open_cost_reviews(MONTH, [first, second], engine=camunda) == []
    pid, other_pid = (instance_of(camunda, key) for key in keys)  # exactly one instance per review
    head, officer = actor(camunda, HEAD), actor(camunda, OFFICER)

    task = next_task(head, pid, "explainCost")
    form = shown(head, task)
    assert (form["indicatorValue"], form["lastYearValue"], form["month"]) == ("31.20", "27.10", MONTH)
    head.ok("POST", f"/task/{task['id']}/complete", answer(measure="第一轮 first measure"))
    judge = next_task(officer, pid, "judgeExplanation")
    assert shown(officer, judge)["recordedMeasure"] == "第一轮 first measure"
    officer.ok("POST", f"/task/{judge['id']}/complete", judgement("send-back", "措施不具体 name the materials"))

    again = next_task(head, pid, "explainCost", not_id=task["id"])
    assert shown(head, again)["sendBackReason"] == "措施不具体 name the materials"
    head.ok("POST", f"/task/{again['id']}/complete", answer(days=45, measure="第二轮 stents per case capped"))
    judge2 = next_task(officer, pid, "judgeExplanation", not_id=judge["id"])
    officer.ok("POST", f"/task/{judge2['id']}/complete", judgement("accept", "同意 agreed"))
    process_ended(camunda, pid)

    row, rounds = review(keys[0])
    assert (row.status, row.accepted_by, row.measure) == ("accepted", OFFICER, "第二轮 stents per case capped")
    assert row.due_on == hospital_today() + timedelta(days=45)
    assert [(r.round, r.explained_by, r.explain_task_id, r.measure, r.judged_by, r.judge_task_id, r.decision,
             r.reason) for r in rounds] == [
        (1, HEAD, task["id"], "第一轮 first measure", OFFICER, judge["id"], "sent back",
         "措施不具体 name the materials"),
        (2, HEAD, again["id"], "第二轮 stents per case capped", OFFICER, judge2["id"], "accepted", "同意 agreed")]
    assert review(keys[1])[0].status == "open" and review(keys[1])[1] == []
    assert open_cost_reviews(MONTH, [first], engine=camunda) == []   # accepted: still nothing new
    listed = CliRunner().invoke(app, ["cost", "reviews", "--month", MONTH, "--json"])
    assert listed.exit_code == 0, listed.output
    [shown_review] = [r for r in json.loads(listed.output) if r["businessKey"] == keys[0]]
    assert (shown_review["status"], shown_review["acceptedBy"], len(shown_review["rounds"])) == \
        ("accepted", OFFICER, 2)
    discard(camunda, other_pid)


def test_users_work_only_their_own_step_and_cannot_write_the_copies(camunda, workers):  # type: ignore[no-untyped-def]
    key, pid = opened(camunda)
    head, officer, requester = actor(camunda, HEAD), actor(camunda, OFFICER), actor(camunda, REQUESTER)
    task = next_task(head, pid, "explainCost")
    # a requester is no department head: the task is not theirs to claim or complete
    for method, path, body in (("POST", f"/task/{task['id']}/claim", {"userId": REQUESTER}),
                               ("POST", f"/task/{task['id']}/complete", answer())):
        assert requester.call(method, path, body).status in (403, 404), (method, path)
    # the head may write the form's fields only: never the outcome, the explainer or the recorded copies
    for name, value in (("reviewOutcome", "accepted"), ("explainedBy", REQUESTER), ("recordedMeasure", "forged")):
        for method, path, body in (
                ("PUT", f"/process-instance/{pid}/variables/{name}", typed(value)),
                ("PUT", f"/task/{task['id']}/variables/{name}", typed(value)),
                ("POST", f"/task/{task['id']}/complete", answer(**{name: value}))):
            refused = head.call(method, path, body)
            assert refused.status == 403, (name, method, path, refused.body)
    head.ok("POST", f"/task/{task['id']}/complete", answer(measure="真实措施 the real measure"))
    judge = next_task(officer, pid, "judgeExplanation")
    # the head cannot judge; the officer cannot pass an outcome of her own
    assert head.call("POST", f"/task/{judge['id']}/complete", judgement("accept")).status in (403, 404)
    refused = officer.call("POST", f"/task/{judge['id']}/complete", judgement("accept", reviewOutcome="accepted"))
    assert refused.status == 403 and "WRITE_GUARD" in refused.message, refused.body

    # the service account — which may write any variable — forges the copies and the outcome
    service = service_actor(camunda)
    forged = {"reviewOutcome": typed("accepted"), "recordedMeasure": typed("伪造 forged"),
              "measure": typed("伪造 forged"), "explainedBy": typed("liu.yang"), "decisions": typed([])}
    service.ok("POST", f"/process-instance/{pid}/variables", {"modifications": forged})
    officer.ok("POST", f"/task/{judge['id']}/complete", judgement("send-back", "请补充数据 add the figures"))
    back = next_task(head, pid, "explainCost", not_id=task["id"])   # sent back, whatever reviewOutcome said
    row, [only] = review(key)
    assert row.status == "open" and row.measure is None
    assert (only.explained_by, only.measure, only.judged_by, only.decision) == \
        (HEAD, "真实措施 the real measure", OFFICER, "sent back")
    discard(camunda, pid)
    assert back["id"] != task["id"]


def test_a_due_date_not_in_the_future_is_refused_and_nothing_is_recorded(camunda, workers):  # type: ignore[no-untyped-def]
    key, pid = opened(camunda)
    head = actor(camunda, HEAD)
    task = next_task(head, pid, "explainCost")
    head.ok("POST", f"/task/{task['id']}/complete", answer(days=0))
    back = next_task(head, pid, "explainCost", not_id=task["id"])
    assert "is not after today" in (back.get("description") or "")
    assert review(key)[1] == [] and review(key)[0].status == "open"
    assert any("is not after today" in problem for entry in refusals(key) for problem in entry["problems"])
    head.ok("POST", f"/task/{back['id']}/complete", answer(days=1))
    assert rounds_recorded(key, 1, judged=False)[0].due_on == hospital_today() + timedelta(days=1)
    discard(camunda, pid)


def test_an_answer_by_someone_outside_the_department_heads_is_refused(camunda, workers):  # type: ignore[no-untyped-def]
    key, pid = opened(camunda)
    head, service = actor(camunda, HEAD), service_actor(camunda)
    task = next_task(head, pid, "explainCost")
    service.ok("POST", f"/task/{task['id']}/complete", answer())   # privileged, but no department head
    back = next_task(head, pid, "explainCost", not_id=task["id"])
    assert "is not a member of dept-head" in (back.get("description") or "")
    assert review(key)[1] == []
    head.ok("POST", f"/task/{back['id']}/complete", answer())
    assert rounds_recorded(key, 1, judged=False)[0].explained_by == HEAD
    discard(camunda, pid)


@pytest.fixture()
def head_and_officer(camunda: Any) -> Iterator[Actor]:
    """A person who is both a department head and a finance officer (it happens in small hospitals)."""
    admin = Actor(camunda.base_url, "admin", admin_password())
    name = f"both.{uuid.uuid4().hex[:6]}"
    admin.ok("POST", "/user/create", {"profile": {"id": name, "firstName": "B", "lastName": "O",
                                                  "email": f"{name}@example.org"},
                                      "credentials": {"password": "Both-pass-1"}})
    for group in ("dept-head", "finance-officer"):
        admin.ok("PUT", f"/group/{group}/members/{name}")
    try:
        yield Actor(camunda.base_url, name, "Both-pass-1")
    finally:
        admin.call("DELETE", f"/user/{name}")


def test_nobody_judges_their_own_explanation(camunda, workers, head_and_officer):  # type: ignore[no-untyped-def]
    both = head_and_officer
    key, pid = opened(camunda)
    task = next_task(both, pid, "explainCost")
    both.ok("POST", f"/task/{task['id']}/complete", answer())
    judge = next_task(both, pid, "judgeExplanation")   # she sees it: she is a finance officer
    for method, path, body in (("POST", f"/task/{judge['id']}/claim", {"userId": both.user}),
                               ("POST", f"/task/{judge['id']}/complete", judgement("accept", "自己同意 mine"))):
        refused = both.call(method, path, body)
        assert refused.status >= 400 and "FOUR_EYES" in refused.message, (method, refused.status, refused.body)
    officer = actor(camunda, OFFICER)
    officer.ok("POST", f"/task/{judge['id']}/complete", judgement("accept", "同意 agreed"))
    process_ended(camunda, pid)
    row, [only] = review(key)
    assert (row.status, only.explained_by, only.judged_by) == ("accepted", both.user, OFFICER)


def test_an_unanswered_review_is_escalated(camunda, workers, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SMARTFIN_COST_REVIEW_ESCALATION_AFTER", "PT1S")
    get_settings.cache_clear()
    try:
        key, pid = opened(camunda)
    finally:
        monkeypatch.delenv("SMARTFIN_COST_REVIEW_ESCALATION_AFTER")
        get_settings.cache_clear()
    head = actor(camunda, HEAD)
    task = next_task(head, pid, "explainCost")
    escalated = wait_for(lambda: [t for t in camunda.tasks(taskId=task["id"]) if t["priority"] >= 80], 60,
                         message="the unanswered review escalated")
    assert escalated[0]["taskDefinitionKey"] == "explainCost"
    wait_for(lambda: any("escalated" in c["message"] for c in camunda.get(f"/task/{task['id']}/comment")), 30,
             message="the escalation's comment on the task")

    def audited() -> AuditEntry | None:
        with session_scope() as session:
            return session.exec(select(AuditEntry).where(AuditEntry.action == "cost-review-escalated",
                                                         AuditEntry.subject_id == key)).first()
    assert task["id"] in json.dumps(wait_for(audited, 30, message="the escalation audited").details_dict)
    discard(camunda, pid)
