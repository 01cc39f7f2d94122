"""The medical-insurance settlement tables (医保结算): what was imported, what reconciliation found, what is owed.

Inputs, one ``ins_import`` row per accepted file (its sha256 refuses the same file twice; a corrected file
for the same day or month supersedes the earlier one, whose rows are deleted with it):

* ``ins_settlement`` — the HIS settlement records of a day, one row per settlement or reversal (冲正, with
  ``reverses`` naming the settlement it reverses and every amount negative);
* ``ins_platform_settlement`` — the insurance platform's detail file of the same day;
* ``ins_platform_total`` — the platform's daily totals per insurance type and clearing type;
* ``ins_clearing_statement`` — a month's clearing statement per insurance type (declared, approved, refused
  拒付, deducted 扣款, retained 质量保证金, disbursed) and ``ins_clearing_item`` its refused and deducted items;
* ``ins_group_settlement`` — DRG/DIP group payments per case.

Results: ``ins_run`` is one reconciliation of a day (``daily``) or a month (``monthly``) with its status;
``ins_exception`` its exceptions; ``ins_group_result`` the month's DRG/DIP surplus or loss per group and
department; ``ins_receivable`` the receivables ledger (append-only entries, balances derived);
``ins_appeal_batch`` the refused and deducted items of one department and month sent to appeal.

Money is integer fen (``BigInteger``); weights, points and rates are exact decimals stored as text.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from smartfin.kernel.clock import utc_now
from smartfin.store.audit import UtcDateTime

ID_MAX = 64        # settlement, patient, insured-person, case and item ids
CODE_MAX = 32      # department codes, as in the department master data
KIND_MAX = 24      # enumerated values (insurance type, medical category, statuses, exception types)
DECIMAL_MAX = 40   # an exact decimal as text


class InsuranceType(StrEnum):
    """Who pays: the employees' scheme, the residents' scheme, or another region's fund (异地就医)."""

    EMPLOYEE = "employee"
    RESIDENT = "resident"
    OFFSITE = "offsite"


#: the fund components of a settlement, as column stems (``<component>_fen``), in the order files list them
COMPONENTS = ("total", "pooled", "personal_account", "cash", "serious_illness", "assistance")


class RunStatus(StrEnum):
    """How a reconciliation run ended; every run ends in one of these, none silently."""

    RECONCILED = "reconciled"   # inputs accepted, no exception
    EXCEPTIONS = "exceptions"   # inputs accepted, exceptions recorded
    REFUSED = "refused"         # an input was refused; the refusal is recorded as an exception
    NO_DATA = "no_data"         # nothing to reconcile for the period


class AppealStatus(StrEnum):
    """Where an appeal batch stands; the appeal process moves it on."""

    OPEN = "open"             # batched, not yet sent to the department
    APPEALED = "appealed"     # the department appealed to the fund
    ACCEPTED = "accepted"     # the department accepts the refusal (no appeal)
    RECOVERED = "recovered"   # the fund paid (part of) it back; ``recovered_fen`` says how much


def _money(**kwargs: object) -> object:
    # ``sa_type`` rather than ``sa_column``: a Column object cannot be shared by the two settlement tables
    return Field(sa_type=BigInteger, nullable=False, **kwargs)  # type: ignore[call-overload]


def _import_id() -> object:
    return Field(sa_column=Column(Integer, ForeignKey("ins_import.id"), nullable=False, index=True))


def _run_id() -> object:
    return Field(sa_column=Column(Integer, ForeignKey("ins_run.id"), nullable=False, index=True))


# ------------------------------------------------------------------------------------------------ inputs

class InsuranceImport(SQLModel, table=True):
    """One accepted input file of a day (``business_date``) or a month (``month``)."""

    __tablename__ = "ins_import"
    __table_args__ = (UniqueConstraint("kind", "fingerprint", name="uq_ins_import_file"),
                      Index("ix_ins_import_period", "kind", "period"))

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=KIND_MAX, description="his, platform, platform_total, clearing, group")
    period: str = Field(max_length=10, description="YYYY-MM-DD of a day's file, YYYY-MM of a month's")
    file_name: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64, description="sha256 of the file's bytes")
    row_count: int
    status: str = Field(default="accepted", max_length=KIND_MAX, description="accepted or superseded")
    imported_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    actor: str = Field(max_length=ID_MAX)


class _Settlement(SQLModel):
    """Columns the HIS and the platform both give for one settlement."""

    settled_on: date = Field(index=True)
    settlement_id: str = Field(max_length=ID_MAX, index=True)
    insured_id: str = Field(max_length=ID_MAX)
    insurance_type: str = Field(max_length=KIND_MAX)
    medical_category: str = Field(max_length=KIND_MAX, description="outpatient, inpatient, chronic …")
    reverses: str | None = Field(default=None, max_length=ID_MAX, description="settlement this one reverses")
    total_fen: int = _money()  # type: ignore[assignment]
    pooled_fen: int = _money()  # type: ignore[assignment]
    personal_account_fen: int = _money()  # type: ignore[assignment]
    cash_fen: int = _money()  # type: ignore[assignment]
    serious_illness_fen: int = _money()  # type: ignore[assignment]
    assistance_fen: int = _money()  # type: ignore[assignment]
    source_row: int = Field(description="row of the file, for the clerk")


class HisSettlement(_Settlement, table=True):
    """A settlement (or reversal) as the hospital's HIS recorded it."""

    __tablename__ = "ins_settlement"

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = _import_id()  # type: ignore[assignment]
    patient_id: str = Field(max_length=ID_MAX)
    department: str = Field(max_length=CODE_MAX)


class PlatformSettlement(_Settlement, table=True):
    """A settlement (or reversal) as the insurance platform's detail file lists it."""

    __tablename__ = "ins_platform_settlement"

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = _import_id()  # type: ignore[assignment]


class PlatformTotal(SQLModel, table=True):
    """The platform's total of one day, insurance type and clearing type (medical category)."""

    __tablename__ = "ins_platform_total"

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = _import_id()  # type: ignore[assignment]
    settled_on: date = Field(index=True)
    insurance_type: str = Field(max_length=KIND_MAX)
    medical_category: str = Field(max_length=KIND_MAX)
    count: int
    total_fen: int = _money()  # type: ignore[assignment]
    pooled_fen: int = _money()  # type: ignore[assignment]
    personal_account_fen: int = _money()  # type: ignore[assignment]
    cash_fen: int = _money()  # type: ignore[assignment]
    serious_illness_fen: int = _money()  # type: ignore[assignment]
    assistance_fen: int = _money()  # type: ignore[assignment]
    source_row: int


class ClearingStatement(SQLModel, table=True):
    """The fund's monthly clearing statement for one insurance type (月度清算单).

    ``approved = declared − refused − deducted`` and ``disbursed = approved − retained``: a statement whose
    parts do not add up is stored as it came, with ``balanced`` false and an exception of its month's run.
    """

    __tablename__ = "ins_clearing_statement"
    __table_args__ = (UniqueConstraint("month", "insurance_type", name="uq_ins_clearing_month_type"),)

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = _import_id()  # type: ignore[assignment]
    month: str = Field(max_length=7, index=True, description="service month the statement clears")
    hospital: str = Field(max_length=CODE_MAX)
    insurance_type: str = Field(max_length=KIND_MAX)
    statement_no: str = Field(max_length=ID_MAX)
    issued_on: date
    declared_fen: int = _money()  # type: ignore[assignment]
    approved_fen: int = _money()  # type: ignore[assignment]
    refused_fen: int = _money()  # type: ignore[assignment]
    deducted_fen: int = _money()  # type: ignore[assignment]
    retained_fen: int = _money()  # type: ignore[assignment]
    disbursed_fen: int = _money()  # type: ignore[assignment]
    balanced: bool
    source_row: int


class ClearingItem(SQLModel, table=True):
    """One refused (拒付) or deducted (扣款) item of a clearing statement, with the fund's reason."""

    __tablename__ = "ins_clearing_item"
    __table_args__ = (Index("ix_ins_clearing_item_open", "status", "department"),)

    id: int | None = Field(default=None, primary_key=True)
    statement_id: int = Field(sa_column=Column(Integer, ForeignKey("ins_clearing_statement.id"), nullable=False,
                                               index=True))
    month: str = Field(max_length=7, index=True)
    insurance_type: str = Field(max_length=KIND_MAX)
    kind: str = Field(max_length=KIND_MAX, description="refused or deducted")
    settlement_id: str = Field(max_length=ID_MAX)
    department: str = Field(max_length=CODE_MAX)
    item_code: str = Field(max_length=ID_MAX)
    item_name: str = Field(max_length=200)
    amount_fen: int = _money()  # type: ignore[assignment]
    reason_code: str = Field(max_length=ID_MAX)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="open", max_length=KIND_MAX, description="open, or batched into an appeal")
    appeal_batch_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("ins_appeal_batch.id"), nullable=True, index=True))
    source_row: int


class GroupSettlement(SQLModel, table=True):
    """The fund's DRG/DIP payment for one case: group, weight (DRG) or points (DIP), rate, payment."""

    __tablename__ = "ins_group_settlement"
    __table_args__ = (UniqueConstraint("month", "case_id", name="uq_ins_group_case"),)

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = _import_id()  # type: ignore[assignment]
    month: str = Field(max_length=7, index=True)
    case_id: str = Field(max_length=ID_MAX)
    settlement_id: str = Field(max_length=ID_MAX)
    insurance_type: str = Field(max_length=KIND_MAX)
    department: str = Field(max_length=CODE_MAX)
    method: str = Field(max_length=8, description="drg or dip")
    group_code: str = Field(max_length=ID_MAX)
    weight: str = Field(max_length=DECIMAL_MAX, description="relative weight (DRG) or points (DIP)")
    rate: str = Field(max_length=DECIMAL_MAX, description="base rate (DRG) or point value (DIP), yuan")
    payment_fen: int = _money()  # type: ignore[assignment]
    charge_fen: int = _money()  # type: ignore[assignment]
    source_row: int


# ----------------------------------------------------------------------------------------------- results

class InsuranceRun(SQLModel, table=True):
    """One reconciliation of a day or a month; rerunning the period updates this row, never adds one."""

    __tablename__ = "ins_run"
    __table_args__ = (UniqueConstraint("kind", "hospital", "period", name="uq_ins_run_period"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=KIND_MAX, description="daily or monthly")
    hospital: str = Field(max_length=CODE_MAX)
    period: str = Field(max_length=10, index=True, description="YYYY-MM-DD (daily) or YYYY-MM (monthly)")
    status: str = Field(max_length=KIND_MAX, index=True)
    inputs: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    summary: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    exception_count: int = 0
    run_count: int = Field(default=1, description="how many times the period was run")
    started_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    actor: str = Field(max_length=ID_MAX)


class InsuranceException(SQLModel, table=True):
    """Something a run could not reconcile; the key is stable across reruns so a person's resolution stays."""

    __tablename__ = "ins_exception"
    __table_args__ = (UniqueConstraint("run_id", "exception_key", name="uq_ins_exception_key"),
                      Index("ix_ins_exception_type", "run_id", "type"))

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = _run_id()  # type: ignore[assignment]
    exception_key: str = Field(max_length=64, description="sha256 of type and references")
    type: str = Field(max_length=KIND_MAX + 8)
    settlement_id: str | None = Field(default=None, max_length=ID_MAX)
    insurance_type: str | None = Field(default=None, max_length=KIND_MAX)
    component: str | None = Field(default=None, max_length=KIND_MAX)
    his_fen: int | None = Field(default=None, sa_column=Column(BigInteger))
    other_fen: int | None = Field(default=None, sa_column=Column(BigInteger),
                                  description="the platform's, the statement's or the bank's amount")
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=KIND_MAX, index=True)
    resolution: str | None = Field(default=None, sa_column=Column(Text))
    resolved_by: str | None = Field(default=None, max_length=ID_MAX)
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))


class GroupResult(SQLModel, table=True):
    """A DRG/DIP group's month in one department: payment against charges and, when known, cost."""

    __tablename__ = "ins_group_result"
    __table_args__ = (Index("ix_ins_group_result_run", "run_id", "department"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = _run_id()  # type: ignore[assignment]
    month: str = Field(max_length=7, index=True)
    method: str = Field(max_length=8)
    group_code: str = Field(max_length=ID_MAX)
    department: str = Field(max_length=CODE_MAX)
    cases: int
    payment_fen: int = _money()  # type: ignore[assignment]
    charge_fen: int = _money()  # type: ignore[assignment]
    charge_surplus_fen: int = _money()  # type: ignore[assignment]
    costed_cases: int = 0
    cost_fen: int | None = Field(default=None, sa_column=Column(BigInteger))
    cost_surplus_fen: int | None = Field(default=None, sa_column=Column(BigInteger))


class ReceivableEntry(SQLModel, table=True):
    """One movement of the insurance receivable of a service month and insurance type (append-only).

    ``declared`` raises it; ``refused``, ``deducted`` and ``received`` (a matched bank receipt) lower it;
    ``retained`` moves the quality deposit to its own ``retention`` bucket, returned after the annual
    assessment. An appeal's recovery is booked in the ``recovery`` bucket per insurance type (``recovery``,
    reference = the batch key) and, once matched to a bank receipt, ``received`` there too, so it counts as a
    collection of its type and service month; the batch keeps the total and the bank reference. The same
    reference is never booked twice.
    """

    __tablename__ = "ins_receivable"
    __table_args__ = (UniqueConstraint("month", "insurance_type", "entry_kind", "reference",
                                       name="uq_ins_receivable_entry"),
                      Index("ix_ins_receivable_type", "insurance_type", "month"))

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(max_length=7, description="service month the money is owed for")
    insurance_type: str = Field(max_length=KIND_MAX)
    entry_kind: str = Field(max_length=KIND_MAX)
    bucket: str = Field(default="settlement", max_length=KIND_MAX, description="settlement or retention")
    amount_fen: int = _money()  # type: ignore[assignment]
    booked_on: date
    reference: str = Field(max_length=ID_MAX * 2, description="statement no., bank reference or batch key")
    run_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("ins_run.id"), nullable=True))
    recorded_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))


class AppealBatch(SQLModel, table=True):
    """The open refused and deducted items of one department and month, sent to appeal together.

    The ``insurance-appeal`` process records its outcome here: ``appealed`` or ``accepted``, and
    ``recovered_fen`` when the fund pays back; ``recovery_reference`` is the bank receipt it was matched to.
    """

    __tablename__ = "ins_appeal_batch"
    __table_args__ = (UniqueConstraint("month", "department", "sequence", name="uq_ins_appeal_batch"),)

    id: int | None = Field(default=None, primary_key=True)
    business_key: str = Field(max_length=ID_MAX * 2, unique=True)
    month: str = Field(max_length=7, index=True)
    department: str = Field(max_length=CODE_MAX)
    sequence: int = Field(default=1, description="1 for the first batch of the department's month, then 2 …")
    item_count: int
    amount_fen: int = _money()  # type: ignore[assignment]
    status: str = Field(default=AppealStatus.OPEN, max_length=KIND_MAX, index=True)
    due_on: date | None = None
    recovered_fen: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    recovery_reference: str | None = Field(default=None, max_length=ID_MAX * 2)
    recovered_on: date | None = None
    process_instance_id: str | None = Field(default=None, max_length=ID_MAX)
    opened_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    decided_by: str | None = Field(default=None, max_length=ID_MAX)
