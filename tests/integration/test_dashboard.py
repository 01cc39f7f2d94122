"""The finance dashboard over real HTTP and in real Chromium, logins checked by the real engine.

Its figures are compared with what the budget report computes and with the ledger's journal; who sees what
is tried as the demo people: finance sees every department and queue, a department head only the departments
finance recorded her for, a requester no budget at all — also when she types another department's address.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
import requests
from PIL import Image
from playwright.sync_api import expect, sync_playwright
from sqlmodel import col, select

from bots.browser import launch_chromium
from extractors.invoice.samples import xml_invoice
from smartfin.app.dashboard import create_app
from smartfin.app.demo_users import demo_password
from smartfin.kernel.clock import hospital_today
from smartfin.kernel.money import format_yuan
from smartfin.kernel.settings import get_settings
from smartfin.ledger import import_budget, import_departments
from smartfin.ledger.journal import pre_encumber, record_actual
from smartfin.ledger.models import BudgetLine
from smartfin.ledger.monitor import execution_report
from smartfin.processes.compilation.records import departments_of, set_contact
from smartfin.processes.reimbursement.claims import Claim, submit_claim
from smartfin.store.audit import AuditEntry
from smartfin.store.db import session_scope
from tests.support.engine import as_user, wait_for
from tests.support.web import served

pytestmark = [pytest.mark.engine, pytest.mark.browser]
YEAR = hospital_today().year
MINE, OTHER = "DBCARD", "DBRAD"     # li.na is recorded for the first, qian.yu for the second
HEADER = ("fiscal_year,department,economic_code,funding_source,project,name,budget,control_level,"
          "tolerance_pct,tolerance_amount,warning_pct,effective_from,effective_to\n")


@pytest.fixture(scope="module")
def dashboard(camunda: Any, budget: int) -> Iterator[str]:
    """The dashboard on a free port, over the session's budget (imported before this module's departments
    exist: with master data loaded, the session's test departments would be refused) and two departments."""
    with session_scope() as session:
        departments = (f"code,name,class,valid_from\n{MINE},看板心内科,clinical,2020-01-01\n"
                       f"{OTHER},看板放射科,medical-technical,2020-01-01\n")
        assert import_departments(session, departments.encode(), actor="wang.fang", filename="d.csv").ok
    with session_scope() as session:
        set_contact(session, MINE, "li.na", actor="wang.fang", on=hospital_today())
        set_contact(session, OTHER, "qian.yu", actor="wang.fang", on=hospital_today())
        budget = HEADER + "".join(
            f"{YEAR},{d},{code},fiscal,,{name},{amount},control,0,0,90,{YEAR}-01-01,{YEAR}-12-31\n"
            for d, code, name, amount in ((MINE, "30218", "专用材料费", "80000.00"),
                                          (MINE, "30201", "办公费", "12000.00"),
                                          (OTHER, "30218", "专用材料费", "50000.00")))
        assert import_budget(session, budget.encode(), actor="wang.fang", filename="dash.csv").ok
    with session_scope() as session:
        line = session.exec(select(BudgetLine).where(BudgetLine.department == MINE,
                                                     BudgetLine.economic_code == "30218",
                                                     BudgetLine.fiscal_year == YEAR)).one()
        pre_encumber(session, line.key, "30000.00", document_type="spending", document_no="DASH-1", actor="li.na")
        record_actual(session, document_type="spending", document_no="DASH-1", actor="wang.fang",
                      amount="28765.43", voucher_no="V-DASH-1")
        pre_encumber(session, line.key, "4321.09", document_type="spending", document_no="DASH-2", actor="li.na")

    with served(create_app(get_settings())) as base:
        yield base


def logged_in(base: str, user: str) -> requests.Session:
    browser = requests.Session()
    answer = browser.post(f"{base}/login", data={"user": user, "password": demo_password()},
                          headers={"Origin": base})
    assert answer.status_code == 200 and "财务看板" in answer.text, answer.text
    return browser


def shown_departments(page: str) -> set[str]:
    return set(re.findall(r"<tr class='department' data-department='([^']+)'>", page))


def test_finance_sees_every_department_with_the_reports_figures(dashboard: str) -> None:
    page = logged_in(dashboard, "wang.fang").get(dashboard + "/").text
    with session_scope() as session:
        report = execution_report(session, YEAR, hospital_today())
    expected = {str(row["department"]): row for row in report.departments.to_dict("records")}
    assert shown_departments(page) == set(expected) and {MINE, OTHER} <= set(expected)
    row = expected[MINE]
    assert row["actual"] == Decimal("28765.43") and row["committed"] == Decimal("33086.52")
    cells = re.search(rf"data-department='{MINE}'>(.*?)</tr>", page)
    assert cells is not None
    amounts = re.findall(r"<td class='num[^']*'>([^<]+)</td>", cells.group(1))
    assert amounts == [format_yuan(row["authorised"]), format_yuan(row["committed"]), format_yuan(row["actual"]),
                       format_yuan(row["available"]), f"{row['execution_rate']}%"]
    assert f"序时进度 progress {report.progress}%" in page
    assert "id='queues'" in page and "data-group='finance-officer'" in page and "data-group='dept-head'" in page
    assert "id='exceptions'" in page


def test_a_department_head_sees_only_her_recorded_departments(dashboard: str) -> None:
    browser = logged_in(dashboard, "li.na")
    page = browser.get(dashboard + "/").text
    with session_scope() as session:
        hers = set(departments_of(session, "li.na"))
    assert MINE in hers and OTHER not in hers
    assert MINE in shown_departments(page) and shown_departments(page) <= hers
    assert "data-group='dept-head'" in page and "data-group='finance-officer'" not in page
    assert "id='exceptions'" not in page and "id='money'" not in page
    assert browser.get(f"{dashboard}/budget/{MINE}").status_code == 200
    assert browser.get(f"{dashboard}/budget/{OTHER}").status_code == 403
    with session_scope() as session:
        other_line = session.exec(select(BudgetLine).where(BudgetLine.department == OTHER)).first()
    assert other_line is not None
    assert browser.get(f"{dashboard}/line/{other_line.id}").status_code == 403


def test_a_requester_sees_no_budget_and_strangers_are_sent_to_login(dashboard: str) -> None:
    browser = logged_in(dashboard, "zhang.wei")
    page = browser.get(dashboard + "/").text
    assert "id='budget'" not in page and shown_departments(page) == set()
    assert "data-group='requester'" in page and "data-group='dept-head'" not in page
    assert browser.get(f"{dashboard}/budget/{MINE}").status_code == 403
    stranger = requests.get(dashboard + "/", allow_redirects=False)
    assert stranger.status_code == 303 and stranger.headers["location"] == "/login"
    forged = requests.get(dashboard + "/", cookies={"smartfin_dashboard": "wang.fang|9999999999|00|00"},
                          allow_redirects=False)
    assert forged.status_code == 303
    # (a wrong password makes the engine delay that user's next logins, so it is tried on a user no other test uses)
    wrong = requests.post(f"{dashboard}/login", data={"user": "zhou.qiang", "password": "guess"},
                          headers={"Origin": dashboard})
    assert wrong.status_code == 401
    cross_site = requests.post(f"{dashboard}/login", data={"user": "wang.fang", "password": demo_password()},
                               headers={"Origin": "http://evil.example"})
    assert cross_site.status_code == 403


def _varied(png: bytes) -> int:
    """How many distinct colours a screenshot has: an empty chart is one or two."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return len(image.getcolors(maxcolors=1 << 24) or [])


def test_in_chromium_finance_drills_down_from_the_chart_to_a_lines_documents(dashboard: str) -> None:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{dashboard}/login")
            page.fill("input[name=user]", "wang.fang")
            page.fill("input[name=password]", demo_password())
            page.click("button")
            expect(page.locator("h1")).to_contain_text("财务看板")
            chart = page.locator("#budget svg.chart")
            expect(chart).to_be_visible()
            assert _varied(chart.screenshot()) > 4, "the execution chart is empty"
            assert page.locator("#budget svg.chart rect.bar").count() == page.locator("tr.department").count() > 0
            page.screenshot(path=str(get_settings().var_dir / "dashboard-overview.png"), full_page=True)
            page.click(f"table.execution a[href^='/budget/{MINE}']")
            expect(page.locator("h1")).to_contain_text(MINE)
            expect(page.locator("tr.line")).to_have_count(2)
            page.click("tr.line:has-text('专用材料费') a")
            expect(page.locator("table.journal")).to_be_visible()
            documents = page.locator("td.document").all_inner_texts()
        finally:
            browser.close()
    assert {"DASH-1", "DASH-2"} <= set(documents)


def test_the_line_page_lists_the_journal_as_the_ledger_holds_it(dashboard: str) -> None:
    browser = logged_in(dashboard, "wang.fang")
    with session_scope() as session:
        line = session.exec(select(BudgetLine).where(BudgetLine.department == MINE,
                                                     BudgetLine.economic_code == "30218")).one()
    page = browser.get(f"{dashboard}/line/{line.id}").text
    rows = re.findall(r"<tr class='entry'><td>[^<]+</td><td>([^<]+)</td><td class='num'>([^<]+)</td>"
                      r"<td>[^<]+</td><td class='document'>([^<]+)</td>", page)
    assert ("actual", "28765.43", "DASH-1") in rows
    assert ("pre_encumbrance", "4321.09", "DASH-2") in rows
    assert browser.get(f"{dashboard}/line/999999").status_code == 404


def test_the_execution_workbook_is_the_reports_and_only_for_those_who_may_see_it(dashboard: str) -> None:
    finance, head = logged_in(dashboard, "wang.fang"), logged_in(dashboard, "li.na")
    answer = finance.get(f"{dashboard}/budget-execution.xlsx", params={"year": YEAR, "department": MINE})
    assert answer.status_code == 200 and answer.content[:2] == b"PK"
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    rows = list(book["科室 Departments"].iter_rows(values_only=True))   # a title and the unit above the header
    header = next(r for r in rows if r and r[0] == "科室编码 Department code")
    row = next(r for r in rows if r and r[0] == MINE)
    actual = row[header.index(next(h for h in header if h and "Spent" in str(h)))]
    assert Decimal(str(actual)) == Decimal("28765.43")
    assert head.get(f"{dashboard}/budget-execution.xlsx",
                    params={"year": YEAR, "department": MINE}).status_code == 200
    assert head.get(f"{dashboard}/budget-execution.xlsx",
                    params={"year": YEAR, "department": OTHER}).status_code == 403
    assert head.get(f"{dashboard}/budget-execution.xlsx", params={"year": YEAR}).status_code == 403
    whole = finance.get(f"{dashboard}/budget-execution.xlsx", params={"year": YEAR})
    assert whole.status_code == 200 and "attachment" in whole.headers["content-disposition"]


# ---------------------------------------------------------------------------------- a claim's original files

@pytest.fixture(scope="module")
def waiting_claim(camunda: Any, workers: Any, dashboard: str) -> tuple[str, bytes]:
    """A claim of zhang.wei on this module's department (the master data it loaded knows no other), verified
    by hand and waiting for its first approver (a department head)."""
    name, data, _ = xml_invoice("dashboard-file", total=Decimal("210.00"))
    number = submit_claim([(name, data)], claimant="zhang.wei", department=MINE, category="office",
                          purpose="办公用品 office supplies", engine=camunda)
    with session_scope() as session:
        found = session.get(Claim, number)
        assert found is not None and found.process_instance_id
        pid = found.process_instance_id

    def waiting(key: str) -> dict[str, Any] | None:
        return next((t for t in camunda.tasks(processInstanceId=pid) if t["taskDefinitionKey"] == key), None)

    task = wait_for(lambda: waiting("verifyManually"), 60, message="the manual verification")
    as_user(camunda, "wang.fang").complete_task(task["id"], {"decision": "consistent", "comment": "查验一致"})
    wait_for(lambda: waiting("approveClaim"), 60, message="the first approval")
    # the approver's form lists the original with the address that opens it (the configured dashboard's)
    shown = camunda.process_variables(pid)["documentsText"]
    assert shown == f"1. {name}: {get_settings().dashboard_url}/documents/claim/{number}/0", shown
    return number, data


def test_the_people_on_a_claims_chain_open_its_file_and_nobody_else(dashboard: str,
                                                                    waiting_claim: tuple[str, bytes]) -> None:
    number, data = waiting_claim
    url = f"{dashboard}/documents/claim/{number}/0"
    for user in ("zhang.wei", "li.na", "wang.fang"):      # the claimant, the waiting approver, the verifier
        answer = logged_in(dashboard, user).get(url)
        assert answer.status_code == 200 and answer.content == data, user
        assert "sandbox" in answer.headers["content-security-policy"]
    for user in ("wu.hao", "ma.lin"):                     # equipment committee, proxy entry: not on this chain
        refused = logged_in(dashboard, user).get(url)
        assert refused.status_code == 403 and refused.content != data, user
    assert logged_in(dashboard, "zhang.wei").get(f"{dashboard}/documents/claim/{number}/9").status_code == 404
    stranger = requests.get(url, allow_redirects=False)
    assert stranger.status_code == 303 and stranger.headers["location"].startswith("/login?next=")
    with session_scope() as session:
        trail = session.exec(select(AuditEntry).where(AuditEntry.subject_id == number,
                                                      col(AuditEntry.action).startswith("claim.file_"))).all()
    assert {(e.actor, e.action) for e in trail} >= {("zhang.wei", "claim.file_opened"),
                                                    ("wu.hao", "claim.file_refused")}


def test_in_chromium_the_approver_logs_in_from_the_link_and_lands_on_the_file(dashboard: str,
                                                                              waiting_claim: tuple[str, bytes]) -> None:
    number, data = waiting_claim
    url = f"{dashboard}/documents/claim/{number}/0"
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for user, allowed in (("li.na", True), ("wu.hao", False)):
                context = browser.new_context(accept_downloads=True)
                page = context.new_page()
                page.goto(url)                               # not logged in: the login page, then back here
                page.fill("input[name=user]", user)
                page.fill("input[name=password]", demo_password())
                if allowed:                                  # an XML original is handed over as a download
                    with page.expect_download() as download:
                        page.click("button")
                    assert download.value.path().read_bytes() == data
                else:
                    page.click("button")
                    expect(page.locator("h1")).to_contain_text("Refused")
                context.close()
        finally:
            browser.close()
