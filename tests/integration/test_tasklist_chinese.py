"""Tasklist as hospital staff see it, in a real (Debian) Chromium: Chinese by default even for a browser that
asks for English, English selectable, no migration notice, the role filter's columns filled from a real task.
The translation and configuration served are the engine project's own files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Page, expect, sync_playwright

from bots.browser import launch_chromium
from smartfin.app.cli import submit_spending_request
from smartfin.kernel.settings import PROJECT_ROOT, get_settings
from smartfin.processes.spending.requests import SpendingRequest
from smartfin.store.db import session_scope
from tests.support.engine import open_task
from tests.support.tasklist_browser import log_in

pytestmark = [pytest.mark.engine, pytest.mark.browser]

WEBAPP = PROJECT_ROOT / "engine/src/main/resources/META-INF/resources/webjars/camunda/app"
PLACEHOLDER = re.compile(r"{{\s*([\w.]+)\s*}}")
#: the English labels of the menus, toolbars and empty states a user sees after login
MENU_KEYS = ("START_PROCESS", "CREATE_TASK", "SHORTCUT_HELP", "SORT_BY", "CREATION_DATE", "SELECT_TASK_IN_LIST",
             "CAM_WIDGET_FOOTER_TIMEZONE", "CAM_WIDGET_FOOTER_POWERED_BY", "SEARCH_PLACEHOLDER", "FILTERS")


def _served(path: str) -> requests.Response:
    settings = get_settings()
    response = requests.get(settings.engine_url.rstrip("/") + settings.engine_webapp_path + path, timeout=10)
    response.raise_for_status()
    return response


def _locale(name: str) -> dict:
    return json.loads(_served(f"/app/tasklist/locales/{name}.json").content.decode("utf-8-sig"))


def test_the_engine_serves_the_projects_translation_config_and_styles(camunda):
    assert _locale("zh") == json.loads((WEBAPP / "tasklist/locales/zh.json").read_text(encoding="utf-8"))
    assert _served("/app/tasklist/scripts/config.js").content == (WEBAPP / "tasklist/scripts/config.js").read_bytes()
    for app in ("tasklist", "cockpit", "admin", "welcome"):
        assert ".ce-eol-banner" in _served(f"/app/{app}/styles/user-styles.css").text, app


def test_the_chinese_translation_covers_every_key_of_the_english_one(camunda):
    english, chinese = _locale("en"), _locale("zh")
    assert set(chinese["dateLocales"]) == set(english["dateLocales"])
    missing = sorted(set(english["labels"]) - set(chinese["labels"]))
    assert not missing, f"keys without a Chinese text: {missing}"
    empty = [k for k, v in chinese["labels"].items() if not str(v).strip()]
    assert not empty, f"empty Chinese texts: {empty}"
    for key, text in english["labels"].items():
        assert sorted(PLACEHOLDER.findall(chinese["labels"][key])) == sorted(PLACEHOLDER.findall(text)), key
    untranslated = [k for k, v in english["labels"].items()
                    if re.search(r"[A-Za-z]{3}", v) and chinese["labels"][k] == v]
    assert not untranslated, f"left in English: {untranslated}"


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        # a browser that asks for English first: hospital staff still get Chinese
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
            browser.close()


def _lines(page: Page) -> list[str]:
    return [line.strip() for line in re.split(r"[\n\t]", page.locator("body").inner_text()) if line.strip()]


def test_a_user_works_in_chinese_switches_to_english_and_sees_no_migration_notice(camunda, workers, budget, page):
    english = _locale("en")["labels"]
    chinese = _locale("zh")["labels"]
    number = submit_spending_request({"department": "T-E2E", "category": "materials", "amount": "233.40",
                                      "fundingSource": "fiscal", "requester": "zhang.wei", "payee": "国药控股",
                                      "purpose": "列表显示测试"}, engine=camunda)
    with session_scope() as session:
        pid = session.get(SpendingRequest, number).process_instance_id
    open_task(camunda, pid, timeout=90)  # the head's task exists before she looks

    log_in(page, get_settings().tasklist_url, "li.na")
    expect(page.get_by_text(chinese["START_PROCESS"])).to_be_visible()
    for key in ("CREATE_TASK", "SHORTCUT_HELP", "SELECT_TASK_IN_LIST"):
        expect(page.get_by_text(chinese[key]).first).to_be_visible()
    lines = _lines(page)
    shown_in_english = [english[k] for k in MENU_KEYS if any(line.startswith(english[k]) for line in lines)]
    assert not shown_in_english, shown_in_english
    assert not [line for line in lines if line in set(english.values()) and re.search("[A-Za-z]{3}", line)]
    expect(page.locator(".ce-eol-banner")).to_be_hidden()
    assert "Camunda 8" not in page.locator("body").inner_text()

    page.get_by_text("部门负责人待办").click()
    item = page.locator(".tasks-list li", has_text=number)
    expect(item).to_be_visible()
    for label, value in (("申请单号", number), ("申请人", "zhang.wei"), ("科室代码", "T-E2E"),
                         ("金额(元)", "233.40"), ("用途", "列表显示测试")):
        expect(item).to_contain_text(label)
        expect(item).to_contain_text(value)
    expect(item).to_contain_text(re.compile(r"创建时间\s*\S+前"))  # how long the task has waited

    page.locator("#smartfin-language").get_by_text("English").click()
    expect(page.get_by_text(english["START_PROCESS"])).to_be_visible()
    expect(page.locator(".ce-eol-banner")).to_be_hidden()
    assert "Camunda 8" not in page.locator("body").inner_text()
    page.locator("#smartfin-language").get_by_text("中文").click()
    expect(page.get_by_text(chinese["START_PROCESS"])).to_be_visible()
