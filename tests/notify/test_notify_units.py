"""The notifier's parts without the engine: the robot's signing and format, the channels' errors without
secrets, idempotent events, preferences refused with their reason, reconciliation exceptions as alerts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from smartfin.kernel.settings import NotifySettings, Settings
from smartfin.notify import EventKind, raise_event
from smartfin.notify.channels import DeliveryFailed, MailChannel, WebhookChannel, markdown_payload, sign_url
from smartfin.notify.notifier import PreferenceRefused, set_preference
from smartfin.notify.sources import collect_reconciliation
from smartfin.notify.tables import NotificationEvent
from smartfin.reconciliation.models import ReconciliationRun, ReconException
from tests.support.notify import SmtpSink, WebhookStub, free_port

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def test_signed_url_carries_the_timestamp_and_the_hmac_of_timestamp_and_secret() -> None:
    url = sign_url("https://oapi.example/robot/send?access_token=abc", "SECret", now_ms=1700000000000)
    query = parse_qs(urlsplit(url).query)
    expected = base64.b64encode(hmac.new(b"SECret", b"1700000000000\nSECret", hashlib.sha256).digest()).decode()
    assert query == {"access_token": ["abc"], "timestamp": ["1700000000000"], "sign": [expected]}


def test_markdown_payload_is_read_by_both_robot_kinds() -> None:
    assert markdown_payload("标题", "正文") == {"msgtype": "markdown",
                                             "markdown": {"title": "标题", "text": "正文", "content": "正文"}}


def test_a_refusing_robot_is_a_failure_whose_message_names_no_secret() -> None:
    stub = WebhookStub()
    stub.failing = True
    try:
        channel = WebhookChannel(f"http://127.0.0.1:{stub.port}/robot/send?access_token=TOKEN-abc", "SEC-xyz")
        with pytest.raises(DeliveryFailed) as refused:
            channel.post("t", "x")
        assert "310000" in str(refused.value)
        assert "TOKEN-abc" not in str(refused.value) and "SEC-xyz" not in str(refused.value)
        stub.failing = False
        channel.post("t", "x")
        assert len(stub.posts) == 2 and "sign=" in stub.posts[1]["path"]
    finally:
        stub.close()
    gone = WebhookChannel(f"http://127.0.0.1:{free_port()}/send?key=TOKEN-def", None)
    with pytest.raises(DeliveryFailed) as unreachable:
        gone.post("t", "x")
    assert "unreachable" in str(unreachable.value) and "TOKEN-def" not in str(unreachable.value)


def test_a_refused_mail_login_names_the_server_not_the_password() -> None:
    sink = SmtpSink("notifier", "right-Pass-1")
    sink.start()
    try:
        config = NotifySettings(smtp_host="127.0.0.1", smtp_port=sink.port, smtp_security="none",
                                smtp_user="notifier")
        with pytest.raises(DeliveryFailed) as refused:
            MailChannel(config, "wrong-Pass-2").send("li.na@hospital.test", "主题 subject", "正文 body")
        assert f"127.0.0.1:{sink.port}" in str(refused.value) and "wrong-Pass-2" not in str(refused.value)
        MailChannel(config, "right-Pass-1").send("li.na@hospital.test", "主题 subject", "正文 body")
        [mail] = sink.to("li.na@hospital.test")
        assert str(mail["Subject"]) == "主题 subject" and mail.get_content().strip() == "正文 body"
    finally:
        sink.stop()


def test_an_event_raised_twice_is_stored_once_and_needs_someone_to_tell(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as session:
        first = raise_event(session, key="cash:2026-12-01", kind=EventKind.CASH, subject="2026-12",
                            title="资金预警 / Cash alert", body="余额低于安全线 / below the floor",
                            groups=["finance-officer", " finance-officer"])
        again = raise_event(session, key="cash:2026-12-01", kind=EventKind.CASH, subject="2026-12",
                            title="other", body="other", users=["wang.fang"])
        session.commit()
        assert again.id == first.id and first.groups == "finance-officer"
        assert len(session.exec(select(NotificationEvent)).all()) == 1
        with pytest.raises(ValueError, match="no group or user"):
            raise_event(session, key="cash:x", kind=EventKind.CASH, subject="s", title="t", body="b")


def test_preferences_are_refused_with_the_reason(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as session:
        with pytest.raises(PreferenceRefused, match="--digest must be immediate or daily"):
            set_preference(session, user="li.na", actor="t", digest="weekly")
        with pytest.raises(PreferenceRefused, match="not an e-mail address"):
            set_preference(session, user="li.na", actor="t", email="li.na at hospital")
        row = set_preference(session, user="li.na", actor="t", email="li@hospital.test", digest="daily")
        row = set_preference(session, user="li.na", actor="t", webhook=False)
        assert (row.email, row.webhook, row.digest) == ("li@hospital.test", False, "daily")


def test_new_pending_reconciliation_exceptions_alert_the_finance_group_once(sqlite_engine: Engine) -> None:
    settings = Settings(notify=NotifySettings(alert_groups="finance-officer,chief-accountant"))
    with Session(sqlite_engine) as session:
        assert collect_reconciliation(session, settings) == 0, "the first round only sets the mark"
        run = ReconciliationRun(kind="bank", scope="6222", business_date=date(2026, 11, 30))
        session.add(run)
        session.flush()
        assert run.id is not None
        for n, status in enumerate(("pending", "pending", "resolved")):
            session.add(ReconException(run_id=run.id, exception_key=f"k{n}", type="unmatched-bank", amount_fen=12345,
                                       references=[f"R{n}"], detail=f"第{n}笔", status=status))
        session.flush()
        assert collect_reconciliation(session, settings) == 1
        assert collect_reconciliation(session, settings) == 0
        [event] = session.exec(select(NotificationEvent)).all()
        assert event.kind == "reconciliation" and event.groups == "chief-accountant,finance-officer"
        assert "2 项" in event.title and "123.45" in event.body and "第2笔" not in event.body


def test_audited_decisions_send_backs_and_cost_months_become_events_for_the_right_people(
        sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from decimal import Decimal

    import smartfin.notify.sources as sources
    from smartfin.costing.model import Breach, Direction
    from smartfin.store.audit import record_audit

    owners = {("spending-request", "REQ-9"): "zhang.wei", ("reimbursement-claim", "BX-7"): "sun.li"}
    monkeypatch.setattr(sources, "breaches", lambda session, month: [
        Breach(month=month, centre="C01", centre_name="心内科", indicator="materials_ratio", indicator_name="耗占比",
               value=Decimal("31.5"), target=Decimal("28"), direction=next(iter(Direction)))])
    settings = Settings(notify=NotifySettings(alert_groups="finance-officer"))
    with Session(sqlite_engine) as session:
        record_audit(session, actor="system", action="closed-approved", subject_type="spending-request",
                     subject_id="REQ-0", details={})
        assert sources.collect_audit(None, session, settings, lambda s, t, n: owners.get((t, n))) == 0  # type: ignore[arg-type]
        for action, kind, number in (("closed-rejected", "spending-request", "REQ-9"),
                                     ("claim.sent-back", "reimbursement-claim", "BX-7"),
                                     ("closed-approved", "spending-request", "REQ-unknown"),
                                     ("budget.adjusted", "budget_line", "1")):
            record_audit(session, actor="system", action=action, subject_type=kind, subject_id=number,
                         details={"reason": "超标准 over the standard"})
        record_audit(session, actor="system", action="cost.month.published", subject_type="cost_run", subject_id=3,
                     details={"month": "2026-10"})
        assert sources.collect_audit(None, session, settings, lambda s, t, n: owners.get((t, n))) == 3  # type: ignore[arg-type]
        assert sources.collect_audit(None, session, settings, lambda s, t, n: owners.get((t, n))) == 0  # type: ignore[arg-type]
        events = {e.kind: e for e in session.exec(select(NotificationEvent)).all()}
    assert set(events) == {"decision", "sent-back", "cost"}
    assert events["decision"].users == "zhang.wei" and "rejected" in events["decision"].title
    assert "over the standard" in events["decision"].body
    assert events["sent-back"].users == "sun.li" and "退回修改" in events["sent-back"].title
    assert events["cost"].groups == "finance-officer" and "心内科 耗占比: 31.5" in events["cost"].body


def test_the_outbox_command_lists_attempts_and_errors() -> None:
    from typer.testing import CliRunner

    from smartfin.app.cli import app
    from smartfin.notify.tables import NotificationOutbox
    from smartfin.store.db import session_scope

    with session_scope() as session:
        event = raise_event(session, key="cash:outbox-listing", kind=EventKind.CASH, subject="2026-12",
                            title="资金预警 / Cash alert", body="b", groups=["finance-officer"])
        session.flush()
        session.add(NotificationOutbox(event_id=event.id, recipient="wang.fang", channel="email",
                                       address="wang.fang@hospital.test", attempts=3,
                                       last_error="mail to wang.fang@hospital.test failed: ConnectionRefusedError"))
    listed = CliRunner().invoke(app, ["notify", "outbox", "--status", "pending", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.output.splitlines()]
    [row] = [r for r in rows if r["event"] == "cash:outbox-listing"]
    assert (row["recipient"], row["attempts"], row["kind"]) == ("wang.fang", 3, "cash")
    assert "ConnectionRefusedError" in row["last_error"]


def test_a_message_is_retried_with_backoff_then_failed_and_a_dead_senders_claim_runs_out() -> None:
    from datetime import timedelta

    from smartfin.kernel.clock import utc_now
    from smartfin.notify.channels import Channels
    from smartfin.notify.delivery import SENDING_LEASE, _claim, send_due
    from smartfin.notify.tables import NotificationOutbox
    from smartfin.store.db import session_scope

    settings = Settings(notify=NotifySettings(max_attempts=2, retry_backoff_s=60))
    dead = NotifySettings(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none")
    channels = Channels(MailChannel(dead, None), None)
    start = utc_now() + timedelta(days=30)  # after every row other tests left behind
    with session_scope() as session:
        event = raise_event(session, key="cash:retry-test", kind=EventKind.CASH, subject="s", title="t", body="b",
                            users=["wang.fang"])
        session.flush()
        row = NotificationOutbox(event_id=event.id, recipient="wang.fang", channel="email",
                                 address="wang.fang@hospital.test", next_attempt_at=start)
        session.add(row)
    assert row.id is not None

    def stored() -> NotificationOutbox:
        with session_scope() as session:
            found = session.get(NotificationOutbox, row.id)
            assert found is not None
            return found

    send_due(settings, channels, start)
    first = stored()
    assert (first.status, first.attempts) == ("pending", 1) and "failed" in str(first.last_error)
    assert first.next_attempt_at == start + timedelta(seconds=60)
    send_due(settings, channels, start + timedelta(seconds=30))
    assert stored().attempts == 1, "not before its time"
    send_due(settings, channels, start + timedelta(seconds=61))
    assert (stored().status, stored().attempts) == ("failed", 2)

    with session_scope() as session:
        claimed = session.get(NotificationOutbox, row.id)
        assert claimed is not None
        claimed.status, claimed.next_attempt_at = "pending", start
        session.add(claimed)
    assert [r.id for r, _ in _claim(False, start, None) if r.id == row.id] == [row.id]
    assert not [r for r, _ in _claim(False, start, None) if r.id == row.id], "taken by the first claim"
    assert [r.id for r, _ in _claim(False, start + SENDING_LEASE, None) if r.id == row.id] == [row.id]


def test_a_task_decided_between_listing_and_lookup_is_skipped_and_the_others_still_announced(
        sqlite_engine: Engine) -> None:
    from smartfin.camunda.client import EngineRequestError
    from smartfin.notify.sources import collect_tasks

    class Engine_:  # the engine's answers at the moment a task is completed under the notifier's feet
        def post(self, path: str, body: dict) -> list[dict]:
            return [{"id": "gone", "created": "2026-11-30T09:00:00.000+0800", "name": "审批"},
                    {"id": "open", "created": "2026-11-30T09:00:01.000+0800", "name": "审批",
                     "processInstanceId": "p1"}]

        def get(self, path: str, **params: object) -> object:
            if path == "/task/gone/identity-links":
                raise EngineRequestError("GET", path, 500, "NullValueException", "Cannot find task with id gone")
            if path == "/task/open/identity-links":
                return [{"type": "candidate", "groupId": "dept-head"}]
            if path == "/history/process-instance/p1":
                return {"businessKey": "REQ-1"}
            raise EngineRequestError("GET", path, 403, "AuthorizationException", "not allowed")

    with Session(sqlite_engine) as session:
        assert collect_tasks(Engine_(), session, Settings()) == 1  # type: ignore[arg-type]
        events = session.exec(select(NotificationEvent)).all()
    assert [(e.event_key, e.groups, e.subject) for e in events] == [("task:open", "dept-head", "REQ-1")]


def test_an_engine_refusal_other_than_a_vanished_task_still_fails_the_round(sqlite_engine: Engine) -> None:
    from smartfin.camunda.client import EngineRequestError
    from smartfin.notify.sources import collect_tasks

    class Engine_:
        def post(self, path: str, body: dict) -> list[dict]:
            return [{"id": "t1", "created": "2026-11-30T09:00:00.000+0800"}]

        def get(self, path: str, **params: object) -> object:
            raise EngineRequestError("GET", path, 403, "AuthorizationException", "no READ on task t1")

    with Session(sqlite_engine) as session, pytest.raises(EngineRequestError, match="403"):
        collect_tasks(Engine_(), session, Settings())  # type: ignore[arg-type]
