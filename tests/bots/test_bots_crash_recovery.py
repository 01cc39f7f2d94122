"""Kill the bot between the ERP's save and the recording of the voucher number; the restart posts nothing twice."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from bots_fixtures import vouchers_with

from portals.runner import RunningPortals
from smartfin.kernel.settings import PROJECT_ROOT, Settings
from smartfin.ports.vouchers import payment_voucher
from smartfin.posting.journal import PAUSE_AFTER_SAVE, PAUSE_ENV, PostingState, find_entry

pytestmark = pytest.mark.browser


def cli(*args: str, pause_at: str | None = None) -> subprocess.Popen[str]:
    """The bot as its own process (and process group: Chromium and the driver die with it)."""
    env = {**os.environ, PAUSE_ENV: pause_at} if pause_at else {k: v for k, v in os.environ.items() if k != PAUSE_ENV}
    return subprocess.Popen([sys.executable, "-m", "smartfin.app.cli", *args], cwd=PROJECT_ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def wait_for_line(stream: object, marker: str, timeout: float) -> list[str]:
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen = []
    while True:
        line = lines.get(timeout=timeout)
        if line is None:
            raise AssertionError(f"process ended before {marker!r}: {''.join(seen)[-2000:]}")
        seen.append(line)
        if marker in line:
            return seen


def test_sigkill_after_the_portal_saved_then_restart_records_the_one_voucher(
        bot_portals: RunningPortals, bot_settings: Settings, tmp_path: Path) -> None:
    voucher = payment_voucher(document_type="claim", document_no="CRASH-0001", booked_on=date(2026, 6, 1),
                              summary="崩溃恢复测试", amount=Decimal("777.70"))
    path = tmp_path / "voucher.json"
    path.write_text(json.dumps(voucher.as_variable(), ensure_ascii=False), encoding="utf-8")

    bot = cli("post-voucher", str(path), pause_at=PAUSE_AFTER_SAVE)
    try:
        wait_for_line(bot.stderr, f"paused at {PAUSE_AFTER_SAVE}", timeout=120)
    finally:
        os.killpg(bot.pid, signal.SIGKILL)  # the whole machine "crashes": bot, driver and browser
        bot.wait(30)
    assert bot.returncode == -signal.SIGKILL

    saved = vouchers_with(bot_portals, voucher.external_ref)
    assert len(saved) == 1, "the ERP saved the voucher before the crash"
    entry = find_entry(voucher.external_ref)
    assert entry is not None and entry.state == PostingState.SUBMITTING and entry.voucher_no is None

    restarted = cli("post-voucher", str(path))
    out, err = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, err[-2000:]
    assert f"found in the ERP (reconciled) as {saved[0]['number']}" in out

    assert vouchers_with(bot_portals, voucher.external_ref) == saved
    entry = find_entry(voucher.external_ref)
    assert entry is not None and entry.state == PostingState.POSTED
    assert entry.voucher_no == saved[0]["number"] and entry.reconciled and entry.attempts == 1
