"""The demo's mail sink: `smartfin notify sink` keeps every mail under var/, and in the demo without a mail
server the notifier is pointed at it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from email import message_from_bytes
from email.policy import default
from pathlib import Path

from smartfin.app.notify_commands import mailbox, notifier_service, uses_demo_sink
from smartfin.kernel.settings import NotifySettings, Settings
from smartfin.notify.channels import MailChannel
from tests.support.engine import wait_for
from tests.support.notify import free_port


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_the_sink_keeps_each_mail_as_a_file(tmp_path: Path) -> None:
    port = free_port()
    settings = Settings(var_dir=tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "smartfin.app.cli", "notify", "sink", "--port", str(port)],
                               env={**os.environ, "SMARTFIN_VAR_DIR": str(tmp_path)}, stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: _listening(port), timeout=60, message="the mail sink")
        config = NotifySettings(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
        MailChannel(config, None).send("li.na@demo.smartfin.local", "待办 / New task", "单据 REQ-1")
        [kept] = wait_for(lambda: list(mailbox(settings).glob("*.eml")), message="the kept mail")
        mail = message_from_bytes(kept.read_bytes(), policy=default)
        assert str(mail["Subject"]) == "待办 / New task" and mail["To"] == "li.na@demo.smartfin.local"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_only_the_demo_without_a_mail_server_uses_the_sink() -> None:
    demo = Settings(engine_demo=True, notify=NotifySettings(demo_mail_port=8125))
    assert uses_demo_sink(demo)
    assert notifier_service(demo).env["SMARTFIN_NOTIFY_SMTP_PORT"] == "8125"
    configured = Settings(engine_demo=True, notify=NotifySettings(smtp_host="mail.hospital.test"))
    assert not uses_demo_sink(configured) and notifier_service(configured).env == {}
    assert not uses_demo_sink(Settings(engine_demo=False))
