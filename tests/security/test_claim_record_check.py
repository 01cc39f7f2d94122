"""Claim workers act on the claim recorded for their process instance, never on the one a variable names.

The engine's write guard already refuses a user's `claimNo`; these checks hold even for the service
account, which may write anything (the strongest attacker the engine can have).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from camunda.external_task.external_task import ExternalTask

from smartfin.camunda.runtime import Job
from smartfin.kernel.clock import hospital_now
from smartfin.processes.reimbursement import worker as handlers
from smartfin.processes.reimbursement.claims import Claim
from smartfin.store.db import session_scope

_numbers = itertools.count(1)


def recorded_claim(instance: str | None) -> str:
    number = f"BX-RC-{next(_numbers):04d}-{hospital_now().strftime('%H%M%S%f')}"
    with session_scope() as session:
        session.add(Claim(claim_no=number, claimant="zhang.wei", department="U-RC", category="office",
                          economic_code="30201", funding_source="fiscal", fiscal_year=2026, purpose="record check",
                          process_instance_id=instance))
    return number


def job(topic: str, business_key: str | None, instance: str, **variables: Any) -> Job:
    return Job(ExternalTask({"id": f"task-{next(_numbers)}", "topicName": topic, "businessKey": business_key,
                             "processInstanceId": instance}), variables)


def status(number: str) -> str:
    with session_scope() as session:
        row = session.get(Claim, number)
        assert row is not None
        return row.status


def test_a_claim_number_copy_naming_another_claim_is_refused_and_that_claim_is_untouched() -> None:
    own, other = recorded_claim("pi-own"), recorded_claim("pi-other")
    with pytest.raises(LookupError, match=other):
        handlers.close_claim_task(job("close-claim", own, "pi-own", claimNo=other, outcome="rejected"))
    assert (status(own), status(other)) == ("submitted", "submitted")


def test_a_business_key_of_a_claim_of_another_instance_is_refused() -> None:
    victim = recorded_claim("pi-victim")
    with pytest.raises(LookupError, match="does not belong"):
        handlers.close_claim_task(job("close-claim", victim, "pi-intruder", outcome="rejected"))
    with pytest.raises(LookupError, match="does not belong"):
        handlers.register_claim(job("register-claim", victim, "pi-intruder"))
    assert status(victim) == "submitted"


def test_a_claim_started_in_tasklist_is_found_by_its_instance() -> None:
    number = recorded_claim("pi-tasklist")
    result = handlers.close_claim_task(job("close-claim", None, "pi-tasklist", outcome="rejected"))
    assert result == {"claimStatus": "rejected"} and status(number) == "rejected"
