"""Post-purchase review: reading the HIS charge export and comparing actuals with the forecast."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from rules.equipment import (
    ActualRow,
    EquipmentProposal,
    actuals_from_charges,
    evaluate,
    parse_his_charge_export,
    variance_report,
)
from rules.equipment.examples import CT_CHARGE_CODE, ct_scanner_proposal

CT_CODE = CT_CHARGE_CODE


def ct_proposal(**changes: object) -> EquipmentProposal:
    return ct_scanner_proposal(**changes)


QUARTER = [
    ActualRow("2024-01", CT_CODE, D("2100"), D("1680000")),
    ActualRow("2024-02", CT_CODE, D("2000"), D("1600000")),
    ActualRow("2024-03", CT_CODE, D("2500"), D("2000000")),
]


class TestVarianceReport:
    def test_quarter_against_pro_rated_forecast(self) -> None:
        review = variance_report(evaluate(ct_proposal()), QUARTER)
        assert review.months == 3
        total = review.total
        assert total.forecast_volume == D("7197")  # 28,788 × 3 / 12
        assert total.actual_volume == D("6600")
        assert total.volume_variance == D("-597")
        assert total.volume_variance_pct == D("-0.0830")  # −597 / 7,197 = −0.08295
        assert total.forecast_revenue == D("5757600.00")  # 23,030,400 / 4
        assert total.actual_revenue == D("5280000.00")
        assert total.revenue_variance == D("-477600.00")
        assert total.revenue_variance_pct == D("-0.0830")
        # one charge code: it carries the whole forecast
        [row] = review.rows
        assert row.charge_code == CT_CODE and row.forecast_revenue == D("5757600.00")

    def test_table_and_summary(self) -> None:
        review = variance_report(ct_proposal(), QUARTER)
        table = review.table()
        assert table[0][0] == "收费编码 charge code"
        assert table[1][0] == CT_CODE
        assert table[-1] == ["TOTAL", "7197", "6600", "-597", "-0.0830", "5757600.00", "5280000.00",
                             "-477600.00", "-0.0830"]
        assert "实际收入 ¥5,280,000.00，低于预测 ¥5,757,600.00" in review.summary_zh
        assert "-8.30%" in review.summary_zh
        assert "below the forecast ¥5,757,600.00" in review.summary_en
        assert "2024-01–2024-03" in review.summary_en

    def test_split_by_code_shares(self) -> None:
        proposal = ct_proposal(charge_codes=("A", "B"))
        actuals = [ActualRow("2024", "A", D("20000"), D("16000000")),
                   ActualRow("2024", "B", D("9000"), D("7200000"))]
        review = variance_report(proposal, actuals, code_shares={"A": D("0.75"), "B": D("0.25")})
        assert review.months == 12
        a, b = review.rows
        assert a.forecast_revenue == D("17272800.00") and a.revenue_variance == D("-1272800.00")
        assert b.forecast_volume == D("7197") and b.volume_variance == D("1803")
        assert review.total.revenue_variance == D("169600.00")
        assert review.total.revenue_variance_pct == D("0.0074")
        assert "above the forecast" in review.summary_en

    def test_several_codes_without_shares_compare_only_the_total(self) -> None:
        proposal = ct_proposal(charge_codes=("A", "B"))
        review = variance_report(proposal, [ActualRow("2024-05", "A", D("100"), D("80000"))])
        assert all(r.forecast_revenue is None and r.revenue_variance_pct is None for r in review.rows)
        assert review.rows[1].actual_volume == 0
        assert review.total.forecast_revenue == D("1919200.00")

    def test_months_override_and_bad_input(self) -> None:
        review = variance_report(ct_proposal(), QUARTER, months=6)  # April–June had no charges at all
        assert review.total.forecast_revenue == D("11515200.00")
        with pytest.raises(ValueError, match="neither"):
            variance_report(ct_proposal(), [ActualRow("2024Q1", CT_CODE, D("1"), D("800"))])
        with pytest.raises(ValueError, match="add up to 1"):
            variance_report(ct_proposal(), QUARTER, code_shares={CT_CODE: D("0.5")})
        with pytest.raises(ValueError, match="at least one month"):
            variance_report(ct_proposal(), [])


EXPORT = """date,charge_code,charge_name,quantity,amount
2024-01-03,250403001,CT平扫,2,1600.00
2024-01-03,310100001,心电图,1,25.00
2024/01/15,250403001,CT平扫,1,"1,600.00"
2024-02-01 08:30:00,250403001,CT平扫,1,800.00
2024-02-02,250403001,CT平扫,-1,-800.00
2024-02-30,250403001,CT平扫,1,800.00
2024-02-05,250403001,CT平扫,1,8O0.00
2024-02-06,250403001,CT平扫,1
2024-02-07,,CT平扫,1,800.00
2024-02-08,0250403001,CT增强,1,1200.00
"""


class TestHisExport:
    def test_utf8_export_filtered_with_row_errors(self) -> None:
        result = parse_his_charge_export(EXPORT.encode("utf-8-sig"), {"250403001", "0250403001"})
        assert result.encoding == "utf-8"
        assert [r.row for r in result.rows] == [2, 4, 5, 6, 11]
        assert result.rows[1].amount == D("1600.00")
        assert result.rows[1].date == date(2024, 1, 15)
        assert result.rows[3].quantity == D("-1")  # refunds net off
        assert result.rows[4].charge_code == "0250403001"  # leading zero kept
        assert result.skipped_other_codes == 1
        assert [(e.row, e.column) for e in result.errors] == [
            (7, "date"), (8, "amount"), (9, "*"), (10, "charge_code")]
        assert "2024-02-30" in result.errors[0].reason
        assert "not a number" in result.errors[1].reason

    def test_gbk_export_with_chinese_headers(self, tmp_path: Path) -> None:
        text = "日期,收费编码,收费项目名称,数量,金额\n2024-03-01,250403001,CT平扫,3,2400.00\n"
        path = tmp_path / "charges.csv"
        path.write_bytes(text.encode("gbk"))
        result = parse_his_charge_export(path, [CT_CODE])
        assert result.encoding == "gbk"
        assert result.errors == ()
        [row] = result.rows
        assert row.charge_name == "CT平扫" and row.quantity == D("3") and row.amount == D("2400.00")

    def test_missing_column_is_reported_on_the_header(self) -> None:
        result = parse_his_charge_export(b"date,charge_code,quantity\n2024-01-01,1,1\n", None)
        assert result.rows == ()
        assert [(e.row, e.column) for e in result.errors] == [(1, "charge_name"), (1, "amount")]

    def test_export_feeds_the_review(self) -> None:
        result = parse_his_charge_export(EXPORT.encode("utf-8"), [CT_CODE])
        actuals = actuals_from_charges(result.rows)
        assert actuals == [ActualRow("2024-01", CT_CODE, D("3"), D("3200.00")),
                           ActualRow("2024-02", CT_CODE, D("0"), D("0.00"))]
        review = variance_report(ct_proposal(), actuals)
        assert review.months == 2
        assert review.total.forecast_volume == D("4798")
        assert review.total.actual_revenue == D("3200.00")
