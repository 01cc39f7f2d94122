"""Baseline: the schema of the first release (every table as ``create_all`` made it, and the journal's
append-only triggers).

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0001_baseline"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("subject_type", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("subject_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_actor"), ["actor"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "budget_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("department", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("economic_code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("funding_source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("project", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("control_level", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("tolerance_bp", sa.Integer(), nullable=False),
        sa.Column("tolerance_fen", sa.BigInteger(), nullable=False),
        sa.Column("warning_bp", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "fiscal_year", "department", "economic_code", "funding_source", "project", name="uq_budget_line_key"
        ),
    )
    with op.batch_alter_table("budget_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_budget_line_department"), ["department"], unique=False)
        batch_op.create_index(batch_op.f("ix_budget_line_fiscal_year"), ["fiscal_year"], unique=False)

    op.create_table(
        "claim",
        sa.Column("claim_no", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("claimant", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("department", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("economic_code", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("funding_source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("project", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("payment_method", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("claimed_total_fen", sa.Integer(), nullable=True),
        sa.Column("payable_fen", sa.Integer(), nullable=True),
        sa.Column("references", sa.Text(), nullable=False),
        sa.Column("travel", sa.Text(), nullable=True),
        sa.Column("explanation", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("closing_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("voucher_no", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("process_instance_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("claim_no"),
    )
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_claimant"), ["claimant"], unique=False)
        batch_op.create_index(batch_op.f("ix_claim_status"), ["status"], unique=False)

    op.create_table(
        "committee_vote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_no", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("member", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("vote", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("voted_at", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("proposal_no", "member"),
    )
    with op.batch_alter_table("committee_vote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_committee_vote_proposal_no"), ["proposal_no"], unique=False)

    op.create_table(
        "equipment_proposal",
        sa.Column("proposal_no", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("proposer", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("department", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("economic_code", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("funding_source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("project", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("device_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("equipment_class", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("price_fen", sa.Integer(), nullable=False),
        sa.Column("total_investment_fen", sa.Integer(), nullable=False),
        sa.Column("charge_codes", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("values_json", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("report_json", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("committee_outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("committee_summary", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("contract_no", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("contract_amount_fen", sa.Integer(), nullable=True),
        sa.Column("president_minutes", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("party_minutes", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("match_json", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("closing_reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("process_instance_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("submitted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("proposal_no"),
    )
    with op.batch_alter_table("equipment_proposal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_equipment_proposal_proposer"), ["proposer"], unique=False)
        batch_op.create_index(batch_op.f("ix_equipment_proposal_status"), ["status"], unique=False)

    op.create_table(
        "his_actual",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_no", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("charge_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("volume", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("revenue_fen", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("imported_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("proposal_no", "period", "charge_code"),
    )
    with op.batch_alter_table("his_actual", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_his_actual_proposal_no"), ["proposal_no"], unique=False)

    op.create_table(
        "inbox_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("claim_no", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("invoice_no", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("invoice_total", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim_no"),
        sa.UniqueConstraint("sha256", "path", name="uq_inbox_file"),
    )
    with op.batch_alter_table("inbox_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_file_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbox_file_status"), ["status"], unique=False)

    op.create_table(
        "invoice_registration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("claim_no", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("invoice_registration", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_registration_claim_no"), ["claim_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_registration_invoice_key"), ["invoice_key"], unique=False)
        batch_op.create_index(
            "uq_invoice_registration_live",
            ["invoice_key"],
            unique=True,
            sqlite_where=sa.text("released_at IS NULL"),
            postgresql_where=sa.text("released_at IS NULL"),
        )

    op.create_table(
        "invoice_verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("invoice_verification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_verification_checked_on"), ["checked_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_verification_fingerprint"), ["fingerprint"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_verification_invoice_key"), ["invoice_key"], unique=False)

    op.create_table(
        "post_purchase_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_no", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("review_no", sa.Integer(), nullable=False),
        sa.Column("first_period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("last_period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("report_json", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("summary", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("proposal_no", "review_no"),
    )
    with op.batch_alter_table("post_purchase_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_post_purchase_review_proposal_no"), ["proposal_no"], unique=False)

    op.create_table(
        "recon_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("input_fingerprints", sa.JSON(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("match_count", sa.Integer(), nullable=False),
        sa.Column("auto_matched_count", sa.Integer(), nullable=False),
        sa.Column("suggested_count", sa.Integer(), nullable=False),
        sa.Column("exception_count", sa.Integer(), nullable=False),
        sa.Column("run_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "scope", "business_date", name="uq_recon_run_day"),
    )
    with op.batch_alter_table("recon_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recon_run_business_date"), ["business_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_recon_run_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_recon_run_scope"), ["scope"], unique=False)

    op.create_table(
        "recon_statement_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("closing_balance_fen", sa.Integer(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fingerprint"),
    )
    with op.batch_alter_table("recon_statement_import", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recon_statement_import_account"), ["account"], unique=False)

    op.create_table(
        "spending_request",
        sa.Column("request_no", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("requester", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("department", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("economic_code", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("funding_source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("project", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("payee", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("closing_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("process_instance_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("submitted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("request_no"),
    )
    with op.batch_alter_table("spending_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spending_request_payee"), ["payee"], unique=False)
        batch_op.create_index(batch_op.f("ix_spending_request_requester"), ["requester"], unique=False)

    op.create_table(
        "voucher_posting",
        sa.Column("external_ref", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("document_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("document_no", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("voucher_no", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("amount", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("content_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("voucher_json", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reconciled", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("evidence_path", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("external_ref"),
    )
    with op.batch_alter_table("voucher_posting", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voucher_posting_document_no"), ["document_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_voucher_posting_document_type"), ["document_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_voucher_posting_state"), ["state"], unique=False)

    op.create_table(
        "claim_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_no", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_no"],
            ["claim.claim_no"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim_no", "position", name="uq_claim_file_position"),
    )
    with op.batch_alter_table("claim_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_file_claim_no"), ["claim_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_claim_file_sha256"), ["sha256"], unique=False)

    op.create_table(
        "claim_invoice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_no", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("source_format", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("manual_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("seller_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("seller_tax_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("total_with_tax_fen", sa.Integer(), nullable=True),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("invoice_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("values", sa.Text(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("corrected_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_no"],
            ["claim.claim_no"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim_no", "position", name="uq_claim_invoice_position"),
    )
    with op.batch_alter_table("claim_invoice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_invoice_claim_no"), ["claim_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_claim_invoice_number"), ["number"], unique=False)
        batch_op.create_index(batch_op.f("ix_claim_invoice_seller_tax_id"), ["seller_tax_id"], unique=False)

    op.create_table(
        "journal_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("document_type", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("document_no", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("reverses", sa.Integer(), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("override_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("override_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("override_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["budget_line.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reverses"],
            ["journal_entry.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("journal_entry", schema=None) as batch_op:
        batch_op.create_index("ix_journal_document", ["document_type", "document_no", "bucket"], unique=False)
        batch_op.create_index("ix_journal_line_bucket", ["line_id", "bucket"], unique=False)

    op.create_table(
        "recon_exception",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("exception_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("level", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("references", sa.JSON(), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("resolution", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["recon_run.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "exception_key", name="uq_recon_exception_key"),
    )
    with op.batch_alter_table("recon_exception", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recon_exception_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recon_exception_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_recon_exception_type"), ["type"], unique=False)

    op.create_table(
        "recon_match",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("match_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("level", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("left_ids", sa.JSON(), nullable=False),
        sa.Column("right_ids", sa.JSON(), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reason", sa.JSON(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["recon_run.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "match_key", name="uq_recon_match_key"),
    )
    with op.batch_alter_table("recon_match", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recon_match_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recon_match_status"), ["status"], unique=False)

    op.create_table(
        "recon_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("business_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("exception_keys", sa.JSON(), nullable=False),
        sa.Column("exception_count", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("process_instance_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["recon_run.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("business_key"),
    )
    with op.batch_alter_table("recon_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recon_review_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recon_review_status"), ["status"], unique=False)

    _journal_append_only_triggers()


# The ledger's rule in the database itself: a hand-written UPDATE or DELETE cannot rewrite history.
def _journal_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER journal_entry_no_{operation.lower()} BEFORE {operation} ON journal_entry "
                "BEGIN SELECT RAISE(ABORT, 'journal entries are append-only: post a reversal'); END"
            )
    elif op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION journal_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'journal entries are append-only: post a reversal'; END $$"
        )
        op.execute(
            "CREATE TRIGGER journal_entry_append_only BEFORE UPDATE OR DELETE ON journal_entry "
            "FOR EACH ROW EXECUTE FUNCTION journal_entry_append_only()"
        )


def downgrade() -> None:
    with op.batch_alter_table("recon_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recon_review_status"))
        batch_op.drop_index(batch_op.f("ix_recon_review_run_id"))

    op.drop_table("recon_review")
    with op.batch_alter_table("recon_match", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recon_match_status"))
        batch_op.drop_index(batch_op.f("ix_recon_match_run_id"))

    op.drop_table("recon_match")
    with op.batch_alter_table("recon_exception", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recon_exception_type"))
        batch_op.drop_index(batch_op.f("ix_recon_exception_status"))
        batch_op.drop_index(batch_op.f("ix_recon_exception_run_id"))

    op.drop_table("recon_exception")
    with op.batch_alter_table("journal_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_journal_line_bucket")
        batch_op.drop_index("ix_journal_document")

    op.drop_table("journal_entry")
    with op.batch_alter_table("claim_invoice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_invoice_seller_tax_id"))
        batch_op.drop_index(batch_op.f("ix_claim_invoice_number"))
        batch_op.drop_index(batch_op.f("ix_claim_invoice_claim_no"))

    op.drop_table("claim_invoice")
    with op.batch_alter_table("claim_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_file_sha256"))
        batch_op.drop_index(batch_op.f("ix_claim_file_claim_no"))

    op.drop_table("claim_file")
    with op.batch_alter_table("voucher_posting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voucher_posting_state"))
        batch_op.drop_index(batch_op.f("ix_voucher_posting_document_type"))
        batch_op.drop_index(batch_op.f("ix_voucher_posting_document_no"))

    op.drop_table("voucher_posting")
    with op.batch_alter_table("spending_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spending_request_requester"))
        batch_op.drop_index(batch_op.f("ix_spending_request_payee"))

    op.drop_table("spending_request")
    with op.batch_alter_table("recon_statement_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recon_statement_import_account"))

    op.drop_table("recon_statement_import")
    with op.batch_alter_table("recon_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recon_run_scope"))
        batch_op.drop_index(batch_op.f("ix_recon_run_kind"))
        batch_op.drop_index(batch_op.f("ix_recon_run_business_date"))

    op.drop_table("recon_run")
    with op.batch_alter_table("post_purchase_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_purchase_review_proposal_no"))

    op.drop_table("post_purchase_review")
    with op.batch_alter_table("invoice_verification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_verification_invoice_key"))
        batch_op.drop_index(batch_op.f("ix_invoice_verification_fingerprint"))
        batch_op.drop_index(batch_op.f("ix_invoice_verification_checked_on"))

    op.drop_table("invoice_verification")
    with op.batch_alter_table("invoice_registration", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_invoice_registration_live",
            sqlite_where=sa.text("released_at IS NULL"),
            postgresql_where=sa.text("released_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_invoice_registration_invoice_key"))
        batch_op.drop_index(batch_op.f("ix_invoice_registration_claim_no"))

    op.drop_table("invoice_registration")
    with op.batch_alter_table("inbox_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_file_status"))
        batch_op.drop_index(batch_op.f("ix_inbox_file_sha256"))

    op.drop_table("inbox_file")
    with op.batch_alter_table("his_actual", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_his_actual_proposal_no"))

    op.drop_table("his_actual")
    with op.batch_alter_table("equipment_proposal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_equipment_proposal_status"))
        batch_op.drop_index(batch_op.f("ix_equipment_proposal_proposer"))

    op.drop_table("equipment_proposal")
    with op.batch_alter_table("committee_vote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_committee_vote_proposal_no"))

    op.drop_table("committee_vote")
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_status"))
        batch_op.drop_index(batch_op.f("ix_claim_claimant"))

    op.drop_table("claim")
    with op.batch_alter_table("budget_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_budget_line_fiscal_year"))
        batch_op.drop_index(batch_op.f("ix_budget_line_department"))

    op.drop_table("budget_line")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entry_subject_id"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_at"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_actor"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_action"))

    op.drop_table("audit_entry")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS journal_entry_append_only()")
