"""Events: the one way into the notifier, for its own sources and for any other part (cash alerts, reports).

``raise_event`` stores a happening with its recipients in the caller's transaction, so an action that rolls
back tells nobody; the key makes it idempotent — raising the same key again returns the stored event.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from smartfin.notify.tables import NotificationEvent


class EventKind(StrEnum):
    """What happened; the kind decides the wording and whether a digest may hold the message."""

    TASK = "task"                     # a new task for a group or a person
    ESCALATION = "escalation"         # an idle task was escalated (催办)
    DECISION = "decision"             # a document was decided (approved, rejected, withdrawn)
    SENT_BACK = "sent-back"           # a document was sent back to its requester for revision
    RECONCILIATION = "reconciliation" # reconciliation exceptions are waiting
    COST = "cost"                     # a cost indicator breached its target
    CASH = "cash"                     # a cash-flow alert (the cash forecast raises these)


#: kinds a daily digest may collect; the others are told at once whatever the preference
DIGESTIBLE = frozenset({EventKind.TASK})


def _names(values: Iterable[str]) -> str:
    return ",".join(sorted({v.strip() for v in values if v and v.strip()}))


def event_exists(session: Session, key: str) -> bool:
    """Whether an event with this key is stored already."""
    return session.exec(select(NotificationEvent.id).where(NotificationEvent.event_key == key)).first() is not None


def raise_event(session: Session, *, key: str, kind: EventKind, subject: str, title: str, body: str,
                link: str | None = None, groups: Iterable[str] = (), users: Iterable[str] = ()) -> NotificationEvent:
    """Record one happening for the given engine groups and users; the notifier tells them.

    Recipients are engine ids: a group is expanded to its members by the notifier (from the engine's identity
    service), so the caller never lists people by hand. Raising a key twice stores it once.
    """
    if not key.strip():
        raise ValueError("notification event: key is missing")
    groups_text, users_text = _names(groups), _names(users)
    if not groups_text and not users_text:
        raise ValueError(f"notification event {key!r}: no group or user to tell")
    existing = session.exec(select(NotificationEvent).where(NotificationEvent.event_key == key)).first()
    if existing is not None:
        return existing
    event = NotificationEvent(event_key=key, kind=str(kind), subject=subject[:120], title=title[:200], body=body,
                              link=link, groups=groups_text, users=users_text)
    try:
        with session.begin_nested():
            session.add(event)
    except IntegrityError:
        # another notifier stored the same key meanwhile: theirs counts
        stored = session.exec(select(NotificationEvent).where(NotificationEvent.event_key == key)).one()
        return stored
    return event
