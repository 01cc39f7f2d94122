"""The payment voucher of a claim, as the project's records justify it (the claim's voucher source).

One place builds a claim's voucher: ``prepare-claim-voucher`` puts it into the process (a copy for the
forms), and the posting step asks ``recorded_claim_voucher`` again for the voucher it actually posts and
compares the copy with it. Both read the claim from the ``claim`` table; neither reads a variable.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel import Session

from smartfin.kernel.money import format_yuan
from smartfin.ledger import Bucket, document_holdings, payment_problems
from smartfin.ports.vouchers import Voucher, payment_voucher
from smartfin.posting.sources import VoucherRefused
from smartfin.processes.reimbursement.claims import DOCUMENT_TYPE, Claim, ClaimStatus, claim_files


def claim_voucher(claim: Claim, files: int, booked_on: date) -> Voucher:
    """Debit the expense, credit the bank, with the parallel budget lines, for the claim's payable amount."""
    summary = f"报销 {claim.claim_no} {claim.purpose}"[:60]
    return payment_voucher(document_type=DOCUMENT_TYPE, document_no=claim.claim_no, booked_on=booked_on,
                           summary=summary, amount=claim.payable or Decimal("0.00"), attachments=files)


def claim_payable(session: Session, claim: Claim) -> bool:
    """Whether the record allows paying the claim now: the one condition posting asks, to be tightened here.

    The claim is ``approved`` (set only by the control step ``verify-claim-approvals``, once the stored chain
    and the finance audit held against the engine's history; paid, rejected and invalid claims are not), its
    payable amount is positive,
    and exactly that amount is pre-encumbered for it in the budget ledger (what recording the actual
    after posting releases).
    """
    payable = claim.payable
    if claim.status != ClaimStatus.APPROVED or payable is None or payable <= 0:
        return False
    return document_holdings(session, DOCUMENT_TYPE, claim.claim_no)[Bucket.PRE_ENCUMBRANCE] == payable


def recorded_claim_voucher(session: Session, claim_no: str, booked_on: date) -> Voucher:
    """The claim's voucher source: its voucher from the record, or why it must not be paid — including the
    budget checked again at payment (line open and in force on the booking day, reservation still held,
    amount within held + available: ``smartfin.ledger.payment_problems``)."""
    claim = session.get(Claim, claim_no)
    if claim is None:
        raise VoucherRefused([f"报销单 {claim_no} 未登记 / claim {claim_no} is not recorded"])
    if not claim_payable(session, claim):
        held = document_holdings(session, DOCUMENT_TYPE, claim_no)[Bucket.PRE_ENCUMBRANCE]
        payable = format_yuan(claim.payable) if claim.payable is not None else "—"
        raise VoucherRefused([f"报销单 {claim_no} 不可付款：状态 {claim.status}，应付 {payable}，预占 "
                              f"{format_yuan(held)} / claim {claim_no} is not payable: status {claim.status}, "
                              f"payable {payable}, pre-encumbered {format_yuan(held)} (approved, with the "
                              "payable amount reserved, is required)"])
    problems = payment_problems(session, document_type=DOCUMENT_TYPE, document_no=claim_no,
                                amount=claim.payable or Decimal("0.00"), on=booked_on)
    if problems:
        # the budget checked again inside the posting step: the line may have been closed, its period ended,
        # or the reservation released since the claim was approved
        raise VoucherRefused([f"报销单 {claim_no} 预算复核未通过 / claim {claim_no} fails the budget check at "
                              f"payment: {problem}" for problem in problems])
    return claim_voucher(claim, len(claim_files(session, claim_no)), booked_on)
