"""Hostile but legitimate users against the engine's write guard, over REST with their real passwords.

Each attack is sent the way a demo user could send it to /engine-rest; each test checks the refusal
(status and message) and then reads the state back as the service account to see that nothing changed.
The probe model (tests/security/models) has the shapes of the product's approval chains: a start form,
a sequential multi-instance approval with a Camunda Form and the four-eyes property, a task without form.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.security.engine_users import (
    DEMO_PASSWORD,
    PROBE_KEY,
    Actor,
    admin_password,
    deploy_probe,
    start_probe,
    tasklist_api,
    tasklist_session,
    typed,
    variables,
)

pytestmark = pytest.mark.engine

REFUSED = 403  # WRITE_GUARD refusals are AuthorizationExceptions
FOUR_EYES_STATUS = 500  # four-eyes refusals are ProcessEngineExceptions (as the task listener's always were)
MI_VARIABLES = ["loopCounter", "nrOfInstances", "nrOfCompletedInstances", "nrOfActiveInstances", "approverGroups"]


@pytest.fixture(scope="module")
def service(camunda: Any) -> Actor:
    user, password = camunda.http.auth
    actor = Actor(camunda.base_url, user, password)
    deploy_probe(actor)
    return actor


@pytest.fixture(scope="module")
def admin(camunda: Any, service: Actor) -> Actor:
    actor = Actor(camunda.base_url, "admin", admin_password())
    # the requester group may start the probe, as it may start the product's requests
    actor.ok("POST", "/authorization/create", {
        "type": 1, "permissions": ["READ", "CREATE_INSTANCE"], "groupId": "requester",
        "resourceType": 6, "resourceId": PROBE_KEY})
    return actor


def user(service: Actor, name: str) -> Actor:
    return Actor(service.base_url, name, DEMO_PASSWORD)


def refused(answer: Any, *fragments: str, status: int = REFUSED) -> None:
    assert answer.status == status, f"expected {status}, got {answer.status}: {answer.body}"
    assert "WRITE_GUARD:" in answer.message, answer.message
    for fragment in fragments:
        assert fragment in answer.message, answer.message


def four_eyes(answer: Any) -> None:
    assert answer.status == FOUR_EYES_STATUS, f"{answer.status}: {answer.body}"
    assert "FOUR_EYES:" in answer.message, answer.message


def snapshot(service: Actor, pid: str, task_id: str) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """Everything an attack could change: process variables, the task's own state and its identity links."""
    task = service.task(task_id)
    assert task is not None, "the task is still open"
    local = service.ok("GET", f"/task/{task_id}/localVariables", deserializeValues="false")
    executions = service.ok("GET", "/execution", processInstanceId=pid)
    execution_vars = {e["id"]: service.ok("GET", f"/execution/{e['id']}/localVariables", deserializeValues="false")
                      for e in executions}
    state = {k: task[k] for k in ("assignee", "owner", "delegationState", "priority", "name", "due", "followUp")}
    return ({**service.variables(pid), "_executions": execution_vars, "_local": local}, state,
            service.identity_links(task_id))


def decision_form(service: Actor, task_id: str, **changes: Any) -> dict[str, Any]:
    """What Tasklist submits for the decision form: every field, read-only ones with their shown values."""
    shown = service.ok("GET", f"/task/{task_id}/form-variables", deserializeValues="false")
    values = {name: shown[name]["value"] for name in ("requestNo", "requester", "amount", "approverGroup")
              if name in shown}
    values = {k: ("" if v is None else str(v)) for k, v in values.items()}
    values.update({"budgetNote": "", "decision": "approve", "comment": "同意 ok"})
    values.update(changes)
    return variables(**values)


# -- multi-instance bookkeeping --------------------------------------------------------------------


def attacks_on(task: dict[str, Any], pid: str, name: str, value: Any) -> list[tuple[str, str, str, Any]]:
    """Every REST path a user could try to write one variable through, with what it targets."""
    tid, eid = task["id"], task["executionId"]
    one = {name: typed(value)}
    return [
        ("task variable PUT", "PUT", f"/task/{tid}/variables/{name}", typed(value)),
        ("task variables POST modifications", "POST", f"/task/{tid}/variables", {"modifications": one}),
        ("task variable DELETE", "DELETE", f"/task/{tid}/variables/{name}", None),
        ("task local variable PUT", "PUT", f"/task/{tid}/localVariables/{name}", typed(value)),
        ("task local variables POST", "POST", f"/task/{tid}/localVariables", {"modifications": one}),
        ("complete with variables", "POST", f"/task/{tid}/complete", {"variables": one}),
        ("submit-form with variables", "POST", f"/task/{tid}/submit-form", {"variables": one}),
        ("resolve with variables", "POST", f"/task/{tid}/resolve", {"variables": one}),
        ("bpmn error with variables", "POST", f"/task/{tid}/bpmnError", {"errorCode": "X", "variables": one}),
        ("process instance variable PUT", "PUT", f"/process-instance/{pid}/variables/{name}", typed(value)),
        ("process instance variables POST", "POST", f"/process-instance/{pid}/variables", {"modifications": one}),
        ("process instance variable DELETE", "DELETE", f"/process-instance/{pid}/variables/{name}", None),
        ("execution local variable PUT", "PUT", f"/execution/{eid}/localVariables/{name}", typed(value)),
        ("execution local variables POST", "POST", f"/execution/{eid}/localVariables", {"modifications": one}),
        ("modification with variables", "POST", f"/process-instance/{pid}/modification", {"instructions": [
            {"type": "startBeforeActivity", "activityId": "approveProbe", "variables": {
                name: {**typed(value), "local": False}}}]}),
        ("message with variables", "POST", "/message", {"messageName": "ProbeMessage", "processInstanceId": pid,
                                                        "processVariables": one}),
        ("signal with variables", "POST", "/signal", {"name": "ProbeSignal", "variables": one}),
        ("variables batch", "POST", "/process-instance/variables-async", {
            "processInstanceIds": [pid], "variables": one}),
    ]


@pytest.mark.parametrize("name", MI_VARIABLES)
def test_multi_instance_variables_cannot_be_written_through_any_path(service, name):
    pid = start_probe(service, requester="zhang.wei", requestNo="R-MI", amount="120.00")
    task = service.open_task(pid)
    before = snapshot(service, pid, task["id"])
    li_na = user(service, "li.na")
    value: Any = ["dept-head"] if name == "approverGroups" else 9
    for label, method, path, body in attacks_on(task, pid, name, value):
        answer = li_na.call(method, path, body)
        assert answer.status in (403, 500), f"{label}: {answer.status} {answer.body}"
        assert "WRITE_GUARD:" in answer.message or "FOUR_EYES:" in answer.message, f"{label}: {answer.body}"
        assert answer.status == REFUSED, f"{label}: {answer.status} {answer.body}"
    assert snapshot(service, pid, task["id"]) == before


def test_loop_counter_write_is_refused_naming_the_variable_and_the_task(service):
    pid = start_probe(service, requester="zhang.wei", requestNo="R-MSG", amount="5.00")
    task = service.open_task(pid)
    answer = user(service, "li.na").call("POST", f"/task/{task['id']}/complete",
                                         {"variables": variables(decision="approve", loopCounter=2)})
    refused(answer, "'loopCounter'", "security-probe-decision", task["id"])
    assert service.task(task["id"]) is not None


# -- four-eyes ---------------------------------------------------------------------------------------


def test_requester_cannot_rename_the_requester_and_approve_her_own_request(service):
    pid = start_probe(service, requester="li.na", requestNo="R-4E", amount="800.00")
    task = service.open_task(pid)
    before = snapshot(service, pid, task["id"])
    li_na = user(service, "li.na")
    for label, method, path, body in attacks_on(task, pid, "requester", "zhang.wei"):
        answer = li_na.call(method, path, body)
        assert answer.status in (REFUSED, FOUR_EYES_STATUS), f"{label}: {answer.body}"
        assert answer.status == REFUSED or "FOUR_EYES:" in answer.message, f"{label}: {answer.body}"
    four_eyes(li_na.call("POST", f"/task/{task['id']}/claim", {"userId": "li.na"}))
    four_eyes(li_na.call("POST", f"/task/{task['id']}/complete", {"variables": variables(decision="approve")}))
    four_eyes(li_na.call("POST", f"/task/{task['id']}/submit-form",
                         {"variables": decision_form(service, task["id"])}))
    assert snapshot(service, pid, task["id"]) == before
    assert service.variables(pid)["requester"] == "li.na"


def test_the_authenticated_starter_is_excluded_even_without_a_requester_variable(service, admin):
    li_na = user(service, "li.na")
    instance = li_na.ok("POST", f"/process-definition/key/{PROBE_KEY}/start", {
        "businessKey": "SEC-STARTER", "variables": variables(department="T-SEC", amount="10.00", purpose="self")})
    pid = instance["id"]
    task = service.open_task(pid)
    assert service.identity_links(task["id"]) == [(None, "dept-head", "candidate")]
    assert "requester" not in service.variables(pid)
    four_eyes(li_na.call("POST", f"/task/{task['id']}/claim", {"userId": "li.na"}))
    four_eyes(li_na.call("POST", f"/task/{task['id']}/complete", {"variables": variables(decision="approve")}))
    assert service.task(task["id"])["assignee"] is None
    assert service.ok("GET", f"/history/process-instance/{pid}")["startUserId"] == "li.na"


# -- decisions and document fields ------------------------------------------------------------------------


def test_decisions_cannot_be_forged_and_record_the_step(service):
    pid = start_probe(service, requester="zhang.wei", requestNo="R-DEC", amount="300.00")
    task = service.open_task(pid)
    li_na = user(service, "li.na")
    forged = [{"task": "approveProbe", "user": "president", "outcome": "approve"}]
    for label, method, path, body in attacks_on(task, pid, "decisions", forged):
        answer = li_na.call(method, path, body)
        assert answer.status == REFUSED and "WRITE_GUARD:" in answer.message, f"{label}: {answer.body}"
    assert "decisions" not in service.variables(pid)
    li_na.ok("POST", f"/task/{task['id']}/submit-form", {"variables": decision_form(service, task["id"])})
    decisions = service.ok("GET", f"/process-instance/{pid}/variables/decisions", deserializeValue="false")
    records = json.loads(decisions["value"])
    assert [(r["user"], r["step"], r["outcome"]) for r in records] == [("li.na", "approval", "approve")]


@pytest.mark.parametrize("name, value", [("amount", "1.00"), ("requestNo", "R-OTHER"), ("requester", "wang.fang"),
                                         ("approverGroup", "president"), ("budgetNote", "forged")])
def test_read_only_form_fields_keep_their_value(service, name, value):
    pid = start_probe(service, requester="zhang.wei", requestNo="R-RO", amount="300.00")
    task = service.open_task(pid)
    before = snapshot(service, pid, task["id"])
    li_na = user(service, "li.na")
    refused(li_na.call("POST", f"/task/{task['id']}/submit-form",
                       {"variables": decision_form(service, task["id"], **{name: value})}),
            f"'{name}'", "read-only")
    refused(li_na.call("POST", f"/task/{task['id']}/complete", {"variables": variables(**{name: value})}),
            f"'{name}'")
    assert snapshot(service, pid, task["id"]) == before


def test_a_task_without_form_takes_no_variables(service):
    pid = start_probe(service, requester="zhang.wei", requestNo="R-NF", amount="10.00")
    for group_user in ("li.na", "wu.hao", "wang.fang"):
        task = service.open_task(pid, "approveProbe")
        user(service, group_user).ok("POST", f"/task/{task['id']}/submit-form",
                                     {"variables": decision_form(service, task["id"])})
    archive = service.open_task(pid, "archiveProbe")
    wang_fang = user(service, "wang.fang")
    refused(wang_fang.call("POST", f"/task/{archive['id']}/complete", {"variables": variables(amount="1.00")}),
            "has no form")
    assert service.variables(pid)["amount"] == "10.00"
    wang_fang.ok("POST", f"/task/{archive['id']}/complete", {})
    assert service.task(archive["id"]) is None


# -- start ---------------------------------------------------------------------------------------------------


SPENDING_FORM = {"department": "GHOST-SEC", "category": "materials", "fundingSource": "fiscal",
                 "amount": "12.00", "payee": "某公司", "purpose": "security test"}


@pytest.mark.parametrize("extra", [{"requester": "li.na"}, {"requestNo": "SP-1"}, {"initiator": "li.na"},
                                   {"decisions": "[]"}, {"approverGroups": "president"}, {"withinPlan": True},
                                   {"claimNo": "BX-1"}, {"proposalNo": "EQ-1"}])
@pytest.mark.parametrize("endpoint", ["start", "submit-form"])
def test_start_variables_are_the_start_forms_fields_only(service, extra, endpoint):
    zhang_wei = user(service, "zhang.wei")
    key = f"SEC-START-{endpoint}-{next(iter(extra))}"
    answer = zhang_wei.call("POST", f"/process-definition/key/spending-approval/{endpoint}",
                            {"businessKey": key, "variables": variables(**SPENDING_FORM, **extra)})
    refused(answer, f"'{next(iter(extra))}'")
    assert service.ok("GET", "/history/process-instance", processInstanceBusinessKey=key) == []


def test_a_reserved_name_is_refused_even_when_the_start_form_declares_it(service, admin):
    li_na = user(service, "li.na")
    answer = li_na.call("POST", f"/process-definition/key/{PROBE_KEY}/start", {
        "businessKey": "SEC-RESERVED", "variables": variables(department="T", amount="1", requester="zhang.wei")})
    refused(answer, "'requester'", "reserved")
    assert service.ok("GET", "/history/process-instance", processInstanceBusinessKey="SEC-RESERVED") == []


def test_start_at_chosen_activities_is_refused(service, admin):
    li_na = user(service, "li.na")
    answer = li_na.call("POST", f"/process-definition/key/{PROBE_KEY}/start", {
        "businessKey": "SEC-SKIP",
        "startInstructions": [{"type": "startBeforeActivity", "activityId": "archiveProbe"}]})
    refused(answer, "chosen activities")
    assert service.ok("GET", "/history/process-instance", processInstanceBusinessKey="SEC-SKIP") == []


# -- identity links and task properties -------------------------------------------------------------------------


def test_candidates_owner_and_task_properties_cannot_be_changed(service):
    pid = start_probe(service, requester="zhang.wei", requestNo="R-IL", amount="10.00")
    task = service.open_task(pid)
    tid = task["id"]
    li_na = user(service, "li.na")
    li_na.ok("POST", f"/task/{tid}/claim", {"userId": "li.na"})
    before = snapshot(service, pid, tid)
    shown = service.ok("GET", f"/task/{tid}")
    full = {k: shown[k] for k in ("name", "description", "priority", "assignee", "owner", "delegationState", "due",
                                  "followUp", "parentTaskId", "caseInstanceId", "tenantId")}
    attacks = [
        ("POST", f"/task/{tid}/identity-links", {"groupId": "finance-officer", "type": "candidate"}),
        ("POST", f"/task/{tid}/identity-links", {"userId": "zhang.wei", "type": "candidate"}),
        ("POST", f"/task/{tid}/identity-links/delete", {"groupId": "dept-head", "type": "candidate"}),
        ("POST", f"/task/{tid}/identity-links", {"userId": "zhang.wei", "type": "owner"}),
        ("PUT", f"/task/{tid}", {**full, "owner": "zhang.wei"}),
        ("PUT", f"/task/{tid}", {**full, "priority": 99}),
        ("PUT", f"/task/{tid}", {**full, "assignee": "zhang.wei"}),
    ]
    for method, path, body in attacks:
        refused(li_na.call(method, path, body))
    assert snapshot(service, pid, tid) == before


# -- assignment and delegation -----------------------------------------------------------------------------------


def committee_step(service: Actor) -> tuple[str, dict[str, Any]]:
    """A probe at its equipment-committee step (members wu.hao, xu.jing, he.ping)."""
    pid = start_probe(service, requester="zhang.wei", requestNo="R-AS", amount="10.00")
    first = service.open_task(pid)
    user(service, "li.na").ok("POST", f"/task/{first['id']}/submit-form",
                              {"variables": decision_form(service, first["id"])})
    task = service.open_task(pid)
    assert service.identity_links(task["id"]) == [(None, "equipment-committee", "candidate")]
    return pid, task


def test_only_candidates_claim_and_only_for_themselves(service):
    pid, task = committee_step(service)
    tid = task["id"]
    before = snapshot(service, pid, tid)
    refused(user(service, "zhang.wei").call("POST", f"/task/{tid}/claim", {"userId": "zhang.wei"}))
    refused(user(service, "wu.hao").call("POST", f"/task/{tid}/claim", {"userId": "xu.jing"}), "for herself")
    refused(user(service, "wu.hao").call("POST", f"/task/{tid}/assignee", {"userId": "zhang.wei"}))
    assert snapshot(service, pid, tid) == before


def test_assign_and_delegate_only_within_the_candidate_group(service):
    pid, task = committee_step(service)
    tid = task["id"]
    wu_hao, xu_jing, he_ping = (user(service, u) for u in ("wu.hao", "xu.jing", "he.ping"))
    wu_hao.ok("POST", f"/task/{tid}/claim", {"userId": "wu.hao"})
    before = snapshot(service, pid, tid)
    refused(wu_hao.call("POST", f"/task/{tid}/assignee", {"userId": "zhang.wei"}), "candidate groups")
    refused(wu_hao.call("POST", f"/task/{tid}/delegate", {"userId": "zhang.wei"}), "candidate groups")
    refused(xu_jing.call("POST", f"/task/{tid}/delegate", {"userId": "he.ping"}), "only the assignee")
    refused(xu_jing.call("POST", f"/task/{tid}/assignee", {"userId": "xu.jing"}), "already assigned")
    assert snapshot(service, pid, tid) == before

    wu_hao.ok("POST", f"/task/{tid}/delegate", {"userId": "xu.jing"})
    delegated = service.task(tid)
    assert (delegated["assignee"], delegated["owner"], delegated["delegationState"]) == ("xu.jing", "wu.hao",
                                                                                        "PENDING")
    assert any(c["message"].startswith("delegated by wu.hao to xu.jing")
               for c in service.ok("GET", f"/task/{tid}/comment"))
    refused(xu_jing.call("POST", f"/task/{tid}/delegate", {"userId": "he.ping"}), "delegated")
    refused(xu_jing.call("POST", f"/task/{tid}/assignee", {"userId": "he.ping"}), "delegated")
    refused(wu_hao.call("POST", f"/task/{tid}/resolve", {}), "only the delegate")
    refused(xu_jing.call("POST", f"/task/{tid}/resolve", {"variables": variables(loopCounter=0)}), "'loopCounter'")
    assert service.task(tid)["assignee"] == "xu.jing"

    xu_jing.ok("POST", f"/task/{tid}/resolve", {"variables": variables(comment="看过 seen")})
    resolved = service.task(tid)
    assert (resolved["assignee"], resolved["delegationState"]) == ("wu.hao", "RESOLVED")
    wu_hao.ok("POST", f"/task/{tid}/assignee", {"userId": "he.ping"})
    assert service.task(tid)["assignee"] == "he.ping"
    he_ping.ok("POST", f"/task/{tid}/unclaim")
    assert service.task(tid)["assignee"] is None
    refused(wu_hao.call("POST", f"/task/{tid}/unclaim"), "only the assignee")


def test_assigning_to_the_requester_is_refused(service):
    pid = start_probe(service, requester="xu.jing", requestNo="R-AS4", amount="10.00")
    first = service.open_task(pid)
    user(service, "li.na").ok("POST", f"/task/{first['id']}/submit-form",
                              {"variables": decision_form(service, first["id"])})
    task = service.open_task(pid)
    wu_hao = user(service, "wu.hao")
    wu_hao.ok("POST", f"/task/{task['id']}/claim", {"userId": "wu.hao"})
    four_eyes(wu_hao.call("POST", f"/task/{task['id']}/assignee", {"userId": "xu.jing"}))
    four_eyes(wu_hao.call("POST", f"/task/{task['id']}/delegate", {"userId": "xu.jing"}))
    assert service.task(task["id"])["assignee"] == "wu.hao"


def test_comments_of_the_trail_cannot_be_changed(service):
    pid = start_probe(service, requester="zhang.wei", requestNo="R-CM", amount="10.00")
    task = service.open_task(pid)
    li_na = user(service, "li.na")
    li_na.ok("POST", f"/task/{task['id']}/claim", {"userId": "li.na"})
    comment = service.ok("POST", f"/task/{task['id']}/comment/create", {"message": "先看一下 looking"})
    # REST looks the task up in history first, which users may not read (404); the guard is behind that
    for answer in (li_na.call("DELETE", f"/task/{task['id']}/comment/{comment['id']}"),
                   li_na.call("PUT", f"/task/{task['id']}/comment", {"id": comment["id"], "message": "changed"})):
        assert answer.status in (403, 404), answer.body
        assert answer.status == 404 or "WRITE_GUARD:" in answer.message
    assert [c["message"] for c in service.ok("GET", f"/task/{task['id']}/comment")] == ["先看一下 looking"]


# -- the legitimate path stays open --------------------------------------------------------------------------


def test_a_candidate_claims_and_completes_with_the_forms_own_fields(service):
    pid = start_probe(service, requester="zhang.wei", requestNo="R-OK", amount="120.00")
    task = service.open_task(pid)
    li_na = user(service, "li.na")
    li_na.ok("POST", f"/task/{task['id']}/claim", {"userId": "li.na"})
    # a REST client sending only the fields it decides, as the product's approve_chain does
    li_na.ok("POST", f"/task/{task['id']}/complete", {"variables": variables(decision="approve", comment="ok")})
    following = service.open_task(pid)
    assert following["id"] != task["id"]
    assert service.identity_links(following["id"]) == [(None, "equipment-committee", "candidate")]
    assert service.variables(pid)["amount"] == "120.00"


def test_an_approver_works_through_tasklists_own_api(service):
    pid = start_probe(service, requester="zhang.wei", requestNo="R-TL", amount="88.50")
    task = service.open_task(pid)
    browser, login = tasklist_session(service.base_url, "li.na", DEMO_PASSWORD)
    assert login.status_code == 200
    api = tasklist_api(service.base_url)
    shown = browser.get(f"{api}/task/{task['id']}/form-variables", timeout=10)
    assert shown.status_code == 200 and shown.json()["amount"]["value"] == "88.50"
    claimed = browser.post(f"{api}/task/{task['id']}/claim", json={"userId": "li.na"}, timeout=10)
    assert claimed.status_code == 204, claimed.text
    forged = browser.post(f"{api}/task/{task['id']}/submit-form", timeout=10,
                          json={"variables": decision_form(service, task["id"], amount="1.00")})
    assert forged.status_code == REFUSED and "WRITE_GUARD:" in forged.json()["message"]
    done = browser.post(f"{api}/task/{task['id']}/submit-form", timeout=10,
                        json={"variables": decision_form(service, task["id"])})
    assert done.status_code == 204, done.text
    assert service.open_task(pid)["id"] != task["id"]
    assert service.variables(pid)["amount"] == "88.50"
