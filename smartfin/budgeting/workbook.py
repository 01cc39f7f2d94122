"""The compilation workbook (预算编制模板) of one department and fiscal year: what it contains and where.

Sheets (the names are what departments see; the parser finds everything by them):

* ``说明`` — the year's guidance, deadlines, and the version stamp in plain sight;
* ``基本支出`` — basic expenditure: one row per economic code in force (code, name, category), last year's budget
  and actual, this year's budget and execution to date (read only), then one input column per funding source;
* ``项目支出`` — project expenditure: one row per budgetable pool project of the department (code, name, funding
  source, priority, number of performance targets), input columns economic code and amount; then a few blank
  rows where a project code of the pool may be chosen (a project with more than one economic code);
* ``控制数`` — the department's control numbers per funding source once the budget committee has set them (二上);
* ``_stamp`` — very hidden: template version, department, fiscal year and the layout digest.

Every input cell is unlocked and carries data validation (a decimal ≥ 0, or a list); every other cell is locked
and the sheets are protected, so a department fills in amounts and nothing else. Protection without a password
is a guide for honest users, not a control: the upload checks the stamp, recomputes the digest over the label
cells it reads, and refuses a workbook whose labels were changed.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import Session

from rules.budget.classification import EconomicCode, codes_for_year
from smartfin.budgeting.assessment import AssessmentCut, assessment_cuts
from smartfin.budgeting.controls import control_numbers
from smartfin.budgeting.history import CodeHistory, ledger_history
from smartfin.budgeting.projects import pool_projects, targets_by_project
from smartfin.budgeting.rounds import Stage, get_round
from smartfin.budgeting.tables import BudgetProject
from smartfin.kernel.money import format_yuan, from_fen
from smartfin.kernel.spreadsheet import neutralise
from smartfin.ledger.departments import department_name, department_problem_during
from smartfin.ledger.keys import FundingSource

COVER = "说明"
BASIC = "基本支出"
PROJECTS = "项目支出"
CONTROLS = "控制数"
STAMP = "_stamp"

HEADER_ROW = 3
FIRST_ROW = 4                       # the first data row of every sheet
SOURCES = tuple(FundingSource)      # the order of the funding-source columns
SOURCE_LABELS = {FundingSource.FISCAL: "财政拨款 fiscal", FundingSource.OWN: "自有资金 own",
                 FundingSource.RESEARCH: "科研经费 research", FundingSource.EARMARKED: "专项资金 earmarked"}
# 基本支出: A code, B name, C category, D-G ledger figures, H.. one input column per funding source
BASIC_FIRST_INPUT = 8
BASIC_HEADINGS = ("经济分类编码 code", "名称 name", "类别 category", "{last}年预算 budget", "{last}年执行 actual",
                  "{current}年预算 budget", "{current}年执行至今 actual to date")
# 项目支出: A project code, B name, C funding source, D priority, E targets, F economic code (input), G amount (input)
PROJECT_HEADINGS = ("项目编码 project", "项目名称 name", "资金来源 funding", "优先级 priority", "绩效目标 targets",
                    "经济分类编码 code", "金额 amount (yuan)")
PROJECT_CODE_COLUMN, PROJECT_ECONOMIC_COLUMN, PROJECT_AMOUNT_COLUMN = 1, 6, 7
EXTRA_PROJECT_ROWS = 10
# 控制数: A funding source, B label, C control number
CONTROL_AMOUNT_COLUMN = 3
MONEY_FORMAT = "#,##0.00"

_INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
_BOLD = Font(bold=True)


@dataclass(frozen=True, slots=True)
class Stamp:
    """What a workbook says it is: the fields of its ``_stamp`` sheet."""

    template_version: str
    department: str
    fiscal_year: int
    digest: str


def layout_digest(template_version: str, department: str, fiscal_year: int, basic_codes: list[str],
                  project_codes: list[str]) -> str:
    """sha256 over what identifies a workbook's layout: version, department, year, and the label cells that key
    its input rows (the economic codes of 基本支出, the pool projects of 项目支出) in order."""
    text = "\n".join([template_version, department, str(fiscal_year), ",".join(basic_codes), ",".join(project_codes)])
    return hashlib.sha256(text.encode()).hexdigest()


def template_workbook(session: Session, fiscal_year: int, department: str) -> bytes:
    """The compilation workbook of ``department`` for ``fiscal_year`` as xlsx bytes (see the module docstring).

    Needs the year's round to be open; the department must be in master data (once loaded). The control numbers
    appear once the budget committee has set them.
    """
    round_ = get_round(session, fiscal_year)
    problem = department_problem_during(session, department, date(fiscal_year, 1, 1), date(fiscal_year, 12, 31))
    if problem:
        raise ValueError(problem)
    codes = list(codes_for_year(fiscal_year).values())
    projects = pool_projects(session, fiscal_year, department, budgetable_only=True)
    targets = targets_by_project(session, projects)
    history = ledger_history(session, fiscal_year, department)
    controls = control_numbers(session, fiscal_year, department)
    cut = assessment_cuts(session, fiscal_year, department=department).get(department)
    name = department_name(session, department, date(fiscal_year, 1, 1))
    digest = layout_digest(round_.template_version, department, fiscal_year, [c.code for c in codes],
                           [p.code for p in projects])

    book = Workbook()
    cover = book.active
    assert isinstance(cover, Worksheet)
    cover.title = COVER
    stamp_text = f"模板版本 {round_.template_version} · {department} · {fiscal_year} · {digest[:12]}"
    rows: list[tuple[str, str]] = [
        ("预算编制 budget compilation", f"{fiscal_year}"), ("科室 department", f"{department} {name}"),
        ("阶段 stage", Stage(round_.stage).label), ("一上截止 first deadline", round_.first_deadline.isoformat()),
        ("二上截止 second deadline", round_.second_deadline.isoformat()), ("版本 stamp", stamp_text),
        ("编制说明 guidance", round_.guidance),
        ("填写 how to fill in", "只在黄色单元格填写金额（元，两位小数，不得为负，不得使用公式）；"
                                "不要插入、合并或隐藏行列。 Fill in amounts in yuan in the yellow cells only: "
                                "no formulas, no negative amounts, "
                                "no inserted, merged or hidden rows or columns."),
    ]
    for number, (label, value) in enumerate(rows, start=1):
        cover.cell(row=number, column=1, value=label).font = _BOLD
        cover.cell(row=number, column=2, value=neutralise(value)).alignment = Alignment(wrap_text=True)
    cover.column_dimensions["A"].width = 26
    cover.column_dimensions["B"].width = 100
    cover.protection.sheet = True

    _basic_sheet(book.create_sheet(BASIC), fiscal_year, codes, history, department)
    _project_sheet(book.create_sheet(PROJECTS), fiscal_year, codes, projects, targets)
    _control_sheet(book.create_sheet(CONTROLS), controls, cut)
    stamp = book.create_sheet(STAMP)
    for number, (key, value) in enumerate((("template_version", round_.template_version),
                                           ("department", department), ("fiscal_year", str(fiscal_year)),
                                           ("digest", digest)), start=1):
        stamp.cell(row=number, column=1, value=key)
        stamp.cell(row=number, column=2, value=value)
    stamp.sheet_state = "veryHidden"
    stamp.protection.sheet = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _headings(sheet: Worksheet, title: str, headings: list[str]) -> None:
    sheet.cell(row=1, column=1, value=title).font = Font(bold=True, size=13)
    sheet.cell(row=2, column=1, value="黄色单元格为填写区 / yellow cells are for input; amounts in yuan")
    for column, heading in enumerate(headings, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=column, value=heading)
        cell.font = _BOLD
        cell.alignment = Alignment(wrap_text=True)
    sheet.freeze_panes = sheet.cell(row=FIRST_ROW, column=3)
    sheet.protection.sheet = True


def _amount_validation(sheet: Worksheet) -> DataValidation:
    validation = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                                showErrorMessage=True, errorTitle="金额 amount",
                                error="请输入不小于 0 的金额（元） / enter an amount in yuan, not negative")
    sheet.add_data_validation(validation)
    return validation


def _input(cell: object, validation: DataValidation, money: bool = True) -> None:
    cell.protection = Protection(locked=False)  # type: ignore[attr-defined]
    cell.fill = _INPUT_FILL  # type: ignore[attr-defined]
    if money:
        cell.number_format = MONEY_FORMAT  # type: ignore[attr-defined]
    validation.add(cell)  # type: ignore[arg-type]


def _money(cell: Any, fen: int) -> None:
    """Write fen as an exact number: openpyxl would pass a Decimal through a float (0.69 → 0.6899999999999999),
    so the cell gets the exact digits typed numeric, as the kernel's spreadsheet writer does."""
    cell.value = format_yuan(from_fen(fen))
    cell.data_type = "n"
    cell.number_format = MONEY_FORMAT


def _basic_sheet(sheet: Worksheet, fiscal_year: int, codes: list[EconomicCode],
                 history: dict[tuple[str, str], CodeHistory], department: str) -> None:
    headings = [h.format(last=fiscal_year - 2, current=fiscal_year - 1) for h in BASIC_HEADINGS]
    headings += [f"{fiscal_year} {SOURCE_LABELS[s]}" for s in SOURCES]
    _headings(sheet, f"{fiscal_year} 年度基本支出预算 basic expenditure", headings)
    amounts = _amount_validation(sheet)
    for offset, code in enumerate(codes):
        row = FIRST_ROW + offset
        figures = history.get((department, code.code), CodeHistory())
        for column, value in enumerate((code.code, code.name, code.category.label), start=1):
            sheet.cell(row=row, column=column, value=value)
        for column, fen in enumerate((figures.last_budget, figures.last_actual, figures.current_budget,
                                      figures.current_actual), start=4):
            _money(sheet.cell(row=row, column=column), fen)
        for column in range(BASIC_FIRST_INPUT, BASIC_FIRST_INPUT + len(SOURCES)):
            _input(sheet.cell(row=row, column=column), amounts)
    for column, width in zip("ABCDEFGHIJK", (14, 30, 24, 16, 16, 16, 18, 18, 18, 18, 18), strict=True):
        sheet.column_dimensions[column].width = width


def _project_sheet(sheet: Worksheet, fiscal_year: int, codes: list[EconomicCode], projects: list[BudgetProject],
                   targets: dict[int, list[object]]) -> None:
    _headings(sheet, f"{fiscal_year} 年度项目支出预算 project expenditure (项目库 pool projects only)",
              list(PROJECT_HEADINGS))
    amounts = _amount_validation(sheet)
    code_list = DataValidation(type="list", formula1=f"='{BASIC}'!$A${FIRST_ROW}:$A${FIRST_ROW + len(codes) - 1}",
                               allow_blank=True, showErrorMessage=True, errorTitle="经济分类 code",
                               error="请选择经济分类编码 / choose an economic classification code")
    sheet.add_data_validation(code_list)
    extra_rows = FIRST_ROW + len(projects)
    pool_list = DataValidation(type="list", formula1=f"=$A${FIRST_ROW}:$A${max(extra_rows - 1, FIRST_ROW)}",
                               allow_blank=True, showErrorMessage=True, errorTitle="项目 project",
                               error="只能选择项目库中的项目 / choose a project of the pool")
    sheet.add_data_validation(pool_list)
    for offset, project in enumerate(projects):
        row = FIRST_ROW + offset
        count = len(targets.get(project.id or 0, []))
        values = [project.code, neutralise(project.name), SOURCE_LABELS[FundingSource(project.funding_source)],
                  project.priority, f"{count} 项" if count else "无 none — cannot be budgeted"]
        for column, value in enumerate(values, start=1):
            sheet.cell(row=row, column=column, value=value)
        _input(sheet.cell(row=row, column=PROJECT_ECONOMIC_COLUMN), code_list, money=False)
        _input(sheet.cell(row=row, column=PROJECT_AMOUNT_COLUMN), amounts)
    for row in range(extra_rows, extra_rows + EXTRA_PROJECT_ROWS):
        _input(sheet.cell(row=row, column=PROJECT_CODE_COLUMN), pool_list, money=False)
        _input(sheet.cell(row=row, column=PROJECT_ECONOMIC_COLUMN), code_list, money=False)
        _input(sheet.cell(row=row, column=PROJECT_AMOUNT_COLUMN), amounts)
    for column, width in zip("ABCDEFG", (16, 36, 18, 10, 22, 16, 18), strict=True):
        sheet.column_dimensions[column].width = width


def _control_sheet(sheet: Worksheet, controls: dict[tuple[str, str], int], cut: AssessmentCut | None) -> None:
    _headings(sheet, "控制数 control numbers (二上: the draft must stay within them)",
              ["资金来源 funding", "名称 name", "控制数 control number (yuan)",
               "建议控制数 suggested by last year's assessment (yuan)", "绩效评价 assessment"])
    for offset, source in enumerate(SOURCES):
        row = FIRST_ROW + offset
        sheet.cell(row=row, column=1, value=source.value)
        sheet.cell(row=row, column=2, value=SOURCE_LABELS[source])
        fen = next((amount for (_dept, src), amount in controls.items() if src == source.value), None)
        cell = sheet.cell(row=row, column=CONTROL_AMOUNT_COLUMN)
        if fen is None:
            cell.value = "未下达 not set"
        else:
            _money(cell, fen)
        if cut is not None and cut.base_fen.get(source.value):
            _money(sheet.cell(row=row, column=CONTROL_AMOUNT_COLUMN + 1), cut.suggested_fen(source.value))
            sheet.cell(row=row, column=CONTROL_AMOUNT_COLUMN + 2, value=cut.note)
    for column, width in zip("ABCDE", (14, 24, 26, 30, 60), strict=True):
        sheet.column_dimensions[column].width = width
