"""Invoices in, typed records out: Chinese VAT electronic invoices (XML, OFD, PDF) and foreign invoices.

``extract_invoice`` is the entry point; everything else is importable for tests and for the audit rules.
"""

from extractors.invoice.extract import ExtractionSettings, extract_invoice, sniff_format
from extractors.invoice.model import (
    Extracted,
    ExtractionResult,
    InvoiceKind,
    InvoiceRecord,
    LineItem,
    Source,
    SourceFormat,
)
from extractors.invoice.uppercase import UppercaseAmountError, format_uppercase_amount, parse_uppercase_amount
from extractors.invoice.uscc import is_valid_uscc, uscc_check_char
from extractors.invoice.validation import validate_record

__all__ = [
    "Extracted",
    "ExtractionResult",
    "ExtractionSettings",
    "InvoiceKind",
    "InvoiceRecord",
    "LineItem",
    "Source",
    "SourceFormat",
    "UppercaseAmountError",
    "extract_invoice",
    "format_uppercase_amount",
    "is_valid_uscc",
    "parse_uppercase_amount",
    "sniff_format",
    "uscc_check_char",
    "validate_record",
]
