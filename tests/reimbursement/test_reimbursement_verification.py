"""The verification step around any verifier: too early, cached answers, 5 checks a day, captchas."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine

from smartfin.app.implementations import configured_verifier
from smartfin.kernel.clock import HOSPITAL_TZ
from smartfin.processes.reimbursement.verification import (
    CheckedVerifier,
    ManualVerifier,
    VerificationOutcome,
    VerificationQuery,
    VerificationStatus,
)

NOW = datetime(2026, 8, 10, 9, 30, tzinfo=HOSPITAL_TZ)
QUERY = VerificationQuery("digital", "", "26442000000123456789", date(2026, 8, 1), Decimal("106.00"), "")


class ScriptedVerifier:
    def __init__(self, *answers: VerificationStatus) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str | None, str | None]] = []

    def verify(self, query: VerificationQuery, *, captcha_answer: str | None = None,
               resume_token: str | None = None) -> VerificationOutcome:
        self.calls.append((captcha_answer, resume_token))
        status = self.answers.pop(0) if self.answers else VerificationStatus.NOT_FOUND
        if status is VerificationStatus.NEEDS_CAPTCHA:
            return VerificationOutcome(status, "请输入验证码", captcha_png=b"\x89PNG", resume_token="t-1")
        return VerificationOutcome(status, status.value, {"seller": "某公司"})


def test_an_invoice_issued_today_waits_for_tomorrow_without_asking(sqlite_db: Engine) -> None:
    inner = ScriptedVerifier()
    checked = CheckedVerifier(inner, engine=sqlite_db, clock=lambda: NOW)
    today = VerificationQuery("digital", "", "26442000000123456789", NOW.date(), Decimal("1.00"), "")
    outcome = checked.verify(today)
    assert outcome.status is VerificationStatus.TOO_EARLY and inner.calls == []
    assert outcome.retry_at == datetime(2026, 8, 11, 0, 5, tzinfo=HOSPITAL_TZ)


def test_final_answers_are_cached(sqlite_db: Engine) -> None:
    inner = ScriptedVerifier(VerificationStatus.CONSISTENT)
    checked = CheckedVerifier(inner, engine=sqlite_db, clock=lambda: NOW)
    assert checked.verify(QUERY).status is VerificationStatus.CONSISTENT
    again = checked.verify(QUERY)
    assert again.status is VerificationStatus.CONSISTENT and again.details["cached"] is True
    assert len(inner.calls) == 1


def test_at_most_five_checks_per_invoice_per_day_and_captchas_do_not_count(sqlite_db: Engine) -> None:
    inner = ScriptedVerifier(VerificationStatus.NEEDS_CAPTCHA, VerificationStatus.UNAVAILABLE)
    checked = CheckedVerifier(inner, engine=sqlite_db, clock=lambda: NOW)
    asked = checked.verify(QUERY)
    assert asked.status is VerificationStatus.NEEDS_CAPTCHA and asked.resume_token == "t-1"
    for n in range(6):  # each query differs (amount corrected), so none is served from the cache
        query = VerificationQuery(QUERY.invoice_kind, "", QUERY.number, QUERY.issue_date, Decimal(100 + n), "")
        checked.verify(query, captcha_answer="x7k2" if n == 0 else None, resume_token="t-1" if n == 0 else None)
    assert inner.calls[1] == ("x7k2", "t-1")
    assert len(inner.calls) == 7  # the captcha and the unavailable platform used up no check
    limited = checked.verify(QUERY)
    assert limited.status is VerificationStatus.LIMIT_REACHED and len(inner.calls) == 7
    assert limited.retry_at == datetime(2026, 8, 11, 0, 5, tzinfo=HOSPITAL_TZ)
    tomorrow = CheckedVerifier(inner, engine=sqlite_db, clock=lambda: datetime(2026, 8, 11, 8, 0, tzinfo=HOSPITAL_TZ))
    assert tomorrow.verify(QUERY).status is VerificationStatus.NOT_FOUND


def test_the_configured_verifier(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMARTFIN_INVOICE_VERIFIER", raising=False)
    assert isinstance(configured_verifier(), ManualVerifier)
    assert CheckedVerifier(configured_verifier()).manual
    with pytest.raises(ValueError, match="not a known verifier"):
        configured_verifier("oracle")
