"""Invoice authenticity verification (发票查验): the protocol any verifier speaks, and the guarded step.

The national verification platform allows 5 checks per invoice per day and only knows an invoice from the
day after it was issued. ``CheckedVerifier`` wraps any ``InvoiceVerifier`` (a person in Tasklist, the
tax-portal bot) and keeps those rules for it: final answers are cached and never asked again, a sixth
check on the same day is not attempted, and an invoice issued today waits until tomorrow — the process
waits and retries, it does not fail.

``configured_verifier()`` chooses the verifier by ``SMARTFIN_INVOICE_VERIFIER``: ``manual`` (default, a
finance officer checks on the platform and records the result) or ``tax-portal`` (the bot in
``bots.tax_portal``, imported only when chosen).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import Column, Text, func
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel, select

from smartfin.audit import UtcDateTime, utc_now
from smartfin.config import HOSPITAL_TZ
from smartfin.db import session_scope
from smartfin.money import format_yuan

CHECKS_PER_INVOICE_PER_DAY = 5
VERIFIER_ENV = "SMARTFIN_INVOICE_VERIFIER"


class VerificationStatus(StrEnum):
    CONSISTENT = "consistent"          # 查验一致
    INCONSISTENT = "inconsistent"      # 查验不一致
    NOT_FOUND = "not_found"            # 查无此票
    LIMIT_REACHED = "limit_reached"    # 超过当日查验次数
    TOO_EARLY = "too_early"            # 当日开具发票次日起可查
    NEEDS_CAPTCHA = "needs_captcha"    # 需要人工输入验证码
    UNAVAILABLE = "unavailable"        # 平台不可用 / 人工查验


FINAL_STATUSES = frozenset({VerificationStatus.CONSISTENT, VerificationStatus.INCONSISTENT,
                            VerificationStatus.NOT_FOUND})
CHECK_STATUSES = FINAL_STATUSES  # outcomes that used up one of the day's checks on the platform


@dataclass(frozen=True)
class VerificationQuery:
    """What the platform asks for: kind, code ("" for digitalised), number, date, amount, check code tail.

    ``amount`` is the amount without tax, or the total with tax for a digitalised invoice.
    """

    invoice_kind: str
    code: str
    number: str
    issue_date: date
    amount: Decimal
    check_code_last6: str

    @property
    def invoice_key(self) -> str:
        """The invoice's identity, the unit of the platform's daily limit."""
        return f"digital:{self.number}" if not self.code else f"vat:{self.code}:{self.number}"

    @property
    def fingerprint(self) -> str:
        """Everything asked: a corrected amount or date is a new question, not a cached one."""
        text = "|".join([self.invoice_kind, self.code, self.number, self.issue_date.isoformat(),
                         format_yuan(self.amount), self.check_code_last6])
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class VerificationOutcome:
    """The answer for one query; ``details`` holds what the platform showed (seller, amounts, retry time)."""

    status: VerificationStatus
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    captcha_png: bytes | None = None
    resume_token: str | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def retry_at(self) -> datetime | None:
        """When to ask again (too early, limit reached, platform unavailable)."""
        value = self.details.get("retry_at")
        return datetime.fromisoformat(value) if isinstance(value, str) else None


class InvoiceVerifier(Protocol):
    """Anything that can answer a verification query; a captcha answer resumes an earlier attempt."""

    def verify(self, query: VerificationQuery, *, captcha_answer: str | None = None,
               resume_token: str | None = None) -> VerificationOutcome: ...


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
        self.clock = clock or (lambda: datetime.now(HOSPITAL_TZ))

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


def configured_verifier(name: str | None = None) -> InvoiceVerifier:
    """The verifier named by ``SMARTFIN_INVOICE_VERIFIER`` (``manual`` or ``tax-portal``)."""
    choice = (name or os.environ.get(VERIFIER_ENV) or "manual").strip().lower()
    if choice == "manual":
        return ManualVerifier()
    if choice == "tax-portal":
        from bots.tax_portal import TaxPortalVerifier  # the browser stack loads only when chosen
        from smartfin.config import get_settings

        verifier: InvoiceVerifier = TaxPortalVerifier(get_settings())
        return verifier
    raise ValueError(f"{VERIFIER_ENV}={choice!r} is not a known verifier (use manual or tax-portal)")
