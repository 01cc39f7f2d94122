"""The project pool (项目库): the projects a department may budget as project expenditure (项目支出), each with its
priority, status and performance targets (绩效目标), imported from a CSV or Excel file.

File format
-----------
One header row, then one row per performance target; the project's own columns repeat on each of its rows (and
must agree). A project without targets has one row with the target columns empty: it is in the pool, but a draft
may not budget it until targets are imported.

=================  ==================================  ========  ===========================================
column             Chinese aliases                      required  values
=================  ==================================  ========  ===========================================
fiscal_year        年度, 预算年度                        yes       2027
code               项目编码, 项目代码                    yes       project code, e.g. ``P2027-001``
name               项目名称                              yes       free text
department         科室, 部门, 科室编码                  yes       department code, in master data if loaded
funding_source     资金来源, 经费来源                    yes       fiscal/own/research/earmarked or 财政/自有/科研/专项
priority           优先级, 排序                          yes       1 (most urgent) … 99
status             状态, 项目状态                        no        candidate (储备, default) / approved (入选) /
                                                                  rejected (未入选) / completed (完成)
kind               指标类型                              target    output (产出指标) / outcome (效益指标)
dimension          指标维度, 二级指标                    target    output: quantity 数量, quality 质量,
                                                                  timeliness 时效, cost 成本; outcome:
                                                                  social-benefit 社会效益, satisfaction 满意度
indicator          指标名称, 三级指标                    target    free text, unique within the project
unit               计量单位, 单位                        target    e.g. 台, %, 天, 万元
direction          方向, 指标方向                        no        >= (default, at least) or <= (at most)
target             目标值, 指标值                        target    a decimal number, e.g. ``95`` or ``2.5``
=================  ==================================  ========  ===========================================

Rules: every problem is reported with its row and column, and a file with any problem changes nothing. Importing
a project again updates it and replaces its targets; an actual value already entered for an indicator is kept
when the indicator stays, and an indicator with an actual value may not be dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path

from sqlmodel import Session, col, select

from smartfin.budgeting.tables import CODE_MAX, DECIMAL_MAX, NAME_MAX, BudgetProject, ProjectTarget
from smartfin.kernel.clock import utc_now
from smartfin.kernel.import_files import (
    Fail,
    ImportFormat,
    ImportIssue,
    cell_text,
    file_bytes,
    is_blank,
    read_import_table,
)
from smartfin.ledger.departments import department_problem_during
from smartfin.ledger.errors import InvalidBudgetKey
from smartfin.ledger.keys import is_code_text, parse_funding_source
from smartfin.store.audit import record_audit


class ProjectStatus(StrEnum):
    """Where a project stands in the pool; only ``candidate`` and ``approved`` projects may be budgeted."""

    CANDIDATE = "candidate"    # 储备
    APPROVED = "approved"      # 入选
    REJECTED = "rejected"      # 未入选
    COMPLETED = "completed"    # 完成


BUDGETABLE = (ProjectStatus.CANDIDATE, ProjectStatus.APPROVED)


class IndicatorKind(StrEnum):
    """产出指标 (what the project delivers) or 效益指标 (what it achieves)."""

    OUTPUT = "output"
    OUTCOME = "outcome"


DIMENSIONS: dict[IndicatorKind, tuple[str, ...]] = {
    IndicatorKind.OUTPUT: ("quantity", "quality", "timeliness", "cost"),
    IndicatorKind.OUTCOME: ("social-benefit", "satisfaction"),
}
STATUS_ALIASES = {**{s.value: s for s in ProjectStatus}, "储备": ProjectStatus.CANDIDATE,
                  "入选": ProjectStatus.APPROVED, "未入选": ProjectStatus.REJECTED, "完成": ProjectStatus.COMPLETED,
                  "已完成": ProjectStatus.COMPLETED}
KIND_ALIASES = {**{k.value: k for k in IndicatorKind}, "产出": IndicatorKind.OUTPUT, "产出指标": IndicatorKind.OUTPUT,
                "效益": IndicatorKind.OUTCOME, "效益指标": IndicatorKind.OUTCOME, "效果": IndicatorKind.OUTCOME}
DIMENSION_ALIASES = {**{d: d for dims in DIMENSIONS.values() for d in dims},
                     "数量": "quantity", "数量指标": "quantity", "质量": "quality", "质量指标": "quality",
                     "时效": "timeliness", "时效指标": "timeliness", "成本": "cost", "成本指标": "cost",
                     "社会效益": "social-benefit", "社会效益指标": "social-benefit", "social benefit": "social-benefit",
                     "满意度": "satisfaction", "满意度指标": "satisfaction"}
DIRECTION_ALIASES = {">=": ">=", "≥": ">=", "at least": ">=", "不低于": ">=", "<=": "<=", "≤": "<=",
                     "at most": "<=", "不高于": "<="}

PROJECT_COLUMNS = ("fiscal_year", "code", "name", "department", "funding_source", "priority", "status")
TARGET_COLUMNS = ("kind", "dimension", "indicator", "unit", "direction", "target")
COLUMNS = PROJECT_COLUMNS + TARGET_COLUMNS
REQUIRED = ("fiscal_year", "code", "name", "department", "funding_source", "priority")
ALIASES = {
    "年度": "fiscal_year", "预算年度": "fiscal_year", "项目编码": "code", "项目代码": "code", "项目名称": "name",
    "科室": "department", "部门": "department", "科室编码": "department", "资金来源": "funding_source",
    "经费来源": "funding_source", "优先级": "priority", "排序": "priority", "状态": "status", "项目状态": "status",
    "指标类型": "kind", "指标维度": "dimension", "二级指标": "dimension", "指标名称": "indicator",
    "三级指标": "indicator", "计量单位": "unit", "单位": "unit", "方向": "direction", "指标方向": "direction",
    "目标值": "target", "指标值": "target",
}
PROJECT_FORMAT = ImportFormat("project pool", COLUMNS, REQUIRED, ALIASES)


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """One performance target as read from a file."""

    kind: IndicatorKind
    dimension: str
    indicator: str
    unit: str
    direction: str
    target: Decimal


@dataclass(slots=True)
class ProjectSpec:
    """One project as read from a file, with the row it was first read from."""

    row: int
    fiscal_year: int
    code: str
    name: str
    department: str
    funding_source: str
    priority: int
    status: ProjectStatus
    targets: list[TargetSpec] = field(default_factory=list)


@dataclass(slots=True)
class ProjectImportReport:
    """What an import of the project pool did — or, when ``errors`` is not empty, why it did nothing."""

    source: str
    sha256: str
    rows: int = 0
    projects_created: int = 0
    projects_updated: int = 0
    targets: int = 0
    errors: list[ImportIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def import_projects(session: Session, source: str | Path | bytes, *, actor: str,
                    filename: str | None = None) -> ProjectImportReport:
    """Read a project pool file and store its projects and targets, all or nothing.

    The caller's transaction commits; on any error nothing has been written (``report.errors`` says why).
    """
    data, name = file_bytes(source, filename)
    report = ProjectImportReport(source=name, sha256=hashlib.sha256(data).hexdigest())
    table, issues = read_import_table(data, name, PROJECT_FORMAT)
    if table is None:
        report.errors = issues
        return report
    report.rows = len(table)
    specs = _read_projects(table, issues)
    if not issues:
        for spec in specs.values():
            problem = department_problem_during(session, spec.department, date(spec.fiscal_year, 1, 1),
                                                date(spec.fiscal_year, 12, 31))
            if problem:
                issues.append(ImportIssue(spec.row, "department", problem))
    if issues:
        PROJECT_FORMAT.sort(issues)
        report.errors = issues
        return report
    savepoint = session.begin_nested()
    try:
        for spec in specs.values():
            created = _store(session, spec, actor, issues)
            report.projects_created += created
            report.projects_updated += not created
            report.targets += len(spec.targets)
        if issues:
            raise _Refused
        record_audit(session, actor=actor, action="budget.projects_imported", subject_type="budget_project",
                     subject_id=report.sha256[:16], details={"file": name, "rows": report.rows,
                                                             "created": report.projects_created,
                                                             "updated": report.projects_updated,
                                                             "targets": report.targets})
        savepoint.commit()
    except _Refused:
        savepoint.rollback()
        report.errors = issues
        report.projects_created = report.projects_updated = report.targets = 0
    return report


class _Refused(Exception):
    """Raised inside the import's savepoint to undo what was written before a problem was found."""


def _read_projects(table: list[tuple[int, dict[str, object]]],
                   issues: list[ImportIssue]) -> dict[tuple[int, str], ProjectSpec]:
    specs: dict[tuple[int, str], ProjectSpec] = {}
    for row_no, raw in table:
        def fail(column: str, reason: str, row_no: int = row_no) -> None:
            issues.append(ImportIssue(row_no, column, reason))
        before = len(issues)
        spec = _project_fields(row_no, raw, fail)
        target = _target_fields(raw, fail)
        if spec is None or len(issues) > before:
            continue
        known = specs.get((spec.fiscal_year, spec.code))
        if known is None:
            specs[(spec.fiscal_year, spec.code)] = known = spec
        else:
            for column in ("name", "department", "funding_source", "priority", "status"):
                if getattr(known, column) != getattr(spec, column):
                    fail(column, f"differs from row {known.row} of project {spec.code} "
                                 f"({getattr(spec, column)!s} ≠ {getattr(known, column)!s})")
        if target is not None:
            if any(t.indicator == target.indicator for t in known.targets):
                fail("indicator", f"project {spec.code} has indicator {target.indicator!r} twice")
            else:
                known.targets.append(target)
    return specs


def _project_fields(row_no: int, raw: dict[str, object], report: Fail) -> ProjectSpec | None:
    year_text = cell_text(raw.get("fiscal_year"))
    if not year_text.isdigit() or not 2000 <= int(year_text) <= 2100:
        report("fiscal_year", f"must be a year such as 2027 (got {year_text!r})")
    code = cell_text(raw.get("code"))
    if not code:
        report("code", "is missing")
    elif len(code) > CODE_MAX or not is_code_text(code):
        report("code", f"must be at most {CODE_MAX} characters without '/' or line breaks (got {code!r})")
    name = cell_text(raw.get("name"))
    if not name:
        report("name", "is missing")
    elif len(name) > NAME_MAX:
        report("name", f"is longer than {NAME_MAX} characters")
    department = cell_text(raw.get("department"))
    if not department:
        report("department", "is missing")
    elif len(department) > CODE_MAX or not is_code_text(department):
        report("department", f"is not a department code (got {department!r})")
    source = ""
    try:
        source = parse_funding_source(raw.get("funding_source")).value
    except InvalidBudgetKey as exc:
        report("funding_source", exc.reason)
    priority_text = cell_text(raw.get("priority"))
    if not priority_text.isdigit() or not 1 <= int(priority_text) <= 99:
        report("priority", f"must be a whole number from 1 (most urgent) to 99 (got {priority_text!r})")
    status_text = cell_text(raw.get("status")).lower()
    status = ProjectStatus.CANDIDATE
    if status_text:
        if status_text not in STATUS_ALIASES:
            report("status", f"is unknown (use candidate/储备, approved/入选, rejected/未入选, completed/完成; "
                             f"got {status_text!r})")
        else:
            status = STATUS_ALIASES[status_text]
    if not (year_text.isdigit() and code and name and department and source and priority_text.isdigit()):
        return None
    return ProjectSpec(row_no, int(year_text), code, name, department, source, int(priority_text), status)


def _target_fields(raw: dict[str, object], report: Fail) -> TargetSpec | None:
    values = {c: raw.get(c) for c in TARGET_COLUMNS}
    if all(is_blank(v) for c, v in values.items() if c != "direction"):
        return None
    for column in ("kind", "dimension", "indicator", "unit", "target"):
        if is_blank(values[column]):
            report(column, "is missing (a performance target needs kind, dimension, indicator, unit and target)")
    kind_text = cell_text(values["kind"]).lower()
    kind = KIND_ALIASES.get(kind_text)
    if kind_text and kind is None:
        report("kind", f"is unknown (use output/产出指标 or outcome/效益指标; got {kind_text!r})")
    dimension_text = cell_text(values["dimension"]).lower()
    dimension = DIMENSION_ALIASES.get(dimension_text)
    if dimension_text and dimension is None:
        report("dimension", f"is unknown (got {dimension_text!r})")
    elif kind is not None and dimension is not None and dimension not in DIMENSIONS[kind]:
        report("dimension", f"{dimension} is not a dimension of {kind.value} indicators "
                            f"(use {', '.join(DIMENSIONS[kind])})")
    indicator = cell_text(values["indicator"])
    if len(indicator) > NAME_MAX:
        report("indicator", f"is longer than {NAME_MAX} characters")
    unit = cell_text(values["unit"])
    if len(unit) > CODE_MAX:
        report("unit", f"is longer than {CODE_MAX} characters")
    direction_text = cell_text(values["direction"]).lower() or ">="
    direction = DIRECTION_ALIASES.get(direction_text)
    if direction is None:
        report("direction", f"must be >= (at least) or <= (at most), got {direction_text!r}")
    target = _decimal(values["target"])
    if not is_blank(values["target"]) and target is None:
        report("target", f"is not a number (got {cell_text(values['target'])!r})")
    if kind is None or dimension is None or direction is None or target is None or not indicator or not unit:
        return None
    return TargetSpec(kind, dimension, indicator, unit, direction, target)


def _decimal(value: object) -> Decimal | None:
    if is_blank(value) or isinstance(value, bool):
        return None
    text = repr(value) if isinstance(value, float) else cell_text(value).rstrip("%％")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite() or len(str(number)) > DECIMAL_MAX:
        return None
    return number


def _store(session: Session, spec: ProjectSpec, actor: str, issues: list[ImportIssue]) -> bool:
    """Insert or update one project and replace its targets; True when it was created."""
    now = utc_now()
    project = find_project(session, spec.fiscal_year, spec.code)
    created = project is None
    if project is None:
        project = BudgetProject(fiscal_year=spec.fiscal_year, code=spec.code, name=spec.name,
                                department=spec.department, funding_source=spec.funding_source,
                                priority=spec.priority, status=spec.status.value, created_at=now, created_by=actor,
                                updated_at=now, updated_by=actor)
    else:
        project.name, project.department, project.funding_source = spec.name, spec.department, spec.funding_source
        project.priority, project.status = spec.priority, spec.status.value
        project.updated_at, project.updated_by = now, actor
    session.add(project)
    session.flush()
    old = {t.indicator: t for t in project_targets(session, _id(project))}
    new_names = {t.indicator for t in spec.targets}
    for indicator, target in old.items():
        if indicator not in new_names:
            if target.actual_value is not None:
                issues.append(ImportIssue(spec.row, "indicator", f"project {spec.code} indicator {indicator!r} "
                                          f"already has an actual value; it cannot be dropped"))
            session.delete(target)
    session.flush()
    for target in spec.targets:
        kept = old.get(target.indicator)
        row = ProjectTarget(project_id=_id(project), kind=target.kind.value, dimension=target.dimension,
                            indicator=target.indicator, unit=target.unit, direction=target.direction,
                            target_value=str(target.target))
        if kept is not None:
            row = kept
            row.kind, row.dimension, row.unit = target.kind.value, target.dimension, target.unit
            row.direction, row.target_value = target.direction, str(target.target)
        session.add(row)
    session.flush()
    return created


# ------------------------------------------------------------------------------------------------ reading

def find_project(session: Session, fiscal_year: int, code: str) -> BudgetProject | None:
    """The pool's project ``code`` of ``fiscal_year``, or None."""
    return session.exec(select(BudgetProject).where(BudgetProject.fiscal_year == fiscal_year,
                                                    BudgetProject.code == code)).first()


def project_targets(session: Session, project_id: int) -> list[ProjectTarget]:
    """A project's performance targets, in the order they were imported."""
    return list(session.exec(select(ProjectTarget).where(ProjectTarget.project_id == project_id)
                             .order_by(col(ProjectTarget.id))).all())


def pool_projects(session: Session, fiscal_year: int, department: str | None = None,
                  *, budgetable_only: bool = False) -> list[BudgetProject]:
    """The pool of ``fiscal_year`` (one department's, if given) by priority, then code."""
    query = select(BudgetProject).where(BudgetProject.fiscal_year == fiscal_year)
    if department is not None:
        query = query.where(BudgetProject.department == department)
    if budgetable_only:
        query = query.where(col(BudgetProject.status).in_([s.value for s in BUDGETABLE]))
    return list(session.exec(query.order_by(col(BudgetProject.priority), col(BudgetProject.code))).all())


def projects_named(session: Session, fiscal_year: int, codes: set[str]) -> list[BudgetProject]:
    """The pool's projects of ``fiscal_year`` among ``codes`` (a draft's), in one query per 500 codes."""
    wanted = sorted(codes)
    found: list[BudgetProject] = []
    for start in range(0, len(wanted), 500):
        found.extend(session.exec(select(BudgetProject).where(
            BudgetProject.fiscal_year == fiscal_year, col(BudgetProject.code).in_(wanted[start:start + 500]))).all())
    return found


def targets_by_project(session: Session, projects: Sequence[BudgetProject]) -> dict[int, list[ProjectTarget]]:
    """The targets of many projects in one query, by project id (a project without targets maps to [])."""
    ids = [_id(p) for p in projects]
    found: dict[int, list[ProjectTarget]] = {i: [] for i in ids}
    for chunk in range(0, len(ids), 500):
        for target in session.exec(select(ProjectTarget).where(col(ProjectTarget.project_id)
                                                               .in_(ids[chunk:chunk + 500]))
                                   .order_by(col(ProjectTarget.id))).all():
            found[target.project_id].append(target)
    return found


def record_actual_value(session: Session, fiscal_year: int, code: str, indicator: str, value: Decimal | str, *,
                        actor: str) -> ProjectTarget:
    """Enter the actual value of a project's indicator at year end (for the performance assessment)."""
    project = find_project(session, fiscal_year, code)
    if project is None:
        raise ValueError(f"项目库中没有 {fiscal_year} 年度项目 {code} / project {code} of {fiscal_year} "
                         f"is not in the pool")
    target = next((t for t in project_targets(session, _id(project)) if t.indicator == indicator), None)
    if target is None:
        raise ValueError(f"项目 {code} 没有指标 {indicator!r} / project {code} has no indicator {indicator!r}")
    number = _decimal(value)
    if number is None:
        raise ValueError(f"实际值不是数字 / the actual value {value!r} of {indicator!r} is not a number")
    target.actual_value, target.actual_by, target.actual_at = str(number), actor, utc_now()
    session.add(target)
    session.flush()
    record_audit(session, actor=actor, action="budget.project_actual", subject_type="budget_project_target",
                 subject_id=_id(target), details={"project": code, "fiscal_year": fiscal_year,
                                                  "indicator": indicator, "actual": number})
    return target


def _id(row: BudgetProject | ProjectTarget) -> int:
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has not been flushed")
    return row.id
