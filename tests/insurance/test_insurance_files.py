"""Insurance files: GBK and renamed columns are read; every bad cell is named by file, row and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.insurance import InsuranceFileError, amounts_fen, read_insurance_file
from smartfin.insurance.daily import exception_truth_keys, reconcile_day
from smartfin.insurance.samples import SampleDays, write_day_files
from tests.insurance.conftest import DAY


def test_a_gbk_file_with_renamed_columns_reads_to_the_same_truth(sample_day: SampleDays, tmp_path: Path) -> None:
    paths = write_day_files(sample_day, tmp_path, DAY)
    raw = paths["his"].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "结算时间".encode("gbk") in raw and "住院".encode("gbk") in raw
    read = {k: read_insurance_file(p.read_bytes(), k, file=p.name) for k, p in paths.items()}
    assert len(read["his"].rows) == len(sample_day.his)
    assert read["his"].rows["total_fen"].sum() == sample_day.his["total_fen"].sum()
    assert set(read["his"].rows["insurance_type"]) == {"employee", "resident", "offsite"}
    result = reconcile_day(read["his"].rows, read["platform"].rows, read["platform_total"].rows)
    assert exception_truth_keys(result.exceptions) == sample_day.truth


def test_bad_cells_are_named_by_file_row_and_column_and_nothing_is_read() -> None:
    text = ("结算日期,结算流水号,人员编号,险种类型,医疗类别,医疗费总额,统筹基金支付,个人账户支付,个人现金支付,"
            "大病保险支付,医疗救助支付\n"
            "2026-11-03,JS1,I1,职工,门诊,100.00,60.00,10.00,30.00,0,0\n"
            "2026-11-03,JS2,I2,外星,门诊,100.0x,60.00,10.00,30.00,0,0\n"
            "2026-13-03,,I3,居民,住院,1.234,60.00,10.00,30.00,0,0\n")
    with pytest.raises(InsuranceFileError) as refused:
        read_insurance_file(text.encode("gbk"), "platform", file="platform.csv")
    message = str(refused.value)
    assert "platform.csv, row 3, column '险种类型': '外星' is not a known value" in message
    assert "row 3, column '医疗费总额': '100.0x' is not an amount" in message
    assert "row 4, column '结算日期': '2026-13-03' is not a date" in message
    assert "row 4, column '结算流水号': is empty" in message
    assert "row 4, column '医疗费总额': '1.234'" in message
    assert len(refused.value.problems) == 5


def test_a_missing_column_names_what_the_map_accepts() -> None:
    text = "结算日期,结算流水号,人员编号,险种类型,医疗类别,医疗费总额\n2026-11-03,JS1,I1,职工,门诊,1.00\n"
    with pytest.raises(InsuranceFileError) as refused:
        read_insurance_file(text.encode(), "platform", file="p.csv")
    assert "missing canonical column 'pooled'" in str(refused.value)
    assert "统筹基金支付" in str(refused.value)


def test_amounts_are_exact_fen_without_floats() -> None:
    import pandas as pd

    fen, bad = amounts_fen(pd.Series(["1,234.56", "-0.01", "7", "12.5", "0.1", "x", "--3", "1.234", ""],
                                     dtype=object))
    assert fen[:5].tolist() == [123456, -1, 700, 1250, 10]
    assert bad.tolist() == [False] * 5 + [True] * 4


def test_an_excel_detail_with_a_title_row_and_a_total_row_reads_like_its_csv(sample_day: SampleDays,
                                                                             tmp_path: Path) -> None:
    from openpyxl import Workbook

    paths = write_day_files(sample_day, tmp_path, DAY)
    as_csv = read_insurance_file(paths["platform"].read_bytes(), "platform", file="platform.csv").rows
    lines = paths["platform"].read_text(encoding="utf-8").splitlines()
    book = Workbook()
    sheet = book.active
    sheet.append(["医保平台对账明细", None, None])
    for line in lines:
        sheet.append(line.split(","))
    sheet.append(["合计", None, None])
    target = tmp_path / "platform.xlsx"
    book.save(target)
    as_xlsx = read_insurance_file(target.read_bytes(), "platform", file="platform.xlsx").rows
    assert len(as_xlsx) == len(as_csv)
    assert as_xlsx["total_fen"].tolist() == as_csv["total_fen"].tolist()
    assert as_xlsx["source_row"].iloc[0] == 3  # the title row and the header come first
