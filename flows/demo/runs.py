"""Running one flow for the demo and failing clearly when it does not do what the demo promises."""

from __future__ import annotations

from datetime import date
from typing import Any


class DemoStepFailed(RuntimeError):
    """The flows' part of the demo could not show what it promises; the message says what and why."""


def run_flow(name: str, business_date: date | None = None, **parameters: Any) -> Any:
    """Run flow ``name`` now in this process (as `smartfin flows run` does) and return its result.

    Reconciliation flows open their review processes. A failed run raises :class:`DemoStepFailed` with the
    flow's own error.
    """
    from flows.deployments import run_now

    chosen, state = run_now(name, business_date, open_reviews=True, **parameters)
    if state.is_failed() or state.is_crashed() or state.is_cancelled():
        try:
            state.result()
        except Exception as exc:
            raise DemoStepFailed(f"flow {chosen.name} ({business_date or 'now'}) ended {state.name}: {exc}") from exc
        raise DemoStepFailed(f"flow {chosen.name} ({business_date or 'now'}) ended {state.name}")
    return state.result()
