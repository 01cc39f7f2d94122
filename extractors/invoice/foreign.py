"""Non-Chinese invoices: issuer templates kept as data, and a template-free fallback.

Foreign invoices are rare in a hospital (imported equipment, conference fees) but still re-typed by
hand. Known issuers get a template (exact patterns, high confidence); any other invoice gets the handful
of fields every invoice prints — number, date, total, currency, VAT id — with a low confidence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from extractors.invoice.layout import Line
from extractors.invoice.model import (
    Extracted,
    InvoiceKind,
    InvoiceRecord,
    Source,
    missing,
)
from smartfin.kernel.findings import Finding, Severity

TEMPLATES_PATH = Path(__file__).with_name("foreign_templates.json")
CONF_TEMPLATE = 0.9
CONF_FALLBACK = 0.6
CONF_GUESS = 0.4

_CURRENCY_SYMBOLS = {"€": "EUR", "£": "GBP", "$": "USD", "US$": "USD", "¥": "JPY", "CHF": "CHF"}
_CURRENCY_CODES = ("EUR", "USD", "GBP", "CHF", "JPY", "HKD", "SGD", "AUD", "CAD", "SEK", "DKK", "NOK")
_NUMBER = re.compile(r"(?:invoice|inv\.?|bill)\s*(?:no\.?|number|num\.?|nr\.?|#)\s*[:#.]?\s*"
                     r"([A-Z0-9][A-Z0-9\-/]{2,})", re.IGNORECASE)
_DATE_LABEL = re.compile(r"(?:invoice\s*date|date\s*of\s*issue|issue\s*date|issued(?:\s*on)?|date)"
                         r"\s*[:.]?\s*(.{6,20})", re.IGNORECASE)
_TOTAL = re.compile(r"(?<![a-z])(grand\s*total|total\s*(?:amount\s*)?(?:due|payable)|amount\s*due|total)\b"
                    r"[^\d\n]{0,12}?([A-Z]{3}|[€£$])?\s*(\d[\d,.' ]*\d)", re.IGNORECASE)
_VAT = re.compile(r"(?:VAT\s*(?:reg(?:istration)?\.?\s*)?(?:no\.?|id|number)|USt-?IdNr\.?|TVA|IVA|P\.?\s*IVA"
                  r"|Tax\s*ID|GST\s*(?:no\.?|reg(?:istration)?\.?)|ABN)\s*[:.]?\s*([A-Z]{2}\s?[A-Z0-9]{7,13})\b",
                  re.IGNORECASE)
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]


@dataclass(frozen=True, slots=True)
class Template:
    """One issuer's patterns: applies when every keyword occurs in the text."""

    issuer: str
    keywords: tuple[str, ...]
    currency: str
    date_formats: tuple[str, ...]
    decimal_comma: bool
    fields: dict[str, str]
    seller_name: str


@lru_cache(maxsize=4)
def load_templates(path: Path = TEMPLATES_PATH) -> tuple[Template, ...]:
    """Read the templates file once; templates are data so finance IT can add issuers."""
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return tuple(
        Template(t["issuer"], tuple(t["keywords"]), t["currency"], tuple(t["date_formats"]),
                 bool(t.get("decimal_comma")), dict(t["fields"]), t["seller_name"])
        for t in raw["templates"]
    )


def parse_foreign_amount(text: str, decimal_comma: bool | None = None) -> Decimal | None:
    """``1,234.56``, ``1.234,56``, ``1 234,56`` or ``1'234.56`` as Decimal; None when not an amount."""
    text = text.strip().replace(" ", "").replace("'", "").replace("\u00a0", "")
    if decimal_comma is None:
        decimal_comma = bool(re.search(r",\d{2}$", text))
    text = text.replace(".", "").replace(",", ".") if decimal_comma else text.replace(",", "")
    try:
        return Decimal(text).quantize(Decimal("0.01")) if re.fullmatch(r"\d+(\.\d+)?", text) else None
    except InvalidOperation:
        return None


def _parse_date(text: str, formats: Sequence[str] = ()) -> tuple[date | None, bool]:
    """A date from common spellings; the flag is False when day and month could be swapped."""
    text = text.strip()
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date(), True
        except ValueError:
            continue
    m = re.search(r"(\d{4})-(\d{2})-(\d{2})", text)
    if m:
        return _safe_date(int(m[1]), int(m[2]), int(m[3])), True
    m = re.search(r"(\d{1,2})\s+([A-Z][a-z]+)\.?\s+(\d{4})", text)
    if m and m[2][:3] in [name[:3] for name in _MONTHS]:
        return _safe_date(int(m[3]), [n[:3] for n in _MONTHS].index(m[2][:3]) + 1, int(m[1])), True
    m = re.search(r"([A-Z][a-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})", text)
    if m and m[1][:3] in [name[:3] for name in _MONTHS]:
        return _safe_date(int(m[3]), [n[:3] for n in _MONTHS].index(m[1][:3]) + 1, int(m[2])), True
    m = re.search(r"(\d{1,2})([./])(\d{1,2})\2(\d{4})", text)
    if m:
        first, second = int(m[1]), int(m[3])
        if m[2] == "." or first > 12:  # dotted dates are day-first in Europe
            return _safe_date(int(m[4]), second, first), True
        return _safe_date(int(m[4]), second, first), second > 12
    return None, False


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def looks_like_foreign_invoice(text: str) -> bool:
    """The word invoice (or a common translation) appears in the text."""
    return re.search(r"\b(invoice|rechnung|facture|fattura|factura)\b", text, re.IGNORECASE) is not None


def read_foreign_invoice(lines: Sequence[Line]) -> tuple[InvoiceRecord | None, list[Finding]]:
    """Read a non-Chinese invoice from positioned lines: a matching template first, else the fallback."""
    text = "\n".join(line.spaced_text() for line in lines)
    if not looks_like_foreign_invoice(text):
        return None, []
    for template in load_templates():
        if all(k.lower() in text.lower() for k in template.keywords):
            return _apply_template(template, text)
    return _fallback(text, lines)


def _apply_template(template: Template, text: str) -> tuple[InvoiceRecord, list[Finding]]:
    findings: list[Finding] = []
    values: dict[str, Extracted] = {}  # type: ignore[type-arg]
    for field, pattern in template.fields.items():
        m = re.search(pattern, text, re.IGNORECASE)
        if not m:
            findings.append(Finding("TEMPLATE_FIELD_MISSING", Severity.WARN,
                                    f"template {template.issuer!r} found no {field}", field=field))
            continue
        raw = m[1].strip()
        value: object
        if field == "issue_date":
            value = _parse_date(raw, template.date_formats)[0]
        elif field.startswith("total"):
            value = parse_foreign_amount(raw, template.decimal_comma)
        elif field == "seller_tax_id":
            value = raw.replace(" ", "")
        else:
            value = raw
        values[field] = Extracted(value, CONF_TEMPLATE, Source.TEMPLATE) if value is not None else missing(
            Source.TEMPLATE)
    values["seller_name"] = Extracted(template.seller_name, CONF_TEMPLATE, Source.TEMPLATE)
    values["currency"] = Extracted(template.currency, CONF_TEMPLATE, Source.TEMPLATE)
    return _record(values, Source.TEMPLATE), findings


def _fallback(text: str, lines: Sequence[Line]) -> tuple[InvoiceRecord, list[Finding]]:
    values: dict[str, Extracted] = {}  # type: ignore[type-arg]
    findings = [Finding("TEMPLATE_NONE", Severity.INFO,
                        "no issuer template matched; number, date, total, currency and VAT id read by pattern")]
    m = _NUMBER.search(text)
    if m:
        values["number"] = Extracted(m[1], CONF_FALLBACK, Source.FALLBACK)
    for m in _DATE_LABEL.finditer(text):
        issued, certain = _parse_date(m[1])
        if issued is not None:
            values["issue_date"] = Extracted(issued, CONF_FALLBACK if certain else CONF_GUESS, Source.FALLBACK)
            if not certain:
                findings.append(Finding("DATE_AMBIGUOUS", Severity.WARN,
                                        f"date {m[1].strip()!r} may be day/month or month/day", field="issue_date"))
            break
    best: tuple[int, Decimal, str | None] | None = None
    for m in _TOTAL.finditer(text):
        label = m[1].lower()
        rank = 2 if ("due" in label or "grand" in label or "payable" in label) else 1
        amount = parse_foreign_amount(m[3])
        if amount is None:
            continue
        if best is None or rank >= best[0]:
            best = (rank, amount, m[2])
    currency: str | None = None
    if best is not None:
        values["total_with_tax"] = Extracted(best[1], CONF_FALLBACK, Source.FALLBACK)
        if best[2]:
            currency = _CURRENCY_SYMBOLS.get(best[2], best[2].upper())
    if currency is None:
        codes = [c for c in _CURRENCY_CODES if re.search(rf"\b{c}\b", text)]
        symbols = [v for k, v in _CURRENCY_SYMBOLS.items() if k in text and k != "¥"]
        currency = (codes or symbols or [None])[0]
    if currency:
        values["currency"] = Extracted(currency, CONF_FALLBACK, Source.FALLBACK)
    m = _VAT.search(text)
    if m:
        values["seller_tax_id"] = Extracted(m[1].replace(" ", "").upper(), CONF_FALLBACK, Source.FALLBACK)
    first = next((line.spaced_text() for line in lines if line.spaced_text()
                  and not looks_like_foreign_invoice(line.spaced_text())), None)
    if first:
        values["seller_name"] = Extracted(first, CONF_GUESS, Source.FALLBACK)
    return _record(values, Source.FALLBACK), findings


def _record(values: dict[str, Extracted], source: Source) -> InvoiceRecord:  # type: ignore[type-arg]
    def get(name: str) -> Extracted:  # type: ignore[type-arg]
        return values.get(name, missing(source))

    return InvoiceRecord(
        kind=Extracted(InvoiceKind.FOREIGN, 0.9, source),
        code=missing(source), number=get("number"), issue_date=get("issue_date"),
        check_code=missing(source), machine_no=missing(source),
        buyer_name=get("buyer_name"), buyer_tax_id=missing(source),
        seller_name=get("seller_name"), seller_tax_id=get("seller_tax_id"), items=(),
        total_amount=get("total_amount"), total_tax=get("total_tax"), total_with_tax=get("total_with_tax"),
        total_uppercase=missing(source), remarks=missing(source), payee=missing(source),
        reviewer=missing(source), issuer=missing(source), currency=get("currency"),
    )
