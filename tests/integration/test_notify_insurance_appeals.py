"""A new appeal batch's task and its escalation are mailed to the department's insurance officer of record
(gao.yan), not to the officer of another department (tang.bo) though the task is offered to both, once, also after
the notifier restarts. Real engine and workers; the appeal window of the batch closes tomorrow, so its escalation
timer fires at once."""

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


def events_of(key: str) -> list[NotificationEvent]:
    with session_scope() as session:
        return list(session.exec(select(NotificationEvent).where(NotificationEvent.subject == key)
                                 .order_by(col(NotificationEvent.id))).all())


def test_the_departments_officer_is_told_of_a_new_and_an_escalated_appeal(camunda: EngineClient, workers: object,
                                                                          mail: tuple[SmtpSink, Settings]) -> None:
    sink, settings = mail
    notifier = Notifier(settings, camunda, document_requester, holders_of=document_holders)
    notifier.run_once()  # a first round only sets the marks: what was audited before is history
    _, key, pid = opened(camunda, issued_days_ago=9)
    try:
        wait_for(lambda: notifier.run_once() and {e.kind for e in events_of(key)} == {"task", "escalation"},
                 timeout=60, interval=0.5, message="the appeal's task and its escalation as events")
        events = events_of(key)
        assert [(e.kind, e.users, e.groups) for e in events] == [("task", OFFICER, ""), ("escalation", OFFICER, "")]
        def new_task_mails() -> list[object]:
            return [m for m in sink.to(OFFICER_MAIL, key) if "New task" in str(m["Subject"])]

        wait_for(lambda: notifier.run_once() and sink.to(OFFICER_MAIL, f"Escalated: insurance appeal {key}")
                 and new_task_mails(), timeout=30, interval=0.3, message=f"both mails to {OFFICER}")
        [escalated] = sink.to(OFFICER_MAIL, f"Escalated: insurance appeal {key}")
        assert "截止日期 / Due" in escalated.get_content()
        assert len(new_task_mails()) == 1
        assert not sink.to(OTHER_MAIL, key), "the other department's officer is not told"

        restarted = Notifier(settings, camunda, document_requester, holders_of=document_holders)
        restarted.run_once()
        assert len(events_of(key)) == 2
        assert len(sink.to(OFFICER_MAIL, key)) == 2
    finally:
        discard(camunda, pid)
