"""The cash forecast's tables: what it learns from (imported history, receivables, payables), the stored runs
(base and scenarios, each named) and the minimum-balance alerts opened for them.

The history tables are minimal on purpose: the insurance receivables and their collections will come from the
insurance reconciliation's receivables ledger and aging once it exists (see ``sources.ReceivableSource``), and
contract payment dates from the contracts' payment schedules (see ``sources.EncumbranceSource``); until then
they are imported from files (``smartfin cash import``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from smartfin.kernel.clock import utc_now
from smartfin.store.audit import UtcDateTime


class CashImport(SQLModel, table=True):
    """One accepted file of history, receivables or payables; the fingerprint refuses the same file twice."""

    __tablename__ = "cash_import"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, description="history, receivables or payables")
    fingerprint: str = Field(max_length=64, unique=True)
    source: str = Field(max_length=255)
    row_count: int
    imported_by: str = Field(max_length=64)
    imported_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))


class CashHistory(SQLModel, table=True):
    """Money actually received or paid on a day: patient receipts, insurance collections, payroll."""

    __tablename__ = "cash_history"
    __table_args__ = (Index("ix_cash_history_kind_day", "kind", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = Field(foreign_key="cash_import.id", index=True)
    kind: str = Field(max_length=24, description="patient-receipt, insurance-collection or payroll")
    day: date
    amount_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    insurance_type: str | None = Field(default=None, max_length=32)
    service_month: str | None = Field(default=None, max_length=7)


class CashReceivable(SQLModel, table=True):
    """What the insurance fund owed at ``as_of`` for one insurance type and service month (aging snapshot)."""

    __tablename__ = "cash_receivable"
    __table_args__ = (UniqueConstraint("as_of", "insurance_type", "service_month", name="uq_cash_receivable"),)

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = Field(foreign_key="cash_import.id", index=True)
    as_of: date = Field(index=True)
    insurance_type: str = Field(max_length=32)
    service_month: str = Field(max_length=7)
    outstanding_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    billed_fen: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class CashPayable(SQLModel, table=True):
    """A supplier invoice accepted on a day, its due date (blank: from the policy term) and the day it was paid."""

    __tablename__ = "cash_payable"

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = Field(foreign_key="cash_import.id", index=True)
    reference: str = Field(max_length=64, unique=True)
    supplier: str = Field(max_length=200)
    category: str = Field(max_length=32)
    accepted_on: date = Field(index=True)
    amount_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    due_on: date | None = None
    paid_on: date | None = None


class CashForecastRun(SQLModel, table=True):
    """One forecast as it was made: base or a named scenario, its parameters, its days, weeks and drivers.

    A run is stored once per (as_of, scenario): running it again for the same day and scenario replaces
    nothing and answers from the record, so a rerun of the weekly flow is idempotent.
    """

    __tablename__ = "cash_forecast_run"
    __table_args__ = (UniqueConstraint("as_of", "scenario", name="uq_cash_forecast_run"),)

    id: int | None = Field(default=None, primary_key=True)
    as_of: date = Field(index=True)
    scenario: str = Field(max_length=64, description="base, or the scenario's name")
    parameters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    opening_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    minimum_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    breach_start: date | None = None
    breach_end: date | None = None
    breach_closing_fen: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    days: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    weeks: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    drivers: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    warnings: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))


class CashAlert(SQLModel, table=True):
    """A minimum-balance breach of a run sent to the chief accountant as a ``cash-alert`` process.

    Written (``opening``) before the process is started, so a rerun finds it and never opens a second alert;
    the acknowledgement (who, when, the decision and the measure) is recorded from the engine's history.
    """

    __tablename__ = "cash_alert"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="cash_forecast_run.id", unique=True)
    business_key: str = Field(max_length=200, unique=True)
    status: str = Field(default="opening", max_length=12, index=True, description="opening, open, acknowledged")
    process_instance_id: str | None = Field(default=None, max_length=64)
    opened_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    task_id: str | None = Field(default=None, max_length=64)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    decision: str | None = Field(default=None, max_length=16)
    measure: str | None = Field(default=None, max_length=2000)
