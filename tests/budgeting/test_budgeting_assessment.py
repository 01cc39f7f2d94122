"""Budget performance assessment on a small case whose every figure was worked out by hand (on SQLite and
PostgreSQL): rates, score parts, grades, the cut of the next control numbers, and the entry of actual values.

The case, this fiscal year (the spending is posted today, so it takes effect today), assessed as of its
31 December (序时进度 100 %):

* CARD: basic line 30218 fiscal ¥100,000, spent ¥90,000; project P2025-01 on 31002 fiscal ¥50,000, spent ¥20,000.
  Department: authorised 150,000, actual 110,000 → execution 73.33 %, balance 26.67 %.
  execution 40 × 73.33/100 = 29.332 → 29.33; balance 20 × (30 − 26.67)/(30 − 5) = 2.664 → 2.66;
  output (设备台数 ≥ 10, actual 8 → 0.8; 完成天数 ≤ 30, actual 40 → 0.75) 25 × 0.775 = 19.375 → 19.38;
  outcome (满意度 ≥ 90, actual 95 → 1) 15 × 1 = 15.00; score 66.37 → 中 fair; below 80 → cut 5 %.
  Project P2025-01: execution 40 % → 16.00, balance 60 % → 0.00, output 19.38, outcome 15.00 → 50.38 差 poor.
* RADI: basic line 30218 own ¥200,000, spent ¥196,000 → 98 %, balance 2 %: 39.20 + 20.00 over the 60 points it
  could earn (no projects) → 98.67 优 excellent; no cut.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from sqlmodel import Session

from rules.budget.assessment import (
    RULES_FILE,
    AssessmentRuleError,
    achievement,
    balance_points,
    execution_points,
    parse_rules,
    rule_on,
)
from smartfin.budgeting import assessment as assessment_module
from smartfin.budgeting.assessment import (
    ActualValue,
    ActualValuesRefused,
    assess,
    assessment_cuts,
    enter_actual_values,
    parse_value_lines,
    read_value_file,
    value_lines,
)
from smartfin.budgeting.assessment_report import assessment_html, assessment_workbook
from smartfin.budgeting.consolidate import consolidate, consolidation_html, consolidation_workbook
from smartfin.budgeting.projects import find_project, import_projects, project_targets
from smartfin.budgeting.rounds import open_round
from smartfin.budgeting.workbook import template_workbook
from smartfin.kernel.clock import hospital_today
from smartfin.ledger import BudgetLineKey, import_budget, record_actual

D = Decimal
YEAR = hospital_today().year
PROJECTS = ("年度,项目编码,项目名称,科室,资金来源,优先级,状态,指标类型,指标维度,指标名称,计量单位,方向,目标值\n"
            f"{YEAR},P2025-01,胸痛中心设备,CARD,fiscal,1,入选,产出指标,数量,设备台数,台,>=,10\n"
            f"{YEAR},P2025-01,胸痛中心设备,CARD,fiscal,1,入选,产出指标,时效,完成天数,天,<=,30\n"
            f"{YEAR},P2025-01,胸痛中心设备,CARD,fiscal,1,入选,效益指标,满意度,满意度,%,>=,90\n")
BUDGET = ("fiscal_year,department,economic_code,funding_source,project,name,budget,effective_from\n"
          f"{YEAR},CARD,30218,fiscal,,专用材料费,100000.00,{YEAR}-01-01\n"
          f"{YEAR},CARD,31002,fiscal,P2025-01,胸痛中心设备,50000.00,{YEAR}-01-01\n"
          f"{YEAR},RADI,30218,own,,专用材料费,200000.00,{YEAR}-01-01\n")


def _spend(session: Session, key: BudgetLineKey, amount: str, number: str) -> None:
    record_actual(session, document_type="voucher", document_no=number, actor="finance", amount=D(amount), key=key)


@pytest.fixture
def year(hospital: Session) -> Session:
    assert import_projects(hospital, PROJECTS.encode(), actor="finance", filename="p.csv").ok
    report = import_budget(hospital, BUDGET.encode(), actor="finance", filename="budget.csv")
    assert report.ok, report.errors
    _spend(hospital, BudgetLineKey(YEAR, "CARD", "30218", "fiscal"), "90000.00", "V1")
    _spend(hospital, BudgetLineKey(YEAR, "CARD", "31002", "fiscal", "P2025-01"), "20000.00", "V2")
    _spend(hospital, BudgetLineKey(YEAR, "RADI", "30218", "own"), "196000.00", "V3")
    hospital.flush()
    return hospital


def _enter(session: Session, values: dict[str, str]) -> None:
    enter_actual_values(session, YEAR, "CARD", [ActualValue(n, "P2025-01", k, v)
                                                 for n, (k, v) in enumerate(values.items(), start=1)], actor="li.na")


def test_the_small_case_scores_as_worked_out_by_hand(year: Session) -> None:
    _enter(year, {"设备台数": "8", "完成天数": "40", "满意度": "95"})
    result = assess(year, YEAR, date(YEAR, 12, 31))
    assert result.progress == D("100.00")
    card, radi = result.departments
    assert (card.key, card.authorised, card.actual, card.execution_rate, card.balance_rate) == (
        "CARD", D("150000.00"), D("110000.00"), D("73.33"), D("26.67"))
    assert [(p.component, p.points, p.most) for p in card.parts] == [
        ("execution", D("29.33"), D(40)), ("balance", D("2.66"), D(20)), ("output", D("19.38"), D(25)),
        ("outcome", D("15.00"), D(15))]
    assert (card.score, card.grade) == (D("66.37"), "中 fair")
    assert (radi.execution_rate, radi.balance_rate, radi.score, radi.grade) == (D("98.00"), D("2.00"), D("98.67"),
                                                                                 "优 excellent")
    assert radi.part("output").points is None and radi.part("output").basis == "无指标 no indicators"
    [project] = result.projects
    assert [p.points for p in project.parts] == [D("16.00"), D("0.00"), D("19.38"), D("15.00")]
    assert (project.execution_rate, project.score, project.grade) == (D("40.00"), D("50.38"), "差 poor")
    assert [(i.indicator, i.achievement) for i in result.indicators] == [
        ("设备台数", D("0.8")), ("完成天数", D("0.75")), ("满意度", D(1))]
    assert result.cuts == {"CARD": D(5)}


def test_indicators_not_entered_earn_nothing(year: Session) -> None:
    card = assess(year, YEAR, date(YEAR, 12, 31)).departments[0]
    assert card.part("output").points == D("0.00") and card.part("outcome").points == D("0.00")
    assert "已填 0 entered" in card.part("output").basis
    assert card.score == D("31.99")   # 29.33 + 2.66


def test_mid_year_execution_is_judged_against_time_progress() -> None:
    rule = rule_on(date(2026, 1, 1))
    # 45 % spent at 50 % of the year: 90 % of the pace → 40 × 0.9; ahead of the pace earns no more than full
    assert execution_points(rule, D("45.00"), D("50.00")) == (D("90.00"), D("36.00"))
    assert execution_points(rule, D("98.00"), D("50.00")) == (D("196.00"), D("40.00"))
    assert balance_points(rule, D("17.50")) == D("10.00") and balance_points(rule, D("-3")) == D("20.00")
    assert achievement(rule, "<=", D(0), D(2)) == D(0) and achievement(rule, ">=", D(10), None) == D(0)


def test_the_cut_of_the_next_control_numbers(year: Session) -> None:
    cuts = assessment_cuts(year, YEAR + 1, as_of=date(YEAR, 12, 31))
    card, radi = cuts["CARD"], cuts["RADI"]
    assert (card.execution_vs_progress, card.cut_percent, card.base_fen) == (D("73.33"), D(5), {"fiscal": 15_000_000})
    assert (card.cut_fen("fiscal"), card.suggested_fen("fiscal")) == (750_000, 14_250_000)
    assert "建议核减 5%" in card.note
    assert (radi.cut_percent, radi.suggested_fen("own")) == (D(0), 20_000_000)
    assert "FIN" not in cuts    # no budget, nothing to cut


def test_the_cut_tiers_of_the_rule() -> None:
    rule = rule_on(date(2026, 1, 1))
    assert [rule.cut_percent(D(x)) for x in ("49.99", "50", "69.99", "70", "79.99", "80", "120")] == [
        D(20), D(10), D(10), D(5), D(5), D(0), D(0)]
    assert rule.cut_percent(None) == D(0)


def test_a_rule_whose_weights_do_not_make_100_is_refused() -> None:
    original = RULES_FILE.read_text(encoding="utf-8")
    text = original.replace("execution: 40", "execution: 45")
    assert text != original
    with pytest.raises(AssessmentRuleError, match="add up to 105"):
        parse_rules(text)


def test_actual_values_from_the_form_lines(year: Session) -> None:
    text = value_lines(year, YEAR, "CARD")
    assert text == "P2025-01 | 设备台数 = \nP2025-01 | 完成天数 = \nP2025-01 | 满意度 = "
    values, issues = parse_value_lines(text.replace("设备台数 = ", "设备台数 = 8").replace("满意度 = ", "满意度 = 95"))
    assert issues == []
    assert enter_actual_values(year, YEAR, "CARD", values, actor="li.na") == 2
    card = find_project(year, YEAR, "P2025-01")
    assert card is not None
    assert [(t.indicator, t.actual_value, t.actual_by) for t in project_targets(year, card.id or 0)] == [
        ("设备台数", "8", "li.na"), ("完成天数", None, None), ("满意度", "95", "li.na")]


def test_bad_actual_values_change_nothing_and_each_is_named(year: Session) -> None:
    values, issues = read_value_file(("项目编码,指标名称,实际值\n"
                                      "P2025-01,设备台数,8\n"
                                      "P2025-01,满意度,很好\n"
                                      "P2025-01,不存在,1\n"
                                      "P2025-01,设备台数,9\n").encode(), "actuals.csv")
    assert issues == []
    with pytest.raises(ActualValuesRefused) as refused:
        enter_actual_values(year, YEAR, "CARD", values, actor="li.na")
    assert [(i.row, i.column) for i in refused.value.issues] == [(3, "actual"), (4, "indicator"), (5, "indicator")]
    assert "'很好' is not a number" in str(refused.value)
    assert "given twice" in str(refused.value)
    # another department may not enter CARD's values
    with pytest.raises(ActualValuesRefused, match="not a target of RADI"):
        enter_actual_values(year, YEAR, "RADI", values[:1], actor="someone")
    card = find_project(year, YEAR, "P2025-01")
    assert card is not None and all(t.actual_value is None for t in project_targets(year, card.id or 0))


def test_the_report_shows_the_hand_figures_in_html_and_excel(year: Session) -> None:
    _enter(year, {"设备台数": "8", "完成天数": "40", "满意度": "95"})
    result = assess(year, YEAR, date(YEAR, 12, 31))
    page = assessment_html(result)
    assert "1 个科室执行低于 80% 序时进度" in page
    assert "<svg" in page and "科室执行率 Execution rate by department" in page
    for text in ("73.33%", "26.67%", "29.33 / 40", "2.66 / 20", "19.38 / 25", "15.00 / 15", "66.37", "中 fair",
                 "核减 cut 5%", "98.67", "优 excellent", "50.38", "75.00%", "li.na"):
        assert text in page, text
    book = openpyxl.load_workbook(io.BytesIO(assessment_workbook(result)))
    assert book.sheetnames == ["科室 departments", "项目 projects", "指标 indicators", "规则 rule"]
    rows = list(book["科室 departments"].iter_rows(values_only=True))
    header, card = rows[0], rows[1]
    assert card[0] == "CARD" and Decimal(str(card[3])) == D("150000") and Decimal(str(card[5])) == D("0.7333")
    assert Decimal(str(card[header.index("得分 score")])) == D("66.37")
    assert Decimal(str(card[header.index("下年核减 cut")])) == D("0.05")


def test_the_cut_shows_in_next_years_template_and_consolidation(year: Session,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # the compilation of next year is made after this year's close: the assessment reads 31 December
    monkeypatch.setattr(assessment_module, "hospital_today", lambda: date(YEAR, 12, 31))
    open_round(year, YEAR + 1, guidance="压减一般性支出", first_deadline=date(YEAR, 12, 31),
               second_deadline=date(YEAR, 12, 31), template_version="T1", actor="finance")
    sheet = openpyxl.load_workbook(io.BytesIO(template_workbook(year, YEAR + 1, "CARD")))["控制数"]
    rows = {sheet[f"A{r}"].value: r for r in range(4, 8)}
    fiscal, own = rows["fiscal"], rows["own"]
    assert Decimal(str(sheet[f"D{fiscal}"].value)) == D("142500")      # 150,000 less 5 %
    assert "建议核减 5%" in sheet[f"E{fiscal}"].value
    assert sheet[f"D{own}"].value is None and sheet[f"C{fiscal}"].value == "未下达 not set"
    radi = openpyxl.load_workbook(io.BytesIO(template_workbook(year, YEAR + 1, "RADI")))["控制数"]
    assert Decimal(str(radi["D5"].value)) == D("200000") and "不核减 no cut" in radi["E5"].value

    result = consolidate(year, YEAR + 1)
    assert result.cuts["CARD"].cut_percent == D(5)
    assert "绩效评价核减" in consolidation_html(result) and "142,500.00" in consolidation_html(result)
    book = openpyxl.load_workbook(io.BytesIO(consolidation_workbook(result)))
    cuts = list(book["绩效核减 assessment cuts"].iter_rows(values_only=True))
    assert [(r[0], r[1], Decimal(str(r[6]))) for r in cuts[1:]] == [("CARD", "fiscal", D("142500")),
                                                                    ("RADI", "own", D("200000"))]
