"""Deputy groups kept in step with the delegation table: validity periods begin and end without anyone acting.

Granting or revoking a delegation syncs at once; this flow catches the periods that start or end by the
clock. The control step before money moves reads the table itself, so a sync that is late never lets an
expired delegation sign — it only decides whether the engine lets a task be handed to the deputy.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from smartfin.camunda.client import EngineClient
from smartfin.processes.delegations import sync_deputy_groups
from smartfin.store.db import session_scope


@flow(name="delegation-sync", log_prints=True, timeout_seconds=600)
def delegation_sync() -> dict[str, Any]:
    """Create, fill, empty and delete the engine's deputy groups so they match the active delegations."""
    with session_scope() as session:
        report = sync_deputy_groups(session, EngineClient.from_settings())
    summary = {"created": report.created, "deleted": report.deleted,
               "added": [list(pair) for pair in report.added], "removed": [list(pair) for pair in report.removed]}
    get_run_logger().info("deputy groups: %s", summary if report.changed else "already in step")
    return summary
