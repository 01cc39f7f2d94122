"""`smartfin budget lapse` and the open commitments of `smartfin budget show`, on a throwaway database."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlmodel import select
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.kernel.clock import hospital_today
from smartfin.ledger import Bucket, BudgetLineKey, consume, create_line, pre_encumber, record_actual
from smartfin.store.audit import AuditEntry
from smartfin.store.db import get_engine, session_scope
from tests.support.settings import environment

runner = CliRunner()
YEAR = hospital_today().year


def test_lapse_releases_requests_by_rule_once_and_budget_show_counts_open_commitments(tmp_path: Path) -> None:
    with environment({"SMARTFIN_VAR_DIR": str(tmp_path), "SMARTFIN_DATABASE_URL": ""}):
        get_engine.cache_clear()
        key = BudgetLineKey(YEAR, "CARD", "30201", "fiscal")
        with session_scope() as session:
            create_line(session, key, actor="finance", budget="10000.00", document_no="B-1")
            pre_encumber(session, key, "1000.00", document_type="spending-request", document_no="REQ-1", actor="a")
            pre_encumber(session, key, "500.00", document_type="spending-request", document_no="REQ-2", actor="a")
            consume(session, cited_type="spending-request", cited_no="REQ-2", citing_type="contract",
                    citing_no="HT-1", key=key, amount="500.00", bucket=Bucket.ENCUMBRANCE, actor="wang.fang")

        shown = json.loads(runner.invoke(app, ["budget", "show", "--year", str(YEAR), "--json"]).output)
        assert shown["lines"][0]["open_commitments"] == "1500.00"
        assert shown["totals"]["open_commitments"] == "1500.00"
        assert "未结 open" in runner.invoke(app, ["budget", "show", "--year", str(YEAR)]).output

        assert json.loads(runner.invoke(app, ["budget", "lapse", "--json"]).output)["lapsed"] == []
        year_end = date(YEAR + 1, 1, 1).isoformat()
        result = runner.invoke(app, ["budget", "lapse", "--as-of", year_end, "--json"])
        assert result.exit_code == 0, result.output
        lapsed = json.loads(result.output)["lapsed"]
        assert [(x["document_no"], x["released"]) for x in lapsed] == [("REQ-1", "1000.00")], \
            "the consumed request holds nothing; the contract is carried by the year-end close"
        assert "year-end" in lapsed[0]["rule"]
        again = json.loads(runner.invoke(app, ["budget", "lapse", "--as-of", year_end, "--json"]).output)
        assert again["lapsed"] == []
        shown = json.loads(runner.invoke(app, ["budget", "show", "--year", str(YEAR), "--json"]).output)
        assert shown["lines"][0]["open_commitments"] == "500.00"
        with session_scope() as session:
            audits = session.exec(select(AuditEntry).where(AuditEntry.action == "budget.lapsed")).all()
            assert [a.subject_id for a in audits] == ["REQ-1"]
        bad = runner.invoke(app, ["budget", "lapse", "--as-of", "31.12.2026"])
        assert bad.exit_code != 0 and "--as-of" in bad.output
        get_engine.cache_clear()


def test_document_chain_follows_the_vouchers_bank_journal_entry_to_its_reconciliation_match(tmp_path: Path) -> None:
    """Two payments of the same amount on one day: the chain shows the match of the claim's own voucher."""
    import numpy as np
    import pandas as pd

    from smartfin.processes.reimbursement.claims import Claim, ClaimStatus
    from smartfin.reconciliation import match_bank
    from smartfin.reconciliation.store import save_bank_run

    with environment({"SMARTFIN_VAR_DIR": str(tmp_path), "SMARTFIN_DATABASE_URL": ""}):
        get_engine.cache_clear()
        key = BudgetLineKey(YEAR, "CARD", "30201", "fiscal")
        with session_scope() as session:
            create_line(session, key, actor="finance", budget="10000.00", document_no="B-1")
            pre_encumber(session, key, "800.00", document_type="spending-request", document_no="REQ-9", actor="a")
            claim = Claim(claim_no="BX-9", claimant="zhang.wei", department="CARD", category="office",
                          economic_code="30201", funding_source="fiscal", fiscal_year=YEAR, purpose="办公用品",
                          claimed_total_fen=50000, payable_fen=50000, status=ClaimStatus.PAID, voucher_no="记-0042")
            session.add(claim)
            session.flush()
            consume(session, cited_type="spending-request", cited_no="REQ-9", citing_type="reimbursement-claim",
                    citing_no="BX-9", key=key, amount="500.00", bucket=Bucket.PRE_ENCUMBRANCE, actor="system")
            record_actual(session, document_type="reimbursement-claim", document_no="BX-9", actor="system",
                          amount="500.00", voucher_no="记-0042")

        day = date(YEAR, 3, 2)
        bank = pd.DataFrame({"line_id": ["L-OTHER", "L-9"], "amount_fen": np.array([-50000, -50000]),
                             "booked_at": pd.to_datetime([f"{day} 10:00", f"{day} 11:00"]).tz_localize(
                                 "Asia/Shanghai"),
                             "reference": ["BX-77", "BX-9"], "counterparty_name": ["晨光文具", "晨光文具"]})
        ledger = pd.DataFrame({"entry_id": ["记-0099", "记-0042"], "date": [day, day],
                               "amount_fen": np.array([-50000, -50000]), "reference": ["BX-77", "BX-9"],
                               "counterparty": ["晨光文具", "晨光文具"]})
        with session_scope() as session:
            save_bank_run(session, match_bank(bank, ledger), account="A-1", business_date=day, fingerprints=["f"])

        result = runner.invoke(app, ["document", "chain", "REQ-9", "--json"])
        assert result.exit_code == 0, result.output
        documents = json.loads(result.output)["documents"]
        assert [d["number"] for d in documents] == ["REQ-9", "BX-9"]
        payment = documents[1]["bank_payment"]
        assert payment is not None and payment["statement_lines"] == ["L-9"], payment
        assert payment["rule"] == "reference" and payment["amount"] == "-500.00"
        text = runner.invoke(app, ["document", "chain", "REQ-9"]).output
        assert f"match {payment['match_id']}" in text
        get_engine.cache_clear()
