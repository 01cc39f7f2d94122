"""``form_bytes``: a workbook handed out to be filled in is written like every export (text neutralised, money
exact), with its input cells unlocked and validated and everything else protected."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest

from smartfin.kernel.spreadsheet import FormSheet, InputRange, form_bytes


def test_labels_are_written_like_exports_and_only_inputs_can_be_changed() -> None:
    data = form_bytes([
        FormSheet("表", [("A1", "=HYPERLINK(\"http://x\")"), ("B1", Decimal("0.69")), ("A2", "30201")],
                  [InputRange("C1:D2"), InputRange("E1:E2", "list", "=$A$2:$A$2", "pick one")], bold=["A2"]),
        FormSheet("_stamp", [("A1", "version"), ("B1", "2027.1")], very_hidden=True),
    ])
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["表"]
    assert sheet["A1"].value == "'=HYPERLINK(\"http://x\")" and sheet["A1"].data_type == "s"
    assert sheet["B1"].value == 0.69 and sheet["B1"].number_format == "#,##0.00"
    assert sheet.protection.sheet and sheet["A1"].protection.locked and sheet["A2"].font.b
    assert all(not sheet[c].protection.locked for c in ("C1", "D2", "E1", "E2"))
    kinds = {str(v.sqref): (v.type, v.formula1) for v in sheet.data_validations.dataValidation}
    assert kinds == {"C1:D2": ("decimal", "0"), "E1:E2": ("list", "=$A$2:$A$2")}
    assert book["_stamp"].sheet_state == "veryHidden"
    assert "<v>0.69</v>" in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()


def test_an_unknown_input_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown input kind 'date'"):
        form_bytes([FormSheet("x", [("A1", "a")], [InputRange("B1:B2", "date")])])
