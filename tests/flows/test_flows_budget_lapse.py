"""The daily ``budget-lapse`` flow: approved requests' reservations past their validity or fiscal year go
back to their lines, once, on a throwaway database."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlmodel import select

from flows.budget import LAPSE_ACTOR, budget_lapse
from flows.deployments import flow_by_name
from smartfin.kernel.clock import hospital_today
from smartfin.ledger import Bucket, BudgetLineKey, create_line, document_holdings, pre_encumber
from smartfin.store.audit import AuditEntry
from smartfin.store.db import get_engine, session_scope
from tests.support.settings import environment

YEAR = hospital_today().year


def test_budget_lapse_flow_releases_expired_requests_once(flow_env: Path, tmp_path: Path) -> None:
    with environment({"SMARTFIN_VAR_DIR": str(tmp_path / "var"), "SMARTFIN_DATABASE_URL": ""}):
        get_engine.cache_clear()
        try:
            key = BudgetLineKey(YEAR, "CARD", "30201", "fiscal")
            with session_scope() as session:
                create_line(session, key, actor="finance", budget="10000.00", document_no="B-1")
                pre_encumber(session, key, "1200.00", document_type="spending-request", document_no="REQ-OLD",
                             actor="approver")
                pre_encumber(session, key, "300.00", document_type="spending-request", document_no="REQ-NEW",
                             actor="approver")
            assert flow_by_name("budget-lapse").flow is budget_lapse

            today = budget_lapse(as_of=hospital_today())
            assert today["lapsed"] == [] and today["released"] == "0.00", "nothing has lapsed yet"

            state = budget_lapse(as_of=date(YEAR + 1, 1, 2), return_state=True)
            assert state.is_completed(), state
            result = state.result()
            assert [x["document_no"] for x in result["lapsed"]] == ["REQ-NEW", "REQ-OLD"]
            assert all(x["rule"].startswith("year-end") for x in result["lapsed"])
            assert result["released"] == "1500.00"
            with session_scope() as session:
                for number in ("REQ-OLD", "REQ-NEW"):
                    assert document_holdings(session, "spending-request", number)[Bucket.PRE_ENCUMBRANCE] == 0
                audits = session.exec(select(AuditEntry).where(AuditEntry.action == "budget.lapsed")).all()
                assert sorted(a.subject_id for a in audits) == ["REQ-NEW", "REQ-OLD"]
                assert {a.actor for a in audits} == {LAPSE_ACTOR}
            again = budget_lapse(as_of=date(YEAR + 1, 1, 3))
            assert again["lapsed"] == [], "a second run releases nothing"
        finally:
            get_engine.cache_clear()
