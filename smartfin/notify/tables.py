"""The notifier's tables: preferences, events, the outbox and the high-water marks of its sources.

An event is unique by its key (the source and the record it came from, e.g. ``task:<task id>``), and an
outbox row by (event, recipient, channel): a happening read twice — after a restart, or by two notifiers —
is stored once and sent once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from smartfin.kernel.clock import utc_now
from smartfin.store.audit import UtcDateTime

IMMEDIATE = "immediate"
DAILY = "daily"
EMAIL = "email"
WEBHOOK = "webhook"
#: the chat robot posts into one group chat: its outbox rows have this recipient
CHAT = "@chat"


class NotificationPreference(SQLModel, table=True):
    """How one engine user wants to be told; a user without a row gets the defaults (mail and chat, at once)."""

    __tablename__ = "notify_preference"

    user_id: str = Field(primary_key=True, max_length=64)
    email: str | None = Field(default=None, max_length=200)
    webhook: bool = True
    digest: str = Field(default=IMMEDIATE, max_length=12)
    updated_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    updated_by: str = Field(max_length=64)


class NotificationEvent(SQLModel, table=True):
    """One happening worth telling people about, with its recipients (groups and users) as read from records."""

    __tablename__ = "notify_event"

    id: int | None = Field(default=None, primary_key=True)
    event_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=32, index=True)
    subject: str = Field(max_length=120, description="document number or other subject")
    title: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    link: str | None = Field(default=None, max_length=500)
    groups: str = Field(default="", max_length=1000, description="comma-separated engine groups")
    users: str = Field(default="", max_length=1000, description="comma-separated engine users")
    created_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    expanded_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True, index=True))


class NotificationOutbox(SQLModel, table=True):
    """One message to one recipient on one channel, and how its delivery went."""

    __tablename__ = "notify_outbox"
    __table_args__ = (UniqueConstraint("event_id", "recipient", "channel", name="uq_notify_outbox"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="notify_event.id", index=True)
    recipient: str = Field(max_length=64)
    channel: str = Field(max_length=12)
    address: str | None = Field(default=None, max_length=200)
    status: str = Field(default="pending", max_length=12, index=True)
    digest: bool = False
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))


class NotificationMark(SQLModel, table=True):
    """How far the notifier has read one source (a timestamp or a row id, as text)."""

    __tablename__ = "notify_mark"

    source: str = Field(primary_key=True, max_length=40)
    value: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utc_now, sa_column=Column(UtcDateTime, nullable=False))
