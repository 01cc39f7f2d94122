"""The ledger's two tables: budget lines, and the append-only journal that moves money between buckets.

Money is integer fen, percentages are integer basis points (1% = 100 bp): both exact on SQLite and
PostgreSQL. Nothing stores a balance — ``available`` is always summed from the journal — so there is no
second copy of the truth to drift.

Every entry has two times: ``created_at``, the instant it was posted (the audit trail), and
``effective_on``, the hospital date on which the movement takes effect. A budget loaded in June for the
whole year takes effect on the line's first day, an adjustment on the date its decision names; every
"as of" figure reads the journal by ``effective_on``, never by when somebody keyed it in.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import DDL, BigInteger, Column, Date, ForeignKey, Index, Integer, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from smartfin.kernel.clock import utc_now
from smartfin.kernel.money import from_fen
from smartfin.ledger.errors import JournalIsAppendOnly
from smartfin.ledger.keys import Bucket, BudgetLineKey, ControlLevel, FundingSource, LineStatus
from smartfin.store.audit import UtcDateTime

BASIS_POINTS = Decimal(100)  # basis points per percent


def pct_to_bp(pct: Decimal) -> int:
    """A percentage with at most two decimals (``12.5``) to basis points (``1250``)."""
    bp = pct * BASIS_POINTS
    if bp != bp.to_integral_value():
        raise ValueError(f"percentage {pct} has more than 2 decimal places")
    return int(bp)


def bp_to_pct(bp: int) -> Decimal:
    return (Decimal(bp) / BASIS_POINTS).quantize(Decimal("0.01"))


class BudgetLine(SQLModel, table=True):
    """One line of the budget and its control settings; its money lives in ``JournalEntry``."""

    __tablename__ = "budget_line"
    __table_args__ = (
        UniqueConstraint("fiscal_year", "department", "economic_code", "funding_source", "project",
                         name="uq_budget_line_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int = Field(index=True)
    department: str = Field(index=True)
    economic_code: str
    funding_source: str
    project: str = ""
    name: str = ""
    control_level: str = ControlLevel.CONTROL.value
    tolerance_bp: int = 0              # tolerance as a share of the authorised budget, basis points
    tolerance_fen: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    warning_bp: int | None = 9000      # early warning when usage reaches this share; None = no warning
    status: str = LineStatus.OPEN.value
    effective_from: date | None = None
    effective_to: date | None = None
    created_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    created_by: str = ""

    @property
    def key(self) -> BudgetLineKey:
        return BudgetLineKey(self.fiscal_year, self.department, self.economic_code,
                             FundingSource(self.funding_source), self.project)

    @property
    def control(self) -> ControlLevel:
        return ControlLevel(self.control_level)

    @property
    def tolerance_pct(self) -> Decimal:
        return bp_to_pct(self.tolerance_bp)

    @property
    def tolerance_amount(self) -> Decimal:
        return from_fen(self.tolerance_fen)

    @property
    def warning_pct(self) -> Decimal | None:
        return None if self.warning_bp is None else bp_to_pct(self.warning_bp)

    @property
    def label(self) -> str:
        """The line as people read it in messages: key and name."""
        return f"{self.key}" + (f" {self.name}" if self.name else "")

    @property
    def period(self) -> tuple[date, date]:
        """The first and last day the line's money is in force: ``effective_from`` … ``effective_to``, or
        the fiscal year's 1 January … 31 December where they are not set.

        The original budget takes effect on the first day; an adjustment must fall within the period.
        """
        return (self.effective_from or date(self.fiscal_year, 1, 1),
                self.effective_to or date(self.fiscal_year, 12, 31))


class JournalEntry(SQLModel, table=True):
    """One movement of money on a line, caused by one source document. Never updated, never deleted.

    A correction is a new entry with the opposite amount whose ``reverses`` points at the entry it
    cancels; a document's holding in a bucket is the sum of its entries there. ``effective_on`` is the
    hospital date the movement takes effect (see the module docstring); ``created_at`` when it was posted.
    """

    __tablename__ = "journal_entry"
    __table_args__ = (
        Index("ix_journal_line_bucket", "line_id", "bucket"),
        Index("ix_journal_document", "document_type", "document_no", "bucket"),
        Index("ix_journal_line_effective", "line_id", "effective_on"),  # a year's lines read as of a date
    )

    id: int | None = Field(default=None, primary_key=True)
    line_id: int = Field(sa_column=Column(Integer, ForeignKey("budget_line.id"), nullable=False))
    bucket: str
    amount_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    document_type: str
    document_no: str
    reference: str | None = None       # e.g. the contract no. of an encumbrance, the voucher no. of an actual
    reverses: int | None = Field(default=None,
                                 sa_column=Column(Integer, ForeignKey("journal_entry.id"), nullable=True))
    actor: str
    reason: str = ""
    created_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    override_by: str | None = None
    override_reason: str | None = None
    override_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    # last, as revision 0005 added it: a migrated table and a new one have the same column order
    effective_on: date = Field(sa_column=Column(Date, nullable=False))

    @property
    def amount(self) -> Decimal:
        return from_fen(self.amount_fen)

    @property
    def bucket_kind(self) -> Bucket:
        return Bucket(self.bucket)


class DocumentLink(SQLModel, table=True):
    """A later document citing an earlier one on the same line, and the money that moved between them.

    Written in the same transaction as the two journal entries of the move (the cited document's holding
    released by ``consumed_fen``, the citing document's bucket posted with ``posted_fen``): who, when, how
    much, and how much of it was new money (``excess_fen``) and whether that excess was within the dated
    tolerance. One row per citing/cited pair: a redelivered move finds its row and moves nothing again.
    """

    __tablename__ = "document_link"
    __table_args__ = (
        UniqueConstraint("citing_type", "citing_no", "cited_type", "cited_no", name="uq_document_link"),
        Index("ix_document_link_cited", "cited_type", "cited_no"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cited_type: str = Field(max_length=40)
    cited_no: str = Field(max_length=80)
    citing_type: str = Field(max_length=40)
    citing_no: str = Field(max_length=80)
    line_id: int = Field(sa_column=Column(Integer, ForeignKey("budget_line.id"), nullable=False))
    from_bucket: str = Field(max_length=20)
    to_bucket: str = Field(max_length=20)
    consumed_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    posted_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    excess_fen: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    within_tolerance: bool = True
    actor: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))

    @property
    def consumed(self) -> Decimal:
        return from_fen(self.consumed_fen)

    @property
    def posted(self) -> Decimal:
        return from_fen(self.posted_fen)

    @property
    def excess(self) -> Decimal:
        return from_fen(self.excess_fen)


@event.listens_for(JournalEntry, "before_update")
def _refuse_update(_mapper: object, _connection: object, target: JournalEntry) -> None:
    raise JournalIsAppendOnly(f"journal entry {target.id} cannot be changed; post a reversal instead")


@event.listens_for(JournalEntry, "before_delete")
def _refuse_delete(_mapper: object, _connection: object, target: JournalEntry) -> None:
    raise JournalIsAppendOnly(f"journal entry {target.id} cannot be deleted; post a reversal instead")


# The same rule in the database itself, so that a hand-written UPDATE cannot rewrite history either.
for _operation in ("UPDATE", "DELETE"):
    event.listen(JournalEntry.__table__, "after_create", DDL(
        f"CREATE TRIGGER journal_entry_no_{_operation.lower()} BEFORE {_operation} ON journal_entry "
        "BEGIN SELECT RAISE(ABORT, 'journal entries are append-only: post a reversal'); END"
    ).execute_if(dialect="sqlite"))
event.listen(JournalEntry.__table__, "after_create", DDL(
    "CREATE OR REPLACE FUNCTION journal_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'journal entries are append-only: post a reversal'; END $$"
).execute_if(dialect="postgresql"))
event.listen(JournalEntry.__table__, "after_create", DDL(
    "CREATE TRIGGER journal_entry_append_only BEFORE UPDATE OR DELETE ON journal_entry "
    "FOR EACH ROW EXECUTE FUNCTION journal_entry_append_only()"
).execute_if(dialect="postgresql"))
