"""The posting journal's state machine and the at-most-once procedure, against a fake ERP."""

from __future__ import annotations

import asyncio
import itertools
from datetime import date
from decimal import Decimal

import pytest

from smartfin.ports.vouchers import Voucher, payment_voucher
from smartfin.posting.journal import (
    DuplicateOnPortal,
    IllegalTransition,
    PostingNotVerified,
    PostingState,
    VoucherPosting,
    VoucherRejected,
    find_entry,
    open_entry,
    post_idempotently,
    transition,
)
from smartfin.store.db import session_scope

_numbers = itertools.count(1)


def voucher(amount: str = "88.00", no: str | None = None) -> Voucher:
    return payment_voucher(document_type="test", document_no=no or f"J-{next(_numbers)}", booked_on=date(2026, 4, 1),
                           summary="测试", amount=Decimal(amount))


class FakeErp:
    """Remembers what was entered; ``reject`` makes it refuse like a validation page."""

    def __init__(self, held: dict[str, list[str]] | None = None, reject: str | None = None,
                 lose_after_save: bool = False) -> None:
        self.held = held or {}
        self.reject = reject
        self.lose_after_save = lose_after_save
        self.entered: list[str] = []
        self.lookups = 0

    async def find(self, external_ref: str) -> list[str]:
        self.lookups += 1
        return list(self.held.get(external_ref, []))

    async def enter(self, v: Voucher) -> str:
        if self.reject:
            raise VoucherRejected(self.reject)
        number = f"付-2026-04-{len(self.entered) + 1:04d}"
        self.entered.append(v.external_ref)
        if not self.lose_after_save:
            self.held.setdefault(v.external_ref, []).append(number)
        return number

    async def evidence(self, reason: str) -> str | None:
        return "/evidence/folder"


def post(v: Voucher, erp: FakeErp):  # type: ignore[no-untyped-def]
    return asyncio.run(post_idempotently(v, erp))


def test_first_posting_looks_up_enters_verifies_and_records_the_number() -> None:
    v, erp = voucher(), FakeErp()
    result = post(v, erp)
    assert result.voucher_no == "付-2026-04-0001" and not result.reconciled
    assert erp.entered == [v.external_ref] and erp.lookups == 2  # before and after saving
    entry = find_entry(v.external_ref)
    assert entry is not None and entry.state == PostingState.POSTED and entry.voucher_no == result.voucher_no
    assert entry.attempts == 1 and result.posted_at_local.endswith("+08:00")


def test_second_call_for_a_posted_voucher_touches_nothing() -> None:
    v, erp = voucher(), FakeErp()
    first = post(v, erp)
    again = post(v, erp)
    assert again.voucher_no == first.voucher_no and again.already_recorded
    assert erp.entered == [v.external_ref] and erp.lookups == 2


def test_a_crashed_submitting_entry_is_reconciled_from_the_portal_not_entered_again() -> None:
    v = voucher()
    with session_scope() as session:
        transition(session, open_entry(session, v), PostingState.SUBMITTING)
    erp = FakeErp(held={v.external_ref: ["付-2026-04-0042"]})  # the portal saved it before the crash
    result = post(v, erp)
    assert result.voucher_no == "付-2026-04-0042" and result.reconciled
    assert erp.entered == []
    assert find_entry(v.external_ref).state == PostingState.POSTED  # type: ignore[union-attr]


def test_a_crashed_submitting_entry_the_portal_never_saved_is_entered_once() -> None:
    v = voucher()
    with session_scope() as session:
        transition(session, open_entry(session, v), PostingState.SUBMITTING, attempts=1)
    erp = FakeErp()
    assert post(v, erp).voucher_no == "付-2026-04-0001"
    assert erp.entered == [v.external_ref]
    assert find_entry(v.external_ref).attempts == 2  # type: ignore[union-attr]


def test_a_voucher_keyed_by_hand_is_adopted() -> None:
    v = voucher()
    erp = FakeErp(held={v.external_ref: ["记-2026-04-0100"]})
    assert post(v, erp).voucher_no == "记-2026-04-0100"
    assert erp.entered == []


def test_rejection_is_recorded_as_failed_with_the_portal_text_and_evidence() -> None:
    v = voucher()
    with pytest.raises(VoucherRejected) as rejected:
        post(v, FakeErp(reject="财务会计分录第1行：科目代码“5999”不存在"))
    assert rejected.value.evidence == "/evidence/folder"
    entry = find_entry(v.external_ref)
    assert entry is not None and entry.state == PostingState.FAILED
    assert entry.message == "财务会计分录第1行：科目代码“5999”不存在" and entry.evidence_path == "/evidence/folder"


def test_a_corrected_voucher_can_be_posted_after_a_rejection() -> None:
    ref_no = f"J-fix-{next(_numbers)}"
    with pytest.raises(VoucherRejected):
        post(voucher("10.00", ref_no), FakeErp(reject="金额有误"))
    erp = FakeErp()
    assert post(voucher("12.00", ref_no), erp).voucher_no
    entry = find_entry(f"test:{ref_no}")
    assert entry is not None and entry.amount == "12.00" and entry.state == PostingState.POSTED


def test_different_content_under_a_posted_reference_is_refused() -> None:
    ref_no = f"J-diff-{next(_numbers)}"
    post(voucher("10.00", ref_no), FakeErp())
    with pytest.raises(VoucherRejected, match="different content"):
        post(voucher("11.00", ref_no), FakeErp())


def test_several_portal_vouchers_with_one_reference_stop_for_a_person() -> None:
    v = voucher()
    with pytest.raises(DuplicateOnPortal):
        post(v, FakeErp(held={v.external_ref: ["付-1", "付-2"]}))


def test_a_save_the_search_does_not_confirm_stays_submitting_for_reconciliation() -> None:
    v = voucher()
    with pytest.raises(PostingNotVerified):
        post(v, FakeErp(lose_after_save=True))
    assert find_entry(v.external_ref).state == PostingState.SUBMITTING  # type: ignore[union-attr]


def test_posted_is_terminal() -> None:
    v = voucher()
    post(v, FakeErp())
    with session_scope() as session:
        entry = session.get(VoucherPosting, v.external_ref)
        assert entry is not None
        with pytest.raises(IllegalTransition):
            transition(session, entry, PostingState.SUBMITTING)
