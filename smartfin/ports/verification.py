"""Invoice authenticity verification as the core asks for it: the query, the answer, the protocol.

The national platform (发票查验平台) is asked by a person or by the tax-portal bot; both answer a
``VerificationQuery`` with a ``VerificationOutcome``. The guarded step that keeps the platform's limits
(``CheckedVerifier``) is in ``smartfin.processes.reimbursement.verification``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from smartfin.kernel.money import format_yuan


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
