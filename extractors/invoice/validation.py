"""Checks on an extracted invoice record; each rule returns findings with a code and a message.

A clerk today catches a misread digit by eye; these rules catch it by arithmetic (check characters,
amount + tax = total, uppercase = figures) and route only the doubtful invoices to a person.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from extractors.invoice.model import InvoiceKind, InvoiceRecord
from extractors.invoice.uppercase import UppercaseAmountError, parse_uppercase_amount
from extractors.invoice.uscc import is_valid_org_code_part, is_valid_uscc
from smartfin.kernel.clock import hospital_today
from smartfin.kernel.findings import Finding, Severity

_DIGITS = {n: re.compile(rf"\d{{{n}}}") for n in (8, 12, 20)}
_TAX_ID = re.compile(r"[0-9A-Z]{15,20}")



def check_tax_id(tax_id: str | None, field: str) -> list[Finding]:
    """USCC check character (GB 32100-2015) for 18-character ids; older 15/17/20-character ids pass."""
    if not tax_id:
        return []
    if not _TAX_ID.fullmatch(tax_id):
        return [Finding("TAX_ID_FORMAT", Severity.WARN, f"tax id {tax_id!r} is not 15–20 letters/digits", field=field)]
    if len(tax_id) != 18:
        return [Finding("TAX_ID_LEGACY", Severity.INFO, f"tax id {tax_id!r} is not an 18-character credit code",
                        field=field)]
    if not is_valid_uscc(tax_id):
        return [Finding("USCC_CHECK_FAILED", Severity.WARN,
                        f"credit code {tax_id!r} fails its check character (GB 32100-2015)", field=field)]
    if not is_valid_org_code_part(tax_id):
        return [Finding("ORG_CODE_CHECK_FAILED", Severity.INFO,
                        f"organisation code inside {tax_id!r} fails its GB 11714 check", field=field)]
    return []


# one 20-digit number and no code, check code or machine number: digitalised invoices and travel tickets
_TWENTY_DIGITS = frozenset({InvoiceKind.DIGITAL, InvoiceKind.RAIL_TICKET, InvoiceKind.AIR_ITINERARY})


def check_identifiers(record: InvoiceRecord) -> list[Finding]:
    """Code, number, check code and machine number formats for the invoice's kind."""
    kind = record.kind.value
    out: list[Finding] = []
    number = record.number.value
    if kind is InvoiceKind.FOREIGN:
        return out
    if kind is InvoiceKind.FISCAL_RECEIPT:  # a corrected receipt: 8-digit code, 10-digit number, 6-character check code
        for field, pattern, label in (("code", r"\d{8}", "receipt code"), ("number", r"\d{10}", "receipt number"),
                                      ("check_code", r"[0-9A-Za-z]{6}", "check code")):
            value = getattr(record, field).value
            if value is None or not re.fullmatch(pattern, value):
                out.append(Finding(f"{field.upper()}_FORMAT", Severity.BLOCK if value is None else Severity.WARN,
                                   f"{label} {value!r} is not {pattern}", field=field))
        return out
    if number is None:
        out.append(Finding("NUMBER_MISSING", Severity.BLOCK, "invoice number not found", field="number"))
    elif kind in _TWENTY_DIGITS and not _DIGITS[20].fullmatch(number):
        out.append(Finding("NUMBER_FORMAT", Severity.WARN,
                           f"digitalised invoice number {number!r} is not 20 digits", field="number"))
    elif kind not in _TWENTY_DIGITS and not _DIGITS[8].fullmatch(number):
        out.append(Finding("NUMBER_FORMAT", Severity.WARN, f"invoice number {number!r} is not 8 digits",
                           field="number"))
    if kind in _TWENTY_DIGITS:
        return out
    for field, width, label in (("code", 12, "invoice code"), ("check_code", 20, "check code"),
                                ("machine_no", 12, "machine number")):
        value = getattr(record, field).value
        if value is None:
            severity = Severity.BLOCK if field == "code" else Severity.WARN
            out.append(Finding(f"{field.upper()}_MISSING", severity, f"{label} not found", field=field))
        elif not _DIGITS[width].fullmatch(value):
            out.append(Finding(f"{field.upper()}_FORMAT", Severity.WARN,
                               f"{label} {value!r} is not {width} digits", field=field))
    return out


def check_totals(record: InvoiceRecord) -> list[Finding]:
    """Amount + tax = total with tax, and the item rows add up to the totals."""
    out: list[Finding] = []
    amount, tax, total = record.total_amount.value, record.total_tax.value, record.total_with_tax.value
    if total is None:
        out.append(Finding("TOTAL_MISSING", Severity.BLOCK, "total with tax not found", field="total_with_tax"))
    elif amount is not None and tax is not None and amount + tax != total:
        out.append(Finding("TOTALS_MISMATCH", Severity.BLOCK,
                           f"amount {amount} + tax {tax} = {amount + tax}, but the total is {total}",
                           field="total_with_tax"))
    out += check_item_sums(record)
    return out


def check_item_sums(record: InvoiceRecord) -> list[Finding]:
    """Item amounts and item taxes add up exactly (Decimal) to the totals; else the difference is named.

    A clerk re-types mismatching items, so a mismatch or an item without amount sends the invoice to review.
    """
    out: list[Finding] = []
    for column, total_field, code, what in (("amount", "total_amount", "ITEMS_AMOUNT_MISMATCH", "amounts"),
                                            ("tax", "total_tax", "ITEMS_TAX_MISMATCH", "taxes")):
        total = getattr(record, total_field).value
        if not record.items or total is None:
            continue
        cells = [getattr(item, column).value for item in record.items]
        unread = [str(index + 1) for index, cell in enumerate(cells) if cell is None]
        if unread:
            out.append(Finding("ITEMS_INCOMPLETE", Severity.WARN,
                               f"item {column} not read on row(s) {', '.join(unread)}: the items cannot be checked "
                               f"against the {total_field.replace('_', ' ')}", field=f"items.{column}"))
            continue
        item_sum = sum(cells, Decimal("0"))  # type: ignore[arg-type]
        if item_sum != total:
            out.append(Finding(code, Severity.WARN,
                               f"item {what} add up to {item_sum}, the {total_field.replace('_', ' ')} is {total}: "
                               f"difference {item_sum - total}", field=total_field,
                               evidence={"items_sum": str(item_sum), "total": str(total),
                                         "difference": str(item_sum - total)}))
    return out


def check_uppercase_total(record: InvoiceRecord) -> list[Finding]:
    """The uppercase total (大写) must parse and equal the figures (小写)."""
    text, total = record.total_uppercase.value, record.total_with_tax.value
    if text is None or record.kind.value is InvoiceKind.FOREIGN:
        return []
    try:
        parsed = parse_uppercase_amount(text)
    except UppercaseAmountError as exc:
        return [Finding("UPPERCASE_UNPARSEABLE", Severity.WARN, str(exc), field="total_uppercase")]
    if total is not None and parsed != total:
        return [Finding("UPPERCASE_MISMATCH", Severity.BLOCK,
                        f"uppercase total reads {parsed}, the figures say {total}", field="total_uppercase")]
    return []


def check_issue_date(record: InvoiceRecord, today: date | None = None) -> list[Finding]:
    """The issue date must exist and must not lie in the future (China time)."""
    issued = record.issue_date.value
    if issued is None:
        return [Finding("ISSUE_DATE_MISSING", Severity.BLOCK, "issue date not found", field="issue_date")]
    today = today or hospital_today()
    if issued > today:
        return [Finding("ISSUE_DATE_IN_FUTURE", Severity.BLOCK,
                        f"issue date {issued.isoformat()} is after today ({today.isoformat()}, Asia/Shanghai)",
                        field="issue_date")]
    return []


def check_parties(record: InvoiceRecord) -> list[Finding]:
    """Seller and buyer names and tax ids (the buyer's may be absent for private persons)."""
    out: list[Finding] = []
    if record.seller_name.value is None:
        out.append(Finding("SELLER_NAME_MISSING", Severity.WARN, "seller name not found", field="seller_name"))
    if record.kind.value is InvoiceKind.FOREIGN:
        return out
    if record.buyer_name.value is None:
        out.append(Finding("BUYER_NAME_MISSING", Severity.WARN, "buyer name not found", field="buyer_name"))
    out += check_tax_id(record.seller_tax_id.value, "seller_tax_id")
    out += check_tax_id(record.buyer_tax_id.value, "buyer_tax_id")
    return out


RULES: tuple[Callable[[InvoiceRecord], list[Finding]], ...] = (
    check_identifiers, check_parties, check_totals, check_uppercase_total,
)


def validate_record(record: InvoiceRecord, *, today: date | None = None) -> list[Finding]:
    """Run every rule; the order of findings follows the order of the rules."""
    findings: list[Finding] = []
    for rule in RULES:
        findings += rule(record)
    findings += check_issue_date(record, today)
    return findings
