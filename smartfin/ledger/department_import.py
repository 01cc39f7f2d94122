"""Import department master data from a CSV or Excel file, like the budget: all rows or nothing.

File format
-----------
The budget file's rules (``smartfin.ledger.importer``): one header row, then one row per department
version; CSV in UTF-8 (with or without BOM) or GBK, or ``.xlsx`` (first worksheet); unknown columns refused.

===========  ==========================================  ========  ==============================================
column       Chinese aliases                             required  values
===========  ==========================================  ========  ==============================================
code         编码, 科室编码, 部门编码, 科室代码           yes       ``CARD``; no '/' or line breaks, ≤ 32 characters
name         名称, 科室名称, 部门名称                     yes       心血管内科
name_en      英文名称, 英文名                             no        Cardiology
class        类别, 科室类别, 核算类别                     yes       clinical / medical-technical / medical-auxiliary /
                                                                   administrative, or 临床服务类 / 医疗技术类 /
                                                                   医疗辅助类 / 行政后勤类 (also 临床, 医技, 医辅, 行政)
parent       上级科室, 上级科室编码, 上级编码, 上级部门   no        the parent's code, e.g. ``MED`` for 内科
valid_from   生效日期, 启用日期, 开始日期                 no        first day in force; default: the day of the import
valid_to     失效日期, 截止日期, 结束日期                 no        last day in force; empty = still in force
===========  ==========================================  ========  ==============================================

Rules
-----
* A row is one version of a department. Several rows of one code give its history: each version ends the
  day before the next one begins unless it says otherwise; versions that overlap are refused, and so is the
  same code twice with the same ``valid_from`` (a duplicate).
* Against what is loaded already, for the version in force on the row's ``valid_from``:

  - the same name, English name, class and parent: nothing changes but the end date the row gives
    (a ``valid_to`` closes the department; an empty one reopens it);
  - anything different (a renaming, a move in the tree): that version is closed the day before the row's
    ``valid_from`` and the row opens a new one, so reports on earlier dates keep the old name. A different
    version with the *same* ``valid_from`` is refused: history is not rewritten, a change gets the day it
    takes effect.

  A version that would overlap a later loaded one is refused.
* The parent must be in force on every day its child is, and the tree has no cycles on any date.
* Every rejected row is reported as (row, column, reason) and a file with any rejected row changes nothing;
  importing the same file again changes nothing. Every version opened or closed is in the audit log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from sqlmodel import Session, select

from smartfin.kernel.clock import hospital_today
from smartfin.kernel.import_files import (
    Fail,
    ImportFormat,
    ImportIssue,
    Table,
    cell_date,
    cell_text,
    file_bytes,
    is_blank,
    read_import_table,
)
from smartfin.ledger.departments import (
    CODE_MAX,
    NAME_EN_MAX,
    NAME_MAX,
    Department,
    DepartmentClass,
    parse_department_class,
)
from smartfin.ledger.keys import is_code_text
from smartfin.store.audit import record_audit

COLUMNS = ("code", "name", "name_en", "class", "parent", "valid_from", "valid_to")
REQUIRED = ("code", "name", "class")
ALIASES: dict[str, str] = {
    "编码": "code", "科室编码": "code", "部门编码": "code", "科室代码": "code", "department_code": "code",
    "名称": "name", "科室名称": "name", "部门名称": "name", "中文名称": "name",
    "英文名称": "name_en", "英文名": "name_en", "english_name": "name_en",
    "类别": "class", "科室类别": "class", "部门类别": "class", "核算类别": "class", "department_class": "class",
    "上级科室": "parent", "上级科室编码": "parent", "上级编码": "parent", "上级部门": "parent", "parent_code": "parent",
    "生效日期": "valid_from", "启用日期": "valid_from", "开始日期": "valid_from",
    "失效日期": "valid_to", "截止日期": "valid_to", "结束日期": "valid_to",
}
DEPARTMENT_FORMAT = ImportFormat("department import", COLUMNS, REQUIRED, ALIASES)
SUBJECT_TYPE = "department"
_ADVISORY_LOCK_KEY = 0x5F1_DE97  # any constant: serialises department imports on one PostgreSQL database
ONE_DAY = timedelta(days=1)


@dataclass(slots=True)
class DepartmentImportReport:
    """What a department import did — or, when ``errors`` is not empty, why it did nothing."""

    source: str
    sha256: str
    rows: int = 0
    opened: int = 0        # versions opened (new departments, renamings, moves)
    closed: int = 0        # loaded versions whose last day was set or changed (closings, reopenings)
    unchanged: int = 0     # rows that said what is loaded already
    errors: list[ImportIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed(self) -> bool:
        return self.ok and (self.opened + self.closed) > 0


@dataclass(frozen=True, slots=True)
class _Row:
    """One valid row of the file."""

    row: int
    code: str
    name: str
    name_en: str
    department_class: DepartmentClass
    parent: str | None
    valid_from: date
    valid_to: date | None

    def content(self) -> tuple[str, str, str, str | None]:
        return self.name, self.name_en, self.department_class.value, self.parent


@dataclass(slots=True)
class _Version:
    """A version as it will be after the import: loaded (``stored``) or opened by the file (``row``)."""

    code: str
    name: str
    name_en: str
    department_class: str
    parent: str | None
    valid_from: date
    valid_to: date | None
    stored: Department | None = None
    row: int | None = None  # the file row that opened it or changed its end

    def content(self) -> tuple[str, str, str, str | None]:
        return self.name, self.name_en, self.department_class, self.parent

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)

    def overlaps(self, first: date, last: date | None) -> bool:
        return (last is None or self.valid_from <= last) and (self.valid_to is None or self.valid_to >= first)

    def describe(self) -> str:
        return f"{self.code} {self.name} ({self.valid_from} – {self.valid_to or 'open'})"

    @property
    def ends_differently(self) -> bool:
        return self.stored is not None and self.stored.valid_to != self.valid_to


def import_departments(session: Session, source: str | Path | bytes, *, actor: str, filename: str | None = None,
                       today: date | None = None) -> DepartmentImportReport:
    """Open and close department versions as a CSV/xlsx file lists them, in the caller's transaction, all or nothing.

    Returns the report instead of raising on bad rows, as the budget import does: whoever keeps the file
    wants every problem at once. ``today`` is the day a row without ``valid_from`` takes effect (default:
    the hospital's today).
    """
    data, name = file_bytes(source, filename)
    digest = hashlib.sha256(data).hexdigest()
    report = DepartmentImportReport(source=name, sha256=digest)
    table, issues = read_import_table(data, name, DEPARTMENT_FORMAT)
    report.errors.extend(issues)
    if table is None:
        return report
    report.rows = len(table)
    rows, rejected_codes = _validate_rows(table, today or hospital_today(), report.errors)

    _lock(session)
    state: dict[str, list[_Version]] = {}
    for stored in session.exec(select(Department)).all():
        state.setdefault(stored.code, []).append(_Version(
            stored.code, stored.name, stored.name_en, stored.department_class, stored.parent_code,
            stored.valid_from, stored.valid_to, stored=stored))
    for code_rows in _history(rows, report.errors):
        for row in code_rows:
            _merge(row, state.setdefault(row.code, []), report)
    _check_tree(state, rejected_codes, report.errors)
    if report.errors:
        report.errors[:] = dict.fromkeys(report.errors)  # the same problem found twice is said once
        DEPARTMENT_FORMAT.sort(report.errors)
        return report

    with session.begin_nested():  # one unit: a failure half-way leaves no version behind
        _apply(session, state, actor, report)
        if report.changed:
            record_audit(session, actor=actor, action="department.imported", subject_type="department_import",
                         subject_id=digest[:16], details={
                             "file": name, "sha256": digest, "rows": report.rows, "opened": report.opened,
                             "closed": report.closed, "unchanged": report.unchanged})
    return report


def _lock(session: Session) -> None:
    """Two imports at once would each check overlaps against the other's old view: make the second wait.

    SQLite needs nothing: the product's engines begin every transaction ``IMMEDIATE`` (the write lock).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.connection().exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK_KEY})")


# -------------------------------------------------------------------------------------------- rows

def _validate_rows(table: Table, today: date, issues: list[ImportIssue]) -> tuple[list[_Row], set[str]]:
    """The valid rows, and the codes of rejected rows (their absence must not be reported again as a
    missing parent)."""
    rows: list[_Row] = []
    rejected: set[str] = set()
    seen: dict[tuple[str, date], int] = {}
    for row_no, record in table:
        before = len(issues)

        def fail(column: str, reason: str, row_no: int = row_no) -> None:
            issues.append(ImportIssue(row_no, column, reason))

        code = _code(record.get("code"), "code", fail, required=True)
        name = cell_text(record.get("name"))
        if not name:
            fail("name", "is missing")
        elif len(name) > NAME_MAX:
            fail("name", f"is longer than {NAME_MAX} characters")
        name_en = cell_text(record.get("name_en"))
        if len(name_en) > NAME_EN_MAX:
            fail("name_en", f"is longer than {NAME_EN_MAX} characters")
        department_class = None
        if is_blank(record.get("class")):
            fail("class", "is missing")
        else:
            try:
                department_class = parse_department_class(cell_text(record.get("class")))
            except ValueError as exc:
                fail("class", str(exc))
        parent = _code(record.get("parent"), "parent", fail, required=False)
        if parent and parent == code:
            fail("parent", f"{code} cannot be its own parent")
        start = cell_date(record.get("valid_from"), "valid_from", fail)
        if is_blank(record.get("valid_from")):
            start = today
        end = cell_date(record.get("valid_to"), "valid_to", fail)
        if start and end and end < start:
            fail("valid_to", f"{end} is before valid_from {start}")
        if code and start:
            if (code, start) in seen:
                fail("code", f"department {code} from {start} already appears in row {seen[code, start]}")
            else:
                seen[code, start] = row_no
        if len(issues) == before and department_class is not None and start is not None:
            rows.append(_Row(row_no, code, name, name_en, department_class, parent or None, start, end))
        elif code:
            rejected.add(code)
    return rows, rejected


def _code(value: object, column: str, fail: Fail, *, required: bool) -> str:
    """A department code as the budget keys accept it; the problem reported under ``column``."""
    code = cell_text(value)
    if not code:
        if required:
            fail(column, "is missing")
    elif len(code) > CODE_MAX:
        fail(column, f"is longer than {CODE_MAX} characters")
    elif not is_code_text(code):
        fail(column, f"must not contain '/' or line breaks (got {code!r})")
    return code


def _history(rows: list[_Row], issues: list[ImportIssue]) -> Iterator[list[_Row]]:
    """Each code's rows in date order, each ending the day before the next begins unless it ends earlier."""
    by_code: dict[str, list[_Row]] = {}
    for row in rows:
        by_code.setdefault(row.code, []).append(row)
    for code, code_rows in by_code.items():
        code_rows.sort(key=lambda r: r.valid_from)
        history: list[_Row] = []
        for current in code_rows:
            if history:
                previous = history[-1]
                if previous.valid_to is None:
                    history[-1] = replace(previous, valid_to=current.valid_from - ONE_DAY)
                elif previous.valid_to >= current.valid_from:
                    issues.append(ImportIssue(current.row, "valid_from", (
                        f"版本重叠 / department {code} from {current.valid_from} overlaps row {previous.row} "
                        f"({previous.valid_from} – {previous.valid_to})")))
                    continue
            history.append(current)
        yield history


# ------------------------------------------------------------------------------------------- merge

def _merge(row: _Row, versions: list[_Version], report: DepartmentImportReport) -> None:
    """Fold one row into its department's versions (see the module's rules), or report why it cannot be."""
    covering = next((v for v in versions if v.in_force(row.valid_from)), None)
    if covering is not None and covering.content() == row.content():
        if covering.valid_to == row.valid_to:
            report.unchanged += 1
            return
        clash = _clash(versions, covering.valid_from, row.valid_to, besides=covering)
        if clash is not None:
            report.errors.append(ImportIssue(row.row, "valid_to", f"版本重叠 / department {row.code} until "
                                             f"{row.valid_to or '(open)'} would overlap {clash.describe()}"))
            return
        covering.valid_to, covering.row = row.valid_to, row.row
        return
    if covering is not None and covering.valid_from == row.valid_from:
        report.errors.append(ImportIssue(row.row, "valid_from", (
            f"科室 {row.code} 自 {row.valid_from} 起已是 {covering.name} / department {row.code} from "
            f"{row.valid_from} is already loaded as {covering.name} ({covering.department_class}, parent "
            f"{covering.parent or 'none'}): history is not rewritten — give the change the day it takes effect "
            f"as valid_from")))
        return
    clash = _clash(versions, row.valid_from, row.valid_to, besides=covering)
    if clash is not None:
        report.errors.append(ImportIssue(row.row, "valid_from", f"版本重叠 / department {row.code} from "
                                         f"{row.valid_from} would overlap {clash.describe()}"))
        return
    if covering is not None:  # a renaming or a move: the old version ends the day before
        covering.valid_to, covering.row = row.valid_from - ONE_DAY, row.row
    versions.append(_Version(row.code, row.name, row.name_en, row.department_class.value, row.parent,
                             row.valid_from, row.valid_to, row=row.row))
    versions.sort(key=lambda v: v.valid_from)


def _clash(versions: list[_Version], first: date, last: date | None, *, besides: _Version | None) -> _Version | None:
    return next((v for v in versions if v is not besides and v.overlaps(first, last)), None)


# -------------------------------------------------------------------------------------------- tree

def _first_day_without(versions: list[_Version], first: date, last: date | None) -> date | None:
    """The first day from ``first`` to ``last`` on which none of ``versions`` is in force (None: there is none)."""
    day = first
    for version in sorted(versions, key=lambda v: v.valid_from):
        if version.valid_to is not None and version.valid_to < day:
            continue
        if version.valid_from > day:
            return day
        if version.valid_to is None:
            return None
        day = version.valid_to + ONE_DAY
        if last is not None and day > last:
            return None
    return day if last is None or day <= last else None


def _check_tree(state: dict[str, list[_Version]], rejected_codes: set[str], issues: list[ImportIssue]) -> None:
    """Every parent in force whenever its child is, and no cycle on any day the tree changes."""
    everything = [v for versions in state.values() for v in versions]
    for child in everything:
        if child.parent is None or child.parent in rejected_codes:
            continue
        gap = _first_day_without(state.get(child.parent, []), child.valid_from, child.valid_to)
        if gap is None:
            continue
        if child.row is not None:
            issues.append(ImportIssue(child.row, "parent", f"上级科室 {child.parent} 不存在或在 {gap} 未启用 / parent "
                                      f"{child.parent} is unknown or not in force on {gap}"))
            continue
        for parent in state.get(child.parent, []):  # the file closed the parent under a child it left alone
            if parent.row is not None:
                issues.append(ImportIssue(parent.row, "valid_to", f"科室 {child.code} 在 {gap} 仍以 {child.parent} "
                                          f"为上级科室 / department {child.code} still has {child.parent} as its "
                                          f"parent on {gap}"))
    days = {v.valid_from for v in everything} | {v.valid_to + ONE_DAY for v in everything if v.valid_to}
    reported: set[tuple[int, tuple[str, ...]]] = set()  # each cycle once per row, on the first day it exists
    for day in sorted(days):
        in_force = {v.code: v for v in everything if v.in_force(day)}
        for cycle in _cycles({code: v.parent for code, v in in_force.items()}):
            path = " → ".join([*cycle, cycle[0]])
            for code in cycle:
                row = in_force[code].row
                if row is not None and (row, tuple(cycle)) not in reported:
                    reported.add((row, tuple(cycle)))
                    issues.append(ImportIssue(row, "parent", f"上级科室形成循环 / the department tree has a cycle "
                                              f"on {day}: {path}"))


def _cycles(parent_of: dict[str, str | None]) -> list[list[str]]:
    """Each cycle of the parent relation once, starting at its smallest code."""
    found: dict[tuple[str, ...], list[str]] = {}
    for start in parent_of:
        path: list[str] = []
        code: str | None = start
        while code is not None and code in parent_of and code not in path:
            path.append(code)
            code = parent_of[code]
        if code is not None and code in path:
            cycle = path[path.index(code):]
            first = cycle.index(min(cycle))
            rotated = cycle[first:] + cycle[:first]
            found[tuple(rotated)] = rotated
    return list(found.values())


# ------------------------------------------------------------------------------------------- apply

def _apply(session: Session, state: dict[str, list[_Version]], actor: str, report: DepartmentImportReport) -> None:
    """Write what the merge decided: first the ends of loaded versions, then the new versions; each audited."""
    everything = [v for code in sorted(state) for v in state[code]]
    for version in everything:
        if version.stored is None or not version.ends_differently:
            continue
        stored = version.stored
        before = stored.valid_to
        stored.valid_to = version.valid_to
        session.add(stored)
        record_audit(session, actor=actor, action="department.closed" if version.valid_to else "department.reopened",
                     subject_type=SUBJECT_TYPE, subject_id=stored.code, details={
                         "name": stored.name, "valid_from": stored.valid_from, "valid_to_before": before,
                         "valid_to": version.valid_to, "row": version.row, "file": report.source})
        report.closed += 1
    session.flush()
    for version in everything:
        if version.stored is not None:
            continue
        session.add(Department(code=version.code, name=version.name, name_en=version.name_en,
                               department_class=version.department_class, parent_code=version.parent,
                               valid_from=version.valid_from, valid_to=version.valid_to, created_by=actor))
        record_audit(session, actor=actor, action="department.created", subject_type=SUBJECT_TYPE,
                     subject_id=version.code, details={
                         "name": version.name, "name_en": version.name_en, "class": version.department_class,
                         "parent": version.parent, "valid_from": version.valid_from, "valid_to": version.valid_to,
                         "row": version.row, "file": report.source})
        report.opened += 1
    session.flush()
