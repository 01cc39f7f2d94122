"""Invoice verification portal over real HTTP: captcha step, results, daily limit, next-day rule."""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx
from portal_http import admin, csrf_of

from portals.runner import RunningPortals

VAT = {
    "code": "044031900111",
    "number": "87654321",
    "issue_date": "2026-01-10",
    "amount": "1000.00",
    "tax": "130.00",
    "check_code": "11112222333344445555",
    "seller_name": "示范市测试医疗用品有限公司",
    "seller_tax_id": "91330100TEST00001A",
    "buyer_name": "示范市第一人民医院",
    "buyer_tax_id": "12330100470000000X",
    "items": [{"name": "*医疗器械*纱布", "amount": "1000.00"}],
}
DIGITAL = {
    "number": "26332000000000000042",
    "issue_date": "2026-02-01",
    "amount": "500.00",
    "tax": "30.00",
    "seller_name": "示范市会务服务有限公司",
    "seller_tax_id": "91330100TEST00002B",
    "buyer_name": "示范市第一人民医院",
    "buyer_tax_id": "12330100470000000X",
}


def ask(tax: httpx.Client, **fields: str) -> httpx.Response:
    """Fill the query form; returns the captcha page (or the form with errors)."""
    page = tax.get("/")
    return tax.post("/query", data={"fpdm": "", "jym": "", **fields, "csrf_token": csrf_of(page.text)})


def answer(portals: RunningPortals, tax: httpx.Client, captcha_page: httpx.Response, correct: bool = True) -> str:
    """Answer the captcha the way a human task would (the admin endpoint stands in for the person)."""
    cid = re.search(r'name="captcha_id" id="captcha_id" value="([0-9a-f]+)"', captcha_page.text).group(1)
    solution = admin(portals, "tax", "GET", f"/__admin/captcha/{cid}").json()["answer"]
    response = tax.post(
        "/verify",
        data={"captcha_id": cid, "yzm": solution if correct else "zzzz", "csrf_token": csrf_of(captcha_page.text)},
    )
    return response.text


def outcome(page: str) -> str:
    return re.search(r'id="resultText"[^>]*>([^<]+)<', page).group(1)


def check(portals: RunningPortals, tax: httpx.Client, **fields: str) -> str:
    return outcome(answer(portals, tax, ask(tax, **fields)))


def vat_fields(**overrides: str) -> dict[str, str]:
    return {
        "fpdm": VAT["code"],
        "fphm": VAT["number"],
        "kprq": "20260110",
        "kjje": "1000.00",
        "jym": "445555",
        **overrides,
    }


def setup_registry(portals: RunningPortals) -> None:
    assert admin(portals, "tax", "POST", "/__admin/invoices", [VAT, DIGITAL]).status_code == 200
    admin(portals, "tax", "POST", "/__admin/checks/reset")


def test_captcha_step_shows_an_image_and_needs_the_answer(
    portals: RunningPortals, tax: httpx.Client, anon: httpx.Client
) -> None:
    setup_registry(portals)
    page = ask(tax, **vat_fields())
    assert "请输入验证码" in page.text and 'id="yzm_img"' in page.text
    src = re.search(r'<img src="([^"]+)" id="yzm_img"', page.text).group(1)
    image = tax.get(src)
    assert image.headers["content-type"] == "image/png" and image.content.startswith(b"\x89PNG")
    wrong = answer(portals, tax, page, correct=False)
    assert "验证码错误" in wrong and "请输入验证码" in wrong
    assert outcome(answer(portals, tax, httpx.Response(200, text=wrong))) == "一致"
    assert anon.get(portals.urls["tax"] + "/__admin/captcha/latest").status_code == 401


def test_results_consistent_inconsistent_not_found(portals: RunningPortals, tax: httpx.Client) -> None:
    setup_registry(portals)
    consistent = answer(portals, tax, ask(tax, **vat_fields()))
    assert outcome(consistent) == "一致" and "示范市测试医疗用品有限公司" in consistent and "1,130.00" in consistent
    assert check(portals, tax, **vat_fields(kjje="999.00")) == "不一致"
    assert check(portals, tax, **vat_fields(jym="000000")) == "不一致"
    assert check(portals, tax, **vat_fields(fphm="11111111")) == "查无此票"
    assert check(portals, tax, fphm=DIGITAL["number"], kprq="2026-02-01", kjje="530.00") == "一致"
    assert check(portals, tax, fphm=DIGITAL["number"], kprq="2026-02-01", kjje="500.00") == "不一致"


def test_at_most_five_checks_per_invoice_per_day(portals: RunningPortals, tax: httpx.Client) -> None:
    setup_registry(portals)
    results = [check(portals, tax, **vat_fields()) for _ in range(6)]
    assert results[:5] == ["一致"] * 5
    assert results[5] == "超过该张发票当日查验次数，请于次日再次查验"
    assert check(portals, tax, fphm=DIGITAL["number"], kprq="20260201", kjje="530") == "一致"  # per invoice


def test_invoice_issued_today_only_from_next_day(portals: RunningPortals, tax: httpx.Client) -> None:
    today, yesterday = date.today(), date.today() - timedelta(days=1)
    fresh = {**VAT, "number": "55550001", "issue_date": today.isoformat()}
    older = {**VAT, "number": "55550002", "issue_date": yesterday.isoformat()}
    admin(portals, "tax", "POST", "/__admin/invoices", [fresh, older])
    assert check(portals, tax, **vat_fields(fphm="55550001", kprq=f"{today:%Y%m%d}")) == "当日开具发票次日方可查验"
    assert check(portals, tax, **vat_fields(fphm="55550002", kprq=f"{yesterday:%Y%m%d}")) == "一致"


def test_format_errors_are_page_text(tax: httpx.Client) -> None:
    page = ask(tax, fpdm="123", fphm="12", kprq="2026-13-01", kjje="abc")
    for text in ("发票号码有误", "发票代码有误", "开票日期有误", "金额（不含税）有误", "校验码有误"):
        assert text in page.text


def test_admin_rejects_malformed_invoice(portals: RunningPortals) -> None:
    response = admin(portals, "tax", "POST", "/__admin/invoices", {"number": "123", "issue_date": "2026-01-01"})
    assert response.status_code == 400
