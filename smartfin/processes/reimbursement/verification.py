"""Invoice authenticity verification (发票查验): the protocol any verifier speaks, and the guarded step.

The national verification platform allows 5 checks per invoice per day and only knows an invoice from the
day after it was issued. ``CheckedVerifier`` wraps any ``InvoiceVerifier`` (a person in Tasklist, the
tax-portal bot) and keeps those rules for it: final answers are cached and never asked again, a sixth
check on the same day is not attempted, and an invoice issued today waits until tomorrow — the process
waits and retries, it does not fail.

The query, the outcome and the ``InvoiceVerifier`` protocol live in ``smartfin.ports.verification``, so
the tax-portal bot implements them without importing this module; ``smartfin.app.implementations`` chooses the
verifier by ``SMARTFIN_INVOICE_VERIFIER``: ``manual`` (default, a finance officer checks on the platform
and records the result) or ``tax-portal`` (the bot in ``bots.tax_portal``, imported only when chosen).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Column, Text, func
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel, select

from smartfin.kernel.clock import HOSPITAL_TZ, hospital_now, utc_now
from smartfin.ports.verification import (
    CHECK_STATUSES,
    FINAL_STATUSES,
    InvoiceVerifier,
    VerificationOutcome,
    VerificationQuery,
    VerificationStatus,
)
from smartfin.store.audit import UtcDateTime
from smartfin.store.db import session_scope

CHECKS_PER_INVOICE_PER_DAY = 5


class ManualVerifier:
    """A finance officer checks on the platform by hand: the process shows the invoice in a human task."""

    manual = True

    def verify(self, query: VerificationQuery, *, captcha_answer: str | None = None,
               resume_token: str | None = None) -> VerificationOutcome:
        return VerificationOutcome(
            VerificationStatus.UNAVAILABLE,
            "请财务人员在国家税务总局查验平台人工查验 / to be checked by hand on the national platform",
            {"manual": True})


class VerificationAttempt(SQLModel, table=True):
    """One question put to a verifier and its answer: the cache and the daily-limit counter."""

    __tablename__ = "invoice_verification"

    id: int | None = Field(default=None, primary_key=True)
    invoice_key: str = Field(index=True, max_length=64)
    fingerprint: str = Field(index=True, max_length=32)
    checked_on: date = Field(index=True)  # China date: the platform's day
    checked_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    status: str = Field(max_length=20)
    message: str = Field(default="", max_length=1000)
    details: str = Field(default="{}", sa_column=Column(Text, nullable=False))


def _next_day(now: datetime) -> datetime:
    tomorrow = now.astimezone(HOSPITAL_TZ).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0, 5), tzinfo=HOSPITAL_TZ)


class CheckedVerifier:
    """The cached, rate-limited step around any verifier (see the module text for the rules)."""

    def __init__(self, verifier: InvoiceVerifier, *, engine: Engine | None = None,
                 max_per_day: int = CHECKS_PER_INVOICE_PER_DAY, clock: Any = None) -> None:
        self.verifier = verifier
        self.engine = engine
        self.max_per_day = max_per_day
        self.clock = clock or (lambda: hospital_now())

    @property
    def manual(self) -> bool:
        return bool(getattr(self.verifier, "manual", False))

    def verify(self, query: VerificationQuery, *, captcha_answer: str | None = None,
               resume_token: str | None = None) -> VerificationOutcome:
        now = self.clock()
        today = now.astimezone(HOSPITAL_TZ).date()
        if query.issue_date >= today:
            return VerificationOutcome(
                VerificationStatus.TOO_EARLY,
                f"发票 {query.issue_date} 开具，次日起可查验 / issued {query.issue_date}: the platform knows it "
                "from the next day", {"retry_at": _next_day(now).isoformat()})
        with session_scope(self.engine) as session:
            cached = session.exec(select(VerificationAttempt).where(
                VerificationAttempt.fingerprint == query.fingerprint,
                VerificationAttempt.status.in_([s.value for s in FINAL_STATUSES]))  # type: ignore[attr-defined]
                .order_by(VerificationAttempt.id.desc())).first()  # type: ignore[union-attr]
            if cached is not None:
                return VerificationOutcome(VerificationStatus(cached.status), cached.message,
                                           {**json.loads(cached.details), "cached": True})
            used = session.exec(select(func.count()).select_from(VerificationAttempt).where(
                VerificationAttempt.invoice_key == query.invoice_key, VerificationAttempt.checked_on == today,
                VerificationAttempt.status.in_([s.value for s in CHECK_STATUSES]))).one()  # type: ignore[attr-defined]
        if used >= self.max_per_day:
            return VerificationOutcome(
                VerificationStatus.LIMIT_REACHED,
                f"今日已查验 {used} 次，明日再查 / checked {used} times today; the platform allows "
                f"{self.max_per_day} per invoice per day", {"retry_at": _next_day(now).isoformat()})
        outcome = self.verifier.verify(query, captcha_answer=captcha_answer, resume_token=resume_token)
        if outcome.status is VerificationStatus.LIMIT_REACHED and outcome.retry_at is None:
            outcome = VerificationOutcome(outcome.status, outcome.message,
                                          {**outcome.details, "retry_at": _next_day(now).isoformat()})
        if outcome.status is not VerificationStatus.NEEDS_CAPTCHA and not self.manual:
            with session_scope(self.engine) as session:
                session.add(VerificationAttempt(
                    invoice_key=query.invoice_key, fingerprint=query.fingerprint, checked_on=today,
                    status=outcome.status.value, message=outcome.message[:1000],
                    details=json.dumps(outcome.details, ensure_ascii=False, default=str)))
        return outcome
