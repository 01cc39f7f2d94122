"""One session per portal login: Prefect global concurrency limits named after the login.

Legacy portals (online bank, ERP) often allow a single session per user; two tasks logged in with the
same account would throw each other out. Every task that drives a portal holds the slot of its login
(``portal:<system>:<login>``, limit 1); different logins run side by side.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.states import State

from bots.errors import worth_retrying

log = logging.getLogger(__name__)
SESSIONS_PER_LOGIN = 1
SLOT_WAIT_S = 1800.0


def limit_name(system: str, login: str) -> str:
    return f"portal:{system}:{login}"


def ensure_limit(name: str, limit: int = SESSIONS_PER_LOGIN) -> None:
    """Create the global concurrency limit ``name`` unless it exists (an operator may have raised it)."""
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
            return
        except ObjectNotFound:
            pass
        with suppress(ObjectAlreadyExists):
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=limit))


@contextmanager
def portal_session(system: str, login: str) -> Iterator[None]:
    """Hold the one session slot of ``login`` on ``system`` while the block drives the portal."""
    name = limit_name(system, login)
    ensure_limit(name)
    with concurrency(name, occupy=1, timeout_seconds=SLOT_WAIT_S, strict=True):
        yield


def retry_unless_refused(task: object, task_run: object, state: State[Any]) -> bool:
    """Retry condition of portal tasks: technical trouble is retried, a refusal by the portal is not.

    A bank that says "no such account" or an ERP that refuses a password says the same thing on every
    retry; repeating it only delays the exception record (and may lock the login).
    """
    error = state.data if isinstance(state.data, BaseException) else None
    if error is None:
        with suppress(Exception):
            error = state.result(raise_on_failure=False)  # type: ignore[assignment]
    return worth_retrying(error)
