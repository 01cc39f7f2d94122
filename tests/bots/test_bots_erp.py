"""The ERP bot on real Chromium against the stand-in ERP: posting, and each fault's defined outcome."""

from __future__ import annotations

import itertools
import json
import socket
import threading
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from bots_fixtures import ERP_USER, admin, logged_in, quick_runtime, seed_erp_vouchers, vouchers_with

from bots.erp import find_vouchers
from bots.errors import LoginRefused, PortalUnavailable, UnexpectedPage
from bots.runtime import BotRuntime
from portals.runner import RunningPortals
from smartfin.app.implementations import post_voucher
from smartfin.kernel.settings import Settings
from smartfin.ports.vouchers import Voucher, VoucherLine, payment_voucher
from smartfin.posting.journal import PostingState, VoucherRejected, find_entry

pytestmark = pytest.mark.browser
_seq = itertools.count(1)


def claim_voucher(amount: str = "356.40", no: str | None = None) -> Voucher:
    return payment_voucher(document_type="claim", document_no=no or f"ERP-T-{next(_seq)}",
                           booked_on=date(2026, 5, 6), summary="差旅费报销", amount=Decimal(amount), attachments=2)


def test_posts_once_with_confirm_dialog_and_frames(bot_portals: RunningPortals, runtime: BotRuntime) -> None:
    voucher = claim_voucher()
    result = post_voucher(voucher, runtime=runtime)
    held = vouchers_with(bot_portals, voucher.external_ref)
    assert [v["number"] for v in held] == [result.voucher_no]
    assert result.voucher_no.startswith("付-2026-05-")
    assert post_voucher(voucher, runtime=runtime).voucher_no == result.voucher_no
    assert len(vouchers_with(bot_portals, voucher.external_ref)) == 1
    assert find_vouchers(voucher.external_ref, runtime=runtime) == [result.voucher_no]


def test_extra_lines_use_the_add_row_button(bot_portals: RunningPortals, runtime: BotRuntime) -> None:
    z = Decimal("0.00")
    voucher = Voucher("claim", f"ERP-T-{next(_seq)}", date(2026, 5, 6), "付", "三行报销", 1,
                      (VoucherLine("5001", "差旅", Decimal("100.00"), z),
                       VoucherLine("5101", "会议", Decimal("50.00"), z),
                       VoucherLine("1002", "付款", z, Decimal("150.00"))),
                      (VoucherLine("7201", "支出", Decimal("150.00"), z),
                       VoucherLine("8001", "结存", z, Decimal("150.00"))))
    post_voucher(voucher, runtime=runtime)
    assert len(vouchers_with(bot_portals, voucher.external_ref)) == 1


def test_search_pages_through_results_and_keeps_exact_matches(bot_portals: RunningPortals,
                                                             runtime: BotRuntime) -> None:
    stem = f"PAGE-{next(_seq)}"
    seed_erp_vouchers(bot_portals, [f"claim:{stem}{index:02d}" for index in range(11)])  # two result pages
    assert find_vouchers(f"claim:{stem}", runtime=runtime) == []  # LIKE matches, but none exactly
    assert len(find_vouchers(f"claim:{stem}10", runtime=runtime)) == 1


def test_validation_error_is_voucher_rejected_with_portal_text_and_scrubbed_evidence(
        bot_portals: RunningPortals, runtime: BotRuntime, bot_settings: Settings) -> None:
    z = Decimal("0.00")
    voucher = Voucher("claim", f"ERP-T-{next(_seq)}", date(2026, 5, 6), "记", "科目错误", 0,
                      (VoucherLine("5999", "x", Decimal("10.00"), z), VoucherLine("2302", "x", z, Decimal("10.00"))))
    with pytest.raises(VoucherRejected) as rejected:
        post_voucher(voucher, runtime=runtime)
    assert "科目代码“5999”不存在" in rejected.value.message
    assert vouchers_with(bot_portals, voucher.external_ref) == []
    entry = find_entry(voucher.external_ref)
    assert entry is not None and entry.state == PostingState.FAILED and entry.evidence_path
    folder = Path(entry.evidence_path)
    assert {p.name for p in folder.iterdir()} >= {"screenshot.png", "trace.zip", "message.txt"}
    assert "5999" in (folder / "message.txt").read_text(encoding="utf-8")
    state = json.loads((bot_settings.var_dir / "bots" / "sessions" / f"erp-{ERP_USER.username}.json").read_text())
    session_ids = [c["value"] for c in state["cookies"]]
    with zipfile.ZipFile(folder / "trace.zip") as trace:
        blob = b"".join(trace.read(name) for name in trace.namelist())
    blob += (folder / "page.html").read_bytes()
    assert session_ids and all(sid.encode() not in blob for sid in session_ids)
    assert ERP_USER.password.encode() not in blob
    assert b'name="csrf_token" value="[REDACTED]"' in (folder / "page.html").read_bytes()
    assert b'"csrf_token" value="' not in blob.replace(b'value="[REDACTED]"', b"")


def test_session_expired_mid_item_logs_in_again_and_posts_once(bot_portals: RunningPortals,
                                                              runtime: BotRuntime) -> None:
    logged_in(runtime)
    admin(bot_portals, "erp", "POST", "/__admin/faults", {"logout_on_next_post": True})
    relogins = runtime.stats.relogins
    voucher = claim_voucher()
    result = post_voucher(voucher, runtime=runtime)
    assert runtime.stats.relogins == relogins + 1
    assert [v["number"] for v in vouchers_with(bot_portals, voucher.external_ref)] == [result.voucher_no]


def test_stale_saved_login_is_noticed_and_redone(bot_portals: RunningPortals, runtime: BotRuntime) -> None:
    logged_in(runtime)
    admin(bot_portals, "erp", "POST", "/__admin/faults", {"expire_sessions": True})
    logins = runtime.stats.logins
    voucher = claim_voucher()
    post_voucher(voucher, runtime=runtime)
    assert runtime.stats.logins == logins + 1
    assert len(vouchers_with(bot_portals, voucher.external_ref)) == 1


def test_transient_server_error_is_retried(bot_portals: RunningPortals, runtime: BotRuntime) -> None:
    logged_in(runtime)
    admin(bot_portals, "erp", "POST", "/__admin/faults", {"fail_next": 1})
    voucher = claim_voucher()
    post_voucher(voucher, runtime=runtime)
    assert len(vouchers_with(bot_portals, voucher.external_ref)) == 1


def test_a_result_page_arriving_in_pieces_is_read_whole_and_nothing_is_posted_twice(
        bot_portals: RunningPortals, runtime: BotRuntime) -> None:
    voucher = claim_voucher()
    seed_erp_vouchers(bot_portals, [voucher.external_ref])  # keyed by hand before the bot's turn
    [keyed] = vouchers_with(bot_portals, voucher.external_ref)
    logged_in(runtime)
    admin(bot_portals, "erp", "POST", "/__admin/faults", {"trickle_ms": 100})  # the record count comes first
    result = post_voucher(voucher, runtime=runtime)
    assert result.voucher_no == keyed["number"] and result.reconciled
    assert len(vouchers_with(bot_portals, voucher.external_ref)) == 1


def test_revised_layout_with_notice_page_is_recognised(bot_portals: RunningPortals, runtime: BotRuntime) -> None:
    admin(bot_portals, "erp", "POST", "/__admin/faults", {"layout_variant": "revised", "expire_sessions": True})
    voucher = claim_voucher()
    result = post_voucher(voucher, runtime=runtime)
    assert [v["number"] for v in vouchers_with(bot_portals, voucher.external_ref)] == [result.voucher_no]


def test_unknown_layout_is_an_unexpected_page_with_evidence(bot_portals: RunningPortals,
                                                            bot_settings: Settings) -> None:
    admin(bot_portals, "erp", "POST", "/__admin/faults", {"layout_variant": "revised", "expire_sessions": True})
    only_classic = quick_runtime(bot_settings, erp_layouts="classic", attempts=1)
    try:
        voucher = claim_voucher()
        with pytest.raises(UnexpectedPage) as unexpected:
            post_voucher(voucher, runtime=only_classic)
        assert "none of the accepted layouts" in str(unexpected.value)
        assert vouchers_with(bot_portals, voucher.external_ref) == []
    finally:
        only_classic.close()


def test_portal_down_is_portal_unavailable(bot_settings: Settings) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    down = quick_runtime(bot_settings.model_copy(update={"erp_url": f"http://127.0.0.1:{closed_port}"}), attempts=2)
    try:
        voucher = claim_voucher()
        with pytest.raises(PortalUnavailable, match="unreachable"):
            post_voucher(voucher, runtime=down, settings=down.settings)
        entry = find_entry(voucher.external_ref)
        assert entry is not None and entry.state == PostingState.PENDING  # nothing was entered
    finally:
        down.close()


def test_login_refused_is_not_retried_with_the_same_password(bot_portals: RunningPortals,
                                                             bot_settings: Settings, tmp_path: Path) -> None:
    isolated = quick_runtime(bot_settings.model_copy(update={"var_dir": tmp_path}))
    from bots.config import PortalAccount

    wrong = PortalAccount("erp", ERP_USER.username, "not-the-password")
    try:
        with pytest.raises(LoginRefused) as refused:
            post_voucher(claim_voucher(), runtime=isolated, settings=isolated.settings, account=wrong)
        assert "用户名或密码错误" in refused.value.portal_message
        with pytest.raises(LoginRefused, match="not trying the same password again"):
            post_voucher(claim_voucher(), runtime=isolated, settings=isolated.settings, account=wrong)
        assert isolated.stats.logins == 0
    finally:
        isolated.close()


def test_per_account_limit_holds_items_back(bot_portals: RunningPortals, bot_settings: Settings) -> None:
    single = quick_runtime(bot_settings, sessions_per_account=1)
    try:
        vouchers = [claim_voucher() for _ in range(2)]
        threads = [threading.Thread(target=post_voucher, args=(v,), kwargs={"runtime": single}) for v in vouchers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert single.stats.max_contexts_open == 1
        assert all(len(vouchers_with(bot_portals, v.external_ref)) == 1 for v in vouchers)
    finally:
        single.close()
