"""The post-voucher topic on the real engine, real Chromium and the stand-in ERP started by this test.

The product's workers run in process (session fixture); the ERP runs on a free port and the bot is
pointed at it through the environment, exactly as a hospital points it at its real ERP.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from bots.runtime import reset_bot_runtime
from portals.auth import PortalUser
from portals.config import PortalConfig
from portals.runner import RunningPortals, start_portals
from smartfin.camunda.client import EngineClient
from smartfin.ports.vouchers import Voucher
from smartfin.posting.journal import PostingState, find_entry, open_entry, transition
from smartfin.processes.reimbursement.vouchers import recorded_claim_voucher
from smartfin.store.db import session_scope
from tests.security.posting_claims import recorded_claim
from tests.support.engine import as_user, open_task, process_ended, wait_for
from tests.support.settings import environment

pytestmark = [pytest.mark.engine, pytest.mark.browser]
TOKEN = "integration-bots-token"
CLERK = PortalUser("kuaiji-int", "int-Secret-4hd", "会计 集成")


@pytest.fixture(scope="module")
def erp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPortals]:
    running = start_portals(PortalConfig(data_dir=tmp_path_factory.mktemp("int-portals"), admin_token=TOKEN,
                                         users={"erp": [CLERK]}, erp_search_delay_seconds=0.05))
    with environment({"SMARTFIN_ERP_URL": running.urls["erp"], "SMARTFIN_ERP_ACCOUNT": CLERK.username,
                      "SMARTFIN_ERP_PASSWORD": CLERK.password}):
        yield running
        reset_bot_runtime()
    running.stop()


def portal_vouchers(erp: RunningPortals, ref: str) -> list[dict[str, str]]:
    response = httpx.get(f"{erp.urls['erp']}/__admin/vouchers?ref={quote(ref, safe='')}",
                         headers={"X-Admin-Token": TOKEN}, timeout=15)
    response.raise_for_status()
    return list(response.json()["vouchers"])


def start(camunda: EngineClient, voucher: Voucher) -> str:
    return str(camunda.start_process("voucher-posting", voucher.external_ref,
                                     {"voucher": voucher.as_variable()})["id"])


def claim_voucher(no: str, amount: str = "2480.00") -> Voucher:
    """The voucher of a claim recorded as approved with its amount reserved: the posting step posts only
    vouchers the project's records justify (``no`` names the test's case; the claim gets its own number)."""
    number = recorded_claim(amount)
    with session_scope() as session:
        return recorded_claim_voucher(session, number, date(2026, 7, 1))


def test_posted_voucher_number_comes_back_to_the_process(camunda, workers, erp) -> None:  # type: ignore[no-untyped-def]
    voucher = claim_voucher("INT-0001")
    pid = start(camunda, voucher)
    process_ended(camunda, pid, timeout=90)
    variables = camunda.historic_variables(pid)
    held = portal_vouchers(erp, voucher.external_ref)
    assert [v["number"] for v in held] == [variables["voucherNo"]]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", variables["postedAt"])
    entry = find_entry(voucher.external_ref)
    assert entry is not None and entry.state == PostingState.POSTED and entry.voucher_no == variables["voucherNo"]


def test_the_same_voucher_delivered_twice_is_posted_once(camunda, workers, erp) -> None:  # type: ignore[no-untyped-def]
    voucher = claim_voucher("INT-0002")
    first, second = start(camunda, voucher), start(camunda, voucher)
    process_ended(camunda, first, timeout=90)
    process_ended(camunda, second, timeout=90)
    numbers = {camunda.historic_variables(pid)["voucherNo"] for pid in (first, second)}
    assert len(portal_vouchers(erp, voucher.external_ref)) == 1 and len(numbers) == 1


def test_portal_rejection_reaches_the_boundary_and_a_finance_officer(camunda, workers, erp) -> None:  # type: ignore[no-untyped-def]
    # a recorded, approved claim whose voucher the ERP refuses when it is saved (an account frozen there)
    voucher = claim_voucher("INT-0003", "10.00")
    httpx.post(f"{erp.urls['erp']}/__admin/faults", headers={"X-Admin-Token": TOKEN}, timeout=15,
               json={"refuse_next_save": "第1行：科目代码“5999”不存在（已冻结）"}).raise_for_status()
    pid = start(camunda, voucher)
    task = open_task(camunda, pid, timeout=90)
    assert task["taskDefinitionKey"] == "reviewRejectedVoucher"
    assert [t["id"] for t in as_user(camunda, "wang.fang").tasks(processInstanceId=pid)] == [task["id"]]
    variables = camunda.process_variables(pid)
    assert "科目代码“5999”不存在" in variables["rejectionMessage"]
    assert Path(variables["postingEvidence"], "screenshot.png").exists()
    assert portal_vouchers(erp, voucher.external_ref) == []
    as_user(camunda, "wang.fang").complete_task(task["id"], {"comment": "科目改为 5001"})
    process_ended(camunda, pid)


def test_an_attempt_left_submitting_by_a_crash_is_reconciled_not_reposted(camunda, workers, erp) -> None:  # type: ignore[no-untyped-def]
    voucher = claim_voucher("INT-0004")
    with session_scope() as session:  # the worker died after the ERP saved, before the number was recorded
        transition(session, open_entry(session, voucher), PostingState.SUBMITTING, attempts=1)
    with httpx.Client(base_url=erp.urls["erp"], timeout=15) as clerk:
        csrf = re.compile(r'name="csrf_token" value="([^"]+)"')
        page = clerk.get("/login").text
        clerk.post("/login", data={"username": CLERK.username, "password": CLERK.password,
                                   "csrf_token": csrf.search(page).group(1)})  # type: ignore[union-attr]
        form = clerk.get("/voucher/new").text
        variable = voucher.as_variable()
        clerk.post("/voucher/new", data={
            "csrf_token": csrf.search(form).group(1), "voucher_date": variable["bookedOn"],  # type: ignore[union-attr]
            "voucher_type": "付", "summary": voucher.summary, "external_ref": voucher.external_ref,
            "attachments": "1", "fin_account": ["5001", "1002"], "fin_summary": ["", ""],
            "fin_debit": ["2480.00", ""], "fin_credit": ["", "2480.00"], "bud_account": ["7201", "8001"],
            "bud_summary": ["", ""], "bud_debit": ["2480.00", ""], "bud_credit": ["", "2480.00"]})
    saved = portal_vouchers(erp, voucher.external_ref)
    assert len(saved) == 1
    pid = start(camunda, voucher)
    process_ended(camunda, pid, timeout=90)
    variables = camunda.historic_variables(pid)
    assert variables["voucherNo"] == saved[0]["number"] and variables["voucherReconciled"] is True
    assert portal_vouchers(erp, voucher.external_ref) == saved


def test_portal_down_ends_in_an_incident_with_evidence(camunda, workers, erp) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with environment({"SMARTFIN_ERP_URL": f"http://127.0.0.1:{closed}"}):
        pid = start(camunda, claim_voucher("INT-0005"))
        incident = wait_for(lambda: camunda.incidents(pid), timeout=90, message="an incident")[0]
    assert incident["activityId"] == "postVoucher"
    assert "PortalUnavailable" in incident["incidentMessage"] and "evidence:" in incident["incidentMessage"]
    camunda.delete(f"/process-instance/{pid}")
