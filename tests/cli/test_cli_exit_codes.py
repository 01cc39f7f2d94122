"""The exit status a script reads: 0 done, 2 the command line is wrong, 3 refused, 1 a bug; `--version`;
bash completion.

Each code is produced by the real ``smartfin`` application through typer's CliRunner (the completion test
runs bash itself), so a command that refuses with the usage code, or a refusal that escapes as a traceback,
fails here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from smartfin.app import budget_commands
from smartfin.app.cli import SmartfinGroup, app
from smartfin.kernel.exits import ExitCode
from smartfin.kernel.settings import PROJECT_ROOT
from smartfin.ledger import BudgetLineKey, create_line
from smartfin.ledger.errors import NoSuchBudgetLine
from smartfin.processes.documents import Refused
from smartfin.store.db import get_engine, session_scope
from tests.support.settings import environment

runner = CliRunner()
LINE = BudgetLineKey(2026, "CARD", "30218", "fiscal")


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Path]:
    """A fresh SQLite database holding one budget line."""
    with environment({"SMARTFIN_VAR_DIR": str(tmp_path / "var"), "SMARTFIN_DATABASE_URL": ""}):
        get_engine.cache_clear()
        with session_scope() as session:
            create_line(session, LINE, actor="finance", name="心内科 材料", budget="1000.00", document_no="B-1")
        yield tmp_path
    get_engine.cache_clear()


def test_version_comes_from_the_package_metadata() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == ExitCode.OK == 0
    assert result.output.strip() == f"smartfin {version('smartfin')}"


def test_usage_errors_exit_2() -> None:
    assert runner.invoke(app, ["budget", "show", "--no-such-option"]).exit_code == ExitCode.USAGE == 2
    assert runner.invoke(app, ["budget", "show", "--year", "twenty"]).exit_code == 2
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2
    unknown = runner.invoke(app, ["logs", "nothing-of-that-name"])
    assert unknown.exit_code == 2 and "unknown service" in unknown.output


def test_a_refusal_exits_3_with_one_line(ledger: Path) -> None:
    taken = ledger / "taken.csv"
    taken.write_text("mine", encoding="utf-8")
    refused = runner.invoke(app, ["budget", "export", "--year", "2026", "--format", "csv", "--output", str(taken)])
    assert refused.exit_code == ExitCode.REFUSED == 3, refused.output
    assert "already exists" in refused.output and taken.read_text(encoding="utf-8") == "mine"
    missing = runner.invoke(app, ["import-budget", str(ledger / "missing.csv")])
    assert missing.exit_code == 3 and "no such file" in missing.output
    bad_rows = ledger / "bad.csv"
    bad_rows.write_text("fiscal_year,department,economic_code,funding_source,budget\n2026,CARD,30218,fiscal,abc\n",
                        encoding="utf-8")
    rejected = runner.invoke(app, ["import-budget", str(bad_rows)])
    assert rejected.exit_code == 3 and "nothing was imported" in rejected.output


def test_an_unexpected_error_is_internal_with_its_traceback(ledger: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise KeyError("a bug in the report")

    monkeypatch.setattr(budget_commands, "budget_rows", broken)
    result = runner.invoke(app, ["budget", "show"])
    assert result.exit_code == ExitCode.INTERNAL == 1
    assert "internal error: KeyError" in result.stderr and "Traceback" in result.stderr


def test_the_root_group_maps_what_escapes_a_command() -> None:
    """Refusals that a command does not catch itself are still one line and exit 3."""
    probe = typer.Typer(cls=SmartfinGroup)

    @probe.command()
    def refuse() -> None:
        raise Refused("REQ-1 is closed")

    @probe.command()
    def no_line() -> None:
        raise NoSuchBudgetLine("no budget line 2026/CARD/30299/fiscal")

    @probe.command()
    def crash() -> None:
        raise ZeroDivisionError("division by zero")

    refused = runner.invoke(probe, ["refuse"])
    assert refused.exit_code == 3 and refused.stderr.strip() == "error: REQ-1 is closed"
    assert runner.invoke(probe, ["no-line"]).exit_code == 3
    assert runner.invoke(probe, ["crash"]).exit_code == 1


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion_completes_commands_and_subcommands(tmp_path: Path) -> None:
    """The script `smartfin --show-completion bash` prints, sourced into bash, completes the real command."""
    shown = runner.invoke(app, ["--show-completion", "bash"], prog_name="smartfin")
    assert shown.exit_code == 0 and "complete -o default -F _smartfin_completion smartfin" in shown.output
    script = tmp_path / "smartfin-completion.bash"
    script.write_text(shown.output, encoding="utf-8")
    launcher = tmp_path / "bin" / "smartfin"
    launcher.parent.mkdir()
    # what pip's console script for `smartfin = "smartfin.app.cli:main"` holds
    launcher.write_text(f"#!{sys.executable}\nimport sys\nfrom smartfin.app.cli import main\nsys.exit(main())\n",
                        encoding="utf-8")
    launcher.chmod(0o755)

    def complete(*words: str) -> list[str]:
        probe = (f"source {script}; COMP_WORDS=(smartfin {' '.join(words)}); COMP_CWORD={len(words)}; "
                 "_smartfin_completion smartfin; printf '%s\\n' \"${COMPREPLY[@]}\"")
        env = {**os.environ, "PATH": f"{launcher.parent}:{os.environ['PATH']}",
               "PYTHONPATH": str(PROJECT_ROOT)}
        done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env=env, timeout=60, check=True)
        return done.stdout.split()

    assert complete("bud") == ["budget"]
    assert complete("budget", "sh") == ["show"]
    assert "--json" in complete("budget", "show", "--js")
