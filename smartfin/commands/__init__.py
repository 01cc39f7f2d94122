"""Command groups of the ``smartfin`` CLI, one module per business area.

Each module here defines ``register(app: typer.Typer) -> None`` and adds its commands; the CLI calls
every one at start, so a new business area adds a module, not lines in ``smartfin.cli``. Packages the
core must not import (the flows) add theirs through the ``smartfin.commands`` entry point instead.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import entry_points

import typer


def register_all(app: typer.Typer) -> None:
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        module.register(app)
    for plugin in sorted(entry_points(group="smartfin.commands"), key=lambda p: p.name):
        plugin.load()(app)
