"""A new appeal batch and its escalation are mailed to the department's insurance officer of record (gao.yan),
not to the officer of another department (tang.bo), once, also after the notifier restarts. Real engine and
workers; the appeal window of the batch closes tomorrow, so its escalation timer fires at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import col, select

from smartfin.app.notify_commands import document_holders, document_requester
from smartfin.camunda.client import EngineClient
from smartfin.kernel.settings import Settings, get_settings
from smartfin.notify.notifier import Notifier
from smartfin.notify.tables import NotificationEvent
from smartfin.store.db import session_scope
from tests.security.test_insurance_appeal_control import OFFICER, OTHER_OFFICER, discard, opened
from tests.support.engine import wait_for
from tests.support.notify import SmtpSink

pytestmark = pytest.mark.engine
OFFICER_MAIL, OTHER_MAIL = f"{OFFICER}@demo.smartfin.local", f"{OTHER_OFFICER}@demo.smartfin.local"


@pytest.fixture()
def mail(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SmtpSink, Settings]]:
    sink = SmtpSink()
    sink.start()
    for name, value in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port), "SMTP_SECURITY": "none",
                        "MAIL_FROM": "finance@hospital.test", "RETRY_BACKOFF_S": "600"}.items():
        monkeypatch.setenv(f"SMARTFIN_NOTIFY_{name}", value)
    get_settings.cache_clear()
    try:
        yield sink, get_settings()
    finally:
        sink.stop()
        monkeypatch.undo()
        get_settings.cache_clear()


def audit_events(key: str) -> list[NotificationEvent]:
    with session_scope() as session:
        return list(session.exec(select(NotificationEvent).where(
            NotificationEvent.subject == key, col(NotificationEvent.event_key).startswith("audit:"))
            .order_by(col(NotificationEvent.id))).all())


def test_the_departments_officer_is_told_of_a_new_and_an_escalated_appeal(camunda: EngineClient, workers: object,
                                                                          mail: tuple[SmtpSink, Settings]) -> None:
    sink, settings = mail
    notifier = Notifier(settings, camunda, document_requester, holders_of=document_holders)
    notifier.run_once()  # a first round only sets the marks: what was audited before is history
    _, key, pid = opened(camunda, issued_days_ago=9)
    try:
        wait_for(lambda: notifier.run_once() and len(audit_events(key)) == 2, timeout=60, interval=0.5,
                 message="the opened and the escalated appeal as events")
        events = audit_events(key)
        assert [(e.kind, e.users, e.groups) for e in events] == [("task", OFFICER, ""),
                                                                 ("escalation", OFFICER, "")]
        wait_for(lambda: notifier.run_once() and sink.to(OFFICER_MAIL, f"Escalated: insurance appeal {key}")
                 and sink.to(OFFICER_MAIL, f"New task: insurance appeal {key}"), timeout=30, interval=0.3,
                 message=f"both mails to {OFFICER}")
        [new] = sink.to(OFFICER_MAIL, f"New task: insurance appeal {key}")
        assert "截止日期 / Due" in new.get_content() and "¥955.06" in new.get_content()
        assert not sink.to(OTHER_MAIL, f"insurance appeal {key}")

        restarted = Notifier(settings, camunda, document_requester, holders_of=document_holders)
        restarted.run_once()
        assert len(audit_events(key)) == 2
        assert len(sink.to(OFFICER_MAIL, f"insurance appeal {key}")) == 2
    finally:
        discard(camunda, pid)
