"""The staff grade register: imported all or nothing with every bad row named, dated versions per person, and the
grade a claim's audit uses taken from it — a typed grade never beats the recorded one."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from extractors.invoice import extract_invoice
from rules.reimbursement import audit_claim, standards_on
from smartfin.app.cli import app
from smartfin.kernel.exits import ExitCode
from smartfin.ledger.staff import StaffGrade, grade_on, import_staff_grades, register_loaded
from smartfin.processes.reimbursement.claims import (
    Claim,
    ClaimFile,
    claim_facts,
    claim_invoices,
    invoice_facts,
    record_claim,
    store_extraction,
    traveller_grade,
    validate_claim,
)
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.support.travel_samples import rail_sample

LATE = date(2100, 1, 1)


def test_versions_per_person_and_the_grade_in_force_on_a_day(sqlite_db: Engine) -> None:
    data = ("人员,职级,生效日期\nzhang.wei,其他人员,2020-01-01\nzhang.wei,司局级,2026-07-01\n"
            "chen.jie,minister,2019-05-01\n").encode()
    with session_scope(sqlite_db) as session:
        assert not register_loaded(session)
        report = import_staff_grades(session, data, actor="hr.clerk", filename="grades.csv")
        assert report.ok, report.errors
        assert (report.rows, report.added, report.unchanged) == (3, 3, 0)
        assert register_loaded(session)
        assert grade_on(session, "zhang.wei", date(2026, 6, 30)) == "general"
        assert grade_on(session, "zhang.wei", date(2026, 7, 1)) == "senior"
        assert grade_on(session, "zhang.wei", date(2019, 12, 31)) is None
        assert grade_on(session, "chen.jie", date(2026, 1, 1)) == "minister"
        assert grade_on(session, "nobody", date(2026, 1, 1)) is None
    with session_scope(sqlite_db) as session:   # the same file again changes nothing
        again = import_staff_grades(session, data, actor="hr.clerk", filename="grades.csv")
        assert again.ok and (again.added, again.unchanged) == (0, 3)
        audited = session.exec(select(AuditEntry).where(AuditEntry.action == "staff.grades_imported")).all()
        assert len(audited) == 1


def test_a_file_with_any_bad_row_records_nothing_and_names_each(sqlite_db: Engine) -> None:
    with session_scope(sqlite_db) as session:
        import_staff_grades(session, b"person,grade,valid_from\nli.na,general,2024-01-01\n", actor="hr",
                            filename="first.csv")
    bad = (b"person,grade,valid_from\nwang.fang,general,2025-01-01\nbad name,general,2025-01-01\n"
           b"liu.yang,colonel,2025-01-01\nxu.jing,senior,2025-13-01\nli.na,senior,2024-01-01\n"
           b"he.ping,senior,2025-02-02\nhe.ping,general,2025-02-02\n")
    with session_scope(sqlite_db) as session:
        report = import_staff_grades(session, bad, actor="hr", filename="bad.csv")
    assert not report.ok
    where = [(issue.row, issue.column) for issue in report.errors]
    assert where == [(3, "person"), (4, "grade"), (5, "valid_from"), (6, "grade"), (8, "valid_from")], report.errors
    assert "a change needs its own day" in str(report.errors[3])
    with session_scope(sqlite_db) as session:
        assert [r.person for r in session.exec(select(StaffGrade)).all()] == ["li.na"]


def _trip_claim(session: Any, claim_no: str, typed: str) -> tuple[Claim, list[Any]]:
    sample = next(s for s in (rail_sample("rail-standard", n) for n in range(200))
                  if s.truth["segments[0].cabin"] == "first-class")
    day = sample.truth["segments[0].departure_date"]
    record_claim(session, claim_no, validate_claim({
        "claimant": "zhang.wei", "department": "T-BX", "category": "travel", "fundingSource": "fiscal",
        "purpose": "学术会议", "travel": {"destination": sample.truth["segments[0].to_city"], "province": "",
                                       "departed": day.isoformat(), "returned": (day + timedelta(days=2)).isoformat(),
                                       "grade": typed}}))
    store_extraction(session, ClaimFile(claim_no=claim_no, position=0, filename=sample.name, sha256="0" * 64,
                                        size=len(sample.data)), extract_invoice(sample.data, filename=sample.name,
                                                                                today=LATE))
    claim = session.get(Claim, claim_no)
    assert claim is not None
    return claim, [invoice_facts(row) for row in claim_invoices(session, claim_no)]


def test_the_audit_uses_the_recorded_grade_whatever_the_claim_says(sqlite_db: Engine) -> None:
    with session_scope(sqlite_db) as session:
        claim, facts = _trip_claim(session, "BX-GRADE-1", typed="senior")   # she claims bureau level
        # no register kept: the typed grade stands, as before (first class is within bureau level)
        assert traveller_grade(session, claim) == (None, [])
        assert "TRAVEL_CLASS_OVER_STANDARD" not in [f.code for f in audit_claim(claim_facts(claim), facts,
                                                                               standards_on(LATE))]
        import_staff_grades(session, b"person,grade,valid_from\nzhang.wei,general,2000-01-01\n", actor="hr",
                            filename="g.csv")
        grade, said = traveller_grade(session, claim)
        assert grade == "general" and [f.code for f in said] == ["TRAVEL_GRADE_FROM_REGISTER"]
        findings = audit_claim(claim_facts(claim, grade=grade), facts, standards_on(LATE))
        assert "TRAVEL_CLASS_OVER_STANDARD" in [f.code for f in findings]


def test_a_traveller_the_register_does_not_know_goes_to_review(sqlite_db: Engine) -> None:
    with session_scope(sqlite_db) as session:
        import_staff_grades(session, b"person,grade\nsomeone.else,general\n", actor="hr", filename="g.csv")
        claim, _ = _trip_claim(session, "BX-GRADE-2", typed="minister")
        grade, said = traveller_grade(session, claim)
    assert grade is None and [f.code for f in said] == ["TRAVEL_GRADE_UNRECORDED"]
    from rules.reimbursement.audit import REVIEW_CODES
    assert "TRAVEL_GRADE_UNRECORDED" in REVIEW_CODES


def test_the_commands_import_and_list(tmp_path: Any) -> None:
    """On the session's database; the grade is removed again, so that no other test meets a register."""
    good = tmp_path / "grades.csv"
    good.write_text("person,grade,valid_from\nzhao.lei,部级,2020-01-01\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("person,grade\nzhao.lei,general general\n", encoding="utf-8")
    runner = CliRunner()
    try:
        imported = runner.invoke(app, ["staff", "import", str(good), "--actor", "hr"])
        assert imported.exit_code == 0, imported.output
        refused = runner.invoke(app, ["staff", "import", str(bad)])
        assert refused.exit_code == ExitCode.REFUSED and "row 2, column grade" in refused.output
        listed = runner.invoke(app, ["staff", "list", "--json"])
        assert listed.exit_code == 0 and '"grade": "minister"' in listed.output
        assert '"person": "zhao.lei"' in listed.output
    finally:
        with session_scope() as session:
            for row in session.exec(select(StaffGrade).where(StaffGrade.person == "zhao.lei")).all():
                session.delete(row)
