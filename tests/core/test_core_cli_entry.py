"""The installed command and the flag spellings a user sees."""

from __future__ import annotations

import re
import tomllib

from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.kernel.settings import PROJECT_ROOT


def test_the_installed_command_runs_main_which_sets_up_logging() -> None:
    scripts = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["smartfin"] == "smartfin.app.cli:main"


def test_flows_run_offers_review_and_no_review_once() -> None:
    result = CliRunner().invoke(app, ["flows", "run", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    text = re.sub(r"\x1b\[[0-9;]*m", "", result.output)
    assert "--review" in text and "--no-review" in text
    assert "--no-no-review" not in text
