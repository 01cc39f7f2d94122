"""Control numbers (控制数): what the budget committee allows each department per funding source after 一下; the
department's 二上 draft must stay within them.

Each setting is a new row with who set it, when and on which decision (the committee's minutes); the latest row
of a (year, department, funding source) is in force and the earlier ones are its history. They may be set while
the round is at ``consolidation`` (一下) and revised during ``second`` (二上).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlmodel import Session, col, select

from smartfin.budgeting.rounds import CompilationError, Stage, get_round, require_stage
from smartfin.budgeting.tables import ControlNumber
from smartfin.kernel.clock import utc_now
from smartfin.kernel.import_files import (
    ImportFormat,
    ImportIssue,
    cell_amount,
    cell_text,
    file_bytes,
    read_import_table,
)
from smartfin.kernel.money import parse_amount, to_fen
from smartfin.ledger.departments import department_problem_during
from smartfin.ledger.errors import InvalidBudgetKey
from smartfin.ledger.keys import parse_funding_source
from smartfin.store.audit import record_audit

COLUMNS = ("department", "funding_source", "amount")
ALIASES = {"科室": "department", "部门": "department", "科室编码": "department", "资金来源": "funding_source",
           "经费来源": "funding_source", "控制数": "amount", "金额": "amount"}
CONTROL_FORMAT = ImportFormat("control numbers", COLUMNS, COLUMNS, ALIASES)


@dataclass(frozen=True, slots=True)
class ControlSetting:
    """One control number to set: department, funding source, amount in yuan."""

    department: str
    funding_source: str
    amount: Decimal | str | int


@dataclass(slots=True)
class ControlImportReport:
    """What an import of control numbers did — or, when ``errors`` is not empty, why it did nothing."""

    source: str
    rows: int = 0
    set: int = 0
    errors: list[ImportIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def set_control_numbers(session: Session, fiscal_year: int, settings: Iterable[ControlSetting], *,
                        decision: str, actor: str) -> list[ControlNumber]:
    """Record the budget committee's control numbers, all or nothing, with who set them and on which decision.

    ``CompilationError`` names the first bad setting (unknown department, funding source, amount) or a round that
    is not at consolidation or second.
    """
    if not actor.strip():
        raise CompilationError("actor is missing")
    if not decision.strip():
        raise CompilationError("控制数须注明决议 / control numbers need the decision they rest on (minutes no.)")
    require_stage(get_round(session, fiscal_year, lock=True), Stage.CONSOLIDATION, Stage.SECOND,
                  doing="下达控制数 set control numbers")
    now = utc_now()
    rows: list[ControlNumber] = []
    seen: set[tuple[str, str]] = set()
    for number, setting in enumerate(settings, start=1):
        department = setting.department.strip()
        problem = department_problem_during(session, department, date(fiscal_year, 1, 1), date(fiscal_year, 12, 31))
        if not department or problem:
            raise CompilationError(f"control number {number}: {problem or 'department is missing'}")
        try:
            source = parse_funding_source(setting.funding_source).value
        except InvalidBudgetKey as exc:
            raise CompilationError(f"control number {number}: funding_source {exc.reason}") from None
        amount = parse_amount(setting.amount, field=f"control number {number} amount", allow_zero=True)
        if (department, source) in seen:
            raise CompilationError(f"control number {number}: {department}/{source} is given twice")
        seen.add((department, source))
        rows.append(ControlNumber(fiscal_year=fiscal_year, department=department, funding_source=source,
                                  amount_fen=to_fen(amount), decision=decision.strip(), decided_by=actor,
                                  decided_at=now))
    if not rows:
        raise CompilationError("没有控制数 / no control numbers given")
    session.add_all(rows)
    session.flush()
    record_audit(session, actor=actor, action="budget.control_numbers_set", subject_type="budget_compilation_round",
                 subject_id=fiscal_year, details={"decision": decision, "count": len(rows),
                                                  "ids": [r.id for r in rows]})
    return rows


def import_control_numbers(session: Session, fiscal_year: int, source: str | Path | bytes, *, decision: str,
                           actor: str, filename: str | None = None) -> ControlImportReport:
    """Set control numbers from a CSV or Excel file (columns department, funding_source, amount); every bad row is
    reported with its row and column, and a file with any bad row sets nothing."""
    data, name = file_bytes(source, filename)
    report = ControlImportReport(source=name)
    table, issues = read_import_table(data, name, CONTROL_FORMAT)
    if table is None:
        report.errors = issues
        return report
    report.rows = len(table)
    settings: list[ControlSetting] = []
    for row_no, raw in table:
        def fail(column: str, reason: str, row_no: int = row_no) -> None:
            issues.append(ImportIssue(row_no, column, reason))
        department = cell_text(raw.get("department"))
        problem = department_problem_during(session, department, date(fiscal_year, 1, 1), date(fiscal_year, 12, 31))
        if not department or problem:
            fail("department", problem or "is missing")
        try:
            funding = parse_funding_source(raw.get("funding_source")).value
        except InvalidBudgetKey as exc:
            fail("funding_source", exc.reason)
            funding = ""
        amount = cell_amount(raw.get("amount"), "amount", fail, required=True)
        if department and funding and amount is not None:
            settings.append(ControlSetting(department, funding, amount))
    if issues:
        CONTROL_FORMAT.sort(issues)
        report.errors = issues
        return report
    try:
        report.set = len(set_control_numbers(session, fiscal_year, settings, decision=decision, actor=actor))
    except CompilationError as exc:
        report.errors = [ImportIssue(1, "key", str(exc))]
    return report


def control_numbers(session: Session, fiscal_year: int, department: str | None = None) -> dict[tuple[str, str], int]:
    """The control numbers in force, ``{(department, funding source): fen}`` (the latest setting of each)."""
    query = select(ControlNumber).where(ControlNumber.fiscal_year == fiscal_year)
    if department is not None:
        query = query.where(ControlNumber.department == department)
    found: dict[tuple[str, str], int] = {}
    for row in session.exec(query.order_by(col(ControlNumber.id))).all():
        found[(row.department, row.funding_source)] = row.amount_fen
    return found
