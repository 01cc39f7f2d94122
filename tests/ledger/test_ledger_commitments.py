"""The commitment chain in the ledger: a later document consumes the holding of the one it cites, once
(SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from rules.budget import commitment_standards_on
from smartfin.kernel.clock import hospital_today
from smartfin.ledger import (
    Bucket,
    BudgetExceeded,
    BudgetLineKey,
    CitationRefused,
    DocumentLink,
    FundingSource,
    JournalEntry,
    balances,
    close_line,
    consume,
    create_line,
    document_holdings,
    lapse,
    payment_problems,
    pre_encumber,
    record_actual,
    release,
    release_saving,
)
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope

from .conftest import KEY

REQUEST = "spending-request"
CLAIM = "reimbursement-claim"
TODAY = hospital_today()


def _line(session: Session, key: BudgetLineKey = KEY, budget: str = "10000.00") -> None:
    create_line(session, key, actor="planner", budget=budget)


def _request(session: Session, number: str, amount: str, key: BudgetLineKey = KEY) -> None:
    pre_encumber(session, key, amount, document_type=REQUEST, document_no=number, actor="approver")


def _claim(session: Session, number: str, request: str, amount: str, **kwargs) -> None:  # type: ignore[no-untyped-def]
    consume(session, cited_type=REQUEST, cited_no=request, citing_type=CLAIM, citing_no=number, key=KEY,
            amount=amount, bucket=Bucket.PRE_ENCUMBRANCE, actor="system", **kwargs)


def test_claim_consumes_the_request_once_and_releases_the_saving(session: Session) -> None:
    _line(session)
    _request(session, "REQ-1", "1000.00")
    _claim(session, "BX-1", "REQ-1", "800.00")
    assert balances(session, KEY).pre_encumbrance == Decimal("1000.00"), "800 moved, 200 still held by the request"
    assert document_holdings(session, REQUEST, "REQ-1")[Bucket.PRE_ENCUMBRANCE] == Decimal("200.00")
    assert document_holdings(session, CLAIM, "BX-1")[Bucket.PRE_ENCUMBRANCE] == Decimal("800.00")

    _claim(session, "BX-1", "REQ-1", "800.00")  # a redelivered task moves nothing again
    assert balances(session, KEY).pre_encumbrance == Decimal("1000.00")

    record_actual(session, document_type=CLAIM, document_no="BX-1", actor="system", amount="800.00")
    saved = release_saving(session, cited_type=REQUEST, cited_no="REQ-1", citing_type=CLAIM, citing_no="BX-1",
                           actor="system")
    assert saved == Decimal("200.00")
    result = balances(session, KEY)
    assert (result.pre_encumbrance, result.actual, result.available) == (
        Decimal("0.00"), Decimal("800.00"), Decimal("9200.00"))
    assert release_saving(session, cited_type=REQUEST, cited_no="REQ-1", citing_type=CLAIM, citing_no="BX-1",
                          actor="system") == Decimal("0.00")
    link = session.exec(select(DocumentLink)).one()
    assert (link.consumed_fen, link.posted_fen, link.excess_fen, link.actor) == (80000, 80000, 0, "system")
    actions = [a.action for a in session.exec(select(AuditEntry).where(AuditEntry.subject_id == "REQ-1")).all()]
    assert actions.count("budget.consumed") == 1 and actions.count("budget.saving_released") == 1


def test_a_redelivered_request_reservation_does_not_reserve_a_consumed_request_again(session: Session) -> None:
    _line(session)
    _request(session, "REQ-1", "1000.00")
    _claim(session, "BX-1", "REQ-1", "1000.00")
    _request(session, "REQ-1", "1000.00")  # the spending worker's task delivered once more
    assert balances(session, KEY).pre_encumbrance == Decimal("1000.00")


def test_contract_moves_the_reservation_to_encumbrance_and_a_claim_consumes_the_contract(session: Session) -> None:
    _line(session)
    _request(session, "REQ-1", "1000.00")
    consume(session, cited_type=REQUEST, cited_no="REQ-1", citing_type="contract", citing_no="HT-1", key=KEY,
            amount="900.00", bucket=Bucket.ENCUMBRANCE, actor="wang.fang")
    release_saving(session, cited_type=REQUEST, cited_no="REQ-1", citing_type="contract", citing_no="HT-1",
                   actor="wang.fang")
    result = balances(session, KEY)
    assert (result.pre_encumbrance, result.encumbrance) == (Decimal("0.00"), Decimal("900.00"))
    consume(session, cited_type="contract", cited_no="HT-1", citing_type=CLAIM, citing_no="BX-1", key=KEY,
            amount="400.00", bucket=Bucket.PRE_ENCUMBRANCE, actor="system")
    result = balances(session, KEY)
    assert (result.pre_encumbrance, result.encumbrance, result.available) == (
        Decimal("400.00"), Decimal("500.00"), Decimal("9100.00"))


@pytest.mark.parametrize("amount, refused", [("1050.00", False), ("1060.00", True)])
def test_an_overrun_within_tolerance_is_new_money_and_beyond_it_needs_approval(session: Session, amount: str,
                                                                               refused: bool) -> None:
    standards = commitment_standards_on(TODAY)
    assert standards.overrun_allowed(Decimal("1000.00")) == Decimal("50.00"), "5 % of 1,000 (below ¥2,000)"
    _line(session)
    _request(session, "REQ-1", "1000.00")
    if refused:
        with pytest.raises(CitationRefused) as caught:
            _claim(session, "BX-1", "REQ-1", amount)
        assert caught.value.reason == "overrun" and "60.00" in caught.value.message
        assert balances(session, KEY).pre_encumbrance == Decimal("1000.00"), "nothing moved"
        _claim(session, "BX-1", "REQ-1", amount, overrun_approved=True)  # routed for approval by the caller
    else:
        _claim(session, "BX-1", "REQ-1", amount)
    assert balances(session, KEY).pre_encumbrance == Decimal(amount)
    link = session.exec(select(DocumentLink)).one()
    assert (link.excess_fen, link.within_tolerance) == (int(Decimal(amount) * 100) - 100000, not refused)


def test_an_overrun_still_has_to_fit_the_budget(session: Session) -> None:
    _line(session, budget="1000.00")
    _request(session, "REQ-1", "1000.00")
    with pytest.raises(BudgetExceeded):
        _claim(session, "BX-1", "REQ-1", "1010.00")
    assert session.exec(select(DocumentLink)).all() == []


def test_each_refusal_names_its_reason(session: Session) -> None:
    other_department = BudgetLineKey(KEY.fiscal_year, "0999", KEY.economic_code, FundingSource.FISCAL)
    other_line = BudgetLineKey(KEY.fiscal_year, KEY.department, "30201", FundingSource.FISCAL)
    for key in (KEY, other_department, other_line):
        _line(session, key)
    _request(session, "REQ-DEPT", "100.00", other_department)
    _request(session, "REQ-LINE", "100.00", other_line)
    _request(session, "REQ-GONE", "100.00")
    release(session, document_type=REQUEST, document_no="REQ-GONE", bucket=Bucket.PRE_ENCUMBRANCE, actor="x",
            reason="request withdrawn")
    _request(session, "REQ-USED", "100.00")
    _claim(session, "BX-FIRST", "REQ-USED", "100.00")
    cases = {"REQ-NONE": "not-approved", "REQ-DEPT": "other-department", "REQ-LINE": "other-line",
             "REQ-GONE": "closed", "REQ-USED": "consumed"}
    for number, reason in cases.items():
        with pytest.raises(CitationRefused) as caught:
            _claim(session, f"BX-{number}", number, "50.00")
        assert caught.value.reason == reason, (number, caught.value.message)
        assert number in caught.value.message
    assert "BX-FIRST" in _refusal(session, "REQ-USED").message
    assert "withdrawn" in _refusal(session, "REQ-GONE").message


def _refusal(session: Session, number: str) -> CitationRefused:
    with pytest.raises(CitationRefused) as caught:
        _claim(session, "BX-AGAIN", number, "50.00")
    return caught.value


def test_an_expired_request_is_refused_and_lapses_by_rule_once(session: Session) -> None:
    _line(session)
    _request(session, "REQ-OLD", "300.00")
    _request(session, "REQ-NEW", "200.00")
    validity = commitment_standards_on(TODAY).request_validity_days
    later = TODAY + timedelta(days=validity + 1)
    with pytest.raises(CitationRefused) as caught:
        _claim(session, "BX-1", "REQ-OLD", "100.00", on=later)
    assert caught.value.reason == "expired" and str(TODAY) in caught.value.message

    lapsed = lapse(session, document_types=(REQUEST,), as_of=TODAY)
    assert lapsed == [], "nothing lapses while valid and the year runs"
    lapsed = lapse(session, document_types=(REQUEST,), as_of=later)
    assert {x.document_no for x in lapsed} == {"REQ-OLD", "REQ-NEW"}
    assert all(("validity" in x.rule) or ("year-end" in x.rule) for x in lapsed)
    assert lapse(session, document_types=(REQUEST,), as_of=later) == [], "idempotent"
    assert balances(session, KEY).pre_encumbrance == Decimal("0.00")
    audits = session.exec(select(AuditEntry).where(AuditEntry.action == "budget.lapsed")).all()
    assert len(audits) == 2 and all("rule" in a.details_dict for a in audits)


def test_year_end_lapse_releases_requests_of_a_closed_year_but_not_claims(session: Session) -> None:
    _line(session)
    _request(session, "REQ-1", "300.00")
    _claim(session, "BX-1", "REQ-1", "100.00")
    lapsed = lapse(session, document_types=(REQUEST,), as_of=date(KEY.fiscal_year + 1, 1, 1))
    assert [(x.document_no, x.amount) for x in lapsed] == [("REQ-1", Decimal("200.00"))]
    assert "year-end" in lapsed[0].rule
    assert document_holdings(session, CLAIM, "BX-1")[Bucket.PRE_ENCUMBRANCE] == Decimal("100.00")


def test_payment_recheck_names_a_closed_line_a_lost_reservation_and_a_payment_above_held(session: Session) -> None:
    _line(session, budget="1000.00")
    _request(session, "REQ-1", "600.00")
    _claim(session, "BX-1", "REQ-1", "600.00")
    assert payment_problems(session, document_type=CLAIM, document_no="BX-1", amount=Decimal("600.00")) == []
    _request(session, "REQ-2", "400.00")
    problems = payment_problems(session, document_type=CLAIM, document_no="BX-1", amount=Decimal("600.01"))
    assert len(problems) == 1 and "600.01" in problems[0]
    close_line(session, KEY, actor="planner", reason="year closed")
    problems = payment_problems(session, document_type=CLAIM, document_no="BX-1", amount=Decimal("600.00"))
    assert any("closed" in p for p in problems)
    release(session, document_type=CLAIM, document_no="BX-1", bucket=Bucket.PRE_ENCUMBRANCE, actor="x",
            reason="voided")
    problems = payment_problems(session, document_type=CLAIM, document_no="BX-1", amount=Decimal("600.00"))
    assert any("no longer holds" in p for p in problems)


def test_two_claims_citing_one_request_at_once_never_consume_it_twice(engine: Engine) -> None:
    with session_scope(engine) as session:
        _line(session)
        _request(session, "REQ-1", "1000.00")
    claims = 8
    barrier = threading.Barrier(claims, timeout=60)
    outcomes: dict[str, str] = {}
    lock = threading.Lock()

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                _claim(session, f"BX-{n}", "REQ-1", "700.00")
            outcome = "consumed"
        except CitationRefused as exc:
            outcome = exc.reason
        except Exception as exc:  # reported by the assertion below
            outcome = f"error: {type(exc).__name__}: {exc}"
        with lock:
            outcomes[f"BX-{n}"] = outcome

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(claims)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # the first takes 700, the second the 300 left plus 400 new money beyond the tolerance (refused),
    # so exactly one claim consumes; the others are refused as an over-run or as fully consumed
    assert sorted(outcomes.values()).count("consumed") == 1, outcomes
    assert set(outcomes.values()) == {"consumed", "overrun"}, outcomes
    with Session(engine) as session:
        result = balances(session, KEY)
        assert result.pre_encumbrance == Decimal("1000.00"), "the request's money is held once, never twice"
        assert len(session.exec(select(DocumentLink)).all()) == 1
        held = document_holdings(session, REQUEST, "REQ-1")[Bucket.PRE_ENCUMBRANCE]
        assert held == Decimal("300.00")
        entries = session.exec(select(JournalEntry).where(JournalEntry.document_no.like("BX-%"))).all()  # type: ignore[attr-defined]
        assert sum(e.amount_fen for e in entries) == 70000


def test_two_claims_that_fit_consume_the_request_in_turn(engine: Engine) -> None:
    with session_scope(engine) as session:
        _line(session)
        _request(session, "REQ-1", "1000.00")
    barrier = threading.Barrier(2, timeout=60)
    errors: list[str] = []

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                _claim(session, f"BX-{n}", "REQ-1", "500.00")
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with Session(engine) as session:
        assert document_holdings(session, REQUEST, "REQ-1")[Bucket.PRE_ENCUMBRANCE] == Decimal("0.00")
        assert balances(session, KEY).pre_encumbrance == Decimal("1000.00")
        links = session.exec(select(DocumentLink)).all()
        assert sorted(link.consumed_fen for link in links) == [50000, 50000]
