"""The notifier's round and loop: read the sources, expand recipients, send what is due, the digest.

Each step runs in its own transaction and a failing step (the engine restarting, a source table locked) is
logged and tried again next round; the others go on. ``smartfin notify run`` runs the loop as a service
started by ``smartfin up``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import utc_now
from smartfin.kernel.settings import Settings
from smartfin.notify.channels import Channels, configured_channels, scrub
from smartfin.notify.delivery import expand_events, send_digests, send_due
from smartfin.notify.sources import HolderLookup, RequesterLookup, collect_audit, collect_reconciliation, collect_tasks
from smartfin.notify.tables import DAILY, IMMEDIATE, NotificationPreference
from smartfin.store.db import session_scope

log = logging.getLogger(__name__)


@dataclass
class Round:
    """What one round found and did; ``problems`` holds the steps that failed (retried next round)."""

    events: int = 0
    queued: int = 0
    sent: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)


class Notifier:
    """One installation's notifier; any number of rounds, in one process or after a restart, send once."""

    def __init__(self, settings: Settings, engine: EngineClient, requester_of: RequesterLookup,
                 channels: Channels | None = None, holders_of: HolderLookup | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.requester_of = requester_of
        self.holders_of = holders_of
        self.channels = channels or configured_channels(settings)

    def _step(self, result: Round, name: str, work: Callable[[Session], int]) -> int:
        try:
            with session_scope() as session:
                return work(session)
        except Exception as exc:  # one source down must not stop the others; the next round retries
            reason = scrub(f"{exc.__class__.__name__}: {exc}", self.channels.secrets)
            log.warning("notifier step %s failed: %s", name, reason)
            result.problems.append(f"{name}: {reason}")
            return 0

    def run_once(self, now: datetime | None = None, *, force_digest: bool = False) -> Round:
        """One round: new events from every source, their outbox rows, due messages, the digest if due."""
        result = Round()
        result.events += self._step(result, "tasks", lambda s: collect_tasks(self.engine, s, self.settings,
                                                                                 self.holders_of))
        result.events += self._step(result, "audit log", lambda s: collect_audit(self.engine, s, self.settings,
                                                                                 self.requester_of, self.holders_of))
        result.events += self._step(result, "reconciliation", lambda s: collect_reconciliation(s, self.settings))
        result.queued += self._step(result, "recipients", lambda s: expand_events(self.engine, s, self.channels))
        for delivery in (send_due(self.settings, self.channels, now),
                         send_digests(self.settings, self.channels, now=now or utc_now(), force=force_digest)):
            result.sent += delivery.sent
            result.failed += len(delivery.failed)
        return result

    def run(self, stop: threading.Event) -> None:
        """Rounds every ``poll_s`` seconds until ``stop`` is set."""
        log.info("notifier started: mail %s, webhook %s", "on" if self.channels.mail else "off",
                 "on" if self.channels.webhook else "off")
        while not stop.is_set():
            try:
                done = self.run_once()
                if done.events or done.sent or done.failed:
                    log.info("notifier round: %s events, %s queued, %s sent, %s failed", done.events, done.queued,
                             done.sent, done.failed)
            except Exception as exc:  # the loop outlives any one round; the outbox keeps what is due
                log.warning("notifier round failed: %s", scrub(f"{exc.__class__.__name__}: {exc}",
                                                               self.channels.secrets))
            stop.wait(self.settings.notify.poll_s)


class PreferenceRefused(ValueError):
    """A preference that cannot be stored (unknown user, bad address, bad digest mode)."""


def set_preference(session: Session, *, user: str, actor: str, email: str | None = None,
                   webhook: bool | None = None, digest: str | None = None) -> NotificationPreference:
    """Store one user's preferences; fields left ``None`` keep their value (or the default)."""
    if digest is not None and digest not in (IMMEDIATE, DAILY):
        raise PreferenceRefused(f"--digest must be {IMMEDIATE} or {DAILY}, not {digest!r}")
    if email is not None and email != "" and ("@" not in email or " " in email or len(email) > 200):
        raise PreferenceRefused(f"--email {email!r} is not an e-mail address")
    row = session.get(NotificationPreference, user) or NotificationPreference(user_id=user, updated_by=actor)
    if email is not None:
        row.email = email or None
    if webhook is not None:
        row.webhook = webhook
    if digest is not None:
        row.digest = digest
    row.updated_at, row.updated_by = utc_now(), actor
    session.add(row)
    return row
