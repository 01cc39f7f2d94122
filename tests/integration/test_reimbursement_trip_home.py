"""Trip back home on the real engine: with the hospital's city set, a claim whose tickets do not return to it
goes to review; the claim's own one-way mark (not a process variable) lets an outbound ticket pass."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from smartfin.camunda.client import EngineAuthError, EngineClient
from smartfin.kernel.clock import hospital_today
from smartfin.kernel.settings import get_settings
from smartfin.processes.reimbursement.claims import Claim, submit_claim
from smartfin.store.db import session_scope
from tests.support.engine import as_user, wait_for
from tests.support.travel_samples import rail_sample

pytestmark = pytest.mark.engine

CLAIMANT = "zhang.wei"


@pytest.fixture
def home_city(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A past second-class ticket, and the hospital's city set to where it leaves from."""
    today = hospital_today()
    sample = next(s for s in (rail_sample("rail-standard", seed) for seed in range(500))
                  if s.truth["segments[0].cabin"] == "second-class"
                  and s.truth["segments[0].departure_date"] <= today - timedelta(days=5)
                  and s.truth["segments[0].from_city"] != s.truth["segments[0].to_city"])
    monkeypatch.setenv("SMARTFIN_HOSPITAL_CITY", sample.truth["segments[0].from_city"])
    get_settings.cache_clear()
    yield sample
    monkeypatch.delenv("SMARTFIN_HOSPITAL_CITY")
    get_settings.cache_clear()


def _submit(camunda: EngineClient, sample: Any, *, one_way: bool) -> str:
    day = sample.truth["segments[0].departure_date"]
    travel = {"destination": sample.truth["segments[0].to_city"], "province": "", "departed": day.isoformat(),
              "returned": (day + timedelta(days=2)).isoformat(), "grade": "general", "one_way": one_way}
    number = submit_claim([(sample.name, sample.data)], claimant=CLAIMANT, department="T-BX", category="office",
                          purpose="学术会议差旅 conference trip", engine=camunda, travel=travel)
    with session_scope() as session:
        claim = session.get(Claim, number)
        assert claim is not None and claim.process_instance_id
        return claim.process_instance_id


def _findings_text(camunda: EngineClient, pid: str) -> str:
    """The audit's findings once the audit has run (its summary of the invoices is never empty)."""
    def probe() -> dict[str, Any] | None:
        variables = camunda.process_variables(pid)
        return variables if variables.get("reviewSummary") else None
    return str(wait_for(probe, 60, message="the claim's audit")["findingsText"])


def test_an_outbound_ticket_alone_goes_to_review_unless_the_claim_is_one_way(camunda, workers, budget, home_city):
    pid = _submit(camunda, home_city, one_way=False)
    assert "TRIP_NOT_BACK_HOME" in _findings_text(camunda, pid)
    # the claimant cannot mark the running claim one-way through a variable: the engine's write guard refuses
    with pytest.raises(EngineAuthError, match="WRITE_GUARD"):
        as_user(camunda, CLAIMANT).post(f"/process-instance/{pid}/variables", {"modifications": {
            "travelOneWay": {"value": True, "type": "Boolean"}}})

    one_way = _submit(camunda, home_city, one_way=True)
    text = _findings_text(camunda, one_way)
    assert "TRIP_NOT_BACK_HOME" not in text and "TRIP_NOT_FROM_HOME" not in text
