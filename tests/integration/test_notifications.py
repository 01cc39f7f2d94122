"""Notifications on the real engine: a spending request's task is mailed to every member of its candidate group
and posted to the chat robot once, also after a restart of the notifier; a dead mail server is retried without
holding up the process; the daily digest and the users' preferences; no secret in logs or stored errors."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import delete, select

from smartfin.app.notify_commands import document_requester
from smartfin.camunda.client import EngineClient
from smartfin.kernel.clock import utc_now
from smartfin.kernel.settings import Settings, get_settings
from smartfin.notify.notifier import Notifier, set_preference
from smartfin.notify.tables import NotificationEvent, NotificationOutbox, NotificationPreference
from smartfin.processes.spending.requests import SpendingRequest, submit_spending_request
from smartfin.store.audit import record_audit
from smartfin.store.db import session_scope
from tests.support.engine import approve_chain as approve_all
from tests.support.engine import open_task, process_ended, wait_for
from tests.support.notify import SmtpSink, WebhookStub

pytestmark = [pytest.mark.engine,
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")]

SMTP_USER, SMTP_PASSWORD = "notifier", "smtp-Pass-9x7Qz"
ROBOT_TOKEN, ROBOT_SECRET = "robot-token-5fK2", "SEC-robot-sign-8Hq"


@pytest.fixture()
def notify_setup(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SmtpSink, WebhookStub, Settings]]:
    sink = SmtpSink(SMTP_USER, SMTP_PASSWORD)
    sink.start()
    stub = WebhookStub()
    for name, value in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port), "SMTP_SECURITY": "none",
                        "SMTP_USER": SMTP_USER, "SMTP_PASSWORD": SMTP_PASSWORD, "MAIL_FROM": "finance@hospital.test",
                        "WEBHOOK_URL": f"http://127.0.0.1:{stub.port}/robot/send?access_token={ROBOT_TOKEN}",
                        "WEBHOOK_SECRET": ROBOT_SECRET, "RETRY_BACKOFF_S": "600"}.items():
        monkeypatch.setenv(f"SMARTFIN_NOTIFY_{name}", value)
    get_settings.cache_clear()
    try:
        yield sink, stub, get_settings()
    finally:
        sink.stop()
        stub.close()
        with session_scope() as session:
            session.execute(delete(NotificationPreference))
        monkeypatch.undo()
        get_settings.cache_clear()


def submit(camunda: EngineClient, amount: str) -> tuple[str, str]:
    number = submit_spending_request({"department": "T-CARD", "category": "materials", "amount": amount,
                                      "fundingSource": "fiscal", "requester": "zhang.wei", "payee": "国药控股",
                                      "purpose": "通知测试 notification test"}, engine=camunda)
    with session_scope() as session:
        row = session.get(SpendingRequest, number)
        assert row is not None and row.process_instance_id
        return number, row.process_instance_id


def rounds(notifier: Notifier, until: Callable[[], Any], message: str, **kwargs: Any) -> Any:
    """Run notifier rounds until ``until`` holds (the engine commits tasks asynchronously)."""
    return wait_for(lambda: notifier.run_once(**kwargs) and until(), timeout=30, interval=0.3, message=message)


def members_with_mail(camunda: EngineClient, group: str) -> dict[str, str]:
    found = {u["id"]: u["email"] for u in camunda.get("/user", memberOfGroup=group) if u.get("email")}
    assert found, f"the demo group {group} has members with an e-mail address"
    return found


def outbox_of(number: str, channel: str) -> list[NotificationOutbox]:
    with session_scope() as session:
        return list(session.exec(select(NotificationOutbox).join(NotificationEvent)
                                 .where(NotificationEvent.subject == number, NotificationEvent.kind == "task",
                                        NotificationOutbox.channel == channel)).all())


def test_a_new_task_is_mailed_to_each_member_and_posted_once_even_after_a_restart(camunda, workers, budget,
                                                                                   notify_setup):
    sink, stub, settings = notify_setup
    number, pid = submit(camunda, "1260.00")
    task = open_task(camunda, pid)
    members = members_with_mail(camunda, "dept-head")

    first = Notifier(settings, camunda, document_requester)
    rounds(first, lambda: all(sink.to(a, number) for a in members.values()) and stub.containing(number),
           "a mail to every dept-head member and a chat post")

    restarted = Notifier(settings, camunda, document_requester)
    restarted.run_once()
    restarted.run_once()
    for address in members.values():
        [mail] = sink.to(address, number)
        assert number in str(mail["Subject"]) and "待办" in str(mail["Subject"]) and "New task" in str(mail["Subject"])
        assert f"#/?task={task['id']}" in mail.get_content()
        assert settings.tasklist_url in mail.get_content()
    [post] = stub.containing(number)
    assert post["body"]["msgtype"] == "markdown" and post["body"]["markdown"]["title"]
    assert all(f"<@{user}>" in post["body"]["markdown"]["text"] for user in members)
    assert "timestamp=" in post["path"] and "sign=" in post["path"], "the robot's posts are signed"
    assert len(outbox_of(number, "email")) == len(members)

    # the requester hears the decision once the chain has signed (requester from the request's record)
    approve_all(camunda, pid)
    process_ended(camunda, pid)
    rounds(restarted, lambda: [m for m in sink.to("zhang.wei@demo.smartfin.local", number)
                               if "审批结果" in str(m["Subject"])], "the decision mailed to the requester")
    restarted.run_once()
    decided = [m for m in sink.to("zhang.wei@demo.smartfin.local", number) if "审批结果" in str(m["Subject"])]
    assert len(decided) == 1 and "approved" in str(decided[0]["Subject"])


def test_a_dead_mail_server_is_retried_and_never_holds_up_the_process(camunda, workers, budget, notify_setup,
                                                                      caplog: pytest.LogCaptureFixture):
    sink, stub, settings = notify_setup
    caplog.set_level(logging.INFO)  # the service logs at INFO (urllib3 names URLs at DEBUG)
    sink.stop()
    stub.failing = True
    number, pid = submit(camunda, "980.00")
    task = open_task(camunda, pid)
    members = members_with_mail(camunda, "dept-head")
    notifier = Notifier(settings, camunda, document_requester)
    rounds(notifier, lambda: outbox_of(number, "email") and all(r.attempts == 1 for r in outbox_of(number, "email")),
           "a first failed attempt for every mail")
    rows = outbox_of(number, "email") + outbox_of(number, "webhook")
    assert {r.status for r in rows} == {"pending"} and all(r.last_error for r in rows)
    assert all(r.next_attempt_at > utc_now() + timedelta(minutes=5) for r in rows), "backoff before the next try"

    # the process went on: the department head signs while no mail can be sent
    li_na = camunda.as_user("li.na", "smartfin-demo")
    try:
        li_na.complete_task(task["id"], {"decision": "approve", "comment": "同意 ok"})
    finally:
        li_na.close()
    following = wait_for(lambda: [t for t in camunda.tasks(processInstanceId=pid) if t["id"] != task["id"]],
                         message="the next approval task")
    assert following

    notifier.run_once()
    assert all(r.attempts == 1 for r in outbox_of(number, "email")), "no retry before the backoff is over"
    sink.start()
    stub.failing = False
    notifier.run_once(now=utc_now() + timedelta(hours=2))
    for address in members.values():
        assert len(sink.to(address, number)) == 1
    assert {(r.status, r.attempts) for r in outbox_of(number, "email")} == {("sent", 2)}
    assert len(stub.containing(number)) >= 2, "the chat post was retried after its refusal"

    logged = caplog.text + " ".join(r.last_error or "" for r in rows)
    assert "not delivered" in caplog.text
    for secret in (SMTP_PASSWORD, ROBOT_TOKEN, ROBOT_SECRET):
        assert secret not in logged


def test_daily_digest_collects_tasks_and_preferences_are_kept(camunda, workers, budget, notify_setup):
    sink, stub, settings = notify_setup
    members = members_with_mail(camunda, "dept-head")
    first_user = sorted(members)[0]
    with session_scope() as session:
        for user in members:
            set_preference(session, user=user, actor="test", digest="daily", webhook=False,
                           email="head.inbox@hospital.test" if user == first_user else None)
    numbers = []
    for amount in ("310.00", "420.00"):
        number, pid = submit(camunda, amount)
        open_task(camunda, pid)
        numbers.append(number)
    notifier = Notifier(settings, camunda, document_requester)
    rounds(notifier, lambda: all(len(outbox_of(n, "email")) == len(members) for n in numbers),
           "outbox rows for both tasks")
    notifier.run_once()
    addresses = {**members, first_user: "head.inbox@hospital.test"}
    assert not any(sink.to(a, n) for a in addresses.values() for n in numbers), "held for the digest"
    assert not any(stub.containing(n) for n in numbers), "nobody wants the chat post"

    notifier.run_once(force_digest=True)
    for user, address in addresses.items():
        digests = [m for m in sink.to(address) if all(n in m.get_content() for n in numbers)]
        assert len(digests) == 1, f"one digest for {user}"
        assert "每日待办汇总" in str(digests[0]["Subject"])
    assert not sink.to(members[first_user], numbers[0]), "the preferred address replaces the profile's"
    notifier.run_once(force_digest=True)
    assert len([m for m in sink.to(addresses[first_user]) if numbers[0] in m.get_content()]) == 1


def test_an_escalation_in_the_audit_log_reminds_the_task_group(camunda, workers, budget, notify_setup):
    sink, _stub, settings = notify_setup
    number, pid = submit(camunda, "770.00")
    task = open_task(camunda, pid)
    members = members_with_mail(camunda, "dept-head")
    notifier = Notifier(settings, camunda, document_requester)
    notifier.run_once()  # the audit log's mark is set before the escalation
    with session_scope() as session:
        record_audit(session, actor="system", action="approval-escalated", subject_type="spending-request",
                     subject_id=number, details={"tasks": [task["id"]]})
    rounds(notifier, lambda: all([m for m in sink.to(a, number) if "催办" in str(m["Subject"])]
                                 for a in members.values()), "a reminder to every dept-head member")


def _start_notifier(log_path: Any) -> subprocess.Popen[bytes]:
    handle = open(log_path, "ab")  # noqa: SIM115 — the child writes to it until it is stopped
    return subprocess.Popen([sys.executable, "-m", "smartfin.app.cli", "notify", "run"], stdout=handle,
                            stderr=subprocess.STDOUT, env={**os.environ, "SMARTFIN_NOTIFY_POLL_S": "0.5"})


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, "the notifier stops cleanly on SIGTERM"


def test_the_notifier_service_sends_once_across_a_restart_of_its_process(camunda, workers, budget, notify_setup,
                                                                         tmp_path):
    sink, stub, _settings = notify_setup
    log_path = tmp_path / "notifier.log"
    service = _start_notifier(log_path)
    try:
        number, pid = submit(camunda, "1530.00")
        open_task(camunda, pid)
        members = members_with_mail(camunda, "dept-head")
        wait_for(lambda: all(sink.to(a, number) for a in members.values()) and stub.containing(number),
                 timeout=60, message="the service's mails and post")
    finally:
        _stop(service)
    again = _start_notifier(log_path)
    try:
        wait_for(lambda: log_path.read_text(encoding="utf-8").count("notifier started") == 2, timeout=60,
                 message="the restarted notifier")
        time.sleep(3)  # several rounds of the restarted process
    finally:
        _stop(again)
    assert all(len(sink.to(a, number)) == 1 for a in members.values())
    assert len(stub.containing(number)) == 1
    logged = log_path.read_text(encoding="utf-8")
    assert "notifier started: mail on, webhook on" in logged
    assert not any(secret in logged for secret in (SMTP_PASSWORD, ROBOT_TOKEN, ROBOT_SECRET))


def test_a_send_back_is_mailed_to_the_recorded_requester_with_its_reason(camunda, workers, budget, notify_setup):
    sink, _stub, settings = notify_setup
    number, pid = submit(camunda, "640.00")
    notifier = Notifier(settings, camunda, document_requester)
    notifier.run_once()  # the audit log's mark is set before the send-back
    task = open_task(camunda, pid)
    camunda.as_user("li.na", "smartfin-demo").complete_task(task["id"], {"decision": "sendBack",
                                                                         "comment": "请附报价单 attach the quote"})
    address = {u["id"]: u.get("email") for u in camunda.get("/user", id="zhang.wei")}["zhang.wei"]
    assert address, "the demo requester has an e-mail address"
    [mail] = rounds(notifier, lambda: [m for m in sink.to(address, number) if "退回修改" in str(m["Subject"])],
                    "the send-back mailed to the requester")
    assert "请附报价单 attach the quote" in mail.get_content()
    camunda.correlate("SpendingRequestWithdrawn", number)
    process_ended(camunda, pid)
