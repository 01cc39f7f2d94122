"""A travel claim with a rail ticket on the real engine: the class is judged by the grade the claim records;
neither the claimant nor the reviewer can lift the grade through a process variable, and accepting the
ticket as read does not accept its class."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from smartfin.camunda.client import EngineAuthError, EngineClient
from smartfin.kernel.clock import hospital_today
from smartfin.processes.reimbursement.claims import Claim, claim_invoices, submit_claim
from smartfin.store.db import session_scope
from tests.support.engine import as_user, wait_for
from tests.support.travel_samples import rail_sample

pytestmark = pytest.mark.engine

CLAIMANT = "zhang.wei"
OFFICER = "wang.fang"


def _first_class_ticket() -> Any:
    today = hospital_today()
    for seed in range(500):
        sample = rail_sample("rail-standard", seed)
        if (sample.truth["segments[0].cabin"] == "first-class"
                and sample.truth["segments[0].departure_date"] <= today - timedelta(days=5)):
            return sample
    raise AssertionError("no past first-class ticket among the generated samples")


def _review_task(camunda: EngineClient, pid: str, after: str | None = None) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        tasks = [t for t in camunda.tasks(processInstanceId=pid)
                 if t["taskDefinitionKey"] == "reviewInvoices" and t["id"] != after]
        return tasks[0] if tasks else None
    return wait_for(probe, 60, message="reviewInvoices")


def test_over_class_ticket_goes_to_review_and_a_grade_variable_changes_nothing(camunda, workers, budget):
    sample = _first_class_ticket()
    day = sample.truth["segments[0].departure_date"]
    travel = {"destination": sample.truth["segments[0].to_city"], "province": "", "departed": day.isoformat(),
              "returned": (day + timedelta(days=2)).isoformat(), "grade": "general"}
    number = submit_claim([(sample.name, sample.data)], claimant=CLAIMANT, department="T-BX", category="office",
                          purpose="学术会议差旅 conference trip", engine=camunda, travel=travel)
    with session_scope() as session:
        claim = session.get(Claim, number)
        assert claim is not None and claim.process_instance_id
        pid = claim.process_instance_id
    review = _review_task(camunda, pid)
    assert "TRAVEL_CLASS_OVER_STANDARD" in camunda.process_variables(pid)["findingsText"]
    with session_scope() as session:
        [row] = claim_invoices(session, number)
        assert row.kind == "rail-ticket" and row.values_dict["ticket"]["segments"][0]["cabin"] == "first-class"

    # the claimant tries to raise the grade on the running process: the engine's write guard refuses it
    with pytest.raises(EngineAuthError, match="WRITE_GUARD"):
        as_user(camunda, CLAIMANT).post(f"/process-instance/{pid}/variables", {"modifications": {
            "travelGrade": {"value": "minister", "type": "String"}}})
    # nor can the reviewer send a grade along with the review
    with pytest.raises(EngineAuthError, match="travelGrade"):
        as_user(camunda, OFFICER).complete_task(review["id"], {"reviewAction": "accept", "travelGrade": "minister"})
    # accepting the ticket as read does not accept its class: the claim comes back with the finding
    as_user(camunda, OFFICER).complete_task(review["id"], {"reviewAction": "accept"})
    again = _review_task(camunda, pid, after=review["id"])
    assert again["id"] != review["id"]
    assert "TRAVEL_CLASS_OVER_STANDARD" in camunda.process_variables(pid)["findingsText"]
