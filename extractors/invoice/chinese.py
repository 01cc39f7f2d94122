"""Fields of a Chinese VAT invoice read from positioned text (PDF characters or OFD text objects).

Both the pre-2024 electronic invoice (code, number, check code, machine number) and the digitalised
invoice (one 20-digit number) are read with the same labels; buyer and seller share the labels 名称 and
纳税人识别号, so each label is given to the party whose block (购买方 / 销售方) it sits in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation

from extractors.invoice.items import column_of, find_header, is_list_reference, read_rows
from extractors.invoice.layout import (
    UNREADABLE,
    Glyph,
    LabelHit,
    LabelSet,
    Line,
    Value,
    build_lines,
    find_labels,
    segments,
    value_after,
)
from extractors.invoice.model import (
    ITEM_FIELDS,
    Extracted,
    InvoiceKind,
    InvoiceRecord,
    LineItem,
    Source,
    missing,
)
from smartfin.kernel.findings import Finding, Severity

LABELS = LabelSet({
    "code": ["发票代码"],
    "number": ["发票号码"],
    "issue_date": ["开票日期"],
    "check_code": ["校验码"],
    "machine_no": ["机器编号"],
    "name": ["名称"],
    "tax_id": ["纳税人识别号", "统一社会信用代码/纳税人识别号", "统一社会信用代码"],
    "address": ["地址、电话", "地址电话", "地址、电话"],
    "bank": ["开户行及账号"],
    "total_uppercase": ["价税合计(大写)"],
    "total_with_tax": ["(小写)"],
    "totals": ["合计"],
    "remarks": ["备注"],
    "payee": ["收款人"],
    "reviewer": ["复核"],
    "issuer": ["开票人"],
    "stamp": ["销售方(章)", "销售方:(章)"],
})

CONF_SAME_RUN = 0.97
CONF_POSITION = 0.93
CONF_TABLE = 0.92
CONF_BAD_FORMAT = 0.4

_DATE = re.compile(r"(\d{4})\s*[年\-./]\s*(\d{1,2})\s*[月\-./]\s*(\d{1,2})日?")
_MONEY = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_FORMATS = {"code": r"\d{12}", "check_code": r"\d{20}", "machine_no": r"\d{12}", "number": r"\d{8}|\d{20}"}


def looks_like_chinese_invoice(lines: Sequence[Line]) -> bool:
    """An invoice says 发票 somewhere and carries an invoice-number label."""
    has_title = any("发票" in line.text for line in lines)
    has_number = any(hit.name == "number" for line in lines for hit in line.labels)
    return has_title and has_number


@dataclass(slots=True)
class _Reader:
    lines: list[Line]
    source: Source
    findings: list[Finding]
    run_source: Source

    def source_of(self, value: Value) -> Source:
        """Values in the label's own text run count as text; values found by geometry as position."""
        return self.run_source if value.same_run else self.source

    def extracted(self, field: str, text: str | None, confidence: float,
                  source: Source | None = None) -> Extracted[str]:
        """Wrap a text value; unreadable glyphs make it a finding with no value."""
        source = source or self.source
        if text is None or text == "":
            return missing(source)
        if UNREADABLE in text:
            self.findings.append(Finding(
                "GLYPHS_UNREADABLE", Severity.WARN,
                f"{field}: the font has no character map (cid glyphs); the value must be typed by hand", field=field))
            return Extracted(None, 0.0, source)
        return Extracted(text, confidence, source)

    def conf(self, value: Value) -> float:
        return CONF_SAME_RUN if value.same_run else CONF_POSITION


def read_chinese_invoice(glyphs: Sequence[Glyph], source: Source, run_source: Source | None = None,
                         ) -> tuple[InvoiceRecord | None, list[Finding]]:
    """Read one Chinese invoice page; returns (None, []) when the text is not an invoice.

    ``source`` marks values matched by position, ``run_source`` (default: the same) values that followed
    their label in one text run.
    """
    lines = build_lines(glyphs)
    find_labels(lines, LABELS)
    if not looks_like_chinese_invoice(lines):
        return None, []
    reader = _Reader(lines, source, [], run_source or source)
    values: dict[str, Extracted] = {}  # type: ignore[type-arg]

    anchors = _party_anchors(glyphs)
    party_fields: dict[str, list[tuple[Value | None, float, float]]] = {"name": [], "tax_id": []}
    for index, line in enumerate(lines):
        for hit in line.labels:
            if hit.name in ("address", "bank", "stamp", "totals", "total_with_tax"):
                continue
            if hit.name == "total_uppercase":
                continue
            if hit.name in values and hit.name not in party_fields:
                continue
            allow_below = hit.name in ("remarks", "check_code", "code", "number", "issue_date", "machine_no",
                                       "name", "tax_id")
            found = value_after(lines, index, hit, allow_below=allow_below)
            if hit.name in party_fields:
                party_fields[hit.name].append((found, line.x0s[hit.start], line.top))
                continue
            values[hit.name] = _field_value(reader, hit.name, found)

    _assign_parties(reader, party_fields, anchors, values)
    _read_totals(reader, values)
    items = _read_items(reader, values)

    number = values.get("number", missing(source)).value
    has_code = values.get("code", missing(source)).value is not None or any(
        h.name == "code" for line in lines for h in line.labels)
    all_text = "".join(line.text for line in lines[:8])
    if has_code:
        kind = InvoiceKind.ELECTRONIC_SPECIAL if "专用发票" in all_text else InvoiceKind.ELECTRONIC_ORDINARY
    elif number is not None and len(number) == 20:
        kind = InvoiceKind.DIGITAL
    else:
        kind = InvoiceKind.ELECTRONIC_ORDINARY
    kind_conf = 0.95 if has_code or (number and len(number) == 20) else 0.5

    def get(name: str) -> Extracted:  # type: ignore[type-arg]
        return values.get(name, missing(source))

    record = InvoiceRecord(
        kind=Extracted(kind, kind_conf, source),
        code=get("code"), number=get("number"), issue_date=get("issue_date"),
        check_code=get("check_code"), machine_no=get("machine_no"),
        buyer_name=get("buyer_name"), buyer_tax_id=get("buyer_tax_id"),
        seller_name=get("seller_name"), seller_tax_id=get("seller_tax_id"),
        items=tuple(items),
        total_amount=get("total_amount"), total_tax=get("total_tax"),
        total_with_tax=get("total_with_tax"), total_uppercase=get("total_uppercase"),
        remarks=get("remarks"), payee=get("payee"), reviewer=get("reviewer"), issuer=get("issuer"),
        currency=Extracted("CNY", 0.99, source),
    )
    return record, reader.findings


def _field_value(reader: _Reader, name: str, found: Value | None,  # type: ignore[type-arg]
                 report_as: str | None = None) -> Extracted:
    """Turn matched text into a typed value, lowering confidence when it breaks its format."""
    if found is None:
        return missing(reader.source)
    confidence = reader.conf(found)
    source = reader.source_of(found)
    text = found.text
    if name == "issue_date":
        if UNREADABLE in text:
            return reader.extracted(name, text, confidence, source)
        m = _DATE.search(text)
        issued = None
        if m:
            try:
                issued = date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                issued = None
        if issued is None:
            reader.findings.append(Finding("DATE_UNPARSEABLE", Severity.WARN, f"issue date {text!r} unreadable",
                                           field=name))
            return Extracted(None, 0.0, source)
        return Extracted(issued, confidence, source)
    if name in _FORMATS and UNREADABLE not in text and not re.fullmatch(_FORMATS[name], text):
        confidence = CONF_BAD_FORMAT
    if name == "tax_id":
        text = text.upper()
    return reader.extracted(report_as or name, text, confidence, source)


def _party_anchors(glyphs: Sequence[Glyph]) -> list[tuple[str, float, float, float, float]]:
    """Boxes of the 购买方 / 销售方 block titles (written vertically or horizontally)."""
    by_char: dict[str, list[Glyph]] = {}
    for g in glyphs:
        if g.text in "购买销售方":
            by_char.setdefault(g.text, []).append(g)
    anchors = []
    for first, second, party in (("购", "买", "buyer"), ("销", "售", "seller")):
        for g in by_char.get(first, []):
            for h in by_char.get(second, []):
                vertical = abs(h.x0 - g.x0) < 1.0 and 0 < h.top - g.top < 3 * g.size
                horizontal = abs(h.top - g.top) < 1.0 and 0 < h.x0 - g.x0 < 3 * g.size
                if vertical or horizontal:
                    tails = [t for t in by_char.get("方", [])
                             if (vertical and abs(t.x0 - g.x0) < 1.0 and 0 < t.top - h.top < 3 * g.size)]
                    bottom = max([h.bottom] + [t.bottom for t in tails])
                    anchors.append((party, g.x0, max(g.x1, h.x1), g.top, bottom))
                    break
    return anchors


def _assign_parties(reader: _Reader, party_fields: dict[str, list[tuple[Value | None, float, float]]],
                    anchors: list[tuple[str, float, float, float, float]],
                    values: dict[str, Extracted]) -> None:  # type: ignore[type-arg]
    """Give each 名称/纳税人识别号 to the party block it sits in; buyer first when no block is found."""
    for name, hits in party_fields.items():
        for order, (found, x0, top) in enumerate(hits):
            party = None
            best: tuple[float, float] | None = None
            for anchor_party, ax0, _ax1, atop, abottom in anchors:
                if ax0 > x0:
                    continue
                vgap = max(0.0, atop - top - 12, top - abottom)
                score = (round(vgap / 4), x0 - ax0)
                if best is None or score < best:
                    best, party = score, anchor_party
            if party is None:
                party = "buyer" if order == 0 else "seller"
            key = f"{party}_{name}"
            if key not in values or values[key].value is None:
                values[key] = _field_value(reader, name, found, report_as=key)


def _money(text: str) -> Decimal | None:
    """A printed amount (``¥1,130.00``, ``***`` for none) as Decimal; None when it is not money."""
    text = text.replace("¥", "").replace(",", "").strip()
    if text and set(text) <= {"*"}:
        return Decimal("0.00")
    if not _MONEY.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _read_totals(reader: _Reader, values: dict[str, Extracted]) -> None:  # type: ignore[type-arg]
    """合计 (amount and tax by column) and 价税合计 (uppercase and figures)."""
    header = find_header(reader.lines)
    lines = reader.lines
    for index, line in enumerate(lines):
        for hit in line.labels:
            if hit.name == "total_uppercase":
                found = value_after(lines, index, hit, allow_below=False)
                if found is not None:
                    text = found.text.lstrip("⊗ⓧ×X")
                    values["total_uppercase"] = reader.extracted("total_uppercase", text, reader.conf(found),
                                                                 reader.source_of(found))
            elif hit.name == "total_with_tax":
                found = value_after(lines, index, hit, allow_below=False)
                if found is not None:
                    values["total_with_tax"] = _money_value(reader, "total_with_tax", found.text,
                                                            reader.conf(found), reader.source_of(found))
            elif hit.name == "totals" and header is not None:
                for text, x0, x1 in segments(line, hit.end):
                    column = column_of(header[1], x0, x1, text)
                    if column == "amount":
                        values["total_amount"] = _money_value(reader, "total_amount", text, CONF_TABLE)
                    elif column == "tax":
                        values["total_tax"] = _money_value(reader, "total_tax", text, CONF_TABLE)


def _money_value(reader: _Reader, field: str, text: str, confidence: float,
                 source: Source | None = None) -> Extracted[Decimal]:
    source = source or reader.source
    if UNREADABLE in text:
        reader.extracted(field, text, confidence)
        return Extracted(None, 0.0, source)
    amount = _money(text)
    if amount is None:
        reader.findings.append(Finding("AMOUNT_UNPARSEABLE", Severity.WARN, f"{field}: {text!r} is not an amount",
                                       field=field))
        return Extracted(None, 0.0, source)
    return Extracted(amount, confidence, source)


def _read_items(reader: _Reader, values: dict[str, Extracted]) -> list[LineItem]:  # type: ignore[type-arg]
    """Rows of the item table, read by column geometry (see ``extractors.invoice.items``)."""
    return items_from_rows(reader, read_rows(reader.lines))


def items_from_rows(reader: _Reader, rows: list[dict[str, str]]) -> list[LineItem]:
    """Typed line items from the raw cells of table rows."""
    return [LineItem(**{name: _cell(reader, name, row.get(name)) for name in ITEM_FIELDS}) for row in rows]


def continue_items(record: InvoiceRecord, pages: Sequence[Sequence[Glyph]], source: Source,
                   ) -> tuple[InvoiceRecord, list[Finding]]:
    """Add the items of later pages (a continued table or the 销货清单 list) to the first page's record.

    The first page's placeholder row (详见销货清单) is replaced by the list's items; a placeholder without
    a list, or later pages without a table, leave a finding so a clerk checks the items.
    """
    reader = _Reader([], source, [], source)
    more: list[LineItem] = []
    for glyphs in pages:
        reader.lines = build_lines(glyphs)
        more += items_from_rows(reader, read_rows(reader.lines))
    placeholder = [i for i in record.items if is_list_reference(i.name.value or "")]
    kept = [i for i in record.items if not is_list_reference(i.name.value or "")]
    findings = reader.findings
    if placeholder and not more:
        findings.append(Finding("ITEMS_INCOMPLETE", Severity.WARN,
                                "the invoice refers to a sales list (销货清单) but no list page with items was found",
                                field="items"))
        return record, findings
    if pages and not more:
        findings.append(Finding("PAGES_IGNORED", Severity.INFO,
                                f"{len(pages)} later page(s) hold no item table and were not read"))
    return replace(record, items=tuple(kept + more)), findings


def _cell(reader: _Reader, name: str, text: str | None) -> Extracted:  # type: ignore[type-arg]
    field = f"items.{name}"
    if text is None:
        return missing(reader.source)
    if name in ("name", "spec", "unit", "plate", "vehicle_type"):
        return reader.extracted(field, text, CONF_TABLE)
    if name in ("travel_from", "travel_to"):
        m = _DATE.fullmatch(text) or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
        try:
            return Extracted(date(int(m[1]), int(m[2]), int(m[3])), CONF_TABLE, reader.source) if m else \
                _unparsed_date(reader, field, text)
        except ValueError:
            return _unparsed_date(reader, field, text)
    if name == "tax_rate":
        if text in ("免税", "不征税", "0%"):
            return Extracted(Decimal("0"), CONF_TABLE, reader.source)
        m = re.fullmatch(r"(\d+(?:\.\d+)?)%", text)
        if not m:
            reader.findings.append(Finding("TAX_RATE_UNPARSEABLE", Severity.WARN, f"tax rate {text!r}", field=field))
            return Extracted(None, 0.0, reader.source)
        return Extracted((Decimal(m[1]) / 100).normalize(), CONF_TABLE, reader.source)
    return _money_value(reader, field, text, CONF_TABLE)


_TAGGED_AS = {"buyer_name": "name", "seller_name": "name", "buyer_tax_id": "tax_id", "seller_tax_id": "tax_id"}
_MONEY_FIELDS = ("total_amount", "total_tax", "total_with_tax")


def value_from_text(field: str, text: str, source: Source) -> tuple[Extracted, list[Finding]]:  # type: ignore[type-arg]
    """A record field from text that is known to be that field (an OFD custom tag), typed like a label's value."""
    reader = _Reader([], source, [], source)
    compact = "".join(text.split())
    if field in _MONEY_FIELDS:
        return _money_value(reader, field, compact, CONF_SAME_RUN, source), reader.findings
    found = Value(compact, 0.0, 0.0, 0.0, True)
    return _field_value(reader, _TAGGED_AS.get(field, field), found, report_as=field), reader.findings


def _unparsed_date(reader: _Reader, field: str, text: str) -> Extracted:  # type: ignore[type-arg]
    reader.findings.append(Finding("DATE_UNPARSEABLE", Severity.WARN, f"{field}: {text!r} is not a date", field=field))
    return Extracted(None, 0.0, reader.source)


__all__ = ["LABELS", "LabelHit", "continue_items", "looks_like_chinese_invoice", "read_chinese_invoice",
           "value_from_text"]
