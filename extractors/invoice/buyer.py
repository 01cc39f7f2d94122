"""Buyer title (购买方抬头): an invoice the hospital pays must be made out to the hospital.

An invoice that carries a buyer tax id must carry the hospital's unified social credit code and name; an
invoice to a person (a name, no tax id) is acceptable only where the reimbursement standards allow a
personal title for the claim's category. The hospital's name and code come from the settings, the
allowance from the caller, so this module stays free of storage and rules.
"""

from __future__ import annotations

import re
import unicodedata

from extractors.invoice.model import InvoiceKind, InvoiceRecord
from smartfin.kernel.findings import Finding, Severity

TITLE_REVIEW_CODES = frozenset({"BUYER_NAME_MISMATCH", "BUYER_TITLE_MISSING"})


def _compact(text: str) -> str:
    """Names compared without spaces and with full-width punctuation folded (（） → ())."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()


def check_buyer_title(record: InvoiceRecord, *, hospital_name: str, hospital_uscc: str,
                      personal_title_allowed: bool, invoice: int | None = None) -> list[Finding]:
    """Findings when the buyer is not the hospital; a wrong tax id blocks, a wrong name goes to review.

    ``personal_title_allowed`` says whether the standards accept a person as buyer for this claim's
    category and amount. Foreign invoices and fiscal e-receipts (交款人, a payer) carry no VAT buyer title and
    are not checked.
    """
    if record.kind.value in (InvoiceKind.FOREIGN, InvoiceKind.FISCAL_RECEIPT):
        return []  # no Chinese VAT buyer title: a foreign invoice has none, a fiscal receipt names a payer
    where = f"第 {invoice + 1} 张发票 / invoice {invoice + 1}: " if invoice is not None else ""
    name = record.buyer_name.value
    tax_id = record.buyer_tax_id.value
    if tax_id:
        if _compact(tax_id) != _compact(hospital_uscc):
            return [Finding(
                "BUYER_NOT_HOSPITAL", Severity.BLOCK,
                f"{where}购买方税号 {tax_id} 不是本院 {hospital_uscc} / the buyer tax id {tax_id} "
                f"({name or 'no name'}) is not the hospital's {hospital_uscc}",
                evidence={"buyer_name": name, "buyer_tax_id": tax_id, "hospital_uscc": hospital_uscc},
                invoice=invoice, field="buyer_tax_id")]
        if name is not None and _compact(name) != _compact(hospital_name):
            return [Finding(
                "BUYER_NAME_MISMATCH", Severity.WARN,
                f"{where}购买方名称 {name} 与本院名称 {hospital_name} 不符 / the buyer name {name!r} differs from "
                f"the hospital's name {hospital_name!r} (tax id matches)",
                evidence={"buyer_name": name, "hospital_name": hospital_name}, invoice=invoice, field="buyer_name")]
        return []
    if name is None:
        return [Finding("BUYER_TITLE_MISSING", Severity.WARN,
                        f"{where}未读到购买方名称和税号 / neither buyer name nor buyer tax id was read",
                        invoice=invoice, field="buyer_name")]
    if _compact(name) == _compact(hospital_name):
        return [Finding("BUYER_TITLE_MISSING", Severity.WARN,
                        f"{where}购买方为本院但无税号 / the buyer is the hospital but its tax id is missing",
                        invoice=invoice, field="buyer_tax_id")]
    if personal_title_allowed:
        return []
    return [Finding(
        "PERSONAL_TITLE_NOT_ALLOWED", Severity.BLOCK,
        f"{where}个人抬头发票 ({name}) 不能报销此类费用 / the invoice is made out to {name!r}, not to the hospital; "
        "the standards accept a personal title only for the categories in buyer_titles.csv",
        evidence={"buyer_name": name}, invoice=invoice, field="buyer_name")]
