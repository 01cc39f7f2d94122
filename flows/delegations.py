"""Deputy groups kept in step with the delegation table, and department groups (``dept-head.CARD``) with the
department role record: validity periods begin and end without anyone acting.

Granting or revoking a delegation syncs at once; this flow catches the periods that start or end by the
clock. The control step before money moves reads the table itself, so a sync that is late never lets an
expired delegation sign — it only decides whether the engine lets a task be handed to the deputy.
"""

from __future__ import annotations

from contextlib import closing
from typing import Any

from prefect import flow, get_run_logger

from smartfin.camunda.client import EngineClient
from smartfin.camunda.tasklist_filters import admin_client
from smartfin.kernel.settings import get_settings
from smartfin.processes.delegations import sync_deputy_groups
from smartfin.processes.department_groups import sync_department_groups
from smartfin.store.db import session_scope


@flow(name="delegation-sync", log_prints=True, timeout_seconds=600)
def delegation_sync() -> dict[str, Any]:
    """Create, fill, empty and delete the engine's deputy groups so they match the active delegations, and the
    department groups so they match today's department heads."""
    with session_scope() as session:
        report = sync_deputy_groups(session, EngineClient.from_settings())
    summary = {"created": report.created, "deleted": report.deleted,
               "added": [list(pair) for pair in report.added], "removed": [list(pair) for pair in report.removed]}
    get_run_logger().info("deputy groups: %s", summary if report.changed else "already in step")
    # a head whose period ended today loses her department group; her successor gets it
    with closing(admin_client(get_settings())) as admin, session_scope() as session:
        departments = sync_department_groups(session, admin)
    get_run_logger().info("%s", departments.summary())
    return {**summary, "department_groups": departments.summary()}
