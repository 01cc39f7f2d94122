"""What the ``budget-compilation`` process keeps of its own: the department budget contacts finance maintains
(预算编制联系人: who may submit a department's drafts) and the minutes of the approving meetings (会议纪要).

Both are the project's record, never a process variable: the 一上/二上 task of a department is offered to its
contact as stored here when the task is created, and the control step after it accepts the task only when its
authenticated completer is still the contact and the department's draft is in the drafts table. A meeting's
approval counts only with its minutes attached here (number and archived file) by a member of that body.
History is kept: a contact set again is a new row (the latest is in force); minutes are never replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from smartfin.budgeting.rounds import APPROVAL_DOCUMENT_TYPE, approval_document_no, get_round
from smartfin.kernel.clock import utc_now
from smartfin.ledger.departments import department_problem_during
from smartfin.store.archive import archive_file
from smartfin.store.audit import UtcDateTime, record_audit

DOCUMENT_TYPE = APPROVAL_DOCUMENT_TYPE
#: the bodies that approve a year's budget, in order (三重一大: the Party committee decides last)
MEETING_BODIES = ("budget-committee", "president", "party-committee")
MINUTES_MAX_BYTES = 20 * 1024 * 1024


class CompilationRefused(ValueError):
    """A contact or minutes record refused: the message names the field and the reason."""


class BudgetContact(SQLModel, table=True):
    """Who compiles a department's budget (an engine user, usually its head), as finance set it."""

    __tablename__ = "budget_contact"

    id: int | None = Field(default=None, primary_key=True)
    department: str = Field(max_length=32, index=True)
    user_id: str = Field(max_length=64)
    set_by: str = Field(max_length=64)
    set_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))


class CompilationMinutes(SQLModel, table=True):
    """The minutes of one meeting that decided on a year's budget: number, date and the archived file."""

    __tablename__ = "budget_compilation_minutes"
    __table_args__ = (UniqueConstraint("fiscal_year", "body", "minutes_no", name="uq_budget_compilation_minutes"),)

    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int = Field(index=True)
    body: str = Field(max_length=32)          # budget-committee / president / party-committee
    minutes_no: str = Field(max_length=100)
    meeting_date: date
    filename: str = Field(max_length=255)
    sha256: str = Field(max_length=64)
    attached_by: str = Field(max_length=64)
    attached_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))


# ------------------------------------------------------------------------------------------------ contacts

def set_contact(session: Session, department: str, user_id: str, *, actor: str, on: date) -> BudgetContact:
    """Make ``user_id`` the budget contact of ``department`` (in the master data on ``on``), audited."""
    department, user_id = department.strip(), user_id.strip()
    if not actor.strip():
        raise CompilationRefused("actor is missing")
    if not user_id:
        raise CompilationRefused("user: 必填 / is required")
    problem = department_problem_during(session, department, on, on)
    if not department or problem:
        raise CompilationRefused(f"department: {problem or '必填 / is required'}")
    row = BudgetContact(department=department, user_id=user_id, set_by=actor, set_at=utc_now())
    session.add(row)
    session.flush()
    record_audit(session, actor=actor, action="budget.contact_set", subject_type="department",
                 subject_id=department, details={"user": user_id})
    return row


def contacts(session: Session) -> dict[str, str]:
    """The contact in force of every department that has one, ``{department: user}``."""
    found: dict[str, str] = {}
    for row in session.exec(select(BudgetContact).order_by(col(BudgetContact.id))).all():
        found[row.department] = row.user_id
    return dict(sorted(found.items()))


def contact_of(session: Session, department: str) -> str | None:
    """The user who compiles ``department``'s budget now, or None when finance named nobody."""
    return contacts(session).get(department)


def compiling_departments(session: Session, fiscal_year: int) -> list[str]:
    """The departments that compile ``fiscal_year``'s budget: those with a budget contact, in the master data for
    the whole year. What the process iterates at its start, and the only departments a send-back may reopen."""
    return [department for department in contacts(session)
            if not department_problem_during(session, department, date(fiscal_year, 1, 1),
                                             date(fiscal_year, 12, 31))]


def departments_to_reopen(session: Session, fiscal_year: int, text: str | None) -> list[str]:
    """The departments whose 二上 drafts the budget office reopens after a send-back, from the revision form's
    ``reopenDepartments`` (codes separated by commas, spaces or 、; none is allowed: the totals may change
    through the control numbers alone). Each must be a department compiling the year (``compiling_departments``),
    checked like at the start; ``CompilationRefused`` names every code that is not."""
    codes = [code for code in (text or "").replace("、", ",").replace("，", ",").replace(" ", ",").split(",")
             if code.strip()]
    allowed = compiling_departments(session, fiscal_year)
    unknown = [code.strip() for code in codes if code.strip() not in allowed]
    if unknown:
        raise CompilationRefused(f"reopenDepartments: {', '.join(unknown)} 不是 {fiscal_year} 年编制预算的科室 / "
                                 f"{', '.join(unknown)} do not compile the {fiscal_year} budget (they are: "
                                 f"{', '.join(allowed) or 'none'})")
    return sorted({code.strip() for code in codes})


def budget_office(session: Session, fiscal_year: int) -> str:
    """Who a sent-back budget returns to: the finance user who opened the year's round (``smartfin budget round
    open``), as the round records it. Only she answers the send-back (resubmit or withdraw)."""
    return get_round(session, fiscal_year).opened_by


def departments_of(session: Session, user_id: str) -> list[str]:
    """The departments ``user_id`` is the contact of now (what the upload page lets her submit for)."""
    return [department for department, user in contacts(session).items() if user == user_id]


# ------------------------------------------------------------------------------------------------- minutes

def attach_minutes(session: Session, fiscal_year: int, body: str, minutes_no: str, meeting_date: date,
                   data: bytes, *, filename: str, actor: str,
                   is_member: Callable[[str, str], bool]) -> CompilationMinutes:
    """Attach a meeting's minutes (number + file, archived by content) to the year's compilation.

    Only a member of the body (``is_member(actor, body)``, from the engine's identity service) attaches its
    minutes; a number already attached for that body and year is refused, never replaced.
    """
    if body not in MEETING_BODIES:
        raise CompilationRefused(f"body: {body!r} is not one of {', '.join(MEETING_BODIES)}")
    number = minutes_no.strip()
    if not 2 <= len(number) <= 100:
        raise CompilationRefused("minutes_no: 须为 2–100 个字符 / must be 2–100 characters")
    if not data:
        raise CompilationRefused(f"file {filename!r}: 文件为空 / is empty")
    if len(data) > MINUTES_MAX_BYTES:
        raise CompilationRefused(f"file {filename!r}: larger than {MINUTES_MAX_BYTES // (1024 * 1024)} MiB")
    if not actor.strip() or not is_member(actor, body):
        raise CompilationRefused(f"{actor or '(nobody)'} 不属于 {body}，不能附会议纪要 / is not a member of {body} "
                                 f"and may not attach its minutes")
    if minutes_for(session, fiscal_year, body, number) is not None:
        raise CompilationRefused(f"minutes_no: {body} {number} 已附 / was already attached for {fiscal_year}")
    row = CompilationMinutes(fiscal_year=fiscal_year, body=body, minutes_no=number, meeting_date=meeting_date,
                             filename=filename[:255], sha256=archive_file(data), attached_by=actor,
                             attached_at=utc_now())
    session.add(row)
    session.flush()
    record_audit(session, actor=actor, action="budget.minutes_attached", subject_type=DOCUMENT_TYPE,
                 subject_id=document_no(fiscal_year), details={"body": body, "minutes_no": number,
                                                               "sha256": row.sha256, "file": filename})
    return row


def minutes_for(session: Session, fiscal_year: int, body: str, minutes_no: str) -> CompilationMinutes | None:
    """The minutes attached under that number for that body and year, or None."""
    return session.exec(select(CompilationMinutes).where(
        CompilationMinutes.fiscal_year == fiscal_year, CompilationMinutes.body == body,
        CompilationMinutes.minutes_no == minutes_no.strip())).first()


def document_no(fiscal_year: int) -> str:
    """The compilation's document number and the process's business key."""
    return approval_document_no(fiscal_year)


def fiscal_year_of(number: str) -> int:
    """The fiscal year of a compilation document number (``BUDGET-2027`` → 2027); ValueError otherwise."""
    prefix, _, year = number.partition("-")
    if prefix != "BUDGET" or not year.isdigit() or len(year) != 4:
        raise ValueError(f"{number!r} is not a budget compilation number (BUDGET-YYYY)")
    return int(year)
