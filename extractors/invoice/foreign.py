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
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from extractors.invoice.foreign_labels import (
    INVOICE_WORDS,
    Row,
    currency_in,
    day_first_of,
    decimal_comma_of,
    detect_language,
    find_date,
    find_number,
    find_total,
    find_unlabelled_date,
    looks_like_invoice,
    parse_amount,
    parse_date,
    rows_of,
)
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

_VAT = re.compile(r"(?:VAT\s*(?:reg(?:istration)?\.?\s*)?(?:no\.?|id|number)|USt-?IdNr\.?|N°\s*TVA|TVA"
                  r"|BTW(?:-?nr\.?|-?id)?|IVA|P\.?\s*IVA|NIF|CIF|MWST-?Nr\.?|UID|Tax\s*ID|ABN)\s*[:.]?\s*"
                  r"([A-Z]{2}\s?[A-Z0-9 ]{7,14}[A-Z0-9])\b", re.IGNORECASE)
_GSTIN = re.compile(r"GSTIN\s*[:.]?\s*(\d{2}[A-Z]{5}\d{4}[A-Z][1-9A-Z]Z[0-9A-Z])\b")

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
    return parse_amount(text, decimal_comma)


def _parse_date(text: str, formats: Sequence[str] = ()) -> tuple[date | None, bool]:
    """A date in one of a template's formats, else any spelling the label reader knows."""
    text = text.strip()
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date(), True
        except ValueError:
            continue
    found, certain, _raw = parse_date(text, day_first=None)
    return found, certain


def looks_like_foreign_invoice(text: str) -> bool:
    """The word invoice in one of the languages read (Rechnung, facture, factuur, fattura, factura …)."""
    return INVOICE_WORDS.search(text) is not None


def read_foreign_invoice(lines: Sequence[Line]) -> tuple[InvoiceRecord | None, list[Finding]]:
    """Read a non-Chinese invoice from positioned lines: a matching template first, else the fallback."""
    text = "\n".join(line.spaced_text() for line in lines)
    rows = rows_of(lines)
    if not looks_like_invoice(rows):
        return None, []
    for template in load_templates():
        if all(k.lower() in text.lower() for k in template.keywords):
            return _apply_template(template, text)
    return _fallback(text, lines, rows)


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


def _fallback(text: str, lines: Sequence[Line], rows: Sequence[Row]) -> tuple[InvoiceRecord, list[Finding]]:
    """Labels in the invoice's language, amounts and dates in its locale, the amount due over subtotals."""
    language = detect_language(text)
    values: dict[str, Extracted] = {}  # type: ignore[type-arg]
    findings = [Finding("TEMPLATE_NONE", Severity.INFO,
                        f"no issuer template matched; number, date, total, currency and VAT id read by the "
                        f"{language} labels")]
    number = find_number(rows)
    if number:
        values["number"] = Extracted(number, CONF_FALLBACK, Source.FALLBACK)
    decimal_comma = decimal_comma_of(text)
    total = find_total(rows, decimal_comma=decimal_comma)
    currency = total.currency if total else None
    if total is not None:
        values["total_with_tax"] = Extracted(total.amount, CONF_FALLBACK if total.rank == 2 else CONF_GUESS,
                                             Source.FALLBACK)
    if currency is None:
        currency = currency_in(text)
    if currency:
        values["currency"] = Extracted(currency, CONF_FALLBACK, Source.FALLBACK)
    issued, certain, raw = find_date(rows, day_first=day_first_of(text, language, currency))
    if issued is None:
        issued, raw = find_unlabelled_date(rows, day_first=day_first_of(text, language, currency))
        certain = False
        if issued is not None:
            findings.append(Finding("DATE_UNLABELLED", Severity.WARN,
                                    f"no issue date label; {raw!r} is the first date printed", field="issue_date"))
    if issued is not None:
        values["issue_date"] = Extracted(issued, CONF_FALLBACK if certain else CONF_GUESS, Source.FALLBACK)
        if not certain and not any(f.code == "DATE_UNLABELLED" for f in findings):
            findings.append(Finding("DATE_AMBIGUOUS", Severity.WARN,
                                    f"date {raw!r} may be day/month or month/day", field="issue_date"))
    m = _VAT.search(text) or _GSTIN.search(text)
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
