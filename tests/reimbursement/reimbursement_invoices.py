"""Invoices made for the reimbursement tests: the project's generated samples, with the dates and amounts
a claim test needs (the corpus's own dates lie years back, which the deadline rule would flag)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from extractors.invoice import InvoiceKind
from extractors.invoice.uppercase import format_uppercase_amount
from tests.support.invoice_samples import (
    LAYOUT_STYLES,
    PdfPainter,
    digital_xml,
    draw_digital,
    draw_pre2024,
    invoice_values,
)

CHINA = ZoneInfo("Asia/Shanghai")


def china_today() -> date:
    return datetime.now(CHINA).date()


def invoice_values_for(seed: int | str, *, kind: InvoiceKind = InvoiceKind.DIGITAL, issued: date | None = None,
                       total: Decimal | None = None) -> dict[str, Any]:
    """Plausible invoice values issued on ``issued`` (default: 3 days ago), with one item of ``total``."""
    rng = random.Random(f"claims:{seed}")
    values = invoice_values(rng, kind, item_count=1)
    issued = issued or china_today() - timedelta(days=3)
    values["issue_date"] = issued
    if kind is InvoiceKind.DIGITAL:
        values["number"] = f"{issued.year % 100:02d}" + values["number"][2:]
    if total is not None:
        item = values["items"][0]
        item.update({"quantity": Decimal(1), "unit_price": total, "amount": total, "tax_rate": Decimal(0),
                     "tax": Decimal("0.00")})
        values.update({"total_amount": total, "total_tax": Decimal("0.00"), "total_with_tax": total,
                       "total_uppercase": format_uppercase_amount(total)})
    return values


def xml_invoice(seed: int | str, **options: Any) -> tuple[str, bytes, dict[str, Any]]:
    """A digitalised invoice as XML: (filename, bytes, values)."""
    values = invoice_values_for(seed, **options)
    return f"dzfp_{values['number']}.xml", digital_xml(values), values


def pdf_invoice(seed: int | str, layout: str = "pre2024-standard", **options: Any) -> tuple[str, bytes, dict[str, Any]]:
    """A Chinese invoice PDF in one of the corpus layouts: (filename, bytes, values)."""
    kind, style, _ = LAYOUT_STYLES[layout]
    values = invoice_values_for(seed, kind=kind, **options)
    painter = PdfPainter()
    (draw_digital if kind is InvoiceKind.DIGITAL else draw_pre2024)(painter, values, style, random.Random(seed))
    return f"{layout}-{seed}.pdf", painter.finish(), values
