"""The dependency rule of the layout: only the flows (and tests) import ``flows``; the flows plug in.

The core, the bots, the extractors, the rules and the stand-in portals are read as source, so a lazy
import inside a function counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

from smartfin.commands import register_all
from smartfin.config import PROJECT_ROOT
from smartfin.stack import CORE_STACK, stack

NEVER_IMPORT_FLOWS = ("smartfin", "bots", "extractors", "rules", "portals")


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_package_below_the_flows_imports_them() -> None:
    offenders = sorted(
        f"{path.relative_to(PROJECT_ROOT)}: {module}"
        for package in NEVER_IMPORT_FLOWS
        for path in (PROJECT_ROOT / package).rglob("*.py")
        for module in imported_modules(path)
        if module == "flows" or module.startswith("flows.")
    )
    assert offenders == []


def test_the_flows_plug_their_services_and_commands_into_the_core() -> None:
    import typer

    names = [entry.name for entry in stack()]
    assert names[:len(CORE_STACK)] == ["engine", "portals", "worker"]
    assert names[len(CORE_STACK):] == ["prefect", "flows"]
    app = typer.Typer()
    register_all(app)
    assert "flows" in [group.name for group in app.registered_groups]
