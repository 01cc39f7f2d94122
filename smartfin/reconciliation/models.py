"""Tables of reconciliation runs, their matches and exceptions, and imported statements.

One run row per (kind, scope, business date): re-running a day replaces the machine's results of that
run and keeps every human decision (resolved, written off), so a clerk's work survives a corrected input.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from smartfin.kernel.clock import utc_now
from smartfin.store.audit import UtcDateTime


class ReconciliationRun(SQLModel, table=True):
    """One reconciliation of one account (bank) or hospital (three-way) for one business day."""

    __tablename__ = "recon_run"
    __table_args__ = (UniqueConstraint("kind", "scope", "business_date", name="uq_recon_run_day"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True, description="bank, three-way or prepayment")
    scope: str = Field(index=True, description="bank account number or hospital code")
    business_date: date = Field(index=True)
    input_fingerprints: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    outcome: str = Field(default="reconciled", description="reconciled, matched or no_data")
    started_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    match_count: int = 0
    auto_matched_count: int = 0
    suggested_count: int = 0
    exception_count: int = 0
    run_count: int = Field(default=1, description="how many times this day was run")


class Match(SQLModel, table=True):
    """Items on the left (bank/HIS/channel day) reconciled with items on the right, with the reason."""

    __tablename__ = "recon_match"
    __table_args__ = (UniqueConstraint("run_id", "match_key", name="uq_recon_match_key"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="recon_run.id", index=True)
    match_key: str = Field(description="sha256 of both sides' ids: the same match across reruns")
    level: str = "bank"
    left_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    right_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    rule: str
    score: int
    reason: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    amount_fen: int = 0
    status: str = Field(default="pending", index=True)
    resolved_by: str | None = None
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    note: str | None = None


class ReconException(SQLModel, table=True):
    """Something the matcher could not reconcile, waiting for (or carrying) a person's resolution."""

    __tablename__ = "recon_exception"
    __table_args__ = (UniqueConstraint("run_id", "exception_key", name="uq_recon_exception_key"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="recon_run.id", index=True)
    exception_key: str = Field(description="sha256 of type and references: the same exception across reruns")
    type: str = Field(index=True)
    level: str = "transaction"
    channel: str | None = None
    amount_fen: int = 0
    references: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    detail: str = ""
    status: str = Field(default="pending", index=True)
    resolution: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))


class StatementImport(SQLModel, table=True):
    """An accepted statement upload; the unique fingerprint is what refuses the same file twice."""

    __tablename__ = "recon_statement_import"

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(index=True)
    fingerprint: str = Field(unique=True)
    source: str
    period_start: date
    period_end: date
    line_count: int
    closing_balance_fen: int | None = None
    imported_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))


class ReconReview(SQLModel, table=True):
    """One batch of a run's exceptions sent to finance as a ``reconciliation-review`` process.

    The row is written (``opening``) before the process is started and carries the business key, so a
    rerun of the day, or a retry after a crash between the two, finds it and never opens a second
    review for the same exceptions. ``exception_keys`` (not ids) name the exceptions, because a rerun
    replaces pending exception rows but keeps their keys.
    """

    __tablename__ = "recon_review"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="recon_run.id", index=True)
    business_key: str = Field(unique=True)
    exception_keys: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    exception_count: int = 0
    amount_fen: int = 0
    status: str = Field(default="opening", index=True, description="opening, open or resolved")
    process_instance_id: str | None = None
    opened_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    resolved_by: str | None = None
    decision: str | None = None
    comment: str | None = None
