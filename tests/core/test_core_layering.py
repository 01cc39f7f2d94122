"""The dependency rule of the layout, checked by import contracts; the flows plug into the core."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from smartfin.app.stack import CORE_STACK, stack
from smartfin.app.wiring import register_commands
from smartfin.kernel.settings import PROJECT_ROOT


def test_the_import_contracts_hold() -> None:
    """The layout's dependency rule (pyproject.toml, [tool.importlinter]): layers, bots behind the ports,
    independent processes, no circles. The same command runs in `make test`."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_the_flows_plug_their_services_and_commands_into_the_core() -> None:
    import typer

    names = [entry.name for entry in stack()]
    assert names[:len(CORE_STACK)] == ["engine", "portals", "worker", "upload-page", "dashboard", "mailsink",
                                       "notifier"]
    assert names[len(CORE_STACK):] == ["prefect", "flows"]
    app = typer.Typer()
    register_commands(app)
    assert "flows" in [group.name for group in app.registered_groups]
