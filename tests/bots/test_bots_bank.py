"""The online-bank bot: statements and receipts as files, a refusal as text, a download that never comes."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from bots_fixtures import admin, quick_runtime

from bots.bank import download_day_statements, download_receipt, download_statement
from bots.errors import BankRefused, DownloadMissing
from bots.runtime import BotRuntime
from portals.runner import RunningPortals
from smartfin.kernel.settings import Settings

pytestmark = pytest.mark.browser
ACCOUNT = "33010201040012345"


def test_statement_download_in_two_formats(bot_portals: RunningPortals, runtime: BotRuntime, tmp_path: Path) -> None:
    end = date.today() - timedelta(days=1)
    camt = download_statement(ACCOUNT, end - timedelta(days=6), end, "camt053", runtime=runtime)
    text = camt.path.read_text(encoding="utf-8")
    assert "camt.053" in text and ACCOUNT in text and len(camt.sha256) == 64
    saved = download_day_statements(ACCOUNT, end, tmp_path / "day", ("csv",), runtime=runtime)
    assert [p.suffix for p in saved] == [".csv"] and saved[0].read_bytes()


def test_receipt_pdf_of_a_transaction(bot_portals: RunningPortals, runtime: BotRuntime) -> None:
    day = date.today() - timedelta(days=2)
    csv = download_statement(ACCOUNT, day, day, "csv", runtime=runtime).path.read_bytes().decode("gbk")
    txn_id = re.search(r"\b(\d{15})\b", csv)
    assert txn_id, "the statement lists transactions"
    receipt = download_receipt(ACCOUNT, txn_id.group(1), day, runtime=runtime)
    assert receipt.path.read_bytes().startswith(b"%PDF")


def test_pages_arriving_in_pieces_are_read_whole(bot_portals: RunningPortals, runtime: BotRuntime) -> None:
    day = date.today() - timedelta(days=2)
    csv = download_statement(ACCOUNT, day, day, "csv", runtime=runtime).path.read_bytes().decode("gbk")
    last_txn = re.findall(r"\b(\d{15})\b", csv)[-1]  # its receipt link is at the bottom of the page
    admin(bot_portals, "bank", "POST", "/__admin/faults", {"trickle_ms": 100})
    research = "33010201040067890"  # listed below the basic account
    assert download_statement(research, day, day, "csv", runtime=runtime).path.read_bytes()
    receipt = download_receipt(ACCOUNT, last_txn, day, runtime=runtime)
    assert receipt.path.read_bytes().startswith(b"%PDF")


def test_refused_period_is_a_business_failure_with_the_bank_text(bot_portals: RunningPortals,
                                                                 runtime: BotRuntime) -> None:
    today = date.today()
    with pytest.raises(BankRefused) as refused:
        download_statement(ACCOUNT, today - timedelta(days=400), today, "csv", runtime=runtime)
    assert "查询区间不能超过" in refused.value.portal_message
    with pytest.raises(BankRefused, match="not listed"):
        download_statement("99999999", today, today, "csv", runtime=runtime)


def test_download_that_never_arrives_is_download_missing(bot_portals: RunningPortals, bot_settings: Settings) -> None:
    impatient = quick_runtime(bot_settings, download_timeout_ms=300, attempts=1)
    try:
        day = date.today() - timedelta(days=1)
        download_statement(ACCOUNT, day, day, "csv", runtime=impatient)  # logged in before the bank slows down
        admin(bot_portals, "bank", "POST", "/__admin/faults", {"latency_ms": 900})
        with pytest.raises(DownloadMissing) as missing:
            download_statement(ACCOUNT, day, day, "csv", runtime=impatient)
        assert missing.value.evidence and Path(missing.value.evidence, "message.txt").exists()
    finally:
        impatient.close()
