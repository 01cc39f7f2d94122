"""Receipts that are not VAT invoices: finance-bureau e-receipts (财政电子票据)."""

from extractors.receipts.fiscal import FiscalReceipt, ReceiptItem, ReceiptKind, check_receipt, read_fiscal_receipt

__all__ = ["FiscalReceipt", "ReceiptItem", "ReceiptKind", "check_receipt", "read_fiscal_receipt"]
