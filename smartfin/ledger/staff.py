"""The staff grade register (人员职级): which travel grade each person holds, from which day.

Travel standards depend on the traveller's grade — lodging caps, the seat and cabin classes a ticket may be
(central travel rules) — so the grade must come from what personnel recorded, not from what the claimant
types on her claim. Rows are dated versions per person: a promotion is a new row from its day; the grade in
force on a trip's departure day is the latest version that started on or before it.

Until a hospital loads the register, claims keep the grade they were submitted with (nothing breaks for a
hospital that has not set it up yet); once any person is recorded, a traveller without a record goes to
review, and a recorded grade always replaces the typed one.

File format (CSV in UTF-8 or GBK, or ``.xlsx``; one header row; all rows or nothing): ``person`` (人员, 工号,
用户名 — the login the person claims with), ``grade`` (职级: ``general``/``senior``/``minister`` or 其他人员/
司局级/部级), ``valid_from`` (生效日期; default: the day of the import).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from rules.reimbursement.standards import GRADES
from smartfin.kernel.clock import hospital_today, utc_now
from smartfin.kernel.import_files import (
    ImportFormat,
    ImportIssue,
    cell_date,
    cell_text,
    file_bytes,
    is_blank,
    read_import_table,
)
from smartfin.store.audit import UtcDateTime, record_audit

PERSON_MAX = 64
GRADE_ALIASES = {**{g: g for g in GRADES}, "其他人员": "general", "一般人员": "general", "司局级": "senior",
                 "厅局级": "senior", "部级": "minister", "省部级": "minister"}
STAFF_FORMAT = ImportFormat(
    name="staff grade", columns=("person", "grade", "valid_from"), required=("person", "grade"),
    aliases={"人员": "person", "工号": "person", "用户名": "person", "职级": "grade", "级别": "grade",
             "生效日期": "valid_from", "开始日期": "valid_from"})


class StaffGrade(SQLModel, table=True):
    """One version of a person's travel grade, in force from ``valid_from`` until the next version."""

    __tablename__ = "staff_grade"
    __table_args__ = (UniqueConstraint("person", "valid_from", name="uq_staff_grade_from"),)

    id: int | None = Field(default=None, primary_key=True)
    person: str = Field(max_length=PERSON_MAX, index=True)
    grade: str = Field(max_length=16)
    valid_from: date
    recorded_by: str = Field(max_length=PERSON_MAX)
    recorded_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))


@dataclass
class StaffImportReport:
    source: str
    sha256: str
    rows: int = 0
    added: int = 0
    unchanged: int = 0
    errors: list[ImportIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def import_staff_grades(session: Session, source: str | Path | bytes, *, actor: str, filename: str | None = None,
                        today: date | None = None) -> StaffImportReport:
    """Record the grades a file lists, all or nothing; every refused row is reported as (row, column, reason).

    A row equal to a recorded version changes nothing (importing a file twice is harmless); a different grade
    for a day that already has a version is refused — history is not rewritten, a change gets its own day.
    """
    data, name = file_bytes(source, filename)
    digest = hashlib.sha256(data).hexdigest()
    report = StaffImportReport(source=name, sha256=digest)
    table, issues = read_import_table(data, name, STAFF_FORMAT)
    report.errors.extend(issues)
    if table is None:
        return report
    report.rows = len(table)
    first_day = today or hospital_today()
    seen: dict[tuple[str, date], tuple[int, str]] = {}
    for row_no, cells in table:
        def fail(column: str, reason: str, row_no: int = row_no) -> None:
            report.errors.append(ImportIssue(row_no, column, reason))

        person = cell_text(cells.get("person"))
        if not person or len(person) > PERSON_MAX or any(c.isspace() for c in person):
            fail("person", f"人员 {person!r} 无效 / a login of 1–{PERSON_MAX} characters without spaces is needed")
        raw_grade = cell_text(cells.get("grade"))
        grade = GRADE_ALIASES.get(raw_grade) or GRADE_ALIASES.get(raw_grade.lower())
        if grade is None:
            fail("grade", f"职级 {raw_grade!r} 无法识别 / unknown grade "
                          f"(use {', '.join(GRADES)}, 其他人员, 司局级, 部级)")
        given = cells.get("valid_from")
        valid_from = first_day if is_blank(given) else cell_date(given, "valid_from", fail)
        if not person or grade is None or valid_from is None:
            continue
        earlier = seen.get((person, valid_from))
        if earlier is not None and earlier[1] != grade:
            fail("valid_from", f"{person} 在 {valid_from} 已有职级 {earlier[1]} (第 {earlier[0]} 行) / "
                               f"row {earlier[0]} gives {person} another grade from the same day")
            continue
        seen[(person, valid_from)] = (row_no, grade)
    recorded = {(r.person, r.valid_from): r for r in session.exec(
        select(StaffGrade).where(col(StaffGrade.person).in_({p for p, _ in seen}))).all()}
    for (person, valid_from), (row_no, grade) in seen.items():
        stored = recorded.get((person, valid_from))
        if stored is not None and stored.grade != grade:
            report.errors.append(ImportIssue(
                row_no, "grade", f"{person} 自 {valid_from} 已记录为 {stored.grade} / is recorded as "
                                 f"{stored.grade} from that day; a change needs its own day"))
    if report.errors:
        STAFF_FORMAT.sort(report.errors)
        return report
    with session.begin_nested():
        for (person, valid_from), (_, grade) in sorted(seen.items()):
            if (person, valid_from) in recorded:
                report.unchanged += 1
                continue
            session.add(StaffGrade(person=person, grade=grade, valid_from=valid_from, recorded_by=actor))
            report.added += 1
        if report.added:
            record_audit(session, actor=actor, action="staff.grades_imported", subject_type="staff_grade",
                         subject_id=digest[:16], details={"file": name, "sha256": digest, "rows": report.rows,
                                                          "added": report.added, "unchanged": report.unchanged})
    return report


def register_loaded(session: Session) -> bool:
    """Whether the hospital keeps the register at all (then every traveller must be in it)."""
    return session.exec(select(StaffGrade.id).limit(1)).first() is not None


def grade_on(session: Session, person: str, day: date) -> str | None:
    """The grade recorded for ``person`` in force on ``day``; None when there is none."""
    row = session.exec(select(StaffGrade).where(StaffGrade.person == person, col(StaffGrade.valid_from) <= day)
                       .order_by(col(StaffGrade.valid_from).desc()).limit(1)).first()
    return row.grade if row is not None else None


def staff_grades(session: Session) -> list[StaffGrade]:
    """Every recorded version, by person and day (what ``smartfin staff list`` shows)."""
    return list(session.exec(select(StaffGrade).order_by(col(StaffGrade.person), col(StaffGrade.valid_from))).all())
