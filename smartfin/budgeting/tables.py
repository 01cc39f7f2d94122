"""The budget compilation tables (预算编制): the project pool with its performance targets, the compilation round of
each fiscal year, the departments' drafts with their lines, the budget committee's control numbers, and the
versions issued into the ledger.

History is kept, never overwritten: a second upload of a department's draft in the same round marks the earlier
one ``replaced`` and adds a new revision; a control number set again is a new row (the latest row of a key is in
force); an issue is a numbered version. Money is integer fen (``BigInteger``); indicator values are exact
decimals stored as text, so SQLite and PostgreSQL give back the same ``Decimal``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from smartfin.kernel.clock import utc_now
from smartfin.store.audit import UtcDateTime

CODE_MAX = 32      # department and project codes (as the budget line's columns)
NAME_MAX = 200
USER_MAX = 64
DECIMAL_MAX = 40   # an exact decimal as text


def _money() -> object:
    return Field(sa_column=Column(BigInteger, nullable=False))


def _stamp() -> object:
    return Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))


# ----------------------------------------------------------------------------------------- project pool

class BudgetProject(SQLModel, table=True):
    """A project in the project pool (项目库) of one fiscal year: only pool projects may be budgeted as project
    expenditure (项目支出), and only with performance targets."""

    __tablename__ = "budget_project"
    __table_args__ = (UniqueConstraint("fiscal_year", "code", name="uq_budget_project"),)

    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int = Field(index=True)
    code: str = Field(max_length=CODE_MAX)
    name: str = Field(max_length=NAME_MAX)
    department: str = Field(max_length=CODE_MAX, index=True)
    funding_source: str = Field(max_length=16)
    priority: int                       # 1 = most urgent
    status: str = Field(max_length=16)  # smartfin.budgeting.projects.ProjectStatus
    created_at: datetime = _stamp()  # type: ignore[assignment]
    created_by: str = Field(default="", max_length=USER_MAX)
    updated_at: datetime = _stamp()  # type: ignore[assignment]
    updated_by: str = Field(default="", max_length=USER_MAX)


class ProjectTarget(SQLModel, table=True):
    """One performance target (绩效目标) of a project: an output or outcome indicator with its target value, and
    the actual value the department enters at year end."""

    __tablename__ = "budget_project_target"
    __table_args__ = (UniqueConstraint("project_id", "indicator", name="uq_budget_project_target"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("budget_project.id"), nullable=False, index=True))
    kind: str = Field(max_length=8)          # output / outcome
    dimension: str = Field(max_length=20)    # quantity, quality, timeliness, cost / social-benefit, satisfaction
    indicator: str = Field(max_length=NAME_MAX)
    unit: str = Field(max_length=CODE_MAX)
    direction: str = Field(max_length=2)     # ">=": at least the target; "<=": at most
    target_value: str = Field(max_length=DECIMAL_MAX)
    actual_value: str | None = Field(default=None, max_length=DECIMAL_MAX)
    actual_by: str | None = Field(default=None, max_length=USER_MAX)
    actual_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))


# ---------------------------------------------------------------------------------------- compilation round

class CompilationRound(SQLModel, table=True):
    """The compilation of one fiscal year's budget (两上两下): guidance, deadlines, template version and stage."""

    __tablename__ = "budget_compilation_round"

    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int = Field(unique=True)
    guidance: str = Field(max_length=4000)
    first_deadline: date        # 一上: departments' proposals due
    second_deadline: date       # 二上: drafts within the control numbers due
    template_version: str = Field(max_length=CODE_MAX)
    stage: str = Field(max_length=16)   # smartfin.budgeting.rounds.Stage
    opened_at: datetime = _stamp()  # type: ignore[assignment]
    opened_by: str = Field(max_length=USER_MAX)
    stage_changed_at: datetime = _stamp()  # type: ignore[assignment]
    stage_changed_by: str = Field(max_length=USER_MAX)


# ------------------------------------------------------------------------------------------------- drafts

class BudgetDraft(SQLModel, table=True):
    """One upload of a department's draft in one round; a later upload of the same round replaces it."""

    __tablename__ = "budget_draft"
    __table_args__ = (
        UniqueConstraint("fiscal_year", "department", "round", "revision", name="uq_budget_draft"),
        Index("ix_budget_draft_round", "fiscal_year", "round", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int
    department: str = Field(max_length=CODE_MAX)
    round: str = Field(max_length=8)         # first (一上) / second (二上)
    revision: int
    status: str = Field(max_length=8)        # current / replaced
    filename: str = Field(max_length=255)
    sha256: str = Field(max_length=64)
    template_version: str = Field(max_length=CODE_MAX)
    digest: str = Field(max_length=64)
    line_count: int
    total_fen: int = _money()  # type: ignore[assignment]
    uploaded_at: datetime = _stamp()  # type: ignore[assignment]
    uploaded_by: str = Field(max_length=USER_MAX)
    # set when the department's draft task is accepted with this draft (it is then the department's submission
    # and cannot be replaced), cleared when the task is offered to the department again
    accepted_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    accepted_by: str | None = Field(default=None, max_length=USER_MAX)


class DraftLine(SQLModel, table=True):
    """One amount of a draft: basic expenditure by economic code × funding source, or a pool project's."""

    __tablename__ = "budget_draft_line"

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(sa_column=Column(Integer, ForeignKey("budget_draft.id"), nullable=False, index=True))
    kind: str = Field(max_length=8)          # basic / project
    economic_code: str = Field(max_length=10)
    funding_source: str = Field(max_length=16)
    project: str = Field(default="", max_length=CODE_MAX)
    amount_fen: int = _money()  # type: ignore[assignment]
    cell: str = Field(max_length=64)         # where it was read, e.g. 基本支出!E5


# ---------------------------------------------------------------------------------------- control numbers

class ControlNumber(SQLModel, table=True):
    """A control number (控制数) the budget committee set for a department and funding source; the latest row of
    a (year, department, funding source) is in force, earlier rows are its history."""

    __tablename__ = "budget_control_number"
    __table_args__ = (Index("ix_budget_control_number_key", "fiscal_year", "department", "funding_source"),)

    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int
    department: str = Field(max_length=CODE_MAX)
    funding_source: str = Field(max_length=16)
    amount_fen: int = _money()  # type: ignore[assignment]
    decision: str = Field(max_length=NAME_MAX)   # the committee's minutes or decision number
    decided_by: str = Field(max_length=USER_MAX)
    decided_at: datetime = _stamp()  # type: ignore[assignment]


# ------------------------------------------------------------------------------------------------- issue

class BudgetIssue(SQLModel, table=True):
    """One version of the approved budget issued (批复) into the ledger as the year's budget lines."""

    __tablename__ = "budget_issue"
    __table_args__ = (UniqueConstraint("fiscal_year", "version", name="uq_budget_issue"),)

    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int
    version: int
    document_no: str = Field(max_length=64, unique=True)
    digest: str = Field(max_length=64)       # sha256 of the lines issued
    lines: int
    lines_created: int
    total_fen: int = _money()  # type: ignore[assignment]
    issued_at: datetime = _stamp()  # type: ignore[assignment]
    issued_by: str = Field(max_length=USER_MAX)
