"""The budget performance assessment as a finance director reads it: one HTML page with charts (the house style
of ``smartfin.kernel.charts``) and one Excel workbook (``smartfin.kernel.spreadsheet``).

The page opens with the verdict (how many departments are below the execution threshold and will see their
control numbers cut), then the departments' execution against time progress as bars with the threshold marked,
their scores with every part, the projects, and each indicator with its target and actual value. The workbook
holds the same figures, one sheet each, numbers as numbers.
"""

from __future__ import annotations

from decimal import Decimal

from smartfin.budgeting.assessment import LABELS, Assessment, Scored
from smartfin.kernel.charts import AMBER, GREEN, GREY, RED, Bar, bar_chart, cards, esc, legend, page
from smartfin.kernel.money import format_yuan
from smartfin.kernel.spreadsheet import Percent, Row, xlsx_bytes

COMPONENTS = ("execution", "balance", "output", "outcome")


def _pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.2f}%"


def _yuan(value: Decimal | None) -> str:
    return "无预算 no budget" if value is None else f"¥{format_yuan(value)}"


def _score(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _colour(result: Assessment, scored: Scored) -> str:
    ratio = scored.execution_vs_progress
    if ratio is None:
        return GREY
    if ratio < result.rule.execution_threshold:
        return RED
    return GREEN if ratio >= 100 else AMBER


def _table(result: Assessment, rows: list[Scored], first: str) -> str:
    head = (f"<tr><th>{esc(first)}</th><th>名称 name</th><th>预算 authorised</th><th>执行 actual</th>"
            "<th>执行率 rate</th><th>结余率 balance</th>"
            + "".join(f"<th>{esc(LABELS[c])}</th>" for c in COMPONENTS)
            + "<th>得分 score</th><th>等级 grade</th></tr>")
    body = []
    for s in rows:
        parts = "".join(
            f"<td title='{esc(p.basis)}'>{'不计 n/a' if p.points is None else f'{p.points:.2f}'} / {p.most}"
            f"<br><small>{esc(p.basis)}</small></td>" for p in s.parts)
        cut = result.cuts.get(s.key) if first.startswith("科室") else None
        grade = esc(s.grade) + (f"<br><b style='color:{RED}'>核减 cut {cut}%</b>" if cut else "")
        body.append(f"<tr><td>{esc(s.key)}</td><td>{esc(s.name)}</td><td>{_yuan(s.authorised)}</td>"
                    f"<td>{_yuan(s.actual)}</td><td>{_pct(s.execution_rate)}</td><td>{_pct(s.balance_rate)}</td>"
                    f"{parts}<td><b>{_score(s.score)}</b></td><td>{grade}</td></tr>")
    return f"<table>{head}{''.join(body)}</table>"


def assessment_html(result: Assessment) -> str:
    """The assessment as one self-contained HTML page (charts inline, nothing fetched)."""
    rule = result.rule
    below = [d for d in result.departments if d.key in result.cuts]
    scored = [d.score for d in result.departments if d.score is not None]
    mean = sum(scored, Decimal(0)) / len(scored) if scored else None
    verdict = (f"{len(below)} 个科室执行低于 {rule.execution_threshold}% 序时进度，下一年度控制数将核减 / "
               f"{len(below)} department(s) below {rule.execution_threshold}% of the time progress: their next "
               f"control numbers are cut" if below else
               f"所有科室执行均达到 {rule.execution_threshold}% 序时进度 / every department kept to at least "
               f"{rule.execution_threshold}% of the time progress")
    body = [
        f"<p class='verdict'>{esc(verdict)}</p>",
        cards([("序时进度 time progress", _pct(result.progress)), ("评价日 as of", result.as_of.isoformat()),
               ("科室 departments", str(len(result.departments))), ("项目 projects", str(len(result.projects))),
               ("平均得分 mean score", _score(None if mean is None else mean.quantize(Decimal("0.01")))),
               ("核减科室 cut", str(len(below)))]),
        f"<p>评分规则 scoring rule in force from {rule.effective_from.isoformat()}: "
        + "; ".join(f"{esc(LABELS[c])} {rule.weights[c]} 分" for c in COMPONENTS)
        + f". 结余率目标 ≤ {rule.balance_target}%. 核减 cuts: "
        + ", ".join(f"< {t.below}% → {t.cut}%" for t in rule.cuts) + ".</p>",
        "<h2>执行率与序时进度 Execution against time progress</h2>",
        legend([(GREEN, "达到序时进度 on pace"), (AMBER, "落后但未低于阈值 behind, above the threshold"),
                (RED, "低于阈值，将核减 below the threshold: cut"), (GREY, "无预算 no budget")]),
        bar_chart([Bar(f"{d.key} {d.name}", ((d.execution_rate or Decimal(0), _colour(result, d)),),
                       f"{_pct(d.execution_rate)}（进度比 {_pct(d.execution_vs_progress)}）")
                   for d in result.departments],
                  "科室执行率 Execution rate by department",
                  marker=(result.progress * rule.execution_threshold / 100,
                          f"阈值 threshold {rule.execution_threshold}% × 序时进度")),
        "<h2>科室得分 Department scores</h2>",
        bar_chart([Bar(f"{d.key} {d.name}", tuple((p.points or Decimal(0), colour) for p, colour in
                                                  zip(d.parts, ("#1565c0", "#90caf9", "#2e7d32", "#a5d6a7"),
                                                      strict=True)), f"{_score(d.score)} {d.grade}")
                   for d in result.departments], "得分构成 Score by part (执行 · 结余 · 产出 · 效益)"),
        legend([("#1565c0", LABELS["execution"]), ("#90caf9", LABELS["balance"]), ("#2e7d32", LABELS["output"]),
                ("#a5d6a7", LABELS["outcome"])]),
        "<p><small>得分 = 各项得分之和 ÷ 可计分项满分之和 × 100；无预算或无指标的项不计。"
        "Score = points earned over the points of the parts that apply, × 100.</small></p>",
        _table(result, result.departments, "科室 department"),
        "<h2>项目 Projects</h2>",
        _table(result, result.projects, "项目 project") if result.projects else "<p>无项目 no pool projects</p>",
        "<h2>绩效指标 Performance indicators</h2>",
    ]
    if result.indicators:
        rows = "".join(
            f"<tr><td>{esc(i.project)}</td><td>{esc(i.indicator)}</td><td>{esc(i.department)}</td>"
            f"<td>{'产出 output' if i.kind == 'output' else '效益 outcome'}</td>"
            f"<td>{esc(i.direction)} {i.target} {esc(i.unit)}</td>"
            f"<td>{'未填 not entered' if i.actual is None else f'{i.actual} {esc(i.unit)}'}</td>"
            f"<td>{i.achievement * 100:.2f}%</td><td>{esc(i.entered_by or '')}</td></tr>" for i in result.indicators)
        body.append("<table><tr><th>项目 project</th><th>指标 indicator</th><th>科室</th><th>类型 kind</th>"
                    "<th>目标 target</th><th>实际 actual</th><th>完成度 achieved</th><th>填报 by</th></tr>"
                    f"{rows}</table>")
    else:
        body.append("<p>无指标 no indicators</p>")
    title = f"{result.fiscal_year} 年度预算绩效评价 Budget performance assessment"
    return page(title, title, "\n".join(body))


def _rows(result: Assessment, rows: list[Scored], cuts: bool) -> list[Row]:
    out: list[Row] = []
    for s in rows:
        parts: list[Decimal | str | None] = []
        for p in s.parts:
            parts += [p.points, p.basis]
        out.append((s.key, s.name, s.department, s.authorised, s.actual,
                    None if s.execution_rate is None else Percent(s.execution_rate),
                    None if s.execution_vs_progress is None else Percent(s.execution_vs_progress),
                    None if s.balance_rate is None else Percent(s.balance_rate), *parts, s.score, s.grade,
                    *((Percent(result.cuts.get(s.key, Decimal(0))),) if cuts else ())))
    return out


def assessment_workbook(result: Assessment) -> bytes:
    """The assessment as an Excel workbook: departments, projects, indicators and the rule, numbers as numbers."""
    part_heads: list[str] = []
    for c in COMPONENTS:
        part_heads += [f"{LABELS[c]} 得分 points (max {result.rule.weights[c]})", f"{LABELS[c]} 依据 basis"]
    head = ["编码 code", "名称 name", "科室 department", "预算 authorised", "执行 actual", "执行率 rate",
            "执行/序时进度 against progress", "结余率 balance rate", *part_heads, "得分 score", "等级 grade"]
    indicators: list[Row] = [
        (i.department, i.project, i.project_name, i.kind, i.dimension, i.indicator, i.unit, i.direction, i.target,
         i.actual, Percent((i.achievement * 100).quantize(Decimal("0.01"))), i.entered_by)
        for i in result.indicators]
    rule = result.rule
    rule_rows: list[Row] = [("评价年度 fiscal year", str(result.fiscal_year)), ("评价日 as of", result.as_of),
                            ("序时进度 time progress", Percent(result.progress)),
                            ("规则生效 rule effective from", result.rule.effective_from)]
    rule_rows += [(f"权重 weight {LABELS[c]}", rule.weights[c]) for c in COMPONENTS]
    rule_rows += [("结余率目标 balance target %", rule.balance_target), ("结余率零分 balance zero at %",
                                                                     rule.balance_zero_at),
                  ("核减阈值 execution threshold %", rule.execution_threshold)]
    rule_rows += [(f"核减 cut below {t.below}%", t.cut) for t in rule.cuts]
    return xlsx_bytes([
        ("科室 departments", [*head, "下年核减 cut"], _rows(result, result.departments, True)),
        ("项目 projects", head, _rows(result, result.projects, False)),
        ("指标 indicators", ["科室 department", "项目 project", "项目名称 name", "类型 kind", "维度 dimension",
                           "指标 indicator", "单位 unit", "方向 direction", "目标 target", "实际 actual",
                           "完成度 achieved", "填报人 entered by"], indicators),
        ("规则 rule", ["项目 item", "值 value"], rule_rows),
    ])
