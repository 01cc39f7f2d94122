"""The audit log: who did what to which record, and why — written by every part of the product.

Overrides of budget control, budget imports, approval decisions and corrections each leave one
``AuditEntry``. The log is append-only like the budget journal; ``details`` keeps whatever the action
needs to be understood later (figures, reasons, file digests) as JSON text, so that the table never needs
a migration when a new kind of action appears.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Column, DateTime, Text, event
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Session, SQLModel

from smartfin.kernel.clock import utc_now


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that goes in aware and comes back aware, in UTC, on SQLite as on PostgreSQL.

    SQLite has no time-zone type and SQLAlchemy silently drops the offset there; storing the UTC wall
    clock and re-attaching UTC on the way out keeps ``created_at`` comparable across both databases.
    Naive datetimes are refused when written: their meaning depends on the machine that made them.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class AuditEntry(SQLModel, table=True):
    """One audited action. Never updated or deleted."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False, index=True))
    actor: str = Field(index=True)
    action: str = Field(index=True)
    subject_type: str
    subject_id: str = Field(index=True)
    details: str = Field(default="{}", sa_column=Column(Text, nullable=False))

    @property
    def details_dict(self) -> dict[str, Any]:
        """``details`` decoded; a convenience for reports and tests."""
        loaded: dict[str, Any] = json.loads(self.details)
        return loaded


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or remove an audit entry."""


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(_mapper: object, _connection: object, target: AuditEntry) -> None:
    raise AuditLogIsAppendOnly(f"audit entry {target.id} cannot be changed")


@event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(_mapper: object, _connection: object, target: AuditEntry) -> None:
    raise AuditLogIsAppendOnly(f"audit entry {target.id} cannot be deleted")


def _json_default(value: object) -> object:
    # Money stays an exact string ("1234.50"), never a float.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot record {type(value).__name__} in an audit entry")


def record_audit(session: Session, *, actor: str, action: str, subject_type: str,
                 subject_id: str | int, details: dict[str, Any] | None = None) -> AuditEntry:
    """Append one audit entry in the caller's transaction.

    It shares the transaction of the action it describes, so an action that rolls back leaves no audit
    entry behind and an action that commits cannot lose its entry.
    """
    if not actor or not actor.strip():
        raise ValueError("audit entry: actor is missing")
    if not action or not action.strip():
        raise ValueError("audit entry: action is missing")
    entry = AuditEntry(
        actor=actor.strip(),
        action=action.strip(),
        subject_type=subject_type,
        subject_id=str(subject_id),
        details=json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=_json_default),
    )
    session.add(entry)
    session.flush()
    return entry
