"""Bank portal over real HTTP: account list, statements in GBK CSV / xlsx / camt.053, receipt PDF."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal
from xml.etree import ElementTree as ET

import httpx
from openpyxl import load_workbook
from portal_http import new_client

from portals.bank.statements import DEMO_ACCOUNTS
from portals.runner import RunningPortals

ACCOUNT = DEMO_ACCOUNTS[0].number
PERIOD = {"start_date": "2026-03-01", "end_date": "2026-03-31"}
NS = {"c": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"}


def download(bank: httpx.Client, kind: str) -> httpx.Response:
    response = bank.get(f"/accounts/{ACCOUNT}/download", params={"format": kind, **PERIOD})
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    return response


def test_account_list_links_to_statements(bank: httpx.Client) -> None:
    page = bank.get("/accounts").text
    assert 'id="accountTable"' in page and f'id="stmt_{ACCOUNT}"' in page


def test_statement_page_has_download_links_and_receipts(bank: httpx.Client) -> None:
    page = bank.get(f"/accounts/{ACCOUNT}/statement", params=PERIOD).text
    for link in ("btnDownloadCsv", "btnDownloadXlsx", "btnDownloadCamt"):
        assert f'id="{link}"' in page
    assert re.search(r'id="receipt_\d{15}"', page)


def test_csv_is_gbk_with_consistent_running_balance(bank: httpx.Client) -> None:
    text = download(bank, "csv").content.decode("gbk")
    rows = list(csv.reader(io.StringIO(text)))
    header_at = next(i for i, row in enumerate(rows) if row and row[0] == "交易日期")
    header = rows[header_at]
    for column in ("交易日期", "摘要", "借方发生额", "贷方发生额", "余额", "对方户名", "对方账号", "交易流水号"):
        assert column in header
    opening = Decimal(rows[3][1])
    balance = opening
    lines = [dict(zip(header, row, strict=True)) for row in rows[header_at + 1 :]]
    assert len(lines) > 100
    for line in lines:
        balance += Decimal(line["贷方发生额"] or 0) - Decimal(line["借方发生额"] or 0)
        assert balance == Decimal(line["余额"])
    assert balance == Decimal(rows[3][3])
    assert any("微信支付" in line["摘要"] for line in lines) and any(line["摘要"] == "代发工资" for line in lines)


def test_statements_are_deterministic_and_continuous(bank: httpx.Client) -> None:
    first = bank.get(f"/accounts/{ACCOUNT}/download", params={"format": "csv", **PERIOD}).content
    assert first == download(bank, "csv").content
    april = bank.get(
        f"/accounts/{ACCOUNT}/download", params={"format": "csv", "start_date": "2026-04-01", "end_date": "2026-04-02"}
    )
    march_rows = list(csv.reader(io.StringIO(first.decode("gbk"))))
    april_rows = list(csv.reader(io.StringIO(april.content.decode("gbk"))))
    assert march_rows[3][3] == april_rows[3][1]  # March closing = April opening


def test_xlsx_matches_csv(bank: httpx.Client) -> None:
    sheet = load_workbook(io.BytesIO(download(bank, "xlsx").content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header_at = next(i for i, row in enumerate(rows) if row[0] == "交易日期")
    csv_rows = list(csv.reader(io.StringIO(download(bank, "csv").content.decode("gbk"))))
    assert len(rows) - header_at == len(csv_rows) - 5
    assert Decimal(str(rows[-1][5])).quantize(Decimal("0.01")) == Decimal(csv_rows[-1][5])


def test_camt053_is_well_formed_and_balances(bank: httpx.Client) -> None:
    root = ET.fromstring(download(bank, "camt053").content)
    stmt = root.find("c:BkToCstmrStmt/c:Stmt", NS)
    assert stmt is not None and stmt.findtext("c:Acct/c:Id/c:Othr/c:Id", namespaces=NS) == ACCOUNT
    balances = {
        b.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=NS): Decimal(b.findtext("c:Amt", namespaces=NS))
        for b in stmt.findall("c:Bal", NS)
    }
    total = balances["OPBD"]
    entries = stmt.findall("c:Ntry", NS)
    for entry in entries:
        amount = Decimal(entry.findtext("c:Amt", namespaces=NS))
        total += amount if entry.findtext("c:CdtDbtInd", namespaces=NS) == "CRDT" else -amount
        assert entry.find("c:Amt", NS).get("Ccy") == "CNY"
    assert total == balances["CLBD"]
    credits = stmt.findtext("c:TxsSummry/c:TtlCdtNtries/c:NbOfNtries", namespaces=NS)
    debits = stmt.findtext("c:TxsSummry/c:TtlDbtNtries/c:NbOfNtries", namespaces=NS)
    assert int(credits) + int(debits) == len(entries)


def test_receipt_pdf_per_transaction(bank: httpx.Client) -> None:
    page = bank.get(f"/accounts/{ACCOUNT}/statement", params=PERIOD).text
    txn_id = re.search(r'id="receipt_(\d{15})"', page).group(1)
    response = bank.get(f"/receipt/{txn_id}")
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'attachment; filename="receipt_{txn_id}.pdf"'
    assert response.content.startswith(b"%PDF") and len(response.content) > 1000
    assert "未找到" in bank.get("/receipt/209901010100001").text


def test_range_errors_are_page_text(bank: httpx.Client) -> None:
    too_long = bank.get(f"/accounts/{ACCOUNT}/statement", params={"start_date": "2024-01-01", "end_date": "2026-01-01"})
    assert "查询区间不能超过366天" in too_long.text
    future = (date.today() + timedelta(days=3)).isoformat()
    assert (
        "终止日期不能晚于当前日期"
        in bank.get(f"/accounts/{ACCOUNT}/statement", params={"start_date": "2026-01-01", "end_date": future}).text
    )


def test_bank_pages_need_login(portals: RunningPortals) -> None:
    with new_client(portals.urls["bank"]) as client:
        response = client.get(f"/accounts/{ACCOUNT}/download", params={"format": "csv", **PERIOD})
        assert response.status_code == 303 and response.headers["location"] == "/login"
