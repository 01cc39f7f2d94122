"""A department's draft budget (一上 proposal, 二上 formal draft): the filled compilation workbook read, checked and
stored — or refused with every problem located by sheet!cell and its reason, and nothing stored.

Refused: a file that is not a compilation workbook, a workbook of another template version, department or year,
label cells changed since the template was made (the layout digest) or headings changed (a moved column),
formulas instead of values, merged or hidden cells, rows or columns in the input sheets, numbers stored as text,
negative amounts or more than two decimals, codes not in the economic classification, projects not in the pool
(or not budgetable) or without performance targets, amounts outside the template's rows, and in round 二上 a
funding source over its control number.

An upload goes to the round the compilation is in (``first`` or ``second``). A second upload of a department's
draft in the same round replaces the first (it is kept, marked ``replaced``); uploading the identical file again
changes nothing. Once the department's draft task is accepted with a draft (``accept_submission``), that draft is
the department's submission: no upload replaces it until the process offers the department's task again
(``reopen_submission``: a failed check of the round, a send-back that reopens the department, a resumed start).
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from posixpath import dirname, join, normpath
from xml.etree import ElementTree

from openpyxl.utils import get_column_letter
from sqlmodel import Session, col, select

from rules.budget.classification import codes_for_year
from smartfin.budgeting.controls import control_numbers
from smartfin.budgeting.projects import BUDGETABLE, pool_projects, projects_named, targets_by_project
from smartfin.budgeting.rounds import CompilationError, Stage, get_round, require_stage
from smartfin.budgeting.stored_cells import BLANK, Rows, StoredCell, StoredWorkbook
from smartfin.budgeting.tables import BudgetDraft, DraftLine
from smartfin.budgeting.workbook import (
    BASIC,
    BASIC_FIRST_INPUT,
    CONTROL_AMOUNT_COLUMN,
    CONTROLS,
    FIRST_ROW,
    HEADER_ROW,
    PROJECT_AMOUNT_COLUMN,
    PROJECT_CODE_COLUMN,
    PROJECT_ECONOMIC_COLUMN,
    PROJECT_HEADINGS,
    PROJECTS,
    SOURCES,
    STAMP,
    Stamp,
    basic_input_headings,
    layout_digest,
)
from smartfin.kernel.clock import HOSPITAL_TZ, stored_instant, utc_now
from smartfin.kernel.money import InvalidAmount, format_yuan, from_fen, parse_amount, to_fen
from smartfin.ledger.departments import department_problem_during
from smartfin.store.audit import record_audit

CURRENT, REPLACED = "current", "replaced"
BASIC_KIND, PROJECT_KIND = "basic", "project"
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}


@dataclass(frozen=True, slots=True)
class DraftProblem:
    """One reason a draft was refused, located as the department sees its workbook (``基本支出!H5``)."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


class DraftRefused(CompilationError):
    """The draft was not stored; ``problems`` lists every reason with its sheet!cell."""

    def __init__(self, problems: list[DraftProblem]) -> None:
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:20]) + ("; …" if len(problems) > 20 else "")
        super().__init__(f"预算草案未接收（{len(problems)} 处问题） / draft refused ({len(problems)} problems): "
                         f"{shown}")


@dataclass(frozen=True, slots=True)
class DraftAmount:
    """One amount read from a draft."""

    kind: str
    economic_code: str
    funding_source: str
    project: str
    amount_fen: int
    cell: str


@dataclass(slots=True)
class ParsedDraft:
    """What a workbook holds, read but not yet checked against the database."""

    stamp: Stamp
    sha256: str
    amounts: list[DraftAmount] = field(default_factory=list)
    basic_codes: list[str] = field(default_factory=list)
    project_codes: list[str] = field(default_factory=list)     # the template's pool rows, in order
    problems: list[DraftProblem] = field(default_factory=list)  # found in the cells, reported with the checks


# ------------------------------------------------------------------------------------------------ reading

def read_draft(data: bytes) -> ParsedDraft:
    """Read a filled compilation workbook: its stamp, its amounts and the problems of its cells (``problems``,
    reported together with those ``check_draft`` finds); ``DraftRefused`` when the file cannot be read as a
    compilation workbook at all.

    Cells, merged ranges and hidden rows and columns are read from the sheets' XML directly
    (``smartfin.budgeting.stored_cells``), one pass per sheet.
    """
    problems: list[DraftProblem] = []
    if data[:4] != b"PK\x03\x04":
        raise DraftRefused([DraftProblem("file", "不是 Excel 工作簿 / not an .xlsx workbook (save it as .xlsx)")])
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        sheets = _sheet_paths(archive)
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError) as exc:
        raise DraftRefused([DraftProblem("file", f"cannot read the workbook: {exc}")]) from None
    missing = [name for name in (STAMP, BASIC, PROJECTS) if name not in sheets]
    if missing:
        raise DraftRefused([DraftProblem("file", f"不是预算编制模板（缺少工作表 {', '.join(missing)}） / not a budget "
                                                 f"compilation workbook: sheet {', '.join(missing)} is missing")])
    for name in (BASIC, PROJECTS):
        problems.extend(_layout_problems(name, archive.read(sheets[name])))
    try:
        book = StoredWorkbook(archive)
        stamp = _stamp(book.rows(sheets[STAMP], 2))
        basic = book.rows(sheets[BASIC], BASIC_FIRST_INPUT + len(SOURCES) - 1)
        projects = book.rows(sheets[PROJECTS], PROJECT_AMOUNT_COLUMN)
    except (KeyError, ValueError, IndexError, zipfile.BadZipFile, ElementTree.ParseError) as exc:
        raise DraftRefused([DraftProblem("file", f"cannot read the workbook: {exc}")]) from None
    parsed = ParsedDraft(stamp=stamp, sha256=hashlib.sha256(data).hexdigest())
    problems.extend(_heading_problems(BASIC, basic, {BASIC_FIRST_INPUT + i: h for i, h in
                                                     enumerate(basic_input_headings(stamp.fiscal_year))}))
    problems.extend(_heading_problems(PROJECTS, projects, dict(enumerate(PROJECT_HEADINGS, start=1))))
    _read_basic(basic, parsed, problems)
    _read_projects(projects, parsed, problems)
    parsed.problems[:0] = problems
    return parsed


def _sheet_paths(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → path of its XML part inside the workbook."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.findall("rel:Relationship", _NS)}
    paths: dict[str, str] = {}
    for sheet in workbook.iterfind("m:sheets/m:sheet", _NS):
        target = targets.get(sheet.get(f"{{{_NS['r']}}}id"), "")
        paths[sheet.get("name", "")] = target.lstrip("/") if target.startswith("/") else \
            normpath(join(dirname("xl/workbook.xml"), target))
    return paths


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+\d+(?::[A-Z]+\d+)?)"')
_ROW = re.compile(rb"<(?:\w+:)?row\s([^>]*)>")
_COL = re.compile(rb"<(?:\w+:)?col\s([^>]*?)/?>")
_ATTR = re.compile(rb'(\w+)="([^"]*)"')


def _layout_problems(sheet: str, xml: bytes) -> Iterator[DraftProblem]:
    """Merged cells, hidden rows and hidden (or zero-width) columns of a sheet, from its XML."""
    for match in _MERGE.finditer(xml):
        yield DraftProblem(f"{sheet}!{match[1].decode()}", "单元格已合并 / merged cells in the input sheet")
    for match in _ROW.finditer(xml):
        attrs = dict(_ATTR.findall(match[1]))
        if attrs.get(b"hidden") in (b"1", b"true") or attrs.get(b"ht") in (b"0", b"0.0"):
            yield DraftProblem(f"{sheet}!{attrs.get(b'r', b'?').decode()}:{attrs.get(b'r', b'?').decode()}",
                               "行被隐藏 / hidden row in the input sheet")
    for match in _COL.finditer(xml):
        attrs = dict(_ATTR.findall(match[1]))
        if attrs.get(b"hidden") in (b"1", b"true") or attrs.get(b"width") in (b"0", b"0.0"):
            first, last = int(attrs.get(b"min", b"1")), int(attrs.get(b"max", b"1"))
            yield DraftProblem(f"{sheet}!{get_column_letter(first)}:{get_column_letter(min(last, 16384))}",
                               "列被隐藏 / hidden column in the input sheet")


def _stamp(rows: Rows) -> Stamp:
    values = {str(cells[1].value): str(cells[2].value) for cells in rows.values()
              if 1 in cells and 2 in cells and cells[1].value is not None and cells[2].value is not None}
    try:
        return Stamp(values["template_version"], values["department"], int(values["fiscal_year"]), values["digest"])
    except (KeyError, ValueError):
        raise DraftRefused([DraftProblem(f"{STAMP}!A1", "版本戳缺失或损坏 / the version stamp is missing or "
                                                        "damaged: download a new template")]) from None


def _heading_problems(sheet: str, rows: Rows, expected: dict[int, str]) -> Iterator[DraftProblem]:
    """Headings that are not the template's: a column was moved or relabelled, so its amounts cannot be placed."""
    found = rows.get(HEADER_ROW, {})
    for column, heading in expected.items():
        value = found.get(column, BLANK).value
        if value != heading:
            yield DraftProblem(f"{sheet}!{get_column_letter(column)}{HEADER_ROW}",
                               f"表头被改动（应为「{heading}」） / the heading was changed: expected {heading!r}, "
                               f"found {value!r}")


def _amount(cell: StoredCell, where: str, problems: list[DraftProblem]) -> int | None:
    """A money cell as fen (None when blank), or a problem recorded."""
    value = cell.value
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if cell.data_type == "f" or (isinstance(value, str) and value.startswith("=")):
        problems.append(DraftProblem(where, "公式而非数值 / a formula instead of a value: type the amount"))
        return None
    if ";;;" in (cell.number_format or ""):
        problems.append(DraftProblem(where, "单元格被隐藏（格式 ;;;） / hidden cell (number format ;;;)"))
        return None
    if isinstance(value, str):
        try:
            parse_amount(value, allow_zero=True, allow_negative=True)
        except InvalidAmount:
            problems.append(DraftProblem(where, f"不是金额 / not an amount: text {value!r}"))
            return None
        problems.append(DraftProblem(where, f"数字以文本存储 / a number stored as text ({value!r}): "
                                            f"enter it as a number"))
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        problems.append(DraftProblem(where, f"不是金额 / not an amount ({value!r})"))
        return None
    try:
        amount = parse_amount(Decimal(repr(value)) if isinstance(value, float) else value,
                              allow_zero=True, allow_negative=True)
    except InvalidAmount as exc:
        problems.append(DraftProblem(where, f"金额无效 / invalid amount: {exc.reason}"))
        return None
    if amount < 0:
        problems.append(DraftProblem(where, f"金额为负 / negative amount {format_yuan(amount)}"))
        return None
    return to_fen(amount)


def _text(cell: StoredCell, where: str, problems: list[DraftProblem]) -> str:
    value = cell.value
    if value is None:
        return ""
    if cell.data_type == "f" or (isinstance(value, str) and value.startswith("=")):
        problems.append(DraftProblem(where, "公式而非数值 / a formula instead of a value"))
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _rows(rows: Rows) -> Iterator[tuple[int, dict[int, StoredCell]]]:
    """Every row from the first data row to the last stored one, empty rows included."""
    for number in range(FIRST_ROW, max(rows, default=0) + 1):
        yield number, rows.get(number, {})


def _cell(cells: dict[int, StoredCell], column: int) -> StoredCell:
    return cells.get(column, BLANK)


def _read_basic(sheet: Rows, parsed: ParsedDraft, problems: list[DraftProblem]) -> None:
    ended = False
    last_input = BASIC_FIRST_INPUT + len(SOURCES) - 1
    for row, cells in _rows(sheet):
        code = _text(_cell(cells, 1), f"{BASIC}!A{row}", problems)
        if not code:
            ended = True
        if ended:
            # below the template's rows nothing may be entered: it would not be read
            for column in range(1, last_input + 1):
                if _cell(cells, column).value not in (None, ""):
                    problems.append(DraftProblem(f"{BASIC}!{get_column_letter(column)}{row}",
                                                 "模板行以外的内容 / a value outside the template's rows"))
            continue
        parsed.basic_codes.append(code)
        for offset, source in enumerate(SOURCES):
            column = BASIC_FIRST_INPUT + offset
            where = f"{BASIC}!{get_column_letter(column)}{row}"
            fen = _amount(_cell(cells, column), where, problems)
            if fen:
                parsed.amounts.append(DraftAmount(BASIC_KIND, code, source.value, "", fen, where))


def _read_projects(sheet: Rows, parsed: ParsedDraft, problems: list[DraftProblem]) -> None:
    in_pool_rows = True
    for row, cells in _rows(sheet):
        code_cell = _cell(cells, PROJECT_CODE_COLUMN)
        code = _text(code_cell, f"{PROJECTS}!A{row}", problems)
        labelled = _cell(cells, 2).value not in (None, "")  # the template's pool rows carry the project's name
        if in_pool_rows and code and labelled:
            parsed.project_codes.append(code)
        else:
            in_pool_rows = False
        economic = _text(_cell(cells, PROJECT_ECONOMIC_COLUMN),
                         f"{PROJECTS}!{get_column_letter(PROJECT_ECONOMIC_COLUMN)}{row}", problems)
        where = f"{PROJECTS}!{get_column_letter(PROJECT_AMOUNT_COLUMN)}{row}"
        fen = _amount(_cell(cells, PROJECT_AMOUNT_COLUMN), where, problems)
        if not fen:
            continue
        if not code:
            problems.append(DraftProblem(f"{PROJECTS}!A{row}", "金额没有项目 / an amount without a project code"))
            continue
        if not economic:
            problems.append(DraftProblem(f"{PROJECTS}!{get_column_letter(PROJECT_ECONOMIC_COLUMN)}{row}",
                                         "缺少经济分类编码 / the economic code of the amount is missing"))
            continue
        # the funding source is the project's; filled in when the draft is checked against the pool
        parsed.amounts.append(DraftAmount(PROJECT_KIND, economic, "", code, fen, where))


# ------------------------------------------------------------------------------------------------ checking

def check_draft(session: Session, parsed: ParsedDraft, *,
                department: str | None = None) -> tuple[str, list[DraftAmount]]:
    """Check a read draft against the round, the classification, the pool and the control numbers.

    Returns the round it belongs to (``first``/``second``) and its amounts with the projects' funding sources;
    ``DraftRefused`` lists every problem, ``CompilationError`` a round that takes no drafts now.
    """
    stamp = parsed.stamp
    round_ = get_round(session, stamp.fiscal_year)
    require_stage(round_, Stage.FIRST, Stage.SECOND, doing="上报预算草案 upload a draft")
    problems: list[DraftProblem] = list(parsed.problems)
    where_stamp = f"{STAMP}!B1"
    if stamp.template_version != round_.template_version:
        problems.append(DraftProblem(where_stamp, f"模板版本 {stamp.template_version} 已过期，当前为 "
                                                  f"{round_.template_version} / a workbook of template version "
                                                  f"{stamp.template_version}; the round uses "
                                                  f"{round_.template_version}: download the current template"))
    if department is not None and stamp.department != department:
        problems.append(DraftProblem(f"{STAMP}!B2", f"这是 {stamp.department} 的工作簿，不是 {department} 的 / the "
                                                    f"workbook is {stamp.department}'s, not {department}'s"))
    problem = department_problem_during(session, stamp.department, date(stamp.fiscal_year, 1, 1),
                                        date(stamp.fiscal_year, 12, 31))
    if problem:
        problems.append(DraftProblem(f"{STAMP}!B2", problem))
    codes = codes_for_year(stamp.fiscal_year)
    unknown_codes = [code for code in parsed.basic_codes if code not in codes]
    for offset, code in enumerate(parsed.basic_codes):
        if code not in codes:
            problems.append(DraftProblem(f"{BASIC}!A{FIRST_ROW + offset}", f"经济分类编码 {code} 不在 "
                                         f"{stamp.fiscal_year} 年分类中 / code {code} is not in the economic "
                                         f"classification of {stamp.fiscal_year}"))
    named = {a.project for a in parsed.amounts if a.kind == PROJECT_KIND}
    pool = {p.code: p for p in projects_named(session, stamp.fiscal_year, named)}
    targets = targets_by_project(session, list(pool.values()))
    amounts: list[DraftAmount] = []
    for amount in parsed.amounts:
        if amount.kind == BASIC_KIND:
            amounts.append(amount)
            continue
        code_cell = f"{PROJECTS}!{get_column_letter(PROJECT_ECONOMIC_COLUMN)}{amount.cell.rsplit('!', 1)[1][1:]}"
        row_cell = f"{PROJECTS}!A{amount.cell.rsplit('!', 1)[1][1:]}"
        project = pool.get(amount.project)
        if amount.economic_code not in codes:
            problems.append(DraftProblem(code_cell, f"经济分类编码 {amount.economic_code} 不在分类中 / code "
                                                    f"{amount.economic_code} is not in the economic classification "
                                                    f"of {stamp.fiscal_year}"))
        if project is None:
            problems.append(DraftProblem(row_cell, f"项目 {amount.project} 不在 {stamp.fiscal_year} 年项目库中 / "
                                                   f"project {amount.project} is not in the pool of "
                                                   f"{stamp.fiscal_year}"))
            continue
        if project.department != stamp.department:
            problems.append(DraftProblem(row_cell, f"项目 {project.code} 属于 {project.department} / project "
                                                   f"{project.code} belongs to {project.department}"))
        elif project.status not in BUDGETABLE:
            problems.append(DraftProblem(row_cell, f"项目 {project.code} 状态为 {project.status}，不能编入预算 / "
                                                   f"project {project.code} is {project.status}: it cannot be "
                                                   f"budgeted"))
        elif not targets.get(project.id or 0):
            problems.append(DraftProblem(row_cell, f"项目 {project.code} 没有绩效目标 / project {project.code} has "
                                                   f"no performance targets"))
        amounts.append(DraftAmount(PROJECT_KIND, amount.economic_code, project.funding_source, project.code,
                                   amount.amount_fen, amount.cell))
    expected = [p.code for p in pool_projects(session, stamp.fiscal_year, stamp.department, budgetable_only=True)]
    digest = layout_digest(stamp.template_version, stamp.department, stamp.fiscal_year, parsed.basic_codes,
                           parsed.project_codes)
    if not unknown_codes and digest != stamp.digest:
        changed = "项目支出 rows" if parsed.project_codes != expected else "基本支出 or 项目支出 label cells"
        problems.append(DraftProblem(f"{STAMP}!B4", f"模板的标签单元格被改动 / the template's labels were changed "
                                                    f"({changed}): download a new template"))
    round_name = Stage(round_.stage).value
    if round_name == Stage.SECOND.value and not problems:
        problems.extend(_over_control(session, stamp, amounts))
    if problems:
        raise DraftRefused(problems)
    return round_name, amounts


def _over_control(session: Session, stamp: Stamp, amounts: list[DraftAmount]) -> list[DraftProblem]:
    """In 二上, each funding source's total must stay within the department's control number (none set = 0)."""
    controls = control_numbers(session, stamp.fiscal_year, stamp.department)
    totals: dict[str, int] = defaultdict(int)
    cells: dict[str, list[str]] = defaultdict(list)
    for amount in amounts:
        totals[amount.funding_source] += amount.amount_fen
        cells[amount.funding_source].append(amount.cell)
    problems = []
    for offset, source in enumerate(SOURCES):
        total = totals.get(source.value, 0)
        allowed = controls.get((stamp.department, source.value), 0)
        if total > allowed:
            shown = ", ".join(cells[source.value][:5]) + (" …" if len(cells[source.value]) > 5 else "")
            problems.append(DraftProblem(
                f"{CONTROLS}!{get_column_letter(CONTROL_AMOUNT_COLUMN)}{FIRST_ROW + offset}",
                f"{source.value} 合计 {format_yuan(from_fen(total))} 超过控制数 {format_yuan(from_fen(allowed))} / "
                f"the {source.value} total {format_yuan(from_fen(total))} exceeds the control number "
                f"{format_yuan(from_fen(allowed))} by {format_yuan(from_fen(total - allowed))} (cells {shown})"))
    return problems


# ------------------------------------------------------------------------------------------------ storing

def upload_draft(session: Session, data: bytes, *, filename: str, uploaded_by: str,
                 department: str | None = None) -> BudgetDraft:
    """Read, check and store a department's draft in the round the compilation is in; the upload endpoint's call.

    ``uploaded_by`` is the authenticated user; ``department``, when given, is the department the uploader acts
    for (the task's), and a workbook of another department is refused. The same file again returns the draft
    already stored; another file replaces it (the earlier one kept as ``replaced``). Raises ``DraftRefused``
    (every problem with its sheet!cell) or ``CompilationError`` (no round, or the round takes no drafts).
    """
    if not uploaded_by.strip():
        raise CompilationError("uploaded_by is missing")
    parsed = read_draft(data)
    round_name, amounts = check_draft(session, parsed, department=department)
    return store_draft(session, parsed, round_name, amounts, filename=filename, uploaded_by=uploaded_by)


def store_draft(session: Session, parsed: ParsedDraft, round_name: str, amounts: list[DraftAmount], *,
                filename: str, uploaded_by: str) -> BudgetDraft:
    """Store a checked draft as the current one of its department and round (see ``upload_draft``)."""
    stamp = parsed.stamp
    get_round(session, stamp.fiscal_year, lock=True)  # uploads of one year queue here
    drafts = list(session.exec(select(BudgetDraft).where(
        BudgetDraft.fiscal_year == stamp.fiscal_year, BudgetDraft.department == stamp.department,
        BudgetDraft.round == round_name).order_by(col(BudgetDraft.revision))).all())
    current = next((d for d in drafts if d.status == CURRENT), None)
    if current is not None and current.sha256 == parsed.sha256:
        return current
    if current is not None and current.accepted_at is not None:
        label = "一上" if round_name == Stage.FIRST.value else "二上"
        submitted = stored_instant(current.accepted_at).astimezone(HOSPITAL_TZ)
        raise CompilationError(
            f"{stamp.department} 的{label}草案（第 {current.revision} 版）已随任务提交，不能再替换；需修改时请在审批中"
            f"退回并重新开启本科室 / {stamp.department}'s {round_name}-round draft (revision {current.revision}) was "
            f"submitted with its task on {submitted:%Y-%m-%d %H:%M} by {current.accepted_by} and cannot "
            f"be replaced; to change it, the budget must be sent back and the department reopened")
    if current is not None:
        current.status = REPLACED
        session.add(current)
    draft = BudgetDraft(fiscal_year=stamp.fiscal_year, department=stamp.department, round=round_name,
                        revision=(drafts[-1].revision + 1) if drafts else 1, status=CURRENT,
                        filename=filename[:255], sha256=parsed.sha256, template_version=stamp.template_version,
                        digest=stamp.digest, line_count=len(amounts),
                        total_fen=sum(a.amount_fen for a in amounts), uploaded_at=utc_now(), uploaded_by=uploaded_by)
    session.add(draft)
    session.flush()
    if amounts:
        session.connection().execute(DraftLine.__table__.insert(), [  # type: ignore[attr-defined]
            {"draft_id": draft.id, "kind": a.kind, "economic_code": a.economic_code,
             "funding_source": a.funding_source, "project": a.project, "amount_fen": a.amount_fen, "cell": a.cell}
            for a in amounts])
    record_audit(session, actor=uploaded_by, action="budget.draft_uploaded", subject_type="budget_draft",
                 subject_id=draft.id or 0, details={
                     "fiscal_year": stamp.fiscal_year, "department": stamp.department, "round": round_name,
                     "revision": draft.revision, "replaces": current.id if current else None, "file": filename,
                     "sha256": parsed.sha256, "total": from_fen(draft.total_fen), "lines": len(amounts)})
    return draft


def accept_submission(session: Session, fiscal_year: int, department: str, round_name: str,
                      accepted_by: str) -> BudgetDraft | None:
    """Mark the department's current draft of the round as its submission (the draft task was accepted with it),
    so that no later upload replaces what the round goes on with; None when no draft is stored. Uploads of the
    year wait on the round's lock, so the draft marked is the one current when the task was accepted."""
    get_round(session, fiscal_year, lock=True)
    draft = current_draft(session, fiscal_year, department, round_name)
    if draft is not None and draft.accepted_at is None:
        draft.accepted_at, draft.accepted_by = utc_now(), accepted_by
        session.add(draft)
    return draft


def reopen_submission(session: Session, fiscal_year: int, department: str, round_name: str, *,
                      actor: str, reason: str) -> BudgetDraft | None:
    """The department's task of the round is offered again: its submitted draft may be replaced until the task is
    accepted anew. Recorded in the audit log (``budget.draft_reopened``) when a submission was open."""
    get_round(session, fiscal_year, lock=True)
    draft = current_draft(session, fiscal_year, department, round_name)
    if draft is None or draft.accepted_at is None:
        return draft
    record_audit(session, actor=actor, action="budget.draft_reopened", subject_type="budget_draft",
                 subject_id=draft.id or 0, details={
                     "fiscal_year": fiscal_year, "department": department, "round": round_name,
                     "revision": draft.revision, "accepted_by": draft.accepted_by, "reason": reason})
    draft.accepted_at, draft.accepted_by = None, None
    session.add(draft)
    return draft


def current_draft(session: Session, fiscal_year: int, department: str, round_name: str) -> BudgetDraft | None:
    """The department's current draft of the round, or None when it has stored none."""
    return session.exec(select(BudgetDraft).where(
        BudgetDraft.fiscal_year == fiscal_year, BudgetDraft.department == department,
        BudgetDraft.round == round_name, BudgetDraft.status == CURRENT)).first()


def current_drafts(session: Session, fiscal_year: int, round_name: str) -> list[BudgetDraft]:
    """The current draft of every department in a round, by department."""
    return list(session.exec(select(BudgetDraft).where(
        BudgetDraft.fiscal_year == fiscal_year, BudgetDraft.round == round_name, BudgetDraft.status == CURRENT)
        .order_by(col(BudgetDraft.department))).all())


def draft_history(session: Session, fiscal_year: int, department: str) -> list[BudgetDraft]:
    """Every upload of a department's drafts in a year, both rounds, oldest first."""
    return list(session.exec(select(BudgetDraft).where(
        BudgetDraft.fiscal_year == fiscal_year, BudgetDraft.department == department)
        .order_by(col(BudgetDraft.id))).all())


def draft_amounts(session: Session, draft_ids: list[int]) -> list[tuple[int, str, str, str, str, int]]:
    """``(draft id, kind, economic code, funding source, project, fen)`` of the given drafts' lines: plain rows for
    consolidation and the issue, which read tens of thousands of them and need no objects."""
    rows: list[tuple[int, str, str, str, str, int]] = []
    columns = (DraftLine.draft_id, DraftLine.kind, DraftLine.economic_code, DraftLine.funding_source,
               DraftLine.project, DraftLine.amount_fen)
    for start in range(0, len(draft_ids), 500):
        rows.extend(tuple(r) for r in session.execute(  # type: ignore[misc]
            select(*columns).where(col(DraftLine.draft_id).in_(draft_ids[start:start + 500]))
            .order_by(col(DraftLine.id))).all())
    return rows


def draft_lines(session: Session, draft_ids: list[int]) -> list[DraftLine]:
    """The lines of the given drafts, in the order they were read."""
    lines: list[DraftLine] = []
    for start in range(0, len(draft_ids), 500):
        lines.extend(session.exec(select(DraftLine).where(col(DraftLine.draft_id).in_(draft_ids[start:start + 500]))
                                  .order_by(col(DraftLine.id))).all())
    return lines

