"""Findings: what a check has to say about a document, kept as data so it can be shown, routed and stored.

One type serves the invoice reader (a problem with a file or a field), the claim audit (a problem with a
claim or one of its invoices) and the equipment policy rules (a remark on a proposal, in Chinese and
English). A finding never stops anything by itself: the caller routes on ``severity`` and ``code``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from dataclasses import field as dataclass_field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """BLOCK stops automatic processing; WARN asks a person to look; INFO states a remark or a next step."""

    BLOCK = "block"
    WARN = "warn"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One problem or remark.

    ``message`` is what a person reads (bilingual texts are ``中文 / English``). The rest is optional:
    ``field`` names the field it is about, ``evidence`` holds the figures behind it, ``invoice`` is the
    position of the invoice in a claim (None: the whole document), and ``message_zh``/``message_en`` are
    the two halves of a finding made with ``bilingual``.
    """

    code: str
    severity: Severity
    message: str
    _: KW_ONLY
    field: str | None = None
    evidence: Mapping[str, Any] = dataclass_field(default_factory=dict, hash=False)
    invoice: int | None = None
    languages: tuple[str, str] | None = None

    @classmethod
    def bilingual(cls, code: str, severity: Severity, message_zh: str, message_en: str,
                  evidence: Mapping[str, Any] | None = None) -> Finding:
        """A finding written in both languages; ``message`` is ``中文 / English``."""
        return cls(code, severity, f"{message_zh} / {message_en}", evidence=dict(evidence or {}),
                   languages=(message_zh, message_en))

    @property
    def message_zh(self) -> str:
        return self.languages[0] if self.languages else self.message

    @property
    def message_en(self) -> str:
        return self.languages[1] if self.languages else self.message

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form for a document's record and the engine (money and dates as strings)."""
        return {"code": self.code, "severity": self.severity.value, "message": self.message,
                "evidence": {k: _plain(v) for k, v in self.evidence.items()}, "invoice": self.invoice,
                "field": self.field}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(data["code"], Severity(data["severity"]), data["message"], field=data.get("field"),
                   evidence=dict(data.get("evidence") or {}), invoice=data.get("invoice"))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
