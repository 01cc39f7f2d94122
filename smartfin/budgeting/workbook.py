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
from dataclasses import dataclass
from datetime import date

from openpyxl.utils import get_column_letter
from sqlmodel import Session

from rules.budget.classification import EconomicCode, codes_for_year
from smartfin.budgeting.controls import control_numbers
from smartfin.budgeting.history import CodeHistory, ledger_history
from smartfin.budgeting.projects import pool_projects, targets_by_project
from smartfin.budgeting.rounds import Stage, get_round
from smartfin.budgeting.tables import BudgetProject, ProjectTarget
from smartfin.kernel.money import from_fen
from smartfin.kernel.spreadsheet import CellValue, FormSheet, InputRange, form_bytes
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


@dataclass(frozen=True, slots=True)
class Stamp:
    """What a workbook says it is: the fields of its ``_stamp`` sheet."""

    template_version: str
    department: str
    fiscal_year: int
    digest: str


def basic_input_headings(fiscal_year: int) -> list[str]:
    """The headings of 基本支出's input columns, one per funding source in ``SOURCES`` order: what tells the
    reader which funding source a column is (checked on upload, so moved columns are refused)."""
    return [f"{fiscal_year} {SOURCE_LABELS[s]}" for s in SOURCES]


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
    name = department_name(session, department, date(fiscal_year, 1, 1))
    digest = layout_digest(round_.template_version, department, fiscal_year, [c.code for c in codes],
                           [p.code for p in projects])

    stamp_text = f"模板版本 {round_.template_version} · {department} · {fiscal_year} · {digest[:12]}"
    cover_rows: list[tuple[str, str]] = [
        ("预算编制 budget compilation", f"{fiscal_year}"), ("科室 department", f"{department} {name}"),
        ("阶段 stage", Stage(round_.stage).label), ("一上截止 first deadline", round_.first_deadline.isoformat()),
        ("二上截止 second deadline", round_.second_deadline.isoformat()), ("版本 stamp", stamp_text),
        ("编制说明 guidance", round_.guidance),
        ("填写 how to fill in", "只在黄色单元格填写金额（元，两位小数，不得为负，不得使用公式）；"
                                "不要插入、合并或隐藏行列。 Fill in amounts in yuan in the yellow cells only: "
                                "no formulas, no negative amounts, "
                                "no inserted, merged or hidden rows or columns."),
    ]
    cover = FormSheet(COVER, [cell for number, (label, value) in enumerate(cover_rows, start=1)
                              for cell in ((f"A{number}", label), (f"B{number}", value))],
                      bold=[f"A{n}" for n in range(1, len(cover_rows) + 1)], widths={"A": 26, "B": 100}, wrap=["B"])
    stamp = FormSheet(STAMP, [cell for number, (key, value) in enumerate(
        (("template_version", round_.template_version), ("department", department),
         ("fiscal_year", str(fiscal_year)), ("digest", digest)), start=1)
        for cell in ((f"A{number}", key), (f"B{number}", value))], very_hidden=True)
    return form_bytes([cover, _basic_sheet(fiscal_year, codes, history, department),
                       _project_sheet(fiscal_year, codes, projects, targets), _control_sheet(controls, department),
                       stamp])


def _headings(title: str, headings: list[str]) -> list[tuple[str, CellValue]]:
    return [("A1", title), ("A2", "黄色单元格为填写区 / yellow cells are for input; amounts in yuan"),
            *[(f"{get_column_letter(column)}{HEADER_ROW}", heading)
              for column, heading in enumerate(headings, start=1)]]


def _bold(headings: list[str]) -> list[str]:
    return ["A1", *[f"{get_column_letter(column)}{HEADER_ROW}" for column in range(1, len(headings) + 1)]]


AMOUNT_ERROR = "请输入不小于 0 的金额（元） / enter an amount in yuan, not negative"


def _basic_sheet(fiscal_year: int, codes: list[EconomicCode], history: dict[tuple[str, str], CodeHistory],
                 department: str) -> FormSheet:
    headings = [h.format(last=fiscal_year - 2, current=fiscal_year - 1) for h in BASIC_HEADINGS]
    headings += basic_input_headings(fiscal_year)
    cells = _headings(f"{fiscal_year} 年度基本支出预算 basic expenditure", headings)
    for offset, code in enumerate(codes):
        row = FIRST_ROW + offset
        figures = history.get((department, code.code), CodeHistory())
        cells += [(f"A{row}", code.code), (f"B{row}", code.name), (f"C{row}", code.category.label),
                  (f"D{row}", from_fen(figures.last_budget)), (f"E{row}", from_fen(figures.last_actual)),
                  (f"F{row}", from_fen(figures.current_budget)), (f"G{row}", from_fen(figures.current_actual))]
    first, last = get_column_letter(BASIC_FIRST_INPUT), get_column_letter(BASIC_FIRST_INPUT + len(SOURCES) - 1)
    inputs = [InputRange(f"{first}{FIRST_ROW}:{last}{FIRST_ROW + len(codes) - 1}", error=AMOUNT_ERROR)]
    return FormSheet(BASIC, cells, inputs, bold=_bold(headings), freeze=f"C{FIRST_ROW}",
                     widths=dict(zip("ABCDEFGHIJK", (14, 30, 24, 16, 16, 16, 18, 18, 18, 18, 18), strict=True)))


def _project_sheet(fiscal_year: int, codes: list[EconomicCode], projects: list[BudgetProject],
                   targets: dict[int, list[ProjectTarget]]) -> FormSheet:
    headings = list(PROJECT_HEADINGS)
    cells = _headings(f"{fiscal_year} 年度项目支出预算 project expenditure (项目库 pool projects only)", headings)
    for offset, project in enumerate(projects):
        row = FIRST_ROW + offset
        count = len(targets.get(project.id or 0, []))
        cells += [(f"A{row}", project.code), (f"B{row}", project.name),
                  (f"C{row}", SOURCE_LABELS[FundingSource(project.funding_source)]), (f"D{row}", project.priority),
                  (f"E{row}", f"{count} 项" if count else "无 none — cannot be budgeted")]
    extra = FIRST_ROW + len(projects)
    last = extra + EXTRA_PROJECT_ROWS - 1
    code_list = f"='{BASIC}'!$A${FIRST_ROW}:$A${FIRST_ROW + len(codes) - 1}"
    code_error = "请选择经济分类编码 / choose an economic classification code"
    inputs = [InputRange(f"F{FIRST_ROW}:F{last}", "list", code_list, code_error),
              InputRange(f"G{FIRST_ROW}:G{last}", error=AMOUNT_ERROR),
              InputRange(f"A{extra}:A{last}", "list", f"=$A${FIRST_ROW}:$A${max(extra - 1, FIRST_ROW)}",
                         "只能选择项目库中的项目 / choose a project of the pool")]
    return FormSheet(PROJECTS, cells, inputs, bold=_bold(headings), freeze=f"C{FIRST_ROW}",
                     widths=dict(zip("ABCDEFG", (16, 36, 18, 10, 22, 16, 18), strict=True)))


def _control_sheet(controls: dict[tuple[str, str], int], department: str) -> FormSheet:
    headings = ["资金来源 funding", "名称 name", "控制数 control number (yuan)"]
    cells = _headings("控制数 control numbers (二上: the draft must stay within them)", headings)
    for offset, source in enumerate(SOURCES):
        row = FIRST_ROW + offset
        fen = controls.get((department, source.value))
        cells += [(f"A{row}", source.value), (f"B{row}", SOURCE_LABELS[source]),
                  (f"C{row}", from_fen(fen) if fen is not None else "未下达 not set")]
    return FormSheet(CONTROLS, cells, bold=_bold(headings), widths={"A": 14, "B": 24, "C": 26})
