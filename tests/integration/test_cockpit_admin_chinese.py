"""Cockpit and Admin as the hospital's administrator sees them, in a real (Debian) Chromium: Chinese by default even
for a browser that asks for English, English selectable with the switch shared with Tasklist, no migration notice.
The translations and configuration served are the engine project's own files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Page, expect, sync_playwright

from bots.browser import launch_chromium
from smartfin.camunda.secrets import ensure_secrets
from smartfin.kernel.settings import PROJECT_ROOT, get_settings
from tests.support.tasklist_browser import log_in

pytestmark = [pytest.mark.engine, pytest.mark.browser]

WEBAPP = PROJECT_ROOT / "engine/src/main/resources/META-INF/resources/webjars/camunda/app"
PLACEHOLDER = re.compile(r"{{\s*([\w.]+)\s*}}")
#: markup the webapps render from a text: a link, emphasis, a line break
MARKUP = re.compile(r"</?(?:a|b|i|em|strong|br|code|span|p|ul|li)\b[^>]*>")
#: the Community Edition's migration notice (hidden anyway) is the project's own text pointing to the hospital's IT
#: centre, not a translation of the vendor's link to its migration guide
OWN_TEXT = frozenset({"BANNER_CE_EOL_TEXT"})
#: Cockpit's main menu and the dashboard's headings
COCKPIT_MENU = ("COCKPIT_PROCESSES", "COCKPIT_DECISIONS", "COCKPIT_HUMAN_TASKS", "COCKPIT_MORE",
                "DASHBOARD_RUNNING_PROCESS_INSTANCE", "DASHBOARD_OPEN_INCIDENTS", "DASHBOARD_OPEN_HUMAN_TASKS",
                "DASHBOARD_DEPLOYED")
#: Admin's main menu
#: the webapps load their plugins one by one; on a busy machine a page may take several seconds
SLOW = 60_000  # Cockpit loads its plugins and 2,460 labels slowly on a loaded 2-core machine
ADMIN_MENU = ("USERS_USERS", "GROUPS_GROUPS", "TENANTS_TENANTS", "AUTHORIZATION_AUTHORIZATIONS", "SYSTEM_SYSTEM")


def _served(path: str) -> requests.Response:
    settings = get_settings()
    response = requests.get(settings.engine_url.rstrip("/") + settings.engine_webapp_path + path, timeout=10)
    response.raise_for_status()
    return response


def _locale(app: str, name: str) -> dict:
    return json.loads(_served(f"/app/{app}/locales/{name}.json").content.decode("utf-8-sig"))


def _translated_faithfully(english: dict[str, str], chinese: dict[str, str]) -> None:
    assert set(chinese) <= set(english), sorted(set(chinese) - set(english))
    # Chinese has no plural ending: the English "s" appended to "instance" becomes nothing
    empty = [k for k, v in chinese.items() if not str(v).strip() and english[k] != "s"]
    assert not empty, f"empty Chinese texts: {empty}"
    for key, text in chinese.items():
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(english[key])), key
        assert text.count("%s") == english[key].count("%s"), key
        assert text.count("{}") == english[key].count("{}"), key
        if key not in OWN_TEXT:
            assert sorted(MARKUP.findall(text)) == sorted(MARKUP.findall(english[key])), key
    left_in_english = [k for k, v in chinese.items() if re.search(r"[A-Za-z]{3}", english[k]) and v == english[k]]
    assert not left_in_english, f"left in English: {left_in_english}"


def test_the_engine_serves_the_projects_translations_and_configuration(camunda):
    for app in ("cockpit", "admin"):
        assert _locale(app, "zh") == json.loads((WEBAPP / f"{app}/locales/zh.json").read_text(encoding="utf-8"))
        assert _served(f"/app/{app}/scripts/config.js").content == (WEBAPP / f"{app}/scripts/config.js").read_bytes()
    for shared in ("tasklist/smartfin/locale.js", "tasklist/smartfin/language-switch.js"):
        assert _served(f"/app/{shared}").content == (WEBAPP / shared).read_bytes()


def test_admin_and_cockpit_are_translated_completely_and_faithfully(camunda):
    for app in ("admin", "cockpit"):
        english, chinese = _locale(app, "en"), _locale(app, "zh")
        assert set(chinese["dateLocales"]) == set(english["dateLocales"]), app
        untranslated = sorted(set(english["labels"]) - set(chinese["labels"]))
        assert not untranslated, (app, len(untranslated), untranslated[:20])
        _translated_faithfully(english["labels"], chinese["labels"])


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        # a browser that asks for English first: the administrator still gets Chinese
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
            browser.close()


def _lines(page: Page) -> list[str]:
    return [line.strip() for line in re.split(r"[\n\t]", page.locator("body").inner_text()) if line.strip()]


def _shown_in_english(page: Page, english: dict[str, str], keys: tuple[str, ...]) -> list[str]:
    lines = _lines(page)
    return [english[k] for k in keys if any(line.startswith(english[k]) for line in lines)]


def _switch_to(page: Page, language: str) -> None:
    """Choose a language with the switch and wait for the page it reloads (the webapp may still be redirecting)."""
    page.wait_for_load_state("networkidle")
    with page.expect_navigation(timeout=SLOW):
        page.locator("#smartfin-language").get_by_text(language, exact=True).click()


def _app_url(app: str) -> str:
    settings = get_settings()
    return settings.engine_url.rstrip("/") + settings.engine_webapp_path + f"/app/{app}/"


def test_the_administrator_works_in_chinese_in_cockpit_and_admin_and_may_switch(camunda, page):
    cockpit_en, cockpit_zh = _locale("cockpit", "en")["labels"], _locale("cockpit", "zh")["labels"]
    admin_en, admin_zh = _locale("admin", "en")["labels"], _locale("admin", "zh")["labels"]
    password = ensure_secrets(get_settings())["SMARTFIN_ENGINE_ADMIN_PASSWORD"]

    log_in(page, _app_url("cockpit"), "admin", password)
    expect(page.get_by_role("link", name=cockpit_zh["COCKPIT_PROCESSES"], exact=True).first).to_be_visible(timeout=SLOW)
    for key in COCKPIT_MENU:
        expect(page.get_by_text(cockpit_zh[key], exact=True).first).to_be_visible(timeout=SLOW)
    shown = _shown_in_english(page, cockpit_en, COCKPIT_MENU)
    assert not shown, shown
    expect(page.locator(".ce-eol-banner")).to_be_hidden()
    assert "Camunda 8" not in page.locator("body").inner_text()

    page.get_by_role("link", name=cockpit_zh["COCKPIT_PROCESSES"], exact=True).first.click()
    expect(page.get_by_text("支出申请审批").first).to_be_visible(timeout=SLOW)
    expect(page.get_by_text(cockpit_zh["PLUGIN_PROCESS_DEF_RUNNING_INSTANCES"]).first).to_be_visible(timeout=SLOW)

    page.goto(_app_url("admin"))  # the same login session
    for key in ADMIN_MENU:
        expect(page.get_by_text(admin_zh[key], exact=True).first).to_be_visible(timeout=SLOW)
    shown = _shown_in_english(page, admin_en, ADMIN_MENU)
    assert not shown, shown
    expect(page.locator(".ce-eol-banner")).to_be_hidden()
    page.get_by_text(admin_zh["USERS_USERS"], exact=True).first.click()
    expect(page.get_by_text(admin_zh["USERS_ADD_USER"]).first).to_be_visible(timeout=SLOW)
    expect(page.get_by_text("li.na").first).to_be_visible(timeout=SLOW)
    assert not [line for line in _lines(page)
                if line in set(admin_en.values()) and line not in set(admin_zh.values())
                and re.search("[A-Za-z]{3}", line)]

    _switch_to(page, "English")  # one choice for all three webapps
    expect(page.get_by_text(admin_en["USERS_ADD_USER"]).first).to_be_visible(timeout=SLOW)
    page.goto(_app_url("cockpit"))
    expect(page.get_by_role("link", name=cockpit_en["COCKPIT_PROCESSES"], exact=True).first).to_be_visible(timeout=SLOW)
    expect(page.locator(".ce-eol-banner")).to_be_hidden()
    _switch_to(page, "中文")
    expect(page.get_by_role("link", name=cockpit_zh["COCKPIT_PROCESSES"], exact=True).first).to_be_visible(timeout=SLOW)
