"""Which implementation stands behind each interface the core owns (``smartfin.ports``).

The claims ask an ``InvoiceVerifier`` (a person, or the tax-portal bot), the posting journal keys
vouchers through a ``VoucherPortal`` (the ERP bot), and posting asks ``VoucherSources`` which voucher
the records of a document justify (each business process contributes the source of its documents).
The bots are imported here and nowhere else in the core, and only when chosen, so the browser stack
loads only where it is used.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from smartfin.kernel.settings import Settings, get_settings
from smartfin.ports.verification import InvoiceVerifier
from smartfin.ports.vouchers import PostingResult, Voucher
from smartfin.posting import journal
from smartfin.posting.sources import VoucherSources

if TYPE_CHECKING:
    from bots.config import PortalAccount
    from bots.runtime import BotRuntime

VERIFIERS = ("manual", "tax-portal")


def configured_verifier(name: str | None = None) -> InvoiceVerifier:
    """The verifier named by ``SMARTFIN_INVOICE_VERIFIER`` (``manual`` or ``tax-portal``)."""
    choice = (name or get_settings().invoice_verifier or "manual").strip().lower()
    if choice == "manual":
        from smartfin.processes.reimbursement.verification import ManualVerifier

        return ManualVerifier()
    if choice == "tax-portal":
        from bots.tax_portal import TaxPortalVerifier  # the browser stack loads only when chosen

        verifier: InvoiceVerifier = TaxPortalVerifier(get_settings())
        return verifier
    raise ValueError(f"SMARTFIN_INVOICE_VERIFIER={choice!r} is not a known verifier (use manual or tax-portal)")


@cache
def voucher_sources() -> VoucherSources:
    """Every document type a voucher may be posted for, with the function reading it from the records.

    Claims: the ``reimbursement`` process is keyed by the claim number. A type missing here is refused
    by the posting step, whatever voucher a process carries for it.
    """
    from smartfin.processes.reimbursement.claims import DOCUMENT_TYPE as CLAIM
    from smartfin.processes.reimbursement.vouchers import recorded_claim_voucher

    sources = VoucherSources()
    sources.register(CLAIM, recorded_claim_voucher, process_key="reimbursement")
    return sources


def post_voucher(voucher: Voucher, *, runtime: BotRuntime | None = None, settings: Settings | None = None,
                 account: PortalAccount | None = None) -> PostingResult:
    """Post one voucher into the hospital's ERP at most once, through the ERP bot."""
    from bots.erp import ErpPortal  # the browser stack loads only when a voucher is really posted

    return journal.post_voucher(voucher, ErpPortal(runtime=runtime, settings=settings, account=account))
