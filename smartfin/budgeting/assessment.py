"""Budget performance assessment (预算绩效评价) of a fiscal year, per department and per pool project, and its
feedback into the next compilation.

The figures come from the ledger through the execution report (``smartfin.ledger.monitor``: execution rate =
actual / (budget + adjustments, carry-over lines included), time-elapsed progress, balance rate) and from the
project pool (targets and the actual values departments entered at year end). The scoring rule is the dated
``rules/budget/assessment_rules.yaml``; every score keeps its parts (points, most it could earn, the figure behind
it), so the report shows how it was reached.

Feedback (``assessment_cuts``): for the compilation of year Y, the assessment of Y − 1 (as of today while Y − 1
runs, its year end once it is over) gives each department's execution against progress; below the rule's
threshold the department's control numbers are cut by the rule's tier, from a base of its authorised budget of
Y − 1 per funding source. The compilation workbook and the consolidation show the cut next to the control numbers.

Actual indicator values are entered per department (``enter_actual_values``), from the year-end Tasklist task or a
workbook: all or nothing, each problem named by its line or row and reason, only the department's own projects.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
from sqlmodel import Session

from rules.budget.assessment import (
    AssessmentRule,
    achievement,
    balance_points,
    execution_points,
    indicator_points,
    rule_on,
    total_score,
)
from smartfin.budgeting.projects import pool_projects, record_actual_value, targets_by_project
from smartfin.budgeting.tables import BudgetProject, ProjectTarget
from smartfin.kernel.clock import hospital_today
from smartfin.kernel.import_files import (
    ImportFormat,
    ImportIssue,
    cell_text,
    file_bytes,
    is_blank,
    read_import_table,
)
from smartfin.kernel.money import to_fen
from smartfin.ledger.departments import department_names
from smartfin.ledger.monitor import ExecutionReport, execution_report

LABELS = {"execution": "预算执行 execution", "balance": "结余率 balance", "output": "产出指标 output",
          "outcome": "效益指标 outcome"}


@dataclass(frozen=True, slots=True)
class Part:
    """One component of a score: the points earned, the most it could earn, and the figure it came from."""

    component: str
    points: Decimal | None          # None: not measurable here, left out of the score
    most: Decimal
    basis: str


@dataclass(frozen=True, slots=True)
class IndicatorResult:
    """One performance target with its actual value and how far it was reached."""

    department: str
    project: str
    project_name: str
    kind: str
    dimension: str
    indicator: str
    unit: str
    direction: str
    target: Decimal
    actual: Decimal | None
    achievement: Decimal
    entered_by: str | None


@dataclass(frozen=True, slots=True)
class Scored:
    """The assessment of one department or one project."""

    key: str
    name: str
    department: str
    authorised: Decimal | None      # yuan; None when it has no budget line
    actual: Decimal | None
    execution_rate: Decimal | None  # percent
    execution_vs_progress: Decimal | None
    balance_rate: Decimal | None
    parts: tuple[Part, ...]
    score: Decimal | None
    grade: str

    def part(self, component: str) -> Part:
        return next(p for p in self.parts if p.component == component)


@dataclass(frozen=True)
class Assessment:
    """The assessment of a fiscal year as of a date, with the rule it was scored by."""

    fiscal_year: int
    as_of: date
    progress: Decimal
    rule: AssessmentRule
    departments: list[Scored]
    projects: list[Scored]
    indicators: list[IndicatorResult]
    cuts: dict[str, Decimal] = field(default_factory=dict)   # department → cut percent for the next year


def assessment_day(fiscal_year: int, as_of: date | None = None) -> date:
    """The day an assessment reads the ledger: ``as_of`` when given, else today while the year runs, its 31
    December once it is over (an assessment made in January reads the closed year, not the new one)."""
    if as_of is not None:
        return as_of
    return min(hospital_today(), date(fiscal_year, 12, 31))


def _dec(value: object) -> Decimal | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.2f}%"


def _indicators(session: Session, projects: Sequence[BudgetProject], rule: AssessmentRule) -> list[IndicatorResult]:
    targets = targets_by_project(session, projects)
    found: list[IndicatorResult] = []
    for project in projects:
        for t in targets.get(project.id or 0, []):
            target = Decimal(t.target_value)
            actual = None if t.actual_value is None else Decimal(t.actual_value)
            found.append(IndicatorResult(project.department, project.code, project.name, t.kind, t.dimension,
                                         t.indicator, t.unit, t.direction, target, actual,
                                         achievement(rule, t.direction, target, actual), t.actual_by))
    return found


def _score(rule: AssessmentRule, key: str, name: str, department: str, row: dict[str, object] | None,
           progress: Decimal, indicators: Iterable[IndicatorResult]) -> Scored:
    authorised = actual = rate = balance = ratio = None
    parts: list[Part] = []
    if row is not None:
        authorised, actual = _dec(row["authorised"]), _dec(row["actual"])
        rate, balance = _dec(row["execution_rate"]), _dec(row["balance_rate"])
    if rate is not None and balance is not None:
        ratio, got = execution_points(rule, rate, progress)
        parts.append(Part("execution", got, rule.weights["execution"],
                          f"执行率 {_pct(rate)} / 序时进度 {_pct(progress)} = {_pct(ratio)}"))
        parts.append(Part("balance", balance_points(rule, balance), rule.weights["balance"],
                          f"结余率 {_pct(balance)} (目标 ≤ {rule.balance_target}%, 0 分 ≥ {rule.balance_zero_at}%)"))
    else:
        parts.append(Part("execution", None, rule.weights["execution"], "无预算 no budget"))
        parts.append(Part("balance", None, rule.weights["balance"], "无预算 no budget"))
    chosen = list(indicators)
    for kind in ("output", "outcome"):
        mine = [i for i in chosen if i.kind == kind]
        got = indicator_points(rule, kind, [i.achievement for i in mine])
        entered = sum(1 for i in mine if i.actual is not None)
        basis = ("无指标 no indicators" if not mine else
                 f"{len(mine)} 项指标, 已填 {entered} entered, 平均完成度 "
                 f"{(sum((i.achievement for i in mine), Decimal(0)) * 100 / len(mine)):.2f}%")
        parts.append(Part(kind, got, rule.weights[kind], basis))
    score = total_score(rule, {p.component: p.points for p in parts})
    grade = "无法评价 not assessable" if score is None else rule.grade(score)
    return Scored(key, name, department, authorised, actual, rate, ratio, balance, tuple(parts), score, grade)


def assess(session: Session, fiscal_year: int, as_of: date | None = None,
           rule: AssessmentRule | None = None) -> Assessment:
    """Score every department with budget or pool projects in ``fiscal_year`` and every pool project, by the
    rule in force on the year's 31 December (or ``rule``), reading the ledger as of ``assessment_day``."""
    day = assessment_day(fiscal_year, as_of)
    rule = rule or rule_on(date(fiscal_year, 12, 31))
    report = execution_report(session, fiscal_year, day)
    return _assess(session, fiscal_year, day, rule, report)


def _assess(session: Session, fiscal_year: int, day: date, rule: AssessmentRule,
            report: ExecutionReport) -> Assessment:
    projects = pool_projects(session, fiscal_year)
    indicators = _indicators(session, projects, rule)
    by_department: dict[str, list[IndicatorResult]] = defaultdict(list)
    by_project: dict[str, list[IndicatorResult]] = defaultdict(list)
    for item in indicators:
        by_department[item.department].append(item)
        by_project[item.project].append(item)
    names = department_names(session, day)
    dept_rows = {str(r["department"]): r for r in report.departments.to_dict("records")} \
        if not report.departments.empty else {}
    project_rows = {str(r["project"]): r for r in report.projects.to_dict("records")} \
        if not report.projects.empty else {}
    departments = [_score(rule, code, names[code], code, dept_rows.get(code), report.progress,
                          by_department.get(code, []))
                   for code in sorted(set(dept_rows) | {p.department for p in projects})]
    scored_projects = [_score(rule, p.code, p.name, p.department, project_rows.get(p.code), report.progress,
                              by_project.get(p.code, [])) for p in projects]
    cuts = {d.key: rule.cut_percent(d.execution_vs_progress) for d in departments}
    return Assessment(fiscal_year, day, report.progress, rule, departments, scored_projects, indicators,
                      {k: v for k, v in cuts.items() if v > 0})


# --------------------------------------------------------------------------------- feedback (compilation)

@dataclass(frozen=True, slots=True)
class AssessmentCut:
    """How the assessment of the year before cuts a department's control numbers of the compiled year."""

    department: str
    assessed_year: int
    as_of: date
    execution_vs_progress: Decimal | None
    threshold: Decimal
    cut_percent: Decimal
    base_fen: dict[str, int]        # funding source → authorised budget of the assessed year (fen)

    def cut_fen(self, funding_source: str) -> int:
        """The amount cut off a funding source's base, rounded to the fen half up."""
        base = self.base_fen.get(funding_source, 0)
        return to_fen(Decimal(base) * self.cut_percent / 100 / 100)

    def suggested_fen(self, funding_source: str) -> int:
        """建议控制数: the base less the cut."""
        return self.base_fen.get(funding_source, 0) - self.cut_fen(funding_source)

    @property
    def note(self) -> str:
        """What the workbook and the consolidation print beside the control numbers."""
        if self.cut_percent <= 0:
            return (f"{self.assessed_year} 执行 {_pct(self.execution_vs_progress)} ≥ {self.threshold}%：不核减 "
                    f"no cut")
        return (f"{self.assessed_year} 年执行率/序时进度 {_pct(self.execution_vs_progress)} < {self.threshold}%："
                f"建议核减 {self.cut_percent}% / execution below the threshold: cut {self.cut_percent}%")


def assessment_cuts(session: Session, fiscal_year: int, *, as_of: date | None = None,
                    department: str | None = None) -> dict[str, AssessmentCut]:
    """The assessment's cut of each department's control numbers for compiling ``fiscal_year``: the execution
    of ``fiscal_year − 1`` (as of ``as_of``, default today or its year end) against the rule in force on
    1 January of ``fiscal_year``. Departments without budget in the assessed year are not listed."""
    assessed = fiscal_year - 1
    day = assessment_day(assessed, as_of)
    rule = rule_on(date(fiscal_year, 1, 1))
    report = execution_report(session, assessed, day, department)
    if report.lines.empty:
        return {}
    base: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in report.lines.itertuples():
        base[str(row.department)][str(row.funding_source)] += to_fen(Decimal(row.authorised))
    found: dict[str, AssessmentCut] = {}
    for row in report.departments.to_dict("records"):
        code = str(row["department"])
        if code not in base:
            continue
        rate = _dec(row["execution_rate"])
        ratio = None if rate is None else execution_points(rule, rate, report.progress)[0]
        found[code] = AssessmentCut(code, assessed, day, ratio, rule.execution_threshold, rule.cut_percent(ratio),
                                    dict(base[code]))
    return found


# --------------------------------------------------------------------------------- actual values

VALUE_COLUMNS = ("project", "indicator", "actual")
VALUE_FORMAT = ImportFormat("indicator actual values", VALUE_COLUMNS, VALUE_COLUMNS,
                            {"项目编码": "project", "项目": "project", "指标名称": "indicator", "指标": "indicator",
                             "三级指标": "indicator", "实际值": "actual", "完成值": "actual"})


class ActualValuesRefused(ValueError):
    """Actual values that cannot be entered; ``issues`` name each line or row and the reason. Nothing was
    entered."""

    def __init__(self, issues: list[ImportIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(i) for i in issues))


@dataclass(frozen=True, slots=True)
class ActualValue:
    """One actual value as given: where it was read (line or row), project code, indicator name, the text."""

    row: int
    project: str
    indicator: str
    value: str


def department_targets(session: Session, fiscal_year: int,
                       department: str) -> list[tuple[BudgetProject, ProjectTarget]]:
    """The department's pool projects of the year with their targets, in pool order: what it must report."""
    projects = pool_projects(session, fiscal_year, department)
    targets = targets_by_project(session, projects)
    return [(p, t) for p in projects for t in targets.get(p.id or 0, [])]


LINE_SEPARATOR = " | "


def value_lines(session: Session, fiscal_year: int, department: str) -> str:
    """The form text the department head fills in: one line per indicator, ``project | indicator = value``,
    with the value already entered (if any) after the ``=``."""
    return "\n".join(f"{p.code}{LINE_SEPARATOR}{t.indicator} = {t.actual_value or ''}"
                     for p, t in department_targets(session, fiscal_year, department))


def parse_value_lines(text: str) -> tuple[list[ActualValue], list[ImportIssue]]:
    """Read ``project | indicator = value`` lines (blank lines and lines without a value are skipped)."""
    values: list[ActualValue] = []
    issues: list[ImportIssue] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        head, sep, value = line.rpartition("=")
        if not sep or LINE_SEPARATOR.strip() not in head:
            issues.append(ImportIssue(number, "line", f"{line!r} is not written 'project | indicator = value'"))
            continue
        project, _, indicator = head.partition(LINE_SEPARATOR.strip())
        if value.strip():
            values.append(ActualValue(number, project.strip(), indicator.strip(), value.strip()))
    return values, issues


def read_value_file(source: str | Path | bytes, filename: str | None = None
                    ) -> tuple[list[ActualValue], list[ImportIssue]]:
    """Actual values from a CSV or Excel file (columns project, indicator, actual; Chinese headers accepted)."""
    data, name = file_bytes(source, filename)
    table, issues = read_import_table(data, name, VALUE_FORMAT)
    if table is None:
        return [], issues
    values: list[ActualValue] = []
    for row_no, raw in table:
        project, indicator = cell_text(raw.get("project")), cell_text(raw.get("indicator"))
        if not project:
            issues.append(ImportIssue(row_no, "project", "is missing"))
        if not indicator:
            issues.append(ImportIssue(row_no, "indicator", "is missing"))
        actual = raw.get("actual")
        if is_blank(actual):
            issues.append(ImportIssue(row_no, "actual", "is missing"))
            continue
        text = repr(actual) if isinstance(actual, float) else cell_text(actual)
        if project and indicator:
            values.append(ActualValue(row_no, project, indicator, text))
    return values, issues


def enter_actual_values(session: Session, fiscal_year: int, department: str, values: Sequence[ActualValue], *,
                        actor: str, column: str = "actual") -> int:
    """Enter the department's actual indicator values, all or nothing; returns how many were entered.

    Only indicators of the department's own pool projects of the year (from the project pool's records, not
    from whoever sends the values) are accepted, each at most once, each a number. ``ActualValuesRefused``
    names every problem by its line or row; then nothing was written.
    """
    own = {(p.code, t.indicator) for p, t in department_targets(session, fiscal_year, department)}
    issues: list[ImportIssue] = []
    seen: set[tuple[str, str]] = set()
    for value in values:
        key = (value.project, value.indicator)
        if key not in own:
            issues.append(ImportIssue(value.row, "indicator", f"project {value.project} indicator "
                                      f"{value.indicator!r} is not a target of {department}'s pool projects of "
                                      f"{fiscal_year}"))
        elif key in seen:
            issues.append(ImportIssue(value.row, "indicator", f"project {value.project} indicator "
                                      f"{value.indicator!r} is given twice"))
        seen.add(key)
        if not _is_number(value.value):
            issues.append(ImportIssue(value.row, column, f"{value.value!r} is not a number"))
    if not values and not issues:
        issues.append(ImportIssue(1, column, "no actual value was given"))
    if issues:
        raise ActualValuesRefused(issues)
    savepoint = session.begin_nested()
    try:
        for value in values:
            record_actual_value(session, fiscal_year, value.project, value.indicator, value.value, actor=actor)
        savepoint.commit()
    except Exception:
        savepoint.rollback()
        raise
    return len(values)


def _is_number(text: str) -> bool:
    try:
        number = Decimal(text.strip().rstrip("%％"))
    except ArithmeticError:
        return False
    return number.is_finite()
