"""Notifications (通知): who is told what, by e-mail and chat robot, exactly once, without blocking any process.

The notifier reads what happened from the records that count — the engine's task list and history (new tasks
and their candidate groups, who started a document) and the project's audit log and result tables — on a
poll with stored high-water marks, turns each happening into one ``NotificationEvent`` and each of its
recipients into one outbox row per channel. Delivery is a separate step with retries and backoff; the
processes never call a mail server. Other parts raise events of their own through :func:`raise_event`.
"""

from smartfin.notify.events import EventKind, raise_event

__all__ = ["EventKind", "raise_event"]
