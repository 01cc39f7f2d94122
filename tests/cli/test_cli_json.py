"""`--json` on every show and list command, through one JSON writer: money exact, dates ISO, times on the
hospital's clock, floats refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.kernel.jsontext import to_json
from smartfin.store.db import get_engine
from tests.support.settings import environment

runner = CliRunner()
#: commands that show or list something but are not named show/list
LISTING_COMMANDS = {("budget", "journal"), ("budget", "compilation", "contacts"), ("cash", "alerts"),
                    ("insurance", "exceptions"), ("insurance", "aging"), ("posting-status",), ("status",),
                    ("document", "requests"), ("document", "claims"), ("notify", "outbox"), ("notify", "prefs")}


def _leaves(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _leaves(sub, (*path, name))
    else:
        yield path, command


def test_every_show_and_list_command_offers_json() -> None:
    leaves = dict(_leaves(typer.main.get_command(app)))
    listing = {path for path in leaves if path[-1] in ("show", "list")} | LISTING_COMMANDS
    assert set(leaves) >= LISTING_COMMANDS, "a command named here no longer exists"
    missing = sorted(" ".join(path) for path in listing
                     if not any("--json" in param.opts for param in leaves[path].params))
    assert missing == []


def test_the_json_writer_keeps_money_exact_and_times_on_the_hospital_clock() -> None:
    shown = json.loads(to_json({"amount": Decimal("1234.5"), "rate": Decimal("0.123456"), "day": date(2026, 3, 1),
                                "at": datetime(2026, 3, 1, 16, 30, tzinfo=UTC), "tags": ("a", "b"), "n": 3}))
    assert shown == {"amount": "1234.50", "rate": "0.123456", "day": "2026-03-01",
                     "at": "2026-03-02T00:30:00+08:00", "tags": ["a", "b"], "n": 3}
    assert "心内科" in to_json({"name": "心内科"}), "Chinese is written as it is"
    with pytest.raises(TypeError, match=r"\$\.lines\[0\]\.amount: a float"):
        to_json({"lines": [{"amount": 0.1}]})
    with pytest.raises(ValueError, match="no time zone"):
        to_json({"at": datetime(2026, 3, 1, 8, 0)})


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Path]:
    with environment({"SMARTFIN_VAR_DIR": str(tmp_path / "var"), "SMARTFIN_DATABASE_URL": ""}):
        get_engine.cache_clear()
        yield tmp_path
    get_engine.cache_clear()


def _json(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_compilation_round_and_control_numbers_as_json(database: Path) -> None:
    opened = runner.invoke(app, ["budget", "round", "open", "--year", "2027", "--guidance", "零基预算",
                                 "--first-deadline", "2026-10-15", "--second-deadline", "2026-11-30",
                                 "--template-version", "2027.1"])
    assert opened.exit_code == 0, opened.output
    shown = _json("budget", "round", "show", "--year", "2027", "--json")
    assert (shown["fiscal_year"], shown["first_deadline"], shown["template_version"]) == (2027, "2026-10-15", "2027.1")
    assert shown["stage_changed_at"].endswith("+08:00")
    advanced = runner.invoke(app, ["budget", "round", "advance", "--year", "2027", "--to", "consolidation"])
    assert advanced.exit_code == 0, advanced.output
    for department, amount in (("CARD", "1234567.89"), ("RAD", "0.10")):
        done = runner.invoke(app, ["budget", "controls", "set", "--year", "2027", "--department", department,
                                   "--funding-source", "fiscal", "--amount", amount, "--decision", "BC-2027-1"])
        assert done.exit_code == 0, done.output
    controls = _json("budget", "controls", "list", "--year", "2027", "--json")["controls"]
    assert [(c["department"], c["amount"]) for c in controls] == [("CARD", "1234567.89"), ("RAD", "0.10")]
    assert _json("budget", "draft", "list", "--year", "2027", "--department", "CARD", "--json")["drafts"] == []
    assert _json("cash", "alerts", "--json") == {"alerts": []}
    assert _json("insurance", "appeals", "list", "--json") == {"batches": []}
    names = [flow["name"] for flow in _json("flows", "list", "--json")["flows"]]
    assert "bank-daily" in names and "three-way-daily" in names
