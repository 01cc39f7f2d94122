"""Reading cells as the file stores them, including what Excel and other programs write that openpyxl does not."""

from __future__ import annotations

import io
import zipfile

from smartfin.budgeting.stored_cells import StoredWorkbook, column_number

SHEET = """<?xml version="1.0" encoding="UTF-8"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="2"><c r="A2" t="inlineStr"><is><t>30201</t></is></c><c r="B2"><v>0.68999999999999995</v></c>
<c r="C2" s="1"><v>5</v></c><c r="AA2"><v>1</v></c></row>
<row><c><v>12</v></c><c t="b"><v>1</v></c><c t="str"><f>A2&amp;"x"</f><v>30201x</v></c><c><v>1E-3</v></c></row>
</sheetData></worksheet>"""
STYLES = """<?xml version="1.0" encoding="UTF-8"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="1"><numFmt numFmtId="164" formatCode=";;;"/></numFmts>
<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="164"/></cellXfs></styleSheet>"""


def test_cells_are_read_with_their_type_format_and_place() -> None:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("xl/worksheets/sheet1.xml", SHEET)
        archive.writestr("xl/styles.xml", STYLES)
    rows = StoredWorkbook(zipfile.ZipFile(data)).rows("xl/worksheets/sheet1.xml", max_column=4)
    assert {r: {c: (cell.value, cell.data_type, cell.number_format) for c, cell in cells.items()}
            for r, cells in rows.items()} == {
        2: {1: ("30201", "s", "General"), 2: (0.69, "n", "General"), 3: (5, "n", ";;;")},
        3: {1: (12, "n", "General"), 2: (True, "b", "General"), 3: ('=A2&"x"', "f", "General"),
            4: (0.001, "n", "General")},
    }
    assert (column_number("A"), column_number("Z"), column_number("AA")) == (1, 26, 27)
