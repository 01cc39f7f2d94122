"""From events to messages: expanding recipients into the outbox, sending what is due, the daily digest.

Nothing is sent inside a database transaction: a row is read, the message handed to the channel, and the
outcome written in a second short transaction, so a slow or dead mail server never holds a lock that a
process step is waiting for. A failure counts an attempt and sets the next one after a doubling delay (at
most an hour); after ``max_attempts`` the row is marked ``failed`` and shown by ``smartfin notify outbox``.
A row is claimed (``sending``, with a lease) before it is handed over, so two notifiers never send it both; a
crash between handing over and recording can send one message twice once the lease runs out, never lose one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlmodel import Session, col, select

from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import HOSPITAL_TZ, utc_now
from smartfin.kernel.settings import Settings
from smartfin.notify.channels import Channels, DeliveryFailed, scrub
from smartfin.notify.events import DIGESTIBLE
from smartfin.notify.sources import read_mark, write_mark
from smartfin.notify.tables import (
    CHAT,
    DAILY,
    EMAIL,
    WEBHOOK,
    NotificationEvent,
    NotificationOutbox,
    NotificationPreference,
)
from smartfin.store.db import session_scope

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 3600.0
#: how long a row being sent is kept from other notifiers; after that it counts as not sent
SENDING_LEASE = timedelta(minutes=10)
BATCH = 200
SUBJECT_PREFIX = "[SmartFin] "


class Directory:
    """Group members and e-mail addresses from the engine's identity service, asked once per round."""

    def __init__(self, engine: EngineClient) -> None:
        self.engine = engine
        self.emails: dict[str, str | None] = {}
        self.groups: dict[str, list[str]] = {}

    def members(self, group: str) -> list[str]:
        if group not in self.groups:
            found = self.engine.get("/user", memberOfGroup=group) or []
            for user in found:
                self.emails[str(user["id"])] = user.get("email") or None
            self.groups[group] = [str(user["id"]) for user in found]
        return self.groups[group]

    def email(self, user: str) -> str | None:
        if user not in self.emails:
            found = self.engine.get("/user", id=user) or []
            self.emails[user] = (found[0].get("email") or None) if found else None
        return self.emails[user]


def _split(text: str) -> list[str]:
    return [part for part in text.split(",") if part]


def expand_events(engine: EngineClient, session: Session, channels: Channels) -> int:
    """Outbox rows for every event not yet expanded: one per member and channel; returns the rows added."""
    events = session.exec(select(NotificationEvent).where(col(NotificationEvent.expanded_at).is_(None))
                          .order_by(col(NotificationEvent.id)).limit(BATCH)).all()
    directory = Directory(engine)
    added = 0
    for event in events:
        people = set(_split(event.users))
        for group in _split(event.groups):
            people.update(directory.members(group))
        chat_mentions: list[str] = []
        for user in sorted(people):
            preference = session.get(NotificationPreference, user)
            address = (preference.email if preference and preference.email else None) or directory.email(user)
            if channels.mail is not None and address:
                digest = bool(preference and preference.digest == DAILY and event.kind in DIGESTIBLE)
                session.add(NotificationOutbox(event_id=event.id, recipient=user, channel=EMAIL, address=address,
                                               digest=digest))
                added += 1
            if preference is None or preference.webhook:
                chat_mentions.append(user)
        if channels.webhook is not None and chat_mentions:
            session.add(NotificationOutbox(event_id=event.id, recipient=CHAT, channel=WEBHOOK,
                                           address=",".join(chat_mentions)[:200]))
            added += 1
        event.expanded_at = utc_now()
        session.add(event)
    return added


def mail_text(event: NotificationEvent) -> str:
    """The body of one notification mail: what happened, what to do, where."""
    link = f"\n\n打开 / Open: {event.link}" if event.link else ""
    return (f"{event.body}{link}\n\n— SmartFin 财务系统自动通知，请勿回复。 / An automatic notice from SmartFin; "
            f"please do not reply.")


def chat_text(event: NotificationEvent, mentions: Iterable[str]) -> str:
    """The markdown of one chat post; WeCom renders ``<@id>`` as a mention."""
    lines = [f"### {event.title}", "", event.body.replace("\n", "  \n")]
    if event.link:
        lines += ["", f"[在 Tasklist 中打开 / Open in Tasklist]({event.link})"]
    people = " ".join(f"<@{user}>" for user in mentions if user)
    if people:
        lines += ["", f"通知 / For: {people}"]
    return "\n".join(lines)


@dataclass
class Delivery:
    """What one round of sending did."""

    sent: int = 0
    failed: list[str] = field(default_factory=list)


def _after_failure(row: NotificationOutbox, error: str, settings: Settings, now: datetime) -> None:
    row.attempts += 1
    row.last_error = error[:480]
    if row.attempts >= settings.notify.max_attempts:
        row.status = "failed"
    else:
        delay = min(settings.notify.retry_backoff_s * 2 ** (row.attempts - 1), MAX_BACKOFF_S)
        row.next_attempt_at = now + timedelta(seconds=delay)


def _record(ids: list[int], error: str | None, settings: Settings, now: datetime) -> None:
    with session_scope() as session:
        for row_id in ids:
            row = session.get(NotificationOutbox, row_id)
            if row is None:
                continue
            if error is None:
                row.status, row.sent_at, row.attempts = "sent", now, row.attempts + 1
            else:
                row.status = "pending"
                _after_failure(row, error, settings, now)
            session.add(row)


def _claim(digest: bool, now: datetime, limit: int | None) -> list[tuple[NotificationOutbox, NotificationEvent]]:
    """Due rows, marked ``sending`` for ``SENDING_LEASE`` in one short transaction.

    Two notifiers never take the same row (row locks on PostgreSQL, the write lock on SQLite), and a row whose
    notifier died while sending is due again once its lease has run out.
    """
    with session_scope() as session:
        query = (select(NotificationOutbox, NotificationEvent)
                 .where(NotificationOutbox.event_id == NotificationEvent.id,
                        col(NotificationOutbox.status).in_(("pending", "sending")),
                        NotificationOutbox.digest == digest, col(NotificationOutbox.next_attempt_at) <= now)
                 .order_by(col(NotificationOutbox.id)).with_for_update(skip_locked=True, of=NotificationOutbox))
        due = list(session.exec(query.limit(limit) if limit else query).all())
        for row, _ in due:
            row.status, row.next_attempt_at = "sending", now + SENDING_LEASE
            session.add(row)
    return due


def send_due(settings: Settings, channels: Channels, now: datetime | None = None) -> Delivery:
    """Send every immediate message whose time has come, each outside any transaction."""
    now = now or utc_now()
    due = _claim(False, now, BATCH)
    report = Delivery()
    for row, event in due:
        assert row.id is not None
        try:
            if row.channel == EMAIL and channels.mail is not None and row.address:
                channels.mail.send(row.address, SUBJECT_PREFIX + event.title, mail_text(event))
            elif row.channel == WEBHOOK and channels.webhook is not None:
                channels.webhook.post(event.title, chat_text(event, _split(row.address or "")))
            else:
                raise DeliveryFailed(f"channel {row.channel} is not configured any more")
        except DeliveryFailed as exc:
            error = scrub(str(exc), channels.secrets)
            log.warning("notification %s (%s, %s) not delivered, attempt %s: %s", row.id, row.recipient,
                        row.channel, row.attempts + 1, error)
            _record([row.id], error, settings, now)
            report.failed.append(error)
            continue
        _record([row.id], None, settings, now)
        report.sent += 1
    return report


def digest_due(settings: Settings, session: Session, now: datetime) -> bool:
    """Whether today's digest time (hospital time) has passed and today's digest has not been sent."""
    local = now.astimezone(HOSPITAL_TZ)
    hour, _, minute = settings.notify.digest_at.partition(":")
    at = datetime.combine(local.date(), time(int(hour), int(minute or 0)), tzinfo=HOSPITAL_TZ)
    return local >= at and read_mark(session, "digest") != local.date().isoformat()


def send_digests(settings: Settings, channels: Channels, *, now: datetime | None = None,
                 force: bool = False) -> Delivery:
    """One mail per recipient with everything held for the digest; on schedule, or at once with ``force``."""
    now = now or utc_now()
    with session_scope() as session:
        if not force and not digest_due(settings, session, now):
            return Delivery()
        if not force:
            write_mark(session, "digest", now.astimezone(HOSPITAL_TZ).date().isoformat())
    rows = _claim(True, now, None)
    by_address: dict[str, list[tuple[NotificationOutbox, NotificationEvent]]] = {}
    for row, event in rows:
        by_address.setdefault(str(row.address), []).append((row, event))
    report = Delivery()
    for address, items in by_address.items():
        ids = [int(row.id) for row, _ in items if row.id is not None]
        sections = [f"{n}. {event.title}\n{event.body}" + (f"\n打开 / Open: {event.link}" if event.link else "")
                    for n, (_, event) in enumerate(items, start=1)]
        text = (f"您有 {len(items)} 条待办通知。 / You have {len(items)} notifications.\n\n" + "\n\n".join(sections)
                + "\n\n— SmartFin 每日汇总 / SmartFin daily digest")
        subject = f"{SUBJECT_PREFIX}每日待办汇总 {len(items)} 条 / Daily digest: {len(items)} notifications"
        if channels.mail is None:
            _record(ids, "mail is not configured any more", settings, now)
            continue
        try:
            channels.mail.send(address, subject, text)
        except DeliveryFailed as exc:
            error = scrub(str(exc), channels.secrets)
            log.warning("digest to %s not delivered: %s", items[0][0].recipient, error)
            _record(ids, error, settings, now)
            report.failed.append(error)
            continue
        _record(ids, None, settings, now)
        report.sent += 1
    return report
