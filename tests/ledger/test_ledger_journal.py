"""Posting to the journal, on SQLite and PostgreSQL: outcomes, idempotency, reversals, derived balances."""

from __future__ import annotations

from datetime import UTC, date
from decimal import Decimal

import pytest
from sqlalchemy import func, text
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session, select

from smartfin.ledger import (
    AlreadyBudgeted,
    Bucket,
    BudgetExceeded,
    BudgetLineClosed,
    BudgetLineKey,
    BudgetLineNotEffective,
    CheckOutcome,
    DocumentConflict,
    JournalEntry,
    JournalIsAppendOnly,
    LineAlreadyExists,
    NoSuchBudgetLine,
    NoSuchDocument,
    Override,
    adjust,
    balances,
    balances_from_entries,
    check_budget,
    close_line,
    create_line,
    document_holdings,
    encumber,
    line_journal,
    pre_encumber,
    record_actual,
    release,
    reverse_entry,
    set_budget,
)
from smartfin.store.audit import AuditEntry, record_audit

from .conftest import KEY

D = Decimal
REQ = "spending-request"
DECIDED = date(2026, 5, 1)  # an adjustment's effective date within KEY's fiscal year, whatever today is


def budgeted(session: Session, amount: str = "1000.00", **options: object) -> None:
    create_line(session, KEY, actor="planner", name="专用材料费", budget=amount, **options)  # type: ignore[arg-type]


def reserve(session: Session, no: str, amount: str, **kwargs: object) -> JournalEntry:
    return pre_encumber(session, KEY, amount, document_type=REQ, document_no=no, actor="worker",
                        **kwargs)  # type: ignore[arg-type]


def audits(session: Session, action: str) -> list[AuditEntry]:
    return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def test_create_line_posts_budget_and_balances_are_derived(session: Session) -> None:
    budgeted(session, "1000.00", tolerance_pct="5", tolerance_amount="30.50", warning_pct="80")
    reserve(session, "REQ-1", "100.00")
    result = balances(session, KEY)
    assert (result.budget, result.pre_encumbrance, result.available) == (D("1000.00"), D("100.00"), D("900.00"))
    line = line_journal(session, KEY)
    assert [e.bucket for e in line] == ["budget", "pre_encumbrance"]
    reference = balances_from_entries((e.bucket, e.amount_fen) for e in line)
    assert reference == result
    with pytest.raises(LineAlreadyExists):
        budgeted(session)


def test_line_settings_are_stored_exactly(session: Session) -> None:
    budgeted(session, tolerance_pct="2.25", tolerance_amount="0.10", warning_pct="85.5")
    session.commit()
    session.expunge_all()
    line = check_budget(session, KEY, "1.00")
    from smartfin.ledger.control import find_line

    stored = find_line(session, KEY)
    assert stored is not None
    assert (stored.tolerance_bp, stored.tolerance_fen, stored.warning_bp) == (225, 10, 8550)
    assert (stored.tolerance_pct, stored.tolerance_amount, stored.warning_pct) == (D("2.25"), D("0.10"),
                                                                                   D("85.50"))
    assert line.outcome is CheckOutcome.WITHIN


def test_set_budget_twice_is_refused_but_repeat_of_same_document_is_not(session: Session) -> None:
    create_line(session, KEY, actor="planner")
    first = set_budget(session, KEY, "500.00", document_no="B-1", actor="planner")
    assert set_budget(session, KEY, "500.00", document_no="B-1", actor="planner").id == first.id
    with pytest.raises(AlreadyBudgeted, match="use an adjustment") as caught:
        set_budget(session, KEY, "600.00", document_no="B-2", actor="planner")
    assert caught.value.code == "BUDGET_ALREADY_SET"


def test_check_budget_outcomes_against_the_database(session: Session) -> None:
    assert check_budget(session, KEY, "1.00").outcome is CheckOutcome.NO_SUCH_LINE
    budgeted(session, "1000.00", tolerance_amount="50.00")
    assert check_budget(session, KEY, "100.00").outcome is CheckOutcome.WITHIN
    assert check_budget(session, KEY, "950.00").outcome is CheckOutcome.EARLY_WARNING
    assert check_budget(session, KEY, "1040.00").outcome is CheckOutcome.WITHIN_TOLERANCE
    over = check_budget(session, KEY, "1050.01")
    assert (over.outcome, over.blocking, over.code) == (CheckOutcome.OVER_BUDGET, True, "BUDGET_EXCEEDED")
    # A check reserves nothing.
    assert balances(session, KEY).available == D("1000.00")


def test_pre_encumber_is_idempotent_per_document(session: Session) -> None:
    budgeted(session)
    first = reserve(session, "REQ-2026-0001", "300.00")
    again = reserve(session, "REQ-2026-0001", "300.00")
    assert again.id == first.id
    assert balances(session, KEY).pre_encumbrance == D("300.00")
    with pytest.raises(DocumentConflict) as caught:
        reserve(session, "REQ-2026-0001", "301.00")
    assert caught.value.code == "BUDGET_DOCUMENT_CONFLICT" and "300.00" in caught.value.message
    other = BudgetLineKey(2026, "0301", "30211", "fiscal")  # type: ignore[arg-type]
    create_line(session, other, actor="planner", budget="100.00")
    with pytest.raises(DocumentConflict):
        pre_encumber(session, other, "300.00", document_type=REQ, document_no="REQ-2026-0001", actor="w")


def test_pre_encumber_refusals_carry_codes_and_bilingual_messages(session: Session) -> None:
    with pytest.raises(NoSuchBudgetLine) as missing:
        reserve(session, "REQ-1", "1.00")
    assert missing.value.code == "BUDGET_LINE_UNKNOWN" and "预算行不存在" in missing.value.message
    budgeted(session, "100.00", effective_from=date(2026, 1, 1), effective_to=date(2026, 12, 31))
    with pytest.raises(BudgetExceeded) as over:
        reserve(session, "REQ-2", "100.01", on=date(2026, 6, 1))
    assert over.value.code == "BUDGET_EXCEEDED"
    assert over.value.check is not None and over.value.check.available == D("100.00")
    assert "预算超支" in over.value.message and "Budget exceeded" in over.value.message
    with pytest.raises(BudgetLineNotEffective) as early:
        reserve(session, "REQ-3", "1.00", on=date(2025, 12, 31))
    assert early.value.code == "BUDGET_LINE_NOT_EFFECTIVE"
    close_line(session, KEY, actor="planner", reason="year end")
    with pytest.raises(BudgetLineClosed) as closed:
        reserve(session, "REQ-4", "1.00", on=date(2026, 6, 1), override=Override("cfo", "urgent"))
    assert closed.value.code == "BUDGET_LINE_CLOSED"
    assert balances(session, KEY).pre_encumbrance == 0


def test_advisory_and_track_lines_post_over_budget(session: Session, caplog: pytest.LogCaptureFixture) -> None:
    budgeted(session, "100.00", control_level="advisory")
    with caplog.at_level("WARNING", logger="smartfin.ledger"):
        reserve(session, "REQ-1", "150.00")
    assert balances(session, KEY).available == D("-50.00")
    assert any("预算超支" in r.message for r in caplog.records)
    track = BudgetLineKey(2026, "0301", "30299", "own")  # type: ignore[arg-type]
    create_line(session, track, actor="planner", budget="10.00", control_level="track")
    with caplog.at_level("INFO", logger="smartfin.ledger"):
        pre_encumber(session, track, "20.00", document_type=REQ, document_no="REQ-2", actor="w")
    assert balances(session, track).available == D("-10.00")
    assert any("logged only" in r.message for r in caplog.records)


def test_override_is_recorded_on_the_entry_and_audited(session: Session) -> None:
    budgeted(session, "100.00")
    entry = reserve(session, "REQ-9", "180.00",
                    override=Override("chief-accountant-li", "超支报告 OSR-7 approved by the unit head"))
    assert entry.override_by == "chief-accountant-li"
    assert entry.override_reason == "超支报告 OSR-7 approved by the unit head"
    assert entry.override_at is not None and entry.override_at.tzinfo is not None
    [audit] = audits(session, "budget.override")
    details = audit.details_dict
    assert audit.actor == "chief-accountant-li" and audit.subject_id == str(entry.id)
    assert details["amount"] == "180.00" and details["available_before"] == "100.00"
    assert details["code"] == "BUDGET_EXCEEDED" and details["document_no"] == "REQ-9"
    assert balances(session, KEY).available == D("-80.00")
    # An override that is not needed is not recorded.
    budget_key = BudgetLineKey(2026, "0302", "30218", "fiscal")  # type: ignore[arg-type]
    create_line(session, budget_key, actor="p", budget="100.00")
    plain = pre_encumber(session, budget_key, "10.00", document_type=REQ, document_no="REQ-10", actor="w",
                         override=Override("cfo", "just in case"))
    assert plain.override_by is None
    assert len(audits(session, "budget.override")) == 1
    with pytest.raises(ValueError, match="justification"):
        Override("cfo", " ")


def test_release_is_a_reversal_and_idempotent(session: Session) -> None:
    budgeted(session)
    original = reserve(session, "REQ-1", "250.00")
    reversal = release(session, document_type=REQ, document_no="REQ-1", bucket=Bucket.PRE_ENCUMBRANCE,
                       actor="approver", reason="rejected")
    assert reversal is not None
    assert (reversal.amount, reversal.reverses, reversal.reason) == (D("-250.00"), original.id, "rejected")
    assert release(session, document_type=REQ, document_no="REQ-1", bucket="pre_encumbrance",
                   actor="approver", reason="rejected") is None
    assert release(session, document_type=REQ, document_no="NEVER", bucket="pre_encumbrance",
                   actor="approver", reason="x") is None
    assert balances(session, KEY).available == D("1000.00")
    # A resubmitted request may reserve again, with a new amount.
    again = reserve(session, "REQ-1", "200.00")
    assert again.id != original.id
    assert document_holdings(session, REQ, "REQ-1")[Bucket.PRE_ENCUMBRANCE] == D("200.00")
    with pytest.raises(ValueError, match="commitment buckets"):
        release(session, document_type=REQ, document_no="REQ-1", bucket="budget", actor="a", reason="r")


def test_request_contract_payment_moves_money_between_buckets(session: Session) -> None:
    budgeted(session, "1000.00")
    reserve(session, "REQ-1", "400.00")
    enc = encumber(session, document_type=REQ, document_no="REQ-1", actor="buyer", contract_no="HT-2026-17")
    assert (enc.bucket, enc.amount, enc.reference) == ("encumbrance", D("400.00"), "HT-2026-17")
    assert encumber(session, document_type=REQ, document_no="REQ-1", actor="buyer").id == enc.id
    after_contract = balances(session, KEY)
    assert (after_contract.pre_encumbrance, after_contract.encumbrance, after_contract.available) == (
        D("0.00"), D("400.00"), D("600.00"))
    # A redelivered pre-encumbrance of a document that has moved on is answered, not re-posted.
    assert reserve(session, "REQ-1", "400.00").bucket == "pre_encumbrance"
    assert balances(session, KEY).pre_encumbrance == 0

    paid = record_actual(session, document_type=REQ, document_no="REQ-1", amount="380.00", actor="cashier",
                         voucher_no="记-0815")
    assert record_actual(session, document_type=REQ, document_no="REQ-1", amount="380.00",
                         actor="cashier").id == paid.id
    with pytest.raises(DocumentConflict):
        record_actual(session, document_type=REQ, document_no="REQ-1", amount="390.00", actor="cashier")
    final = balances(session, KEY)
    assert (final.encumbrance, final.actual, final.available) == (D("0.00"), D("380.00"), D("620.00"))
    holdings = document_holdings(session, REQ, "REQ-1")
    assert holdings.key == KEY
    assert holdings[Bucket.PRE_ENCUMBRANCE] == 0 and holdings[Bucket.ENCUMBRANCE] == 0
    assert holdings[Bucket.ACTUAL] == D("380.00") and holdings.total == D("380.00")
    reversals = [e for e in line_journal(session, KEY) if e.reverses is not None]
    assert [e.bucket for e in reversals] == ["pre_encumbrance", "encumbrance"]
    assert sum(e.amount_fen for e in line_journal(session, KEY) if e.bucket != "budget") == 38000


def test_moving_more_than_was_reserved_checks_only_the_increase(session: Session) -> None:
    budgeted(session, "1000.00")
    reserve(session, "REQ-1", "900.00")
    encumber(session, document_type=REQ, document_no="REQ-1", amount="1000.00", actor="buyer")
    with pytest.raises(BudgetExceeded):
        record_actual(session, document_type=REQ, document_no="REQ-1", amount="1000.01", actor="cashier")
    paid = record_actual(session, document_type=REQ, document_no="REQ-1", amount="1000.01", actor="cashier",
                         override=Override("cfo", "bank fee"))
    assert paid.override_by == "cfo"
    assert balances(session, KEY).available == D("-0.01")


def test_direct_actual_needs_a_line(session: Session) -> None:
    budgeted(session, "100.00")
    with pytest.raises(NoSuchDocument) as caught:
        record_actual(session, document_type="claim", document_no="BX-1", amount="10.00", actor="cashier")
    assert caught.value.code == "BUDGET_DOCUMENT_UNKNOWN"
    paid = record_actual(session, document_type="claim", document_no="BX-1", amount="10.00", actor="cashier",
                         key=KEY)
    assert paid.bucket == "actual" and balances(session, KEY).actual == D("10.00")
    with pytest.raises(BudgetExceeded):
        record_actual(session, document_type="claim", document_no="BX-2", amount="90.01", actor="cashier",
                      key=KEY)


def test_adjustments_are_signed_idempotent_and_audited(session: Session) -> None:
    budgeted(session, "1000.00")
    up = adjust(session, KEY, "200.00", document_no="ADJ-1", actor="planner", reason="院长办公会 2026-05",
                effective_on=DECIDED)
    assert adjust(session, KEY, "200.00", document_no="ADJ-1", actor="planner", reason="again").id == up.id
    with pytest.raises(DocumentConflict):
        adjust(session, KEY, "250.00", document_no="ADJ-1", actor="planner", reason="again", effective_on=DECIDED)
    reserve(session, "REQ-1", "1100.00")
    with pytest.raises(BudgetExceeded):
        adjust(session, KEY, "-100.01", document_no="ADJ-2", actor="planner", reason="cut", effective_on=DECIDED)
    adjust(session, KEY, "-100.00", document_no="ADJ-3", actor="planner", reason="cut", effective_on=DECIDED)
    result = balances(session, KEY)
    assert (result.adjustment, result.authorised, result.available) == (D("100.00"), D("1100.00"), D("0.00"))
    assert len(audits(session, "budget.adjusted")) == 2


def test_wrong_entries_are_corrected_by_reversal(session: Session) -> None:
    budgeted(session, "1000.00")
    wrong = adjust(session, KEY, "500.00", document_no="ADJ-9", actor="planner", reason="typo", effective_on=DECIDED)
    reversal = reverse_entry(session, wrong.id or 0, actor="chief", reason="entered twice")
    assert (reversal.amount, reversal.reverses) == (D("-500.00"), wrong.id)
    assert balances(session, KEY).adjustment == 0
    with pytest.raises(ValueError, match="already been reversed"):
        reverse_entry(session, wrong.id or 0, actor="chief", reason="again")
    with pytest.raises(ValueError, match="itself a reversal"):
        reverse_entry(session, reversal.id or 0, actor="chief", reason="again")
    assert len(line_journal(session, KEY)) == 3


def test_journal_is_append_only(session: Session) -> None:
    budgeted(session)
    entry = reserve(session, "REQ-1", "10.00")
    session.commit()
    entry.amount_fen = 1
    with pytest.raises(JournalIsAppendOnly):
        session.flush()
    session.rollback()
    with pytest.raises(JournalIsAppendOnly):
        session.delete(session.get(JournalEntry, entry.id))
        session.flush()
    session.rollback()
    with pytest.raises(DatabaseError, match="append-only"):
        session.exec(text("UPDATE journal_entry SET amount_fen = 0"))  # type: ignore[call-overload]
    session.rollback()
    with pytest.raises(DatabaseError, match="append-only"):
        session.exec(text("DELETE FROM journal_entry"))  # type: ignore[call-overload]
    session.rollback()
    assert session.exec(select(func.sum(JournalEntry.amount_fen))).one() == 100000 + 1000


def test_timestamps_come_back_aware_in_utc(session: Session) -> None:
    budgeted(session)
    reserve(session, "REQ-1", "10.00")
    record_audit(session, actor="tester", action="test.done", subject_type="x", subject_id=1,
                 details={"amount": D("1.50"), "on": date(2026, 1, 2)})
    session.commit()
    session.expunge_all()
    for entry in line_journal(session, KEY):
        assert entry.created_at.tzinfo is not None and entry.created_at.utcoffset().total_seconds() == 0
    [audit] = audits(session, "test.done")
    assert audit.at.tzinfo == UTC
    assert audit.details_dict == {"amount": "1.50", "on": "2026-01-02"}


def test_unknown_line_for_balances(session: Session) -> None:
    with pytest.raises(NoSuchBudgetLine):
        balances(session, KEY)
