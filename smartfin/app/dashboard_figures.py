"""What the finance dashboard shows, read from the project's tables and the engine — and who may see it.

Every figure comes from the code the reports and commands already use, so the page and the paper agree to the
fen: budget execution from :func:`smartfin.ledger.monitor.execution_report` (the monthly budget report), a
line's entries from :func:`smartfin.ledger.journal.line_journal` (``smartfin budget show`` counts the same
journal), reconciliation exceptions from the reconciliation tables, the cash position from the stored forecast
runs and the cost month from its published run.

Who sees what is decided here from the person's engine groups (read from the engine at login) and the
project's records, never from the browser: finance and hospital leadership see every department, every
queue and the finance figures; a department head sees the departments finance recorded her for (the budget
contacts of the compilation) and the queues of her own groups; anyone else only the queues of her groups.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, func, select

from smartfin.cashflow.tables import CashForecastRun
from smartfin.costing.tables import CentreCost, CostRun, RunStatus
from smartfin.insurance.tables import InsuranceException, InsuranceRun
from smartfin.kernel.money import from_fen
from smartfin.ledger.journal import line_journal
from smartfin.ledger.models import BudgetLine, JournalEntry
from smartfin.ledger.monitor import ExecutionReport, execution_report, rate_or_reason
from smartfin.processes.compilation.records import departments_of
from smartfin.reconciliation.models import ReconciliationRun, ReconException

# Groups that see the whole hospital: the finance office and the leadership that approves budgets.
HOSPITAL_WIDE_GROUPS = frozenset({"finance-officer", "chief-accountant", "finance-head", "finance-vp", "president",
                                  "vice-president", "budget-committee"})
DEPARTMENT_GROUPS = frozenset({"dept-head"})


class NotYours(Exception):
    """The person asked for a department, line or figure her groups and records do not let her see."""


@dataclass(frozen=True)
class Viewer:
    """One logged-in person: her engine groups and the departments whose budget she may see."""

    user: str
    groups: frozenset[str]
    departments: frozenset[str] | None  # None: every department

    @property
    def hospital_wide(self) -> bool:
        return self.departments is None

    def may_see(self, department: str) -> bool:
        return self.departments is None or department in self.departments


def viewer_for(session: Session, user: str, groups: frozenset[str]) -> Viewer:
    """Decide once, at login, what ``user`` may see from her engine ``groups`` and the recorded contacts."""
    if groups & HOSPITAL_WIDE_GROUPS:
        return Viewer(user, groups, None)
    if groups & DEPARTMENT_GROUPS:
        return Viewer(user, groups, frozenset(departments_of(session, user)))
    return Viewer(user, groups, frozenset())


@dataclass(frozen=True)
class DepartmentExecution:
    """One department's execution of the year as the budget report computes it."""

    department: str
    name: str
    authorised: Decimal
    committed: Decimal
    actual: Decimal
    available: Decimal
    execution_rate: Decimal | str   # percent, or the words saying why there is none
    behind: bool


@dataclass(frozen=True)
class BudgetPicture:
    fiscal_year: int
    as_of: date
    progress: Decimal               # 序时进度, percent
    departments: list[DepartmentExecution]


def _execution(row: dict[str, Any], key: str, name: str) -> DepartmentExecution:
    return DepartmentExecution(department=str(row[key]), name=name, authorised=row["authorised"],
                               committed=row["committed"], actual=row["actual"], available=row["available"],
                               execution_rate=rate_or_reason(row, "execution_rate"), behind=bool(row["behind"]))


def budget_picture(session: Session, viewer: Viewer, fiscal_year: int, as_of: date) -> BudgetPicture:
    """Execution by department against the time-elapsed progress, for the departments ``viewer`` may see."""
    report = execution_report(session, fiscal_year, as_of)
    rows = [] if report.departments.empty else report.departments.to_dict("records")
    shown = [_execution(row, "department", str(row["department_name"])) for row in rows
             if viewer.may_see(str(row["department"]))]
    return BudgetPicture(fiscal_year, as_of, report.progress, shown)


@dataclass(frozen=True)
class LineExecution:
    line_id: int
    key: str
    name: str
    economic_code: str
    funding_source: str
    figures: DepartmentExecution


def department_lines(session: Session, viewer: Viewer, fiscal_year: int, as_of: date,
                     department: str) -> tuple[str, list[LineExecution]]:
    """The lines of one department (its name, and each line's execution), refused when not the viewer's."""
    if not viewer.may_see(department):
        raise NotYours(f"{viewer.user} may not see the budget of {department}")
    report = execution_report(session, fiscal_year, as_of, department=department)
    ids = {str(line.key): int(line.id or 0) for line in session.exec(
        select(BudgetLine).where(BudgetLine.fiscal_year == fiscal_year, BudgetLine.department == department)).all()}
    rows = [] if report.lines.empty else report.lines.to_dict("records")
    name = str(rows[0]["department_name"]) if rows else department
    return name, [LineExecution(ids[str(row["line"])], str(row["line"]), str(row["name"]), str(row["economic_code"]),
                                str(row["funding_source"]), _execution(row, "line", name)) for row in rows]


def execution_for(session: Session, viewer: Viewer, fiscal_year: int, as_of: date,
                  department: str | None) -> ExecutionReport:
    """The budget report the viewer may take away as a workbook: the hospital's (hospital-wide viewers only) or
    one department's."""
    if department is None and not viewer.hospital_wide:
        raise NotYours(f"{viewer.user} may not see the whole hospital's budget")
    if department is not None and not viewer.may_see(department):
        raise NotYours(f"{viewer.user} may not see the budget of {department}")
    return execution_report(session, fiscal_year, as_of, department=department)


@dataclass(frozen=True)
class LineJournal:
    line: BudgetLine
    entries: list[JournalEntry]


def line_entries(session: Session, viewer: Viewer, line_id: int) -> LineJournal:
    """One line's journal (each document that moved its money), refused when not the viewer's department."""
    line = session.get(BudgetLine, line_id)
    if line is None:
        raise LookupError(f"no budget line {line_id}")
    if not viewer.may_see(line.department):
        raise NotYours(f"{viewer.user} may not see the budget of {line.department}")
    return LineJournal(line, list(line_journal(session, line.key)))


@dataclass(frozen=True)
class Queue:
    """The open tasks offered to one group: how many, how many nobody has claimed, the oldest's age."""

    group: str
    open: int
    unclaimed: int
    oldest_days: int | None


def task_queues(engine: Any, viewer: Viewer, groups: list[str], now: datetime) -> list[Queue]:
    """Open tasks per group: every group for hospital-wide viewers, otherwise only the viewer's own groups.

    ``engine`` is a service-account client (the engine's authorizations would hide other groups' tasks from
    the person herself); ``groups`` are the engine's group ids.
    """
    visible = groups if viewer.hospital_wide else sorted(g for g in groups if g in viewer.groups)
    queues = []
    for group in visible:
        tasks = engine.get("/task", candidateGroup=group, includeAssignedTasks="true") or []
        created = [datetime.fromisoformat(str(t["created"]).replace("Z", "+00:00")) for t in tasks if t.get("created")]
        oldest = min(created, default=None)
        queues.append(Queue(group, len(tasks), sum(1 for t in tasks if not t.get("assignee")),
                            None if oldest is None else (now - oldest).days))
    return queues


@dataclass(frozen=True)
class ExceptionCounts:
    """Reconciliation exceptions by status, for one business day and for its month."""

    kind: str
    today: dict[str, int]
    month: dict[str, int]


def _counts(rows: list[tuple[Any, str]], today: date, period_of: Any) -> tuple[dict[str, int], dict[str, int]]:
    day, month = Counter[str](), Counter[str]()
    for period, status in rows:
        on = period_of(period)
        if on is None:
            continue
        if on == today:
            day[status] += 1
        if (on.year, on.month) == (today.year, today.month):
            month[status] += 1
    return dict(sorted(day.items())), dict(sorted(month.items()))


def _insurance_day(period: str) -> date | None:
    try:
        return date.fromisoformat(period) if len(period) == 10 else date.fromisoformat(period + "-01")
    except ValueError:
        return None


def exception_counts(session: Session, viewer: Viewer, today: date) -> list[ExceptionCounts]:
    """Today's and this month's reconciliation exceptions by status (bank, three-way, medical insurance);
    finance figures, so only hospital-wide viewers get them."""
    if not viewer.hospital_wide:
        return []
    first = today.replace(day=1)
    recon = session.exec(select(ReconciliationRun.kind, ReconciliationRun.business_date, ReconException.status)
                         .join(ReconException, col(ReconException.run_id) == col(ReconciliationRun.id))
                         .where(col(ReconciliationRun.business_date) >= first,
                                col(ReconciliationRun.business_date) <= today)).all()
    out = []
    for kind in sorted({k for k, _, _ in recon}):
        day, month = _counts([(d, s) for k, d, s in recon if k == kind], today, lambda d: d)
        out.append(ExceptionCounts(kind, day, month))
    insurance = session.exec(select(InsuranceRun.period, InsuranceException.status)
                             .join(InsuranceException, col(InsuranceException.run_id) == col(InsuranceRun.id))
                             .where(InsuranceRun.kind == "daily",
                                    col(InsuranceRun.period) >= first.isoformat(),
                                    col(InsuranceRun.period) <= today.isoformat())).all()
    if insurance:
        day, month = _counts([(p, s) for p, s in insurance], today, _insurance_day)
        out.append(ExceptionCounts("insurance-daily", day, month))
    return out


@dataclass(frozen=True)
class CashPosition:
    as_of: date
    opening: Decimal
    minimum: Decimal
    lowest: Decimal
    lowest_on: date
    breach_start: date | None


def cash_position(session: Session, viewer: Viewer) -> CashPosition | None:
    """The latest base forecast: opening balance, the policy minimum, the lowest projected balance (over the
    14 days and the 13 weeks) and the end of the period it falls in."""
    if not viewer.hospital_wide:
        return None
    run = session.exec(select(CashForecastRun).where(CashForecastRun.scenario == "base")
                       .order_by(col(CashForecastRun.as_of).desc()).limit(1)).first()
    periods = [*(run.days if run else []), *(run.weeks if run else [])]
    if run is None or not periods:
        return None
    low = min(periods, key=lambda p: (int(p["closingFen"]), str(p["end"])))
    return CashPosition(run.as_of, from_fen(run.opening_fen), from_fen(run.minimum_fen),
                        from_fen(int(low["closingFen"])), date.fromisoformat(str(low["end"])), run.breach_start)


@dataclass(frozen=True)
class CostMonth:
    month: str
    total: Decimal
    centres: int


def latest_cost_month(session: Session, viewer: Viewer) -> CostMonth | None:
    """The latest published cost month: the hospital's total cost (the sum of direct costs, which allocation
    only moves between centres) and how many centres carry it."""
    if not viewer.hospital_wide:
        return None
    run = session.exec(select(CostRun).where(CostRun.status == RunStatus.PUBLISHED)
                       .order_by(col(CostRun.month).desc(), col(CostRun.id).desc()).limit(1)).first()
    if run is None:
        return None
    total, centres = session.exec(select(func.coalesce(func.sum(CentreCost.direct_fen), 0),
                                         func.count(func.distinct(CentreCost.centre)))
                                  .where(CentreCost.run_id == run.id)).one()
    return CostMonth(run.month, from_fen(int(total)), int(centres))
