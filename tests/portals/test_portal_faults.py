"""Fault switches over real HTTP: transient 500s, latency, forced logout, layout drift, launch-time env."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from portal_http import ADMIN_TOKEN, BANK_USER, ERP_USER, admin, csrf_of, login, new_client

from portals.config import PortalConfig, faults_from_env
from portals.runner import RunningPortals, start_portals


def test_admin_needs_the_token(portals: RunningPortals, anon: httpx.Client) -> None:
    for name, url in portals.urls.items():
        assert anon.post(url + "/__admin/faults", json={"fail_next": 1}).status_code == 401, name
        bad = anon.post(url + "/__admin/faults", json={"fail_next": 1}, headers={"X-Admin-Token": "nope"})
        assert bad.status_code == 401
    assert admin(portals, "erp", "POST", "/__admin/faults", {"no_such_switch": 1}).status_code == 400


@pytest.mark.parametrize("portal", ["erp", "bank", "tax"])
def test_next_n_requests_fail_with_500(portals: RunningPortals, portal: str, anon: httpx.Client) -> None:
    admin(portals, portal, "POST", "/__admin/faults", {"fail_next": 2})
    url = portals.urls[portal] + ("/" if portal == "tax" else "/login")
    assert [anon.get(url).status_code for _ in range(3)] == [500, 500, 200]


def test_fraction_of_requests_fail(portals: RunningPortals, anon: httpx.Client) -> None:
    admin(portals, "bank", "POST", "/__admin/faults", {"fail_rate": 0.5, "seed": 7})
    codes = [anon.get(portals.urls["bank"] + "/login").status_code for _ in range(40)]
    assert 5 < codes.count(500) < 35 and codes.count(200) == 40 - codes.count(500)
    admin(portals, "bank", "POST", "/__admin/faults", {"fail_rate": 1})
    assert anon.get(portals.urls["bank"] + "/login").status_code == 500


def test_slow_pages(portals: RunningPortals, anon: httpx.Client) -> None:
    admin(portals, "tax", "POST", "/__admin/faults", {"latency_ms": 400})
    started = time.monotonic()
    assert anon.get(portals.urls["tax"] + "/").status_code == 200
    assert time.monotonic() - started >= 0.4


def test_forced_logout_on_next_post_loses_the_voucher(portals: RunningPortals, erp: httpx.Client) -> None:
    form = erp.get("/voucher/new")
    admin(portals, "erp", "POST", "/__admin/faults", {"logout_on_next_post": True})
    response = erp.post(
        "/voucher/new",
        data={
            "csrf_token": csrf_of(form.text),
            "voucher_date": "2033-01-05",
            "voucher_type": "转",
            "summary": "x",
            "external_ref": "LOST-0001",
            "fin_account": ["5001", "2302"],
            "fin_debit": ["1", ""],
            "fin_credit": ["", "1"],
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/login?expired=1"
    assert admin(portals, "erp", "GET", "/__admin/vouchers?ref=LOST-0001").json()["count"] == 0
    assert admin(portals, "erp", "GET", "/__admin/faults").json()["faults"]["logout_on_next_post"] is False


def test_forced_logout_on_tax_portal_expires_the_query(portals: RunningPortals, tax: httpx.Client) -> None:
    page = tax.get("/")
    captcha = tax.post(
        "/query",
        data={"fphm": "26332000000000000042", "kprq": "20260201", "kjje": "530", "csrf_token": csrf_of(page.text)},
    )
    admin(portals, "tax", "POST", "/__admin/faults", {"logout_on_next_post": True})
    response = tax.post("/verify", data={"captcha_id": "x", "yzm": "x", "csrf_token": csrf_of(captcha.text)})
    assert "页面已过期" in response.text


def test_revised_layout_erp_has_notice_and_new_ids(portals: RunningPortals) -> None:
    admin(portals, "erp", "POST", "/__admin/faults", {"layout_variant": "revised"})
    with new_client(portals.urls["erp"]) as client:
        page = client.get("/login").text
        assert 'id="loginName"' in page and 'id="username"' not in page and "操作员代码" in page
        assert login(client, ERP_USER).headers["location"] == "/notice"
        assert client.get("/main").headers["location"] == "/notice"
        notice = client.get("/notice")
        assert "系统公告" in notice.text and 'id="btnNoticeAck"' in notice.text
        assert client.post("/notice", data={"csrf_token": csrf_of(notice.text)}).headers["location"] == "/main"
        main = client.get("/main").text
        assert 'name="contentFrame"' in main and 'name="mainFrame"' not in main
        form = client.get("/voucher/new").text
        assert 'id="btnPost"' in form and 'id="addRowCw"' in form and 'id="pzrq"' in form


def test_revised_layout_bank_and_tax(portals: RunningPortals) -> None:
    for portal in ("bank", "tax"):
        admin(portals, portal, "POST", "/__admin/faults", {"layout_variant": "revised"})
    with new_client(portals.urls["bank"]) as client:
        assert 'id="userId"' in client.get("/login").text
        assert login(client, BANK_USER).headers["location"] == "/notice"
    with new_client(portals.urls["tax"]) as client:
        page = client.get("/")
        assert "查验说明" in page.text
        client.post("/notice", data={"csrf_token": csrf_of(page.text)})
        assert 'id="invoiceNo"' in client.get("/").text


def test_faults_from_launch_environment(tmp_path: Path, anon: httpx.Client) -> None:
    faults = faults_from_env({"PORTALS_ERP_FAULTS": '{"layout_variant": "revised", "fail_next": 1}'})
    config = PortalConfig(tmp_path, ADMIN_TOKEN, {"erp": [ERP_USER]}, faults=faults)
    with start_portals(config) as running:
        assert anon.get(running.urls["erp"] + "/login").status_code == 500
        assert 'id="loginName"' in anon.get(running.urls["erp"] + "/login").text
        assert 'id="username"' in anon.get(running.urls["bank"] + "/login").text
