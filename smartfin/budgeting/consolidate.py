"""Consolidation (一下 汇总): every department's current draft of a round in one workbook and one HTML summary, with
the year-on-year change per department and economic code against this year's budget in force (from the ledger).

Nothing is stored: the figures are summed from the stored drafts each time, so a draft uploaded again shows up in
the next consolidation. The workbook is written by the kernel's spreadsheet writer (text neutralised, money exact).
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel import Session

from rules.budget.classification import codes_for_year
from smartfin.budgeting.controls import control_numbers
from smartfin.budgeting.drafts import BASIC_KIND, current_drafts, draft_amounts
from smartfin.budgeting.history import ledger_history
from smartfin.budgeting.projects import pool_projects
from smartfin.budgeting.rounds import CompilationError, Stage, get_round
from smartfin.budgeting.tables import BudgetDraft
from smartfin.kernel.clock import utc_now
from smartfin.kernel.money import from_fen
from smartfin.kernel.spreadsheet import Percent, Row, xlsx_stream_bytes
from smartfin.ledger.departments import department_names, departments_on
from smartfin.ledger.keys import FundingSource

SOURCES = tuple(s.value for s in FundingSource)


@dataclass(slots=True)
class CodeFigures:
    """A department's (or the hospital's) figures for one economic code, in fen."""

    basic: int = 0
    project: int = 0
    previous: int = 0          # this year's budget in force (the base of the year-on-year change)

    @property
    def total(self) -> int:
        return self.basic + self.project


@dataclass(slots=True)
class DepartmentFigures:
    """One department's draft in the consolidation."""

    department: str
    name: str
    draft: BudgetDraft
    by_source: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_code: dict[str, CodeFigures] = field(default_factory=lambda: defaultdict(CodeFigures))
    projects: list[tuple[str, str, str, int]] = field(default_factory=list)  # project, code, source, fen
    controls: dict[str, int] = field(default_factory=dict)   # control numbers in force by funding source

    @property
    def control_total(self) -> int | None:
        """The department's control numbers summed, or None before the committee set any."""
        return sum(self.controls.values()) if self.controls else None

    @property
    def total(self) -> int:
        return sum(self.by_source.values())

    @property
    def previous(self) -> int:
        return sum(f.previous for f in self.by_code.values())


@dataclass(slots=True)
class Consolidation:
    """All current drafts of a round, summed; ``missing`` are departments in force that sent none."""

    fiscal_year: int
    round: str
    made_at: datetime
    departments: list[DepartmentFigures]
    missing: list[str]
    code_names: dict[str, str]
    project_names: dict[str, str]

    @property
    def total(self) -> int:
        return sum(d.total for d in self.departments)

    def by_code(self) -> dict[str, CodeFigures]:
        """The hospital's figures per economic code."""
        found: dict[str, CodeFigures] = defaultdict(CodeFigures)
        for department in self.departments:
            for code, figures in department.by_code.items():
                whole = found[code]
                whole.basic += figures.basic
                whole.project += figures.project
                whole.previous += figures.previous
        return dict(sorted(found.items()))


def consolidate(session: Session, fiscal_year: int, round_name: str | Stage | None = None) -> Consolidation:
    """Sum the current drafts of ``round_name`` (default: 一上 while the round is at first or consolidation, else
    二上) per department, funding source, economic code and project, beside this year's budget in force."""
    round_ = get_round(session, fiscal_year)
    if round_name is None:
        round_name = Stage.FIRST if Stage(round_.stage) in (Stage.FIRST, Stage.CONSOLIDATION) else Stage.SECOND
    name = Stage(round_name).value
    if name not in (Stage.FIRST, Stage.SECOND):
        raise CompilationError(f"drafts are sent in rounds first (一上) and second (二上), not {name}")
    drafts = current_drafts(session, fiscal_year, name)
    by_id = {d.id: d for d in drafts}
    day = date(fiscal_year, 1, 1)
    names = department_names(session, day)
    figures = {d.id: DepartmentFigures(d.department, names[d.department], d) for d in drafts}
    for draft_id, kind, economic_code, source, project, fen in draft_amounts(
            session, [d.id for d in drafts if d.id is not None]):
        department = figures[draft_id]
        department.by_source[source] += fen
        code = department.by_code[economic_code]
        if kind == BASIC_KIND:
            code.basic += fen
        else:
            code.project += fen
            department.projects.append((project, economic_code, source, fen))
    history = ledger_history(session, fiscal_year)
    by_department = {by_id[i].department: f for i, f in figures.items()}
    for (dept, code), past in history.items():
        if dept in by_department and past.current_budget:
            by_department[dept].by_code[code].previous += past.current_budget
    for (dept, source), fen in control_numbers(session, fiscal_year).items():
        if dept in by_department:
            by_department[dept].controls[source] = fen
    sent = set(by_department)
    missing = sorted(d.code for d in departments_on(session, day) if d.code not in sent)
    return Consolidation(fiscal_year, name, utc_now(), [by_department[d] for d in sorted(by_department)], missing,
                         {c.code: c.name for c in codes_for_year(fiscal_year).values()},
                         {p.code: p.name for p in pool_projects(session, fiscal_year)})


def change_pct(now: int, before: int) -> Decimal | None:
    """Year-on-year change in percent with two decimals; None when there was nothing before."""
    if before == 0:
        return None
    return (Decimal(now - before) * 100 / Decimal(before)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _pct(now: int, before: int) -> Percent | None:
    value = change_pct(now, before)
    return None if value is None else Percent(value)


def consolidation_workbook(result: Consolidation) -> bytes:
    """The consolidation as one workbook: departments, economic codes, department × code (this year's amounts and
    the change against this year's budget, one column per code), projects."""
    y = result.fiscal_year
    department_rows: list[Row] = [
        (d.department, d.name, d.draft.revision, d.draft.uploaded_by,
         *[from_fen(d.by_source.get(s, 0)) for s in SOURCES], from_fen(d.total), from_fen(d.previous),
         from_fen(d.total - d.previous), _pct(d.total, d.previous),
         None if d.control_total is None else from_fen(d.control_total)) for d in result.departments]
    code_rows: list[Row] = [
        (code, result.code_names.get(code, ""), from_fen(f.basic), from_fen(f.project), from_fen(f.total),
         from_fen(f.previous), from_fen(f.total - f.previous), _pct(f.total, f.previous))
        for code, f in result.by_code().items()]
    codes = list(result.by_code())
    totals_matrix: list[Row] = [
        (d.department, d.name, *[from_fen(d.by_code[c].total) if c in d.by_code else None for c in codes])
        for d in result.departments]
    change_matrix: list[Row] = [
        (d.department, d.name, *[_pct(d.by_code[c].total, d.by_code[c].previous) if c in d.by_code else None
                                 for c in codes]) for d in result.departments]
    project_rows: list[Row] = [
        (d.department, project, result.project_names.get(project, ""), code, source, from_fen(fen))
        for d in result.departments for project, code, source, fen in d.projects]
    change = (f"{y - 1}年预算 budget", "增减 change", "增减率 change %")
    return xlsx_stream_bytes([
        ("科室汇总 departments", ["科室 department", "名称 name", "版本 revision", "上报人 uploaded by",
                                *[f"{s}" for s in SOURCES], f"{y}年合计 total", *change, "控制数 control numbers"],
         department_rows),
        ("经济分类汇总 codes", ["经济分类 code", "名称 name", "基本支出 basic", "项目支出 project", f"{y}年合计 total",
                              *change], code_rows),
        (f"科室×经济分类 {y}", ["科室 department", "名称 name", *codes], totals_matrix),
        ("科室×经济分类 增减率 change %", ["科室 department", "名称 name", *codes], change_matrix),
        ("项目 projects", ["科室 department", "项目 project", "项目名称 name", "经济分类 code", "资金来源 funding",
                          "金额 amount"], project_rows),
    ])


def _yuan(fen: int) -> str:
    return f"{from_fen(fen):,.2f}"


def _change_cell(now: int, before: int) -> str:
    value = change_pct(now, before)
    if value is None:
        return '<td class="n">新增 new</td>'
    css = "up" if value > 0 else "down" if value < 0 else ""
    return f'<td class="n {css}">{value:+.2f}%</td>'


def consolidation_html(result: Consolidation) -> str:
    """The consolidation as one HTML page a finance director reads: totals per department and per economic code
    with the year-on-year change, each department's codes folded under it, and the departments still missing."""
    y, e = result.fiscal_year, html.escape
    parts = [
        "<!doctype html><html lang='zh'><head><meta charset='utf-8'>",
        f"<title>{y} 年度预算汇总 {e(result.round)}</title><style>"
        "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:2px 8px}th{background:#f3f3f3}.n{text-align:right}"
        ".up{color:#b00}.down{color:#060}details{margin:.3em 0}</style></head><body>",
        f"<h1>{y} 年度预算汇总 budget consolidation — {'一上' if result.round == 'first' else '二上'}</h1>",
        f"<p>{len(result.departments)} 个科室已上报 departments sent drafts; 合计 total ¥{_yuan(result.total)}; "
        f"{y - 1} 年预算 budget ¥{_yuan(sum(d.previous for d in result.departments))}. "
        f"生成于 made {result.made_at:%Y-%m-%d %H:%M} UTC.</p>",
    ]
    if result.missing:
        parts.append(f"<p><b>未上报 no draft yet:</b> {e(', '.join(result.missing))}</p>")
    parts.append("<h2>科室 departments</h2><table><tr><th>科室</th><th>名称</th>"
                 + "".join(f"<th>{s}</th>" for s in SOURCES)
                 + f"<th>{y} 合计</th><th>{y - 1} 预算</th><th>增减率</th><th>控制数 control</th></tr>")
    for d in result.departments:
        parts.append(f"<tr><td>{e(d.department)}</td><td>{e(d.name)}</td>"
                     + "".join(f'<td class="n">{_yuan(d.by_source.get(s, 0))}</td>' for s in SOURCES)
                     + f'<td class="n">{_yuan(d.total)}</td><td class="n">{_yuan(d.previous)}</td>'
                     + _change_cell(d.total, d.previous)
                     + (f'<td class="n">{_yuan(d.control_total)}</td>' if d.control_total is not None
                        else '<td class="n">—</td>') + "</tr>")
    parts.append("</table><h2>经济分类 economic codes</h2><table><tr><th>编码</th><th>名称</th><th>基本支出</th>"
                 f"<th>项目支出</th><th>{y} 合计</th><th>{y - 1} 预算</th><th>增减率</th></tr>")
    for code, f in result.by_code().items():
        parts.append(f"<tr><td>{e(code)}</td><td>{e(result.code_names.get(code, ''))}</td>"
                     f'<td class="n">{_yuan(f.basic)}</td><td class="n">{_yuan(f.project)}</td>'
                     f'<td class="n">{_yuan(f.total)}</td><td class="n">{_yuan(f.previous)}</td>'
                     + _change_cell(f.total, f.previous) + "</tr>")
    parts.append("</table><h2>科室 × 经济分类 by department and code</h2>")
    for d in result.departments:
        parts.append(f"<details><summary>{e(d.department)} {e(d.name)} — ¥{_yuan(d.total)}</summary><table>"
                     f"<tr><th>编码</th><th>名称</th><th>{y} 合计</th><th>{y - 1} 预算</th><th>增减率</th></tr>")
        for code, f in sorted(d.by_code.items()):
            parts.append(f"<tr><td>{e(code)}</td><td>{e(result.code_names.get(code, ''))}</td>"
                         f'<td class="n">{_yuan(f.total)}</td><td class="n">{_yuan(f.previous)}</td>'
                         + _change_cell(f.total, f.previous) + "</tr>")
        parts.append("</table></details>")
    parts.append("</body></html>")
    return "".join(parts)
