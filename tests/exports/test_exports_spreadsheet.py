"""The one spreadsheet writer: text a spreadsheet would run is written as text, numbers stay exact numbers.

The xlsx files are read back with openpyxl and their sheet XML is read raw, so the tests see what Excel
sees; the CSV files are read back with the csv module.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from smartfin.kernel.spreadsheet import (
    ExportExists,
    ExportRefused,
    Percent,
    SpreadsheetFormat,
    csv_bytes,
    neutralise,
    write_export,
    xlsx_bytes,
)

# Every way a cell can start a formula, with what the writer must emit for it.
DANGEROUS = [
    "=cmd|' /C calc'!A0",                    # DDE through "=" (the finance user's example)
    "=HYPERLINK(\"http://evil.example\",\"点击\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",                                # tab
    "\r=1+1",                                # carriage return
    "\tplain after a tab",
    "   =1+1",                               # after leading blanks
    "\u3000=1+1",                            # after an ideographic (full-width) space
    "\u200b=1+1",                            # after a zero-width space
    "＝1+1",                                 # full-width equals, read as a formula by Excel and WPS
    "＋1+1",
    "－1+1",
    "＠SUM(1+1)",
    "﹦1+1",                                 # small form of "="
    "-",                                     # a lone dash is text, not a number
    "-50000.00",                             # a negative amount *as text* (an imported string) is text
]
HARMLESS = ["心内科 专用材料费", "a=b", "1+1", "", "   ", "'already quoted", "#N/A", "｜pipe", "line\nbreak"]


def _sheet_xml(data: bytes, number: int = 1) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return book.read(f"xl/worksheets/sheet{number}.xml").decode("utf-8")


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel on Chinese Windows needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("text", DANGEROUS)
def test_neutralise_prefixes_every_formula_start_with_a_quote(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", HARMLESS)
def test_neutralise_leaves_ordinary_text_alone(text: str) -> None:
    assert neutralise(text) == text


@pytest.mark.parametrize("text", DANGEROUS)
def test_csv_writes_a_dangerous_cell_as_quoted_text(text: str) -> None:
    data = csv_bytes(["名称 name", "金额 amount"], [[text, Decimal("1.00")]])
    header, row = _csv_rows(data)
    assert header == ["名称 name", "金额 amount"]
    assert row == ["'" + text, "1.00"]
    assert row[0][0] == "'"


@pytest.mark.parametrize("text", DANGEROUS)
def test_xlsx_writes_a_dangerous_cell_as_a_string_never_a_formula(text: str) -> None:
    data = xlsx_bytes([("Lines", ["名称 name"], [[text]])])
    cell = openpyxl.load_workbook(io.BytesIO(data)).active["A2"]
    assert cell.data_type == "s"
    assert cell.value == "'" + text
    xml = _sheet_xml(data)
    assert "<f>" not in xml and "<f " not in xml
    assert re.search(r'<c r="A2"[^>]*t="inlineStr"', xml)


def test_openpyxl_alone_would_store_the_text_as_a_formula() -> None:
    """Why the writer sets the cell type: without it, the finance user's example becomes a live formula."""
    book = openpyxl.Workbook()
    book.active["A1"] = "=cmd|' /C calc'!A0"
    out = io.BytesIO()
    book.save(out)
    assert book.active["A1"].data_type == "f"
    assert "<f>" in _sheet_xml(out.getvalue())


def test_headers_and_sheets_of_every_kind_are_neutralised() -> None:
    data = xlsx_bytes([("One", ["=1+1", "ok"], [["x", "@y"]]), ("Two", ["name"], [["+z"]])])
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert [c.value for c in book["One"][1]] == ["'=1+1", "ok"]
    assert [c.value for c in book["One"][2]] == ["x", "'@y"]
    assert book["Two"]["A2"].value == "'+z"
    assert all("<f" not in _sheet_xml(data, n) for n in (1, 2))
    assert _csv_rows(csv_bytes(["=1+1"], [["-x"]])) == [["'=1+1"], ["'-x"]]


@pytest.mark.parametrize("text", HARMLESS)
def test_ordinary_text_round_trips_unchanged(text: str) -> None:
    assert _csv_rows(csv_bytes(["t"], [[text]]))[1] == [text]
    cell = openpyxl.load_workbook(io.BytesIO(xlsx_bytes([("S", ["t"], [[text]])]))).active["A2"]
    assert (cell.value or "") == text and cell.data_type == ("s" if text else "n")


AMOUNTS = [Decimal("-50000.00"), Decimal("0.69"), Decimal("0.07"), Decimal("1234.50"), Decimal("-0.01"),
           Decimal("999999999999.99"), Decimal("0.00")]


def test_csv_numbers_are_exact_and_a_negative_amount_stays_a_number() -> None:
    """The type decides, not the look: -50000.00 as an amount is a number, the same characters as text are not."""
    rows = [[amount, str(amount), -3, Percent(Decimal("-12.50")), date(2026, 3, 1)] for amount in AMOUNTS]
    _, *read = _csv_rows(csv_bytes(["amount", "as text", "count", "rate", "day"], rows))
    assert [r[0] for r in read] == ["-50000.00", "0.69", "0.07", "1234.50", "-0.01", "999999999999.99", "0.00"]
    assert [r[1] for r in read] == ["'-50000.00", "0.69", "0.07", "1234.50", "'-0.01", "999999999999.99", "0.00"]
    assert {tuple(r[2:]) for r in read} == {("-3", "-12.50%", "2026-03-01")}


def test_xlsx_money_is_a_number_exact_to_the_fen() -> None:
    data = xlsx_bytes([("Money", ["amount", "as text"], [[amount, str(amount)] for amount in AMOUNTS])])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    texts = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert (texts[0].data_type, texts[0].value) == ("s", "'-50000.00")  # the same characters as text: neutralised
    assert [c.data_type for c in cells] == ["n"] * len(AMOUNTS)
    assert {c.number_format for c in cells} == {"#,##0.00"}
    # the value Excel reads is the double nearest to the exact amount, and it gives back every fen
    assert [Decimal(repr(c.value)).quantize(Decimal("0.01")) for c in cells] == AMOUNTS
    assert all(c.value == float(a) for c, a in zip(cells, AMOUNTS, strict=True))
    # the file holds the exact digits, not openpyxl's "%.16g" of a float (0.6899999999999999)
    values = re.findall(r'<c r="A\d+"[^>]*t="n"><v>([^<]*)</v>', _sheet_xml(data))
    assert values == ["-50000.00", "0.69", "0.07", "1234.50", "-0.01", "999999999999.99", "0.00"]


def test_xlsx_counts_percentages_dates_and_flags_keep_their_types() -> None:
    instant = datetime(2026, 3, 1, 0, 30, tzinfo=UTC)
    data = xlsx_bytes([("Kinds", ["count", "rate", "empty rate", "day", "time", "flag"],
                        [[-7, Percent(Decimal("45.67")), None, date(2026, 3, 1), instant, True]])])
    count, rate, empty, day, time, flag = openpyxl.load_workbook(io.BytesIO(data)).active[2]
    assert (count.data_type, count.value) == ("n", -7)
    assert (rate.data_type, rate.value, rate.number_format) == ("n", 0.4567, "0.00%")
    assert empty.value is None
    assert (day.value, day.number_format) == (datetime(2026, 3, 1), "yyyy-mm-dd")
    assert time.value == datetime(2026, 3, 1, 8, 30)  # the hospital's wall clock (+08:00)
    assert (flag.data_type, flag.value) == ("b", True)


def test_xlsx_header_is_bold_frozen_and_columns_fit_chinese_text() -> None:
    name = "心内科专用材料费（介入耗材）"
    data = xlsx_bytes([("预算 Lines", ["名称 name", "n"], [[name, 1]])])
    sheet = openpyxl.load_workbook(io.BytesIO(data))["预算 Lines"]
    assert sheet["A1"].font.b and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width >= 2 * len(name)  # a Chinese character takes two columns
    assert 6 <= sheet.column_dimensions["B"].width <= 12


@pytest.mark.parametrize("bad, reason", [
    (0.1, "float"), (Decimal("NaN"), "finite"), (object(), "object"),
    (datetime(2026, 3, 1, 8, 0), "time zone"), (Decimal("1234567890123456.78"), "significant digits"),
])
def test_values_that_would_be_changed_are_refused_with_their_place(bad: object, reason: str) -> None:
    with pytest.raises((TypeError, ValueError), match=reason) as raised:
        xlsx_bytes([("S", ["amount"], [[bad]])])
    assert "row 2" in str(raised.value) and "'amount'" in str(raised.value)
    if reason != "significant digits":  # CSV holds any digits exactly
        with pytest.raises((TypeError, ValueError), match=reason):
            csv_bytes(["amount"], [[bad]])


def test_a_row_of_the_wrong_length_and_bad_sheet_titles_are_refused() -> None:
    with pytest.raises(ValueError, match="row 2 has 1 cells but the header has 2"):
        csv_bytes(["a", "b"], [["x"]])
    with pytest.raises(ValueError, match="sheet title"):
        xlsx_bytes([("a/b", ["a"], [])])
    with pytest.raises(ValueError, match="used twice"):
        xlsx_bytes([("Same", ["a"], []), ("same", ["a"], [])])


def test_control_characters_xml_cannot_hold_are_shown_not_fatal() -> None:
    data = xlsx_bytes([("S", ["t"], [["bell\x07=1"]])])
    assert openpyxl.load_workbook(io.BytesIO(data)).active["A2"].value == "bell\ufffd=1"


def test_write_export_refuses_wrong_suffix_and_existing_files(tmp_path: Path) -> None:
    target = tmp_path / "lines.csv"
    with pytest.raises(ExportRefused, match=r"ending in \.xlsx"):
        write_export(target, b"x", SpreadsheetFormat.XLSX)
    assert not target.exists()
    write_export(target, b"first", SpreadsheetFormat.CSV)
    with pytest.raises(ExportExists, match="already exists"):
        write_export(target, b"second", SpreadsheetFormat.CSV)
    assert target.read_bytes() == b"first"
    write_export(target, b"second", SpreadsheetFormat.CSV, replace=True)
    assert target.read_bytes() == b"second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lines.csv"]  # no temporary file left
    with pytest.raises(ExportRefused, match="no such folder"):
        write_export(tmp_path / "missing" / "lines.csv", b"x", SpreadsheetFormat.CSV)


def test_no_other_part_of_the_product_writes_spreadsheets_itself() -> None:
    """Every export goes through the kernel's writer, so no export can skip the neutralisation.

    The stand-in bank portal (``portals/``) is a separate program imitating a bank and writes its own files.
    So do the generators of demo and sample *inputs* — a bank statement, an HIS export as those systems
    deliver them, for the importers to read: they are not exports and must not be altered, so they are named
    here one by one.
    """
    root = Path(__file__).resolve().parents[2]
    imitations = {root / "flows" / "demo" / "inputs.py", root / "smartfin" / "costing" / "samples.py",
                  root / "smartfin" / "insurance" / "samples.py"}
    writers = re.compile(r"csv\.(writer|DictWriter)\(|\bWorkbook\(|\.to_csv\(|\.to_excel\(|xlsxwriter")
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for folder in ("smartfin", "flows", "extractors", "rules", "bots")
        for path in sorted((root / folder).rglob("*.py"))
        if path != root / "smartfin" / "kernel" / "spreadsheet.py" and path not in imitations
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if writers.search(line)
    ]
    assert offenders == [], "write spreadsheets with smartfin.kernel.spreadsheet: " + ", ".join(offenders)
