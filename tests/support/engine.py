"""Acting on the real engine as the demo users, and waiting for asynchronous outcomes.

The acting and waiting are the product's (``smartfin.app.demo_users``, which ``smartfin demo`` drives its
documents with); what is here only serves the tests.
"""

from __future__ import annotations

from smartfin.app.demo_users import (
    APPROVER_OF_GROUP,
    approve_chain,
    candidate_groups,
    open_task,
    process_ended,
    wait_for,
)
from smartfin.camunda.client import EngineClient

__all__ = ["APPROVER_OF_GROUP", "DEMO_PASSWORD", "approve_chain", "as_user", "candidate_groups", "ended_at",
           "open_task", "process_ended", "wait_for"]

DEMO_PASSWORD = "smartfin-demo"


def as_user(engine: EngineClient, user: str) -> EngineClient:
    return engine.as_user(user, DEMO_PASSWORD)


def ended_at(engine: EngineClient, process_instance_id: str) -> set[str]:
    """Outcome end events the process instance reached (by convention their ids start with "request")."""
    return {a["activityId"] for a in engine.historic_activities(process_instance_id)
            if a["activityType"] == "noneEndEvent" and a["activityId"].startswith("request")}
