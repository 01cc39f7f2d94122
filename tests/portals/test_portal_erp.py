"""ERP voucher entry over real HTTP: sessions, CSRF, validation text, numbering, search, admin count."""

from __future__ import annotations

import re
import time

import httpx
from portal_http import ERP_USER, admin, csrf_of, login, new_client

from portals.runner import RunningPortals

PAYMENT = {
    "voucher_type": "付",
    "summary": "支付耗材款",
    "attachments": "2",
    "fin_account": ["5001", "1002"],
    "fin_summary": ["耗材", "付款"],
    "fin_debit": ["1200.50", ""],
    "fin_credit": ["", "1200.50"],
    "bud_account": ["7201", "8001"],
    "bud_summary": ["事业支出", "资金结存"],
    "bud_debit": ["1200.50", ""],
    "bud_credit": ["", "1200.50"],
}


def post_voucher(client: httpx.Client, **fields: object) -> httpx.Response:
    form = client.get("/voucher/new")
    data = {**PAYMENT, "voucher_date": "2026-11-02", "external_ref": "", **fields, "csrf_token": csrf_of(form.text)}
    return client.post("/voucher/new", data=data)


def voucher_number(response: httpx.Response) -> str:
    match = re.search(r'id="voucherNo">([^<]+)<', response.text)
    assert match, response.text
    return match.group(1)


def test_login_rejects_wrong_password_with_page_text(portals: RunningPortals) -> None:
    with new_client(portals.urls["erp"]) as client:
        page = client.get("/login")
        response = client.post(
            "/login", data={"username": ERP_USER.username, "password": "wrong", "csrf_token": csrf_of(page.text)}
        )
        assert response.status_code == 200
        assert "用户名或密码错误" in response.text


def test_pages_need_a_session_and_it_times_out(portals: RunningPortals, erp: httpx.Client) -> None:
    assert erp.get("/main").status_code == 200
    with new_client(portals.urls["erp"]) as anonymous:
        assert anonymous.get("/voucher/new").headers["location"] == "/login"
    admin(portals, "erp", "POST", "/__admin/faults", {"idle_timeout_seconds": 0.3})
    time.sleep(0.5)
    response = erp.get("/voucher/new")
    assert response.status_code == 303 and response.headers["location"] == "/login?expired=1"
    assert "会话已超时" in erp.get("/login?expired=1").text


def test_expire_sessions_switch_logs_everyone_out(portals: RunningPortals, erp: httpx.Client) -> None:
    admin(portals, "erp", "POST", "/__admin/faults", {"expire_sessions": True})
    assert erp.get("/main").headers["location"].startswith("/login")


def test_post_without_or_with_wrong_csrf_token_gets_error_page(erp: httpx.Client) -> None:
    for token in ("", "forged"):
        response = erp.post("/voucher/new", data={**PAYMENT, "voucher_date": "2026-11-02", "csrf_token": token})
        assert response.status_code == 403
        assert "CSRF" in response.text and "非法请求" in response.text


def test_unbalanced_voucher_shows_text_error(erp: httpx.Client) -> None:
    response = post_voucher(erp, fin_debit=["100.00", ""], fin_credit=["", "99.00"])
    assert response.status_code == 200
    assert "借贷不平衡" in response.text and 'id="errorMsg"' in response.text
    assert 'value="99.00"' in response.text  # the form comes back with what was typed


def test_cash_voucher_needs_budget_lines(erp: httpx.Client) -> None:
    response = post_voucher(erp, bud_account=["", ""], bud_summary=["", ""], bud_debit=["", ""], bud_credit=["", ""])
    assert "必须同时录入预算会计分录" in response.text
    unbalanced = post_voucher(erp, bud_debit=["1200.50", ""], bud_credit=["", "1000.00"])
    assert "预算会计分录借贷不平衡" in unbalanced.text
    wrong_amount = post_voucher(erp, bud_debit=["1000.00", ""], bud_credit=["", "1000.00"])
    assert "不一致" in wrong_amount.text


def test_non_cash_voucher_needs_no_budget_lines(erp: httpx.Client) -> None:
    response = post_voucher(
        erp,
        voucher_type="转",
        voucher_date="2030-01-15",
        fin_account=["5001", "2302"],
        bud_account=[""],
        bud_summary=[""],
        bud_debit=[""],
        bud_credit=[""],
    )
    assert voucher_number(response) == "转-2030-01-0001"


def test_numbers_are_sequential_per_type_and_month(erp: httpx.Client) -> None:
    numbers = [voucher_number(post_voucher(erp, voucher_date="2031-03-05")) for _ in range(3)]
    assert numbers == ["付-2031-03-0001", "付-2031-03-0002", "付-2031-03-0003"]
    assert voucher_number(post_voucher(erp, voucher_date="2031-04-01")) == "付-2031-04-0001"
    assert voucher_number(post_voucher(erp, voucher_date="2031-03-31", voucher_type="记")) == "记-2031-03-0001"


def test_dynamic_rows_are_accepted_and_shown_in_detail(erp: httpx.Client) -> None:
    response = post_voucher(
        erp,
        voucher_date="2031-05-02",
        external_ref="DYN-0001",
        fin_account=["5001", "5101", "1002"],
        fin_summary=["a", "b", "c"],
        fin_debit=["100", "50", ""],
        fin_credit=["", "", "150"],
        bud_debit=["150", ""],
        bud_credit=["", "150"],
    )
    number = voucher_number(response)
    found = erp.get("/voucher/search", params={"ref": "DYN-0001"})
    voucher_id = re.search(r'href="/voucher/(\d+)"', found.text).group(1)
    detail = erp.get(f"/voucher/{voucher_id}")
    assert number in detail.text and "单位管理费用" in detail.text and "资金结存" in detail.text


def test_duplicates_by_reference_are_allowed_and_countable(
    portals: RunningPortals, erp: httpx.Client, anon: httpx.Client
) -> None:
    for _ in range(2):
        post_voucher(erp, external_ref="BX-DUP-0001")
    counted = admin(portals, "erp", "GET", "/__admin/vouchers?ref=BX-DUP-0001").json()
    assert counted["count"] == 2
    assert anon.get(portals.urls["erp"] + "/__admin/vouchers?ref=BX-DUP-0001").status_code == 401


def test_search_is_slow_paginated_and_finds_by_reference(portals: RunningPortals, erp: httpx.Client) -> None:
    for i in range(23):
        post_voucher(erp, voucher_date="2032-06-10", external_ref=f"PG-{i:03d}")
    admin(portals, "erp", "POST", "/__admin/faults", {"search_delay_seconds": 0.3})
    started = time.monotonic()
    first = erp.get(
        "/voucher/search", params={"q": "1", "ref": "PG-", "date_from": "2032-06-01", "date_to": "2032-06-30"}
    )
    assert time.monotonic() - started >= 0.3
    assert 'id="totalCount">23<' in first.text and 'id="pageCount">3<' in first.text
    assert first.text.count('class="voucher-link"') == 10
    assert 'id="prevPage"' not in first.text
    next_href = re.search(r'href="([^"]+)" id="nextPage"', first.text).group(1).replace("&amp;", "&")
    second = erp.get(next_href)
    assert 'id="currentPage">2<' in second.text and 'id="prevPage"' in second.text
    third = erp.get(next_href.replace("page=2", "page=3"))
    assert third.text.count('class="voucher-link"') == 3 and 'id="nextPage"' not in third.text
    one = erp.get("/voucher/search", params={"ref": "PG-007"})
    assert 'id="totalCount">1<' in one.text and "PG-007" in one.text
    none = erp.get("/voucher/search", params={"ref": "PG-007", "date_from": "2032-07-01"})
    assert 'id="totalCount">0<' in none.text


def test_login_then_logout(portals: RunningPortals) -> None:
    with new_client(portals.urls["erp"]) as client:
        assert login(client, ERP_USER).headers["location"] == "/main"
        main = client.get("/main")
        assert 'name="mainFrame"' in main.text and 'name="menuFrame"' in main.text
        assert client.post("/logout", data={"csrf_token": csrf_of(main.text)}).headers["location"] == "/login"
        assert client.get("/main").status_code == 303
