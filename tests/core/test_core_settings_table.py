"""The README's configuration table is the settings object's own: no variable undocumented, none stale."""

from __future__ import annotations

import re

from smartfin.kernel.settings import PROJECT_ROOT, Settings, settings_table


def readme_table() -> str:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- settings table: begin -->\n(.*?)<!-- settings table: end -->", text, re.S)
    assert found, "README.md has no generated settings table"
    return found.group(1)


def test_readme_lists_exactly_the_settings() -> None:
    assert readme_table() == settings_table()


def test_every_setting_is_described() -> None:
    rows = [line for line in settings_table().splitlines()[2:]]
    assert all(not line.rstrip().endswith("|  |") for line in rows), [r for r in rows if r.rstrip().endswith("|  |")]
    assert "`SMARTFIN_VAR_DIR`" in settings_table() and "`SMARTFIN_BOT_HEADLESS`" in settings_table()
    assert set(Settings.model_fields) >= {"bot", "flows", "procurement"}
