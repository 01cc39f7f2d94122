"""Opening a ``reconciliation-review`` process for a run's exceptions — exactly once per batch.

The batch row is committed before the process is started; if the flow dies between the two, the next
attempt finds the row still ``opening``, looks the business key up in the engine's history and either
adopts the instance that was started or starts it then. A rerun of the day whose exceptions are already
in a review opens nothing.
"""

from __future__ import annotations

from typing import Any

from smartfin.camunda.client import EngineClient
from smartfin.kernel.money import format_yuan, from_fen
from smartfin.reconciliation.models import ReconciliationRun
from smartfin.reconciliation.store import mark_review_open, plan_review, review_exceptions
from smartfin.store.db import session_scope

PROCESS_KEY = "reconciliation-review"
SUMMARY_LINES = 200
KIND_LABELS = {"bank": "银行对账 Bank", "three-way": "三方对账 Three-way", "prepayment": "预交金 Prepayment"}


def review_variables(run: ReconciliationRun, review_key: str, exceptions: list[Any]) -> dict[str, Any]:
    """What the reviewer sees in Tasklist, and what the worker needs to record the decision."""
    total = sum(abs(e.amount_fen) for e in exceptions)
    lines = [f"{n}. [{e.type}] ¥{format_yuan(from_fen(e.amount_fen))}  {e.detail}  ({', '.join(e.references)})"
             for n, e in enumerate(exceptions[:SUMMARY_LINES], 1)]
    if len(exceptions) > SUMMARY_LINES:
        lines.append(f"… 另有 {len(exceptions) - SUMMARY_LINES} 笔 / and {len(exceptions) - SUMMARY_LINES} more")
    return {
        "reviewKey": review_key, "runId": run.id, "reconciliationKind": run.kind, "scope": run.scope,
        "reconciliationLabel": f"{KIND_LABELS.get(run.kind, run.kind)} · {run.scope}",
        "businessDate": run.business_date.isoformat(), "exceptionCount": len(exceptions),
        "totalAmount": format_yuan(from_fen(total)), "exceptionSummary": "\n".join(lines),
        "exceptions": [{"key": e.exception_key, "type": e.type, "amount": format_yuan(from_fen(e.amount_fen)),
                        "references": list(e.references), "detail": e.detail} for e in exceptions],
    }


def open_review(run_id: int, engine: EngineClient | None = None) -> str | None:
    """Open the review for a run's unreviewed exceptions; returns its business key, None if none needed."""
    with session_scope() as session:
        run = session.get(ReconciliationRun, run_id)
        if run is None:
            raise LookupError(f"reconciliation run {run_id} does not exist")
        review = plan_review(session, run)
        if review is None:
            return None
        key = review.business_key
        variables = review_variables(run, key, review_exceptions(session, review))
    client = engine or EngineClient.from_settings()
    started = client.get("/history/process-instance", processDefinitionKey=PROCESS_KEY,
                         processInstanceBusinessKey=key)
    instance_id = started[0]["id"] if started else client.start_process(PROCESS_KEY, key, variables)["id"]
    with session_scope() as session:
        mark_review_open(session, key, instance_id)
    return key
