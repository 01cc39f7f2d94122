"""The department cost page and the month's workbook, rendered from real result frames (tests/costing/sample_month)."""

from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal

import openpyxl
import pandas as pd

from smartfin.costing.model import INDICATOR_COLUMNS, MonthResult
from smartfin.costing.report import NO_DATA, department_report_html, month_workbook, yuan
from tests.costing import sample_month as s
from tests.support.workbooks import table_rows

SHEETS = ["成本中心 Centres", "科室成本 Centre costs", "分摊矩阵 Allocation matrix", "单位成本 Unit costs",
          "项目成本 Item costs", "病种成本 Group costs", "病例成本 Case costs", "成本指标 Indicators"]


def _visible_text(page: str) -> str:
    return re.sub(r"<[^>]+>", " ", page)


def assert_no_none_or_nan(page: str) -> None:
    text = _visible_text(page)
    assert "None" not in text and not re.search(r"\bnan\b", text, re.I), text
    assert "None" not in page and not re.search(r"\bnan\b", page, re.I)


def test_page_shows_the_departments_figures_to_the_fen():
    page = department_report_html(**s.Sample().page_args("CARD"))
    assert "心血管内科" in page and "（CARD）" in page and "2031-10" in page
    # total = direct 423,456.78 + allocated 101,111.11, as the result's fen have it
    assert s.total_fen("CARD") == 52_456_789
    assert "¥524,567.89" in page and "¥423,456.78" in page and "¥101,111.11" in page
    assert "¥123,456.78" in page                            # the drugs, a direct cost
    assert "¥356,111.11" in page                            # personnel: direct 300,000.00 + allocated 56,111.11
    assert "床日成本 cost per bed-day" in page and "¥524.57" in page
    assert_no_none_or_nan(page)


def test_page_draws_its_charts_inline():
    page = department_report_html(**s.Sample().page_args("CARD"))
    svgs = re.findall(r"<svg .*?</svg>", page, re.S)
    titles = [re.search(r'aria-label="([^"]*)"', svg).group(1) for svg in svgs]  # type: ignore[union-attr]
    assert any("Cost structure" in t for t in titles)
    assert any("Where the allocated cost came from" in t for t in titles)
    assert any("Total cost, last 12 months" in t for t in titles)
    assert any("Cost per bed-day, last 12 months" in t for t in titles)
    assert any("against peers" in t for t in titles)
    # self-contained: nothing fetched from anywhere
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page) and "<script" not in page
    # the structure bars are stacked: personnel has a direct and an allocated part
    structure = next(svg for svg in svgs if "Cost structure" in svg)
    assert structure.count("<rect") >= 4 + 5


def test_page_says_where_the_allocated_cost_came_from_by_stage_and_source():
    page = department_report_html(**s.Sample().page_args("CARD"))
    section = page.split("Where the allocated cost came from</h2>")[1].split("<h2>")[0]
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", section)
    assert ("行政后勤类分摊 administrative and logistics", "院办 (ADM)", "¥40,000.00") in rows
    assert ("医疗辅助类分摊 medical auxiliary", "消毒供应中心 (CSSD)", "¥15,000.00") in rows
    assert ("医疗技术类分摊 medical technical", "放射科 (RAD)", "¥46,111.11") in rows
    assert "<th>合计 Total</th><th></th><th>¥101,111.11</th>" in section


def test_page_compares_unit_cost_with_peers_of_the_same_class_and_service():
    page = department_report_html(**s.Sample().page_args("CARD"))
    section = page.split("Unit cost against peers</h2>")[1].split("<h2>")[0]
    assert "神经内科" in section and "¥323.61" in section       # the inpatient peer
    assert "门诊部" not in section                              # an outpatient centre is no peer for bed-days
    assert "peer average ¥424.09" in section                    # (524.57 + 323.61) / 2
    assert "rank among 2 peers" in section


def test_page_shows_the_trend_with_a_month_never_run_in_words():
    page = department_report_html(**s.Sample().page_args("CARD"))
    section = page.split("Trend over 12 months</h2>")[1].split("<h2>")[0]
    assert "2030-11" in section and "2031-10" in section
    assert NO_DATA in section                                   # 2031-07 was never run
    assert "¥52.5万" in section


def test_indicators_against_target_and_last_year_with_the_breaches_highlighted():
    page = department_report_html(**s.Sample().page_args("CARD"))
    section = page.split("Indicators against target and last year</h2>")[1]
    rows = re.findall(r'<tr style="([^"]*)">(.*?)</tr>', section, re.S)
    by_name = {re.search(r"<td>([^<]*)</td>", cells).group(1): (style, cells) for style, cells in rows}  # type: ignore[union-attr]
    style, cells = by_name["百元医疗收入卫生材料消耗 Materials per ¥100 revenue"]
    assert "#c62828" in style and "超标 breach" in cells
    assert "¥23.45" in cells and "≤ ¥20.00" in cells and "¥21.00" in cells and "+¥2.45" in cells
    style, cells = by_name["人员经费占比 Personnel cost share"]
    assert "#c62828" not in style and "38.20%" in cells and "36.50%" in cells and "达标 on target" in cells
    style, cells = by_name["床日成本 Cost per bed-day"]
    assert "超标 breach" in cells and NO_DATA in cells             # no value last year: said in words


def test_a_department_with_nothing_allocated_and_no_history_reads_in_words():
    sample = s.Sample()
    args = sample.page_args("EVIL")
    args["history"] = pd.DataFrame(columns=["month", "total_fen", "unit_cost"])
    args["indicators"] = pd.DataFrame(columns=list(INDICATOR_COLUMNS))
    args["last_year"] = None
    args["breaches"] = []
    page = department_report_html(**args)
    assert "Nothing was allocated to this department this month" in page
    assert "¥1,000.00" in page and "All indicators on target" in page
    assert_no_none_or_nan(page)
    # the formula-looking name is shown as text, escaped, never as markup
    assert "=cmd|&#x27; /C calc&#x27;!A0" in page and "calc'!A0" not in page


def test_page_of_a_result_without_unit_costs_or_matrix():
    empty = s.result()
    bare = MonthResult(empty.month, empty.matrix.iloc[0:0], empty.centre_costs, empty.unit_costs.iloc[0:0],
                       empty.item_costs, empty.case_costs, empty.group_costs)
    args = s.Sample().page_args("NEUR")
    args["result"] = bare
    page = department_report_html(**args)
    assert "No unit cost for this department this month" in page
    assert yuan(s.total_fen("NEUR")) in page
    assert_no_none_or_nan(page)


def _workbook() -> openpyxl.Workbook:
    data = month_workbook(s.MONTH, s.result(), s.indicators(), s.DEFINITIONS, centres=s.CENTRES,
                          breaches=s.breaches())
    return openpyxl.load_workbook(io.BytesIO(data))


def _rows(book: openpyxl.Workbook, title: str) -> list[tuple]:
    return table_rows(book[title])


def test_workbook_has_every_table():
    book = _workbook()
    assert book.sheetnames == SHEETS
    assert len(_rows(book, "分摊矩阵 Allocation matrix")) == len(s.MATRIX)
    assert len(_rows(book, "科室成本 Centre costs")) == len(s.centre_costs())
    assert len(_rows(book, "单位成本 Unit costs")) == len(s.UNITS)
    assert len(_rows(book, "项目成本 Item costs")) == 2
    assert len(_rows(book, "病例成本 Case costs")) == 2 and len(_rows(book, "病种成本 Group costs")) == 2
    assert len(_rows(book, "成本指标 Indicators")) == len(s.indicators())


def test_workbook_money_is_exact_yuan_from_fen():
    book = _workbook()
    drugs = next(r for r in _rows(book, "科室成本 Centre costs") if r[1] == "CARD" and r[3] == "药品费 drugs")
    assert Decimal(str(drugs[4])) == Decimal("123456.78") and drugs[6] is not None
    # the file holds the exact digits, not a float's approximation
    with zipfile.ZipFile(io.BytesIO(month_workbook(s.MONTH, s.result(), s.indicators(), s.DEFINITIONS,
                                                   centres=s.CENTRES))) as z:
        xml = z.read("xl/worksheets/sheet2.xml").decode()
    assert "<v>123456.78</v>" in xml and "<v>80000.01</v>" in xml
    total = sum(Decimal(str(r[6])) for r in _rows(book, "科室成本 Centre costs"))
    assert total == sum(Decimal(v) for v in s.DIRECT.values()) / 100        # conservation shows in the workbook
    surplus = next(r for r in _rows(book, "病种成本 Group costs") if r[0] == "FM19")
    assert Decimal(str(surplus[7])) == Decimal("-1000.00")
    assert table_rows(book["科室成本 Centre costs"], cells=True)[0][4].number_format == "#,##0.00"


def test_workbook_names_and_codes_cannot_run_as_formulas():
    book = _workbook()
    centres = book["成本中心 Centres"]
    evil = next(row for row in table_rows(centres, cells=True) if row[0].value == "EVIL")
    assert evil[1].value == "'" + s.FORMULA_NAME and evil[1].data_type == "s"
    for title, column in (("科室成本 Centre costs", 2), ("单位成本 Unit costs", 1), ("病例成本 Case costs", 2),
                          ("成本指标 Indicators", 1)):
        names = [r[column] for r in _rows(book, title)]
        assert "'" + s.FORMULA_NAME in names and s.FORMULA_NAME not in names, title
    groups = [r[0] for r in _rows(book, "病种成本 Group costs")]
    assert "'=HYPERLINK(1)" in groups and "=HYPERLINK(1)" not in groups


def test_workbook_indicators_in_their_units_with_breaches_marked():
    book = _workbook()
    sheet = book["成本指标 Indicators"]
    rows = {(r[0].value, r[2].value): r for r in table_rows(sheet, cells=True)}
    share = rows[("全院 hospital", "personnel_share")]
    assert share[4].number_format == "0.00%" and Decimal(str(share[4].value)) == Decimal("0.382")
    card = rows[("CARD", "materials_per_100_revenue")]
    assert Decimal(str(card[4].value)) == Decimal("23.45") and card[7].value == "是 yes"
    assert rows[("EVIL", "materials_per_100_revenue")][7].value == "否 no"
    assert rows[("NEUR", "materials_per_100_revenue")][4].value is None       # no value: an empty cell


def test_page_holds_the_months_direct_cost_against_a_twelfth_of_the_budget():
    # direct 423,456.78 against 1/12 of 6,000,000.00 = 500,000.00: 84.69 %
    page = department_report_html(**s.Sample().page_args("CARD"), annual_budget_fen=600_000_000)
    assert "月度预算 Budget this month (1/12)" in page and "¥500,000.00" in page and "84.69%" in page
    without = department_report_html(**s.Sample().page_args("CARD"))
    assert "无预算 no budget lines" in without
    assert_no_none_or_nan(page)
